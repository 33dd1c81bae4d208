//! [`BigZSet`]: a sorted set past the listpack limits (OBJECT ENCODING `skiplist`), as Redis's
//! `zset`: a skip list ordered by `(score, member bytes)` with spans (so ranks cost O(log N)), and
//! a member -> node map for O(1) score lookups.
//!
//! # Layout
//! - Nodes live in an arena of chunks of 8192 ([`Arena`]) and link to each other by `u32` node
//!   numbers (chunk in the high bits, slot in the low 13: finding a node is two shifts, no
//!   branch); node 0 is the header (it owns the top of every level) and also stands for "none"
//!   in links, since no node links to the header. The first chunk starts at 8 nodes (the
//!   header and 7 members) and doubles as it fills, moving at most 4096 nodes once; later
//!   chunks are allocated whole and never move, so growing never copies much (no latency spike
//!   at a million members). Freed nodes go on a free list and are reused; chunks are not given
//!   back until the set is dropped.
//! - A node is one 64-byte, 64-aligned cache line: its score, its level-0 forward and backward
//!   links, the links (with spans) of levels 1 and 2, a pointer to the links of levels 3 and
//!   up (boxed, for the 1 node in 64 that has them), and its member (inline up to 22 bytes).
//!   A search step reads the next node's score and member, then, once there, that node's
//!   links: one line per step (levels in a separate allocation cost two misses a step). The
//!   boxed high levels belong to few nodes, which every search goes through and which therefore
//!   stay in cache. Level-0 spans are always 1 and are not stored.
//! - The map is a [`SegTable`] of node numbers: the member bytes are stored once, in the node,
//!   and the map hashes and compares them through the arena.
//!
//! Per member: 64 bytes of node, about 8 bytes of map, about 4 bytes of high levels on average,
//! plus the member itself when longer than 22 bytes (Redis 7.0: about 112 bytes in all for
//! members of about 12 bytes).
//!
//! The algorithms are Redis's (`t_zset.c`): insertion and deletion with an `update` path per
//! level, scores updated in place when the order is kept, rank searches, first/last node of a
//! score or lex range, and range deletions in O(log N + M).

use std::cmp::Ordering;

use rand::Rng;

use crate::segtable::{member_hash, SegTable};
use crate::small::{SmallBytes, INLINE_CAP};

/// Levels a node may have (Redis's `ZSKIPLIST_MAXLEVEL`).
pub const MAX_LEVEL: usize = 32;
/// The header's number, which also means "no node".
const NIL: u32 = 0;
/// Nodes the first chunk starts with (the header and 7 members); it doubles as it fills, up to
/// [`CHUNK_MAX`].
const CHUNK_FIRST: usize = 8;
/// log2 of [`CHUNK_MAX`].
const CHUNK_SHIFT: u32 = 13;
/// Nodes per chunk: the first one once grown, and every later one.
const CHUNK_MAX: usize = 1 << CHUNK_SHIFT;

/// One higher-level link: the next node at that level and how many level-0 steps it skips.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Link {
    next: u32,
    span: u32,
}

/// Levels above 0 whose links a node holds in place; higher ones are in [`High`].
const INLINE_UP: usize = 2;

/// The links of levels `INLINE_UP + 1..MAX_LEVEL`, boxed for the 1 node in 64 that has any.
#[derive(Clone, Debug)]
struct High([Link; MAX_LEVEL - 1 - INLINE_UP]);

/// A skip list node: one cache line (64 bytes, aligned), so that a search step, which reads
/// the next node's score and member and then that node's links, touches one line.
#[derive(Clone, Debug)]
#[repr(C, align(64))]
struct Node {
    score: f64,
    /// Level-0 forward link (span 1).
    next0: u32,
    /// Level-0 backward link (`NIL` for the first node).
    back: u32,
    /// Levels 1..=INLINE_UP (unused past the node's level).
    up: [Link; INLINE_UP],
    /// Levels past INLINE_UP, for nodes that have them.
    high: Option<Box<High>>,
    member: SmallBytes,
}

impl Default for Node {
    fn default() -> Self {
        Node {
            score: 0.0,
            next0: NIL,
            back: NIL,
            up: [Link::default(); INLINE_UP],
            high: None,
            member: SmallBytes::new(&[]),
        }
    }
}

impl Node {
    /// The link at level `i` >= 1, if the node has one.
    #[inline]
    fn link(&self, i: usize) -> Option<&Link> {
        if i <= INLINE_UP {
            self.up.get(i.wrapping_sub(1))
        } else {
            self.high.as_ref()?.0.get(i - 1 - INLINE_UP)
        }
    }

    #[inline]
    fn link_mut(&mut self, i: usize) -> Option<&mut Link> {
        if i <= INLINE_UP {
            self.up.get_mut(i.wrapping_sub(1))
        } else {
            self.high.as_mut()?.0.get_mut(i - 1 - INLINE_UP)
        }
    }

    /// The next node at level `i`.
    #[inline]
    fn fwd(&self, i: usize) -> u32 {
        if i == 0 {
            self.next0
        } else {
            self.link(i).map_or(NIL, |l| l.next)
        }
    }

    /// The span of the link at level `i`.
    #[inline]
    fn span(&self, i: usize) -> usize {
        if i == 0 {
            1
        } else {
            self.link(i).map_or(0, |l| l.span as usize)
        }
    }

    /// Whether the node sorts before `(score, key)`.
    #[inline]
    fn before(&self, score: f64, key: &Key<'_>) -> bool {
        self.score < score || (self.score == score && key.after(&self.member))
    }

