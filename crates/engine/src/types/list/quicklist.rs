//! [`QuickList`]: the list representation, a deque of nodes, each node a packed buffer of
//! elements (what Redis 7.0 calls a quicklist of listpacks; OBJECT ENCODING says `quicklist`).
//!
//! # Node format
//! A node is one `Vec<u8>` holding its entries back to back, and its entry count. An entry is
//! `[tag][payload][back-length]`:
//! - tag `0x00..=0x7F`: the integer 0..127 itself, no payload;
//! - tag `0x80..=0xBF`: a string of `tag - 0x80` (0..63) bytes, which follow;
//! - tag `0xC0..=0xC7`: a signed integer of `tag - 0xBF` (1..8) little-endian bytes;
//! - tag `0xD0`: a string whose length follows as a LEB128 varint, then its bytes;
//! - back-length: the size of tag + payload, as a varint written backwards (its low 7 bits in
//!   the last byte; every byte but the first has its top bit set), so an entry can be found
//!   from its end. Forward walks skip it (its size follows from the size it encodes).
//!
//! Strings that are canonical 64-bit integers are stored as integers and read back as the same
//! bytes (the tag scheme is [`crate::lp`]'s, so [`LpVal::encoded_len`] gives tag + payload).
//!
//! # Invariants
//! - No node is empty; `len` is the sum of the node counts.
//! - A node respects the fill limits ([`Fill`], from `list-max-listpack-size`) as they were when
//!   it last grew, except a node holding a single element, which may be any size (an element
//!   too big for any node gets a node of its own).
//!
//! # Costs
//! Push and pop at either end touch one node: O(1) amortised, plus a move of at most one node's
//! bytes for the head (as Redis's listpack insertion). A pop from the tail reads the last
//! entry's back-length and truncates: no scan. Access by index walks node counts from the nearer
//! end, then entries from the nearer end of the node: O(nodes + node size). Inserting into a
//! full node splits it; removals in the middle merge a node with a neighbour when both fit in
//! one.

use std::collections::VecDeque;

use smallvec::SmallVec;

use crate::lp::{LpVal, Needle};

const TAG_STR6: u8 = 0x80;
const TAG_INT: u8 = 0xC0;
const TAG_STR: u8 = 0xD0;

/// Redis's `SIZE_SAFETY_LIMIT`: a count-limited node never grows past this many bytes.
const SIZE_SAFETY_LIMIT: usize = 8192;
/// Node byte limits for `list-max-listpack-size` -1 .. -5.
const SIZE_LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// Redis's `FILL_MAX`: the largest entry count per node.
const FILL_MAX: i64 = (1 << 15) - 1;

/// How full a node may get, from `list-max-listpack-size` (clamped to -5..=32767 as Redis's
/// `quicklistSetFill` does): a positive value limits entries per node (and bytes to 8 KiB),
/// -1..-5 limit a node's bytes to 4, 8, 16, 32 or 64 KiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill {
    max_count: usize,
    max_bytes: usize,
}

impl Fill {
    /// The limits for a `list-max-listpack-size` value.
    pub fn new(list_max_listpack_size: i64) -> Fill {
        let fill = list_max_listpack_size.clamp(-5, FILL_MAX);
        if fill < 0 {
            Fill {
                max_count: usize::MAX,
                max_bytes: SIZE_LEVELS[(-fill - 1) as usize],
            }
        } else {
            Fill {
                max_count: fill as usize,
                max_bytes: SIZE_SAFETY_LIMIT,
            }
        }
    }

    /// Whether a node of `count` entries and `bytes` bytes may take one more entry of `add`
    /// bytes (Redis's `_quicklistNodeAllowInsert`).
    #[inline]
    fn allows(&self, count: usize, bytes: usize, add: usize) -> bool {
        count < self.max_count && bytes + add <= self.max_bytes
    }

    /// Whether two nodes fit in one.
    #[inline]
    fn fits(&self, a: &Node, b: &Node) -> bool {
        a.count as usize + b.count as usize <= self.max_count
            && a.buf.len() + b.buf.len() <= self.max_bytes
    }
}

impl Default for Fill {
    /// Redis's default, `list-max-listpack-size -2` (8 KiB nodes).
    fn default() -> Self {
        Fill::new(-2)
    }
}

/// Bytes of a LEB128 varint of `n`.
#[inline]
fn varint_len(mut n: usize) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

