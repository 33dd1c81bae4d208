//! `Lp`: a packed list of small values in one exact-size allocation, the compact encoding behind
//! small hashes, sets and sorted sets (what Redis calls a listpack; OBJECT ENCODING says
//! `listpack` for it).
//!
//! # Format
//! `[count: u32 LE][entry]*`, each entry one tag byte and its payload:
//! - `0x00..=0x7F`: the integer 0..127 itself (one byte in all);
//! - `0x80..=0xBF`: a string of `tag - 0x80` (0..63) bytes, which follow;
//! - `0xC0..=0xC7`: a signed integer of `tag - 0xBF` (1..8) little-endian bytes;
//! - `0xD0`: a string whose length follows as a LEB128 varint, then its bytes;
//! - `0xE0`: an `f64`, 8 little-endian bytes (sorted-set scores);
//! - `0xE1`: an `f64` that an `f32` holds exactly (1.5, 0.25, inf...), as that `f32`'s 4
//!   little-endian bytes.
//!
//! A string that is a canonical 64-bit integer (as Redis's `string2ll` accepts) is stored as an
//! integer, as Redis's listpack does, and reads back as the same bytes. There is no back-length,
//! so entries are walked forward only; users keep their entries small (the `*-max-listpack-*`
//! limits) so a walk is a short scan of one cache-friendly buffer.
//!
//! Offsets handed out (by [`Lp::iter`], [`Lp::find`], ...) are byte positions of entries and stay
//! valid until the next change.

use crate::util::parse_i64;

const HEADER: usize = 4;
const TAG_STR6: u8 = 0x80;
const TAG_INT: u8 = 0xC0;
const TAG_STR: u8 = 0xD0;
const TAG_F64: u8 = 0xE0;
const TAG_F32: u8 = 0xE1;

/// The `f32` holding `f` exactly, if there is one (NaN never is: it is not stored).
#[inline]
fn as_exact_f32(f: f64) -> Option<f32> {
    let g = f as f32;
    (f64::from(g).to_bits() == f.to_bits()).then_some(g)
}

/// One value in an [`Lp`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LpVal<'a> {
    /// Bytes that are not a canonical integer.
    Str(&'a [u8]),
    /// An integer (written as a string, it reads back as its decimal form).
    Int(i64),
    /// A double (sorted-set scores).
    F64(f64),
}

impl<'a> LpVal<'a> {
    /// The value for `bytes`: an integer when they are a canonical one, else the bytes.
    #[inline]
    pub fn from_bytes(bytes: &'a [u8]) -> Self {
        if bytes.len() <= 20 && !bytes.is_empty() {
            if let Some(n) = parse_i64(bytes) {
                return LpVal::Int(n);
            }
        }
        LpVal::Str(bytes)
    }

    /// The value as bytes (integers in decimal). Not meaningful for `F64`, which callers format.
    pub fn to_vec(&self) -> Vec<u8> {
        match *self {
            LpVal::Str(s) => s.to_vec(),
            LpVal::Int(n) => itoa::Buffer::new().format(n).as_bytes().to_vec(),
            LpVal::F64(f) => flint_protocol::format_double(f).into_bytes(),
        }
    }

