//! The keyspace: databases split into shards, each shard an extendible hash table of small
//! segments, each behind nothing but its shard's mutex.
//!
//! # Layout
//! A key's 64-bit hash (foldhash, seeded per process) decides everything:
//! - the top [`SHARD_BITS`] bits pick the shard (the lock unit);
//! - the next bits index the shard's *directory*, whose slots point at *segments* (extendible
//!   hashing: a segment of local depth `d` serves every slot sharing its top `d` bits);
//! - inside a segment, a `hashbrown::HashTable<u32>` holds slot numbers of the shard's entry
//!   slab, where each entry is 48 bytes (see `Slab`).
//!
//! A segment never holds more than [`SEGMENT_MAX`] entries: instead of growing past it, it splits
//! in two by the next hash bit, moving about a thousand entries. So no insert ever rehashes a big
//! table (no latency spike at a million keys or a billion), and memory grows smoothly.
//!
//! # Why this makes SCAN exact
//! Each segment covers one contiguous range of hash values, and a split only divides a range. SCAN
//! walks hash values in increasing order; its cursor is simply the next hash value to visit. Keys
//! present for a whole iteration are returned exactly once, whatever splits happen between calls
//! (stronger than Redis, which may return duplicates).
//!
//! IMPORTANT: the hash handed to hashbrown is `h ^ (h << 32)`: its top 7 bits (hashbrown's tag)
//! must not be the shard/directory bits, which are equal for every entry of a segment.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

use hashbrown::HashTable;
use parking_lot::Mutex;

use crate::value::{Entry, Value};

/// log2 of the number of shards per database.
pub const SHARD_BITS: u32 = 6;
/// Shards per database.
pub const SHARDS: usize = 1 << SHARD_BITS;
/// A segment splits instead of growing past this many entries (hashbrown's capacity at 2048
/// buckets, so a full segment is 7/8 occupied and its halves fit 1024 buckets).
pub const SEGMENT_MAX: usize = 1792;
/// Directory depth never exceeds this (a guard against degenerate hashes, never reached).
const MAX_DEPTH: u32 = 30;

/// The process's key hasher.
#[derive(Clone)]
pub struct KeyHasher(foldhash::fast::FixedState);

impl KeyHasher {
    /// A hasher with a random seed (keys' placement differs per process, against hash flooding).
    pub fn new() -> Self {
        KeyHasher(foldhash::fast::FixedState::with_seed(rand::random()))
    }

    /// The 64-bit hash of `key`.
    #[inline]
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.0.hash_one(key)
    }
}

impl Default for KeyHasher {
    fn default() -> Self {
        Self::new()
    }
}

/// Which shard a hash belongs to.
#[inline]
pub fn shard_of(hash: u64) -> usize {
    (hash >> (64 - SHARD_BITS)) as usize
}

/// Keeps a segment's and its shard's counts of keys with a TTL right when a key goes from
/// `had` a TTL to `has` one.
#[inline]
fn count_ttl_change(seg_volatile: &mut u32, shard_volatile: &mut usize, had: bool, has: bool) {
    match (had, has) {
        (false, true) => {
            *seg_volatile += 1;
            *shard_volatile += 1;
        }
        (true, false) => {
            *seg_volatile -= 1;
            *shard_volatile -= 1;
        }
        _ => {}
    }
}

#[inline]
fn table_hash(h: u64) -> u64 {
    h ^ (h << 32)
}

/// Entries per slab chunk: 341 x 48 = 16368 bytes, just under mimalloc's 16 KiB size class,
/// four to a 64 KiB page with nothing left over. (256 entries made 12288-byte chunks, five to a
/// page with 4 KiB left: 3 bytes per key of RSS.)
const CHUNK: usize = 341;
/// Bytes of one entry.
const ENTRY_BYTES: usize = std::mem::size_of::<Entry>();
/// Marks the end of a slab's free list.
const NO_SLOT: u32 = u32::MAX;

