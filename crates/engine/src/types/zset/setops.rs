//! ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD (Redis's
//! `zunionInterDiffGenericCommand`). Inputs may be sorted sets or sets (members of score 1, see
//! [`super::set_members_as_zset`]); they are all borrowed at once from the locked keyspace.

use super::{
    arg, cmp_entry, is_word, long_arg, members_len, positive_arg, reply_member,
    set_members_as_zset, store_result, ZRef,
};
use crate::ctx::{Ctx, DbView};
use crate::error::{Error, Result};
use crate::lp::LpVal;
use crate::util::parse_f64;
use crate::value::Value;

/// Which set operation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

/// How scores of a member found in several inputs combine.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Redis's `zunionInterAggregate`.
    #[inline]
    fn apply(self, target: &mut f64, val: f64) {
        match self {
            Aggregate::Sum => {
                *target += val;
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            Aggregate::Min => {
                if val < *target {
                    *target = val;
                }
            }
            Aggregate::Max => {
                if val > *target {
                    *target = val;
                }
            }
        }
    }
}

/// One input of a set operation.
enum Src<'a> {
    /// A missing key.
    Missing,
    /// A sorted set.
    Z(ZRef<'a>),
    /// A set, its members with score 1 (see [`set_members_as_zset`]).
    Owned(hashbrown::HashMap<Vec<u8>, f64, foldhash::fast::RandomState>),
}

impl Src<'_> {
    fn len(&self) -> usize {
        match self {
            Src::Missing => 0,
            Src::Z(z) => z.len(),
            Src::Owned(m) => m.len(),
        }
    }

    fn find(&self, member: &[u8]) -> Option<f64> {
        match self {
            Src::Missing => None,
            Src::Z(z) => z.score(member),
            Src::Owned(m) => m.get(member).copied(),
        }
    }

    fn for_each(&self, mut f: impl FnMut(&[u8], f64)) {
        match self {
            Src::Missing => {}
            Src::Z(z) => z.for_each_rev(|m, s| m.with_bytes(|b| f(b, s))),
            Src::Owned(m) => {
                for (k, &s) in m {
                    f(k, s);
                }
            }
        }
    }
}

/// What a set operation computed.
struct SetOpResult {
    /// The resulting members, sorted (empty for ZINTERCARD).
    items: Vec<(Vec<u8>, f64)>,
    /// ZINTERCARD's count.
    cardinality: u64,
    /// Whether WITHSCORES was given.
    withscores: bool,
}

/// Redis's `zunionInterDiffGenericCommand`: `dst` is the destination's argument index for the
/// STORE forms, `numkeys_idx` where the key count is, `card` is ZINTERCARD.
fn zsetop_generic(
    ctx: &mut Ctx<'_>,
    dst: Option<usize>,
    numkeys_idx: usize,
    op: SetOp,
    card: bool,
) -> Result<()> {
    let args = ctx.args;
    // Redis reads the inputs with `lookupKeyRead`: hits and misses count, even for the STORE
    // forms.
    let counting = ctx.db.count_reads;
    ctx.db.count_reads = true;
    let computed = setop_compute(
        &mut ctx.db,
        args,
        &ctx.cmd.full_name,
        dst.is_some(),
        numkeys_idx,
        op,
        card,
    );
    ctx.db.count_reads = counting;
    let r = computed?;
    if card {
        ctx.out.int(r.cardinality as i64);
        return Ok(());
    }
    if let Some(d) = dst {
        return store_result(ctx, arg(args, d), &r.items);
    }
    let out = &mut *ctx.out;
    out.array(members_len(r.items.len(), r.withscores, out.is_resp3()));
    for (m, s) in &r.items {
        reply_member(out, LpVal::Str(m), *s, r.withscores);
    }
    Ok(())
}