    /// Calls `f` with the value's bytes without allocating (integers formatted on the stack).
    #[inline]
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match *self {
            LpVal::Str(s) => f(s),
            LpVal::Int(n) => f(itoa::Buffer::new().format(n).as_bytes()),
            LpVal::F64(x) => f(flint_protocol::DoubleBuf::new().format(x)),
        }
    }

    /// The value as an integer, if it is one.
    #[inline]
    pub fn as_int(&self) -> Option<i64> {
        match *self {
            LpVal::Int(n) => Some(n),
            _ => None,
        }
    }

    /// The value as a double (sorted-set scores; strings and integers are converted).
    #[inline]
    pub fn as_f64(&self) -> f64 {
        match *self {
            LpVal::F64(f) => f,
            LpVal::Int(n) => n as f64,
            LpVal::Str(s) => crate::util::parse_f64(s).unwrap_or(0.0),
        }
    }

    /// Whether the value equals `needle` as bytes.
    #[inline]
    pub fn matches(&self, needle: &Needle<'_>) -> bool {
        match (*self, needle.int) {
            (LpVal::Int(n), Some(m)) => n == m,
            (LpVal::Str(s), None) => s == needle.bytes,
            _ => false,
        }
    }

    /// Bytes this value takes when encoded.
    pub fn encoded_len(&self) -> usize {
        match *self {
            LpVal::Int(n) if (0..128).contains(&n) => 1,
            LpVal::Int(n) => 1 + int_width(n),
            LpVal::Str(s) if s.len() < 64 => 1 + s.len(),
            LpVal::Str(s) => 1 + varint_len(s.len() as u64) + s.len(),
            LpVal::F64(f) if as_exact_f32(f).is_some() => 5,
            LpVal::F64(_) => 9,
        }
    }

    /// Compares two values as byte strings (integers by their decimal form), as Redis orders
    /// sorted-set members and list elements.
    pub fn cmp_bytes(&self, other: &[u8]) -> std::cmp::Ordering {
        self.with_bytes(|b| b.cmp(other))
    }
}

/// A prepared search key: its bytes and, when they are a canonical integer, that integer (so a
/// search compares each entry without decoding or formatting it).
#[derive(Clone, Copy, Debug)]
pub struct Needle<'a> {
    /// The bytes searched for.
    pub bytes: &'a [u8],
    /// Their integer value, if they are a canonical integer.
    pub int: Option<i64>,
}

impl<'a> Needle<'a> {
    /// A needle for `bytes`.
    #[inline]
    pub fn new(bytes: &'a [u8]) -> Self {
        Needle {
            bytes,
            int: LpVal::from_bytes(bytes).as_int(),
        }
    }
}

fn int_width(n: i64) -> usize {
    for w in 1..8 {
        let bits = 8 * w as u32;
        let min = -(1i64 << (bits - 1));
        let max = (1i64 << (bits - 1)) - 1;
        if n >= min && n <= max {
            return w;
        }
    }
    8
}

fn varint_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

fn encode(v: LpVal<'_>, out: &mut Vec<u8>) {
    match v {
        LpVal::Int(n) if (0..128).contains(&n) => out.push(n as u8),
        LpVal::Int(n) => {
            let w = int_width(n);
            out.push(TAG_INT + (w as u8 - 1));
            out.extend_from_slice(&n.to_le_bytes()[..w]);
        }
        LpVal::Str(s) if s.len() < 64 => {
            out.push(TAG_STR6 + s.len() as u8);
            out.extend_from_slice(s);
        }
        LpVal::Str(s) => {
            out.push(TAG_STR);
            let mut n = s.len() as u64;
            while n >= 0x80 {
                out.push((n as u8 & 0x7F) | 0x80);
                n >>= 7;
            }
            out.push(n as u8);
            out.extend_from_slice(s);
        }
        LpVal::F64(f) => match as_exact_f32(f) {
            Some(g) => {
                out.push(TAG_F32);
                out.extend_from_slice(&g.to_le_bytes());
            }
            None => {
                out.push(TAG_F64);
                out.extend_from_slice(&f.to_le_bytes());
            }
        },
    }
}