/// Bytes of an integer's payload (1..=8).
#[inline]
fn int_width(n: i64) -> usize {
    let magnitude = if n < 0 { !n } else { n };
    // Significant bits plus the sign bit.
    let bits = 64 - magnitude.leading_zeros() as usize + 1;
    bits.div_ceil(8).clamp(1, 8)
}

/// The entry size of `v`: tag, payload and back-length.
#[inline]
fn entry_size(v: LpVal<'_>) -> usize {
    let enc = v.encoded_len();
    enc + varint_len(enc)
}

/// Writes `v` as one entry into `dst`, which is exactly [`entry_size`] bytes.
fn encode_into(dst: &mut [u8], v: LpVal<'_>) {
    let text;
    let v = match v {
        // Lists never hold doubles; store the text if one comes.
        LpVal::F64(f) => {
            text = flint_protocol::format_double(f);
            LpVal::Str(text.as_bytes())
        }
        other => other,
    };
    let enc = v.encoded_len();
    // Tag and any length or integer bytes, then the string payload.
    let mut head = [0u8; 11];
    let mut hl = 1;
    let mut payload: &[u8] = &[];
    match v {
        LpVal::Int(n) if (0..128).contains(&n) => head[0] = n as u8,
        LpVal::Int(n) => {
            let w = int_width(n);
            head[0] = TAG_INT + (w as u8 - 1);
            head[1..1 + w].copy_from_slice(&n.to_le_bytes()[..w]);
            hl += w;
        }
        LpVal::Str(s) if s.len() < 64 => {
            head[0] = TAG_STR6 + s.len() as u8;
            payload = s;
        }
        LpVal::Str(s) => {
            head[0] = TAG_STR;
            let mut n = s.len();
            while n >= 0x80 {
                head[hl] = (n as u8 & 0x7F) | 0x80;
                hl += 1;
                n >>= 7;
            }
            head[hl] = n as u8;
            hl += 1;
            payload = s;
        }
        LpVal::F64(_) => {}
    }
    if let Some(d) = dst.get_mut(..hl) {
        d.copy_from_slice(&head[..hl]);
    }
    if let Some(d) = dst.get_mut(hl..hl + payload.len()) {
        d.copy_from_slice(payload);
    }
    // The back-length, low bits last.
    if let Some(back) = dst.get_mut(enc..) {
        let n = back.len();
        let mut l = enc;
        for i in (0..n).rev() {
            let c = (l & 0x7F) as u8;
            l >>= 7;
            back[i] = if i == 0 { c } else { c | 0x80 };
        }
    }
}

/// The entry at `pos` of `buf` and the offset of the next one. A truncated entry (never
/// written here) reads as an empty string ending the node.
#[inline]
fn decode(buf: &[u8], pos: usize) -> (LpVal<'_>, usize) {
    let Some(&tag) = buf.get(pos) else {
        return (LpVal::Str(&[]), buf.len());
    };
    let p = pos + 1;
    let (v, enc_end) = match tag {
        0x00..=0x7F => (LpVal::Int(tag as i64), p),
        0x80..=0xBF => {
            let end = p + (tag - TAG_STR6) as usize;
            match buf.get(p..end) {
                Some(s) => (LpVal::Str(s), end),
                None => return (LpVal::Str(&[]), buf.len()),
            }
        }
        0xC0..=0xC7 => {
            let w = (tag - TAG_INT) as usize + 1;
            let Some(bytes) = buf.get(p..p + w) else {
                return (LpVal::Str(&[]), buf.len());
            };
            let mut le = [0u8; 8];
            le[..w].copy_from_slice(bytes);
            if bytes[w - 1] & 0x80 != 0 {
                for b in &mut le[w..] {
                    *b = 0xFF;
                }
            }
            (LpVal::Int(i64::from_le_bytes(le)), p + w)
        }
        TAG_STR => {
            let mut len = 0usize;
            let mut shift = 0;
            let mut q = p;
            while let Some(&b) = buf.get(q) {
                q += 1;
                len |= ((b & 0x7F) as usize) << shift;
                shift += 7;
                if b & 0x80 == 0 || shift >= 63 {
                    break;
                }
            }
            let end = q.saturating_add(len);
            match buf.get(q..end) {
                Some(s) => (LpVal::Str(s), end),
                None => return (LpVal::Str(&[]), buf.len()),
            }
        }
        _ => return (LpVal::Str(&[]), buf.len()),
    };
    (v, enc_end + varint_len(enc_end - pos))
}

