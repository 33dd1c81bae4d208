//! What a key holds: [`Value`], and the keyspace slot [`Entry`] that pairs it with its key, expiry
//! time and access clock.
//!
//! Strings have three encodings, as in Redis, so that `OBJECT ENCODING` tells the truth: `int`
//! (an `i64`, for values that are canonical integers), `embstr` (stored once at SET time, inline
//! up to 22 bytes) and `raw` (a growable buffer, after APPEND or SETRANGE, or over 44 bytes).
//! Collections have one variant per encoding, flat in this enum so that `Value` stays 24 bytes
//! (nested enums would not share one tag): each type's module under `types/` owns its variants'
//! payload types and the conversions between its encodings.

use crate::key::Key;
use crate::lp::Lp;
use crate::small::SmallBytes;
use crate::types::{hash::BigHash, list::QuickList, set::BigSet, set::IntSet, zset::BigZSet};
use crate::util::parse_i64;

/// Values longer than this are `raw` rather than `embstr` in Redis's OBJECT ENCODING.
pub const EMBSTR_MAX: usize = 44;

/// The value stored under a key.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A string stored as written (`embstr`, or `raw` when longer than 44 bytes).
    Str(SmallBytes),
    /// A string that is a canonical 64-bit integer (`int`).
    Int(i64),
    /// A string grown in place by APPEND/SETRANGE (`raw`).
    Raw(Box<Vec<u8>>),
    /// A small hash: field, value, field, value... (`listpack`).
    HashLp(Lp),
    /// A hash past the listpack limits (`hashtable`).
    Hash(Box<BigHash>),
    /// A list (`quicklist`, as Redis 7.0 reports every list).
    List(Box<QuickList>),
    /// A small set of integers (`intset`).
    SetInts(IntSet),
    /// A small set (`listpack`).
    SetLp(Lp),
    /// A set past the small-set limits (`hashtable`).
    Set(Box<BigSet>),
    /// A small sorted set: member, score, member, score... in score order (`listpack`).
    ZSetLp(Lp),
    /// A sorted set past the listpack limits (`skiplist`).
    ZSet(Box<BigZSet>),
}

/// A borrowed view of a string value's bytes (integers are formatted on demand).
pub enum StrBytes<'a> {
    /// Bytes stored as such.
    Slice(&'a [u8]),
    /// An integer's decimal form (at most 20 bytes) and its length.
    Int([u8; 20], u8),
}

impl std::ops::Deref for StrBytes<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            StrBytes::Slice(s) => s,
            StrBytes::Int(b, len) => &b[..(*len as usize).min(20)],
        }
    }
}

impl Value {
    /// Starts loading the first heap line of the value (a long string's bytes, a collection's
    /// header) into the cache: a lookahead for a command about to read it.
    #[inline]
    pub fn prefetch(&self) {
        use crate::util::prefetch;
        match self {
            Value::Str(SmallBytes::Heap(b)) => prefetch(b.as_ptr()),
            Value::Raw(b) => prefetch(&**b as *const Vec<u8>),
            Value::Hash(b) => prefetch(&**b as *const BigHash),
            Value::List(b) => prefetch(&**b as *const QuickList),
            Value::Set(b) => prefetch(&**b as *const BigSet),
            Value::ZSet(b) => prefetch(&**b as *const BigZSet),
            _ => {}
        }
    }

    /// A string value, encoded as Redis would encode it (`int` when it is a canonical integer).
    pub fn string(bytes: &[u8]) -> Value {
        if bytes.len() <= 20 {
            if let Some(n) = parse_i64(bytes) {
                return Value::Int(n);
            }
        }
        Value::Str(SmallBytes::new(bytes))
    }