/// Decodes the entry at `pos` of `buf`: its value and the offset of the next entry. A truncated
/// or unknown entry (never written by this module) decodes as an empty string ending the list.
#[inline]
fn decode(buf: &[u8], pos: usize) -> (LpVal<'_>, usize) {
    let Some(&tag) = buf.get(pos) else {
        return (LpVal::Str(&[]), buf.len());
    };
    let p = pos + 1;
    match tag {
        0x00..=0x7F => (LpVal::Int(tag as i64), p),
        0x80..=0xBF => {
            let end = p + (tag - TAG_STR6) as usize;
            match buf.get(p..end) {
                Some(s) => (LpVal::Str(s), end),
                None => (LpVal::Str(&[]), buf.len()),
            }
        }
        0xC0..=0xC7 => {
            let w = (tag - TAG_INT) as usize + 1;
            let Some(bytes) = buf.get(p..p + w) else {
                return (LpVal::Str(&[]), buf.len());
            };
            let mut le = [0u8; 8];
            le[..w].copy_from_slice(bytes);
            // Sign-extend from the top byte used.
            let fill = if bytes[w - 1] & 0x80 != 0 { 0xFF } else { 0 };
            for b in &mut le[w..] {
                *b = fill;
            }
            (LpVal::Int(i64::from_le_bytes(le)), p + w)
        }
        TAG_STR => {
            let mut len = 0u64;
            let mut shift = 0;
            let mut q = p;
            while let Some(&b) = buf.get(q) {
                q += 1;
                len |= ((b & 0x7F) as u64) << shift;
                shift += 7;
                if b & 0x80 == 0 || shift >= 64 {
                    break;
                }
            }
            let end = q.saturating_add(len as usize);
            match buf.get(q..end) {
                Some(s) => (LpVal::Str(s), end),
                None => (LpVal::Str(&[]), buf.len()),
            }
        }
        TAG_F32 => match buf.get(p..p + 4) {
            Some(b) => {
                let mut a = [0u8; 4];
                a.copy_from_slice(b);
                (LpVal::F64(f64::from(f32::from_le_bytes(a))), p + 4)
            }
            None => (LpVal::Str(&[]), buf.len()),
        },
        TAG_F64 => match buf.get(p..p + 8) {
            Some(b) => {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                (LpVal::F64(f64::from_le_bytes(a)), p + 8)
            }
            None => (LpVal::Str(&[]), buf.len()),
        },
        _ => (LpVal::Str(&[]), buf.len()),
    }
}

/// A packed list of values (see the module docs).
#[derive(Clone, PartialEq)]
pub struct Lp(Box<[u8]>);

impl Default for Lp {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Lp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().map(|(_, v)| v)).finish()
    }
}

impl Lp {
    /// An empty list.
    pub fn new() -> Self {
        Lp(vec![0u8; HEADER].into_boxed_slice())
    }

