//! Sorted-set commands, as Redis 7.0's `t_zset.c`: ZADD/ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE,
//! ZRANK/ZREVRANK, ZCOUNT/ZLEXCOUNT, the ZRANGE family (ZRANGE with BYSCORE/BYLEX/REV/LIMIT,
//! ZRANGESTORE, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX, ZREVRANGE), the
//! ZREMRANGEBY* commands, ZUNION/ZINTER/ZDIFF (their STORE forms and ZINTERCARD, in `setops`),
//! ZPOPMIN/ZPOPMAX/ZMPOP and their blocking forms BZPOPMIN/BZPOPMAX/BZMPOP (all through
//! [`pop_first`]; blocking itself is `crate::blocking`'s), ZRANDMEMBER and ZSCAN.
//!
//! # Representation
//! Two encodings, as in Redis (OBJECT ENCODING tells which):
//! - [`Value::ZSetLp`] (`listpack`, module `listpack`): `member, score, ...` in one [`Lp`]
//!   ordered by `(score, member bytes)`, while the set has at most `zset-max-listpack-entries`
//!   members of at most `zset-max-listpack-value` bytes each. Scores that are integers are stored
//!   as integers (as Redis's `double2ll` decides), others as doubles (4 bytes when an `f32` holds
//!   them exactly). Every operation is a linear walk, as Redis's.
//! - [`Value::ZSet`] (`skiplist`, Redis's name for it, [`BigZSet`]): a B+ tree with subtree
//!   counts plus a member -> cell map, for O(1) scores, O(log N) ranks and O(log N + M) range
//!   reads; each member's bytes are stored once, in its cell.
//!
//! A set moves from listpack to skiplist when an insert passes a limit and never back. New sets
//! (ZADD on a missing key, and every *STORE result) are listpacks when they fit; a ZADD creating
//! a key with distinct members builds it at once (one exact-size allocation) rather than by one
//! insert per member. A set never stays empty: removing its last member deletes the key.
//!
//! Reads are written once for both encodings (module `range`: a sorted set read by position,
//! ranks and range ends, the listpack decoded once per command); writes go through `add` and
//! `delete`, which convert when needed.
//!
//! # Redis details kept
//! - Scores are doubles parsed as `getDoubleFromObject` (no NaN); range ends as `zslParseRange`
//!   (`strtod`: leading blanks, `(`, the empty string as 0, overflow to infinity), lex ends as
//!   `zslParseLexRange`. Replies format doubles with `%.17g` (RESP2 bulk, RESP3 double); RESP3
//!   replies with scores are `[member, score]` pairs where Redis 7.0 sends them.
//! - Argument checks come in Redis's order (ZADD: option conflicts, then scores, then the type;
//!   ZUNION: numkeys, then the keys' types, then the options; ZSCAN: the cursor, then the key,
//!   then the options).
//! - Listpack range walks are Redis's linear ones (first element in range, then forward), skip
//!   list walks its descents; they agree whenever the set is consistent with the range (lex ranges
//!   on sets whose scores differ are unspecified in Redis too).
//! - Reads that Redis does with `lookupKeyRead` in write commands (ZRANGESTORE's source, the
//!   inputs of Z*STORE) count as keyspace hits and misses; `lookupKeyWrite` ones do not.
//! - `dirty` grows by what changed (members added, updated or removed; 1 per STORE).
//! - ZRANGESTORE/Z*STORE with an empty result delete the destination.
//! - ZMPOP and BZMPOP propagate as ZPOPMIN/ZPOPMAX with the popped count, BZPOPMIN/BZPOPMAX as
//!   ZPOPMIN/ZPOPMAX of the key; everything else as sent.
//! - ZRANDMEMBER with a count of every member replies them in Redis's order (highest first);
//!   a negative count over [`RANDMEMBER_MAX_REPEAT`] is refused (Redis would try to build the
//!   whole reply in memory).

mod btree;
mod listpack;
mod range;
mod setops;
#[cfg(test)]
mod tests;

pub use btree::{BigZSet, LexBound, LexRange, NodeId, Pos, ScoreRange};

use range::{
    lex_range, range_start, rank_span, score_range, walk_range, walk_zset, LpSeq, Range, Seq,
};
use setops::{zdiff, zdiffstore, zinter, zintercard, zinterstore, zunion, zunionstore};

use bytes::Bytes;
use rand::Rng;

use crate::blocking::{self, BlockKind, NoBlockReply};
use crate::cmd::{def, keys, CommandDef, KeySpec, KeySpecDef};
use crate::config::EncodingLimits;
use crate::ctx::{Ctx, DbView};
use crate::error::{Error, Result};
use crate::lp::{Lp, LpVal};
use crate::notify;
use crate::segtable::member_hash;
use crate::util::{glob_match, parse_f64, parse_i64};
use crate::value::Value;
use crate::ReplyWriter;