/// Bytes of free slab slots, over every shard: allocated from the allocator's point of view, but
/// reusable by the next key, so [`slab_free_bytes`] is subtracted from the memory maxmemory
/// counts (else evicting a key with an inline value would free nothing and eviction would go on
/// and on). Striped like the allocator's own count; only the sum is meaningful.
static SLAB_FREE: [PaddedI64; 16] = [const { PaddedI64(AtomicI64::new(0)) }; 16];

#[repr(align(64))]
struct PaddedI64(AtomicI64);

#[inline]
fn count_slab_free(slots: i64) {
    let i = crate::counter::stripe() % SLAB_FREE.len();
    SLAB_FREE[i]
        .0
        .fetch_add(slots * ENTRY_BYTES as i64, Ordering::Relaxed);
}

/// Bytes of free entry slots in every shard's slab (see [`SLAB_FREE`]).
pub fn slab_free_bytes() -> u64 {
    SLAB_FREE
        .iter()
        .map(|s| s.0.load(Ordering::Relaxed))
        .sum::<i64>()
        .max(0) as u64
}

/// A shard's entries: fixed chunks of [`CHUNK`] entries, addressed by a `u32` slot number, with
/// a free list threaded through the vacant slots. Segments' hash tables hold slot numbers (4
/// bytes per bucket instead of an 8-byte pointer to a boxed entry), and a key costs no
/// allocation of its own: one 48-byte slot.
#[derive(Default)]
struct Slab {
    chunks: Vec<Box<[Entry]>>,
    /// First free slot, or [`NO_SLOT`].
    free: u32,
    /// Free slots (for the accounting).
    free_count: usize,
}

impl Slab {
    fn new() -> Self {
        Slab {
            chunks: Vec::new(),
            free: NO_SLOT,
            free_count: 0,
        }
    }

    // IMPORTANT: slot numbers only come from this slab's own tables, so indexing cannot fail;
    // a panic here would be a keyspace bug, never something a client can cause.
    #[inline]
    fn get(&self, i: u32) -> &Entry {
        &self.chunks[i as usize / CHUNK][i as usize % CHUNK]
    }

    #[inline]
    fn get_mut(&mut self, i: u32) -> &mut Entry {
        &mut self.chunks[i as usize / CHUNK][i as usize % CHUNK]
    }

    /// Stores `e` in a free slot (adding a chunk if there is none) and returns its number.
    fn alloc(&mut self, e: Entry) -> u32 {
        if self.free == NO_SLOT {
            let base = (self.chunks.len() * CHUNK) as u32;
            let chunk: Box<[Entry]> = (0..CHUNK as u32)
                .map(|j| {
                    if j + 1 < CHUNK as u32 {
                        Entry::vacant(base + j + 1)
                    } else {
                        Entry::vacant(NO_SLOT)
                    }
                })
                .collect();
            self.chunks.push(chunk);
            self.free = base;
            self.free_count += CHUNK;
            count_slab_free(CHUNK as i64);
        }
        let i = self.free;
        let slot = self.get_mut(i);
        let next = slot.vacant_next();
        *slot = e;
        self.free = next;
        self.free_count -= 1;
        count_slab_free(-1);
        i
    }

    /// Takes the entry out of slot `i`, which becomes free.
    fn free(&mut self, i: u32) -> Entry {
        let next = self.free;
        let e = std::mem::replace(self.get_mut(i), Entry::vacant(next));
        self.free = i;
        self.free_count += 1;
        count_slab_free(1);
        e
    }

    fn bytes(&self) -> usize {
        self.chunks.len() * CHUNK * ENTRY_BYTES + self.chunks.capacity() * 16
    }
}

impl Drop for Slab {
    fn drop(&mut self) {
        count_slab_free(-(self.free_count as i64));
    }
}

/// A segment: one small hash table (of slab slot numbers) covering one range of hash values.
#[derive(Default)]
struct Segment {
    /// Local depth: how many directory bits all its entries share.
    depth: u32,
    table: HashTable<u32>,
    /// Entries with a TTL (lets active expiry skip segments without any).
    volatile: u32,
}

