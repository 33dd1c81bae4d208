//! [`BigZSet`]: a sorted set past the listpack limits. OBJECT ENCODING calls it `skiplist`, as
//! Redis does, but it is a B+ tree ordered by `(score, member bytes)` with subtree counts (so
//! ranks cost O(log N)), and a member -> member-cell map for O(1) score lookups.
//!
//! # Why a tree and not Redis's skip list
//! A skip-list search is a chain of dependent loads, one per node visited: about 40 nodes for
//! a million members, most of them cache misses once the set outgrows the caches. ZADD on big
//! sets spent most of its time waiting for them (BENCHMARKS.md, issue 3). A B+ tree node holds
//! [`B`] sorted keys in a few adjacent cache lines that are fetched together, so a search has
//! about five dependent steps, and a leaf entry is 12 bytes where a skip-list node took 64.
//!
//! # Layout
//! - **Cells** hold each member's bytes (inline up to 22) and score, by member number
//!   ([`NodeId`]); the map is a [`SegTable`] of member numbers, hashing and comparing through
//!   the cells, so the member bytes are stored once.
//! - **Leaves** hold up to [`B`] entries, scores and member numbers in two arrays, sorted, and
//!   link to their neighbours (iteration in both directions).
//! - **Inner nodes** hold up to [`B`] children with each child's member count, and between
//!   children a separator key: separator `i` is the smallest key of child `i`'s subtree (always
//!   a key in the set: removing a subtree's smallest key updates its separator, so a separator
//!   never refers to a freed member number).
//! - Nodes live in [`Pool`]s: chunks that never move once full (no copy of the whole set as it
//!   grows), numbered, with a free list.
//! - A node below [`MIN`] entries after a removal borrows from a sibling or merges with it;
//!   appending past the last key (scores that grow, such as timestamps) leaves full leaves
//!   behind rather than half-full ones.
//!
//! Per member: a 32-byte cell, about 20 bytes of leaf (12 bytes an entry in 448-byte leaves
//! about 70% full after random inserts), about 10 bytes of map and a little of inner nodes,
//! plus the member itself when longer than 22 bytes. Measured: 68 bytes of used_memory per
//! member of 20 bytes, against Redis 7.0's 128 (`scripts/zset-bench.sh`).

use std::cmp::Ordering;

use rand::Rng;

use crate::pool::Pool;
use crate::segtable::{member_hash, SegTable};
use crate::small::SmallBytes;

/// Most entries of a leaf, and most children of an inner node. Unit tests use small nodes so
/// that a few hundred members already make a deep tree (splits and merges at every level).
#[cfg(not(test))]
const B: usize = 32;
#[cfg(test)]
const B: usize = 8;
/// Fewest entries (children) a node other than the root keeps after a removal.
const MIN: usize = B / 4;
/// Bits of a [`Pos`] that hold the slot in the leaf.
const SLOT_BITS: u32 = B.trailing_zeros();
/// "No node" in leaf links.
const NONE: u32 = u32::MAX;
/// Most inner levels (nodes keep at least [`MIN`] children, and `MIN ^ 32` is past any set).
const MAX_HEIGHT: usize = 32;

/// A member of a [`BigZSet`], by number (stable while the member is in the set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeId(u32);

/// A position in a [`BigZSet`]'s order (valid until the set changes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pos(u32);

impl Pos {
    #[inline]
    fn new(leaf: u32, slot: usize) -> Self {
        Pos(leaf << SLOT_BITS | slot as u32)
    }

    #[inline]
    fn leaf(self) -> u32 {
        self.0 >> SLOT_BITS
    }

    #[inline]
    fn slot(self) -> usize {
        (self.0 & ((1 << SLOT_BITS) - 1)) as usize
    }
}

/// Asks the CPU to start loading the `lines` cache lines from `p`.
#[inline(always)]
fn prefetch_lines<T>(p: &T, lines: usize) {
    let base = (p as *const T).cast::<u8>();
    for i in 0..lines {
        crate::util::prefetch(base.wrapping_add(i * 64));
    }
}

/// A member and its score.
#[derive(Clone, Debug, Default)]
struct Cell {
    member: SmallBytes,
    score: f64,
}

type Cells = Pool<Cell, 12>;

/// Up to [`B`] entries in order: scores, and the member numbers that break ties.
#[derive(Clone, Debug)]
#[repr(C, align(64))]
struct Leaf {
    scores: [f64; B],
    ids: [u32; B],
    len: u32,
    prev: u32,
    next: u32,
}

impl Default for Leaf {
    fn default() -> Self {
        Leaf {
            scores: [0.0; B],
            ids: [0; B],
            len: 0,
            prev: NONE,
            next: NONE,
        }
    }
}

impl Leaf {
    /// Puts the entry `(score, id)` at `slot`, moving the ones from there up (the leaf has
    /// room).
    #[inline]
    fn put(&mut self, slot: usize, score: f64, id: u32) {
        let n = self.len as usize;
        self.scores.copy_within(slot..n, slot + 1);
        self.ids.copy_within(slot..n, slot + 1);
        self.scores[slot] = score;
        self.ids[slot] = id;
        self.len += 1;
    }

    /// The slot of the first entry not before `k`: where `k` is, or would go.
    #[inline(always)]
    fn slot_for(&self, cells: &Cells, k: &Key<'_>) -> usize {
        partition(&self.scores, &self.ids, 0, self.len as usize, &|s, id| {
            before(cells, s, id, k, false)
        })
    }
}

/// Up to [`B`] children (leaves or inner nodes, by the level), their member counts, and the
/// separators: `(scores[i], ids[i])` for `i` in `1..len` is the smallest key under child `i`.
#[derive(Clone, Debug)]
#[repr(C, align(64))]
struct Inner {
    scores: [f64; B],
    ids: [u32; B],
    kids: [u32; B],
    counts: [u32; B],
    len: u32,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            scores: [0.0; B],
            ids: [0; B],
            kids: [0; B],
            counts: [0; B],
            len: 0,
        }
    }
}

impl Inner {
    /// The child whose subtree holds `k`, or would: the last whose separator is not after it.
    #[inline(always)]
    fn child_for(&self, cells: &Cells, k: &Key<'_>) -> usize {
        partition(&self.scores, &self.ids, 1, self.len as usize, &|s, id| {
            before(cells, s, id, k, true)
        }) - 1
    }

