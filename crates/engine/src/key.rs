//! `Key`: a keyspace key in 16 bytes. Keys of up to 15 bytes (`user:1000`, `key:0000000001`,
//! most keys in the wild) are stored in place; longer ones in one exact-size heap allocation
//! whose pointer and length take the 16 bytes.
//!
//! The keyspace entry is 48 bytes (see `value::Entry`), and its access clock and expiry share
//! one word with 42 bits for the expiry. The rare expiry that does not fit (after the year
//! 2109: `PEXPIREAT k 9223372036854775807` is legal) lives here, in front of the key bytes of
//! a heap allocation ("far" form), so that an entry stays 48 bytes and every expiry Redis
//! accepts is kept exactly.
//!
//! This module is the one place where keys are laid out by hand: the layout is checked by
//! the tests below, which also run under Miri (`cargo +nightly miri test -p flint-engine key::`).

use std::fmt;

/// Longest key stored inline.
pub const INLINE_CAP: usize = 15;

/// `tag` of a heap key: `head` holds the length (7 bytes, little-endian), `tail` the pointer to
/// exactly `len` bytes.
const HEAP: u8 = 0xFE;
/// `tag` of a heap key with a far expiry: the allocation is the expiry (8 bytes,
/// little-endian) followed by the `len` key bytes.
const HEAP_FAR: u8 = 0xFF;
/// Bytes of the far expiry in front of the key in a `HEAP_FAR` allocation.
const FAR_PREFIX: usize = 8;

#[derive(Clone, Copy)]
#[repr(C)]
union Tail {
    bytes: [u8; 8],
    ptr: *mut u8,
}

/// A key: inline up to [`INLINE_CAP`] bytes, else on the heap (see the module docs).
///
/// Inline, the 15 bytes after `tag` (`head` then `tail.bytes`) are the key, zero-padded, and
/// `tag` is the length. The struct is `repr(C)`, so those 15 bytes are contiguous.
#[repr(C)]
pub struct Key {
    tag: u8,
    head: [u8; 7],
    tail: Tail,
}

// SAFETY: a `Key` owns its heap allocation exclusively (no sharing, no interior mutability), so
// moving it to or reading it from another thread is as safe as for a `Box<[u8]>`.
unsafe impl Send for Key {}
// SAFETY: as above; `&Key` only gives read access to the bytes.
unsafe impl Sync for Key {}

fn len_bytes(len: usize) -> [u8; 7] {
    let b = (len as u64).to_le_bytes();
    [b[0], b[1], b[2], b[3], b[4], b[5], b[6]]
}

impl Key {
    /// Copies `s`.
    #[inline]
    pub fn new(s: &[u8]) -> Self {
        if s.len() <= INLINE_CAP {
            let mut k = Key {
                tag: s.len() as u8,
                head: [0; 7],
                tail: Tail { bytes: [0; 8] },
            };
            k.inline_bytes_mut()[..s.len()].copy_from_slice(s);
            k
        } else {
            Self::heap(HEAP, s.len(), s.into())
        }
    }

    /// A heap key of `len` key bytes owning `alloc` (which holds the far prefix if `tag` is
    /// `HEAP_FAR`).
    fn heap(tag: u8, len: usize, alloc: Box<[u8]>) -> Self {
        debug_assert_eq!(
            alloc.len(),
            len + if tag == HEAP_FAR { FAR_PREFIX } else { 0 }
        );
        let ptr = Box::into_raw(alloc) as *mut u8;
        Key {
            tag,
            head: len_bytes(len),
            tail: Tail { ptr },
        }
    }

    #[inline]
    fn is_inline(&self) -> bool {
        (self.tag as usize) <= INLINE_CAP
    }

    /// The 15 inline bytes (`head` and `tail` as bytes). Only meaningful for inline keys.
    #[inline]
    fn inline_bytes(&self) -> &[u8; INLINE_CAP] {
        // SAFETY: `Key` is repr(C): `tag` at offset 0, `head` at 1..8, `tail` at 8..16, with no
        // padding (all byte arrays, `tail` 8-aligned at offset 8). Inline keys are only ever
        // built with `tail.bytes` written, so all 15 bytes from offset 1 are initialised, and
        // they lie inside `*self` for the lifetime of the borrow.
        unsafe { &*((self as *const Key as *const u8).add(1) as *const [u8; INLINE_CAP]) }
    }

    #[inline]
    fn inline_bytes_mut(&mut self) -> &mut [u8; INLINE_CAP] {
        // SAFETY: as in `inline_bytes`, with exclusive access through `&mut self`.
        unsafe { &mut *((self as *mut Key as *mut u8).add(1) as *mut [u8; INLINE_CAP]) }
    }

