//! `SegTable`: the hash table behind big hashes, sets and sorted sets. The same design as the
//! keyspace's shards (see `keyspace.rs`): an extendible hash of small segments, each covering one
//! range of hash values. It gives collections what the keyspace has:
//! - no insert ever rehashes more than one segment (no latency spike at a million members);
//! - HSCAN/SSCAN/ZSCAN cursors are hash values, so a full iteration returns every member present
//!   for its whole duration exactly once, whatever splits happen between calls;
//! - a uniformly random member costs a walk of the segment sizes, not of the members.
//!
//! Members are hashed with one process-wide seeded hasher ([`member_hash`]).

use std::sync::OnceLock;

use hashbrown::HashTable;

use crate::keyspace::KeyHasher;

/// A segment splits instead of growing past this many members (a full table of 256 buckets).
/// Small, because a random member (SRANDMEMBER, SPOP, ZRANDMEMBER) costs a walk of half a
/// segment on average: 224 against 1792 took SPOP on a 180k-member set from about 2 us to
/// 0.5 us. The directory and segment list this multiplies by 8 stay small next to the members
/// (under a byte per member).
const SEGMENT_MAX: usize = 224;
/// Draws [`SegTable::random`] makes before walking the segment sizes instead.
const RANDOM_TRIES: usize = 32;
/// Hash bits a directory may use (a guard against degenerate hashes, never reached).
const MAX_DEPTH: u32 = 32;

/// What a [`SegTable`] stores: anything with a byte-string key.
pub trait SegItem {
    /// The member's key bytes (a field, a set member, a sorted-set member).
    fn key(&self) -> &[u8];
}

/// The hash of a collection member (one seeded hasher for every collection in the process).
#[inline]
pub fn member_hash(key: &[u8]) -> u64 {
    static HASHER: OnceLock<KeyHasher> = OnceLock::new();
    HASHER.get_or_init(KeyHasher::new).hash(key)
}

/// hashbrown takes its 7-bit tag from the top bits, which are the directory bits shared by a
/// whole segment: mix the low half in.
#[inline]
fn table_hash(h: u64) -> u64 {
    h ^ (h << 32)
}

#[derive(Clone)]
struct Segment<T> {
    depth: u32,
    table: HashTable<T>,
}

/// A hash table of members keyed by bytes (see the module docs).
#[derive(Clone)]
pub struct SegTable<T> {
    dir: Vec<u32>,
    segs: Vec<Segment<T>>,
    depth: u32,
    len: usize,
}

impl<T> Default for SegTable<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> std::fmt::Debug for SegTable<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SegTable({} members)", self.len)
    }
}

/// The hash function of members that carry their own key.
#[inline]
fn key_hash<T: SegItem>(x: &T) -> u64 {
    member_hash(x.key())
}

/// The core, for any item type: lookups take the member's hash and an equality test, and the
/// operations that rehash (inserts, which may split a segment, and scans) take `hash_of`, the
/// hash of a stored item. This lets a table store items whose key lives elsewhere (a sorted
/// set's map holds member numbers of its cells, which hold the members), as long as
/// `hash_of` agrees with the `hash` given to lookups, which must be [`member_hash`] of the key.
impl<T> SegTable<T> {
    /// An empty table.
    pub fn new() -> Self {
        SegTable {
            dir: vec![0],
            segs: vec![Segment {
                depth: 0,
                table: HashTable::new(),
            }],
            depth: 0,
            len: 0,
        }
    }

    /// An empty table with room for `n` members in its first segment (up to a segment's size),
    /// for members that do not carry their key.
    pub fn with_capacity_by(n: usize) -> Self {
        let mut t = Self::new();
        // Nothing to rehash in an empty table: the hasher is never called.
        t.segs[0].table.reserve(n.min(SEGMENT_MAX), |_| 0);
        t
    }

