//! The reply encoder. Handlers write replies through [`ReplyWriter`], which knows the client's
//! protocol version (RESP2 or RESP3) and downgrades RESP3 types the way Redis does: maps become
//! flat arrays, sets become arrays, doubles become bulk strings, booleans become integers and the
//! null type becomes `$-1` (or `*-1` where Redis replies a null array).

use bytes::{BufMut, BytesMut};

/// Encodes replies into an output buffer for one client.
#[derive(Debug, Default)]
pub struct ReplyWriter {
    buf: BytesMut,
    resp3: bool,
}

impl ReplyWriter {
    /// A writer speaking RESP3 if `resp3`, else RESP2.
    pub fn new(resp3: bool) -> Self {
        ReplyWriter {
            buf: BytesMut::with_capacity(16 * 1024),
            resp3,
        }
    }

    /// Whether the client speaks RESP3.
    pub fn is_resp3(&self) -> bool {
        self.resp3
    }

    /// Switches protocol (HELLO).
    pub fn set_resp3(&mut self, resp3: bool) {
        self.resp3 = resp3;
    }

    /// The encoded bytes not yet sent.
    pub fn buffer(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Bytes waiting to be sent.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing is waiting to be sent.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Drops everything after `len` (used to discard a reply, as with CLIENT REPLY OFF).
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    /// `+OK`.
    pub fn ok(&mut self) {
        self.buf.put_slice(b"+OK\r\n");
    }

    /// A simple string, `+text`. `text` must not contain CR or LF.
    pub fn simple(&mut self, text: &str) {
        self.buf.put_u8(b'+');
        self.buf.put_slice(text.as_bytes());
        self.buf.put_slice(b"\r\n");
    }

    /// An error reply: `text` starts with its code (`ERR ...`, `WRONGTYPE ...`). CR and LF in it are
    /// replaced by spaces, as Redis does, so a message can never break the framing.
    pub fn error(&mut self, text: &str) {
        self.buf.put_u8(b'-');
        for &b in text.as_bytes() {
            self.buf
                .put_u8(if b == b'\r' || b == b'\n' { b' ' } else { b });
        }
        self.buf.put_slice(b"\r\n");
    }

    /// An integer, `:n`.
    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    /// A bulk string.
    pub fn bulk(&mut self, data: &[u8]) {
        self.header(b'$', data.len() as i64);
        self.buf.put_slice(data);
        self.buf.put_slice(b"\r\n");
    }

    /// An integer sent as a bulk string (as `INCRBYFLOAT` or `CONFIG GET` values are).
    pub fn bulk_int(&mut self, n: i64) {
        let mut b = itoa::Buffer::new();
        self.bulk(b.format(n).as_bytes());
    }

    /// The null reply: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        if self.resp3 {
            self.buf.put_slice(b"_\r\n");
        } else {
            self.buf.put_slice(b"$-1\r\n");
        }
    }

    /// The null array reply: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        if self.resp3 {
            self.buf.put_slice(b"_\r\n");
        } else {
            self.buf.put_slice(b"*-1\r\n");
        }
    }

    /// The header of an array of `len` elements; the caller writes the elements.
    pub fn array(&mut self, len: usize) {
        self.header(b'*', len as i64);
    }

    /// The header of a map of `len` pairs (a flat array of `2*len` in RESP2).
    pub fn map(&mut self, len: usize) {
        if self.resp3 {
            self.header(b'%', len as i64);
        } else {
            self.header(b'*', 2 * len as i64);
        }
    }

    /// The header of a set of `len` elements (an array in RESP2).
    pub fn set(&mut self, len: usize) {
        self.header(if self.resp3 { b'~' } else { b'*' }, len as i64);
    }

    /// The header of an out-of-band push message (an array in RESP2).
    pub fn push(&mut self, len: usize) {
        self.header(if self.resp3 { b'>' } else { b'*' }, len as i64);
    }

    /// A double: `,d` in RESP3, a bulk string in RESP2, formatted as Redis does.
    pub fn double(&mut self, d: f64) {
        let mut b = DoubleBuf::new();
        let s = b.format(d);
        if self.resp3 {
            self.buf.put_u8(b',');
            self.buf.put_slice(s);
            self.buf.put_slice(b"\r\n");
        } else {
            self.bulk(s);
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    pub fn boolean(&mut self, b: bool) {
        if self.resp3 {
            self.buf.put_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(b as i64);
        }
    }

    /// A verbatim string (`=len\r\ntxt:...` in RESP3, a bulk string in RESP2).
    pub fn verbatim(&mut self, data: &[u8]) {
        if self.resp3 {
            self.header(b'=', data.len() as i64 + 4);
            self.buf.put_slice(b"txt:");
            self.buf.put_slice(data);
            self.buf.put_slice(b"\r\n");
        } else {
            self.bulk(data);
        }
    }

    /// Appends bytes that are already encoded RESP.
    pub fn raw(&mut self, encoded: &[u8]) {
        self.buf.put_slice(encoded);
    }

    fn header(&mut self, kind: u8, n: i64) {
        let mut b = itoa::Buffer::new();
        self.buf.put_u8(kind);
        self.buf.put_slice(b.format(n).as_bytes());
        self.buf.put_slice(b"\r\n");
    }
}

/// Formats a double the way Redis 7.0's `addReplyDouble` does: `inf`/`-inf`, else C's `%.17g`.
pub fn format_double(d: f64) -> String {
    let mut b = DoubleBuf::new();
    String::from_utf8_lossy(b.format(d)).into_owned()
}

/// Room for any `%.17g` of a double: a sign, 17 digits, a point, and `e-308`; or a fixed
/// notation down to `0.0001` followed by 17 digits.
const DOUBLE_CAP: usize = 48;

/// A stack buffer that formats one double (no allocation: ZRANGE WITHSCORES formats one per
/// member).
pub struct DoubleBuf {
    buf: [u8; DOUBLE_CAP],
    len: usize,
}

impl std::fmt::Write for DoubleBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl Default for DoubleBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl DoubleBuf {
    /// An empty buffer.
    pub fn new() -> Self {
        DoubleBuf {
            buf: [0; DOUBLE_CAP],
            len: 0,
        }
    }

    fn put(&mut self, s: &[u8]) {
        let end = (self.len + s.len()).min(DOUBLE_CAP);
        let n = end - self.len;
        self.buf[self.len..end].copy_from_slice(&s[..n]);
        self.len = end;
    }

    /// `d` as Redis 7.0 replies it (see [`format_double`]).
    pub fn format(&mut self, d: f64) -> &[u8] {
        self.format_g(d, 17)
    }

    /// C's `%.{precision}g` of `d` (`precision` from 1 to 17), with `inf`, `-inf` and `nan`
    /// spelled as Redis does.
    pub fn format_g(&mut self, d: f64, precision: usize) -> &[u8] {
        use std::fmt::Write;
        let precision = precision.clamp(1, 17) as i32;
        self.len = 0;
        if d.is_infinite() {
            self.put(if d > 0.0 { b"inf" } else { b"-inf" });
        } else if d.is_nan() {
            self.put(b"nan");
        } else if d == 0.0 {
            self.put(if d.is_sign_negative() { b"-0" } else { b"0" });
        } else if precision >= 16 && d.fract() == 0.0 && d.abs() < 9_007_199_254_740_992.0 {
            // An integer below 2^53 has at most 16 digits: `%.16g` and `%.17g` print it as an
            // integer.
            let mut b = itoa::Buffer::new();
            self.put(b.format(d as i64).as_bytes());
        } else {
            // Scientific notation when the exponent is below -4 or at least the precision,
            // trailing zeros removed.
            let mut sci = DoubleBuf::new();
            let _ = write!(sci, "{:.*e}", precision as usize - 1, d);
            let text = &sci.buf[..sci.len];
            let Some(e) = text.iter().position(|&c| c == b'e') else {
                self.put(text);
                return &self.buf[..self.len];
            };
            let exp: i32 = std::str::from_utf8(&text[e + 1..])
                .ok()
                .and_then(|x| x.parse().ok())
                .unwrap_or(0);
            if !(-4..precision).contains(&exp) {
                self.put(strip_zeros(&text[..e]));
                self.put(if exp < 0 { b"e-" } else { b"e+" });
                if exp.abs() < 10 {
                    self.put(b"0");
                }
                let mut b = itoa::Buffer::new();
                self.put(b.format(exp.abs()).as_bytes());
            } else {
                let decimals = (precision - 1 - exp).max(0) as usize;
                let mut fixed = DoubleBuf::new();
                let _ = write!(fixed, "{:.*}", decimals, d);
                self.put(strip_zeros(&fixed.buf[..fixed.len]));
            }
        }
        &self.buf[..self.len]
    }
}

/// Trailing zeros of a decimal fraction removed (and the point, if nothing follows it).
fn strip_zeros(s: &[u8]) -> &[u8] {
    if !s.contains(&b'.') {
        return s;
    }
    let mut end = s.len();
    while end > 0 && s[end - 1] == b'0' {
        end -= 1;
    }
    if end > 0 && s[end - 1] == b'.' {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// C's `snprintf("%.17g")`, the reference.
    fn printf_g17(d: f64) -> String {
        printf_g(d, c"%.17g")
    }

    /// C's `snprintf` of `d` with `fmt`, one `%g` conversion.
    fn printf_g(d: f64, fmt: &std::ffi::CStr) -> String {
        extern "C" {
            fn snprintf(buf: *mut u8, n: usize, fmt: *const u8, ...) -> i32;
        }
        let mut buf = [0u8; 64];
        // SAFETY: the buffer's size is passed, the format is NUL-terminated and takes one
        // double.
        let n = unsafe { snprintf(buf.as_mut_ptr(), buf.len(), fmt.as_ptr().cast(), d) };
        String::from_utf8_lossy(&buf[..n as usize]).into_owned()
    }

    #[test]
    fn doubles_match_c_printf() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut cases = vec![
            1.0,
            -1.0,
            0.1,
            1e16,
            9_007_199_254_740_991.0,
            9_007_199_254_740_992.0,
            1e17,
            1e-4,
            1.5e-4,
            9.99e-5,
            123.456,
            -2.5e300,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
        ];
        for _ in 0..20_000 {
            cases.push(f64::from_bits(rng.gen::<u64>()));
            cases.push(f64::from(rng.gen::<i32>()) / 8.0);
            cases.push(rng.gen_range(-1e18..1e18f64).round());
        }
        for d in cases.into_iter().filter(|d| d.is_finite() && *d != 0.0) {
            assert_eq!(format_double(d), printf_g17(d), "{d:e}");
            let g14 = DoubleBuf::new().format_g(d, 14).to_vec();
            assert_eq!(
                String::from_utf8_lossy(&g14),
                printf_g(d, c"%.14g"),
                "{d:e}"
            );
        }
    }

    #[test]
    fn doubles_like_printf() {
        assert_eq!(format_double(1.5), "1.5");
        assert_eq!(format_double(1.1), "1.1000000000000001");
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(1e20), "1e+20");
        assert_eq!(format_double(1.5e-7), "1.4999999999999999e-07");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_double(-0.0), "-0");
        assert_eq!(format_double(123456789.0), "123456789");
    }

    #[test]
    fn resp2_downgrades() {
        let mut w = ReplyWriter::new(false);
        w.map(1);
        w.null();
        w.boolean(true);
        w.double(2.5);
        assert_eq!(&w.buffer()[..], b"*2\r\n$-1\r\n:1\r\n$3\r\n2.5\r\n");
        let mut w = ReplyWriter::new(true);
        w.map(1);
        w.null();
        w.boolean(true);
        w.double(2.5);
        assert_eq!(&w.buffer()[..], b"%1\r\n_\r\n#t\r\n,2.5\r\n");
    }

    #[test]
    fn errors_cannot_break_framing() {
        let mut w = ReplyWriter::new(false);
        w.error("ERR a\r\nb");
        assert_eq!(&w.buffer()[..], b"-ERR a  b\r\n");
    }
}