    /// A string value from an owned buffer.
    pub fn string_owned(bytes: Vec<u8>) -> Value {
        if bytes.len() <= 20 {
            if let Some(n) = parse_i64(&bytes) {
                return Value::Int(n);
            }
        }
        Value::Str(SmallBytes::from_vec(bytes))
    }

    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) | Value::Int(_) | Value::Raw(_) => "string",
            Value::HashLp(_) | Value::Hash(_) => "hash",
            Value::List(_) => "list",
            Value::SetInts(_) | Value::SetLp(_) | Value::Set(_) => "set",
            Value::ZSetLp(_) | Value::ZSet(_) => "zset",
        }
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Str(s) if s.len() <= EMBSTR_MAX => "embstr",
            Value::Str(_) | Value::Raw(_) => "raw",
            Value::HashLp(_) | Value::SetLp(_) | Value::ZSetLp(_) => "listpack",
            Value::Hash(_) | Value::Set(_) => "hashtable",
            Value::List(_) => "quicklist",
            Value::SetInts(_) => "intset",
            Value::ZSet(_) => "skiplist",
        }
    }

    /// Whether this is a string value.
    pub fn is_string(&self) -> bool {
        matches!(self, Value::Str(_) | Value::Int(_) | Value::Raw(_))
    }

    /// The bytes of a string value, or `None` for other types.
    #[inline]
    pub fn as_str_bytes(&self) -> Option<StrBytes<'_>> {
        match self {
            Value::Str(s) => Some(StrBytes::Slice(s.as_slice())),
            Value::Raw(v) => Some(StrBytes::Slice(v)),
            Value::HashLp(_)
            | Value::Hash(_)
            | Value::List(_)
            | Value::SetInts(_)
            | Value::SetLp(_)
            | Value::Set(_)
            | Value::ZSetLp(_)
            | Value::ZSet(_) => None,
            Value::Int(n) => {
                let mut b = itoa::Buffer::new();
                let text = b.format(*n).as_bytes();
                let mut out = [0u8; 20];
                out[..text.len()].copy_from_slice(text);
                Some(StrBytes::Int(out, text.len() as u8))
            }
        }
    }

    /// Approximate heap bytes owned by the value (for MEMORY USAGE and eviction accounting).
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Str(s) => s.heap_size(),
            Value::Int(_) => 0,
            Value::Raw(v) => v.capacity() + std::mem::size_of::<Vec<u8>>(),
            Value::HashLp(lp) | Value::SetLp(lp) | Value::ZSetLp(lp) => lp.bytes(),
            Value::Hash(h) => std::mem::size_of::<BigHash>() + h.heap_size(),
            Value::List(l) => std::mem::size_of::<QuickList>() + l.heap_size(),
            Value::SetInts(s) => s.heap_size(),
            Value::Set(s) => std::mem::size_of::<BigSet>() + s.heap_size(),
            Value::ZSet(z) => std::mem::size_of::<BigZSet>() + z.heap_size(),
        }
    }

    /// Number of members of a collection (fields, elements, members); 1 for strings. Decides
    /// whether freeing the value is worth handing to the lazyfree thread.
    pub fn members(&self) -> usize {
        match self {
            Value::Str(_) | Value::Int(_) | Value::Raw(_) => 1,
            Value::HashLp(lp) => lp.len() / 2,
            Value::ZSetLp(lp) => lp.len() / 2,
            Value::SetLp(lp) => lp.len(),
            Value::Hash(h) => h.len(),
            Value::List(l) => l.len(),
            Value::SetInts(s) => s.len(),
            Value::Set(s) => s.len(),
            Value::ZSet(z) => z.len(),
        }
    }

    /// The length in bytes of a string value (STRLEN).
    pub fn str_len(&self) -> Option<usize> {
        match self {
            Value::Str(s) => Some(s.len()),
            Value::Raw(v) => Some(v.len()),
            Value::Int(n) => Some(itoa::Buffer::new().format(*n).len()),
            _ => None,
        }
    }

    /// Turns a string value into a growable `raw` buffer and returns it (APPEND, SETRANGE).
    pub fn make_raw(&mut self) -> Option<&mut Vec<u8>> {
        if !matches!(self, Value::Raw(_)) {
            let bytes = self.as_str_bytes()?.to_vec();
            *self = Value::Raw(Box::new(bytes));
        }
        match self {
            Value::Raw(v) => Some(v),
            _ => None,
        }
    }
}

/// Bits of [`Entry`]'s access clock (LRU seconds, or LFU minutes and counter).
pub const CLOCK_BITS: u32 = 22;
/// Largest access clock value; clocks wrap past it.
pub const CLOCK_MAX: u32 = (1 << CLOCK_BITS) - 1;
/// The expiry field's value meaning "the expiry is stored with the key" (it does not fit in
/// 42 bits: after the year 2109).
const EXPIRE_FAR: u64 = (1 << (64 - CLOCK_BITS)) - 1;

/// One key in the keyspace: the key, its value, its expiry and its access clock, in 48 bytes.
///
/// `meta` packs the expiry (absolute Unix ms, 0 for none, in the top 42 bits) and the access
/// clock (the low [`CLOCK_BITS`]). An expiry too far in the future for 42 bits is stored with
/// the key instead (`Key::far_expire`), so every expiry Redis accepts is kept exactly.
/// Only the keyspace changes an entry's expiry (it keeps the counts of keys with a TTL).
#[derive(Debug)]
pub struct Entry {
    key: Key,
    /// The value.
    pub value: Value,
    meta: u64,
}

