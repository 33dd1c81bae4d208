//! What a key holds: [`Value`], and the keyspace slot [`Entry`] that pairs it with its key, expiry
//! time and access clock.
//!
//! Strings have three encodings, as in Redis, so that `OBJECT ENCODING` tells the truth: `int`
//! (an `i64`, for values that are canonical integers), `embstr` (stored once at SET time, inline
//! up to 22 bytes) and `raw` (a growable buffer, after APPEND or SETRANGE, or over 44 bytes).
//! Collections have one variant per encoding, flat in this enum so that `Value` stays 24 bytes
//! (nested enums would not share one tag): each type's module under `types/` owns its variants'
//! payload types and the conversions between its encodings.

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

/// One key in the keyspace: the key, its value, its expiry and its access clock.
#[derive(Debug)]
pub struct Entry {
    /// The key.
    pub key: SmallBytes,
    /// The value.
    pub value: Value,
    /// Absolute expiry in Unix milliseconds; 0 when the key has no TTL.
    pub expire_at: u64,
    /// LRU clock (seconds, wrapping) or LFU counter, as maxmemory-policy decides.
    pub lru: u32,
}

impl Entry {
    /// Whether the key has a TTL.
    #[inline]
    pub fn has_expire(&self) -> bool {
        self.expire_at != 0
    }

    /// Whether the key's TTL has passed at `now_ms`.
    #[inline]
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at != 0 && self.expire_at <= now_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_compact() {
        assert_eq!(std::mem::size_of::<Value>(), 24);
        assert!(std::mem::size_of::<Entry>() <= 64);
    }

    #[test]
    fn encodings() {
        assert_eq!(Value::string(b"123").encoding(), "int");
        assert_eq!(Value::string(b"0123").encoding(), "embstr");
        assert_eq!(Value::string(&[b'a'; 45]).encoding(), "raw");
        assert_eq!(&*Value::string(b"-42").as_str_bytes().unwrap(), b"-42");
    }
}
