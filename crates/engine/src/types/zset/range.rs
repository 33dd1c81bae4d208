//! Range queries for both sorted-set encodings: parsing of score and lex range arguments
//! (Redis's `zslParseRange`, `zslParseLexRange`), rank normalisation, and [`Seq`], which reads a
//! sorted set by position the same way for a listpack and a [`BigZSet`], so that every range walk
//! (ZRANGE's family, ZCOUNT, ZREMRANGEBY*) is written once.

use super::{listpack, BigZSet, LexBound, LexRange, Pos, ScoreRange, ZRef};
use crate::error::{Error, Result};
use crate::lp::{Lp, LpVal};

extern "C" {
    fn strtod(s: *const std::os::raw::c_char, end: *mut *mut std::os::raw::c_char) -> f64;
}

/// `strtod` on `s` as Redis calls it on an argument: the C string stops at the first NUL byte,
/// and it must be consumed whole (the empty string reads as 0). NaN is refused.
pub(super) fn strtod_arg(s: &[u8]) -> Option<f64> {
    let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
    let c = std::ffi::CString::new(s.get(..end)?).ok()?;
    let mut eptr: *mut std::os::raw::c_char = std::ptr::null_mut();
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call; `strtod` only reads
    // it and writes a pointer into it (or to its start) through `eptr`, a valid local.
    let v = unsafe { strtod(c.as_ptr(), &mut eptr) };
    if eptr.is_null() {
        return None;
    }
    // SAFETY: `strtod` sets `eptr` to a position within `c` (at most its terminating NUL).
    let rest = unsafe { *eptr };
    (rest == 0 && !v.is_nan()).then_some(v)
}

/// One end of a score range (Redis's `zslParseRange`): `(` makes it exclusive.
pub(super) fn score_bound(a: &[u8]) -> Option<(f64, bool)> {
    match a.first() {
        Some(b'(') => strtod_arg(&a[1..]).map(|v| (v, true)),
        _ => strtod_arg(a).map(|v| (v, false)),
    }
}

/// A score range from ZRANGEBYSCORE-style `min` and `max`.
pub(super) fn score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange> {
    let err = || Error::msg("ERR min or max is not a float");
    let (min, minex) = score_bound(min).ok_or_else(err)?;
    let (max, maxex) = score_bound(max).ok_or_else(err)?;
    Ok(ScoreRange {
        min,
        max,
        minex,
        maxex,
    })
}

/// One end of a lex range (Redis's `zslParseLexRangeItem`).
pub(super) fn lex_bound(a: &[u8]) -> Option<LexBound> {
    let alone = a.len() == 1 || a.get(1) == Some(&0);
    match a.first()? {
        b'+' if alone => Some(LexBound::Max),
        b'-' if alone => Some(LexBound::Min),
        b'(' => Some(LexBound::Excl(a[1..].to_vec())),
        b'[' => Some(LexBound::Incl(a[1..].to_vec())),
        _ => None,
    }
}

/// A lex range from ZRANGEBYLEX-style `min` and `max`.
pub(super) fn lex_range(min: &[u8], max: &[u8]) -> Result<LexRange> {
    match (lex_bound(min), lex_bound(max)) {
        (Some(min), Some(max)) => Ok(LexRange { min, max }),
        _ => Err(Error::msg("ERR min or max not valid string range item")),
    }
}

/// A range query, once parsed.
#[derive(Clone, Debug)]
pub(super) enum Range {
    /// By 0-based rank (negative counts from the end), both ends included.
    Rank(i64, i64),
    /// By score.
    Score(ScoreRange),
    /// By member bytes.
    Lex(LexRange),
}

impl Range {
    /// Whether position `p` of `s` is still in the range, walking forward (`rev` false: not
    /// past the upper end) or backward (not before the lower end).
    pub(super) fn holds<S: Seq>(&self, s: &S, p: S::Pos, rev: bool) -> bool {
        match self {
            Range::Rank(..) => true,
            Range::Score(r) => {
                let v = s.score(p);
                if rev {
                    r.gte_min(v)
                } else {
                    r.lte_max(v)
                }
            }
            Range::Lex(r) => s
                .member(p)
                .with_bytes(|m| if rev { r.gte_min(m) } else { r.lte_max(m) }),
        }
    }
}