    /// Heap bytes the node owns.
    fn extra(&self) -> usize {
        self.member.heap_size() + self.high.as_ref().map_or(0, |_| HIGH_SIZE)
    }
}

/// A member to search for, with its inline form's comparison words precomputed: where scores
/// tie (sets for lex ranges, redis-benchmark's ZADD without `-r`, which gives every member
/// score 0) a search compares member bytes at every step, and two short members compare in
/// three word comparisons instead of a `memcmp` call.
struct Key<'a> {
    bytes: &'a [u8],
    /// [`inline_words`] and the length, when the member is short enough to be stored inline.
    words: Option<([u64; 3], usize)>,
}

impl<'a> Key<'a> {
    #[inline]
    fn new(bytes: &'a [u8]) -> Self {
        let words = (bytes.len() <= INLINE_CAP).then(|| {
            let mut data = [0u8; INLINE_CAP];
            data[..bytes.len()].copy_from_slice(bytes);
            (inline_words(&data), bytes.len())
        });
        Key { bytes, words }
    }

    /// Whether `m` sorts before this member (byte order, a prefix first).
    #[inline]
    fn after(&self, m: &SmallBytes) -> bool {
        match (m, &self.words) {
            (SmallBytes::Inline { len, data }, Some(k)) => {
                (inline_words(data), usize::from(*len)) < *k
            }
            _ => m.as_slice() < self.bytes,
        }
    }
}

/// The zero-padded inline bytes of a member as three big-endian words (the last overlapping
/// the second by two bytes). Comparing the words, then the lengths, orders members as their
/// bytes: up to the shorter length the words agree with the bytes, and past it the shorter one
/// has zeros, which sort first or tie (a tie the lengths settle).
#[inline]
fn inline_words(d: &[u8; INLINE_CAP]) -> [u64; 3] {
    let word = |at: usize| {
        d.get(at..)
            .and_then(|r| r.first_chunk::<8>())
            .map_or(0, |w| u64::from_be_bytes(*w))
    };
    [word(0), word(8), word(INLINE_CAP - 8)]
}

/// Asks the CPU to start loading node `n`'s line: a search prefetches, at each node it reaches,
/// the next node one level down, where it goes if it stops here, so that the load overlaps the
/// comparison at this level.
#[inline(always)]
fn prefetch(n: &Node) {
    crate::util::prefetch(n as *const Node);
}

/// Bytes of one [`High`].
const HIGH_SIZE: usize = std::mem::size_of::<High>();

/// Where node `i` is: its chunk and its slot in the chunk.
#[inline]
fn locate(i: u32) -> (usize, usize) {
    // Two shifts and no branch: every search step goes through here, and a branch on the node
    // number (as with chunks of growing sizes) mispredicts as often as nodes of the first
    // chunks and of later ones alternate on a path.
    ((i >> CHUNK_SHIFT) as usize, i as usize & (CHUNK_MAX - 1))
}

/// The node arena (see the module docs).
#[derive(Clone, Debug)]
struct Arena {
    chunks: Vec<Box<[Node]>>,
    /// Nodes handed out so far (the next fresh number).
    used: u32,
    /// Head of the free list (linked through `next0`), `NIL` when empty.
    free: u32,
    /// Heap bytes the nodes own besides the chunks (long members, higher levels), kept up to
    /// date so that [`Arena::heap_size`] is O(chunks).
    extra: usize,
}

impl Arena {
    fn new() -> Self {
        let mut a = Arena {
            chunks: Vec::new(),
            used: 0,
            free: NIL,
            extra: 0,
        };
        // The header.
        let h = a.alloc();
        a.set_levels(h, MAX_LEVEL);
        a
    }

    /// Sets node `i`'s member.
    fn set_member(&mut self, i: u32, member: &[u8]) {
        let m = SmallBytes::new(member);
        self.extra += m.heap_size();
        let old = std::mem::replace(&mut self.get_mut(i).member, m);
        self.extra -= old.heap_size();
    }

    /// Gives node `i` `level` levels (all unlinked).
    fn set_levels(&mut self, i: u32, level: usize) {
        let high = (level > 1 + INLINE_UP)
            .then(|| Box::new(High([Link::default(); MAX_LEVEL - 1 - INLINE_UP])));
        if high.is_some() {
            self.extra += HIGH_SIZE;
        }
        let n = self.get_mut(i);
        n.up = [Link::default(); INLINE_UP];
        if std::mem::replace(&mut n.high, high).is_some() {
            self.extra -= HIGH_SIZE;
        }
    }

    #[inline]
    fn get(&self, i: u32) -> &Node {
        let (c, s) = locate(i);
        &self.chunks[c][s]
    }

    #[inline]
    fn get_mut(&mut self, i: u32) -> &mut Node {
        let (c, s) = locate(i);
        &mut self.chunks[c][s]
    }

    /// A fresh node number (its node is default).
    fn alloc(&mut self) -> u32 {
        if self.free != NIL {
            let i = self.free;
            self.free = self.get(i).next0;
            self.get_mut(i).next0 = NIL;
            return i;
        }
        let i = self.used;
        let (c, s) = locate(i);
        if c >= self.chunks.len() {
            let n = if c == 0 { CHUNK_FIRST } else { CHUNK_MAX };
            self.chunks
                .push((0..n).map(|_| Node::default()).collect::<Vec<_>>().into());
        } else if let Some(first) = self.chunks.get_mut(c).filter(|ch| s >= ch.len()) {
            // Only the first chunk is ever short: double it. Nodes are reached by number, so
            // moving them is fine; the copy is at most 4096 nodes (256 KiB), once.
            let mut nodes = std::mem::take(first).into_vec();
            let grown = (nodes.len() * 2).min(CHUNK_MAX);
            nodes.resize_with(grown, Node::default);
            *first = nodes.into_boxed_slice();
        }
        self.used += 1;
        i
    }

