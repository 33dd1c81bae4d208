//! [`Pool`]: values of one kind by number (`u32`), in chunks that never move once full, with a
//! free list. Collections whose tables hold 4-byte numbers instead of their items (a sorted set's
//! member cells and tree nodes, a big hash's fields) keep the items here: the items are dense
//! (a table at half load wastes 5 bytes a slot, not a whole item) and never move when the table
//! splits or grows.

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

    #[inline]
    pub(crate) fn get(&self, i: u32) -> &T {
        &self.chunks[(i >> SHIFT) as usize][i as usize & ((1 << SHIFT) - 1)]
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, i: u32) -> &mut T {
        &mut self.chunks[(i >> SHIFT) as usize][i as usize & ((1 << SHIFT) - 1)]
    }

    /// A number whose node is default.
    pub(crate) fn alloc(&mut self) -> u32 {
        if let Some(i) = self.free.pop() {
            return i;
        }
        let i = self.used;
        let (c, s) = ((i >> SHIFT) as usize, i as usize & ((1 << SHIFT) - 1));
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

#[cfg(test)]
mod tests {
    use super::*;

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