    /// Number of members.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn seg_index(&self, hash: u64) -> usize {
        let slot = if self.depth == 0 {
            0
        } else {
            (hash >> (64 - self.depth)) as usize
        };
        self.dir.get(slot).copied().unwrap_or(0) as usize
    }

    /// The member with hash `hash` for which `eq` holds.
    #[inline]
    pub fn find_by(&self, hash: u64, eq: impl FnMut(&T) -> bool) -> Option<&T> {
        self.segs
            .get(self.seg_index(hash))?
            .table
            .find(table_hash(hash), eq)
    }

    /// The member with hash `hash` for which `eq` holds, mutable (its key must not change).
    #[inline]
    pub fn find_mut_by(&mut self, hash: u64, eq: impl FnMut(&T) -> bool) -> Option<&mut T> {
        let i = self.seg_index(hash);
        self.segs.get_mut(i)?.table.find_mut(table_hash(hash), eq)
    }

    /// The segment a new member with hash `h` goes into, splitting it first if full.
    fn seg_for_insert(&mut self, h: u64, hash_of: &impl Fn(&T) -> u64) -> usize {
        let i = self.seg_index(h);
        if self.segs[i].table.len() >= SEGMENT_MAX {
            self.split(i, h, hash_of);
        }
        self.seg_index(h)
    }

    /// Inserts `item`, whose hash is `hash`, or replaces (and returns) the member for which
    /// `eq` holds.
    pub fn insert_by(
        &mut self,
        hash: u64,
        item: T,
        eq: impl FnMut(&T) -> bool,
        hash_of: impl Fn(&T) -> u64,
    ) -> Option<T> {
        let i = self.seg_for_insert(hash, &hash_of);
        match self.segs[i]
            .table
            .entry(table_hash(hash), eq, |x| table_hash(hash_of(x)))
        {
            hashbrown::hash_table::Entry::Occupied(mut o) => {
                Some(std::mem::replace(o.get_mut(), item))
            }
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert(item);
                self.len += 1;
                None
            }
        }
    }

    /// The member with hash `hash` for which `eq` holds, or else `vacant`, inserted in its
    /// place; says whether it was inserted. One probe: room is made before `vacant` goes in, so
    /// `hash_of` is never called on it (a placeholder the caller fills in at once is fine).
    pub fn get_or_insert_by(
        &mut self,
        hash: u64,
        eq: impl FnMut(&T) -> bool,
        hash_of: impl Fn(&T) -> u64,
        vacant: T,
    ) -> (&mut T, bool) {
        let i = self.seg_for_insert(hash, &hash_of);
        match self.segs[i]
            .table
            .entry(table_hash(hash), eq, |x| table_hash(hash_of(x)))
        {
            hashbrown::hash_table::Entry::Occupied(o) => (o.into_mut(), false),
            hashbrown::hash_table::Entry::Vacant(v) => {
                self.len += 1;
                (v.insert(vacant).into_mut(), true)
            }
        }
    }

    /// Inserts `item`, whose hash is `hash`, known to be absent (the caller looked it up).
    pub fn insert_unique_by(&mut self, hash: u64, item: T, hash_of: impl Fn(&T) -> u64) {
        let i = self.seg_for_insert(hash, &hash_of);
        self.segs[i]
            .table
            .insert_unique(table_hash(hash), item, |x| table_hash(hash_of(x)));
        self.len += 1;
    }

    /// Removes and returns the member with hash `hash` for which `eq` holds.
    pub fn remove_by(&mut self, hash: u64, eq: impl FnMut(&T) -> bool) -> Option<T> {
        let i = self.seg_index(hash);
        let found = self
            .segs
            .get_mut(i)?
            .table
            .find_entry(table_hash(hash), eq)
            .ok()?;
        let (item, _) = found.remove();
        self.len -= 1;
        Some(item)
    }

    fn split(&mut self, i: usize, h: u64, hash_of: &impl Fn(&T) -> u64) {
        let d = self.segs[i].depth;
        if d >= MAX_DEPTH {
            return;
        }
        if d == self.depth {
            let mut dir = Vec::with_capacity(self.dir.len() * 2);
            for &s in &self.dir {
                dir.push(s);
                dir.push(s);
            }
            self.dir = dir;
            self.depth += 1;
        }
        let slot = (h >> (64 - self.depth)) as usize;
        let span = 1usize << (self.depth - d);
        let start = slot & !(span - 1);
        let new_index = self.segs.len() as u32;
        let bit_shift = 63 - d;
        let old = &mut self.segs[i];
        old.depth = d + 1;
        let mut moved = HashTable::with_capacity(old.table.len() / 2 + 16);
        for x in old.table.extract_if(|x| (hash_of(x) >> bit_shift) & 1 == 1) {
            moved.insert_unique(table_hash(hash_of(&x)), x, |y| table_hash(hash_of(y)));
        }
        self.segs.push(Segment {
            depth: d + 1,
            table: moved,
        });
        for s in &mut self.dir[start + span / 2..start + span] {
            *s = new_index;
        }
    }

    /// Every member, in storage order.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.segs.iter().flat_map(|s| s.table.iter())
    }

    /// Every member, mutable (keys must not be changed).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> + '_ {
        self.segs.iter_mut().flat_map(|s| s.table.iter_mut())
    }

    /// Removes every member for which `keep` returns false.
    pub fn retain(&mut self, mut keep: impl FnMut(&mut T) -> bool) {
        let mut removed = 0;
        for s in &mut self.segs {
            let before = s.table.len();
            s.table.retain(&mut keep);
            removed += before - s.table.len();
        }
        self.len -= removed;
    }

    /// Takes every member out, leaving the table empty.
    pub fn drain(&mut self) -> impl Iterator<Item = T> {
        let segs = std::mem::take(&mut self.segs);
        *self = Self::new();
        segs.into_iter().flat_map(|s| s.table.into_iter())
    }

    /// The member at position `n` in storage order (`n < len()`).
    pub fn nth(&self, mut n: usize) -> Option<&T> {
        for s in &self.segs {
            if n < s.table.len() {
                return s.table.iter().nth(n);
            }
            n -= s.table.len();
        }
        None
    }

    /// A uniformly random member.
    ///
    /// Draws a segment and a position below `SEGMENT_MAX` and keeps the member there if the
    /// segment has one (every member equally likely per draw), so a pick costs a walk of one
    /// segment whatever the number of segments; after a few misses (segments emptied by
    /// removals) it falls back to a walk of the segment sizes.
    pub fn random(&self, rng: &mut impl rand::Rng) -> Option<&T> {
        if self.len == 0 {
            return None;
        }
        let (seg, at) = self.random_position(rng)?;
        self.segs.get(seg)?.table.iter().nth(at)
    }

    /// A uniformly random member's segment and position in it (storage order); the table is
    /// not empty.
    fn random_position(&self, rng: &mut impl rand::Rng) -> Option<(usize, usize)> {
        if self.segs.len() > 1 {
            for _ in 0..RANDOM_TRIES {
                let seg = rng.gen_range(0..self.segs.len());
                let at = rng.gen_range(0..SEGMENT_MAX);
                if at < self.segs[seg].table.len() {
                    return Some((seg, at));
                }
            }
        }
        let mut n = rng.gen_range(0..self.len);
        for (i, s) in self.segs.iter().enumerate() {
            if n < s.table.len() {
                return Some((i, n));
            }
            n -= s.table.len();
        }
        None
    }

    /// Removes and returns a uniformly random member (as [`SegTable::random`] draws it), in one
    /// walk of its segment: no hashing, no lookup.
    pub fn remove_random(&mut self, rng: &mut impl rand::Rng) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let (seg, at) = self.random_position(rng)?;
        let mut k = 0usize;
        let item = self.segs.get_mut(seg)?.table.extract_if(|_| {
            k += 1;
            k == at + 1
        });
        let item = item.into_iter().next();
        if item.is_some() {
            self.len -= 1;
        }
        item
    }

    /// Visits members whose hash (`hash_of`) is at least `cursor`, in hash order, until at
    /// least `count` were passed to `f` (members of equal hash are kept together). Returns the
    /// cursor to continue from, 0 when the iteration is complete (Redis's SCAN convention).
    pub fn scan_by<'a>(
        &'a self,
        mut cursor: u64,
        count: usize,
        hash_of: impl Fn(&T) -> u64,
        mut f: impl FnMut(&'a T),
    ) -> u64 {
        let count = count.max(1);
        let mut seen = 0usize;
        loop {
            let Some(seg) = self.segs.get(self.seg_index(cursor)) else {
                return 0;
            };
            let mut found: Vec<(u64, &T)> = seg
                .table
                .iter()
                .map(|x| (hash_of(x), x))
                .filter(|(h, _)| *h >= cursor)
                .collect();
            found.sort_unstable_by_key(|(h, _)| *h);
            for i in 0..found.len() {
                if i > 0 && seen >= count && found[i].0 != found[i - 1].0 {
                    return found[i].0;
                }
                f(found[i].1);
                seen += 1;
            }
            // The first hash past this segment's range.
            let bits = seg.depth;
            let next = if bits == 0 {
                return 0;
            } else {
                ((cursor as u128 >> (64 - bits)) + 1) << (64 - bits)
            };
            if next > u64::MAX as u128 {
                return 0;
            }
            cursor = next as u64;
            if seen >= count {
                return cursor;
            }
        }
    }

    /// Heap bytes of the tables (not counting what members own).
    pub fn table_bytes(&self) -> usize {
        self.segs
            .iter()
            .map(|s| s.table.allocation_size())
            .sum::<usize>()
            + self.dir.capacity() * 4
            + self.segs.capacity() * std::mem::size_of::<Segment<T>>()
    }
}