/// One lock unit of a database.
pub struct Shard {
    /// Slot -> segment index; `2^depth` slots.
    dir: Vec<u32>,
    segs: Vec<Segment>,
    slab: Slab,
    depth: u32,
    len: usize,
    volatile: usize,
    /// Where active expiry resumes (a segment index).
    expire_cursor: usize,
}

impl Default for Shard {
    fn default() -> Self {
        Shard::new()
    }
}

/// What [`Shard::lookup`] found.
pub enum Lookup<'a> {
    /// The key is present and live.
    Live(&'a mut Entry),
    /// The key had expired and was removed: here is its entry.
    Expired(Entry),
    /// No such key.
    Missing,
}

/// What [`Shard::upsert`] replaced.
pub enum Upsert {
    /// The key was absent.
    New,
    /// The key held this live value.
    Replaced(Value),
    /// The key held this value but had expired (it counts as an expiry, then a new key).
    ReplacedExpired(Value),
}

/// What [`Shard::get_or_insert`] found.
pub enum GetOrInsert<'a> {
    /// The key was live.
    Found(&'a mut Entry),
    /// The key was absent and now holds the new value.
    Inserted(&'a mut Entry),
    /// The key had expired: it now holds the new value (without TTL); here is the old value.
    ReplacedExpired(&'a mut Entry, Value),
}

/// Result of removing expired keys from part of a shard.
#[derive(Default, Debug)]
pub struct ExpireStep {
    /// Keys with a TTL that were examined.
    pub checked: usize,
    /// The removed entries, to be dropped (and propagated as DEL) outside the lock.
    pub expired: Vec<Entry>,
    /// Whether the cursor went round the whole shard in this step.
    pub wrapped: bool,
}

/// The hash of the entry in slot `i` (for hashbrown's rehashing and segment splits).
#[inline]
fn slot_hash(slab: &Slab, hasher: &KeyHasher, i: u32) -> u64 {
    hasher.hash(slab.get(i).key())
}

impl Shard {
    /// An empty shard.
    pub fn new() -> Self {
        Shard {
            dir: vec![0],
            segs: vec![Segment::default()],
            slab: Slab::new(),
            depth: 0,
            len: 0,
            volatile: 0,
            expire_cursor: 0,
        }
    }

    /// Number of keys (expired ones not yet removed included).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the shard holds no keys.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of keys with a TTL.
    pub fn volatile(&self) -> usize {
        self.volatile
    }

    #[inline]
    fn slot(&self, hash: u64) -> usize {
        if self.depth == 0 {
            0
        } else {
            ((hash << SHARD_BITS) >> (64 - self.depth)) as usize
        }
    }

    #[inline]
    fn seg_index(&self, hash: u64) -> usize {
        self.dir.get(self.slot(hash)).copied().unwrap_or(0) as usize
    }

    /// The slab slot of `key`, expired or not.
    #[inline]
    fn find(&self, hash: u64, key: &[u8]) -> Option<u32> {
        let seg = self.segs.get(self.seg_index(hash))?;
        let slab = &self.slab;
        seg.table
            .find(table_hash(hash), |&i| slab.get(i).key() == key)
            .copied()
    }

    /// The entry for `key`, expired or not.
    #[inline]
    pub fn get(&self, hash: u64, key: &[u8]) -> Option<&Entry> {
        let i = self.find(hash, key)?;
        Some(self.slab.get(i))
    }

    /// The entry for `key`, mutable, expired or not.
    #[inline]
    pub fn get_mut(&mut self, hash: u64, key: &[u8]) -> Option<&mut Entry> {
        let i = self.find(hash, key)?;
        Some(self.slab.get_mut(i))
    }

    /// Finds `key` with one probe, removing it instead if its TTL has passed at `now_ms`.
    #[inline]
    pub fn lookup(&mut self, hash: u64, key: &[u8], now_ms: u64) -> Lookup<'_> {
        let i = self.seg_index(hash);
        let Shard { segs, slab, .. } = self;
        let Some(seg) = segs.get_mut(i) else {
            return Lookup::Missing;
        };
        let Ok(found) = seg
            .table
            .find_entry(table_hash(hash), |&i| slab.get(i).key() == key)
        else {
            return Lookup::Missing;
        };
        let slot = *found.get();
        if slab.get(slot).is_expired(now_ms) {
            found.remove();
            seg.volatile -= 1;
            self.volatile -= 1;
            self.len -= 1;
            Lookup::Expired(slab.free(slot))
        } else {
            Lookup::Live(slab.get_mut(slot))
        }
    }

    /// Removes `key`, returning its entry.
    pub fn remove(&mut self, hash: u64, key: &[u8]) -> Option<Entry> {
        let i = self.seg_index(hash);
        let Shard { segs, slab, .. } = self;
        let seg = segs.get_mut(i)?;
        let found = seg
            .table
            .find_entry(table_hash(hash), |&i| slab.get(i).key() == key)
            .ok()?;
        let (slot, _) = found.remove();
        let entry = slab.free(slot);
        self.len -= 1;
        if entry.has_expire() {
            seg.volatile -= 1;
            self.volatile -= 1;
        }
        Some(entry)
    }

    /// The index of the segment a new entry with `hash` goes into, splitting that segment first
    /// if it is full. Always a valid index into `segs`.
    fn seg_for_insert(&mut self, hasher: &KeyHasher, hash: u64) -> usize {
        let i = self.seg_index(hash);
        if self
            .segs
            .get(i)
            .is_some_and(|s| s.table.len() >= SEGMENT_MAX)
        {
            self.split(hasher, hash);
        }
        let i = self.seg_index(hash);
        if i < self.segs.len() {
            return i;
        }
        // Unreachable: the directory only holds valid segment indices. Recover rather than panic.
        self.segs.push(Segment::default());
        self.segs.len() - 1
    }

    /// Inserts a key known to be absent.
    pub fn insert_new(&mut self, hasher: &KeyHasher, hash: u64, entry: Entry) -> &mut Entry {
        let i = self.seg_for_insert(hasher, hash);
        self.len += 1;
        let has_expire = entry.has_expire();
        if has_expire {
            self.volatile += 1;
        }
        let slot = self.slab.alloc(entry);
        let Shard { segs, slab, .. } = self;
        let seg = &mut segs[i];
        if has_expire {
            seg.volatile += 1;
        }
        seg.table.insert_unique(table_hash(hash), slot, |&j| {
            table_hash(slot_hash(slab, hasher, j))
        });
        self.slab.get_mut(slot)
    }

    /// Stores `value` under `key` with expiry `expire_at` (0: none) in one probe, replacing
    /// whatever was there. Says what was replaced.
    #[allow(clippy::too_many_arguments)]
    pub fn upsert(
        &mut self,
        hasher: &KeyHasher,
        hash: u64,
        key: &[u8],
        value: Value,
        expire_at: u64,
        lru: u32,
        now_ms: u64,
    ) -> Upsert {
        let i = self.seg_for_insert(hasher, hash);
        let Shard { segs, slab, .. } = self;
        let seg = &mut segs[i];
        match seg.table.entry(
            table_hash(hash),
            |&j| slab.get(j).key() == key,
            |&j| table_hash(slot_hash(slab, hasher, j)),
        ) {
            hashbrown::hash_table::Entry::Occupied(found) => {
                let e = slab.get_mut(*found.get());
                let expired = e.is_expired(now_ms);
                count_ttl_change(
                    &mut seg.volatile,
                    &mut self.volatile,
                    e.has_expire(),
                    expire_at != 0,
                );
                let old = std::mem::replace(&mut e.value, value);
                e.set_expire_at(expire_at);
                e.set_lru(lru);
                if expired {
                    Upsert::ReplacedExpired(old)
                } else {
                    Upsert::Replaced(old)
                }
            }
            hashbrown::hash_table::Entry::Vacant(vacant) => {
                if expire_at != 0 {
                    seg.volatile += 1;
                    self.volatile += 1;
                }
                self.len += 1;
                vacant.insert(slab.alloc(Entry::new(key, value, expire_at, lru)));
                Upsert::New
            }
        }
    }

    /// The live entry for `key`, or a new one holding `make()` (with expiry `expire_at`), in one
    /// probe: read-modify-write commands that create missing keys (INCR, HSET, LPUSH...).
    #[allow(clippy::too_many_arguments)]
    pub fn get_or_insert(
        &mut self,
        hasher: &KeyHasher,
        hash: u64,
        key: &[u8],
        now_ms: u64,
        lru: u32,
        expire_at: u64,
        make: impl FnOnce() -> Value,
    ) -> GetOrInsert<'_> {
        let i = self.seg_for_insert(hasher, hash);
        let Shard { segs, slab, .. } = self;
        let seg = &mut segs[i];
        match seg.table.entry(
            table_hash(hash),
            |&j| slab.get(j).key() == key,
            |&j| table_hash(slot_hash(slab, hasher, j)),
        ) {
            hashbrown::hash_table::Entry::Occupied(found) => {
                let e = slab.get_mut(*found.get());
                if !e.is_expired(now_ms) {
                    return GetOrInsert::Found(e);
                }
                count_ttl_change(&mut seg.volatile, &mut self.volatile, true, expire_at != 0);
                let old = std::mem::replace(&mut e.value, make());
                e.set_expire_at(expire_at);
                e.set_lru(lru);
                GetOrInsert::ReplacedExpired(e, old)
            }
            hashbrown::hash_table::Entry::Vacant(vacant) => {
                if expire_at != 0 {
                    seg.volatile += 1;
                    self.volatile += 1;
                }
                self.len += 1;
                let slot = slab.alloc(Entry::new(key, make(), expire_at, lru));
                vacant.insert(slot);
                GetOrInsert::Inserted(slab.get_mut(slot))
            }
        }
    }

    /// Sets or clears the TTL of an entry found by `key`, keeping the volatile counts right.
    /// Returns false if the key is absent.
    pub fn set_expire(&mut self, hash: u64, key: &[u8], expire_at: u64) -> bool {
        let i = self.seg_index(hash);
        let Some(slot) = self.find(hash, key) else {
            return false;
        };
        let Shard { segs, slab, .. } = self;
        let e = slab.get_mut(slot);
        if let Some(seg) = segs.get_mut(i) {
            count_ttl_change(
                &mut seg.volatile,
                &mut self.volatile,
                e.has_expire(),
                expire_at != 0,
            );
        }
        e.set_expire_at(expire_at);
        true
    }

    /// Splits the segment holding `hash` in two by the next hash bit.
    fn split(&mut self, hasher: &KeyHasher, hash: u64) {
        let i = self.seg_index(hash);
        let d = match self.segs.get(i) {
            Some(s) => s.depth,
            None => return,
        };
        if d >= MAX_DEPTH {
            return;
        }
        if d == self.depth {
            // Double the directory: each slot becomes two adjacent slots.
            let mut dir = Vec::with_capacity(self.dir.len() * 2);
            for &s in &self.dir {
                dir.push(s);
                dir.push(s);
            }
            self.dir = dir;
            self.depth += 1;
        }
        let slot = self.slot(hash);
        let span = 1usize << (self.depth - d);
        let start = slot & !(span - 1);
        let new_index = self.segs.len() as u32;
        let bit_shift = 63 - SHARD_BITS - d;
        let Shard { segs, slab, .. } = self;
        let old = &mut segs[i];
        old.depth = d + 1;
        let mut moved = HashTable::with_capacity(old.table.len() / 2 + 16);
        let mut moved_volatile = 0;
        for j in old
            .table
            .extract_if(|&mut j| (slot_hash(slab, hasher, j) >> bit_shift) & 1 == 1)
        {
            if slab.get(j).has_expire() {
                moved_volatile += 1;
            }
            let h = slot_hash(slab, hasher, j);
            moved.insert_unique(table_hash(h), j, |&x| {
                table_hash(slot_hash(slab, hasher, x))
            });
        }
        old.volatile -= moved_volatile;
        // The old half keeps its buckets: shrinking would rehash its ~900 entries only for the
        // next inserts to grow and rehash them again.
        segs.push(Segment {
            depth: d + 1,
            table: moved,
            volatile: moved_volatile,
        });
        for s in &mut self.dir[start + span / 2..start + span] {
            *s = new_index;
        }
    }

    /// Every entry (expired ones included), in storage order.
    fn entries(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.segs
            .iter()
            .flat_map(move |seg| seg.table.iter().map(move |&i| self.slab.get(i)))
    }

    /// Calls `f` on every entry (expired ones included).
    pub fn for_each(&self, mut f: impl FnMut(&Entry)) {
        for e in self.entries() {
            f(e);
        }
    }

    /// Removes every entry, returning the old contents to be dropped by the caller (possibly on
    /// another thread).
    pub fn take(&mut self) -> Shard {
        std::mem::take(self)
    }

    /// Heap bytes used by the tables and the entry slab (not counting what keys and values
    /// own).
    pub fn table_bytes(&self) -> usize {
        self.segs
            .iter()
            .map(|s| s.table.allocation_size())
            .sum::<usize>()
            + self.dir.capacity() * 4
            + self.segs.capacity() * std::mem::size_of::<Segment>()
            + self.slab.bytes()
    }

    /// Visits segments from the expiry cursor, removing expired entries, until `budget` entries
    /// with a TTL were examined or the shard was covered once.
    pub fn expire_step(&mut self, now_ms: u64, budget: usize) -> ExpireStep {
        let mut step = ExpireStep::default();
        if self.volatile == 0 {
            step.wrapped = true;
            return step;
        }
        let n = self.segs.len();
        let mut slots = Vec::new();
        for _ in 0..n {
            if self.expire_cursor >= n {
                self.expire_cursor = 0;
                step.wrapped = true;
            }
            let Shard { segs, slab, .. } = self;
            let seg = &mut segs[self.expire_cursor];
            self.expire_cursor += 1;
            if seg.volatile == 0 {
                continue;
            }
            step.checked += seg.volatile as usize;
            slots.clear();
            slots.extend(
                seg.table
                    .extract_if(|&mut j| slab.get(j).is_expired(now_ms)),
            );
            seg.volatile -= slots.len() as u32;
            self.volatile -= slots.len();
            self.len -= slots.len();
            for &j in &slots {
                step.expired.push(slab.free(j));
            }
            if step.checked >= budget {
                break;
            }
        }
        step
    }

    /// Collects up to `count` entries (ties of equal hash kept together) whose hash is at least
    /// `cursor`, in hash order, passing each to `f`. Returns the cursor to resume from, or `None`
    /// when the shard's hash range is exhausted.
    pub fn scan(
        &self,
        hasher: &KeyHasher,
        shard: usize,
        mut cursor: u64,
        count: usize,
        mut f: impl FnMut(&Entry),
    ) -> Option<u64> {
        let mut seen = 0usize;
        let count = count.max(1);
        loop {
            if shard_of(cursor) != shard {
                return None;
            }
            let seg = self.segs.get(self.seg_index(cursor))?;
            let mut found: Vec<(u64, &Entry)> = seg
                .table
                .iter()
                .map(|&j| {
                    let e = self.slab.get(j);
                    (hasher.hash(e.key()), e)
                })
                .filter(|(h, _)| *h >= cursor)
                .collect();
            found.sort_unstable_by_key(|(h, _)| *h);
            let mut i = 0;
            while i < found.len() {
                if i > 0 && seen >= count && found[i].0 != found[i - 1].0 {
                    return Some(found[i].0);
                }
                f(found[i].1);
                seen += 1;
                i += 1;
            }
            // Next segment: the first hash past this segment's range.
            let prefix_bits = SHARD_BITS + seg.depth;
            let next = ((cursor as u128 >> (64 - prefix_bits)) + 1) << (64 - prefix_bits);
            if next > u64::MAX as u128 {
                return None;
            }
            cursor = next as u64;
            if seen >= count {
                return if shard_of(cursor) == shard {
                    Some(cursor)
                } else {
                    None
                };
            }
        }
    }

    /// Passes up to `n` entries to `f` (only keys with a TTL if `volatile_only`), starting at a
    /// position picked by the random number `r`: eviction's sampling. Consecutive entries of a
    /// hash table are unrelated keys, so a run of them is as good a sample as scattered ones.
    pub fn sample(&self, r: u64, n: usize, volatile_only: bool, mut f: impl FnMut(&Entry)) {
        if n == 0 || self.len == 0 || (volatile_only && self.volatile == 0) {
            return;
        }
        let segs = self.segs.len();
        let mut si = (r as usize) % segs;
        let mut got = 0;
        for _ in 0..segs {
            let seg = &self.segs[si];
            si = (si + 1) % segs;
            let candidates = if volatile_only {
                seg.volatile as usize
            } else {
                seg.table.len()
            };
            if candidates == 0 {
                continue;
            }
            let skip = ((r >> 32) as usize) % seg.table.len();
            for &j in seg
                .table
                .iter()
                .skip(skip)
                .chain(seg.table.iter().take(skip))
            {
                let e = self.slab.get(j);
                if volatile_only && !e.has_expire() {
                    continue;
                }
                f(e);
                got += 1;
                if got >= n {
                    return;
                }
            }
        }
    }

    /// The entry at position `n` (0-based, in storage order), for RANDOMKEY and sampling.
    pub fn nth(&self, mut n: usize) -> Option<&Entry> {
        for seg in &self.segs {
            if n < seg.table.len() {
                return seg.table.iter().nth(n).map(|&j| self.slab.get(j));
            }
            n -= seg.table.len();
        }
        None
    }
}

