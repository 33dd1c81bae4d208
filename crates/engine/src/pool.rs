//! [`Pool`]: values of one kind by number (`u32`), in chunks that never move once full, with a
//! free list. Collections whose tables hold 4-byte numbers instead of their items (a sorted set's
//! member cells and tree nodes, a big hash's fields) keep the items here: the items are dense
//! (a table at half load wastes 5 bytes a slot, not a whole item) and never move when the table
//! splits or grows. [`KeyedPool`] is such a collection for items that carry their key.

use crate::segtable::{member_hash, SegItem, SegTable};

/// Nodes of one kind by number: chunks of `1 << SHIFT`, except the first, which starts at 4
/// and doubles as it fills (a small set stays small; the copy is at most half a chunk, once).
/// Full chunks never move. Freed numbers are reused first.
#[derive(Clone, Debug)]
pub(crate) struct Pool<T, const SHIFT: u32> {
    pub(crate) chunks: Vec<Box<[T]>>,
    /// Numbers handed out so far (the next fresh one).
    pub(crate) used: u32,
    pub(crate) free: Vec<u32>,
}

impl<T: Default, const SHIFT: u32> Pool<T, SHIFT> {
    pub(crate) fn new() -> Self {
        Pool {
            chunks: Vec::new(),
            used: 0,
            free: Vec::new(),
        }
    }

    /// Number `i`'s chunk and slot in it.
    #[inline]
    fn locate(i: u32) -> (usize, usize) {
        ((i >> SHIFT) as usize, i as usize & ((1 << SHIFT) - 1))
    }

    #[inline]
    pub(crate) fn get(&self, i: u32) -> &T {
        let (c, s) = Self::locate(i);
        &self.chunks[c][s]
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, i: u32) -> &mut T {
        let (c, s) = Self::locate(i);
        &mut self.chunks[c][s]
    }

    /// A number whose node is default.
    pub(crate) fn alloc(&mut self) -> u32 {
        if let Some(i) = self.free.pop() {
            return i;
        }
        let i = self.used;
        let (c, s) = Self::locate(i);
        if c >= self.chunks.len() {
            let n = if c == 0 {
                4.min(1 << SHIFT)
            } else {
                1 << SHIFT
            };
            self.chunks
                .push((0..n).map(|_| T::default()).collect::<Vec<_>>().into());
        } else if let Some(first) = self.chunks.get_mut(c).filter(|ch| s >= ch.len()) {
            let mut nodes = std::mem::take(first).into_vec();
            let grown = (nodes.len() * 2).min(1 << SHIFT);
            nodes.resize_with(grown, T::default);
            *first = nodes.into_boxed_slice();
        }
        self.used += 1;
        i
    }

    /// Gives number `i` back; returns its node.
    pub(crate) fn release(&mut self, i: u32) -> T {
        self.free.push(i);
        std::mem::take(self.get_mut(i))
    }

    pub(crate) fn bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Box<[T]>>()
            + self.chunks.iter().map(|c| c.len()).sum::<usize>() * std::mem::size_of::<T>()
            + self.free.capacity() * 4
    }
}

/// Items that carry their key (a big hash's fields, a big set's members), in a [`Pool`], found
/// through a [`SegTable`] of their numbers that hashes and compares keys through the pool. The
/// same interface as a `SegTable` of the items themselves, at about 10 bytes of table per item
/// instead of a whole item per slot.
#[derive(Clone, Debug)]
pub(crate) struct KeyedPool<T, const SHIFT: u32> {
    items: Pool<T, SHIFT>,
    table: SegTable<u32>,
}