/// Redis's rank normalisation: the first rank and the count of `start..=end` over `len`
/// members, `None` when empty.
pub(super) fn rank_span(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    let llen = len as i64;
    let mut start = if start < 0 { llen + start } else { start };
    let mut end = if end < 0 { llen + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    if end >= llen {
        end = llen - 1;
    }
    Some((start as usize, (end - start + 1) as usize))
}

/// A sorted set read by position, the same way for both encodings: ranks, neighbours and the
/// ends of score and lex ranges (Redis's `zzl*`/`zsl*` lookups).
pub(super) trait Seq {
    /// A position (an index for a listpack, a [`super::Pos`] for a [`BigZSet`]).
    type Pos: Copy;
    /// Number of members.
    fn len(&self) -> usize;
    /// The member at 0-based rank `r`.
    fn at(&self, r: usize) -> Option<Self::Pos>;
    /// The next member.
    fn next(&self, p: Self::Pos) -> Option<Self::Pos>;
    /// The previous member.
    fn prev(&self, p: Self::Pos) -> Option<Self::Pos>;
    /// The member at `p`.
    fn member(&self, p: Self::Pos) -> LpVal<'_>;
    /// The score at `p`.
    fn score(&self, p: Self::Pos) -> f64;
    /// The first member in a score range, with its rank.
    fn first_in_score(&self, r: &ScoreRange) -> Option<(Self::Pos, usize)>;
    /// The last member in a score range, with its rank.
    fn last_in_score(&self, r: &ScoreRange) -> Option<(Self::Pos, usize)>;
    /// The first member in a lex range, with its rank.
    fn first_in_lex(&self, r: &LexRange) -> Option<(Self::Pos, usize)>;
    /// The last member in a lex range, with its rank.
    fn last_in_lex(&self, r: &LexRange) -> Option<(Self::Pos, usize)>;

    /// One step forward or backward.
    #[inline]
    fn step(&self, p: Self::Pos, rev: bool) -> Option<Self::Pos> {
        if rev {
            self.prev(p)
        } else {
            self.next(p)
        }
    }
}

/// A decoded listpack: positions are indexes. Range ends are found by Redis's linear walks.
pub(super) struct LpSeq<'a> {
    items: Vec<(LpVal<'a>, f64)>,
}

impl<'a> LpSeq<'a> {
    pub(super) fn new(lp: &'a Lp) -> Self {
        LpSeq {
            items: listpack::items(lp),
        }
    }

    fn lex(&self, i: usize, f: impl FnOnce(&[u8]) -> bool) -> bool {
        self.items.get(i).is_some_and(|(m, _)| m.with_bytes(f))
    }
}

impl Seq for LpSeq<'_> {
    type Pos = usize;

    fn len(&self) -> usize {
        self.items.len()
    }
    fn at(&self, r: usize) -> Option<usize> {
        (r < self.items.len()).then_some(r)
    }
    fn next(&self, p: usize) -> Option<usize> {
        (p + 1 < self.items.len()).then_some(p + 1)
    }
    fn prev(&self, p: usize) -> Option<usize> {
        p.checked_sub(1)
    }
    fn member(&self, p: usize) -> LpVal<'_> {
        self.items.get(p).map_or(LpVal::Str(&[]), |x| x.0)
    }
    fn score(&self, p: usize) -> f64 {
        self.items.get(p).map_or(0.0, |x| x.1)
    }

    // zzlIsInRange + zzlFirstInRange
    fn first_in_score(&self, r: &ScoreRange) -> Option<(usize, usize)> {
        let (first, last) = (self.items.first()?, self.items.last()?);
        if r.is_empty() || !r.gte_min(last.1) || !r.lte_max(first.1) {
            return None;
        }
        let i = self.items.iter().position(|x| r.gte_min(x.1))?;
        r.lte_max(self.items[i].1).then_some((i, i))
    }

    // zzlIsInRange + zzlLastInRange
    fn last_in_score(&self, r: &ScoreRange) -> Option<(usize, usize)> {
        let (first, last) = (self.items.first()?, self.items.last()?);
        if r.is_empty() || !r.gte_min(last.1) || !r.lte_max(first.1) {
            return None;
        }
        let i = self.items.iter().rposition(|x| r.lte_max(x.1))?;
        r.gte_min(self.items[i].1).then_some((i, i))
    }

    // zzlIsInLexRange + zzlFirstInLexRange
    fn first_in_lex(&self, r: &LexRange) -> Option<(usize, usize)> {
        let n = self.items.len();
        if n == 0
            || r.is_empty()
            || !self.lex(n - 1, |m| r.gte_min(m))
            || !self.lex(0, |m| r.lte_max(m))
        {
            return None;
        }
        let i = (0..n).find(|&i| self.lex(i, |m| r.gte_min(m)))?;
        self.lex(i, |m| r.lte_max(m)).then_some((i, i))
    }

    // zzlIsInLexRange + zzlLastInLexRange
    fn last_in_lex(&self, r: &LexRange) -> Option<(usize, usize)> {
        let n = self.items.len();
        if n == 0
            || r.is_empty()
            || !self.lex(n - 1, |m| r.gte_min(m))
            || !self.lex(0, |m| r.lte_max(m))
        {
            return None;
        }
        let i = (0..n).rev().find(|&i| self.lex(i, |m| r.lte_max(m)))?;
        self.lex(i, |m| r.gte_min(m)).then_some((i, i))
    }
}

