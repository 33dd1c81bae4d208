//! Small sorted sets in an [`Lp`] (OBJECT ENCODING `listpack`): `member, score, member, score...`
//! ordered by `(score, member bytes)`, as Redis's `zzl*` functions keep them.
//!
//! Members are stored as [`LpVal::from_bytes`] makes them (canonical integers as integers).
//! Scores that are integers of magnitude at most `i64::MAX / 2` are stored as integers and the
//! rest as `f64`, which is what Redis's `double2ll` decides (so `-0` is stored as `0`, as Redis
//! does); both read back as the exact double.

use std::cmp::Ordering;

use crate::lp::{Lp, LpVal, Needle};

/// How a score is stored (Redis's `zzlInsertAt` with `double2ll`).
#[inline]
pub fn score_val(score: f64) -> LpVal<'static> {
    const LIMIT: f64 = (i64::MAX / 2) as f64;
    if (-LIMIT..=LIMIT).contains(&score) {
        let n = score as i64;
        if n as f64 == score {
            return LpVal::Int(n);
        }
    }
    LpVal::F64(score)
}

/// A stored score as a double.
#[inline]
pub fn read_score(v: LpVal<'_>) -> f64 {
    v.as_f64()
}

/// Number of members.
#[inline]
pub fn len(lp: &Lp) -> usize {
    lp.len() / 2
}

/// Every `(member, score)`, in order.
pub fn pairs(lp: &Lp) -> impl Iterator<Item = (LpVal<'_>, f64)> + '_ {
    let mut it = lp.iter();
    std::iter::from_fn(move || {
        let (_, m) = it.next()?;
        let (_, s) = it.next()?;
        Some((m, read_score(s)))
    })
}

/// Every `(member, score)` decoded at once, for walks by position.
pub fn items(lp: &Lp) -> Vec<(LpVal<'_>, f64)> {
    let mut v = Vec::with_capacity(len(lp));
    v.extend(pairs(lp));
    v
}

/// The offset of `member`'s entry and its score.
pub fn find(lp: &Lp, member: &[u8]) -> Option<(usize, f64)> {
    let at = lp.find(&Needle::new(member), 2)?;
    let (_, next) = lp.get(at);
    Some((at, read_score(lp.get(next).0)))
}

/// `member`'s 0-based rank.
pub fn rank(lp: &Lp, member: &[u8]) -> Option<usize> {
    let needle = Needle::new(member);
    pairs(lp).position(|(m, _)| m.matches(&needle))
}

/// Removes the member whose entry is at `offset`, with its score.
#[inline]
pub fn delete_at(lp: &mut Lp, offset: usize) {
    lp.remove(offset, 2);
}

/// Removes the members of 0-based ranks `start..start + count`.
pub fn delete_ranks(lp: &mut Lp, start: usize, count: usize) {
    let at = lp.skip(lp.first(), 2 * start);
    lp.remove(at, 2 * count);
}

/// Inserts `member` (absent) with `score` in order (Redis's `zzlInsert`: before the first member
/// with a greater score, or an equal score and greater bytes).
pub fn insert(lp: &mut Lp, member: &[u8], score: f64) {
    let mut at = lp.end();
    let mut it = lp.iter();
    while let Some((off, m)) = it.next() {
        let Some((_, s)) = it.next() else { break };
        let s = read_score(s);
        if s > score || (s == score && m.cmp_bytes(member) == Ordering::Greater) {
            at = off;
            break;
        }
    }
    lp.splice(at, 0, &[LpVal::from_bytes(member), score_val(score)]);
}

/// A listpack holding `items`, already in order and without duplicates, in one allocation of
/// its exact size.
pub fn from_sorted<'a, I>(items: I) -> Lp
where
    I: IntoIterator<Item = (&'a [u8], f64)>,
    I::IntoIter: Clone,
{
    Lp::from_vals_exact(
        items
            .into_iter()
            .flat_map(|(m, s)| [LpVal::from_bytes(m), score_val(s)]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_stored_as_redis_does() {
        assert_eq!(score_val(3.0), LpVal::Int(3));
        assert_eq!(score_val(-0.0), LpVal::Int(0));
        assert_eq!(score_val(1.5), LpVal::F64(1.5));
        assert_eq!(score_val(1e19), LpVal::F64(1e19));
        assert_eq!(score_val(f64::INFINITY), LpVal::F64(f64::INFINITY));
        assert_eq!(score_val(4e18), LpVal::Int(4_000_000_000_000_000_000));
    }

    #[test]
    fn insert_keeps_order_and_find_reads_back() {
        let mut lp = Lp::new();
        for (m, s) in [("b", 2.0), ("a", 2.0), ("10", 1.5), ("9", 1.5), ("z", -1.0)] {
            insert(&mut lp, m.as_bytes(), s);
        }
        let got: Vec<(Vec<u8>, f64)> = pairs(&lp).map(|(m, s)| (m.to_vec(), s)).collect();
        let want: Vec<(Vec<u8>, f64)> =
            [("z", -1.0), ("10", 1.5), ("9", 1.5), ("a", 2.0), ("b", 2.0)]
                .iter()
                .map(|(m, s)| (m.as_bytes().to_vec(), *s))
                .collect();
        assert_eq!(got, want);
        assert_eq!(find(&lp, b"9").map(|x| x.1), Some(1.5));
        assert_eq!(rank(&lp, b"a"), Some(3));
        assert_eq!(find(&lp, b"nope"), None);
        delete_ranks(&mut lp, 1, 2);
        assert_eq!(len(&lp), 3);
        let (at, _) = find(&lp, b"a").unwrap();
        delete_at(&mut lp, at);
        assert_eq!(
            pairs(&lp).map(|(m, _)| m.to_vec()).collect::<Vec<_>>(),
            vec![b"z".to_vec(), b"b".to_vec()]
        );
    }
}