    /// Gives node `i` back (its member and levels are freed now).
    fn release(&mut self, i: u32) {
        let free = self.free;
        let old = std::mem::take(self.get_mut(i));
        self.extra -= old.extra();
        let n = self.get_mut(i);
        n.next0 = free;
        self.free = i;
    }

    fn heap_size(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Box<[Node]>>()
            + self.chunks.iter().map(|c| c.len()).sum::<usize>() * std::mem::size_of::<Node>()
            + self.extra
    }
}

/// A level for a new node: 1, then one more with probability 1/4 each time (Redis's
/// `zslRandomLevel`, `ZSKIPLIST_P` = 0.25).
fn random_level() -> usize {
    let mut rng = rand::thread_rng();
    let mut level = 1;
    while level < MAX_LEVEL && rng.gen::<u32>() < u32::MAX / 4 {
        level += 1;
    }
    level
}

/// A score range, as ZRANGEBYSCORE's `min` and `max` give it (`(` makes an end exclusive).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreRange {
    /// Lower end.
    pub min: f64,
    /// Upper end.
    pub max: f64,
    /// Whether `min` itself is excluded.
    pub minex: bool,
    /// Whether `max` itself is excluded.
    pub maxex: bool,
}

impl ScoreRange {
    /// Whether `v` is past the lower end (Redis's `zslValueGteMin`).
    #[inline]
    pub fn gte_min(&self, v: f64) -> bool {
        if self.minex {
            v > self.min
        } else {
            v >= self.min
        }
    }

    /// Whether `v` is before the upper end (Redis's `zslValueLteMax`).
    #[inline]
    pub fn lte_max(&self, v: f64) -> bool {
        if self.maxex {
            v < self.max
        } else {
            v <= self.max
        }
    }

    /// Whether the range is empty whatever the set holds.
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }
}

/// One end of a lex range: `-`, `+`, or a member, inclusive (`[`) or not (`(`).
#[derive(Clone, Debug, PartialEq)]
pub enum LexBound {
    /// `-`: before every member.
    Min,
    /// `+`: after every member.
    Max,
    /// `[member`.
    Incl(Vec<u8>),
    /// `(member`.
    Excl(Vec<u8>),
}

impl LexBound {
    /// Compares `value` with this bound, as Redis's `sdscmplex` (the bound as the second
    /// operand); the bound's own bytes only, inclusion is the caller's business.
    #[inline]
    fn cmp_value(&self, value: &[u8]) -> Ordering {
        match self {
            LexBound::Min => Ordering::Greater,
            LexBound::Max => Ordering::Less,
            LexBound::Incl(b) | LexBound::Excl(b) => value.cmp(b),
        }
    }

    fn exclusive(&self) -> bool {
        !matches!(self, LexBound::Incl(_))
    }
}

/// A lex range, as ZRANGEBYLEX's `min` and `max` give it.
#[derive(Clone, Debug, PartialEq)]
pub struct LexRange {
    /// Lower end.
    pub min: LexBound,
    /// Upper end.
    pub max: LexBound,
}

impl LexRange {
    /// Whether `v` is past the lower end (Redis's `zslLexValueGteMin`).
    #[inline]
    pub fn gte_min(&self, v: &[u8]) -> bool {
        let c = self.min.cmp_value(v);
        if self.min.exclusive() {
            c == Ordering::Greater
        } else {
            c != Ordering::Less
        }
    }

    /// Whether `v` is before the upper end (Redis's `zslLexValueLteMax`).
    #[inline]
    pub fn lte_max(&self, v: &[u8]) -> bool {
        let c = self.max.cmp_value(v);
        if self.max.exclusive() {
            c == Ordering::Less
        } else {
            c != Ordering::Greater
        }
    }

    /// Whether the range is empty whatever the set holds (Redis compares the two ends with
    /// `sdscmplex`, `-` and `+` sorting before and after everything).
    pub fn is_empty(&self) -> bool {
        use LexBound::*;
        let cmp = match (&self.min, &self.max) {
            (Min, Min) | (Max, Max) => Ordering::Equal,
            (Min, _) | (_, Max) => Ordering::Less,
            (Max, _) | (_, Min) => Ordering::Greater,
            (Incl(a) | Excl(a), Incl(b) | Excl(b)) => a.as_slice().cmp(b.as_slice()),
        };
        // `-` and `+` count as exclusive, as in Redis.
        cmp == Ordering::Greater
            || (cmp == Ordering::Equal && (self.min.exclusive() || self.max.exclusive()))
    }
}

/// A search's path: per level, the last node before where it stopped, and that node's rank
/// (1-based, 0 for the header). Insertion and deletion take it (Redis's `update` and `rank`).
#[derive(Clone, Copy)]
struct Path {
    update: [u32; MAX_LEVEL],
    rank: [usize; MAX_LEVEL],
}

impl Path {
    fn new() -> Self {
        Path {
            update: [NIL; MAX_LEVEL],
            rank: [0; MAX_LEVEL],
        }
    }

    #[inline(always)]
    fn record(&mut self, i: usize, node: u32, rank: usize) {
        if let (Some(u), Some(r)) = (self.update.get_mut(i), self.rank.get_mut(i)) {
            *u = node;
            *r = rank;
        }
    }
}

/// How a search reads one level's link of a node (next node, span): see
/// [`BigZSet::walk_levels`].
trait Links {
    fn link(&self, n: &Node) -> (u32, usize);
}