    /// Moves the entries `from` to start at `to` (separators, children and counts).
    #[inline]
    fn shift(&mut self, from: std::ops::Range<usize>, to: usize) {
        self.scores.copy_within(from.clone(), to);
        self.ids.copy_within(from.clone(), to);
        self.kids.copy_within(from.clone(), to);
        self.counts.copy_within(from, to);
    }

    /// Sets entry `i`: the separator before child `kid`, which holds `count` members.
    #[inline]
    fn set(&mut self, i: usize, sep: (f64, u32), kid: u32, count: u32) {
        (self.scores[i], self.ids[i]) = sep;
        self.kids[i] = kid;
        self.counts[i] = count;
    }

    /// Entry `i`: the separator, the child and its count.
    #[inline]
    fn get(&self, i: usize) -> ((f64, u32), u32, u32) {
        ((self.scores[i], self.ids[i]), self.kids[i], self.counts[i])
    }
}

/// Bytes of one node's scores, in cache lines (what a search step reads first).
const SCORE_LINES: usize = (B * 8).div_ceil(64);

/// A key to search for.
#[derive(Clone, Copy)]
struct Key<'a> {
    score: f64,
    member: &'a [u8],
}

/// Whether the entry `(s, id)` sorts before `k` (`or_equal`: or is `k`).
#[inline(always)]
fn before(cells: &Cells, s: f64, id: u32, k: &Key<'_>, or_equal: bool) -> bool {
    if s != k.score {
        return s < k.score;
    }
    let m = cells.get(id).member.as_slice();
    if or_equal {
        m <= k.member
    } else {
        m < k.member
    }
}