/// One database: its shards.
pub struct Db {
    shards: Box<[Mutex<Shard>]>,
}

impl Db {
    fn new() -> Self {
        Db {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::new())).collect(),
        }
    }

    /// The shard lock for index `i` (`i < SHARDS`).
    #[inline]
    pub fn shard(&self, i: usize) -> &Mutex<Shard> {
        &self.shards[i & (SHARDS - 1)]
    }

    /// All shard locks, in ascending order.
    pub fn shards(&self) -> &[Mutex<Shard>] {
        &self.shards
    }

    /// Number of keys (briefly locking each shard in turn).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }

    /// Whether the database is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of keys with a TTL.
    pub fn volatile(&self) -> usize {
        self.shards.iter().map(|s| s.lock().volatile()).sum()
    }
}

/// All databases and the hasher that places keys in them.
pub struct Keyspace {
    dbs: Box<[Db]>,
    /// The key hasher shared by every shard.
    pub hasher: KeyHasher,
    /// Blocked-client registrations per `(db, shard)` (see `crate::blocking`): changed under
    /// the shard's lock when a client blocks, read under it when a key is created.
    waiters: Box<[AtomicU32]>,
    /// Keys WATCHed by clients (MULTI/EXEC); every write through `DbView` touches it.
    pub watches: crate::multi::Watches,
}