impl Seq for BigZSet {
    type Pos = Pos;

    fn len(&self) -> usize {
        BigZSet::len(self)
    }
    fn at(&self, r: usize) -> Option<Pos> {
        self.at_rank(r)
    }
    fn next(&self, p: Pos) -> Option<Pos> {
        BigZSet::next(self, p)
    }
    fn prev(&self, p: Pos) -> Option<Pos> {
        BigZSet::prev(self, p)
    }
    fn member(&self, p: Pos) -> LpVal<'_> {
        LpVal::Str(self.member_at(p))
    }
    fn score(&self, p: Pos) -> f64 {
        self.score_at(p)
    }
    fn first_in_score(&self, r: &ScoreRange) -> Option<(Pos, usize)> {
        BigZSet::first_in_score(self, r)
    }
    fn last_in_score(&self, r: &ScoreRange) -> Option<(Pos, usize)> {
        BigZSet::last_in_score(self, r)
    }
    fn first_in_lex(&self, r: &LexRange) -> Option<(Pos, usize)> {
        BigZSet::first_in_lex(self, r)
    }
    fn last_in_lex(&self, r: &LexRange) -> Option<(Pos, usize)> {
        BigZSet::last_in_lex(self, r)
    }
}

/// The first position of a range walk and whether it runs backward, for score and lex ranges.
pub(super) fn range_start<S: Seq>(s: &S, range: &Range, rev: bool) -> Option<S::Pos> {
    let found = match (range, rev) {
        (Range::Score(r), false) => s.first_in_score(r),
        (Range::Score(r), true) => s.last_in_score(r),
        (Range::Lex(r), false) => s.first_in_lex(r),
        (Range::Lex(r), true) => s.last_in_lex(r),
        (Range::Rank(..), _) => None,
    };
    found.map(|(p, _)| p)
}

/// Walks a range as Redis's `genericZrangeby{rank,score,lex}Command` do, passing each
/// `(member, score)` to `f`; returns how many. `offset` and `limit` apply to score and lex
/// ranges (a negative offset yields nothing, a negative limit means all).
pub(super) fn walk_range<S: Seq>(
    s: &S,
    range: &Range,
    rev: bool,
    offset: i64,
    limit: i64,
    mut f: impl FnMut(LpVal<'_>, f64),
) -> usize {
    if let Range::Rank(start, end) = *range {
        let Some((start, count)) = rank_span(s.len(), start, end) else {
            return 0;
        };
        let first = if rev {
            s.at(s.len() - 1 - start)
        } else {
            s.at(start)
        };
        let mut p = first;
        for _ in 0..count {
            let Some(x) = p else { break };
            f(s.member(x), s.score(x));
            p = s.step(x, rev);
        }
        return count;
    }
    if offset > 0 && offset as u64 >= s.len() as u64 {
        return 0;
    }
    let mut p = range_start(s, range, rev);
    let mut offset = offset;
    while let Some(x) = p {
        if offset == 0 {
            break;
        }
        offset = offset.wrapping_sub(1);
        p = s.step(x, rev);
    }
    let mut limit = limit;
    let mut n = 0;
    while let Some(x) = p {
        if limit == 0 {
            break;
        }
        limit = limit.wrapping_sub(1);
        if !range.holds(s, x, rev) {
            break;
        }
        f(s.member(x), s.score(x));
        n += 1;
        p = s.step(x, rev);
    }
    n
}

/// Runs `walk_range` on whichever encoding `z` has.
pub(super) fn walk_zset(
    z: ZRef<'_>,
    range: &Range,
    rev: bool,
    offset: i64,
    limit: i64,
    f: impl FnMut(LpVal<'_>, f64),
) -> usize {
    match z {
        ZRef::Lp(lp) => walk_range(&LpSeq::new(lp), range, rev, offset, limit, f),
        ZRef::Big(b) => walk_range(b, range, rev, offset, limit, f),
    }
}