/// ZRANDMEMBER with a negative count replies this many members at most: Redis builds the whole
/// reply whatever the count (`ZRANDMEMBER k -9223372036854775807` exhausts its memory); Flint
/// answers `ERR value is out of range` past this.
pub const RANDMEMBER_MAX_REPEAT: u64 = 1 << 24;

/// Redis's `ZRANDMEMBER_SUB_STRATEGY_MUL`.
const RANDMEMBER_SUB_STRATEGY_MUL: u64 = 3;

/// Keys of ZUNION/ZINTER/ZDIFF/ZINTERCARD: `numkeys` at 1, the keys after it.
fn numkeys_at_1(args: &[&[u8]]) -> Vec<usize> {
    numkeys_keys(args, 1)
}

/// Keys of ZUNIONSTORE/ZINTERSTORE/ZDIFFSTORE: the destination, then `numkeys` at 2 and the
/// keys after it (none at all when `numkeys` is invalid, as Redis's
/// `zunionInterDiffStoreGetKeys`).
fn dst_and_numkeys_at_2(args: &[&[u8]]) -> Vec<usize> {
    let keys = numkeys_keys(args, 2);
    if keys.is_empty() {
        return keys;
    }
    let mut v = vec![1];
    v.extend(keys);
    v
}

/// Keys of ZMPOP: `numkeys` at 1 and the keys after it (see [`mpop_keys`]).
fn zmpop_keys(args: &[&[u8]]) -> Vec<usize> {
    mpop_keys(args, 1)
}

/// Keys of BZMPOP: `numkeys` at 2 (after the timeout) and the keys after it.
fn bzmpop_keys(args: &[&[u8]]) -> Vec<usize> {
    mpop_keys(args, 2)
}

/// `numkeys` (an exact integer) at `at` and that many arguments after it, none if there are
/// fewer (Redis's key-spec search, which takes MIN/MAX for a key when `numkeys` says so; the
/// handler never reads it as one).
fn mpop_keys(args: &[&[u8]], at: usize) -> Vec<usize> {
    let n = args.get(at).and_then(|a| parse_i64(a)).unwrap_or(0);
    match usize::try_from(n) {
        Ok(n) if n >= 1 && n <= args.len().saturating_sub(at + 1) => (at + 1..at + 1 + n).collect(),
        _ => Vec::new(),
    }
}