/// The start of the entry that ends at `end` of `buf` (read from its back-length).
#[inline]
fn start_before(buf: &[u8], end: usize) -> usize {
    let mut p = end;
    let mut l = 0usize;
    let mut shift = 0;
    while p > 0 {
        p -= 1;
        let b = buf.get(p).copied().unwrap_or(0);
        l |= ((b & 0x7F) as usize) << shift;
        shift += 7;
        if b & 0x80 == 0 || shift >= 63 {
            break;
        }
    }
    p.saturating_sub(l)
}

/// One node: packed entries and how many there are.
#[derive(Clone, Default)]
struct Node {
    buf: Vec<u8>,
    count: u32,
}

impl Node {
    /// A node holding the one entry `v`.
    fn with(v: LpVal<'_>) -> Node {
        let size = entry_size(v);
        let mut buf = vec![0u8; size];
        encode_into(&mut buf, v);
        Node { buf, count: 1 }
    }

    /// Opens a gap of `n` bytes at `pos`, growing the buffer towards `limit` bytes at most
    /// (doubling otherwise would leave full nodes with up to twice their size allocated).
    fn open_gap(&mut self, pos: usize, n: usize, limit: usize) -> &mut [u8] {
        let old = self.buf.len();
        let need = old + n;
        if need > self.buf.capacity() {
            let target = (self.buf.capacity() * 2).clamp(need, limit.max(need));
            self.buf.reserve_exact(target - old);
        }
        self.buf.resize(need, 0);
        self.buf.copy_within(pos..old, pos + n);
        &mut self.buf[pos..pos + n]
    }

    /// Inserts entry `v` at byte offset `pos`.
    fn insert_at(&mut self, pos: usize, v: LpVal<'_>, limit: usize) {
        let size = entry_size(v);
        encode_into(self.open_gap(pos, size, limit), v);
        self.count += 1;
    }

    /// Byte offset of the entry `local` (0-based) of this node, walking from the nearer end.
    fn offset_of(&self, local: usize) -> usize {
        let count = self.count as usize;
        if local <= count / 2 {
            let mut pos = 0;
            for _ in 0..local {
                pos = decode(&self.buf, pos).1;
            }
            pos
        } else {
            let mut pos = self.buf.len();
            for _ in local..count {
                pos = start_before(&self.buf, pos);
            }
            pos
        }
    }

    /// Removes the entry at byte offset `pos`.
    fn remove_at(&mut self, pos: usize) {
        let next = decode(&self.buf, pos).1;
        self.buf.drain(pos..next);
        self.count -= 1;
    }
}

/// A list (see the module docs).
#[derive(Clone, Default)]
pub struct QuickList {
    nodes: VecDeque<Node>,
    len: usize,
}

