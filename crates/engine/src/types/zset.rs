//! Sorted-set commands, as Redis 7.0's `t_zset.c`: ZADD/ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE,
//! ZRANK/ZREVRANK, ZCOUNT/ZLEXCOUNT, the ZRANGE family (ZRANGE with BYSCORE/BYLEX/REV/LIMIT,
//! ZRANGESTORE, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX, ZREVRANGE), the
//! ZREMRANGEBY* commands, ZUNION/ZINTER/ZDIFF (and their STORE forms, and ZINTERCARD),
//! ZPOPMIN/ZPOPMAX/ZMPOP, ZRANDMEMBER and ZSCAN.
//!
//! # Representation
//! Two encodings, as in Redis (OBJECT ENCODING tells which):
//! - [`Value::ZSetLp`] (`listpack`, see [`listpack`]): `member, score, ...` in one [`Lp`] ordered
//!   by `(score, member bytes)`, while the set has at most `zset-max-listpack-entries` members of
//!   at most `zset-max-listpack-value` bytes each. Every operation is a linear walk, as Redis's.
//! - [`Value::ZSet`] (`skiplist`, see [`skiplist`]): a skip list with spans plus a member map, for
//!   O(log N) ranks and O(log N + M) ranges.
//!
//! A set moves from listpack to skiplist when an insert passes a limit and never back. New sets
//! (ZADD on a missing key, and every *STORE result) are listpacks when they fit. A set never
//! stays empty: removing its last member deletes the key.
//!
//! Reads are written once for both encodings through [`Seq`] (positions, ranks, ranges); writes
//! go through [`add`] and [`delete`], which convert when needed.
//!
//! # Redis details kept
//! - Scores are doubles parsed as `getDoubleFromObject` (no NaN); range ends as `zslParseRange`
//!   (`strtod`: leading blanks, `(`, the empty string as 0, overflow to infinity), lex ends as
//!   `zslParseLexRange`. Replies format doubles with `%.17g` (RESP2 bulk, RESP3 double).
//! - Argument checks come in Redis's order (ZADD: option conflicts, then scores, then the type;
//!   ZUNION: numkeys, then the keys' types, then the options).
//! - Listpack range walks are Redis's linear ones (first element in range, then forward), skip
//!   list walks its descents; they agree whenever the set is consistent with the range (lex ranges
//!   on sets whose scores differ are unspecified in Redis too).
//! - ZRANGESTORE/Z*STORE with an empty result delete the destination.
//! - ZMPOP propagates as ZPOPMIN/ZPOPMAX with the popped count; everything else as sent.
//! - ZRANDMEMBER with a count of every member replies them in Redis's order (highest first);
//!   a negative count over [`RANDMEMBER_MAX_REPEAT`] is refused (Redis would try to build the
//!   whole reply in memory).

mod listpack;
mod skiplist;

pub use skiplist::{BigZSet, LexBound, LexRange, NodeId, ScoreRange};

use bytes::Bytes;
use rand::Rng;

use crate::cmd::{def, keys, CommandDef, KeySpec, KeySpecDef};
use crate::config::EncodingLimits;
use crate::ctx::{Ctx, DbView};
use crate::error::{Error, Result};
use crate::lp::{Lp, LpVal};
use crate::util::{glob_match, parse_f64, parse_i64};
use crate::value::Value;
use crate::ReplyWriter;

/// ZRANDMEMBER with a negative count replies this many members at most: Redis builds the whole
/// reply whatever the count (`ZRANDMEMBER k -9223372036854775807` exhausts its memory); Flint
/// answers `ERR value is out of range` past this.
pub const RANDMEMBER_MAX_REPEAT: u64 = 1 << 24;

/// Redis's `ZRANDMEMBER_SUB_STRATEGY_MUL`.
const RANDMEMBER_SUB_STRATEGY_MUL: u64 = 3;

/// Keys of ZUNION/ZINTER/ZDIFF/ZINTERCARD/ZMPOP: `numkeys` at 1, the keys after it.
fn numkeys_at_1(args: &[&[u8]]) -> Vec<usize> {
    numkeys_keys(args, 1)
}

/// Keys of ZUNIONSTORE/ZINTERSTORE/ZDIFFSTORE: the destination, then `numkeys` at 2 and the
/// keys after it.
fn dst_and_numkeys_at_2(args: &[&[u8]]) -> Vec<usize> {
    let mut v = vec![1];
    v.extend(numkeys_keys(args, 2));
    v
}

/// The positions of the `numkeys` keys after argument `at` (as many as there are).
fn numkeys_keys(args: &[&[u8]], at: usize) -> Vec<usize> {
    let n = args.get(at).and_then(|a| parse_i64(a)).unwrap_or(0).max(0) as u64;
    let avail = args.len().saturating_sub(at + 1) as u64;
    (at + 1..at + 1 + n.min(avail) as usize).collect()
}

const NUMKEYS_1: &[KeySpecDef] = &[KeySpecDef {
    flags: "RO access",
    notes: "",
    begin: crate::cmd::BeginSearch::Index(1),
    find: crate::cmd::FindKeys::Keynum {
        keynumidx: 0,
        firstkey: 1,
        keystep: 1,
    },
}];

const STORE_NUMKEYS_2: &[KeySpecDef] = &[
    KeySpecDef::index(1, "OW update"),
    KeySpecDef {
        flags: "RO access",
        notes: "",
        begin: crate::cmd::BeginSearch::Index(2),
        find: crate::cmd::FindKeys::Keynum {
            keynumidx: 0,
            firstkey: 1,
            keystep: 1,
        },
    },
];

const ZMPOP_KEYS: &[KeySpecDef] = &[KeySpecDef {
    flags: "RW access delete",
    notes: "",
    begin: crate::cmd::BeginSearch::Index(1),
    find: crate::cmd::FindKeys::Keynum {
        keynumidx: 0,
        firstkey: 1,
        keystep: 1,
    },
}];

const RANGE_COMPLEXITY: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).";
const REMRANGE_COMPLEXITY: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.";
const DIFF_COMPLEXITY: &str = "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.";
const INTER_COMPLEXITY: &str = "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.";
const POP_COMPLEXITY: &str = "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.";
const MPOP_COMPLEXITY: &str = "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.";

/// The sorted-set commands.
#[rustfmt::skip]
pub static COMMANDS: &[CommandDef] = &[
    def("zadd", -4, "write denyoom fast", keys(1, 1, 1), "@write @sortedset", "sorted-set", "Add one or more members to a sorted set, or update its score if it already exists", "1.2.0", zadd)
        .key_flags("RW update")
        .complexity("O(log(N)) for each item added, where N is the number of elements in the sorted set.")
        .history(&[("2.4.0", "Accepts multiple elements."), ("3.0.2", "Added the `XX`, `NX`, `CH` and `INCR` options."), ("6.2.0", "Added the `GT` and `LT` options.")]),
    def("zincrby", 4, "write denyoom fast", keys(1, 1, 1), "@write @sortedset", "sorted-set", "Increment the score of a member in a sorted set", "1.2.0", zincrby)
        .key_flags("RW access update")
        .complexity("O(log(N)) where N is the number of elements in the sorted set."),
    def("zrem", -3, "write fast", keys(1, 1, 1), "@write @sortedset", "sorted-set", "Remove one or more members from a sorted set", "1.2.0", zrem)
        .key_flags("RW delete")
        .complexity("O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.")
        .history(&[("2.4.0", "Accepts multiple elements.")]),
    def("zcard", 2, "readonly fast", keys(1, 1, 1), "@read @sortedset", "sorted-set", "Get the number of members in a sorted set", "1.2.0", zcard)
        .key_flags("RO")
        .complexity("O(1)"),
    def("zscore", 3, "readonly fast", keys(1, 1, 1), "@read @sortedset", "sorted-set", "Get the score associated with the given member in a sorted set", "1.2.0", zscore)
        .key_flags("RO access")
        .complexity("O(1)"),
    def("zmscore", -3, "readonly fast", keys(1, 1, 1), "@read @sortedset", "sorted-set", "Get the score associated with the given members in a sorted set", "6.2.0", zmscore)
        .key_flags("RO access")
        .complexity("O(N) where N is the number of members being requested."),
    def("zrank", 3, "readonly fast", keys(1, 1, 1), "@read @sortedset", "sorted-set", "Determine the index of a member in a sorted set", "2.0.0", zrank)
        .key_flags("RO access")
        .complexity("O(log(N))"),
    def("zrevrank", 3, "readonly fast", keys(1, 1, 1), "@read @sortedset", "sorted-set", "Determine the index of a member in a sorted set, with scores ordered from high to low", "2.0.0", zrevrank)
        .key_flags("RO access")
        .complexity("O(log(N))"),
    def("zcount", 4, "readonly fast", keys(1, 1, 1), "@read @sortedset", "sorted-set", "Count the members in a sorted set with scores within the given values", "2.0.0", zcount)
        .key_flags("RO access")
        .complexity("O(log(N)) with N being the number of elements in the sorted set."),
    def("zlexcount", 4, "readonly fast", keys(1, 1, 1), "@read @sortedset", "sorted-set", "Count the number of members in a sorted set between a given lexicographical range", "2.8.9", zlexcount)
        .key_flags("RO access")
        .complexity("O(log(N)) with N being the number of elements in the sorted set."),
    def("zrange", -4, "readonly", keys(1, 1, 1), "@read @sortedset", "sorted-set", "Return a range of members in a sorted set", "1.2.0", zrange)
        .key_flags("RO access")
        .complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.")
        .history(&[("6.2.0", "Added the `REV`, `BYSCORE`, `BYLEX` and `LIMIT` options.")]),
    def("zrangestore", -5, "write denyoom", keys(1, 2, 1), "@write @sortedset", "sorted-set", "Store a range of members from sorted set into another key", "6.2.0", zrangestore)
        .key_specs(&[KeySpecDef::index(1, "OW update"), KeySpecDef::index(2, "RO access")])
        .complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key."),
    def("zrevrange", -4, "readonly", keys(1, 1, 1), "@read @sortedset", "sorted-set", "Return a range of members in a sorted set, by index, with scores ordered from high to low", "1.2.0", zrevrange)
        .key_flags("RO access")
        .complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.")
        .deprecated("6.2.0", "`ZRANGE` with the `REV` argument"),
    def("zrangebyscore", -4, "readonly", keys(1, 1, 1), "@read @sortedset", "sorted-set", "Return a range of members in a sorted set, by score", "1.0.5", zrangebyscore)
        .key_flags("RO access")
        .complexity(RANGE_COMPLEXITY)
        .deprecated("6.2.0", "`ZRANGE` with the `BYSCORE` argument")
        .history(&[("2.0.0", "Added the `WITHSCORES` modifier.")]),
    def("zrevrangebyscore", -4, "readonly", keys(1, 1, 1), "@read @sortedset", "sorted-set", "Return a range of members in a sorted set, by score, with scores ordered from high to low", "2.2.0", zrevrangebyscore)
        .key_flags("RO access")
        .complexity(RANGE_COMPLEXITY)
        .deprecated("6.2.0", "`ZRANGE` with the `REV` and `BYSCORE` arguments")
        .history(&[("2.1.6", "`min` and `max` can be exclusive.")]),
    def("zrangebylex", -4, "readonly", keys(1, 1, 1), "@read @sortedset", "sorted-set", "Return a range of members in a sorted set, by lexicographical range", "2.8.9", zrangebylex)
        .key_flags("RO access")
        .complexity(RANGE_COMPLEXITY)
        .deprecated("6.2.0", "`ZRANGE` with the `BYLEX` argument"),
    def("zrevrangebylex", -4, "readonly", keys(1, 1, 1), "@read @sortedset", "sorted-set", "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", "2.8.9", zrevrangebylex)
        .key_flags("RO access")
        .complexity(RANGE_COMPLEXITY)
        .deprecated("6.2.0", "`ZRANGE` with the `REV` and `BYLEX` arguments"),
    def("zremrangebyrank", 4, "write", keys(1, 1, 1), "@write @sortedset", "sorted-set", "Remove all members in a sorted set within the given indexes", "2.0.0", zremrangebyrank)
        .key_flags("RW delete")
        .complexity(REMRANGE_COMPLEXITY),
    def("zremrangebyscore", 4, "write", keys(1, 1, 1), "@write @sortedset", "sorted-set", "Remove all members in a sorted set within the given scores", "1.2.0", zremrangebyscore)
        .key_flags("RW delete")
        .complexity(REMRANGE_COMPLEXITY),
    def("zremrangebylex", 4, "write", keys(1, 1, 1), "@write @sortedset", "sorted-set", "Remove all members in a sorted set between the given lexicographical range", "2.8.9", zremrangebylex)
        .key_flags("RW delete")
        .complexity(REMRANGE_COMPLEXITY),
    def("zunion", -3, "readonly", KeySpec::Custom(numkeys_at_1), "@read @sortedset", "sorted-set", "Add multiple sorted sets", "6.2.0", zunion)
        .key_specs(NUMKEYS_1)
        .complexity("O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set."),
    def("zinter", -3, "readonly", KeySpec::Custom(numkeys_at_1), "@read @sortedset", "sorted-set", "Intersect multiple sorted sets", "6.2.0", zinter)
        .key_specs(NUMKEYS_1)
        .complexity(INTER_COMPLEXITY),
    def("zdiff", -3, "readonly", KeySpec::Custom(numkeys_at_1), "@read @sortedset", "sorted-set", "Subtract multiple sorted sets", "6.2.0", zdiff)
        .key_specs(NUMKEYS_1)
        .complexity(DIFF_COMPLEXITY),
    def("zintercard", -3, "readonly", KeySpec::Custom(numkeys_at_1), "@read @sortedset", "sorted-set", "Intersect multiple sorted sets and return the cardinality of the result", "7.0.0", zintercard)
        .key_specs(NUMKEYS_1)
        .complexity("O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets."),
    def("zunionstore", -4, "write denyoom", KeySpec::Custom(dst_and_numkeys_at_2), "@write @sortedset", "sorted-set", "Add multiple sorted sets and store the resulting sorted set in a new key", "2.0.0", zunionstore)
        .key_specs(STORE_NUMKEYS_2)
        .complexity("O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set."),
    def("zinterstore", -4, "write denyoom", KeySpec::Custom(dst_and_numkeys_at_2), "@write @sortedset", "sorted-set", "Intersect multiple sorted sets and store the resulting sorted set in a new key", "2.0.0", zinterstore)
        .key_specs(STORE_NUMKEYS_2)
        .complexity(INTER_COMPLEXITY),
    def("zdiffstore", -4, "write denyoom", KeySpec::Custom(dst_and_numkeys_at_2), "@write @sortedset", "sorted-set", "Subtract multiple sorted sets and store the resulting sorted set in a new key", "6.2.0", zdiffstore)
        .key_specs(STORE_NUMKEYS_2)
        .complexity(DIFF_COMPLEXITY),
    def("zpopmin", -2, "write fast", keys(1, 1, 1), "@write @sortedset", "sorted-set", "Remove and return members with the lowest scores in a sorted set", "5.0.0", zpopmin)
        .key_flags("RW access delete")
        .complexity(POP_COMPLEXITY),
    def("zpopmax", -2, "write fast", keys(1, 1, 1), "@write @sortedset", "sorted-set", "Remove and return members with the highest scores in a sorted set", "5.0.0", zpopmax)
        .key_flags("RW access delete")
        .complexity(POP_COMPLEXITY),
    def("zmpop", -4, "write", KeySpec::Custom(numkeys_at_1), "@write @sortedset", "sorted-set", "Remove and return members with scores in a sorted set", "7.0.0", zmpop)
        .key_specs(ZMPOP_KEYS)
        .complexity(MPOP_COMPLEXITY),
    def("zrandmember", -2, "readonly", keys(1, 1, 1), "@read @sortedset", "sorted-set", "Get one or multiple random elements from a sorted set", "6.2.0", zrandmember)
        .key_flags("RO access")
        .tips("nondeterministic_output")
        .complexity("O(N) where N is the number of elements returned"),
    def("zscan", -3, "readonly", keys(1, 1, 1), "@read @sortedset", "sorted-set", "Incrementally iterate sorted sets elements and associated scores", "2.8.0", zscan)
        .key_flags("RO access")
        .tips("nondeterministic_output")
        .complexity("O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.."),
];