/// C's `atoi` (leading blanks, a sign, then digits up to the first non-digit; 0 when there are
/// none), with out-of-range values as 0.
fn atoi(a: &[u8]) -> i64 {
    let mut it = a
        .iter()
        .skip_while(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .peekable();
    let neg = match it.peek() {
        Some(b'-') => {
            it.next();
            true
        }
        Some(b'+') => {
            it.next();
            false
        }
        _ => false,
    };
    let mut v: i64 = 0;
    for &b in it.take_while(|b| b.is_ascii_digit()) {
        v = match v
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
        {
            Some(v) if v <= i64::from(i32::MAX) => v,
            _ => return 0,
        };
    }
    if neg {
        -v
    } else {
        v
    }
}

/// The positions of the `numkeys` keys after argument `at`, read as Redis's
/// `zunionInterDiffGetKeys` does (`atoi`; none when out of range).
fn numkeys_keys(args: &[&[u8]], at: usize) -> Vec<usize> {
    let n = args.get(at).map_or(0, |a| atoi(a));
    let avail = args.len().saturating_sub(at + 1) as i64;
    if n < 1 || n > avail {
        return Vec::new();
    }
    (at + 1..at + 1 + n as usize).collect()
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

const BZMPOP_KEYS: &[KeySpecDef] = &[KeySpecDef {
    flags: "RW access delete",
    notes: "",
    begin: crate::cmd::BeginSearch::Index(2),
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
    def("zmpop", -4, "write", KeySpec::Custom(zmpop_keys), "@write @sortedset", "sorted-set", "Remove and return members with scores in a sorted set", "7.0.0", zmpop)
        .key_specs(ZMPOP_KEYS)
        .complexity(MPOP_COMPLEXITY),
    def("bzpopmin", -3, "write noscript blocking fast", keys(1, -2, 1), "@write @sortedset", "sorted-set", "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available", "5.0.0", bzpopmin)
        .key_flags("RW access delete")
        .complexity("O(log(N)) with N being the number of elements in the sorted set.")
        .history(&[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")]),
    def("bzpopmax", -3, "write noscript blocking fast", keys(1, -2, 1), "@write @sortedset", "sorted-set", "Remove and return the member with the highest score from one or more sorted sets, or block until one is available", "5.0.0", bzpopmax)
        .key_flags("RW access delete")
        .complexity("O(log(N)) with N being the number of elements in the sorted set.")
        .history(&[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")]),
    def("bzmpop", -5, "write blocking", KeySpec::Custom(bzmpop_keys), "@write @sortedset", "sorted-set", "Remove and return members with scores in a sorted set or block until one is available", "7.0.0", bzmpop)
        .key_specs(BZMPOP_KEYS)
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

/// Counts `n` changes to `key` (Redis's `server.dirty += n`) after an in-place change, deleting
/// the key if the change emptied it. (The caller notifies: see [`notify_removed`].)
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

/// [`changed`] for a removal of `n` members by a command, with its keyspace events: `event`,
/// then `del` if the sorted set was emptied (none if nothing was removed).
fn notify_removed(ctx: &mut Ctx<'_>, event: &str, key: &[u8], n: u64, emptied: bool) {
    changed(&mut ctx.db, key, n, emptied);
    if n > 0 {
        ctx.notify_removal(notify::ZSET, event, key, emptied);
    }
}

/// Replies a member (an integer member as its decimal form).
#[inline]
fn bulk_member(out: &mut ReplyWriter, m: LpVal<'_>) {
    match m {
        LpVal::Str(s) => out.bulk(s),
        LpVal::Int(n) => out.bulk_int(n),
        LpVal::F64(f) => out.bulk(flint_protocol::DoubleBuf::new().format(f)),
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
    /// The `skiplist` encoding (a B+ tree, [`BigZSet`]).
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
                    f(LpVal::Str(z.member_at(n)), z.score_at(n));
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

/// The [`BigZSet`] holding the members of listpack `lp`.
fn lp_to_big(lp: &Lp) -> BigZSet {
    let mut z = BigZSet::new();
    for (m, s) in listpack::pairs(lp) {
        m.with_bytes(|b| z.insert_new(b, s));
    }
    z
}

/// A sorted set value holding `items` (sorted by score then member, members unique): a listpack
/// when it fits the limits (Redis's `zsetConvertToListpackIfNeeded`), else a [`BigZSet`].
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
    let hash = member_hash(member);
    match z.find_hashed(member, hash) {
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
            z.insert_new_hashed(member, hash, score);
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
/// Copies the set (O(N)); Redis's ZINTER looks each member up in the set instead, which a
/// set-reference source in `setops.rs` would match.
pub fn set_members_as_zset(v: &Value) -> Option<Vec<(Vec<u8>, f64)>> {
    let set = crate::types::set::SetRef::of(v)?;
    let mut out = Vec::with_capacity(set.len());
    set.for_each(|m| out.push((m.to_vec(), 1.0)));
    Some(out)
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
        // Even when a later pair failed (a NaN increment), as Redis's cleanup does.
        ctx.notify(notify::ZSET, if f.incr { "zincr" } else { "zadd" }, key);
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
    notify_removed(ctx, "zrem", key, deleted, emptied);
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
/// listpack, two rank searches for a [`BigZSet`]).
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
        ctx.db.count_read(key, found.is_some());
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
/// `dst` instead (Redis's ZRANGESTORE and Z*STORE). The event of a stored result is the
/// command's name (`zunionstore`...), as in Redis.
fn store_result(ctx: &mut Ctx<'_>, dst: &[u8], items: &[(Vec<u8>, f64)]) -> Result<()> {
    if items.is_empty() {
        if let Some(e) = ctx.db.remove(dst) {
            ctx.db.discard(e.value);
            ctx.notify(notify::GENERIC, "del", dst);
        }
        ctx.out.int(0);
        return Ok(());
    }
    let lim = ctx.engine.config.encoding();
    let v = build_sorted(items, &lim);
    if let Some(old) = ctx.db.set(dst, v, 0) {
        ctx.db.discard(old);
    }
    ctx.notify(notify::ZSET, ctx.cmd.def.name, dst);
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

/// ZREMRANGEBYRANK, ZREMRANGEBYSCORE and ZREMRANGEBYLEX (their event is the command's name).
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
    notify_removed(ctx, ctx.cmd.def.name, key, removed as u64, emptied);
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
// ZPOPMIN, ZPOPMAX, ZMPOP, BZPOPMIN, BZPOPMAX, BZMPOP

/// What a pop took: from which of the keys given, and the members in pop order.
#[derive(Debug, Clone, PartialEq)]
pub struct Popped {
    /// Index (in the keys given) of the key popped from.
    pub key_index: usize,
    /// The members and scores, in pop order.
    pub items: Vec<(Vec<u8>, f64)>,
    /// The number of members the set had before (for ZMPOP's propagation).
    pub len_before: usize,
    /// Whether the pop emptied (and so deleted) the key.
    pub emptied: bool,
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
                if n > 0 {
                    let start = if max { len_before - n } else { 0 };
                    listpack::delete_ranks(lp, start, n);
                }
            }
            Value::ZSet(z) => {
                // The `n` from one end, then one removal of their ranks (a leaf's run at a
                // time), as the listpack does above.
                let mut at = if max { z.last() } else { z.first() };
                while let Some(x) = at.filter(|_| items.len() < n) {
                    items.push((z.member_at(x).to_vec(), z.score_at(x)));
                    at = if max { z.prev(x) } else { z.next(x) };
                }
                if n > 0 {
                    let start = if max { len_before - n } else { 0 };
                    z.remove_range_by_rank(start, start + n - 1);
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
            emptied,
        }));
    }
    Ok(None)
}

/// [`pop_first`] for a command, with its keyspace events: `zpopmin` or `zpopmax`, then `del`
/// if the set was emptied (none if nothing was popped).
fn pop_notify(
    ctx: &mut Ctx<'_>,
    keys: &[&[u8]],
    max: bool,
    count: usize,
) -> Result<Option<Popped>> {
    let popped = pop_first(&mut ctx.db, keys, max, count)?;
    if let Some(p) = popped.as_ref().filter(|p| !p.items.is_empty()) {
        let event = if max { "zpopmax" } else { "zpopmin" };
        ctx.notify_removal(notify::ZSET, event, arg(keys, p.key_index), p.emptied);
    }
    Ok(popped)
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
    match pop_notify(ctx, &[arg(args, 1)], max, n)? {
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
    match pop_notify(ctx, keys, max, count)? {
        None => ctx.out.null_array(),
        Some(p) => {
            let key = keys[p.key_index];
            reply_popped(ctx.out, Some(key), &p.items, true);
            if ctx.engine.propagating() {
                let n = count.min(p.len_before);
                ctx.propagate_as(vec![pop_record(max, key, Some(n))]);
            }
        }
    }
    Ok(())
}

/// The ZPOPMIN/ZPOPMAX record a served pop propagates as (`count`: none for BZPOPMIN/BZPOPMAX).
fn pop_record(max: bool, key: &[u8], count: Option<usize>) -> Vec<Bytes> {
    let mut r = vec![
        Bytes::from_static(if max { b"ZPOPMAX" } else { b"ZPOPMIN" }),
        Bytes::copy_from_slice(key),
    ];
    if let Some(n) = count {
        r.push(Bytes::from(itoa::Buffer::new().format(n).to_string()));
    }
    r
}

/// BZPOPMIN and BZPOPMAX (Redis's `blockingGenericZpopCommand` with one member): `[key,
/// member, score]` from the first of the keys that exists, else block.
fn bzpop_generic(ctx: &mut Ctx<'_>, max: bool) -> Result<()> {
    let args = ctx.args;
    let timeout = blocking::parse_timeout(arg(args, args.len() - 1), ctx.db.now_ms)?;
    let keys = args.get(1..args.len() - 1).unwrap_or_default();
    match pop_notify(ctx, keys, max, 1)? {
        Some(p) => {
            let key = arg(keys, p.key_index);
            reply_popped(ctx.out, Some(key), &p.items, false);
            if ctx.engine.propagating() {
                ctx.propagate_as(vec![pop_record(max, key, None)]);
            }
            Ok(())
        }
        None => blocking::block(ctx, keys, BlockKind::ZSet, timeout, NoBlockReply::NullArray),
    }
}

// BZPOPMIN key [key ...] timeout
fn bzpopmin(ctx: &mut Ctx<'_>) -> Result<()> {
    bzpop_generic(ctx, false)
}

// BZPOPMAX key [key ...] timeout
fn bzpopmax(ctx: &mut Ctx<'_>) -> Result<()> {
    bzpop_generic(ctx, true)
}

// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
//
// Redis parses numkeys, MIN|MAX and COUNT before the timeout.
fn bzmpop(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let (keys, max, count) = parse_mpop(args, 2)?;
    let timeout = blocking::parse_timeout(arg(args, 1), ctx.db.now_ms)?;
    let keys = args.get(keys).unwrap_or_default();
    match pop_notify(ctx, keys, max, count)? {
        Some(p) => {
            let key = arg(keys, p.key_index);
            reply_popped(ctx.out, Some(key), &p.items, true);
            if ctx.engine.propagating() {
                let n = count.min(p.len_before);
                ctx.propagate_as(vec![pop_record(max, key, Some(n))]);
            }
            Ok(())
        }
        None => blocking::block(ctx, keys, BlockKind::ZSet, timeout, NoBlockReply::NullArray),
    }
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
            ctx.out.bulk(x.map_or(&[][..], |x| b.member_at(x)));
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
                        reply_member(out, LpVal::Str(b.member_at(x)), b.score_at(x), withscores);
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
                    reply_member(out, LpVal::Str(b.member_at(x)), b.score_at(x), withscores);
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
// A listpack replies everything at once with cursor 0; a BigZSet scans its map (cursors are
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
