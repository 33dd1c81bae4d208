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

/// What of `allocated` (the allocator's count) is in use: less the free entry slots, which
/// the next keys reuse without asking the allocator (used_memory and maxmemory count this).
#[inline]
pub fn in_use(allocated: u64) -> u64 {
    allocated.saturating_sub(slab_free_bytes())
}

/// Bytes of free entry slots in every shard's slab (see [`SLAB_FREE`]).
pub fn slab_free_bytes() -> u64 {
    SLAB_FREE
        .iter()
        .map(|s| s.0.load(Ordering::Relaxed))
        .sum::<i64>()
        .max(0) as u64
}

/// A shard's entries: fixed chunks of [`CHUNK`] entries, addressed by a `u32` slot number
/// (`chunk * CHUNK + offset`). Segments' hash tables hold slot numbers (4 bytes per bucket
/// instead of an 8-byte pointer to a boxed entry), and a key costs no allocation of its own:
/// one 48-byte slot.
///
/// Each chunk threads a free list through its vacant slots, and new entries go to the lowest
/// chunk with room, so live entries gather in the low chunks and deletions empty the high
/// ones. [`Shard::compact_step`] moves the last chunk's entries down and frees the chunk once
/// enough of the slab is free, so memory goes back after mass deletions (as an allocator would
/// give back its pages).
struct Slab {
    chunks: Vec<Box<[Entry]>>,
    /// Per chunk: its first free slot's offset, or [`NO_OFFSET`].
    heads: Vec<u16>,
    /// Per chunk: how many slots are free.
    counts: Vec<u16>,
    /// Per chunk: which slots hold an entry (bit `off` of word `off / 64`).
    used: Vec<[u64; USED_WORDS]>,
    /// Bit `c` set when chunk `c` has a free slot.
    has_free: Vec<u64>,
    /// No word of `has_free` below this one has a bit set (where `alloc` starts looking).
    first_word: usize,
    /// Free slots in all chunks.
    free_count: usize,
}

/// End of a chunk's free list.
const NO_OFFSET: u16 = u16::MAX;
/// Words of a chunk's occupancy bitmap.
const USED_WORDS: usize = CHUNK.div_ceil(64);

impl Default for Slab {
    fn default() -> Self {
        Slab::new()
    }
}