/// Members that carry their key: lookups by key.
impl<T: SegItem> SegTable<T> {
    /// An empty table with room for `n` members in its first segment (up to a segment's size).
    pub fn with_capacity(n: usize) -> Self {
        let mut t = Self::new();
        t.segs[0]
            .table
            .reserve(n.min(SEGMENT_MAX), |x| table_hash(key_hash(x)));
        t
    }

    /// The member with key `key`.
    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&T> {
        self.find_by(member_hash(key), |x| x.key() == key)
    }

    /// The member with key `key`, mutable. Its key must not be changed.
    #[inline]
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut T> {
        self.find_mut_by(member_hash(key), |x| x.key() == key)
    }

    /// Whether a member with key `key` exists.
    #[inline]
    pub fn contains(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Inserts `item`, replacing (and returning) a member with the same key.
    pub fn insert(&mut self, item: T) -> Option<T> {
        let h = member_hash(item.key());
        let i = self.seg_for_insert(h, &key_hash);
        let seg = &mut self.segs[i];
        match seg.table.entry(
            table_hash(h),
            |x| x.key() == item.key(),
            |x| table_hash(key_hash(x)),
        ) {
            hashbrown::hash_table::Entry::Occupied(mut o) => {
                Some(std::mem::replace(o.get_mut(), item))
            }
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert(item);
                self.len += 1;
                None
            }
        }
    }