/// Level `.0`, above [`INLINE_UP`]: in the boxed high links.
struct HighLinks(usize);
/// Level `.0`, 1 to [`INLINE_UP`]: in the node.
struct UpLinks(usize);
/// Level 0.
struct Level0;

impl Links for HighLinks {
    #[inline(always)]
    fn link(&self, n: &Node) -> (u32, usize) {
        n.high
            .as_deref()
            .and_then(|h| h.0.get(self.0 - 1 - INLINE_UP))
            .map_or((NIL, 0), |l| (l.next, l.span as usize))
    }
}

impl Links for UpLinks {
    #[inline(always)]
    fn link(&self, n: &Node) -> (u32, usize) {
        n.up.get(self.0.wrapping_sub(1))
            .map_or((NIL, 0), |l| (l.next, l.span as usize))
    }
}

impl Links for Level0 {
    #[inline(always)]
    fn link(&self, n: &Node) -> (u32, usize) {
        (n.next0, 1)
    }
}

/// One search down the list: `go(next node)` says whether to step to it; `at` is where it is
/// (node number, node, rank).
struct Search<'s, G> {
    go: G,
    at: (u32, &'s Node, usize),
}

impl<'s, G: Fn(&Node) -> bool> Search<'s, G> {
    fn new(z: &'s BigZSet, go: G) -> Self {
        Search {
            go,
            at: (NIL, z.arena.get(NIL), 0),
        }
    }

    /// Steps to the next node on level `i` if the search goes there; returns whether it did.
    /// At each node reached it prefetches the next node one level down (see [`prefetch`]).
    #[inline(always)]
    fn step(&mut self, z: &'s BigZSet, i: usize, links: &impl Links) -> bool {
        let (next, span) = links.link(self.at.1);
        if next == NIL {
            return false;
        }
        let n = z.arena.get(next);
        if !(self.go)(n) {
            return false;
        }
        self.at = (next, n, self.at.2 + span);
        if i > 0 {
            prefetch(z.arena.get(n.fwd(i - 1)));
        }
        true
    }
}

/// Searches walked down the levels together ([`BigZSet::walk_levels`]).
trait Searches<'s> {
    /// Walks level `i`, reading links with `links`.
    fn level(&mut self, z: &'s BigZSet, i: usize, links: &impl Links);
}

/// One search, telling `at_level(level, last node, its rank)` as it leaves each level.
struct One<'s, G, F> {
    s: Search<'s, G>,
    at_level: F,
}

impl<'s, G: Fn(&Node) -> bool, F: FnMut(usize, u32, usize)> Searches<'s> for One<'s, G, F> {
    #[inline(always)]
    fn level(&mut self, z: &'s BigZSet, i: usize, links: &impl Links) {
        while self.s.step(z, i, links) {}
        (self.at_level)(i, self.s.at.0, self.s.at.2);
    }
}

/// Two searches stepping in turn, recording their paths.
struct Two<'s, G, H> {
    a: Search<'s, G>,
    b: Search<'s, H>,
    paths: (Path, Path),
}

impl<'s, G: Fn(&Node) -> bool, H: Fn(&Node) -> bool> Searches<'s> for Two<'s, G, H> {
    #[inline(always)]
    fn level(&mut self, z: &'s BigZSet, i: usize, links: &impl Links) {
        let (mut a, mut b) = (true, true);
        while a || b {
            a = a && self.a.step(z, i, links);
            b = b && self.b.step(z, i, links);
        }
        self.paths.0.record(i, self.a.at.0, self.a.at.2);
        self.paths.1.record(i, self.b.at.0, self.b.at.2);
    }
}

/// A node number of a [`BigZSet`] (valid until the set changes).
pub type NodeId = u32;

/// A sorted set past the listpack limits (see the module docs).
#[derive(Clone)]
pub struct BigZSet {
    arena: Arena,
    map: SegTable<u32>,
    tail: u32,
    level: usize,
    len: usize,
}

impl Default for BigZSet {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for BigZSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(m, s)| (String::from_utf8_lossy(m), s)))
            .finish()
    }
}

impl PartialEq for BigZSet {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len
            && self
                .iter()
                .zip(other.iter())
                .all(|(a, b)| a.0 == b.0 && a.1.to_bits() == b.1.to_bits())
    }
}

impl BigZSet {
    /// An empty set.
    pub fn new() -> Self {
        BigZSet {
            arena: Arena::new(),
            map: SegTable::new(),
            tail: NIL,
            level: 1,
            len: 0,
        }
    }

    /// Number of members.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no members.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Heap bytes owned.
    pub fn heap_size(&self) -> usize {
        self.arena.heap_size() + self.map.table_bytes()
    }

    // --- links -------------------------------------------------------------------------

    #[inline]
    fn fwd(&self, x: u32, i: usize) -> u32 {
        self.arena.get(x).fwd(i)
    }

    #[inline]
    fn span(&self, x: u32, i: usize) -> usize {
        self.arena.get(x).span(i)
    }

    #[inline]
    fn set_span(&mut self, x: u32, i: usize, span: usize) {
        if let Some(l) = self.arena.get_mut(x).link_mut(i) {
            l.span = span as u32;
        }
    }

    // --- nodes -------------------------------------------------------------------------

    /// The member of node `x`.
    #[inline]
    pub fn member(&self, x: NodeId) -> &[u8] {
        self.arena.get(x).member.as_slice()
    }

    /// The score of node `x`.
    #[inline]
    pub fn score_of(&self, x: NodeId) -> f64 {
        self.arena.get(x).score
    }

    /// The first node (lowest score).
    #[inline]
    pub fn first(&self) -> Option<NodeId> {
        Some(self.fwd(NIL, 0)).filter(|&x| x != NIL)
    }