impl Slab {
    fn new() -> Self {
        Slab {
            chunks: Vec::new(),
            heads: Vec::new(),
            counts: Vec::new(),
            used: Vec::new(),
            has_free: Vec::new(),
            first_word: 0,
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

    fn set_has_free(&mut self, c: usize, on: bool) {
        let (w, b) = (c / 64, c % 64);
        if w >= self.has_free.len() {
            self.has_free.resize(w + 1, 0);
        }
        if on {
            self.has_free[w] |= 1 << b;
            self.first_word = self.first_word.min(w);
        } else {
            self.has_free[w] &= !(1 << b);
        }
    }

    /// The lowest chunk with a free slot.
    fn lowest_with_room(&mut self) -> Option<usize> {
        let start = self.first_word.min(self.has_free.len());
        let (i, w) = self.has_free[start..]
            .iter()
            .enumerate()
            .find(|(_, &w)| w != 0)
            .map(|(i, &w)| (start + i, w))?;
        self.first_word = i;
        Some(i * 64 + w.trailing_zeros() as usize)
    }

    /// Adds a chunk of vacant slots.
    fn grow(&mut self) {
        let chunk: Box<[Entry]> = (0..CHUNK)
            .map(|j| {
                let next = if j + 1 < CHUNK {
                    j as u32 + 1
                } else {
                    NO_OFFSET as u32
                };
                Entry::vacant(next)
            })
            .collect();
        self.chunks.push(chunk);
        self.heads.push(0);
        self.counts.push(CHUNK as u16);
        self.used.push([0; USED_WORDS]);
        self.set_has_free(self.chunks.len() - 1, true);
        self.free_count += CHUNK;
        count_slab_free(CHUNK as i64);
    }

    /// Stores `e` in the lowest chunk with room (adding a chunk if there is none) and returns
    /// its slot number.
    fn alloc(&mut self, e: Entry) -> u32 {
        let c = match self.lowest_with_room() {
            Some(c) => c,
            None => {
                self.grow();
                self.chunks.len() - 1
            }
        };
        let off = self.heads[c] as usize;
        let slot = &mut self.chunks[c][off];
        self.heads[c] = slot.vacant_next() as u16;
        *slot = e;
        self.used[c][off / 64] |= 1 << (off % 64);
        self.counts[c] -= 1;
        if self.counts[c] == 0 {
            self.set_has_free(c, false);
        }
        self.free_count -= 1;
        count_slab_free(-1);
        (c * CHUNK + off) as u32
    }

    /// Takes the entry out of slot `i`, which becomes free.
    fn free(&mut self, i: u32) -> Entry {
        let (c, off) = (i as usize / CHUNK, i as usize % CHUNK);
        let next = self.heads[c] as u32;
        let e = std::mem::replace(&mut self.chunks[c][off], Entry::vacant(next));
        self.heads[c] = off as u16;
        self.used[c][off / 64] &= !(1 << (off % 64));
        self.counts[c] += 1;
        self.set_has_free(c, true);
        self.free_count += 1;
        count_slab_free(1);
        e
    }

    /// Frees the last chunk if every slot of it is vacant.
    fn pop_empty_chunk(&mut self) -> bool {
        let Some(&n) = self.counts.last() else {
            return false;
        };
        if n as usize != CHUNK {
            return false;
        }
        let c = self.chunks.len() - 1;
        self.chunks.pop();
        self.heads.pop();
        self.counts.pop();
        self.used.pop();
        self.set_has_free(c, false);
        self.has_free.truncate(c.div_ceil(64));
        self.free_count -= CHUNK;
        count_slab_free(-(CHUNK as i64));
        true
    }

    fn bytes(&self) -> usize {
        self.chunks.len() * CHUNK * ENTRY_BYTES
            + self.chunks.capacity() * 16
            + self.heads.capacity() * 4
            + self.used.capacity() * USED_WORDS * 8
            + self.has_free.capacity() * 8
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

/// Gives a found entry a new value, expiry and access clock, keeping the TTL counts of its
/// segment and shard right; returns the old value.
fn overwrite(
    e: &mut Entry,
    seg: &mut Segment,
    shard_volatile: &mut usize,
    value: Value,
    expire_at: u64,
    lru: u32,
) -> Value {
    count_ttl_change(
        &mut seg.volatile,
        shard_volatile,
        e.has_expire(),
        expire_at != 0,
    );
    e.set_expire_at(expire_at);
    e.set_lru(lru);
    std::mem::replace(&mut e.value, value)
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

    /// Warms the cache for a lookup of `hash` that comes soon (a pipelined command further on):
    /// brings in the entries whose tag matches; with `deep`, once they are in (an earlier call
    /// without it), also their keys' and values' heap bytes. Only probes: compares no key.
    #[inline]
    pub fn prefetch(&self, hash: u64, deep: bool) {
        let Some(seg) = self.segs.get(self.seg_index(hash)) else {
            return;
        };
        let slab = &self.slab;
        let _ = seg.table.find(table_hash(hash), |&i| {
            let e = slab.get(i);
            if deep {
                e.prefetch_heap();
            } else {
                crate::util::prefetch(e as *const Entry);
            }
            false
        });
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
                let old = overwrite(e, seg, &mut self.volatile, value, expire_at, lru);
                if expired {
                    Upsert::ReplacedExpired(old)
                } else {
                    Upsert::Replaced(old)
                }
            }
            hashbrown::hash_table::Entry::Vacant(vacant) => {
                count_ttl_change(&mut seg.volatile, &mut self.volatile, false, expire_at != 0);
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
                let old = overwrite(e, seg, &mut self.volatile, make(), expire_at, lru);
                GetOrInsert::ReplacedExpired(e, old)
            }
            hashbrown::hash_table::Entry::Vacant(vacant) => {
                count_ttl_change(&mut seg.volatile, &mut self.volatile, false, expire_at != 0);
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

    /// Gives memory back after deletions: when over a quarter of the slab (and more than two
    /// chunks) is free, moves the entries of the last chunk into free slots of lower chunks,
    /// repointing their table buckets, and frees the chunk. At most one chunk (341 entries)
    /// per call, so the shard's lock is held briefly; the cron calls it for every shard.
    /// Returns whether a chunk was freed.
    pub fn compact_step(&mut self, hasher: &KeyHasher) -> bool {
        let slab = &self.slab;
        let total = slab.chunks.len() * CHUNK;
        let Some(&last_free) = slab.counts.last() else {
            return false;
        };
        let to_move = CHUNK - last_free as usize;
        let room_below = slab.free_count - last_free as usize;
        if slab.free_count * 4 < total || slab.free_count < 2 * CHUNK || room_below < to_move {
            return self.slab.pop_empty_chunk();
        }
        let last = slab.chunks.len() - 1;
        // Keep the last chunk from receiving its own entries while it is emptied.
        self.slab.set_has_free(last, false);
        for off in 0..CHUNK {
            let from = (last * CHUNK + off) as u32;
            if self.slab.used[last][off / 64] & (1 << (off % 64)) == 0 {
                continue;
            }
            let h = hasher.hash(self.slab.get(from).key());
            let e = self.slab.free(from);
            // `free` marked the last chunk as having room again: keep it out of `alloc`.
            self.slab.set_has_free(last, false);
            let to = self.slab.alloc(e);
            let i = self.seg_index(h);
            if let Some(slot) = self
                .segs
                .get_mut(i)
                .and_then(|s| s.table.find_mut(table_hash(h), |&x| x == from))
            {
                *slot = to;
            }
        }
        self.slab.set_has_free(last, true);
        self.slab.pop_empty_chunk()
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

    /// Warms the cache for a lookup of `key` in `db` that comes soon (see
    /// [`Shard::prefetch`]). Never waits: a shard locked by someone else is skipped.
    #[inline]
    pub fn prefetch(&self, db: usize, key: &[u8], deep: bool) {
        let hash = self.hasher.hash(key);
        if let Some(shard) = self.dbs.get(db).and_then(|d| d.shards.get(shard_of(hash))) {
            if let Some(shard) = shard.try_lock() {
                shard.prefetch(hash, deep);
            }
        }
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
    fn prefetch_changes_nothing() {
        let ks = Keyspace::new(2);
        let long = vec![b'x'; 100];
        for k in [&b"short"[..], &long[..]] {
            let h = ks.hasher.hash(k);
            let mut shard = ks.db(0).unwrap().shard(shard_of(h)).lock();
            shard.insert_new(&ks.hasher, h, new_entry(k, Value::string(&long), 0, 0));
        }
        for k in [&b"short"[..], &long[..], b"absent", b""] {
            for deep in [false, true] {
                ks.prefetch(0, k, deep);
                ks.prefetch(1, k, deep);
                ks.prefetch(99, k, deep);
            }
        }
        assert_eq!(ks.db(0).unwrap().len(), 2);
        let h = ks.hasher.hash(&long);
        let shard = ks.db(0).unwrap().shard(shard_of(h)).lock();
        assert_eq!(
            shard.get(h, &long).map(|e| e.value.clone()),
            Some(Value::string(&long))
        );
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

    #[test]
    fn compaction_gives_chunks_back_and_keeps_every_key() {
        let h = KeyHasher::new();
        let mut shard = Shard::new();
        let n = 20 * CHUNK as u32;
        let key = |i: u32| format!("key:{i}").into_bytes();
        for i in 0..n {
            let k = key(i);
            let exp = if i % 3 == 0 { 1_000_000 + i as u64 } else { 0 };
            shard.insert_new(&h, h.hash(&k), new_entry(&k, Value::Int(i as i64), exp, i));
        }
        let chunks = shard.slab.chunks.len();
        // Delete most keys, scattered over every chunk.
        for i in (0..n).filter(|i| i % 10 != 0) {
            let k = key(i);
            assert!(shard.remove(h.hash(&k), &k).is_some());
        }
        let volatile = shard.volatile();
        while shard.compact_step(&h) {}
        assert!(
            shard.slab.chunks.len() <= chunks / 4,
            "{} chunks",
            shard.slab.chunks.len()
        );
        assert_eq!(shard.len(), (n / 10) as usize);
        assert_eq!(shard.volatile(), volatile);
        for i in (0..n).filter(|i| i % 10 == 0) {
            let k = key(i);
            let e = shard.get(h.hash(&k), &k).expect("kept");
            assert!(matches!(e.value, Value::Int(v) if v == i as i64));
            assert_eq!(e.lru(), i);
            assert_eq!(
                e.expire_at(),
                if i % 3 == 0 { 1_000_000 + i as u64 } else { 0 }
            );
        }
        let free: usize = shard.slab.counts.iter().map(|&c| c as usize).sum();
        assert_eq!(free, shard.slab.free_count);
        assert_eq!(shard.slab.chunks.len() * CHUNK - free, shard.len());
        // The shard keeps working: new keys, removals, scans.
        for i in n..n + 3 * CHUNK as u32 {
            let k = key(i);
            shard.insert_new(&h, h.hash(&k), new_entry(&k, Value::Int(i as i64), 0, 0));
        }
        let mut seen = 0;
        shard.for_each(|_| seen += 1);
        assert_eq!(seen, shard.len());
    }

    #[test]
    fn slab_against_a_model_with_compaction() {
        use rand::{Rng, SeedableRng};
        let h = KeyHasher::new();
        let mut shard = Shard::new();
        let mut model = std::collections::HashMap::new();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for round in 0..40_000u32 {
            let k = format!("k{}", rng.gen_range(0..3000u32)).into_bytes();
            let hash = h.hash(&k);
            if rng.gen_bool(0.55) {
                let up = shard.upsert(&h, hash, &k, Value::Int(round as i64), 0, 0, 0);
                assert_eq!(matches!(up, Upsert::New), model.insert(k, round).is_none());
            } else {
                assert_eq!(shard.remove(hash, &k).is_some(), model.remove(&k).is_some());
            }
            if round % 500 == 0 {
                while shard.compact_step(&h) {}
            }
        }
        assert_eq!(shard.len(), model.len());
        for (k, v) in &model {
            let e = shard.get(h.hash(k), k).expect("present");
            assert!(matches!(e.value, Value::Int(x) if x == *v as i64));
        }
    }
}