impl std::fmt::Debug for QuickList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for QuickList {
    /// Lists are equal when their elements are, whatever their node layout.
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl QuickList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// A list of `items`, in order.
    pub fn from_items<'a>(items: impl IntoIterator<Item = &'a [u8]>, fill: Fill) -> Self {
        let mut l = QuickList::new();
        for it in items {
            l.push_back(it, fill);
        }
        l
    }

    /// Number of elements.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no elements.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Heap bytes owned.
    pub fn heap_size(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.nodes.iter().map(|n| n.buf.capacity()).sum::<usize>()
    }

    /// Adds `v` at the head.
    pub fn push_front(&mut self, v: &[u8], fill: Fill) {
        let v = LpVal::from_bytes(v);
        let size = entry_size(v);
        self.len += 1;
        if let Some(head) = self.nodes.front_mut() {
            if fill.allows(head.count as usize, head.buf.len(), size) {
                head.insert_at(0, v, fill.max_bytes);
                return;
            }
        }
        self.nodes.push_front(Node::with(v));
    }

    /// Adds `v` at the tail.
    pub fn push_back(&mut self, v: &[u8], fill: Fill) {
        let v = LpVal::from_bytes(v);
        let size = entry_size(v);
        self.len += 1;
        if let Some(tail) = self.nodes.back_mut() {
            if fill.allows(tail.count as usize, tail.buf.len(), size) {
                let end = tail.buf.len();
                tail.insert_at(end, v, fill.max_bytes);
                return;
            }
        }
        self.nodes.push_back(Node::with(v));
    }

    /// The first element.
    #[inline]
    pub fn front(&self) -> Option<LpVal<'_>> {
        self.nodes.front().map(|n| decode(&n.buf, 0).0)
    }

    /// The last element.
    #[inline]
    pub fn back(&self) -> Option<LpVal<'_>> {
        self.nodes
            .back()
            .map(|n| decode(&n.buf, start_before(&n.buf, n.buf.len())).0)
    }

    /// Removes and returns the first element, as bytes.
    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let v = self.front()?.to_vec();
        self.remove_front(1);
        Some(v)
    }

    /// Removes and returns the last element, as bytes.
    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let v = self.back()?.to_vec();
        self.remove_back(1);
        Some(v)
    }

    /// Removes the first `n` elements (all of them if there are fewer).
    pub fn remove_front(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let Some(head) = self.nodes.front_mut() else {
                break;
            };
            let count = head.count as usize;
            if count <= n {
                n -= count;
                self.nodes.pop_front();
                continue;
            }
            let mut pos = 0;
            for _ in 0..n {
                pos = decode(&head.buf, pos).1;
            }
            head.buf.drain(..pos);
            head.count -= n as u32;
            break;
        }
    }

    /// Removes the last `n` elements (all of them if there are fewer).
    pub fn remove_back(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let Some(tail) = self.nodes.back_mut() else {
                break;
            };
            let count = tail.count as usize;
            if count <= n {
                n -= count;
                self.nodes.pop_back();
                continue;
            }
            let mut pos = tail.buf.len();
            for _ in 0..n {
                pos = start_before(&tail.buf, pos);
            }
            tail.buf.truncate(pos);
            tail.count -= n as u32;
            break;
        }
    }

    /// Where element `i` is: `(node, byte offset, index within the node)`, walking from the
    /// nearer end of the list.
    fn locate(&self, i: usize) -> Option<(usize, usize, usize)> {
        if i >= self.len {
            return None;
        }
        let (ni, local) = if i < self.len / 2 {
            let mut acc = 0;
            let mut found = None;
            for (ni, n) in self.nodes.iter().enumerate() {
                let c = n.count as usize;
                if i < acc + c {
                    found = Some((ni, i - acc));
                    break;
                }
                acc += c;
            }
            found?
        } else {
            // `start` is the index of the current node's first element.
            let mut start = self.len;
            let mut found = None;
            for (ni, n) in self.nodes.iter().enumerate().rev() {
                start -= n.count as usize;
                if i >= start {
                    found = Some((ni, i - start));
                    break;
                }
            }
            found?
        };
        let node = self.nodes.get(ni)?;
        Some((ni, node.offset_of(local), local))
    }

    /// Element `i` (0 is the head).
    pub fn get(&self, i: usize) -> Option<LpVal<'_>> {
        let (ni, pos, _) = self.locate(i)?;
        Some(decode(&self.nodes[ni].buf, pos).0)
    }

    /// Replaces element `i` with `v`; false if there is no element `i`.
    pub fn set(&mut self, i: usize, v: &[u8], fill: Fill) -> bool {
        let Some((ni, pos, _)) = self.locate(i) else {
            return false;
        };
        let val = LpVal::from_bytes(v);
        let new_size = entry_size(val);
        let node = &mut self.nodes[ni];
        let old_end = decode(&node.buf, pos).1;
        let old_size = old_end - pos;
        if node.count == 1 || node.buf.len() - old_size + new_size <= fill.max_bytes {
            if new_size == old_size {
                encode_into(&mut node.buf[pos..old_end], val);
            } else {
                node.buf.drain(pos..old_end);
                node.count -= 1;
                node.insert_at(pos, val, fill.max_bytes);
            }
            return true;
        }
        // Too big for its node: remove it, then insert the new value where it was (which
        // splits the node as needed).
        self.remove_at(i, fill);
        self.insert(i, v, fill);
        true
    }

    /// Inserts `v` before element `i` (`i >= len` appends).
    pub fn insert(&mut self, i: usize, v: &[u8], fill: Fill) {
        if i == 0 {
            return self.push_front(v, fill);
        }
        let Some((ni, pos, local)) = self.locate(i) else {
            return self.push_back(v, fill);
        };
        let val = LpVal::from_bytes(v);
        let size = entry_size(val);
        self.len += 1;
        let node = &mut self.nodes[ni];
        if fill.allows(node.count as usize, node.buf.len(), size) {
            node.insert_at(pos, val, fill.max_bytes);
            return;
        }
        if local == 0 {
            // Between two nodes: the previous node's tail, else a node of its own.
            if ni > 0 {
                let prev = &mut self.nodes[ni - 1];
                if fill.allows(prev.count as usize, prev.buf.len(), size) {
                    let end = prev.buf.len();
                    prev.insert_at(end, val, fill.max_bytes);
                    return;
                }
            }
            self.nodes.insert(ni, Node::with(val));
            return;
        }
        // Split the node at the insertion point, then put the value on either side.
        let tail = Node {
            buf: node.buf.split_off(pos),
            count: node.count - local as u32,
        };
        node.count = local as u32;
        self.nodes.insert(ni + 1, tail);
        let left = &mut self.nodes[ni];
        if fill.allows(left.count as usize, left.buf.len(), size) {
            let end = left.buf.len();
            left.insert_at(end, val, fill.max_bytes);
        } else {
            let right = &mut self.nodes[ni + 1];
            if fill.allows(right.count as usize, right.buf.len(), size) {
                right.insert_at(0, val, fill.max_bytes);
            } else {
                self.nodes.insert(ni + 1, Node::with(val));
            }
        }
        // The halves may now fit with their outer neighbours.
        let last = (ni + 2).min(self.nodes.len() - 1);
        self.merge_around(ni.saturating_sub(1), last, fill);
    }

    /// Removes element `i`; false if there is none.
    pub fn remove_at(&mut self, i: usize, fill: Fill) -> bool {
        let Some((ni, pos, _)) = self.locate(i) else {
            return false;
        };
        self.len -= 1;
        let node = &mut self.nodes[ni];
        node.remove_at(pos);
        if node.count == 0 {
            self.nodes.remove(ni);
            if ni > 0 && ni < self.nodes.len() {
                self.merge_around(ni - 1, ni, fill);
            }
        } else {
            let last = (ni + 1).min(self.nodes.len() - 1);
            self.merge_around(ni.saturating_sub(1), last, fill);
        }
        true
    }

    /// Merges adjacent nodes among `first..=last` (indices before any merge) while two
    /// neighbours fit in one node.
    fn merge_around(&mut self, first: usize, last: usize, fill: Fill) {
        let mut i = first;
        let mut last = last.min(self.nodes.len().saturating_sub(1));
        while i < last {
            if fill.fits(&self.nodes[i], &self.nodes[i + 1]) {
                if let Some(next) = self.nodes.remove(i + 1) {
                    let node = &mut self.nodes[i];
                    node.buf.extend_from_slice(&next.buf);
                    node.count += next.count;
                }
                last -= 1;
            } else {
                i += 1;
            }
        }
    }

    /// Removes up to `max` elements equal to `needle` (0: all of them), searching from the head,
    /// or from the tail when `from_tail`. Returns how many were removed.
    pub fn remove_matching(
        &mut self,
        needle: &Needle<'_>,
        max: usize,
        from_tail: bool,
        fill: Fill,
    ) -> usize {
        let quota = if max == 0 { usize::MAX } else { max };
        let mut removed = 0;
        let n = self.nodes.len();
        for step in 0..n {
            if removed == quota {
                break;
            }
            let ni = if from_tail { n - 1 - step } else { step };
            let node = &mut self.nodes[ni];
            // Matches of this node as (start, end) byte ranges, in order.
            let mut hits: SmallVec<[(usize, usize); 8]> = SmallVec::new();
            let mut pos = 0;
            while pos < node.buf.len() {
                let (v, next) = decode(&node.buf, pos);
                if v.matches(needle) {
                    hits.push((pos, next));
                }
                pos = next;
            }
            let take = hits.len().min(quota - removed);
            if take == 0 {
                continue;
            }
            let chosen = if from_tail {
                &hits[hits.len() - take..]
            } else {
                &hits[..take]
            };
            // Compact in place: move each kept run down over the removed entries.
            let mut write = chosen[0].0;
            for (k, &(_, end)) in chosen.iter().enumerate() {
                let run_end = chosen.get(k + 1).map_or(node.buf.len(), |c| c.0);
                node.buf.copy_within(end..run_end, write);
                write += run_end - end;
            }
            node.buf.truncate(write);
            node.count -= take as u32;
            removed += take;
        }
        if removed > 0 {
            self.len -= removed;
            self.nodes.retain(|n| n.count > 0);
            let last = self.nodes.len().saturating_sub(1);
            self.merge_around(0, last, fill);
        }
        removed
    }

    /// The index of the first element equal to `needle`.
    pub fn position(&self, needle: &Needle<'_>) -> Option<usize> {
        self.iter().position(|v| v.matches(needle))
    }

    /// Every element, head to tail.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_from(0)
    }

    /// Elements from index `i` towards the tail.
    pub fn iter_from(&self, i: usize) -> Iter<'_> {
        match self.locate(i) {
            Some((node, pos, _)) => Iter {
                nodes: &self.nodes,
                node,
                pos,
                left: self.len - i,
            },
            None => Iter {
                nodes: &self.nodes,
                node: self.nodes.len(),
                pos: 0,
                left: 0,
            },
        }
    }

    /// Every element, tail to head.
    pub fn iter_rev(&self) -> RevIter<'_> {
        match self.len.checked_sub(1) {
            Some(last) => self.iter_rev_from(last),
            None => RevIter {
                nodes: &self.nodes,
                node: 0,
                end: 0,
                left: 0,
            },
        }
    }

    /// Elements from index `i` towards the head.
    pub fn iter_rev_from(&self, i: usize) -> RevIter<'_> {
        match self.locate(i) {
            Some((node, pos, _)) => RevIter {
                nodes: &self.nodes,
                node,
                end: decode(&self.nodes[node].buf, pos).1,
                left: i + 1,
            },
            None => RevIter {
                nodes: &self.nodes,
                node: 0,
                end: 0,
                left: 0,
            },
        }
    }

    /// Checks every invariant (tests).
    #[cfg(test)]
    pub(crate) fn check(&self, fill: Fill) {
        let mut total = 0;
        for (i, n) in self.nodes.iter().enumerate() {
            assert!(n.count > 0, "node {i} is empty");
            let mut pos = 0;
            let mut c = 0;
            while pos < n.buf.len() {
                let next = decode(&n.buf, pos).1;
                assert_eq!(start_before(&n.buf, next), pos, "back-length in node {i}");
                pos = next;
                c += 1;
            }
            assert_eq!(pos, n.buf.len());
            assert_eq!(c, n.count as usize, "count of node {i}");
            if n.count > 1 {
                assert!(n.count as usize <= fill.max_count, "node {i} over count");
                assert!(n.buf.len() <= fill.max_bytes, "node {i} over size");
            }
            total += c;
        }
        assert_eq!(total, self.len);
    }
}