impl Keyspace {
    /// `databases` empty databases.
    pub fn new(databases: usize) -> Self {
        Keyspace {
            dbs: (0..databases.max(1)).map(|_| Db::new()).collect(),
            hasher: KeyHasher::new(),
            waiters: (0..databases.max(1) * SHARDS)
                .map(|_| AtomicU32::new(0))
                .collect(),
            watches: crate::multi::Watches::new(),
        }
    }

    /// How many blocked-client registrations there are on keys of shard `shard` of `db`.
    #[inline]
    pub fn waiters(&self, db: usize, shard: usize) -> &AtomicU32 {
        let i = db * SHARDS + (shard & (SHARDS - 1));
        &self.waiters[i.min(self.waiters.len() - 1)]
    }

    /// Database `i`, if it exists.
    #[inline]
    pub fn db(&self, i: usize) -> Option<&Db> {
        self.dbs.get(i)
    }

    /// Number of databases.
    pub fn len(&self) -> usize {
        self.dbs.len()
    }

    /// Whether there are no databases (never: there is always at least one).
    pub fn is_empty(&self) -> bool {
        self.dbs.is_empty()
    }

    /// All databases.
    pub fn dbs(&self) -> &[Db] {
        &self.dbs
    }
}

/// Builds a new entry with the access clock set to `lru`.
pub fn new_entry(key: &[u8], value: Value, expire_at: u64, lru: u32) -> Entry {
    Entry::new(key, value, expire_at, lru)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(k: &[u8]) -> Entry {
        new_entry(k, Value::string(b"v"), 0, 0)
    }

    #[test]
    fn insert_get_remove_many() {
        let h = KeyHasher::new();
        let mut shards: Vec<Shard> = (0..SHARDS).map(|_| Shard::new()).collect();
        for i in 0..50_000u32 {
            let k = format!("key:{i}");
            let hash = h.hash(k.as_bytes());
            shards[shard_of(hash)].insert_new(&h, hash, entry(k.as_bytes()));
        }
        for i in 0..50_000u32 {
            let k = format!("key:{i}");
            let hash = h.hash(k.as_bytes());
            assert!(
                shards[shard_of(hash)].get(hash, k.as_bytes()).is_some(),
                "{k}"
            );
        }
        let total: usize = shards.iter().map(|s| s.len()).sum();
        assert_eq!(total, 50_000);
        for i in 0..25_000u32 {
            let k = format!("key:{i}");
            let hash = h.hash(k.as_bytes());
            assert!(shards[shard_of(hash)].remove(hash, k.as_bytes()).is_some());
        }
        let total: usize = shards.iter().map(|s| s.len()).sum();
        assert_eq!(total, 25_000);
    }

    #[test]
    fn scan_visits_each_key_once_across_splits() {
        let h = KeyHasher::new();
        let mut shard = Shard::new();
        let target = 7usize;
        let mut keys = Vec::new();
        let mut i = 0u64;
        while keys.len() < 3000 {
            let k = format!("k{i}");
            i += 1;
            let hash = h.hash(k.as_bytes());
            if shard_of(hash) == target {
                keys.push(k);
            }
        }
        for k in &keys[..1000] {
            shard.insert_new(&h, h.hash(k.as_bytes()), entry(k.as_bytes()));
        }
        let mut seen = std::collections::HashMap::new();
        let mut cursor = (target as u64) << (64 - SHARD_BITS);
        let mut added = 1000;
        loop {
            let next = shard.scan(&h, target, cursor, 10, |e| {
                *seen.entry(e.key().to_vec()).or_insert(0) += 1;
            });
            // Grow the shard while scanning so segments split under the cursor.
            for k in keys.iter().skip(added).take(20) {
                shard.insert_new(&h, h.hash(k.as_bytes()), entry(k.as_bytes()));
            }
            added = (added + 20).min(keys.len());
            match next {
                Some(c) => {
                    assert!(c > cursor);
                    cursor = c;
                }
                None => break,
            }
        }
        for k in &keys[..1000] {
            assert_eq!(seen.get(k.as_bytes()), Some(&1), "{k}");
        }
        assert!(seen.values().all(|&n| n == 1));
        assert!(shard.segs.len() > 1);
    }

    #[test]
    fn expire_step_removes_expired() {
        let h = KeyHasher::new();
        let mut shard = Shard::new();
        for i in 0..5000u32 {
            let k = format!("e{i}");
            let exp = if i % 2 == 0 { 100 } else { 0 };
            shard.insert_new(
                &h,
                h.hash(k.as_bytes()),
                new_entry(k.as_bytes(), Value::Int(1), exp, 0),
            );
        }
        assert_eq!(shard.volatile(), 2500);
        let mut removed = 0;
        loop {
            let s = shard.expire_step(200, 1000);
            removed += s.expired.len();
            if s.wrapped && shard.volatile() == 0 {
                break;
            }
        }
        assert_eq!(removed, 2500);
        assert_eq!(shard.len(), 2500);
    }
}