    /// The member with key `key`, inserting `make()` first if there is none. Says whether it was
    /// inserted.
    pub fn get_or_insert_with(&mut self, key: &[u8], make: impl FnOnce() -> T) -> (&mut T, bool) {
        let h = member_hash(key);
        let i = self.seg_for_insert(h, &key_hash);
        let seg = &mut self.segs[i];
        match seg.table.entry(
            table_hash(h),
            |x| x.key() == key,
            |x| table_hash(key_hash(x)),
        ) {
            hashbrown::hash_table::Entry::Occupied(o) => (o.into_mut(), false),
            hashbrown::hash_table::Entry::Vacant(v) => {
                self.len += 1;
                (v.insert(make()).into_mut(), true)
            }
        }
    }

    /// Removes and returns the member with key `key`.
    pub fn remove(&mut self, key: &[u8]) -> Option<T> {
        self.remove_by(member_hash(key), |x| x.key() == key)
    }

    /// Visits members whose hash is at least `cursor`, in hash order, until at least `count` were
    /// passed to `f` (members of equal hash are kept together). Returns the cursor to continue
    /// from, 0 when the iteration is complete (Redis's SCAN convention).
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, f: impl FnMut(&'a T)) -> u64 {
        self.scan_by(cursor, count, key_hash, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Debug, Clone, PartialEq)]
    struct Kv(Vec<u8>, u32);
    impl SegItem for Kv {
        fn key(&self) -> &[u8] {
            &self.0
        }
    }

