//! `SmallBytes`: a byte string of 24 bytes that stores up to 22 bytes inline and longer ones in
//! one exact-size heap allocation. Keys and short string values are almost always this small, so
//! the common key costs no allocation of its own besides its table slot.

use std::fmt;

/// Longest byte string stored inline.
pub const INLINE_CAP: usize = 22;

/// An immutable byte string, inline when short.
#[derive(Clone, PartialEq, Eq)]
pub enum SmallBytes {
    /// Up to [`INLINE_CAP`] bytes stored in place.
    Inline {
        /// How many bytes of `data` are used.
        len: u8,
        /// The bytes, zero-padded.
        data: [u8; INLINE_CAP],
    },
    /// A longer string in its own allocation.
    Heap(Box<[u8]>),
}

impl Default for SmallBytes {
    /// Empty.
    fn default() -> Self {
        SmallBytes::Inline {
            len: 0,
            data: [0; INLINE_CAP],
        }
    }
}

impl SmallBytes {
    /// Copies `s`.
    #[inline]
    pub fn new(s: &[u8]) -> Self {
        if s.len() <= INLINE_CAP {
            let mut data = [0u8; INLINE_CAP];
            data[..s.len()].copy_from_slice(s);
            SmallBytes::Inline {
                len: s.len() as u8,
                data,
            }
        } else {
            SmallBytes::Heap(s.into())
        }
    }

    /// Takes ownership of `v` (no copy when it is long).
    pub fn from_vec(v: Vec<u8>) -> Self {
        if v.len() <= INLINE_CAP {
            Self::new(&v)
        } else {
            SmallBytes::Heap(v.into_boxed_slice())
        }
    }

    /// The bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match self {
            SmallBytes::Inline { len, data } => &data[..(*len as usize).min(INLINE_CAP)],
            SmallBytes::Heap(b) => b,
        }
    }

    /// Length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            SmallBytes::Inline { len, .. } => *len as usize,
            SmallBytes::Heap(b) => b.len(),
        }
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes owned beyond the 24 bytes of the value itself.
    pub fn heap_size(&self) -> usize {
        match self {
            SmallBytes::Inline { .. } => 0,
            SmallBytes::Heap(b) => b.len(),
        }
    }
}

impl fmt::Debug for SmallBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_and_roundtrip() {
        assert_eq!(std::mem::size_of::<SmallBytes>(), 24);
        for n in [0usize, 1, 21, 22, 23, 100] {
            let v: Vec<u8> = (0..n as u8).collect();
            assert_eq!(SmallBytes::new(&v).as_slice(), &v[..]);
            assert_eq!(SmallBytes::from_vec(v.clone()).as_slice(), &v[..]);
        }
    }
}