    /// A list of `vals`, in order.
    pub fn from_vals<'a>(vals: impl IntoIterator<Item = LpVal<'a>>) -> Self {
        // Collected first so the buffer is allocated at its exact size: an allocator may keep
        // a shrunk buffer in its larger block.
        let vals: smallvec::SmallVec<[LpVal<'a>; 16]> = vals.into_iter().collect();
        Self::from_vals_exact(vals.iter().copied())
    }

    /// A list of `vals`, in order, in an allocation of exactly its size (the iterator is walked
    /// twice: once to size the buffer). Prefer this to [`Lp::from_vals`] for values that stay:
    /// an allocator may keep a shrunk buffer in its larger block.
    pub fn from_vals_exact<'a, I>(vals: I) -> Self
    where
        I: IntoIterator<Item = LpVal<'a>>,
        I::IntoIter: Clone,
    {
        let vals = vals.into_iter();
        let size = HEADER + vals.clone().map(|v| v.encoded_len()).sum::<usize>();
        let mut buf = Vec::with_capacity(size);
        buf.extend_from_slice(&[0u8; HEADER]);
        let mut n = 0u32;
        for v in vals {
            encode(v, &mut buf);
            n += 1;
        }
        buf[..HEADER].copy_from_slice(&n.to_le_bytes());
        Lp(buf.into_boxed_slice())
    }

    /// Number of entries.
    #[inline]
    pub fn len(&self) -> usize {
        let mut h = [0u8; 4];
        h.copy_from_slice(&self.0[..HEADER]);
        u32::from_le_bytes(h) as usize
    }

    /// Whether there are no entries.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn set_len(&mut self, n: usize) {
        self.0[..HEADER].copy_from_slice(&(n as u32).to_le_bytes());
    }

    /// Total encoded size in bytes (the allocation's size).
    #[inline]
    pub fn bytes(&self) -> usize {
        self.0.len()
    }

    /// Offset of the first entry.
    #[inline]
    pub fn first(&self) -> usize {
        HEADER
    }

    /// Offset just past the last entry (where an append goes).
    #[inline]
    pub fn end(&self) -> usize {
        self.0.len()
    }

    /// The entry at `offset` and the offset of the next one (`end()` after the last).
    #[inline]
    pub fn get(&self, offset: usize) -> (LpVal<'_>, usize) {
        decode(&self.0, offset)
    }

    /// Every entry with its offset, in order.
    #[inline]
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            buf: &self.0,
            pos: HEADER,
        }
    }

    /// The offset of entry `i`, if there are that many.
    pub fn offset_of(&self, i: usize) -> Option<usize> {
        self.iter().nth(i).map(|(o, _)| o)
    }

    /// The first entry matching `needle` among entries `0, step, 2*step, ...` (step 2 searches the
    /// fields of field/value pairs). Returns its offset.
    #[inline]
    pub fn find(&self, needle: &Needle<'_>, step: usize) -> Option<usize> {
        let step = step.max(1);
        let mut pos = HEADER;
        let end = self.0.len();
        while pos < end {
            let (v, mut next) = decode(&self.0, pos);
            if v.matches(needle) {
                return Some(pos);
            }
            for _ in 1..step {
                next = decode(&self.0, next).1;
            }
            pos = next;
        }
        None
    }

    /// Offset just past `n` entries starting at `offset`.
    pub fn skip(&self, mut offset: usize, n: usize) -> usize {
        for _ in 0..n {
            if offset >= self.0.len() {
                break;
            }
            offset = decode(&self.0, offset).1;
        }
        offset
    }

    /// Replaces the `remove` entries starting at `offset` with `insert` (the one primitive every
    /// change goes through: insert with `remove == 0`, delete with `insert` empty).
    pub fn splice(&mut self, offset: usize, remove: usize, insert: &[LpVal<'_>]) {
        let offset = offset.clamp(HEADER, self.0.len());
        let cut_end = self.skip(offset, remove);
        let removed = {
            let mut n = 0;
            let mut p = offset;
            while p < cut_end {
                p = decode(&self.0, p).1;
                n += 1;
            }
            n
        };
        let add: usize = insert.iter().map(|v| v.encoded_len()).sum();
        let old = std::mem::take(&mut self.0).into_vec();
        let mut buf = Vec::with_capacity(old.len() - (cut_end - offset) + add);
        buf.extend_from_slice(&old[..offset]);
        for v in insert {
            encode(*v, &mut buf);
        }
        buf.extend_from_slice(&old[cut_end..]);
        self.0 = buf.into_boxed_slice();
        let n = self.len() + insert.len() - removed;
        self.set_len(n);
    }

    /// Appends `vals` at the end.
    pub fn push(&mut self, vals: &[LpVal<'_>]) {
        let add: usize = vals.iter().map(|v| v.encoded_len()).sum();
        let mut buf = std::mem::take(&mut self.0).into_vec();
        buf.reserve_exact(add);
        for v in vals {
            encode(*v, &mut buf);
        }
        self.0 = buf.into_boxed_slice();
        let n = self.len() + vals.len();
        self.set_len(n);
    }

    /// Removes the `n` entries starting at `offset`.
    pub fn remove(&mut self, offset: usize, n: usize) {
        self.splice(offset, n, &[]);
    }

    /// Replaces the one entry at `offset` with `val`.
    pub fn replace(&mut self, offset: usize, val: LpVal<'_>) {
        self.splice(offset, 1, &[val]);
    }
}

/// Iterator over an [`Lp`]'s entries: `(offset, value)`.
pub struct Iter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (usize, LpVal<'a>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let at = self.pos;
        let (v, next) = decode(self.buf, at);
        self.pos = next;
        Some((at, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(lp: &Lp) -> Vec<Vec<u8>> {
        lp.iter().map(|(_, v)| v.to_vec()).collect()
    }

    #[test]
    fn roundtrip_every_encoding() {
        let long = vec![b'x'; 300];
        let items: Vec<&[u8]> = vec![
            b"",
            b"0",
            b"127",
            b"128",
            b"-1",
            b"-129",
            b"32768",
            b"9223372036854775807",
            b"-9223372036854775808",
            b"9223372036854775808",
            b"01",
            b"+1",
            b"-0",
            b"hello",
            &long,
        ];
        let lp = Lp::from_vals(items.iter().map(|b| LpVal::from_bytes(b)));
        assert_eq!(lp.len(), items.len());
        assert_eq!(
            strings(&lp),
            items.iter().map(|b| b.to_vec()).collect::<Vec<_>>()
        );
        assert_eq!(lp.iter().nth(1).map(|x| x.1), Some(LpVal::Int(0)));
        assert_eq!(lp.iter().nth(10).map(|x| x.1), Some(LpVal::Str(b"01")));
        let subnormal = f64::from(f32::from_bits(1));
        let doubles = [
            1.5,
            f64::INFINITY,
            -0.0,
            subnormal,
            0.1,
            1e300,
            f64::MIN_POSITIVE,
        ];
        let f = Lp::from_vals(doubles.iter().map(|&d| LpVal::F64(d)));
        let v: Vec<_> = f.iter().map(|(_, v)| v.as_f64().to_bits()).collect();
        assert_eq!(v, doubles.iter().map(|d| d.to_bits()).collect::<Vec<_>>());
        // 1.5, inf, -0 and the f32 subnormal take 5 bytes; 0.1, 1e300 and MIN_POSITIVE 9.
        assert_eq!(f.bytes(), HEADER + 4 * 5 + 3 * 9);
    }

    #[test]
    fn splice_find_and_pairs() {
        let mut lp = Lp::new();
        lp.push(&[LpVal::from_bytes(b"f1"), LpVal::from_bytes(b"v1")]);
        lp.push(&[LpVal::from_bytes(b"2"), LpVal::from_bytes(b"f1")]);
        assert_eq!(lp.len(), 4);
        // Searching fields only (step 2) skips the value "f1".
        let at = lp.find(&Needle::new(b"2"), 2).expect("found");
        assert_eq!(lp.get(at).0, LpVal::Int(2));
        assert_eq!(lp.find(&Needle::new(b"v1"), 2), None);
        assert_eq!(
            lp.find(&Needle::new(b"v1"), 1),
            Some(lp.skip(lp.first(), 1))
        );
        // Replace the value after field "2".
        let vpos = lp.get(at).1;
        lp.replace(vpos, LpVal::from_bytes(b"a much longer value than before"));
        assert_eq!(
            strings(&lp),
            vec![
                b"f1".to_vec(),
                b"v1".to_vec(),
                b"2".to_vec(),
                b"a much longer value than before".to_vec()
            ]
        );
        lp.remove(lp.first(), 2);
        assert_eq!(lp.len(), 2);
        lp.splice(lp.first(), 0, &[LpVal::Int(-5)]);
        assert_eq!(
            strings(&lp),
            vec![
                b"-5".to_vec(),
                b"2".to_vec(),
                b"a much longer value than before".to_vec()
            ]
        );
        assert_eq!(lp.bytes(), HEADER + 1 + 1 + 1 + 1 + 31);
    }

    #[test]
    fn int_widths_roundtrip() {
        for n in [
            i64::MIN,
            i64::MIN + 1,
            -(1 << 31),
            (1 << 31) - 1,
            1 << 40,
            -128,
            127,
            128,
            255,
            -32769,
            i64::MAX,
        ] {
            let lp = Lp::from_vals([LpVal::Int(n)]);
            assert_eq!(lp.get(lp.first()).0, LpVal::Int(n), "{n}");
        }
    }
}