    #[test]
    fn insert_get_remove_across_splits() {
        let mut t = SegTable::new();
        for i in 0..20_000u32 {
            assert!(t.insert(Kv(format!("m{i}").into_bytes(), i)).is_none());
        }
        assert_eq!(t.len(), 20_000);
        assert!(t.segs.len() > 8);
        assert_eq!(t.insert(Kv(b"m7".to_vec(), 70)).map(|x| x.1), Some(7));
        assert_eq!(t.get(b"m7").map(|x| x.1), Some(70));
        for i in 0..10_000u32 {
            assert!(t.remove(format!("m{i}").as_bytes()).is_some());
        }
        assert_eq!(t.len(), 10_000);
        assert_eq!(t.iter().count(), 10_000);
        let (v, new) = t.get_or_insert_with(b"x", || Kv(b"x".to_vec(), 1));
        assert!(new && v.1 == 1);
        t.retain(|x| x.1 % 2 == 0);
        assert_eq!(t.len(), t.iter().count());
        let mut rng = rand::thread_rng();
        assert!(t.random(&mut rng).is_some());
    }

    /// SPOP's benchmark shape timed; run with
    /// `cargo test --release -p flint-engine pop_timing -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn pop_timing() {
        let mut rng = rand::thread_rng();
        for _ in 0..3 {
            let mut t = SegTable::new();
            for i in 0..180_000u32 {
                t.insert(Kv(format!("element:{:012}", i * 5).into_bytes(), i));
            }
            let n = t.len();
            let start = std::time::Instant::now();
            for _ in 0..n / 2 {
                t.remove_random(&mut rng);
            }
            let half = start.elapsed();
            while t.remove_random(&mut rng).is_some() {}
            println!(
                "{} segments, {:.0} ns per pop (first half {:.0})",
                t.segs.len(),
                start.elapsed().as_nanos() as f64 / n as f64,
                half.as_nanos() as f64 / (n / 2) as f64
            );
        }
    }

    #[test]
    fn remove_random_takes_each_member_once() {
        let mut t = SegTable::new();
        for i in 0..5000u32 {
            t.insert(Kv(format!("m{i}").into_bytes(), i));
        }
        let mut rng = rand::thread_rng();
        let mut seen = std::collections::HashSet::new();
        while let Some(x) = t.remove_random(&mut rng) {
            assert!(seen.insert(x.1));
            assert_eq!(t.len(), 5000 - seen.len());
        }
        assert_eq!(seen.len(), 5000);
        assert!(t.is_empty());
    }

    #[test]
    fn random_is_uniform_across_segments() {
        let mut t = SegTable::new();
        for i in 0..20_000u32 {
            t.insert(Kv(format!("m{i}").into_bytes(), i));
        }
        // Empty most of a few segments' worth of members: picks stay uniform.
        t.retain(|x| x.1 % 10 != 0 || x.1 < 10_000);
        let mut rng = rand::thread_rng();
        let mut low = 0usize;
        let draws = 200_000;
        for _ in 0..draws {
            if t.random(&mut rng).map(|x| x.1 < 10_000) == Some(true) {
                low += 1;
            }
        }
        let want = 10_000.0 / t.len() as f64;
        let got = low as f64 / draws as f64;
        assert!((got - want).abs() < 0.01, "got {got}, want {want}");
    }

    #[test]
    fn scan_returns_each_member_once_while_growing() {
        let mut t = SegTable::new();
        for i in 0..3000u32 {
            t.insert(Kv(format!("a{i}").into_bytes(), i));
        }
        let mut seen: HashMap<Vec<u8>, u32> = HashMap::new();
        let mut cursor = 0;
        let mut extra = 0u32;
        loop {
            cursor = t.scan(cursor, 10, |x| *seen.entry(x.0.clone()).or_default() += 1);
            for _ in 0..30 {
                t.insert(Kv(format!("b{extra}").into_bytes(), extra));
                extra += 1;
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..3000u32 {
            assert_eq!(seen.get(format!("a{i}").as_bytes()), Some(&1), "a{i}");
        }
        assert!(seen.values().all(|&n| n == 1));
    }
}