// ---------------------------------------------------------------------------------------------
// Small helpers

/// Argument `i` (empty if absent, which the arity checks rule out).
#[inline]
fn arg<'a>(args: &[&'a [u8]], i: usize) -> &'a [u8] {
    args.get(i).copied().unwrap_or_default()
}

/// Whether option argument `a` is `word`, compared as Redis's `strcasecmp` does: ignoring ASCII
/// case and only up to the argument's first NUL byte.
fn is_word(a: &[u8], word: &str) -> bool {
    let end = a.iter().position(|&b| b == 0).unwrap_or(a.len());
    a.get(..end)
        .is_some_and(|w| w.eq_ignore_ascii_case(word.as_bytes()))
}

/// Redis's `getLongFromObjectOrReply`.
fn long_arg(a: &[u8]) -> Result<i64> {
    parse_i64(a).ok_or(Error::NotInteger)
}

/// Redis's `getRangeLongFromObjectOrReply` with a custom message (used for both a non-integer
/// and an out-of-range value).
fn range_arg(a: &[u8], min: i64, max: i64, msg: &'static str) -> Result<i64> {
    match parse_i64(a) {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(Error::msg(msg)),
    }
}

/// Redis's `getPositiveLongFromObjectOrReply`.
fn positive_arg(a: &[u8], msg: Option<&'static str>) -> Result<i64> {
    match (parse_i64(a), msg) {
        (Some(n), _) if n >= 0 => Ok(n),
        (_, Some(m)) => Err(Error::msg(m)),
        (_, None) => Err(Error::NotPositive),
    }
}

/// Records lookups of a write command that Redis makes with `lookupKeyRead` (counted as
/// keyspace hits or misses), which the view only counts for read-only commands.
fn count_read(db: &mut DbView<'_>, found: bool) {
    if db.count_reads {
        return;
    }
    if found {
        db.hits += 1;
    } else {
        db.misses += 1;
    }
}

/// Counts `n` changes to `key` (Redis's `server.dirty += n`) after an in-place change, deleting
/// the key if the change emptied it.
fn changed(db: &mut DbView<'_>, key: &[u8], n: u64, emptied: bool) {
    if n == 0 {
        return;
    }
    if emptied {
        if let Some(e) = db.remove(key) {
            db.discard(e.value);
        }
    } else {
        db.modified(key);
    }
    db.dirty += n - 1;
}

/// Replies a member (an integer member as its decimal form).
#[inline]
fn bulk_member(out: &mut ReplyWriter, m: LpVal<'_>) {
    match m {
        LpVal::Str(s) => out.bulk(s),
        LpVal::Int(n) => out.bulk_int(n),
        LpVal::F64(f) => out.bulk(flint_protocol::format_double(f).as_bytes()),
    }
}

/// The length of an array of `n` members, with scores as RESP2 (flat) or RESP3 (pairs) has it.
#[inline]
fn members_len(n: usize, withscores: bool, resp3: bool) -> usize {
    if withscores && !resp3 {
        n * 2
    } else {
        n
    }
}

/// Writes one member of a reply of members (with its score: flat in RESP2, a pair in RESP3).
#[inline]
fn reply_member(out: &mut ReplyWriter, m: LpVal<'_>, score: f64, withscores: bool) {
    if withscores && out.is_resp3() {
        out.array(2);
    }
    bulk_member(out, m);
    if withscores {
        out.double(score);
    }
}

/// `(member, score)` order: by score, then member bytes (`-0` and `0` are equal scores).
fn cmp_entry(a: &(Vec<u8>, f64), b: &(Vec<u8>, f64)) -> std::cmp::Ordering {
    a.1.partial_cmp(&b.1)
        .unwrap_or(std::cmp::Ordering::Equal)
        .then_with(|| a.0.cmp(&b.0))
}

// ---------------------------------------------------------------------------------------------
// Value-level access for both encodings

/// A sorted set value, read-only, in either encoding.
#[derive(Clone, Copy)]
pub enum ZRef<'a> {
    /// The listpack encoding.
    Lp(&'a Lp),
    /// The skip list encoding.
    Big(&'a BigZSet),
}

impl<'a> ZRef<'a> {
    /// The sorted set in `v`, or `None` if `v` is another type.
    pub fn of(v: &'a Value) -> Option<ZRef<'a>> {
        match v {
            Value::ZSetLp(lp) => Some(ZRef::Lp(lp)),
            Value::ZSet(z) => Some(ZRef::Big(z)),
            _ => None,
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match self {
            ZRef::Lp(lp) => listpack::len(lp),
            ZRef::Big(z) => z.len(),
        }
    }

    /// Whether there are no members (never, for a stored value).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZRef::Lp(lp) => listpack::find(lp, member).map(|(_, s)| s),
            ZRef::Big(z) => z.score(member),
        }
    }

    /// Calls `f` with every `(member, score)`, highest first (the order Redis's set operations
    /// iterate in).
    fn for_each_rev(&self, mut f: impl FnMut(LpVal<'_>, f64)) {
        match self {
            ZRef::Lp(lp) => {
                let items = listpack::items(lp);
                for &(m, s) in items.iter().rev() {
                    f(m, s);
                }
            }
            ZRef::Big(z) => {
                let mut x = z.last();
                while let Some(n) = x {
                    f(LpVal::Str(z.member(n)), z.score_of(n));
                    x = z.prev(n);
                }
            }
        }
    }
}

/// Whether `v` is a sorted set.
#[inline]
fn is_zset(v: &Value) -> bool {
    matches!(v, Value::ZSetLp(_) | Value::ZSet(_))
}

/// Number of members of a sorted set value (0 for other types).
pub fn zset_len(v: &Value) -> usize {
    ZRef::of(v).map_or(0, |z| z.len())
}

/// An empty sorted set for a first member of `first_len` bytes (Redis's ZADD on a missing key:
/// skiplist at once if that member or a zero entry limit rules the listpack out).
fn new_value(first_len: usize, lim: &EncodingLimits) -> Value {
    if lim.zset_max_listpack_entries == 0 || lim.zset_max_listpack_value < first_len {
        Value::ZSet(Box::default())
    } else {
        Value::ZSetLp(Lp::new())
    }
}

/// The skip list holding the members of listpack `lp`.
fn lp_to_big(lp: &Lp) -> BigZSet {
    let mut z = BigZSet::new();
    for (m, s) in listpack::pairs(lp) {
        m.with_bytes(|b| z.insert_new(b, s));
    }
    z
}

/// A sorted set value holding `items` (sorted by [`cmp_entry`], members unique): a listpack
/// when it fits the limits (Redis's `zsetConvertToListpackIfNeeded`), else a skip list.
pub fn build_sorted<M: AsRef<[u8]>>(items: &[(M, f64)], lim: &EncodingLimits) -> Value {
    let fits = items.len() <= lim.zset_max_listpack_entries
        && items
            .iter()
            .all(|(m, _)| m.as_ref().len() <= lim.zset_max_listpack_value);
    if fits {
        Value::ZSetLp(listpack::from_sorted(
            items.iter().map(|(m, s)| (m.as_ref(), *s)),
        ))
    } else {
        let mut z = BigZSet::new();
        for (m, s) in items {
            z.insert_new(m.as_ref(), *s);
        }
        Value::ZSet(Box::new(z))
    }
}

/// ZADD's pairs for a new key when their members are distinct: then every pair is added
/// whatever the flags (NX, GT and LT never refuse a new member), and the set is built at once,
/// sorted, instead of by one insert per member. `None` when a member repeats.
fn new_from_pairs(
    args: &[&[u8]],
    idx: usize,
    scores: &[f64],
    lim: &EncodingLimits,
) -> Option<Value> {
    let mut items: Vec<(&[u8], f64)> = scores
        .iter()
        .enumerate()
        .map(|(j, &s)| (arg(args, idx + 2 * j + 1), s))
        .collect();
    items.sort_unstable_by(|a, b| a.0.cmp(b.0));
    if items.windows(2).any(|w| w[0].0 == w[1].0) {
        return None;
    }
    items.sort_unstable_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(b.0))
    });
    Some(build_sorted(&items, lim))
}