/// Forward iterator over a [`QuickList`].
pub struct Iter<'a> {
    nodes: &'a VecDeque<Node>,
    node: usize,
    pos: usize,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = LpVal<'a>;

    #[inline]
    fn next(&mut self) -> Option<LpVal<'a>> {
        if self.left == 0 {
            return None;
        }
        let mut n = self.nodes.get(self.node)?;
        if self.pos >= n.buf.len() {
            self.node += 1;
            self.pos = 0;
            n = self.nodes.get(self.node)?;
        }
        let (v, next) = decode(&n.buf, self.pos);
        self.pos = next;
        self.left -= 1;
        Some(v)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

/// Backward iterator over a [`QuickList`].
pub struct RevIter<'a> {
    nodes: &'a VecDeque<Node>,
    node: usize,
    /// Offset just past the next entry to return, in `node`.
    end: usize,
    left: usize,
}

impl<'a> Iterator for RevIter<'a> {
    type Item = LpVal<'a>;

    #[inline]
    fn next(&mut self) -> Option<LpVal<'a>> {
        if self.left == 0 {
            return None;
        }
        if self.end == 0 {
            self.node = self.node.checked_sub(1)?;
            self.end = self.nodes.get(self.node)?.buf.len();
        }
        let buf = &self.nodes.get(self.node)?.buf;
        let start = start_before(buf, self.end);
        self.end = start;
        self.left -= 1;
        Some(decode(buf, start).0)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(l: &QuickList) -> Vec<Vec<u8>> {
        l.iter().map(|v| v.to_vec()).collect()
    }