impl Entry {
    /// A new entry.
    pub fn new(key: &[u8], value: Value, expire_at: u64, clock: u32) -> Entry {
        let mut e = Entry {
            key: Key::new(key),
            value,
            meta: (clock & CLOCK_MAX) as u64,
        };
        e.set_expire_at(expire_at);
        e
    }

    /// Starts loading what this entry points at (its key's heap bytes, its value's first heap
    /// line) into the cache.
    #[inline]
    pub fn prefetch_heap(&self) {
        self.key.prefetch();
        self.value.prefetch();
    }

    /// The key.
    #[inline]
    pub fn key(&self) -> &[u8] {
        self.key.as_slice()
    }

    /// Heap bytes the key owns beyond the entry.
    pub fn key_heap_size(&self) -> usize {
        self.key.heap_size()
    }

    /// Absolute expiry in Unix milliseconds; 0 when the key has no TTL.
    #[inline]
    pub fn expire_at(&self) -> u64 {
        let f = self.meta >> CLOCK_BITS;
        if f == EXPIRE_FAR {
            self.key.far_expire().unwrap_or(u64::MAX)
        } else {
            f
        }
    }

    /// Sets the expiry (0: none). Only the keyspace calls it, keeping its TTL counts.
    pub(crate) fn set_expire_at(&mut self, ms: u64) {
        let field = if ms < EXPIRE_FAR {
            self.key.set_far_expire(None);
            ms
        } else {
            self.key.set_far_expire(Some(ms));
            EXPIRE_FAR
        };
        self.meta = (field << CLOCK_BITS) | (self.meta & CLOCK_MAX as u64);
    }

    /// The access clock: LRU seconds or LFU minutes and counter, as maxmemory-policy decides.
    #[inline]
    pub fn lru(&self) -> u32 {
        (self.meta & CLOCK_MAX as u64) as u32
    }

    /// Sets the access clock (masked to [`CLOCK_BITS`]).
    #[inline]
    pub fn set_lru(&mut self, clock: u32) {
        self.meta = (self.meta & !(CLOCK_MAX as u64)) | (clock & CLOCK_MAX) as u64;
    }

    /// Whether the key has a TTL.
    #[inline]
    pub fn has_expire(&self) -> bool {
        self.meta >> CLOCK_BITS != 0
    }

    /// Whether the key's TTL has passed at `now_ms`.
    #[inline]
    pub fn is_expired(&self, now_ms: u64) -> bool {
        let f = self.meta >> CLOCK_BITS;
        f != 0
            && if f == EXPIRE_FAR {
                self.expire_at() <= now_ms
            } else {
                f <= now_ms
            }
    }

    /// The key and the value, taken apart.
    pub fn into_parts(self) -> (Key, Value) {
        (self.key, self.value)
    }

    /// A free slot of the keyspace's entry slab, linking to the next free one.
    pub(crate) fn vacant(next: u32) -> Entry {
        Entry {
            key: Key::new(b""),
            value: Value::Int(0),
            meta: next as u64,
        }
    }

    /// The link of a free slot made by [`Entry::vacant`].
    pub(crate) fn vacant_next(&self) -> u32 {
        self.meta as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_compact() {
        assert_eq!(std::mem::size_of::<Value>(), 24);
        assert_eq!(std::mem::size_of::<Entry>(), 48);
    }

    #[test]
    fn expiry_and_clock_share_a_word() {
        let mut e = Entry::new(b"k", Value::Int(1), 0, 12345);
        assert!(!e.has_expire() && e.expire_at() == 0 && e.lru() == 12345);
        e.set_expire_at(4_102_444_800_123);
        assert_eq!((e.expire_at(), e.lru()), (4_102_444_800_123, 12345));
        assert!(e.is_expired(4_102_444_800_123) && !e.is_expired(4_102_444_800_122));
        e.set_lru(u32::MAX);
        assert_eq!((e.expire_at(), e.lru()), (4_102_444_800_123, CLOCK_MAX));
        for far in [EXPIRE_FAR, i64::MAX as u64, u64::MAX] {
            e.set_expire_at(far);
            assert_eq!((e.expire_at(), e.key()), (far, &b"k"[..]));
            assert!(e.has_expire() && !e.is_expired(far - 1) && e.is_expired(far));
        }
        e.set_expire_at(0);
        assert!(!e.has_expire() && e.key() == b"k" && e.key_heap_size() == 0);
    }

    #[test]
    fn encodings() {
        assert_eq!(Value::string(b"123").encoding(), "int");
        assert_eq!(Value::string(b"0123").encoding(), "embstr");
        assert_eq!(Value::string(&[b'a'; 45]).encoding(), "raw");
        assert_eq!(&*Value::string(b"-42").as_str_bytes().unwrap(), b"-42");
    }
}