/// ZADD flags (Redis's `ZADD_IN_*`).
#[derive(Clone, Copy, Default, Debug)]
struct AddFlags {
    incr: bool,
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

/// What [`add`] did (Redis's `ZADD_OUT_*`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    /// A new member.
    Added,
    /// An existing member got a new score.
    Updated,
    /// An existing member kept its score (equal score, or no change asked).
    Same,
    /// Nothing, because of NX, XX, GT or LT.
    Nop,
}

/// Redis's `zsetAdd` on a sorted set value: adds or updates `member`, converting a listpack
/// that would pass the limits. Returns what happened and the member's resulting score, or the
/// NaN error of an increment.
fn add(
    v: &mut Value,
    member: &[u8],
    score: f64,
    f: AddFlags,
    lim: &EncodingLimits,
) -> Result<(Outcome, f64)> {
    let nan = || Error::msg("ERR resulting score is not a number (NaN)");
    if score.is_nan() {
        return Err(nan());
    }
    let mut score = score;
    if let Value::ZSetLp(lp) = v {
        match listpack::find(lp, member) {
            Some((at, cur)) => {
                if f.nx {
                    return Ok((Outcome::Nop, cur));
                }
                if f.incr {
                    score += cur;
                    if score.is_nan() {
                        return Err(nan());
                    }
                }
                if (f.lt && score >= cur) || (f.gt && score <= cur) {
                    return Ok((Outcome::Nop, cur));
                }
                if score != cur {
                    listpack::delete_at(lp, at);
                    listpack::insert(lp, member, score);
                    return Ok((Outcome::Updated, score));
                }
                return Ok((Outcome::Same, score));
            }
            None if f.xx => return Ok((Outcome::Nop, score)),
            None => {
                if listpack::len(lp) + 1 > lim.zset_max_listpack_entries
                    || member.len() > lim.zset_max_listpack_value
                {
                    *v = Value::ZSet(Box::new(lp_to_big(lp)));
                } else {
                    listpack::insert(lp, member, score);
                    return Ok((Outcome::Added, score));
                }
            }
        }
    }
    let Value::ZSet(z) = v else {
        return Err(Error::WrongType);
    };
    match z.find(member) {
        Some(x) => {
            if f.nx {
                return Ok((Outcome::Nop, z.score_of(x)));
            }
            let cur = z.score_of(x);
            if f.incr {
                score += cur;
                if score.is_nan() {
                    return Err(nan());
                }
            }
            if (f.lt && score >= cur) || (f.gt && score <= cur) {
                return Ok((Outcome::Nop, cur));
            }
            if score != cur {
                z.update_score(x, score);
                return Ok((Outcome::Updated, score));
            }
            Ok((Outcome::Same, score))
        }
        None if f.xx => Ok((Outcome::Nop, score)),
        None => {
            z.insert_new(member, score);
            Ok((Outcome::Added, score))
        }
    }
}

/// Removes `member` from a sorted set value; says whether it was there.
fn delete(v: &mut Value, member: &[u8]) -> bool {
    match v {
        Value::ZSetLp(lp) => match listpack::find(lp, member) {
            Some((at, _)) => {
                listpack::delete_at(lp, at);
                true
            }
            None => false,
        },
        Value::ZSet(z) => z.remove(member).is_some(),
        _ => false,
    }
}