/// The checks and the computation of [`zsetop_generic`], in Redis's order: numkeys, the keys'
/// types, then the options.
fn setop_compute(
    db: &mut DbView<'_>,
    args: &[&[u8]],
    name: &str,
    store: bool,
    numkeys_idx: usize,
    op: SetOp,
    card: bool,
) -> Result<SetOpResult> {
    let setnum = long_arg(arg(args, numkeys_idx))?;
    if setnum < 1 {
        return Err(Error::msg(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    if setnum as u64 > (args.len() - (numkeys_idx + 1)) as u64 {
        return Err(Error::Syntax);
    }
    let setnum = setnum as usize;
    let key_args = &args[numkeys_idx + 1..numkeys_idx + 1 + setnum];
    let values = db.get_many(key_args);
    let mut srcs: Vec<(Src<'_>, f64)> = Vec::with_capacity(setnum);
    for v in &values {
        let src = match v {
            None => Src::Missing,
            Some(v) => match ZRef::of(v) {
                Some(z) => Src::Z(z),
                None if matches!(v, Value::SetInts(_) | Value::SetLp(_) | Value::Set(_)) => {
                    match set_members_as_zset(v) {
                        Some(items) => Src::Owned(items.into_iter().collect()),
                        None => Src::Missing,
                    }
                }
                None => return Err(Error::WrongType),
            },
        };
        srcs.push((src, 1.0));
    }
    // Options.
    let mut aggregate = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0i64;
    let mut j = numkeys_idx + 1 + setnum;
    while j < args.len() {
        let remaining = args.len() - j;
        let a = arg(args, j);
        if op != SetOp::Diff && !card && remaining > setnum && is_word(a, "weights") {
            j += 1;
            for src in srcs.iter_mut() {
                src.1 = parse_f64(arg(args, j))
                    .ok_or_else(|| Error::msg("ERR weight value is not a float"))?;
                j += 1;
            }
        } else if op != SetOp::Diff && !card && remaining >= 2 && is_word(a, "aggregate") {
            let w = arg(args, j + 1);
            aggregate = if is_word(w, "sum") {
                Aggregate::Sum
            } else if is_word(w, "min") {
                Aggregate::Min
            } else if is_word(w, "max") {
                Aggregate::Max
            } else {
                return Err(Error::Syntax);
            };
            j += 2;
        } else if !store && !card && is_word(a, "withscores") {
            withscores = true;
            j += 1;
        } else if card && remaining >= 2 && is_word(a, "limit") {
            limit = positive_arg(arg(args, j + 1), Some("ERR LIMIT can't be negative"))?;
            j += 2;
        } else {
            return Err(Error::Syntax);
        }
    }
    if op != SetOp::Diff {
        // Smallest first (a stable sort, as glibc's qsort of Redis is in practice).
        srcs.sort_by_key(|s| s.0.len());
    }
    let mut items: Vec<(Vec<u8>, f64)> = Vec::new();
    let mut cardinality = 0u64;
    match op {
        SetOp::Inter => {
            if let Some(((first, w0), rest)) = srcs.split_first() {
                let mut stop = false;
                first.for_each(|m, s| {
                    if stop {
                        return;
                    }
                    let mut score = w0 * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    for (src, w) in rest {
                        match src.find(m) {
                            Some(v) => aggregate.apply(&mut score, v * w),
                            None => return,
                        }
                    }
                    if card {
                        cardinality += 1;
                        if limit > 0 && cardinality >= limit as u64 {
                            stop = true;
                        }
                    } else {
                        items.push((m.to_vec(), score));
                    }
                });
            }
        }
        SetOp::Union => {
            let mut acc: hashbrown::HashMap<Vec<u8>, f64, foldhash::fast::RandomState> =
                hashbrown::HashMap::with_capacity_and_hasher(
                    srcs.last().map_or(0, |s| s.0.len()),
                    foldhash::fast::RandomState::default(),
                );
            for (src, w) in &srcs {
                src.for_each(|m, s| {
                    let mut score = w * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    acc.entry_ref(m)
                        .and_modify(|t| aggregate.apply(t, score))
                        .or_insert(score);
                });
            }
            items = acc.into_iter().collect();
        }
        SetOp::Diff => {
            if let Some(((first, _), rest)) = srcs.split_first() {
                first.for_each(|m, s| {
                    if rest.iter().all(|(src, _)| src.find(m).is_none()) {
                        items.push((m.to_vec(), s));
                    }
                });
            }
        }
    }
    items.sort_unstable_by(cmp_entry);
    Ok(SetOpResult {
        items,
        cardinality,
        withscores,
    })
}

// ZUNION numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
pub(super) fn zunion(ctx: &mut Ctx<'_>) -> Result<()> {
    zsetop_generic(ctx, None, 1, SetOp::Union, false)
}

// ZINTER numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
pub(super) fn zinter(ctx: &mut Ctx<'_>) -> Result<()> {
    zsetop_generic(ctx, None, 1, SetOp::Inter, false)
}

// ZDIFF numkeys key [key ...] [WITHSCORES]
pub(super) fn zdiff(ctx: &mut Ctx<'_>) -> Result<()> {
    zsetop_generic(ctx, None, 1, SetOp::Diff, false)
}

// ZINTERCARD numkeys key [key ...] [LIMIT limit]
pub(super) fn zintercard(ctx: &mut Ctx<'_>) -> Result<()> {
    zsetop_generic(ctx, None, 1, SetOp::Inter, true)
}

// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX]
pub(super) fn zunionstore(ctx: &mut Ctx<'_>) -> Result<()> {
    zsetop_generic(ctx, Some(1), 2, SetOp::Union, false)
}

// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX]
pub(super) fn zinterstore(ctx: &mut Ctx<'_>) -> Result<()> {
    zsetop_generic(ctx, Some(1), 2, SetOp::Inter, false)
}

// ZDIFFSTORE destination numkeys key [key ...]
pub(super) fn zdiffstore(ctx: &mut Ctx<'_>) -> Result<()> {
    zsetop_generic(ctx, Some(1), 2, SetOp::Diff, false)
}