    fn rev_items(l: &QuickList) -> Vec<Vec<u8>> {
        l.iter_rev().map(|v| v.to_vec()).collect()
    }

    /// Every fill setting tests use: counts, byte levels, and the clamped extremes.
    const FILLS: [i64; 10] = [-5, -4, -3, -2, -1, 0, 1, 2, 5, 128];

    fn sample(i: usize) -> Vec<u8> {
        match i % 7 {
            0 => i.to_string().into_bytes(),
            1 => format!("-{}", i * 1000).into_bytes(),
            2 => vec![b'x'; i % 90],
            3 => format!("elem{i}").into_bytes(),
            4 => b"".to_vec(),
            5 => vec![b'y'; 200 + i % 300],
            _ => format!("0{i}").into_bytes(),
        }
    }

    #[test]
    fn entry_encoding_roundtrips_both_ways() {
        let long = vec![b'z'; 20000];
        let vals: Vec<&[u8]> = vec![
            b"0",
            b"127",
            b"128",
            b"-1",
            b"9223372036854775807",
            b"-9223372036854775808",
            b"01",
            b"",
            b"hello",
            &long,
        ];
        let l = QuickList::from_items(vals.iter().copied(), Fill::new(-5));
        l.check(Fill::new(-5));
        let want: Vec<Vec<u8>> = vals.iter().map(|v| v.to_vec()).collect();
        assert_eq!(items(&l), want);
        let mut rev = want.clone();
        rev.reverse();
        assert_eq!(rev_items(&l), rev);
        for (i, v) in want.iter().enumerate() {
            assert_eq!(l.get(i).unwrap().to_vec(), *v);
        }
        assert_eq!(int_width(127), 1);
        assert_eq!(int_width(-128), 1);
        assert_eq!(int_width(128), 2);
        assert_eq!(int_width(i64::MIN), 8);
    }