/// The members of a set value (SetInts/SetLp/Set) as sorted-set members of score 1, for
/// ZUNION/ZINTER/ZDIFF and their STORE forms (Redis accepts sets there).
///
/// TODO(sets): wire to the set module; until then set values read as `None`, which the set
/// operations treat as an empty input.
pub fn set_members_as_zset(v: &Value) -> Option<Vec<(Vec<u8>, f64)>> {
    match v {
        Value::SetInts(_) | Value::SetLp(_) | Value::Set(_) => None,
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Ranges

extern "C" {
    fn strtod(s: *const std::os::raw::c_char, end: *mut *mut std::os::raw::c_char) -> f64;
}

/// `strtod` on `s` as Redis calls it on an argument: the C string stops at the first NUL byte,
/// and it must be consumed whole (the empty string reads as 0). NaN is refused.
fn strtod_arg(s: &[u8]) -> Option<f64> {
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
fn score_bound(a: &[u8]) -> Option<(f64, bool)> {
    match a.first() {
        Some(b'(') => strtod_arg(&a[1..]).map(|v| (v, true)),
        _ => strtod_arg(a).map(|v| (v, false)),
    }
}

/// A score range from ZRANGEBYSCORE-style `min` and `max`.
fn score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange> {
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
fn lex_bound(a: &[u8]) -> Option<LexBound> {
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
fn lex_range(min: &[u8], max: &[u8]) -> Result<LexRange> {
    match (lex_bound(min), lex_bound(max)) {
        (Some(min), Some(max)) => Ok(LexRange { min, max }),
        _ => Err(Error::msg("ERR min or max not valid string range item")),
    }
}

/// A range query, once parsed.
#[derive(Clone, Debug)]
enum Range {
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
    fn holds<S: Seq>(&self, s: &S, p: S::Pos, rev: bool) -> bool {
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
fn rank_span(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
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
trait Seq {
    /// A position (an index for a listpack, a node for a skip list).
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
struct LpSeq<'a> {
    items: Vec<(LpVal<'a>, f64)>,
}

impl<'a> LpSeq<'a> {
    fn new(lp: &'a Lp) -> Self {
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
    type Pos = NodeId;

    fn len(&self) -> usize {
        BigZSet::len(self)
    }
    fn at(&self, r: usize) -> Option<NodeId> {
        self.at_rank(r)
    }
    fn next(&self, p: NodeId) -> Option<NodeId> {
        BigZSet::next(self, p)
    }
    fn prev(&self, p: NodeId) -> Option<NodeId> {
        BigZSet::prev(self, p)
    }
    fn member(&self, p: NodeId) -> LpVal<'_> {
        LpVal::Str(BigZSet::member(self, p))
    }
    fn score(&self, p: NodeId) -> f64 {
        self.score_of(p)
    }
    fn first_in_score(&self, r: &ScoreRange) -> Option<(NodeId, usize)> {
        BigZSet::first_in_score(self, r)
    }
    fn last_in_score(&self, r: &ScoreRange) -> Option<(NodeId, usize)> {
        BigZSet::last_in_score(self, r)
    }
    fn first_in_lex(&self, r: &LexRange) -> Option<(NodeId, usize)> {
        BigZSet::first_in_lex(self, r)
    }
    fn last_in_lex(&self, r: &LexRange) -> Option<(NodeId, usize)> {
        BigZSet::last_in_lex(self, r)
    }
}

/// The first position of a range walk and whether it runs backward, for score and lex ranges.
fn range_start<S: Seq>(s: &S, range: &Range, rev: bool) -> Option<S::Pos> {
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
fn walk_range<S: Seq>(
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
fn walk_zset(
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

// ---------------------------------------------------------------------------------------------
// ZADD, ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK

/// ZADD and ZINCRBY (Redis's `zaddGenericCommand`).
fn zadd_generic(ctx: &mut Ctx<'_>, incr_cmd: bool) -> Result<()> {
    let args = ctx.args;
    let key = arg(args, 1);
    let mut f = AddFlags {
        incr: incr_cmd,
        ..AddFlags::default()
    };
    let mut ch = false;
    let mut idx = 2;
    while idx < args.len() {
        let opt = arg(args, idx);
        if is_word(opt, "nx") {
            f.nx = true;
        } else if is_word(opt, "xx") {
            f.xx = true;
        } else if is_word(opt, "ch") {
            ch = true;
        } else if is_word(opt, "incr") {
            f.incr = true;
        } else if is_word(opt, "gt") {
            f.gt = true;
        } else if is_word(opt, "lt") {
            f.lt = true;
        } else {
            break;
        }
        idx += 1;
    }
    let elements = args.len() - idx;
    if elements % 2 == 1 || elements == 0 {
        return Err(Error::Syntax);
    }
    let elements = elements / 2;
    if f.nx && f.xx {
        return Err(Error::msg(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return Err(Error::msg(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && elements > 1 {
        return Err(Error::msg(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let mut scores = Vec::with_capacity(elements);
    for j in 0..elements {
        scores.push(parse_f64(arg(args, idx + 2 * j)).ok_or(Error::NotFloat)?);
    }
    let lim = ctx.engine.config.encoding();
    let (mut added, mut updated, mut processed) = (0u64, 0u64, 0u64);
    let mut last = 0.0;
    let mut apply = |v: &mut Value| -> Result<()> {
        for (j, &score) in scores.iter().enumerate() {
            let member = arg(args, idx + 2 * j + 1);
            let (what, s) = add(v, member, score, f, &lim)?;
            match what {
                Outcome::Added => added += 1,
                Outcome::Updated => updated += 1,
                Outcome::Same | Outcome::Nop => {}
            }
            if what != Outcome::Nop {
                processed += 1;
            }
            last = s;
        }
        Ok(())
    };
    let outcome = match ctx.db.get(key) {
        Some(v) if !is_zset(v) => return Err(Error::WrongType),
        Some(v) => apply(v),
        None if f.xx => Ok(()),
        None => {
            let (v, r) = match new_from_pairs(args, idx, &scores, &lim) {
                Some(v) => {
                    added = scores.len() as u64;
                    processed = added;
                    last = scores.last().copied().unwrap_or(0.0);
                    (v, Ok(()))
                }
                None => {
                    let mut v = new_value(arg(args, idx + 1).len(), &lim);
                    let r = apply(&mut v);
                    (v, r)
                }
            };
            if zset_len(&v) > 0 {
                let db = ctx.db.db;
                ctx.db.insert_new_in(db, key, v, 0);
                ctx.db.dirty -= 1;
            }
            r
        }
    };
    if added + updated > 0 {
        ctx.db.modified(key);
        ctx.db.dirty += added + updated - 1;
    }
    outcome?;
    if f.incr {
        if processed > 0 {
            ctx.out.double(last);
        } else {
            ctx.out.null();
        }
    } else {
        ctx.out
            .int((if ch { added + updated } else { added }) as i64);
    }
    Ok(())
}

// ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]
fn zadd(ctx: &mut Ctx<'_>) -> Result<()> {
    zadd_generic(ctx, false)
}

// ZINCRBY key increment member
fn zincrby(ctx: &mut Ctx<'_>) -> Result<()> {
    zadd_generic(ctx, true)
}

// ZREM key member [member ...]
fn zrem(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let key = arg(args, 1);
    let Some(v) = ctx.db.get(key) else {
        ctx.out.int(0);
        return Ok(());
    };
    if !is_zset(v) {
        return Err(Error::WrongType);
    }
    let mut deleted = 0u64;
    let mut emptied = false;
    for m in &args[2..] {
        if delete(v, m) {
            deleted += 1;
        }
        if zset_len(v) == 0 {
            emptied = true;
            break;
        }
    }
    changed(&mut ctx.db, key, deleted, emptied);
    ctx.out.int(deleted as i64);
    Ok(())
}

/// The sorted set at `key` for a read: `None` if missing, WRONGTYPE if another type.
fn read_zset<'v>(db: &'v mut DbView<'_>, key: &[u8]) -> Result<Option<ZRef<'v>>> {
    match db.get(key) {
        None => Ok(None),
        Some(v) => ZRef::of(v).map(Some).ok_or(Error::WrongType),
    }
}

// ZCARD key
fn zcard(ctx: &mut Ctx<'_>) -> Result<()> {
    let n = read_zset(&mut ctx.db, arg(ctx.args, 1))?.map_or(0, |z| z.len());
    ctx.out.int(n as i64);
    Ok(())
}

// ZSCORE key member
fn zscore(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let score = read_zset(&mut ctx.db, arg(args, 1))?.and_then(|z| z.score(arg(args, 2)));
    match score {
        Some(s) => ctx.out.double(s),
        None => ctx.out.null(),
    }
    Ok(())
}

// ZMSCORE key member [member ...]
fn zmscore(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let scores: Vec<Option<f64>> = match read_zset(&mut ctx.db, arg(args, 1))? {
        Some(z) => args[2..].iter().map(|m| z.score(m)).collect(),
        None => vec![None; args.len() - 2],
    };
    ctx.out.array(scores.len());
    for s in scores {
        match s {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// ZRANK and ZREVRANK (Redis's `zrankGenericCommand`).
fn zrank_generic(ctx: &mut Ctx<'_>, rev: bool) -> Result<()> {
    let args = ctx.args;
    let member = arg(args, 2);
    let rank = match read_zset(&mut ctx.db, arg(args, 1))? {
        None => None,
        Some(z) => {
            let r = match z {
                ZRef::Lp(lp) => listpack::rank(lp, member),
                ZRef::Big(b) => b.find(member).map(|x| b.rank_of(x)),
            };
            r.map(|r| if rev { z.len() - 1 - r } else { r })
        }
    };
    match rank {
        Some(r) => ctx.out.int(r as i64),
        None => ctx.out.null(),
    }
    Ok(())
}

// ZRANK key member
fn zrank(ctx: &mut Ctx<'_>) -> Result<()> {
    zrank_generic(ctx, false)
}

// ZREVRANK key member
fn zrevrank(ctx: &mut Ctx<'_>) -> Result<()> {
    zrank_generic(ctx, true)
}

// ---------------------------------------------------------------------------------------------
// ZCOUNT, ZLEXCOUNT

/// How many members `range` holds (Redis's `zcountCommand`/`zlexcountCommand`: a walk for a
/// listpack, two rank searches for a skip list).
fn count_in(z: ZRef<'_>, range: &Range) -> usize {
    match z {
        ZRef::Lp(lp) => walk_range(&LpSeq::new(lp), range, false, 0, -1, |_, _| {}),
        ZRef::Big(b) => {
            let (first, last) = match range {
                Range::Score(r) => (b.first_in_score(r), b.last_in_score(r)),
                Range::Lex(r) => (b.first_in_lex(r), b.last_in_lex(r)),
                Range::Rank(..) => return 0,
            };
            match (first, last) {
                (None, _) => 0,
                (Some((_, r1)), Some((_, r2))) => (r2 + 1).saturating_sub(r1),
                (Some((_, r1)), None) => b.len() - r1,
            }
        }
    }
}

fn count_generic(ctx: &mut Ctx<'_>, range: Range) -> Result<()> {
    let n = read_zset(&mut ctx.db, arg(ctx.args, 1))?.map_or(0, |z| count_in(z, &range));
    ctx.out.int(n as i64);
    Ok(())
}

// ZCOUNT key min max
fn zcount(ctx: &mut Ctx<'_>) -> Result<()> {
    let r = score_range(arg(ctx.args, 2), arg(ctx.args, 3))?;
    count_generic(ctx, Range::Score(r))
}

// ZLEXCOUNT key min max
fn zlexcount(ctx: &mut Ctx<'_>) -> Result<()> {
    let r = lex_range(arg(ctx.args, 2), arg(ctx.args, 3))?;
    count_generic(ctx, Range::Lex(r))
}

// ---------------------------------------------------------------------------------------------
// ZRANGE and friends

/// The range type a ZRANGE-family command fixes, or `Auto` (ZRANGE, ZRANGESTORE: from options).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Auto,
    Rank,
    Score,
    Lex,
}

/// The ZRANGE family (Redis's `zrangeGenericCommand`): the key at `argc_start`, min and max
/// after it, then options. `store` is ZRANGESTORE (destination at 1). `rev` is `None` when the
/// REV option decides.
fn zrange_generic(
    ctx: &mut Ctx<'_>,
    argc_start: usize,
    store: bool,
    mut kind: Kind,
    rev: Option<bool>,
) -> Result<()> {
    let args = ctx.args;
    let key = arg(args, argc_start);
    let mut minidx = argc_start + 1;
    let mut maxidx = argc_start + 2;
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut rev_opt = rev;
    let mut j = argc_start + 3;
    while j < args.len() {
        let a = arg(args, j);
        let left = args.len() - j - 1;
        if !store && is_word(a, "withscores") {
            withscores = true;
        } else if is_word(a, "limit") && left >= 2 {
            offset = long_arg(arg(args, j + 1))?;
            limit = long_arg(arg(args, j + 2))?;
            j += 2;
        } else if rev.is_none() && rev_opt.is_none() && is_word(a, "rev") {
            rev_opt = Some(true);
        } else if kind == Kind::Auto && is_word(a, "bylex") {
            kind = Kind::Lex;
        } else if kind == Kind::Auto && is_word(a, "byscore") {
            kind = Kind::Score;
        } else {
            return Err(Error::Syntax);
        }
        j += 1;
    }
    let reverse = rev_opt.unwrap_or(false);
    if kind == Kind::Auto {
        kind = Kind::Rank;
    }
    if limit != -1 && kind == Kind::Rank {
        return Err(Error::msg(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == Kind::Lex {
        return Err(Error::msg(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    if reverse && kind != Kind::Rank {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    let range = match kind {
        Kind::Score => Range::Score(score_range(arg(args, minidx), arg(args, maxidx))?),
        Kind::Lex => Range::Lex(lex_range(arg(args, minidx), arg(args, maxidx))?),
        Kind::Rank | Kind::Auto => {
            Range::Rank(long_arg(arg(args, minidx))?, long_arg(arg(args, maxidx))?)
        }
    };
    if store {
        // Redis reads the source with `lookupKeyRead` (a counted hit or miss).
        let mut items: Vec<(Vec<u8>, f64)> = Vec::new();
        let found = ctx.db.get(key).map(|v| {
            ZRef::of(v).map(|z| {
                walk_zset(z, &range, reverse, offset, limit, |m, s| {
                    items.push((m.to_vec(), s))
                })
            })
        });
        count_read(&mut ctx.db, found.is_some());
        if found == Some(None) {
            return Err(Error::WrongType);
        }
        if reverse {
            items.reverse();
        }
        return store_result(ctx, arg(args, 1), &items);
    }
    let resp3 = ctx.out.is_resp3();
    let Some(z) = read_zset(&mut ctx.db, key)? else {
        ctx.out.array(0);
        return Ok(());
    };
    if let Range::Rank(start, end) = range {
        // The count is known first: write straight into the reply.
        let n = rank_span(z.len(), start, end).map_or(0, |(_, n)| n);
        let out = &mut *ctx.out;
        out.array(members_len(n, withscores, resp3));
        walk_zset(z, &range, reverse, 0, -1, |m, s| {
            reply_member(out, m, s, withscores)
        });
        return Ok(());
    }
    let mut body = ReplyWriter::new(resp3);
    let n = walk_zset(z, &range, reverse, offset, limit, |m, s| {
        reply_member(&mut body, m, s, withscores)
    });
    ctx.out.array(members_len(n, withscores, resp3));
    ctx.out.raw(&body.buffer()[..]);
    Ok(())
}

/// Stores `items` (sorted, unique) at `dst` and replies their count; an empty result deletes
/// `dst` instead (Redis's ZRANGESTORE and Z*STORE).
fn store_result(ctx: &mut Ctx<'_>, dst: &[u8], items: &[(Vec<u8>, f64)]) -> Result<()> {
    if items.is_empty() {
        if let Some(e) = ctx.db.remove(dst) {
            ctx.db.discard(e.value);
        }
        ctx.out.int(0);
        return Ok(());
    }
    let lim = ctx.engine.config.encoding();
    let v = build_sorted(items, &lim);
    if let Some(old) = ctx.db.set(dst, v, 0) {
        ctx.db.discard(old);
    }
    ctx.out.int(items.len() as i64);
    Ok(())
}

// ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
fn zrange(ctx: &mut Ctx<'_>) -> Result<()> {
    zrange_generic(ctx, 1, false, Kind::Auto, None)
}

// ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]
fn zrangestore(ctx: &mut Ctx<'_>) -> Result<()> {
    zrange_generic(ctx, 2, true, Kind::Auto, None)
}

// ZREVRANGE key start stop [WITHSCORES]
fn zrevrange(ctx: &mut Ctx<'_>) -> Result<()> {
    zrange_generic(ctx, 1, false, Kind::Rank, Some(true))
}

// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
fn zrangebyscore(ctx: &mut Ctx<'_>) -> Result<()> {
    zrange_generic(ctx, 1, false, Kind::Score, Some(false))
}

// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
fn zrevrangebyscore(ctx: &mut Ctx<'_>) -> Result<()> {
    zrange_generic(ctx, 1, false, Kind::Score, Some(true))
}

// ZRANGEBYLEX key min max [LIMIT offset count]
fn zrangebylex(ctx: &mut Ctx<'_>) -> Result<()> {
    zrange_generic(ctx, 1, false, Kind::Lex, Some(false))
}

// ZREVRANGEBYLEX key max min [LIMIT offset count]
fn zrevrangebylex(ctx: &mut Ctx<'_>) -> Result<()> {
    zrange_generic(ctx, 1, false, Kind::Lex, Some(true))
}

// ---------------------------------------------------------------------------------------------
// ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX

/// Removes what `range` holds from a sorted set value; returns how many (Redis's
/// `zzlDeleteRangeBy*` / `zslDeleteRangeBy*`).
fn remove_range(v: &mut Value, range: &Range) -> usize {
    match v {
        Value::ZSetLp(lp) => {
            let (start, count) = {
                let s = LpSeq::new(lp);
                match range {
                    Range::Rank(a, b) => match rank_span(s.len(), *a, *b) {
                        Some(x) => x,
                        None => return 0,
                    },
                    _ => {
                        let Some(first) = range_start(&s, range, false) else {
                            return 0;
                        };
                        let mut n = 0;
                        let mut p = Some(first);
                        while let Some(x) = p {
                            if !range.holds(&s, x, false) {
                                break;
                            }
                            n += 1;
                            p = s.next(x);
                        }
                        (first, n)
                    }
                }
            };
            listpack::delete_ranks(lp, start, count);
            count
        }
        Value::ZSet(z) => match range {
            Range::Rank(a, b) => match rank_span(z.len(), *a, *b) {
                Some((start, count)) => z.remove_range_by_rank(start, start + count - 1),
                None => 0,
            },
            Range::Score(r) => z.remove_range_by_score(r),
            Range::Lex(r) => z.remove_range_by_lex(r),
        },
        _ => 0,
    }
}

fn zremrange_generic(ctx: &mut Ctx<'_>, range: Range) -> Result<()> {
    let key = arg(ctx.args, 1);
    let Some(v) = ctx.db.get(key) else {
        ctx.out.int(0);
        return Ok(());
    };
    if !is_zset(v) {
        return Err(Error::WrongType);
    }
    let removed = remove_range(v, &range);
    let emptied = zset_len(v) == 0;
    changed(&mut ctx.db, key, removed as u64, emptied);
    ctx.out.int(removed as i64);
    Ok(())
}

// ZREMRANGEBYRANK key start stop
fn zremrangebyrank(ctx: &mut Ctx<'_>) -> Result<()> {
    let start = long_arg(arg(ctx.args, 2))?;
    let end = long_arg(arg(ctx.args, 3))?;
    zremrange_generic(ctx, Range::Rank(start, end))
}

// ZREMRANGEBYSCORE key min max
fn zremrangebyscore(ctx: &mut Ctx<'_>) -> Result<()> {
    let r = score_range(arg(ctx.args, 2), arg(ctx.args, 3))?;
    zremrange_generic(ctx, Range::Score(r))
}

// ZREMRANGEBYLEX key min max
fn zremrangebylex(ctx: &mut Ctx<'_>) -> Result<()> {
    let r = lex_range(arg(ctx.args, 2), arg(ctx.args, 3))?;
    zremrange_generic(ctx, Range::Lex(r))
}

// ---------------------------------------------------------------------------------------------
// ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD

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
fn zunion(ctx: &mut Ctx<'_>) -> Result<()> {
    zsetop_generic(ctx, None, 1, SetOp::Union, false)
}

// ZINTER numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
fn zinter(ctx: &mut Ctx<'_>) -> Result<()> {
    zsetop_generic(ctx, None, 1, SetOp::Inter, false)
}

// ZDIFF numkeys key [key ...] [WITHSCORES]
fn zdiff(ctx: &mut Ctx<'_>) -> Result<()> {
    zsetop_generic(ctx, None, 1, SetOp::Diff, false)
}

// ZINTERCARD numkeys key [key ...] [LIMIT limit]
fn zintercard(ctx: &mut Ctx<'_>) -> Result<()> {
    zsetop_generic(ctx, None, 1, SetOp::Inter, true)
}

// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX]
fn zunionstore(ctx: &mut Ctx<'_>) -> Result<()> {
    zsetop_generic(ctx, Some(1), 2, SetOp::Union, false)
}

// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX]
fn zinterstore(ctx: &mut Ctx<'_>) -> Result<()> {
    zsetop_generic(ctx, Some(1), 2, SetOp::Inter, false)
}

// ZDIFFSTORE destination numkeys key [key ...]
fn zdiffstore(ctx: &mut Ctx<'_>) -> Result<()> {
    zsetop_generic(ctx, Some(1), 2, SetOp::Diff, false)
}

// ---------------------------------------------------------------------------------------------
// ZPOPMIN, ZPOPMAX, ZMPOP (and the cores of BZPOPMIN, BZPOPMAX, BZMPOP)

/// What a pop took: from which of the keys given, and the members in pop order.
#[derive(Debug, Clone, PartialEq)]
pub struct Popped {
    /// Index (in the keys given) of the key popped from.
    pub key_index: usize,
    /// The members and scores, in pop order.
    pub items: Vec<(Vec<u8>, f64)>,
    /// The number of members the set had before (for ZMPOP's propagation).
    pub len_before: usize,
}

/// Pops up to `count` members from the lowest (`max` false) or highest end of the first of
/// `keys` that exists, as Redis's `genericZpopCommand`: WRONGTYPE if that key is not a sorted
/// set, `None` if no key exists. A count of 0 pops nothing from an existing key. Deletes the
/// key when emptied and counts one change per member. The non-blocking core of ZPOPMIN,
/// ZPOPMAX, ZMPOP, BZPOPMIN, BZPOPMAX and BZMPOP.
pub fn pop_first(
    db: &mut DbView<'_>,
    keys: &[&[u8]],
    max: bool,
    count: usize,
) -> Result<Option<Popped>> {
    for (i, &key) in keys.iter().enumerate() {
        let Some(v) = db.get(key) else { continue };
        if !is_zset(v) {
            return Err(Error::WrongType);
        }
        let len_before = zset_len(v);
        let n = count.min(len_before);
        let mut items = Vec::with_capacity(n);
        match v {
            Value::ZSetLp(lp) => {
                {
                    let all = LpSeq::new(lp);
                    for k in 0..n {
                        let r = if max { len_before - 1 - k } else { k };
                        items.push((all.member(r).to_vec(), all.score(r)));
                    }
                }
                let start = if max { len_before - n } else { 0 };
                listpack::delete_ranks(lp, start, n);
            }
            Value::ZSet(z) => {
                for _ in 0..n {
                    let Some(x) = (if max { z.last() } else { z.first() }) else {
                        break;
                    };
                    items.push((z.member(x).to_vec(), z.score_of(x)));
                    z.remove_node(x);
                }
            }
            _ => {}
        }
        let emptied = zset_len(v) == 0;
        changed(db, key, items.len() as u64, emptied);
        return Ok(Some(Popped {
            key_index: i,
            items,
            len_before,
        }));
    }
    Ok(None)
}

/// Writes popped members: `[member, score, ...]` flat, or as `[member, score]` pairs when
/// `nested`; with `key`, preceded by it (`[key, member, score, ...]` flat, `[key, [pairs]]`
/// nested), as Redis's `genericZpopCommand` replies.
pub fn reply_popped(
    out: &mut ReplyWriter,
    key: Option<&[u8]>,
    items: &[(Vec<u8>, f64)],
    nested: bool,
) {
    match (key, nested) {
        (None, false) => out.array(items.len() * 2),
        (None, true) => out.array(items.len()),
        (Some(k), false) => {
            out.array(items.len() * 2 + 1);
            out.bulk(k);
        }
        (Some(k), true) => {
            out.array(2);
            out.bulk(k);
            out.array(items.len());
        }
    }
    for (m, s) in items {
        if nested {
            out.array(2);
        }
        out.bulk(m);
        out.double(*s);
    }
}

/// ZPOPMIN and ZPOPMAX (Redis's `zpopMinMaxCommand`).
fn zpop_minmax(ctx: &mut Ctx<'_>, max: bool) -> Result<()> {
    let args = ctx.args;
    if args.len() > 3 {
        return Err(Error::Syntax);
    }
    let count = if args.len() == 3 {
        Some(positive_arg(arg(args, 2), None)?)
    } else {
        None
    };
    let nested = ctx.out.is_resp3() && count.is_some();
    let n = count.map_or(1, |c| usize::try_from(c).unwrap_or(usize::MAX));
    match pop_first(&mut ctx.db, &[arg(args, 1)], max, n)? {
        None => ctx.out.array(0),
        Some(p) if count == Some(0) => {
            debug_assert!(p.items.is_empty());
            ctx.out.array(0)
        }
        Some(p) => reply_popped(ctx.out, None, &p.items, nested),
    }
    Ok(())
}

// ZPOPMIN key [count]
fn zpopmin(ctx: &mut Ctx<'_>) -> Result<()> {
    zpop_minmax(ctx, false)
}

// ZPOPMAX key [count]
fn zpopmax(ctx: &mut Ctx<'_>) -> Result<()> {
    zpop_minmax(ctx, true)
}

/// The parsed arguments of ZMPOP/BZMPOP after `numkeys` (at `numkeys_idx`): the keys' range in
/// the arguments, MAX or MIN, and the count (Redis's `zmpopGenericCommand`).
pub fn parse_mpop(
    args: &[&[u8]],
    numkeys_idx: usize,
) -> Result<(std::ops::Range<usize>, bool, usize)> {
    let numkeys = range_arg(
        arg(args, numkeys_idx),
        1,
        i64::MAX,
        "ERR numkeys should be greater than 0",
    )? as u64;
    let where_idx = (numkeys_idx as u64 + 1).saturating_add(numkeys);
    if where_idx >= args.len() as u64 {
        return Err(Error::Syntax);
    }
    let where_idx = where_idx as usize;
    let w = arg(args, where_idx);
    let max = if is_word(w, "min") {
        false
    } else if is_word(w, "max") {
        true
    } else {
        return Err(Error::Syntax);
    };
    let mut count: Option<i64> = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if count.is_none() && is_word(arg(args, j), "count") && more > 0 {
            j += 1;
            count = Some(range_arg(
                arg(args, j),
                1,
                i64::MAX,
                "ERR count should be greater than 0",
            )?);
        } else {
            return Err(Error::Syntax);
        }
        j += 1;
    }
    let count = usize::try_from(count.unwrap_or(1)).unwrap_or(usize::MAX);
    Ok((numkeys_idx + 1..where_idx, max, count))
}

// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]
fn zmpop(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let (keys, max, count) = parse_mpop(args, 1)?;
    let keys = &args[keys];
    match pop_first(&mut ctx.db, keys, max, count)? {
        None => ctx.out.null_array(),
        Some(p) => {
            let key = keys[p.key_index];
            reply_popped(ctx.out, Some(key), &p.items, true);
            if ctx.engine.propagating() {
                let n = count.min(p.len_before);
                ctx.propagate_as(vec![vec![
                    Bytes::from_static(if max { b"ZPOPMAX" } else { b"ZPOPMIN" }),
                    Bytes::copy_from_slice(key),
                    Bytes::from(itoa::Buffer::new().format(n).to_string()),
                ]]);
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ZRANDMEMBER

// ZRANDMEMBER key [count [WITHSCORES]]
fn zrandmember(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    if args.len() >= 3 {
        let l = match parse_i64(arg(args, 2)) {
            None => return Err(Error::NotInteger),
            Some(i64::MIN) => {
                return Err(Error::msg(
                    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                ))
            }
            Some(l) => l,
        };
        let withscores =
            if args.len() > 4 || (args.len() == 4 && !is_word(arg(args, 3), "withscores")) {
                return Err(Error::Syntax);
            } else {
                args.len() == 4
            };
        if withscores && !(i64::MIN / 2..=i64::MAX / 2).contains(&l) {
            return Err(Error::msg("ERR value is out of range"));
        }
        return zrandmember_count(ctx, l, withscores);
    }
    let mut rng = rand::thread_rng();
    let Some(z) = read_zset(&mut ctx.db, arg(args, 1))? else {
        ctx.out.null();
        return Ok(());
    };
    match z {
        ZRef::Lp(lp) => {
            let all = LpSeq::new(lp);
            let i = rng.gen_range(0..all.len().max(1));
            bulk_member(ctx.out, all.member(i));
        }
        ZRef::Big(b) => {
            let x = b.at_rank(rng.gen_range(0..b.len().max(1)));
            ctx.out.bulk(x.map_or(&[][..], |x| b.member(x)));
        }
    }
    Ok(())
}

/// ZRANDMEMBER with a count (Redis's `zrandmemberWithCountCommand`).
fn zrandmember_count(ctx: &mut Ctx<'_>, l: i64, withscores: bool) -> Result<()> {
    let resp3 = ctx.out.is_resp3();
    let Some(z) = read_zset(&mut ctx.db, arg(ctx.args, 1))? else {
        ctx.out.array(0);
        return Ok(());
    };
    let size = z.len();
    let (count, uniq) = if l >= 0 {
        (l as u64, true)
    } else {
        (l.unsigned_abs(), false)
    };
    let out = &mut *ctx.out;
    if count == 0 {
        out.array(0);
        return Ok(());
    }
    let mut rng = rand::thread_rng();
    // Case 1: repeats allowed (or one member): independent picks.
    if !uniq || count == 1 {
        if count > RANDMEMBER_MAX_REPEAT {
            return Err(Error::msg("ERR value is out of range"));
        }
        out.array(members_len(count as usize, withscores, resp3));
        match z {
            ZRef::Lp(lp) => {
                let all = LpSeq::new(lp);
                for _ in 0..count {
                    let i = rng.gen_range(0..all.len().max(1));
                    reply_member(out, all.member(i), all.score(i), withscores);
                }
            }
            ZRef::Big(b) => {
                for _ in 0..count {
                    if let Some(x) = b.at_rank(rng.gen_range(0..b.len().max(1))) {
                        reply_member(out, LpVal::Str(b.member(x)), b.score_of(x), withscores);
                    }
                }
            }
        }
        return Ok(());
    }
    // Case 2: all of them, in the order Redis iterates (highest first).
    if count >= size as u64 {
        out.array(members_len(size, withscores, resp3));
        z.for_each_rev(|m, s| reply_member(out, m, s, withscores));
        return Ok(());
    }
    let count = count as usize;
    let picked: Vec<usize> = if count as u64 * RANDMEMBER_SUB_STRATEGY_MUL > size as u64 {
        // Case 3: drop random members until `count` are left.
        let mut ranks: Vec<usize> = (0..size).collect();
        while ranks.len() > count {
            let i = rng.gen_range(0..ranks.len());
            ranks.swap_remove(i);
        }
        ranks
    } else if let ZRef::Lp(_) = z {
        // Case 4, listpack: a uniform sample in listpack order.
        {
            let mut v = rand::seq::index::sample(&mut rng, size, count).into_vec();
            v.sort_unstable();
            v
        }
    } else {
        // Case 4: random picks until `count` distinct ones.
        let mut seen = std::collections::HashSet::with_capacity(count);
        let mut order = Vec::with_capacity(count);
        while order.len() < count {
            let r = rng.gen_range(0..size);
            if seen.insert(r) {
                order.push(r);
            }
        }
        order
    };
    out.array(members_len(picked.len(), withscores, resp3));
    match z {
        ZRef::Lp(lp) => {
            let all = LpSeq::new(lp);
            for r in picked {
                reply_member(out, all.member(r), all.score(r), withscores);
            }
        }
        ZRef::Big(b) => {
            for r in picked {
                if let Some(x) = b.at_rank(r) {
                    reply_member(out, LpVal::Str(b.member(x)), b.score_of(x), withscores);
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ZSCAN

// ZSCAN key cursor [MATCH pattern] [COUNT count]
//
// A listpack replies everything at once with cursor 0; a skip list scans its map (cursors are
// hash values, see `SegTable::scan_by`).
fn zscan(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let cursor = crate::keys::parse_cursor(arg(args, 2)).ok_or(Error::msg("ERR invalid cursor"))?;
    let Some(z) = read_zset(&mut ctx.db, arg(args, 1))? else {
        ctx.out.array(2);
        ctx.out.bulk(b"0");
        ctx.out.array(0);
        return Ok(());
    };
    let mut count = 10usize;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 3;
    while i < args.len() {
        let (opt, has_value) = (arg(args, i), i + 1 < args.len());
        if is_word(opt, "count") && has_value {
            let n = long_arg(arg(args, i + 1))?;
            if n < 1 {
                return Err(Error::Syntax);
            }
            count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if is_word(opt, "match") && has_value {
            let p = arg(args, i + 1);
            pattern = (p != b"*").then_some(p);
        } else {
            return Err(Error::Syntax);
        }
        i += 2;
    }
    let keep = |m: &[u8]| pattern.is_none_or(|p| glob_match(p, m, false));
    let mut found: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let next = match z {
        ZRef::Lp(lp) => {
            for (m, s) in listpack::pairs(lp) {
                m.with_bytes(|b| {
                    if keep(b) {
                        found.push((b.to_vec(), listpack::score_val(s).to_vec()));
                    }
                });
            }
            0
        }
        ZRef::Big(b) => b.scan(cursor, count, |m, s| {
            if keep(m) {
                found.push((m.to_vec(), flint_protocol::format_double(s).into_bytes()));
            }
        }),
    };
    let out = &mut *ctx.out;
    out.array(2);
    out.bulk(itoa::Buffer::new().format(next).as_bytes());
    out.array(found.len() * 2);
    for (m, s) in &found {
        out.bulk(m);
        out.bulk(s);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{bulk, int, Kit};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn arr(items: &[&str]) -> String {
        let mut s = format!("*{}\r\n", items.len());
        for i in items {
            s.push_str(&bulk(i));
        }
        s
    }

    #[test]
    fn basics_and_replies() {
        let mut k = Kit::new();
        assert_eq!(
            k.run(&["ZADD", "z", "1", "a", "2", "b", "1.5", "c"]),
            int(3)
        );
        assert_eq!(k.run(&["ZRANGE", "z", "0", "-1"]), arr(&["a", "c", "b"]));
        assert_eq!(
            k.run(&["ZRANGE", "z", "0", "0", "WITHSCORES"]),
            arr(&["a", "1"])
        );
        assert_eq!(k.run(&["ZSCORE", "z", "c"]), bulk("1.5"));
        assert_eq!(
            k.run(&["ZINCRBY", "z", "0.1", "a"]),
            bulk("1.1000000000000001")
        );
        assert_eq!(k.run(&["ZRANK", "z", "b"]), int(2));
        assert_eq!(k.run(&["ZREVRANK", "z", "b"]), int(0));
        assert_eq!(k.run(&["ZCARD", "z"]), int(3));
        assert_eq!(k.run(&["OBJECT", "ENCODING", "z"]), bulk("listpack"));
        assert_eq!(k.run(&["ZREM", "z", "a", "b", "c", "d"]), int(3));
        assert_eq!(k.run(&["EXISTS", "z"]), int(0));
        assert_eq!(
            k.run(&["ZADD", "z", "INCR", "nan", "a"]),
            "-ERR value is not a valid float\r\n"
        );
        k.run(&["ZADD", "z", "inf", "a"]);
        assert_eq!(
            k.run(&["ZINCRBY", "z", "-inf", "a"]),
            "-ERR resulting score is not a number (NaN)\r\n"
        );
        assert_eq!(k.run(&["ZSCORE", "z", "a"]), bulk("inf"));
        // RESP3 shapes.
        k.out.set_resp3(true);
        assert_eq!(k.run(&["ZSCORE", "z", "a"]), ",inf\r\n");
        assert_eq!(k.run(&["ZSCORE", "z", "nope"]), "_\r\n");
        assert_eq!(
            k.run(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]),
            "*1\r\n*2\r\n$1\r\na\r\n,inf\r\n"
        );
        assert_eq!(
            k.run(&["ZPOPMIN", "z", "1"]),
            "*1\r\n*2\r\n$1\r\na\r\n,inf\r\n"
        );
    }

    #[test]
    fn conversion_and_never_back() {
        let mut k = Kit::new();
        k.run(&["CONFIG", "SET", "zset-max-listpack-entries", "3"]);
        k.run(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
        assert_eq!(k.run(&["OBJECT", "ENCODING", "z"]), bulk("listpack"));
        k.run(&["ZADD", "z", "4", "d"]);
        assert_eq!(k.run(&["OBJECT", "ENCODING", "z"]), bulk("skiplist"));
        k.run(&["ZREM", "z", "a", "b", "c"]);
        assert_eq!(k.run(&["OBJECT", "ENCODING", "z"]), bulk("skiplist"));
        assert_eq!(k.run(&["ZRANGE", "z", "0", "-1"]), arr(&["d"]));
        // A long member converts at once.
        k.run(&["CONFIG", "SET", "zset-max-listpack-value", "4"]);
        k.run(&["ZADD", "y", "1", "abcd"]);
        assert_eq!(k.run(&["OBJECT", "ENCODING", "y"]), bulk("listpack"));
        k.run(&["ZADD", "y", "1", "abcde"]);
        assert_eq!(k.run(&["OBJECT", "ENCODING", "y"]), bulk("skiplist"));
        k.run(&["ZADD", "x", "1", "abcde"]);
        assert_eq!(k.run(&["OBJECT", "ENCODING", "x"]), bulk("skiplist"));
        // A small STORE result is a listpack again.
        k.run(&["ZRANGESTORE", "w", "z", "0", "-1"]);
        assert_eq!(k.run(&["OBJECT", "ENCODING", "w"]), bulk("listpack"));
    }

    #[test]
    fn propagation_and_dirty() {
        let mut k = Kit::new();
        let rec = k.record();
        k.run(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
        k.run(&["ZADD", "z", "NX", "5", "a"]);
        k.run(&["ZREM", "z", "nope"]);
        k.run(&["ZMPOP", "2", "nokey", "z", "MIN", "COUNT", "10"]);
        k.run(&["ZPOPMIN", "z"]);
        assert_eq!(rec.lines(), vec!["ZADD z 1 a 2 b 3 c", "ZPOPMIN z 3"]);
        let dirty = k.engine.stats.dirty.get();
        k.run(&["ZADD", "q", "1", "a", "2", "b"]);
        k.run(&["ZADD", "q", "CH", "5", "a", "3", "c", "2", "b"]);
        k.run(&["ZREMRANGEBYSCORE", "q", "-inf", "+inf"]);
        let after = k.engine.stats.dirty.get();
        assert_eq!(after - dirty, 2 + 2 + 3);
    }

    #[test]
    fn pop_first_core() {
        let mut k = Kit::new();
        k.run(&["ZADD", "b", "1", "x", "2", "y"]);
        k.run(&["SET", "s", "v"]);
        let engine = k.engine.clone();
        let ks = &engine.keyspace;
        let mut db = DbView::new(ks, 0, crate::unix_ms(), None);
        db.lock_all();
        let p = pop_first(&mut db, &[b"a", b"b"], true, 5).unwrap().unwrap();
        assert_eq!(p.key_index, 1);
        assert_eq!(p.items, vec![(b"y".to_vec(), 2.0), (b"x".to_vec(), 1.0)]);
        assert_eq!(p.len_before, 2);
        assert!(db.get(b"b").is_none());
        assert_eq!(pop_first(&mut db, &[b"a", b"b"], true, 1).unwrap(), None);
        assert_eq!(
            pop_first(&mut db, &[b"a", b"s"], true, 1),
            Err(Error::WrongType)
        );
        db.unlock();
        let mut out = ReplyWriter::new(false);
        reply_popped(&mut out, Some(b"k"), &p.items, false);
        assert_eq!(
            &out.buffer()[..],
            b"*5\r\n$1\r\nk\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nx\r\n$1\r\n1\r\n"
        );
    }

    #[test]
    fn keyspace_hits_and_misses_as_redis() {
        let mut k = Kit::new();
        k.run(&["ZADD", "a", "1", "x"]);
        let stats = |k: &Kit| {
            (
                k.engine.stats.keyspace_hits.get(),
                k.engine.stats.keyspace_misses.get(),
            )
        };
        let base = stats(&k);
        let delta = |k: &Kit| {
            let (h, m) = stats(k);
            (h - base.0, m - base.1)
        };
        k.run(&["ZUNIONSTORE", "d", "2", "a", "nokey"]);
        assert_eq!(delta(&k), (1, 1));
        k.run(&["ZRANGESTORE", "d2", "nokey", "0", "-1"]);
        k.run(&["ZRANGESTORE", "d2", "a", "0", "-1"]);
        assert_eq!(delta(&k), (2, 2));
        // Writes that look keys up for writing count nothing.
        k.run(&["ZADD", "a", "2", "y"]);
        k.run(&["ZPOPMIN", "a"]);
        k.run(&["ZREM", "a", "zz"]);
        k.run(&["ZMPOP", "2", "nokey", "a", "MIN"]);
        assert_eq!(delta(&k), (2, 2));
        k.run(&["ZUNION", "2", "a", "nokey"]);
        k.run(&["ZINTERCARD", "1", "nokey"]);
        assert_eq!(delta(&k), (2, 5));
    }

    #[test]
    fn long_members_in_a_skiplist() {
        let mut z = BigZSet::new();
        let long = |i: u32| format!("a-member-longer-than-twenty-two-bytes-{i}").into_bytes();
        for i in 0..300 {
            z.insert_new(&long(i), f64::from(i % 7));
        }
        z.check();
        let before = z.heap_size();
        for i in 0..150 {
            assert!(z.remove(&long(i)).is_some());
        }
        z.check();
        assert!(z.heap_size() < before);
        assert_eq!(z.score(&long(200)), Some(f64::from(200 % 7)));
    }

    #[test]
    fn range_parsing() {
        assert_eq!(score_bound(b"(1.5"), Some((1.5, true)));
        assert_eq!(score_bound(b""), Some((0.0, false)));
        assert_eq!(score_bound(b"("), Some((0.0, true)));
        assert_eq!(score_bound(b" 2"), Some((2.0, false)));
        assert_eq!(score_bound(b"2 "), None);
        assert_eq!(score_bound(b"1e400"), Some((f64::INFINITY, false)));
        assert_eq!(score_bound(b"-inf"), Some((f64::NEG_INFINITY, false)));
        assert_eq!(score_bound(b"nan"), None);
        assert_eq!(score_bound(b"3\0junk"), Some((3.0, false)));
        assert_eq!(lex_bound(b"-"), Some(LexBound::Min));
        assert_eq!(lex_bound(b"+"), Some(LexBound::Max));
        assert_eq!(lex_bound(b"+x"), None);
        assert_eq!(lex_bound(b""), None);
        assert_eq!(lex_bound(b"["), Some(LexBound::Incl(vec![])));
        assert_eq!(lex_bound(b"(ab"), Some(LexBound::Excl(b"ab".to_vec())));
        assert_eq!(rank_span(5, 0, -1), Some((0, 5)));
        assert_eq!(rank_span(5, -100, 1), Some((0, 2)));
        assert_eq!(rank_span(5, 3, 2), None);
        assert_eq!(rank_span(5, 5, 9), None);
        assert_eq!(rank_span(5, i64::MIN, i64::MAX), Some((0, 5)));
    }

    #[test]
    fn hostile_counts_do_not_allocate() {
        let mut k = Kit::new();
        k.run(&["ZADD", "z", "1", "a"]);
        assert_eq!(
            k.run(&["ZRANDMEMBER", "z", "-9223372036854775807"]),
            "-ERR value is out of range\r\n"
        );
        assert_eq!(
            k.run(&["ZRANDMEMBER", "z", "9223372036854775807"]),
            arr(&["a"])
        );
        assert_eq!(
            k.run(&["ZPOPMIN", "z", "9223372036854775807"]),
            arr(&["a", "1"])
        );
        k.run(&["ZADD", "z", "1", "a"]);
        assert_eq!(
            k.run(&["ZMPOP", "1", "z", "MIN", "COUNT", "9223372036854775807"]),
            "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
        );
        assert_eq!(
            k.run(&["ZRANGE", "z", "-9223372036854775808", "9223372036854775807"]),
            "*0\r\n"
        );
        assert_eq!(
            k.run(&["ZUNION", "9223372036854775807", "z"]),
            "-ERR syntax error\r\n"
        );
    }

    // --- the skip list against a model ---------------------------------------------------

    type Model = BTreeMap<(OrdF64, Vec<u8>), ()>;

    /// An f64 ordered as the skip list orders scores (NaN never occurs).
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct OrdF64(f64);
    impl Eq for OrdF64 {}
    impl PartialOrd for OrdF64 {
        fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(o))
        }
    }
    impl Ord for OrdF64 {
        fn cmp(&self, o: &Self) -> std::cmp::Ordering {
            self.0
                .partial_cmp(&o.0)
                .unwrap_or(std::cmp::Ordering::Equal)
        }
    }

    #[derive(Clone, Debug)]
    enum SlOp {
        Set(u8, i8),
        Remove(u8),
        RemoveRanks(u8, u8),
        RemoveScores(i8, i8, bool, bool),
        RemoveLex(u8, u8),
    }

    fn sl_op() -> impl Strategy<Value = SlOp> {
        prop_oneof![
            6 => (0u8..60, -8i8..8).prop_map(|(m, s)| SlOp::Set(m, s)),
            2 => (0u8..60).prop_map(SlOp::Remove),
            1 => (0u8..70, 0u8..70).prop_map(|(a, b)| SlOp::RemoveRanks(a, b)),
            1 => (-9i8..9, -9i8..9, any::<bool>(), any::<bool>())
                .prop_map(|(a, b, x, y)| SlOp::RemoveScores(a, b, x, y)),
            1 => (0u8..60, 0u8..60).prop_map(|(a, b)| SlOp::RemoveLex(a, b)),
        ]
    }

    fn member(m: u8) -> Vec<u8> {
        format!("m{m:02}").into_bytes()
    }

    fn model_list(model: &Model) -> Vec<(Vec<u8>, f64)> {
        model.keys().map(|(s, m)| (m.clone(), s.0)).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn skiplist_matches_model(ops in prop::collection::vec(sl_op(), 1..200)) {
            let mut z = BigZSet::new();
            let mut model: Model = BTreeMap::new();
            let mut scores: std::collections::HashMap<Vec<u8>, f64> = Default::default();
            for op in &ops {
                match *op {
                    SlOp::Set(m, s) => {
                        let (m, s) = (member(m), f64::from(s) / 2.0);
                        if let Some(old) = scores.insert(m.clone(), s) {
                            model.remove(&(OrdF64(old), m.clone()));
                        }
                        model.insert((OrdF64(s), m.clone()), ());
                        z.set(&m, s);
                    }
                    SlOp::Remove(m) => {
                        let m = member(m);
                        let got = z.remove(&m);
                        let want = scores.remove(&m);
                        if let Some(s) = want {
                            model.remove(&(OrdF64(s), m));
                        }
                        prop_assert_eq!(got, want);
                    }
                    SlOp::RemoveRanks(a, b) => {
                        let (a, b) = (usize::from(a), usize::from(b));
                        let keys: Vec<_> = model.keys().cloned().collect();
                        let want = if a <= b && a < keys.len() { b.min(keys.len() - 1) - a + 1 } else { 0 };
                        if want > 0 {
                            for k in &keys[a..a + want] {
                                model.remove(k);
                                scores.remove(&k.1);
                            }
                        }
                        prop_assert_eq!(z.remove_range_by_rank(a, b), want);
                    }
                    SlOp::RemoveScores(a, b, x, y) => {
                        let r = ScoreRange { min: f64::from(a) / 2.0, max: f64::from(b) / 2.0, minex: x, maxex: y };
                        let gone: Vec<_> = model.keys().filter(|k| r.gte_min(k.0 .0) && r.lte_max(k.0 .0)).cloned().collect();
                        for k in &gone {
                            model.remove(k);
                            scores.remove(&k.1);
                        }
                        prop_assert_eq!(z.remove_range_by_score(&r), gone.len());
                    }
                    SlOp::RemoveLex(a, b) => {
                        // Lex ranges assume equal scores: use them on a copy with all scores 0.
                        let mut same = BigZSet::new();
                        for (m, _) in z.iter() {
                            same.insert_new(m, 0.0);
                        }
                        let r = LexRange { min: LexBound::Incl(member(a)), max: LexBound::Excl(member(b)) };
                        let want = z.iter().filter(|(m, _)| r.gte_min(m) && r.lte_max(m)).count();
                        let first = same.first_in_lex(&r).map(|x| x.1);
                        let last = same.last_in_lex(&r).map(|x| x.1);
                        match (first, last) {
                            (Some(f), Some(l)) => prop_assert_eq!(l + 1 - f, want),
                            _ => prop_assert_eq!(want, 0),
                        }
                        prop_assert_eq!(same.remove_range_by_lex(&r), want);
                        same.check();
                    }
                }
            }
            z.check();
            let got: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
            let want = model_list(&model);
            prop_assert_eq!(&got, &want);
            for (r, (m, _)) in want.iter().enumerate() {
                let x = z.find(m).unwrap();
                prop_assert_eq!(z.rank_of(x), r);
                prop_assert_eq!(z.at_rank(r), Some(x));
            }
            // Score range ends against the model, for a few ranges.
            for (a, b, x, y) in [(-8, 8, false, false), (-2, 3, true, false), (0, 0, false, false), (1, 1, true, true), (5, -5, false, false)] {
                let r = ScoreRange { min: f64::from(a) / 2.0, max: f64::from(b) / 2.0, minex: x, maxex: y };
                let inside: Vec<usize> = want.iter().enumerate().filter(|(_, e)| r.gte_min(e.1) && r.lte_max(e.1)).map(|(i, _)| i).collect();
                prop_assert_eq!(z.first_in_score(&r).map(|p| p.1), inside.first().copied());
                prop_assert_eq!(z.last_in_score(&r).map(|p| p.1), inside.last().copied());
            }
        }
    }

    // --- the commands: both encodings agree, and match a model -----------------------------

    #[derive(Clone, Debug)]
    enum Cmd {
        Add(Vec<(i8, u8)>, u8),
        Incr(i8, u8),
        Rem(Vec<u8>),
        RemRank(i8, i8),
        RemScore(i8, i8),
        Pop(bool, u8),
        Range(i8, i8, bool),
        ByScore(i8, i8, bool, i8, i8),
        Count(i8, i8),
        Rank(u8, bool),
        Score(u8),
        SetOp(u8),
        LexAdd(u8),
        Lex(u8, u8, bool, i8, i8),
        LexRem(u8, u8),
        Rand,
        Store(i8, i8),
    }

    fn cmd() -> impl Strategy<Value = Cmd> {
        let pairs = prop::collection::vec((-6i8..6, 0u8..12), 1..4);
        prop_oneof![
            6 => (pairs, 0u8..8).prop_map(|(p, f)| Cmd::Add(p, f)),
            2 => (-6i8..6, 0u8..12).prop_map(|(s, m)| Cmd::Incr(s, m)),
            2 => prop::collection::vec(0u8..12, 1..3).prop_map(Cmd::Rem),
            1 => (-8i8..8, -8i8..8).prop_map(|(a, b)| Cmd::RemRank(a, b)),
            1 => (-7i8..7, -7i8..7).prop_map(|(a, b)| Cmd::RemScore(a, b)),
            1 => (any::<bool>(), 0u8..4).prop_map(|(m, n)| Cmd::Pop(m, n)),
            2 => (-8i8..8, -8i8..8, any::<bool>()).prop_map(|(a, b, r)| Cmd::Range(a, b, r)),
            2 => (-7i8..7, -7i8..7, any::<bool>(), -2i8..4, -2i8..5).prop_map(|(a, b, r, o, l)| Cmd::ByScore(a, b, r, o, l)),
            1 => (-7i8..7, -7i8..7).prop_map(|(a, b)| Cmd::Count(a, b)),
            1 => (0u8..12, any::<bool>()).prop_map(|(m, r)| Cmd::Rank(m, r)),
            1 => (0u8..12).prop_map(Cmd::Score),
            1 => (0u8..7).prop_map(Cmd::SetOp),
            2 => (0u8..12).prop_map(Cmd::LexAdd),
            1 => (0u8..13, 0u8..13, any::<bool>(), -1i8..3, -1i8..4).prop_map(|(a, b, r, o, l)| Cmd::Lex(a, b, r, o, l)),
            1 => (0u8..13, 0u8..13).prop_map(|(a, b)| Cmd::LexRem(a, b)),
            1 => Just(Cmd::Rand),
            1 => (-8i8..8, -8i8..8).prop_map(|(a, b)| Cmd::Store(a, b)),
        ]
    }

    fn mname(m: u8) -> String {
        // Integers and strings, so both listpack member forms appear.
        match m % 3 {
            0 => format!("{}", m),
            1 => format!("m{m}"),
            _ => format!("-{m}"),
        }
    }

    fn lexbound(b: u8) -> String {
        match b {
            0 => "-".into(),
            12 => "+".into(),
            b if b % 2 == 0 => format!("[{}", mname(b)),
            b => format!("({}", mname(b)),
        }
    }

    fn half(x: i8) -> String {
        format!("{}", f64::from(x) / 2.0)
    }

    fn words(c: &Cmd) -> Vec<Vec<String>> {
        let s = |x: &str| x.to_string();
        match c {
            Cmd::Add(pairs, f) => {
                let mut w = vec![s("ZADD"), s("z")];
                match f {
                    1 => w.push(s("NX")),
                    2 => w.push(s("XX")),
                    3 => w.push(s("GT")),
                    4 => w.extend([s("LT"), s("CH")]),
                    5 => w.push(s("CH")),
                    _ => {}
                }
                for (sc, m) in pairs {
                    w.push(half(*sc));
                    w.push(mname(*m));
                }
                vec![w]
            }
            Cmd::Incr(sc, m) => vec![vec![s("ZINCRBY"), s("z"), half(*sc), mname(*m)]],
            Cmd::Rem(ms) => {
                let mut w = vec![s("ZREM"), s("z")];
                w.extend(ms.iter().map(|m| mname(*m)));
                vec![w]
            }
            Cmd::RemRank(a, b) => vec![vec![
                s("ZREMRANGEBYRANK"),
                s("z"),
                a.to_string(),
                b.to_string(),
            ]],
            Cmd::RemScore(a, b) => vec![vec![
                s("ZREMRANGEBYSCORE"),
                s("z"),
                format!("({}", half(*a)),
                half(*b),
            ]],
            Cmd::Pop(max, n) => {
                let mut w = vec![s(if *max { "ZPOPMAX" } else { "ZPOPMIN" }), s("z")];
                if *n > 0 {
                    w.push((n - 1).to_string());
                }
                vec![w]
            }
            Cmd::Range(a, b, rev) => {
                let mut w = vec![
                    s("ZRANGE"),
                    s("z"),
                    a.to_string(),
                    b.to_string(),
                    s("WITHSCORES"),
                ];
                if *rev {
                    w.push(s("REV"));
                }
                vec![w]
            }
            Cmd::ByScore(a, b, rev, o, l) => {
                let mut w = vec![
                    s("ZRANGE"),
                    s("z"),
                    half(*a),
                    format!("({}", half(*b)),
                    s("BYSCORE"),
                    s("WITHSCORES"),
                    s("LIMIT"),
                    o.to_string(),
                    l.to_string(),
                ];
                if *rev {
                    w.push(s("REV"));
                }
                vec![w]
            }
            Cmd::Count(a, b) => vec![vec![s("ZCOUNT"), s("z"), half(*a), half(*b)]],
            Cmd::Rank(m, rev) => vec![vec![
                s(if *rev { "ZREVRANK" } else { "ZRANK" }),
                s("z"),
                mname(*m),
            ]],
            Cmd::Score(m) => vec![
                vec![s("ZSCORE"), s("z"), mname(*m)],
                vec![s("ZMSCORE"), s("z"), mname(*m), s("m1"), s("0")],
                vec![s("ZCARD"), s("z")],
            ],
            Cmd::SetOp(op) => {
                let w = match op {
                    0 => "ZUNION 2 z l WITHSCORES",
                    1 => "ZINTER 2 z l WEIGHTS 2 3 WITHSCORES",
                    2 => "ZDIFF 2 z l WITHSCORES",
                    3 => "ZINTERCARD 2 z l",
                    4 => "ZUNION 2 l z AGGREGATE MIN WITHSCORES",
                    5 => "ZUNIONSTORE u 2 z l AGGREGATE MAX",
                    _ => "ZRANGE u 0 -1 WITHSCORES",
                };
                vec![w.split(' ').map(s).collect()]
            }
            Cmd::LexAdd(m) => vec![vec![s("ZADD"), s("l"), s("0"), mname(*m)]],
            Cmd::Lex(a, b, rev, o, l) => {
                let (lo, hi) = (lexbound(*a), lexbound(*b));
                let mut w = if *rev {
                    vec![s("ZREVRANGEBYLEX"), s("l"), hi.clone(), lo.clone()]
                } else {
                    vec![s("ZRANGEBYLEX"), s("l"), lo.clone(), hi.clone()]
                };
                w.extend([s("LIMIT"), o.to_string(), l.to_string()]);
                vec![w, vec![s("ZLEXCOUNT"), s("l"), lo, hi]]
            }
            Cmd::LexRem(a, b) => vec![vec![
                s("ZREMRANGEBYLEX"),
                s("l"),
                lexbound(*a),
                lexbound(*b),
            ]],
            Cmd::Rand => vec![vec![s("ZRANDMEMBER"), s("z"), s("100"), s("WITHSCORES")]],
            Cmd::Store(a, b) => vec![
                vec![
                    s("ZRANGESTORE"),
                    s("d"),
                    s("z"),
                    a.to_string(),
                    b.to_string(),
                    s("REV"),
                ],
                vec![s("ZRANGE"), s("d"), s("0"), s("-1"), s("WITHSCORES")],
            ],
        }
    }

    /// Applies the writes of `c` to a model of key `z` (member -> score).
    fn model_step(model: &mut BTreeMap<String, f64>, c: &Cmd) {
        let sorted = |m: &BTreeMap<String, f64>| {
            let mut v: Vec<(String, f64)> = m.iter().map(|(k, v)| (k.clone(), *v)).collect();
            v.sort_by(|a, b| {
                a.1.partial_cmp(&b.1)
                    .unwrap()
                    .then(a.0.as_bytes().cmp(b.0.as_bytes()))
            });
            v
        };
        match c {
            Cmd::Add(pairs, f) => {
                for (sc, m) in pairs {
                    let (sc, m) = (f64::from(*sc) / 2.0, mname(*m));
                    let cur = model.get(&m).copied();
                    let ok = match (f, cur) {
                        (1, Some(_)) | (2, None) => false,
                        (3, Some(c)) => sc > c,
                        (4, Some(c)) => sc < c,
                        _ => true,
                    };
                    if ok {
                        model.insert(m, sc);
                    }
                }
            }
            Cmd::Incr(sc, m) => *model.entry(mname(*m)).or_insert(0.0) += f64::from(*sc) / 2.0,
            Cmd::Rem(ms) => {
                for m in ms {
                    model.remove(&mname(*m));
                }
            }
            Cmd::RemRank(a, b) => {
                let v = sorted(model);
                if let Some((start, n)) = rank_span(v.len(), i64::from(*a), i64::from(*b)) {
                    for (m, _) in &v[start..start + n] {
                        model.remove(m);
                    }
                }
            }
            Cmd::RemScore(a, b) => {
                let (lo, hi) = (f64::from(*a) / 2.0, f64::from(*b) / 2.0);
                model.retain(|_, s| !(*s > lo && *s <= hi));
            }
            Cmd::Pop(max, n) => {
                let v = sorted(model);
                let n = if *n == 0 { 1 } else { usize::from(n - 1) };
                let take: Vec<_> = if *max {
                    v.iter().rev().take(n).collect()
                } else {
                    v.iter().take(n).collect()
                };
                for (m, _) in take {
                    model.remove(m);
                }
            }
            _ => {}
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn encodings_agree_and_match_model(cmds in prop::collection::vec(cmd(), 1..80), limit in 0usize..6) {
            let mut lp = Kit::new();
            let mut sl = Kit::new();
            lp.run(&["CONFIG", "SET", "zset-max-listpack-entries", &limit.to_string()]);
            sl.run(&["CONFIG", "SET", "zset-max-listpack-entries", "0"]);
            let mut model = BTreeMap::new();
            for c in &cmds {
                for w in words(c) {
                    let refs: Vec<&str> = w.iter().map(|x| x.as_str()).collect();
                    let a = lp.run(&refs);
                    let b = sl.run(&refs);
                    prop_assert_eq!(&a, &b, "{:?}", w);
                }
                model_step(&mut model, c);
            }
            let mut want: Vec<(String, f64)> = model.into_iter().collect();
            want.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap().then(a.0.as_bytes().cmp(b.0.as_bytes())));
            let mut expect = format!("*{}\r\n", want.len() * 2);
            for (m, s) in &want {
                expect.push_str(&bulk(m));
                expect.push_str(&bulk(&flint_protocol::format_double(*s)));
            }
            prop_assert_eq!(sl.run(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]), expect);
            for k in [&mut lp, &mut sl] {
                let enc = k.run(&["OBJECT", "ENCODING", "z"]);
                prop_assert!(enc == bulk("listpack") || enc == bulk("skiplist") || enc == "$-1\r\n");
            }
        }
    }
}