/// The first of `0..len` for which `pred(scores[i], ids[i])` fails (`pred` holds on a prefix).
#[inline(always)]
fn partition(
    scores: &[f64; B],
    ids: &[u32; B],
    from: usize,
    len: usize,
    pred: &impl Fn(f64, u32) -> bool,
) -> usize {
    let (mut lo, mut hi) = (from, len);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if pred(scores[mid], ids[mid]) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Where a search ended: per inner level from the root, the node and the child taken; then
/// the leaf.
#[derive(Clone, Copy)]
struct Path {
    steps: [(u32, usize); MAX_HEIGHT],
    leaf: u32,
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

// --- the tree ----------------------------------------------------------------------------

/// The B+ tree of entries (see the module docs); members are read from the [`Cells`] passed in.
#[derive(Clone, Debug)]
struct Tree {
    leaves: Pool<Leaf, 8>,
    inners: Pool<Inner, 8>,
    root: u32,
    /// Inner levels above the leaves (0: the root is a leaf).
    height: usize,
    /// The first and last leaves.
    head: u32,
    tail: u32,
    len: usize,
}

impl Tree {
    fn new() -> Self {
        let mut leaves = Pool::new();
        let root = leaves.alloc();
        Tree {
            leaves,
            inners: Pool::new(),
            root,
            height: 0,
            head: root,
            tail: root,
            len: 0,
        }
    }

    fn bytes(&self) -> usize {
        self.leaves.bytes() + self.inners.bytes()
    }

    /// The path to where the entry `(score, member)` is, or would go; and its slot in the leaf.
    #[inline]
    fn find(&self, cells: &Cells, k: &Key<'_>) -> (Path, usize) {
        let mut path = Path {
            steps: [(0, 0); MAX_HEIGHT],
            leaf: self.root,
        };
        let mut node = self.root;
        for step in path.steps.iter_mut().take(self.height) {
            let n = self.inners.get(node);
            prefetch_lines(n, SCORE_LINES);
            let c = n.child_for(cells, k);
            *step = (node, c);
            node = n.kids[c];
        }
        let leaf = self.leaves.get(node);
        prefetch_lines(leaf, SCORE_LINES);
        path.leaf = node;
        (path, leaf.slot_for(cells, k))
    }

    /// The path to the entry of 0-based rank `rank` (< len), and its slot.
    fn find_rank(&self, mut rank: usize) -> (Path, usize) {
        let mut path = Path {
            steps: [(0, 0); MAX_HEIGHT],
            leaf: self.root,
        };
        let mut node = self.root;
        for step in path.steps.iter_mut().take(self.height) {
            let n = self.inners.get(node);
            let mut c = 0;
            while c + 1 < n.len as usize && rank >= n.counts[c] as usize {
                rank -= n.counts[c] as usize;
                c += 1;
            }
            *step = (node, c);
            node = n.kids[c];
        }
        path.leaf = node;
        (path, rank)
    }

    /// The first entry for which `pred` fails (`pred` holds on a prefix of the order): its
    /// position (`None` past the end), and its rank.
    fn lower_bound(&self, pred: impl Fn(f64, u32) -> bool) -> (Option<Pos>, usize) {
        let mut node = self.root;
        let mut rank = 0;
        for _ in 0..self.height {
            let n = self.inners.get(node);
            let c = partition(&n.scores, &n.ids, 1, n.len as usize, &pred) - 1;
            rank += n.counts[..c].iter().map(|&x| x as usize).sum::<usize>();
            node = n.kids[c];
        }
        let leaf = self.leaves.get(node);
        let slot = partition(&leaf.scores, &leaf.ids, 0, leaf.len as usize, &pred);
        (self.pos_or_next(node, slot), rank + slot)
    }

    /// Position `slot` of `leaf`, or the first of the next leaf when past its end.
    #[inline]
    fn pos_or_next(&self, leaf: u32, slot: usize) -> Option<Pos> {
        let l = self.leaves.get(leaf);
        if slot < l.len as usize {
            return Some(Pos::new(leaf, slot));
        }
        (l.next != NONE).then(|| Pos::new(l.next, 0))
    }

    #[inline]
    fn entry(&self, p: Pos) -> (f64, u32) {
        let l = self.leaves.get(p.leaf());
        (l.scores[p.slot()], l.ids[p.slot()])
    }

    fn first(&self) -> Option<Pos> {
        self.pos_or_next(self.head, 0)
    }

    fn last(&self) -> Option<Pos> {
        let n = self.leaves.get(self.tail).len as usize;
        (n > 0).then(|| Pos::new(self.tail, n - 1))
    }

    fn next(&self, p: Pos) -> Option<Pos> {
        self.pos_or_next(p.leaf(), p.slot() + 1)
    }

    fn prev(&self, p: Pos) -> Option<Pos> {
        if p.slot() > 0 {
            return Some(Pos::new(p.leaf(), p.slot() - 1));
        }
        let prev = self.leaves.get(p.leaf()).prev;
        (prev != NONE).then(|| Pos::new(prev, self.leaves.get(prev).len as usize - 1))
    }

    fn at_rank(&self, rank: usize) -> Option<Pos> {
        (rank < self.len).then(|| {
            let (path, slot) = self.find_rank(rank);
            Pos::new(path.leaf, slot)
        })
    }

    // --- insertion -------------------------------------------------------------------------

    /// Adds the entry `(score, id)`, whose member is `member` (not in the tree).
    fn insert(&mut self, cells: &Cells, score: f64, id: u32, member: &[u8]) {
        let (path, slot) = self.find(cells, &Key { score, member });
        self.insert_at(&path, slot, score, id);
    }

    /// Both keys' paths (as [`Tree::find`]), searched down together: the two searches are
    /// independent, so their loads are in flight at once.
    fn find2(&self, cells: &Cells, a: &Key<'_>, b: &Key<'_>) -> [(Path, usize); 2] {
        let mut paths = [Path {
            steps: [(0, 0); MAX_HEIGHT],
            leaf: self.root,
        }; 2];
        let mut nodes = [self.root; 2];
        let keys = [a, b];
        for h in 0..self.height {
            let inner = [self.inners.get(nodes[0]), self.inners.get(nodes[1])];
            // The second node's lines are requested while the first one is searched.
            prefetch_lines(inner[1], SCORE_LINES);
            for j in 0..2 {
                let c = inner[j].child_for(cells, keys[j]);
                paths[j].steps[h] = (nodes[j], c);
                nodes[j] = inner[j].kids[c];
            }
        }
        let leaf = [self.leaves.get(nodes[0]), self.leaves.get(nodes[1])];
        prefetch_lines(leaf[1], SCORE_LINES);
        let mut out = [(paths[0], 0), (paths[1], 0)];
        for j in 0..2 {
            out[j].0.leaf = nodes[j];
            out[j].1 = leaf[j].slot_for(cells, keys[j]);
        }
        out
    }

    /// Adds the entry `(score, id)` at `slot` of the path's leaf (where [`Tree::find`] put it).
    fn insert_at(&mut self, path: &Path, slot: usize, score: f64, id: u32) {
        for &(n, c) in path.steps.iter().take(self.height) {
            self.inners.get_mut(n).counts[c] += 1;
        }
        self.len += 1;
        let leaf = path.leaf;
        let l = self.leaves.get_mut(leaf);
        if (l.len as usize) < B {
            l.put(slot, score, id);
            return;
        }
        // Split. Past the end of the last leaf (growing scores), the new leaf takes only the
        // new entry, so that the full one stays full.
        let keep = if slot == B && l.next == NONE {
            B
        } else {
            B / 2
        };
        let mut right = Leaf {
            len: (B - keep) as u32,
            prev: leaf,
            next: l.next,
            ..Leaf::default()
        };
        right.scores[..B - keep].copy_from_slice(&l.scores[keep..]);
        right.ids[..B - keep].copy_from_slice(&l.ids[keep..]);
        l.len = keep as u32;
        let r = self.leaves.alloc();
        let l = self.leaves.get_mut(leaf);
        l.next = r;
        if slot <= keep && keep < B {
            l.put(slot, score, id);
        } else {
            right.put(slot - keep, score, id);
        }
        let left_len = l.len;
        if right.next != NONE {
            self.leaves.get_mut(right.next).prev = r;
        } else {
            self.tail = r;
        }
        let (sep, right_len) = ((right.scores[0], right.ids[0]), right.len);
        *self.leaves.get_mut(r) = right;
        self.add_child(path, self.height, sep, r, right_len, left_len);
    }

    /// After a split at level `h` (the leaves are level `height`), adds the new right sibling
    /// `kid` (`count` members, smallest key `sep`) just after the node the path went through,
    /// whose count becomes `left_count`.
    fn add_child(
        &mut self,
        path: &Path,
        h: usize,
        sep: (f64, u32),
        kid: u32,
        count: u32,
        left_count: u32,
    ) {
        if h == 0 {
            // The root split: a new root above the two halves.
            let old = self.root;
            let root = self.inners.alloc();
            let n = self.inners.get_mut(root);
            n.kids[0] = old;
            n.counts[0] = left_count;
            n.kids[1] = kid;
            n.counts[1] = count;
            (n.scores[1], n.ids[1]) = sep;
            n.len = 2;
            self.root = root;
            self.height += 1;
            return;
        }
        let (p, c) = path.steps[h - 1];
        let at = c + 1;
        let n = self.inners.get_mut(p);
        n.counts[c] = left_count;
        let len = n.len as usize;
        if len < B {
            n.shift(at..len, at + 1);
            n.set(at, sep, kid, count);
            n.len += 1;
            return;
        }
        // Split the inner node: B + 1 children, the first half stays.
        let mut all: Vec<((f64, u32), u32, u32)> = (0..len).map(|i| n.get(i)).collect();
        all.insert(at, (sep, kid, count));
        let keep = B.div_ceil(2);
        let mut right = Inner::default();
        for (i, &(sep, kid, count)) in all[keep..].iter().enumerate() {
            right.set(i, sep, kid, count);
        }
        right.len = (all.len() - keep) as u32;
        for (i, &(sep, kid, count)) in all[..keep].iter().enumerate() {
            n.set(i, sep, kid, count);
        }
        n.len = keep as u32;
        let left_count = n.counts[..keep].iter().sum();
        let right_count = right.counts[..right.len as usize].iter().sum();
        let up = (right.scores[0], right.ids[0]);
        let r = self.inners.alloc();
        *self.inners.get_mut(r) = right;
        self.add_child(path, h - 1, up, r, right_count, left_count);
    }

    // --- removal ---------------------------------------------------------------------------

    /// Removes the entry at `slot` of the path's leaf; returns its member number.
    fn remove(&mut self, path: &Path, slot: usize) -> u32 {
        self.remove_run(path, slot, 1).0[0]
    }

    /// [`Tree::remove`], also saying whether only the leaf's entries moved: no separator
    /// changed and no node was rebalanced, so other paths found before stay valid.
    fn remove_simple(&mut self, path: &Path, slot: usize) -> (u32, bool) {
        // Decided before removing: a rebalance may lower the tree.
        let left = self.leaves.get(path.leaf).len as usize - 1;
        let simple = slot > 0 && (self.height == 0 || left >= MIN);
        (self.remove(path, slot), simple)
    }

    /// Removes the `k` entries (at least 1) from `slot` of the path's leaf, all in that leaf;
    /// returns their member numbers (the first `k`).
    fn remove_run(&mut self, path: &Path, slot: usize, k: usize) -> ([u32; B], usize) {
        for &(n, c) in path.steps.iter().take(self.height) {
            self.inners.get_mut(n).counts[c] -= k as u32;
        }
        self.len -= k;
        let l = self.leaves.get_mut(path.leaf);
        let len = l.len as usize;
        let mut ids = [0; B];
        ids[..k].copy_from_slice(&l.ids[slot..slot + k]);
        l.scores.copy_within(slot + k..len, slot);
        l.ids.copy_within(slot + k..len, slot);
        l.len -= k as u32;
        if slot == 0 {
            // This leaf's smallest key went: the separator naming it, in the lowest ancestor
            // where the path is not leftmost, becomes the next key in order.
            let l = self.leaves.get(path.leaf);
            let next = if l.len > 0 {
                Some((l.scores[0], l.ids[0]))
            } else if l.next != NONE {
                let n = self.leaves.get(l.next);
                Some((n.scores[0], n.ids[0]))
            } else {
                None
            };
            let at = path.steps[..self.height].iter().rev().find(|s| s.1 > 0);
            if let (Some(&(n, c)), Some(sep)) = (at, next) {
                let n = self.inners.get_mut(n);
                (n.scores[c], n.ids[c]) = sep;
            }
        }
        if self.height > 0 && (self.leaves.get(path.leaf).len as usize) < MIN {
            self.rebalance_leaf(path);
        }
        (ids, k)
    }

    /// Unlinks leaf `x` from the leaf list and frees it.
    fn drop_leaf(&mut self, x: u32) {
        let l = self.leaves.release(x);
        if l.prev != NONE {
            self.leaves.get_mut(l.prev).next = l.next;
        } else {
            self.head = l.next;
        }
        if l.next != NONE {
            self.leaves.get_mut(l.next).prev = l.prev;
        } else {
            self.tail = l.prev;
        }
    }

    /// Moves `n` entries from the front of leaf `from` to the end of leaf `to`.
    fn shift_left(&mut self, to: u32, from: u32, n: usize) {
        let src = self.leaves.get(from).clone();
        let t = self.leaves.get_mut(to);
        let tl = t.len as usize;
        t.scores[tl..tl + n].copy_from_slice(&src.scores[..n]);
        t.ids[tl..tl + n].copy_from_slice(&src.ids[..n]);
        t.len += n as u32;
        let f = self.leaves.get_mut(from);
        let fl = f.len as usize;
        f.scores.copy_within(n..fl, 0);
        f.ids.copy_within(n..fl, 0);
        f.len -= n as u32;
    }

    /// Moves `n` entries from the end of leaf `from` to the front of leaf `to`.
    fn shift_right(&mut self, from: u32, to: u32, n: usize) {
        let f = self.leaves.get_mut(from);
        let fl = f.len as usize;
        f.len -= n as u32;
        let (scores, ids) = (f.scores, f.ids);
        let t = self.leaves.get_mut(to);
        let tl = t.len as usize;
        t.scores.copy_within(0..tl, n);
        t.ids.copy_within(0..tl, n);
        t.scores[..n].copy_from_slice(&scores[fl - n..fl]);
        t.ids[..n].copy_from_slice(&ids[fl - n..fl]);
        t.len += n as u32;
    }

    /// The path's leaf is below [`MIN`]: borrow entries from a sibling, or merge with it.
    fn rebalance_leaf(&mut self, path: &Path) {
        let h = self.height;
        let (p, c) = path.steps[h - 1];
        let leaf = path.leaf;
        let len = self.leaves.get(leaf).len as usize;
        let parent = self.inners.get(p);
        if c > 0 {
            let left = parent.kids[c - 1];
            let ll = self.leaves.get(left).len as usize;
            if ll + len <= B {
                self.shift_left(left, leaf, len);
                self.drop_leaf(leaf);
                self.inners.get_mut(p).counts[c - 1] += len as u32;
                self.remove_child(path, h - 1, c);
            } else {
                let n = (ll - len) / 2;
                self.shift_right(left, leaf, n);
                let l = self.leaves.get(leaf);
                let sep = (l.scores[0], l.ids[0]);
                let parent = self.inners.get_mut(p);
                (parent.scores[c], parent.ids[c]) = sep;
                parent.counts[c - 1] -= n as u32;
                parent.counts[c] += n as u32;
            }
        } else {
            let right = parent.kids[1];
            let rl = self.leaves.get(right).len as usize;
            if rl + len <= B {
                self.shift_left(leaf, right, rl);
                self.drop_leaf(right);
                self.inners.get_mut(p).counts[0] += rl as u32;
                self.remove_child(path, h - 1, 1);
            } else {
                let n = (rl - len) / 2;
                self.shift_left(leaf, right, n);
                let r = self.leaves.get(right);
                let sep = (r.scores[0], r.ids[0]);
                let parent = self.inners.get_mut(p);
                (parent.scores[1], parent.ids[1]) = sep;
                parent.counts[0] += n as u32;
                parent.counts[1] -= n as u32;
            }
        }
    }

    /// Removes child `at` (>= 1: its count was moved to child `at - 1`) of the node the path
    /// goes through at level `h`, then fixes that node if it is now too small.
    fn remove_child(&mut self, path: &Path, h: usize, at: usize) {
        let node = path.steps[h].0;
        let n = self.inners.get_mut(node);
        let len = n.len as usize;
        n.shift(at + 1..len, at);
        n.len -= 1;
        if h == 0 {
            if n.len == 1 {
                // A root with one child: the child is the root.
                self.root = n.kids[0];
                self.height -= 1;
                self.inners.release(node);
            }
            return;
        }
        if (n.len as usize) < MIN {
            self.rebalance_inner(path, h);
        }
    }

    /// The node the path goes through at level `h` (not the root) is below [`MIN`] children:
    /// borrow one from a sibling, or merge with it.
    fn rebalance_inner(&mut self, path: &Path, h: usize) {
        let (g, c) = path.steps[h - 1];
        let gp = self.inners.get(g).clone();
        // The node and its sibling, the left one first; `at` is the right one's index.
        let at = c.max(1);
        let (left, right) = (gp.kids[at - 1], gp.kids[at]);
        let ll = self.inners.get(left).len as usize;
        let rl = self.inners.get(right).len as usize;
        let sep = (gp.scores[at], gp.ids[at]);
        if ll + rl <= B {
            // Merge the right one into the left one; the parent's separator goes between them.
            let r = self.inners.release(right);
            let t = self.inners.get_mut(left);
            for i in 0..rl {
                let (s, kid, count) = r.get(i);
                t.set(ll + i, if i == 0 { sep } else { s }, kid, count);
            }
            t.len += rl as u32;
            self.inners.get_mut(g).counts[at - 1] += gp.counts[at];
            self.remove_child(path, h - 1, at);
            return;
        }
        let moved = if c > 0 {
            // The node is the right one: it takes the left one's last child, whose subtree's
            // smallest key becomes the parent's separator.
            let l = self.inners.get_mut(left);
            l.len -= 1;
            let (up, kid, count) = l.get(ll - 1);
            let t = self.inners.get_mut(right);
            t.shift(0..rl, 1);
            t.set(0, sep, kid, count);
            (t.scores[1], t.ids[1]) = sep;
            t.len += 1;
            (up, count)
        } else {
            // The node is the left one: it takes the right one's first child, after the
            // parent's separator; the right one's next separator goes up.
            let r = self.inners.get_mut(right);
            let ((_, kid, count), up) = (r.get(0), (r.scores[1], r.ids[1]));
            r.shift(1..rl, 0);
            r.len -= 1;
            let t = self.inners.get_mut(left);
            t.set(ll, sep, kid, count);
            t.len += 1;
            (up, count)
        };
        let ((up, count), gn) = (moved, self.inners.get_mut(g));
        (gn.scores[at], gn.ids[at]) = up;
        if c > 0 {
            gn.counts[at - 1] -= count;
            gn.counts[at] += count;
        } else {
            gn.counts[at - 1] += count;
            gn.counts[at] -= count;
        }
    }
}

// --- the set -----------------------------------------------------------------------------

/// A sorted set past the listpack limits (see the module docs).
#[derive(Clone)]
pub struct BigZSet {
    cells: Cells,
    tree: Tree,
    map: SegTable<u32>,
    /// Heap bytes of members too long to be inline.
    extra: usize,
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
        self.len() == other.len()
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
            cells: Pool::new(),
            tree: Tree::new(),
            map: SegTable::new(),
            extra: 0,
        }
    }

    /// Number of members.
    #[inline]
    pub fn len(&self) -> usize {
        self.tree.len
    }

    /// Whether there are no members.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.tree.len == 0
    }

    /// Heap bytes owned.
    pub fn heap_size(&self) -> usize {
        self.cells.bytes() + self.tree.bytes() + self.extra + self.map.table_bytes()
    }

    // --- members -----------------------------------------------------------------------

    /// The member `x`.
    #[inline]
    pub fn member(&self, x: NodeId) -> &[u8] {
        self.cells.get(x.0).member.as_slice()
    }

    /// The score of member `x`.
    #[inline]
    pub fn score_of(&self, x: NodeId) -> f64 {
        self.cells.get(x.0).score
    }

    /// The member holding `member`.
    #[inline]
    pub fn find(&self, member: &[u8]) -> Option<NodeId> {
        self.find_hashed(member, member_hash(member))
    }

    /// The member holding `member`, whose [`member_hash`] is `hash`.
    #[inline]
    pub fn find_hashed(&self, member: &[u8], hash: u64) -> Option<NodeId> {
        let cells = &self.cells;
        self.map
            .find_by(hash, |&x| cells.get(x).member.as_slice() == member)
            .map(|&x| NodeId(x))
    }

    /// The score of `member`.
    #[inline]
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.find(member).map(|x| self.score_of(x))
    }

    // --- positions ---------------------------------------------------------------------

    /// The member at position `p`.
    #[inline]
    pub fn id_at(&self, p: Pos) -> NodeId {
        NodeId(self.tree.entry(p).1)
    }

    /// The member bytes at position `p`.
    #[inline]
    pub fn member_at(&self, p: Pos) -> &[u8] {
        self.member(self.id_at(p))
    }

    /// The score at position `p`.
    #[inline]
    pub fn score_at(&self, p: Pos) -> f64 {
        self.tree.entry(p).0
    }

    /// The first position (lowest score).
    #[inline]
    pub fn first(&self) -> Option<Pos> {
        self.tree.first()
    }

    /// The last position (highest score).
    #[inline]
    pub fn last(&self) -> Option<Pos> {
        self.tree.last()
    }

    /// The position after `p`.
    #[inline]
    pub fn next(&self, p: Pos) -> Option<Pos> {
        self.tree.next(p)
    }

    /// The position before `p`.
    #[inline]
    pub fn prev(&self, p: Pos) -> Option<Pos> {
        self.tree.prev(p)
    }

    /// Every `(member, score)` in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], f64)> + '_ {
        let mut p = self.first();
        std::iter::from_fn(move || {
            let at = p?;
            p = self.next(at);
            Some((self.member_at(at), self.score_at(at)))
        })
    }

    // --- changes -----------------------------------------------------------------------

    /// Adds `member`, known to be absent, with `score` (not NaN).
    pub fn insert_new(&mut self, member: &[u8], score: f64) -> NodeId {
        self.insert_new_hashed(member, member_hash(member), score)
    }

    /// [`BigZSet::insert_new`] given the member's [`member_hash`] (ZADD computed it to look the
    /// member up).
    pub fn insert_new_hashed(&mut self, member: &[u8], hash: u64, score: f64) -> NodeId {
        let x = self.cells.alloc();
        let m = SmallBytes::new(member);
        self.extra += m.heap_size();
        *self.cells.get_mut(x) = Cell { member: m, score };
        let cells = &self.cells;
        let stored = cells.get(x).member.as_slice();
        self.tree.insert(cells, score, x, stored);
        self.map
            .insert_unique_by(hash, x, |&y| member_hash(cells.get(y).member.as_slice()));
        NodeId(x)
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

    /// Changes member `x`'s score (not NaN). In place when it keeps its order inside its leaf
    /// (a small ZINCRBY); otherwise its entry moves.
    pub fn update_score(&mut self, x: NodeId, score: f64) {
        let cells = &self.cells;
        let cell = cells.get(x.0);
        let key = Key {
            score: cell.score,
            member: cell.member.as_slice(),
        };
        let new = Key { score, ..key };
        let [(path, slot), (to, to_slot)] = self.tree.find2(cells, &key, &new);
        let leaf = self.tree.leaves.get(path.leaf);
        debug_assert_eq!(leaf.ids[slot], x.0);
        let len = leaf.len as usize;
        if slot > 0
            && slot + 1 < len
            && before(
                cells,
                leaf.scores[slot - 1],
                leaf.ids[slot - 1],
                &new,
                false,
            )
            && !before(cells, leaf.scores[slot + 1], leaf.ids[slot + 1], &new, true)
        {
            // Strictly between its neighbours, and not the leaf's first key (which may be a
            // separator): the order is kept.
            self.tree.leaves.get_mut(path.leaf).scores[slot] = score;
        } else {
            // Where it goes was found with it still in place: one slot less if it left the
            // same leaf before that slot; found again if the removal changed more than a leaf.
            let (_, simple) = self.tree.remove_simple(&path, slot);
            if simple {
                let at = if to.leaf == path.leaf && to_slot > slot {
                    to_slot - 1
                } else {
                    to_slot
                };
                self.tree.insert_at(&to, at, score, x.0);
            } else {
                let member = cells.get(x.0).member.as_slice();
                self.tree.insert(cells, score, x.0, member);
            }
        }
        self.cells.get_mut(x.0).score = score;
    }

    /// Removes `member`; returns its score if it was there.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let x = self.find(member)?;
        let score = self.score_of(x);
        self.remove_node(x);
        Some(score)
    }

    /// Removes member `x`.
    pub fn remove_node(&mut self, x: NodeId) {
        let cell = self.cells.get(x.0);
        let key = Key {
            score: cell.score,
            member: cell.member.as_slice(),
        };
        let (path, slot) = self.tree.find(&self.cells, &key);
        let removed = self.tree.remove(&path, slot);
        debug_assert_eq!(removed, x.0);
        self.forget(x.0);
    }

    /// Removes member `x` from the map and frees its cell (its entry already gone).
    fn forget(&mut self, x: u32) {
        let h = member_hash(self.cells.get(x).member.as_slice());
        self.map.remove_by(h, |&y| y == x);
        let cell = self.cells.release(x);
        self.extra -= cell.member.heap_size();
    }

    // --- ranks and ranges --------------------------------------------------------------

    /// The 0-based rank of member `x` (Redis's `zslGetRank`, minus one).
    pub fn rank_of(&self, x: NodeId) -> usize {
        let cells = &self.cells;
        let cell = cells.get(x.0);
        let key = Key {
            score: cell.score,
            member: cell.member.as_slice(),
        };
        self.tree
            .lower_bound(|s, id| before(cells, s, id, &key, false))
            .1
    }

    /// The position of 0-based rank `rank`.
    pub fn at_rank(&self, rank: usize) -> Option<Pos> {
        self.tree.at_rank(rank)
    }

    /// The first (or `last`) position of a score or lex range and its 0-based rank: `value`
    /// reads what the range compares (the score or the member) from an entry, and `gte_min`,
    /// `lte_max` test it against the range's ends.
    fn range_end<V: Copy>(
        &self,
        empty: bool,
        value: impl Fn(f64, u32) -> V,
        gte_min: impl Fn(V) -> bool,
        lte_max: impl Fn(V) -> bool,
        last: bool,
    ) -> Option<(Pos, usize)> {
        let at = |p: Pos| {
            let (s, id) = self.tree.entry(p);
            value(s, id)
        };
        // Whether some of the set may be in the range (Redis's `zslIsInRange`).
        let (first, end) = (self.first()?, self.last()?);
        if empty || !gte_min(at(end)) || !lte_max(at(first)) {
            return None;
        }
        if last {
            let (p, rank) = self.tree.lower_bound(|s, id| lte_max(value(s, id)));
            let last = match p {
                Some(p) => self.prev(p)?,
                None => end,
            };
            gte_min(at(last)).then(|| (last, rank - 1))
        } else {
            let (p, rank) = self.tree.lower_bound(|s, id| !gte_min(value(s, id)));
            p.filter(|&p| lte_max(at(p))).map(|p| (p, rank))
        }
    }

    /// The first position in `r` and its 0-based rank.
    pub fn first_in_score(&self, r: &ScoreRange) -> Option<(Pos, usize)> {
        self.range_end(
            r.is_empty(),
            |s, _| s,
            |v| r.gte_min(v),
            |v| r.lte_max(v),
            false,
        )
    }

    /// The last position in `r` and its 0-based rank.
    pub fn last_in_score(&self, r: &ScoreRange) -> Option<(Pos, usize)> {
        self.range_end(
            r.is_empty(),
            |s, _| s,
            |v| r.gte_min(v),
            |v| r.lte_max(v),
            true,
        )
    }

    /// The member bytes of the entry of member number `id`.
    #[inline]
    fn member_of(&self, _: f64, id: u32) -> &[u8] {
        self.cells.get(id).member.as_slice()
    }

    /// The first position in `r` and its 0-based rank.
    pub fn first_in_lex(&self, r: &LexRange) -> Option<(Pos, usize)> {
        let m = |s, id| self.member_of(s, id);
        self.range_end(r.is_empty(), m, |v| r.gte_min(v), |v| r.lte_max(v), false)
    }

    /// The last position in `r` and its 0-based rank.
    pub fn last_in_lex(&self, r: &LexRange) -> Option<(Pos, usize)> {
        let m = |s, id| self.member_of(s, id);
        self.range_end(r.is_empty(), m, |v| r.gte_min(v), |v| r.lte_max(v), true)
    }

    /// Removes the members with 0-based ranks `start..=end` (in range); returns how many.
    pub fn remove_range_by_rank(&mut self, start: usize, end: usize) -> usize {
        if start > end || start >= self.len() {
            return 0;
        }
        let n = end.min(self.len() - 1) - start + 1;
        // A leaf's run at a time: one search per leaf, not per member.
        let mut left = n;
        while left > 0 {
            let (path, slot) = self.tree.find_rank(start);
            let in_leaf = self.tree.leaves.get(path.leaf).len as usize - slot;
            let (ids, k) = self.tree.remove_run(&path, slot, left.min(in_leaf));
            for &x in &ids[..k] {
                self.forget(x);
            }
            left -= k;
        }
        n
    }

    /// Removes the `count(first)` members from `first` on (`count` walks them); returns how
    /// many.
    fn remove_run(
        &mut self,
        first: Option<(Pos, usize)>,
        keep: impl Fn(&Self, Pos) -> bool,
    ) -> usize {
        let Some((p, rank)) = first else {
            return 0;
        };
        let mut n = 0;
        let mut at = Some(p);
        while let Some(q) = at.filter(|&q| keep(self, q)) {
            n += 1;
            at = self.next(q);
        }
        self.remove_range_by_rank(rank, rank + n - 1)
    }

    /// Removes the members whose score is in `r`; returns how many.
    pub fn remove_range_by_score(&mut self, r: &ScoreRange) -> usize {
        let first = self.first_in_score(r);
        self.remove_run(first, |z, p| r.lte_max(z.score_at(p)))
    }

    /// Removes the members in lex range `r`; returns how many.
    pub fn remove_range_by_lex(&mut self, r: &LexRange) -> usize {
        let first = self.first_in_lex(r);
        self.remove_run(first, |z, p| r.lte_max(z.member_at(p)))
    }

    // --- random and scan ---------------------------------------------------------------

    /// A uniformly random member.
    pub fn random(&self, rng: &mut impl Rng) -> Option<NodeId> {
        self.map.random(rng).map(|&x| NodeId(x))
    }

    /// One ZSCAN step over the map (see [`SegTable::scan_by`]): passes `(member, score)`.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        let cells = &self.cells;
        self.map.scan_by(
            cursor,
            count,
            |&x| member_hash(cells.get(x).member.as_slice()),
            |&x| {
                let c = cells.get(x);
                f(c.member.as_slice(), c.score)
            },
        )
    }

    /// Checks every invariant (tests).
    #[cfg(test)]
    pub fn check(&self) {
        let t = &self.tree;
        // Leaves in order, linked both ways, each entry's cell and map entry agreeing.
        let mut prev: Option<(f64, u32)> = None;
        let mut n = 0;
        let mut leaf = t.head;
        let mut back = NONE;
        while leaf != NONE {
            let l = t.leaves.get(leaf);
            assert_eq!(l.prev, back, "leaf back link");
            assert!(l.len > 0 || t.height == 0, "empty leaf");
            for i in 0..l.len as usize {
                let (s, id) = (l.scores[i], l.ids[i]);
                assert_eq!(
                    self.cells.get(id).score.to_bits(),
                    s.to_bits(),
                    "cell score"
                );
                if let Some((ps, pid)) = prev {
                    let k = Key {
                        score: s,
                        member: self.cells.get(id).member.as_slice(),
                    };
                    assert!(before(&self.cells, ps, pid, &k, false), "order");
                }
                assert_eq!(
                    self.find(self.member(NodeId(id))),
                    Some(NodeId(id)),
                    "map entry"
                );
                prev = Some((s, id));
                n += 1;
            }
            back = leaf;
            leaf = l.next;
        }
        assert_eq!(t.tail, back);
        assert_eq!(n, t.len);
        assert_eq!(self.map.len(), t.len);
        let extra: usize = self
            .map
            .iter()
            .map(|&x| self.cells.get(x).member.heap_size())
            .sum();
        assert_eq!(extra, self.extra, "heap accounting");
        // Counts, separators and fill, from the root.
        let (count, _) = self.check_node(t.root, t.height, true);
        assert_eq!(count, t.len);
        for i in 0..t.len {
            assert_eq!(self.rank_of(self.id_at(t.at_rank(i).unwrap())), i);
        }
    }

    /// Checks the subtree of `node` at `height` levels above the leaves; returns its count and
    /// smallest key.
    #[cfg(test)]
    fn check_node(&self, node: u32, height: usize, root: bool) -> (usize, Option<(f64, u32)>) {
        let t = &self.tree;
        if height == 0 {
            let l = t.leaves.get(node);
            // The last leaf may be short: appending splits off a leaf of one entry.
            assert!(root || node == t.tail || l.len as usize >= MIN, "leaf fill");
            return (l.len as usize, (l.len > 0).then(|| (l.scores[0], l.ids[0])));
        }
        let n = t.inners.get(node);
        assert!(n.len >= 2, "inner with one child");
        assert!(root || n.len as usize >= MIN, "inner fill");
        let mut total = 0;
        let mut min = None;
        for i in 0..n.len as usize {
            let (count, kmin) = self.check_node(n.kids[i], height - 1, false);
            assert_eq!(n.counts[i] as usize, count, "count");
            if i == 0 {
                min = kmin;
            } else {
                let k = kmin.expect("non-empty child");
                assert_eq!(
                    (n.scores[i].to_bits(), n.ids[i]),
                    (k.0.to_bits(), k.1),
                    "separator"
                );
            }
            total += count;
        }
        (total, min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_update_remove_keep_invariants() {
        let mut z = BigZSet::new();
        for i in 0..2000u32 {
            z.insert_new(format!("m{i}").as_bytes(), f64::from(i % 97));
        }
        z.check();
        assert_eq!(z.len(), 2000);
        assert!(z.tree.height >= 3, "a deep tree at test node size");
        for i in (0..2000u32).step_by(3) {
            z.update_score(
                z.find(format!("m{i}").as_bytes()).unwrap(),
                f64::from(i) * 0.5,
            );
        }
        z.check();
        // Small moves stay in place or move by one.
        for i in (1..2000u32).step_by(7) {
            let x = z.find(format!("m{i}").as_bytes()).unwrap();
            z.update_score(x, z.score_of(x) + 0.001);
        }
        z.check();
        for i in (0..2000u32).step_by(2) {
            assert!(z.remove(format!("m{i}").as_bytes()).is_some());
        }
        z.check();
        assert_eq!(z.len(), 1000);
        for r in 0..z.len() {
            let p = z.at_rank(r).unwrap();
            assert_eq!(z.rank_of(z.id_at(p)), r);
        }
        assert_eq!(z.at_rank(z.len()), None);
        // Freed cells are reused.
        let used = z.cells.used;
        for i in 0..500u32 {
            z.insert_new(format!("n{i}").as_bytes(), 1.0);
        }
        assert_eq!(z.cells.used, used);
        z.check();
        // Down to nothing, from both ends and the middle, and back.
        while let Some(p) = z.first() {
            z.remove_node(z.id_at(p));
            if let Some(p) = z.last() {
                z.remove_node(z.id_at(p));
            }
            if let Some(p) = z.at_rank(z.len() / 2) {
                z.remove_node(z.id_at(p));
            }
            if z.len().is_multiple_of(50) {
                z.check();
            }
        }
        z.check();
        assert_eq!(z.tree.height, 0);
        z.insert_new(b"again", 1.0);
        z.check();
    }

    /// Random adds, moves (big and small), removals and range removals against a model.
    #[test]
    fn random_operations_match_a_model() {
        use rand::{Rng, SeedableRng};
        use std::collections::{BTreeSet, HashMap};
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let mut z = BigZSet::new();
        let mut scores: HashMap<Vec<u8>, f64> = HashMap::new();
        let key = |s: f64| s.to_bits() ^ (1 << 63);
        for step in 0..30_000u32 {
            let m = format!("m{}", rng.gen_range(0..3000)).into_bytes();
            match rng.gen_range(0..10) {
                0..=4 => {
                    let s = f64::from(rng.gen_range(0..500u32));
                    z.set(&m, s);
                    scores.insert(m, s);
                }
                5 => {
                    if let Some(x) = z.find(&m) {
                        let s = z.score_of(x) + 0.25;
                        z.update_score(x, s);
                        scores.insert(m, s);
                    }
                }
                6..=8 => assert_eq!(z.remove(&m), scores.remove(&m)),
                _ => {
                    let a = f64::from(rng.gen_range(0..500u32));
                    let r = ScoreRange {
                        min: a,
                        max: a + 3.0,
                        minex: false,
                        maxex: false,
                    };
                    let before = scores.len();
                    scores.retain(|_, s| !(r.gte_min(*s) && r.lte_max(*s)));
                    assert_eq!(z.remove_range_by_score(&r), before - scores.len());
                }
            }
            if step.is_multiple_of(3000) {
                z.check();
            }
        }
        z.check();
        let want: BTreeSet<(u64, Vec<u8>)> =
            scores.iter().map(|(m, &s)| (key(s), m.clone())).collect();
        let got: Vec<(u64, Vec<u8>)> = z.iter().map(|(m, s)| (key(s), m.to_vec())).collect();
        assert_eq!(got, want.into_iter().collect::<Vec<_>>());
    }

    /// Churn at a steady size, over many seeds, checked often: every rebalancing case (leaves
    /// and inner nodes, borrowing from either side, merging with either side) happens.
    #[test]
    fn churn_checked_often() {
        use rand::{Rng, SeedableRng};
        for seed in 0..40 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let mut z = BigZSet::new();
            let size = rng.gen_range(50..400);
            for step in 0..4000u32 {
                let m = format!("m{}", rng.gen_range(0..size)).into_bytes();
                if rng.gen_bool(0.5) {
                    z.set(&m, f64::from(rng.gen_range(0..1000u32)));
                } else {
                    z.remove(&m);
                }
                if step.is_multiple_of(50) {
                    z.check();
                }
            }
            z.check();
        }
    }

    /// A move whose removal merges the last two leaves and lowers the tree: the new place,
    /// found before the removal, must be found again (the property test's minimal case).
    #[test]
    fn move_that_lowers_the_tree() {
        let mut z = BigZSet::new();
        for (m, s) in [
            (8, 0),
            (0, 0),
            (13, -6),
            (16, 3),
            (1, -6),
            (2, 0),
            (9, 0),
            (3, 0),
            (4, 0),
            (36, 3),
        ] {
            z.set(format!("m{m:02}").as_bytes(), f64::from(s) / 2.0);
        }
        let zero = ScoreRange {
            min: 0.0,
            max: 0.0,
            minex: false,
            maxex: false,
        };
        assert_eq!(z.remove_range_by_score(&zero), 6);
        assert_eq!(z.tree.height, 1);
        z.set(b"m36", 3.5);
        z.check();
        assert_eq!(z.tree.height, 0);
        assert_eq!(z.iter().last(), Some((&b"m36"[..], 3.5)));
    }

    #[test]
    fn growing_scores_fill_leaves() {
        let mut z = BigZSet::new();
        for i in 0..1000u32 {
            z.insert_new(format!("t{i}").as_bytes(), f64::from(i));
        }
        z.check();
        let leaves = z.tree.leaves.used as usize - z.tree.leaves.free.len();
        assert!(leaves <= 1000 / B + 1, "{leaves} leaves");
        // Iteration both ways.
        let fwd: Vec<f64> = z.iter().map(|(_, s)| s).collect();
        assert_eq!(fwd, (0..1000).map(f64::from).collect::<Vec<_>>());
        let mut back = Vec::new();
        let mut p = z.last();
        while let Some(q) = p {
            back.push(z.score_at(q));
            p = z.prev(q);
        }
        back.reverse();
        assert_eq!(back, fwd);
    }

    #[test]
    fn range_removals_keep_invariants() {
        let mut z = BigZSet::new();
        for i in 0..3000u32 {
            z.insert_new(format!("m{i:05}").as_bytes(), f64::from(i / 3));
        }
        let r = ScoreRange {
            min: 100.0,
            max: 600.0,
            minex: false,
            maxex: true,
        };
        assert_eq!(z.remove_range_by_score(&r), 1500);
        z.check();
        assert_eq!(z.remove_range_by_rank(10, 1009), 1000);
        z.check();
        assert_eq!(z.remove_range_by_rank(0, usize::MAX - 1), 500);
        z.check();
        assert!(z.is_empty());
    }
}