    #[test]
    fn fill_limits_follow_redis() {
        assert_eq!(Fill::new(-2).max_bytes, 8192);
        assert_eq!(Fill::new(-9).max_bytes, 65536);
        assert_eq!(Fill::new(100_000).max_count, 32767);
        let f = Fill::new(3);
        let mut l = QuickList::new();
        for i in 0..10 {
            l.push_back(i.to_string().as_bytes(), f);
        }
        assert_eq!(l.node_count(), 4);
        l.check(f);
        // Fill 0: one element per node.
        let f0 = Fill::new(0);
        let l = QuickList::from_items([&b"a"[..], b"b", b"c"], f0);
        assert_eq!(l.node_count(), 3);
        // Byte levels: 4 KiB nodes split a run of 100-byte elements.
        let f1 = Fill::new(-1);
        let big = [b'q'; 100];
        let l = QuickList::from_items((0..100).map(|_| &big[..]), f1);
        l.check(f1);
        assert!(l.node_count() >= 3);
        // An element too big for any node gets its own.
        let huge = vec![b'h'; 70000];
        let mut l = QuickList::from_items([&b"a"[..], &huge, b"b"], f1);
        l.check(f1);
        assert_eq!(l.node_count(), 3);
        l.push_front(b"c", f1);
        l.check(f1);
    }

    #[test]
    fn pushes_and_pops_at_both_ends() {
        for fill in FILLS.map(Fill::new) {
            let mut l = QuickList::new();
            let mut model = VecDeque::new();
            for i in 0..300 {
                let v = sample(i);
                if i % 3 == 0 {
                    l.push_front(&v, fill);
                    model.push_front(v);
                } else {
                    l.push_back(&v, fill);
                    model.push_back(v);
                }
            }
            l.check(fill);
            assert_eq!(items(&l), Vec::from(model.clone()));
            for i in 0..300 {
                let (got, want) = if i % 2 == 0 {
                    (l.pop_front(), model.pop_front())
                } else {
                    (l.pop_back(), model.pop_back())
                };
                assert_eq!(got, want);
                l.check(fill);
            }
            assert!(l.is_empty());
            assert_eq!(l.node_count(), 0);
            assert_eq!(l.pop_front(), None);
        }
    }