    /// Length of the key bytes of a heap key.
    #[inline]
    fn heap_len(&self) -> usize {
        let h = self.head;
        u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], 0]) as usize
    }

    /// The whole heap allocation (far prefix included).
    #[inline]
    fn alloc_slice(&self) -> &[u8] {
        let total = self.heap_len() + if self.tag == HEAP_FAR { FAR_PREFIX } else { 0 };
        // SAFETY: a heap key's `tail.ptr` came from `Box::into_raw` of a `Box<[u8]>` of exactly
        // `total` bytes (see `heap`), which this key owns until `drop`; the slice borrows `self`.
        unsafe { std::slice::from_raw_parts(self.tail.ptr, total) }
    }

    /// The key bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        if self.is_inline() {
            &self.inline_bytes()[..self.tag as usize]
        } else if self.tag == HEAP {
            self.alloc_slice()
        } else {
            &self.alloc_slice()[FAR_PREFIX..]
        }
    }

    /// Starts loading the key bytes of a heap key into the cache (nothing for an inline key,
    /// whose bytes are in the key itself).
    #[inline]
    pub fn prefetch(&self) {
        if !self.is_inline() {
            // SAFETY: a heap key's `tail` holds the pointer (see `heap`); reading the union
            // field reads that pointer's bits, and the prefetch never dereferences it.
            crate::util::prefetch(unsafe { self.tail.ptr });
        }
    }

    /// Length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        if self.is_inline() {
            self.tag as usize
        } else {
            self.heap_len()
        }
    }

    /// Whether the key is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes owned beyond the 16 bytes of the key itself.
    pub fn heap_size(&self) -> usize {
        if self.is_inline() {
            0
        } else {
            self.alloc_slice().len()
        }
    }

    /// The far expiry stored with the key, if any (see the module docs).
    #[inline]
    pub fn far_expire(&self) -> Option<u64> {
        if self.tag != HEAP_FAR {
            return None;
        }
        let a = self.alloc_slice();
        let mut b = [0u8; FAR_PREFIX];
        b.copy_from_slice(&a[..FAR_PREFIX]);
        Some(u64::from_le_bytes(b))
    }

    /// Stores (`Some`) or drops (`None`) the far expiry, reallocating the key as needed.
    pub fn set_far_expire(&mut self, ms: Option<u64>) {
        match ms {
            Some(ms) => {
                let key = self.as_slice();
                let mut alloc = Vec::with_capacity(FAR_PREFIX + key.len());
                alloc.extend_from_slice(&ms.to_le_bytes());
                alloc.extend_from_slice(key);
                let len = key.len();
                *self = Self::heap(HEAP_FAR, len, alloc.into_boxed_slice());
            }
            None if self.tag == HEAP_FAR => *self = Key::new(self.as_slice()),
            None => {}
        }
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        if !self.is_inline() {
            let total = self.alloc_slice().len();
            // SAFETY: `tail.ptr` and `total` are exactly the raw parts of the `Box<[u8]>` given
            // to `Box::into_raw` in `heap`; this key owns it and is being dropped, so the box is
            // rebuilt and freed once.
            unsafe {
                drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(
                    self.tail.ptr,
                    total,
                )))
            };
        }
    }
}

impl Clone for Key {
    fn clone(&self) -> Self {
        let mut k = Key::new(self.as_slice());
        if let Some(ms) = self.far_expire() {
            k.set_far_expire(Some(ms));
        }
        k
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Key {}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        assert_eq!(std::mem::size_of::<Key>(), 16);
        assert_eq!(std::mem::align_of::<Key>(), 8);
    }

    #[test]
    fn roundtrip_every_length() {
        for n in [0usize, 1, 7, 8, 14, 15, 16, 17, 100, 300] {
            let v: Vec<u8> = (0..n).map(|i| (i * 7 + 1) as u8).collect();
            let k = Key::new(&v);
            assert_eq!(k.as_slice(), &v[..]);
            assert_eq!(k.len(), n);
            assert_eq!(k.heap_size(), if n <= INLINE_CAP { 0 } else { n });
            assert_eq!(k.far_expire(), None);
            let c = k.clone();
            assert_eq!(c, k);
            drop(k);
            assert_eq!(c.as_slice(), &v[..]);
        }
    }

    #[test]
    fn far_expiry_round_trips_and_goes() {
        for n in [0usize, 5, 15, 16, 40] {
            let v: Vec<u8> = (0..n as u8).collect();
            let mut k = Key::new(&v);
            k.set_far_expire(Some(u64::MAX - 3));
            assert_eq!(k.far_expire(), Some(u64::MAX - 3));
            assert_eq!(k.as_slice(), &v[..]);
            assert_eq!(k.len(), n);
            k.set_far_expire(Some(9_223_372_036_854_775_807));
            assert_eq!(k.far_expire(), Some(9_223_372_036_854_775_807));
            let c = k.clone();
            assert_eq!(c.far_expire(), k.far_expire());
            assert_eq!(c.as_slice(), &v[..]);
            k.set_far_expire(None);
            assert_eq!(k.far_expire(), None);
            assert_eq!(k.as_slice(), &v[..]);
            assert_eq!(k.heap_size(), if n <= INLINE_CAP { 0 } else { n });
        }
    }

    #[test]
    fn moves_between_threads() {
        let k = Key::new(&[b'x'; 64]);
        let back = std::thread::spawn(move || k).join().ok();
        assert_eq!(back.map(|k| k.len()), Some(64));
    }
}