impl<T: SegItem + Default, const SHIFT: u32> Default for KeyedPool<T, SHIFT> {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl<T: SegItem + Default, const SHIFT: u32> KeyedPool<T, SHIFT> {
    /// Empty, with table room for `n` items.
    pub(crate) fn with_capacity(n: usize) -> Self {
        KeyedPool {
            items: Pool::new(),
            table: SegTable::with_capacity_by(n),
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Heap bytes of the table and the pool (not what the items own).
    pub(crate) fn bytes(&self) -> usize {
        self.table.table_bytes() + self.items.bytes()
    }

    /// The number of the item with key `key`, whose [`member_hash`] is `hash`.
    #[inline]
    fn find(&self, key: &[u8], hash: u64) -> Option<u32> {
        let items = &self.items;
        self.table
            .find_by(hash, |&i| items.get(i).key() == key)
            .copied()
    }

    /// The item with key `key`.
    #[inline]
    pub(crate) fn get(&self, key: &[u8]) -> Option<&T> {
        let i = self.find(key, member_hash(key))?;
        Some(self.items.get(i))
    }

    /// Whether an item has key `key`.
    #[inline]
    pub(crate) fn contains(&self, key: &[u8]) -> bool {
        self.find(key, member_hash(key)).is_some()
    }

    /// The item with key `key`, adding `make()` first if there is none (its key must be `key`).
    /// Says whether it was added.
    pub(crate) fn get_or_insert_with(
        &mut self,
        key: &[u8],
        make: impl FnOnce() -> T,
    ) -> (&mut T, bool) {
        let items = &self.items;
        let (slot, new) = self.table.get_or_insert_by(
            member_hash(key),
            |&i| items.get(i).key() == key,
            |&j| member_hash(items.get(j).key()),
            u32::MAX,
        );
        if new {
            // The placeholder becomes the new item's number before anything reads it.
            let i = self.items.alloc();
            *self.items.get_mut(i) = make();
            *slot = i;
        }
        let i = *slot;
        (self.items.get_mut(i), new)
    }

    /// Removes and returns the item with key `key`.
    pub(crate) fn remove(&mut self, key: &[u8]) -> Option<T> {
        let items = &self.items;
        let i = self
            .table
            .remove_by(member_hash(key), |&i| items.get(i).key() == key)?;
        Some(self.items.release(i))
    }

    /// Removes and returns a uniformly random item (see [`SegTable::remove_random`]).
    pub(crate) fn remove_random(&mut self, rng: &mut impl rand::Rng) -> Option<T> {
        let i = self.table.remove_random(rng)?;
        Some(self.items.release(i))
    }

    /// Every item, in the table's order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.table.iter().map(|&i| self.items.get(i))
    }

    /// A uniformly random item.
    pub(crate) fn random(&self, rng: &mut impl rand::Rng) -> Option<&T> {
        self.table.random(rng).map(|&i| self.items.get(i))
    }

    /// One SCAN step (see [`SegTable::scan_by`]).
    pub(crate) fn scan<'a>(&'a self, cursor: u64, count: usize, mut f: impl FnMut(&'a T)) -> u64 {
        let items = &self.items;
        self.table.scan_by(
            cursor,
            count,
            |&i| member_hash(items.get(i).key()),
            |&i| f(items.get(i)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::small::SmallBytes;

    #[derive(Clone, Debug, Default, PartialEq)]
    struct Item(SmallBytes, u32);

    impl SegItem for Item {
        fn key(&self) -> &[u8] {
            self.0.as_slice()
        }
    }

    #[test]
    fn keyed_pool_finds_adds_removes_and_reuses() {
        use rand::SeedableRng;
        let mut p: KeyedPool<Item, 4> = KeyedPool::default();
        let key = |i: u32| format!("key-{i}").into_bytes();
        for i in 0..1000 {
            let (item, new) = p.get_or_insert_with(&key(i), || Item(SmallBytes::new(&key(i)), i));
            assert!(new && item.1 == i);
        }
        assert!(!p.get_or_insert_with(&key(5), || unreachable!()).1);
        assert_eq!(p.len(), 1000);
        for i in (0..1000).step_by(2) {
            assert_eq!(p.remove(&key(i)).map(|x| x.1), Some(i));
        }
        assert!(p.remove(&key(0)).is_none());
        assert!(p.contains(&key(1)) && !p.contains(&key(2)));
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let x = p.remove_random(&mut rng).unwrap();
        assert!(!p.contains(x.key()));
        assert_eq!(p.iter().count(), 499);
        // Freed numbers are reused: no new chunk for as many new items.
        let used = p.items.used;
        for i in 1000..1400 {
            p.get_or_insert_with(&key(i), || Item(SmallBytes::new(&key(i)), i));
        }
        assert_eq!(p.items.used, used);
        let (mut cursor, mut seen) = (0, 0);
        loop {
            cursor = p.scan(cursor, 50, |_| seen += 1);
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen, p.len());
    }

    #[test]
    fn pools_reuse_and_first_chunk_doubles() {
        let mut p: Pool<(u64, f64), 4> = Pool::new();
        for n in 0..40u32 {
            assert_eq!(p.alloc(), n);
        }
        assert_eq!(p.chunks.len(), 3);
        assert_eq!(p.chunks[0].len(), 16);
        p.get_mut(5).1 = 1.5;
        p.release(5);
        assert_eq!(p.get(5).1, 0.0);
        assert_eq!(p.alloc(), 5);
    }
}