    /// The last node (highest score).
    #[inline]
    pub fn last(&self) -> Option<NodeId> {
        Some(self.tail).filter(|&x| x != NIL)
    }

    /// The node after `x`.
    #[inline]
    pub fn next(&self, x: NodeId) -> Option<NodeId> {
        Some(self.arena.get(x).next0).filter(|&x| x != NIL)
    }

    /// The node before `x`.
    #[inline]
    pub fn prev(&self, x: NodeId) -> Option<NodeId> {
        Some(self.arena.get(x).back).filter(|&x| x != NIL)
    }

    /// Every `(member, score)` in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], f64)> + '_ {
        let mut x = self.fwd(NIL, 0);
        std::iter::from_fn(move || {
            if x == NIL {
                return None;
            }
            let n = self.arena.get(x);
            x = n.next0;
            Some((n.member.as_slice(), n.score))
        })
    }

    // --- map ---------------------------------------------------------------------------

    /// The node holding `member`.
    #[inline]
    pub fn find(&self, member: &[u8]) -> Option<NodeId> {
        self.find_hashed(member, member_hash(member))
    }

    /// The node holding `member`, whose [`member_hash`] is `hash`.
    #[inline]
    pub fn find_hashed(&self, member: &[u8], hash: u64) -> Option<NodeId> {
        let arena = &self.arena;
        self.map
            .find_by(hash, |&x| arena.get(x).member.as_slice() == member)
            .copied()
    }

    /// The score of `member`.
    #[inline]
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.find(member).map(|x| self.score_of(x))
    }

    // --- changes -----------------------------------------------------------------------

    /// Adds `member`, known to be absent, with `score` (not NaN).
    pub fn insert_new(&mut self, member: &[u8], score: f64) -> NodeId {
        self.insert_new_hashed(member, member_hash(member), score)
    }

    /// [`BigZSet::insert_new`] given the member's [`member_hash`] (ZADD computed it to look the
    /// member up).
    pub fn insert_new_hashed(&mut self, member: &[u8], hash: u64, score: f64) -> NodeId {
        let x = self.arena.alloc();
        self.arena.set_member(x, member);
        self.arena.get_mut(x).score = score;
        self.link(x, random_level());
        let arena = &self.arena;
        self.map
            .insert_unique_by(hash, x, |&y| member_hash(arena.get(y).member.as_slice()));
        x
    }

    /// Sets `member`'s score: adds it if absent. Returns whether it was added.
    pub fn set(&mut self, member: &[u8], score: f64) -> bool {
        match self.find(member) {
            Some(x) => {
                if self.score_of(x) != score {
                    self.update_score(x, score);
                }
                false
            }
            None => {
                self.insert_new(member, score);
                true
            }
        }
    }

    /// Links the allocated node `x` (member and score set) with `level` levels.
    fn link(&mut self, x: u32, level: usize) {
        let path = self.insert_path(x);
        self.link_at(x, level, path);
    }

    /// Links node `x` with `level` levels where `path` (its insertion path in the list as it
    /// is) says.
    fn link_at(&mut self, x: u32, level: usize, path: Path) {
        let Path {
            mut update,
            mut rank,
        } = path;
        let top = self.level;
        if level > top {
            for i in top..level {
                rank[i] = 0;
                update[i] = NIL;
                self.set_span(NIL, i, self.len);
            }
            self.level = level;
        }
        self.arena.set_levels(x, level);
        // One read and two writes per level (this runs for every level of every insert).
        let u = update[0];
        let after = std::mem::replace(&mut self.arena.get_mut(u).next0, x);
        self.arena.get_mut(x).next0 = after;
        for i in 1..level {
            let u = update[i];
            let before = rank[0] - rank[i];
            let ul = self.arena.get(u).link(i).copied().unwrap_or_default();
            if let Some(l) = self.arena.get_mut(x).link_mut(i) {
                *l = Link {
                    next: ul.next,
                    span: (ul.span as usize).saturating_sub(before) as u32,
                };
            }
            if let Some(l) = self.arena.get_mut(u).link_mut(i) {
                *l = Link {
                    next: x,
                    span: (before + 1) as u32,
                };
            }
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(level) {
            if let Some(l) = self.arena.get_mut(u).link_mut(i) {
                l.span += 1;
            }
        }
        let back = update[0];
        self.arena.get_mut(x).back = back;
        let f = self.fwd(x, 0);
        if f != NIL {
            self.arena.get_mut(f).back = x;
        } else {
            self.tail = x;
        }
        self.len += 1;
    }

    /// Where node `x` (not linked) goes.
    fn insert_path(&self, x: u32) -> Path {
        let n = self.arena.get(x);
        let (score, key) = (n.score, Key::new(n.member.as_slice()));
        self.descend_path(|n| n.before(score, &key)).0
    }

    /// The path to `(score, member)`.
    fn path_to(&self, score: f64, member: &[u8]) -> [u32; MAX_LEVEL] {
        let key = Key::new(member);
        self.descend_path(|n| n.before(score, &key)).0.update
    }

    /// Unlinks node `x`, given its `update` path (Redis's `zslDeleteNode`).
    fn unlink(&mut self, x: u32, update: &[u32; MAX_LEVEL]) {
        let after = self.arena.get(x).next0;
        self.arena.get_mut(update[0]).next0 = after;
        for (i, &u) in update.iter().enumerate().take(self.level).skip(1) {
            let xl = self.arena.get(x).link(i).copied();
            if let Some(l) = self.arena.get_mut(u).link_mut(i) {
                match xl {
                    // `u` links to `x` at this level: it now links past it.
                    Some(xl) if l.next == x => {
                        *l = Link {
                            next: xl.next,
                            span: (l.span + xl.span).saturating_sub(1),
                        }
                    }
                    _ => l.span = l.span.saturating_sub(1),
                }
            }
        }
        let (f, b) = {
            let n = self.arena.get(x);
            (n.next0, n.back)
        };
        if f != NIL {
            self.arena.get_mut(f).back = b;
        } else {
            self.tail = b;
        }
        while self.level > 1 && self.fwd(NIL, self.level - 1) == NIL {
            self.level -= 1;
        }
        self.len -= 1;
    }

    /// Unlinks node `x` (searching its path) without freeing it.
    fn unlink_node(&mut self, x: u32) {
        let update = {
            let n = self.arena.get(x);
            self.path_to(n.score, n.member.as_slice())
        };
        debug_assert_eq!(self.fwd(update[0], 0), x);
        self.unlink(x, &update);
    }

    /// Removes node `x` from the map and frees it (already unlinked).
    fn forget(&mut self, x: u32) {
        let h = member_hash(self.member(x));
        self.map.remove_by(h, |&y| y == x);
        self.arena.release(x);
    }

    /// Changes node `x`'s score (not NaN), moving it if the order changes (Redis's
    /// `zslUpdateScore`: in place when it stays between its neighbours).
    pub fn update_score(&mut self, x: NodeId, score: f64) {
        let (back, next) = {
            let n = self.arena.get(x);
            (n.back, n.next0)
        };
        if (back == NIL || self.score_of(back) < score)
            && (next == NIL || self.score_of(next) > score)
        {
            self.arena.get_mut(x).score = score;
            return;
        }
        // Both paths, the one to `x` (to unlink it) and the one to its new place, are searched
        // in the list as it is, in one pass down: the two searches are independent, so their
        // loads are in flight together and a move costs about one descent's wait for memory,
        // not two (measured: `cargo bench -p flint-engine --bench zset`, BENCHMARKS.md).
        let (old, mut new) = {
            let n = self.arena.get(x);
            let (from, key) = (n.score, Key::new(n.member.as_slice()));
            self.two_paths(|m| m.before(from, &key), |m| m.before(score, &key))
        };
        debug_assert_eq!(self.fwd(old.update[0], 0), x);
        // Unlinking `x` moves every node after it one rank down, and where the new path went
        // through `x`, it now goes through `x`'s predecessor on that level.
        let rank_x = old.rank[0] + 1;
        for i in 0..self.level {
            if new.update[i] == x {
                new.update[i] = old.update[i];
                new.rank[i] = old.rank[i];
            } else if new.rank[i] > rank_x {
                new.rank[i] -= 1;
            }
        }
        self.unlink(x, &old.update);
        self.arena.get_mut(x).score = score;
        self.link_at(x, random_level(), new);
    }

    /// Removes `member`; returns its score if it was there.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let x = self.find(member)?;
        let score = self.score_of(x);
        self.remove_node(x);
        Some(score)
    }

    /// Removes node `x`.
    pub fn remove_node(&mut self, x: NodeId) {
        self.unlink_node(x);
        self.forget(x);
    }

    // --- ranks and ranges --------------------------------------------------------------

    /// Walks down from the header while `go(next node)` holds; returns the last node reached
    /// (the header if none) and its rank (1-based; 0 for the header). With a `go` that holds
    /// on a prefix of the list, that is the prefix's last node and length.
    fn descend(&self, go: impl Fn(&Node) -> bool) -> (u32, usize) {
        self.walk(go, |_, _, _| {})
    }

    /// Like [`BigZSet::descend`], also recording the path; returns it and the rank reached.
    fn descend_path(&self, go: impl Fn(&Node) -> bool) -> (Path, usize) {
        let mut path = Path::new();
        let (_, rank) = self.walk(go, |i, cur, r| path.record(i, cur, r));
        (path, rank)
    }

    /// The paths of two searches (as [`BigZSet::descend_path`]), walked down together: each
    /// level has both searches step in turn until both stop, so the CPU waits for their loads
    /// at once.
    fn two_paths(
        &self,
        go_a: impl Fn(&Node) -> bool,
        go_b: impl Fn(&Node) -> bool,
    ) -> (Path, Path) {
        let mut two = Two {
            a: Search::new(self, go_a),
            b: Search::new(self, go_b),
            paths: (Path::new(), Path::new()),
        };
        self.walk_levels(&mut two);
        two.paths
    }

    /// The one search loop: walks down from the header while `go(next node)` holds, calling
    /// `at_level(level, last node, its rank)` as it leaves each level; returns the last node
    /// reached (the header if none) and its rank.
    #[inline]
    fn walk(
        &self,
        go: impl Fn(&Node) -> bool,
        at_level: impl FnMut(usize, u32, usize),
    ) -> (u32, usize) {
        let mut one = One {
            s: Search::new(self, go),
            at_level,
        };
        self.walk_levels(&mut one);
        (one.s.at.0, one.s.at.2)
    }

    /// Walks `searches` down the levels, from the top. Each level is walked by its own loop
    /// reading that level's links directly (levels above [`INLINE_UP`] in the boxed high
    /// links, the inline ones, then level 0), so a search step has no branch on the level
    /// (measured: one loop through `Node::fwd`/`Node::span` made ZADD on a 30k-member set 5-10%
    /// slower).
    #[inline(always)]
    fn walk_levels<'s>(&'s self, searches: &mut impl Searches<'s>) {
        for i in (0..self.level).rev() {
            if i > INLINE_UP {
                searches.level(self, i, &HighLinks(i));
            } else if i > 0 {
                searches.level(self, i, &UpLinks(i));
            } else {
                searches.level(self, 0, &Level0);
            }
        }
    }

    /// The 0-based rank of node `x` (Redis's `zslGetRank`, minus one).
    pub fn rank_of(&self, x: NodeId) -> usize {
        let n = self.arena.get(x);
        let (score, member) = (n.score, n.member.as_slice());
        let (_, rank) = self
            .descend(|m| m.score < score || (m.score == score && m.member.as_slice() <= member));
        rank.saturating_sub(1)
    }

    /// The node at 0-based rank `rank`.
    pub fn at_rank(&self, rank: usize) -> Option<NodeId> {
        if rank >= self.len {
            return None;
        }
        let target = rank + 1;
        let mut cur = NIL;
        let mut traversed = 0;
        for i in (0..self.level).rev() {
            loop {
                let n = self.fwd(cur, i);
                if n != NIL && traversed + self.span(cur, i) <= target {
                    traversed += self.span(cur, i);
                    cur = n;
                } else {
                    break;
                }
            }
            if traversed == target {
                return Some(cur);
            }
        }
        None
    }

    /// Whether some of the set may be in `r` (Redis's `zslIsInRange`).
    fn in_score_range(&self, r: &ScoreRange) -> bool {
        if r.is_empty() {
            return false;
        }
        match (self.last(), self.first()) {
            (Some(l), Some(f)) => r.gte_min(self.score_of(l)) && r.lte_max(self.score_of(f)),
            _ => false,
        }
    }

    /// The first node in `r` and its 0-based rank.
    pub fn first_in_score(&self, r: &ScoreRange) -> Option<(NodeId, usize)> {
        if !self.in_score_range(r) {
            return None;
        }
        let (x, rank) = self.descend(|n| !r.gte_min(n.score));
        let first = self.fwd(x, 0);
        (first != NIL && r.lte_max(self.score_of(first))).then_some((first, rank))
    }

    /// The last node in `r` and its 0-based rank.
    pub fn last_in_score(&self, r: &ScoreRange) -> Option<(NodeId, usize)> {
        if !self.in_score_range(r) {
            return None;
        }
        let (x, rank) = self.descend(|n| r.lte_max(n.score));
        (x != NIL && r.gte_min(self.score_of(x))).then(|| (x, rank - 1))
    }

    /// Whether some of the set may be in `r` (Redis's `zslIsInLexRange`).
    fn in_lex_range(&self, r: &LexRange) -> bool {
        if r.is_empty() {
            return false;
        }
        match (self.last(), self.first()) {
            (Some(l), Some(f)) => r.gte_min(self.member(l)) && r.lte_max(self.member(f)),
            _ => false,
        }
    }

    /// The first node in `r` and its 0-based rank.
    pub fn first_in_lex(&self, r: &LexRange) -> Option<(NodeId, usize)> {
        if !self.in_lex_range(r) {
            return None;
        }
        let (x, rank) = self.descend(|n| !r.gte_min(n.member.as_slice()));
        let first = self.fwd(x, 0);
        (first != NIL && r.lte_max(self.member(first))).then_some((first, rank))
    }

    /// The last node in `r` and its 0-based rank.
    pub fn last_in_lex(&self, r: &LexRange) -> Option<(NodeId, usize)> {
        if !self.in_lex_range(r) {
            return None;
        }
        let (x, rank) = self.descend(|n| r.lte_max(n.member.as_slice()));
        (x != NIL && r.gte_min(self.member(x))).then(|| (x, rank - 1))
    }

    /// Removes nodes from `update[0]`'s successor on while `keep_going(node)` holds and at most
    /// `limit` of them; returns how many.
    fn remove_run(
        &mut self,
        update: &[u32; MAX_LEVEL],
        limit: usize,
        keep_going: impl Fn(&Node) -> bool,
    ) -> usize {
        let mut removed = 0;
        let mut x = self.fwd(update[0], 0);
        while x != NIL && removed < limit && keep_going(self.arena.get(x)) {
            let next = self.fwd(x, 0);
            self.unlink(x, update);
            self.forget(x);
            removed += 1;
            x = next;
        }
        removed
    }

    /// Removes the members with 0-based ranks `start..=end` (in range); returns how many.
    pub fn remove_range_by_rank(&mut self, start: usize, end: usize) -> usize {
        if start > end || start >= self.len {
            return 0;
        }
        let target = start + 1;
        let mut update = [NIL; MAX_LEVEL];
        let mut cur = NIL;
        let mut traversed = 0;
        for i in (0..self.level).rev() {
            loop {
                let n = self.fwd(cur, i);
                if n != NIL && traversed + self.span(cur, i) < target {
                    traversed += self.span(cur, i);
                    cur = n;
                } else {
                    break;
                }
            }
            update[i] = cur;
        }
        self.remove_run(&update, end - start + 1, |_| true)
    }

    /// Removes the members whose score is in `r`; returns how many.
    pub fn remove_range_by_score(&mut self, r: &ScoreRange) -> usize {
        let update = self.descend_path(|n| !r.gte_min(n.score)).0.update;
        self.remove_run(&update, usize::MAX, |n| r.lte_max(n.score))
    }

    /// Removes the members in lex range `r`; returns how many.
    pub fn remove_range_by_lex(&mut self, r: &LexRange) -> usize {
        let update = self
            .descend_path(|n| !r.gte_min(n.member.as_slice()))
            .0
            .update;
        self.remove_run(&update, usize::MAX, |n| r.lte_max(n.member.as_slice()))
    }

    // --- random and scan ---------------------------------------------------------------

    /// A uniformly random node.
    pub fn random(&self, rng: &mut impl Rng) -> Option<NodeId> {
        self.map.random(rng).copied()
    }

    /// One ZSCAN step over the map (see [`SegTable::scan_by`]): passes `(member, score)`.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        let arena = &self.arena;
        self.map.scan_by(
            cursor,
            count,
            |&x| member_hash(arena.get(x).member.as_slice()),
            |&x| {
                let n = arena.get(x);
                f(n.member.as_slice(), n.score)
            },
        )
    }

    /// Checks every invariant (tests).
    #[cfg(test)]
    pub fn check(&self) {
        // Level 0: order, back links, length, tail.
        let mut prev = NIL;
        let mut x = self.fwd(NIL, 0);
        let mut n = 0;
        while x != NIL {
            assert_eq!(self.arena.get(x).back, prev, "back link of node {x}");
            if prev != NIL {
                let (a, b) = (self.arena.get(prev), self.arena.get(x));
                assert!(
                    a.score < b.score
                        || (a.score == b.score && a.member.as_slice() < b.member.as_slice()),
                    "order"
                );
            }
            assert_eq!(self.find(self.member(x)), Some(x), "map entry");
            prev = x;
            x = self.fwd(x, 0);
            n += 1;
        }
        assert_eq!(n, self.len);
        assert_eq!(self.map.len(), self.len);
        let extra: usize = (0..self.arena.used)
            .map(|i| {
                let n = self.arena.get(i);
                n.extra()
            })
            .sum();
        assert_eq!(extra, self.arena.extra, "heap accounting");
        assert_eq!(self.tail, prev);
        // Spans: at every level, the span is the level-0 distance to the next node.
        let ranks: std::collections::HashMap<u32, usize> = {
            let mut m = std::collections::HashMap::new();
            let mut x = self.fwd(NIL, 0);
            let mut r = 1;
            while x != NIL {
                m.insert(x, r);
                r += 1;
                x = self.fwd(x, 0);
            }
            m
        };
        for i in 1..self.level {
            let mut x = NIL;
            loop {
                let nx = self.fwd(x, i);
                if nx == NIL {
                    break;
                }
                let rx = if x == NIL { 0 } else { ranks[&x] };
                assert_eq!(self.span(x, i), ranks[&nx] - rx, "span at level {i}");
                x = nx;
            }
        }
        for i in self.level..MAX_LEVEL {
            assert_eq!(self.fwd(NIL, i), NIL, "level {i} above the top");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// redis-benchmark's ZADD with `-r` (random scores, 20-byte members, some already there)
    /// timed; run with
    /// `cargo test --release -p flint-engine insert_timing -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn insert_timing() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let members: Vec<(Vec<u8>, f64)> = (0..200_000)
            .map(|_| {
                let m = format!("element:{:012}", rng.gen_range(0..1_000_000u64));
                (m.into_bytes(), f64::from(rng.gen_range(0..1_000_000u32)))
            })
            .collect();
        for _ in 0..3 {
            let mut z = BigZSet::new();
            let t = std::time::Instant::now();
            for (m, s) in &members {
                z.set(m, *s);
            }
            let el = t.elapsed();
            println!(
                "{} members, {:.0} ns per ZADD",
                z.len(),
                el.as_nanos() as f64 / members.len() as f64
            );
        }
    }

    #[test]
    fn node_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<Node>(), 64);
        assert_eq!(std::mem::align_of::<Node>(), 64);
    }

    #[test]
    fn locate_covers_every_number_once() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..(CHUNK_MAX * 3) as u32 {
            let (c, s) = locate(i);
            assert!(s < CHUNK_MAX && c < 3, "{i}");
            assert!(seen.insert((c, s)));
        }
    }

    #[test]
    fn first_chunk_doubles_then_chunks_are_full_size() {
        let mut a = Arena::new();
        for n in 1..CHUNK_MAX + 10 {
            let i = a.alloc();
            a.set_member(i, format!("m{i}").as_bytes());
            assert_eq!(i as usize, n);
            let first = a.chunks[0].len();
            assert!(
                first.is_power_of_two() && first <= CHUNK_MAX && first > (n.min(CHUNK_MAX - 1)) / 2
            );
        }
        assert_eq!(a.chunks.len(), 2);
        assert_eq!(a.chunks[1].len(), CHUNK_MAX);
        // Members survive the moves of the first chunk.
        assert_eq!(a.get(5).member.as_slice(), b"m5");
        assert_eq!(
            a.get(CHUNK_MAX as u32 + 3).member.as_slice(),
            format!("m{}", CHUNK_MAX + 3).as_bytes()
        );
    }

    #[test]
    fn insert_update_remove_keep_invariants() {
        let mut z = BigZSet::new();
        for i in 0..2000u32 {
            z.insert_new(format!("m{i}").as_bytes(), f64::from(i % 97));
        }
        z.check();
        assert_eq!(z.len(), 2000);
        for i in (0..2000u32).step_by(3) {
            z.update_score(
                z.find(format!("m{i}").as_bytes()).unwrap(),
                f64::from(i) * 0.5,
            );
        }
        z.check();
        for i in (0..2000u32).step_by(2) {
            assert!(z.remove(format!("m{i}").as_bytes()).is_some());
        }
        z.check();
        assert_eq!(z.len(), 1000);
        for r in 0..z.len() {
            let x = z.at_rank(r).unwrap();
            assert_eq!(z.rank_of(x), r);
        }
        assert_eq!(z.at_rank(z.len()), None);
        // Freed nodes are reused.
        let used = z.arena.used;
        for i in 0..500u32 {
            z.insert_new(format!("n{i}").as_bytes(), 1.0);
        }
        assert_eq!(z.arena.used, used);
        z.check();
    }
}