    #[test]
    fn insert_and_remove_at_every_position() {
        for fill in FILLS.map(Fill::new) {
            for n in [1usize, 2, 5, 17, 60] {
                for at in 0..=n {
                    let base: Vec<Vec<u8>> = (0..n).map(sample).collect();
                    let mut l = QuickList::from_items(base.iter().map(|v| &v[..]), fill);
                    let mut model = base.clone();
                    let v = sample(at + 1000);
                    l.insert(at, &v, fill);
                    model.insert(at, v);
                    l.check(fill);
                    assert_eq!(items(&l), model, "insert {at} of {n}, {fill:?}");
                    let mut rev = model.clone();
                    rev.reverse();
                    assert_eq!(rev_items(&l), rev);
                    // Remove at every position of the grown list.
                    for r in 0..model.len() {
                        let mut l2 = l.clone();
                        let mut m2 = model.clone();
                        assert!(l2.remove_at(r, fill));
                        m2.remove(r);
                        l2.check(fill);
                        assert_eq!(items(&l2), m2, "remove {r}, {fill:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn inserts_split_full_nodes_and_removals_merge_them() {
        let fill = Fill::new(4);
        let mut l = QuickList::from_items(
            (0..8)
                .map(|i| sample(i * 7))
                .collect::<Vec<_>>()
                .iter()
                .map(|v| &v[..]),
            fill,
        );
        assert_eq!(l.node_count(), 2);
        // Inserting in the middle of a full node splits it.
        l.insert(2, b"mid", fill);
        l.check(fill);
        assert_eq!(l.node_count(), 3);
        assert_eq!(l.get(2).unwrap().to_vec(), b"mid");
        // Removing brings nodes back together once they fit.
        while l.len() > 4 {
            l.remove_at(1, fill);
            l.check(fill);
        }
        assert_eq!(l.node_count(), 1);
    }

    #[test]
    fn set_replaces_and_resplits() {
        for fill in FILLS.map(Fill::new) {
            let base: Vec<Vec<u8>> = (0..40).map(sample).collect();
            let mut l = QuickList::from_items(base.iter().map(|v| &v[..]), fill);
            let mut model = base.clone();
            for (i, slot) in model.iter_mut().enumerate() {
                let v = if i % 2 == 0 {
                    vec![b'L'; 3000 + i]
                } else {
                    (i as i64 * -77).to_string().into_bytes()
                };
                assert!(l.set(i, &v, fill));
                *slot = v;
                l.check(fill);
            }
            assert_eq!(items(&l), model);
            assert!(!l.set(40, b"x", fill));
        }
    }

    #[test]
    fn trims_from_both_ends() {
        for fill in FILLS.map(Fill::new) {
            for (front, back) in [(0, 0), (1, 0), (0, 1), (7, 9), (30, 0), (0, 30), (50, 50)] {
                let base: Vec<Vec<u8>> = (0..60).map(sample).collect();
                let mut l = QuickList::from_items(base.iter().map(|v| &v[..]), fill);
                l.remove_front(front);
                l.remove_back(back);
                l.check(fill);
                let end = 60usize.saturating_sub(back).max(front.min(60));
                let want: Vec<Vec<u8>> = base[front.min(60)..end].to_vec();
                assert_eq!(items(&l), want);
            }
        }
    }

    #[test]
    fn remove_matching_from_either_end() {
        for fill in FILLS.map(Fill::new) {
            let base: Vec<Vec<u8>> = (0..80)
                .map(|i| if i % 3 == 0 { b"7".to_vec() } else { sample(i) })
                .collect();
            for (max, from_tail) in [(0, false), (2, false), (5, true), (100, true), (1, true)] {
                let mut l = QuickList::from_items(base.iter().map(|v| &v[..]), fill);
                let removed = l.remove_matching(&Needle::new(b"7"), max, from_tail, fill);
                l.check(fill);
                let total = base.iter().filter(|v| v.as_slice() == b"7").count();
                let want_removed = if max == 0 { total } else { max.min(total) };
                assert_eq!(removed, want_removed);
                let mut model = base.clone();
                let mut left = want_removed;
                if from_tail {
                    let mut i = model.len();
                    while left > 0 && i > 0 {
                        i -= 1;
                        if model[i] == b"7" {
                            model.remove(i);
                            left -= 1;
                        }
                    }
                } else {
                    let mut i = 0;
                    while left > 0 && i < model.len() {
                        if model[i] == b"7" {
                            model.remove(i);
                            left -= 1;
                        } else {
                            i += 1;
                        }
                    }
                }
                assert_eq!(items(&l), model, "max {max} tail {from_tail}");
            }
        }
    }

    #[test]
    fn iterators_from_any_index() {
        let fill = Fill::new(3);
        let base: Vec<Vec<u8>> = (0..20).map(sample).collect();
        let l = QuickList::from_items(base.iter().map(|v| &v[..]), fill);
        for i in 0..20 {
            let fwd: Vec<Vec<u8>> = l.iter_from(i).map(|v| v.to_vec()).collect();
            assert_eq!(fwd, base[i..].to_vec());
            let back: Vec<Vec<u8>> = l.iter_rev_from(i).map(|v| v.to_vec()).collect();
            let mut want = base[..=i].to_vec();
            want.reverse();
            assert_eq!(back, want);
        }
        assert_eq!(l.iter_from(20).count(), 0);
        assert_eq!(l.position(&Needle::new(&sample(5))), Some(5));
    }
}
