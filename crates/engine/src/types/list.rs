//! List commands, as Redis 7.0's `t_list.c`: LPUSH/RPUSH and their X forms, LPOP/RPOP (with
//! count), LLEN, LRANGE, LINDEX, LSET, LINSERT, LREM, LTRIM, LPOS, LMOVE/RPOPLPUSH, LMPOP, and
//! the blocking BLPOP/BRPOP/BLMOVE/BRPOPLPUSH/BLMPOP (see [`crate::blocking`]).
//!
//! Every list is a [`QuickList`] (`quicklist` in OBJECT ENCODING, as Redis 7.0 reports every
//! list), whose nodes are bounded by `list-max-listpack-size`, read at each write.
//!
//! Invariants kept here:
//! - A list never stays empty: the command that removes its last element deletes the key.
//! - Arguments are validated in Redis's order before anything changes (LRANGE/LTRIM/LREM parse
//!   their numbers before looking the key up; LINDEX/LSET look the key up first).
//! - The `dirty` count is Redis's: one per element pushed or popped, per element removed by
//!   LREM/LTRIM, one per LSET/LINSERT/LMOVE.
//! - Propagation as Redis 7.0: the blocking forms, when they pop, are propagated as their
//!   non-blocking forms (BLPOP -> LPOP key, BLMOVE -> LMOVE, BRPOPLPUSH -> RPOPLPUSH), and
//!   LMPOP/BLMPOP as `LPOP|RPOP key count` with the number of elements actually popped.

mod quicklist;

pub use quicklist::{Fill, Iter, QuickList, RevIter};

use bytes::Bytes;

use crate::blocking::{self, BlockKind, NoBlockReply};
use crate::cmd::{def, keys, BeginSearch, CommandDef, FindKeys, KeySpec, KeySpecDef};
use crate::ctx::{Ctx, DbView};
use crate::error::{Error, Result};
use crate::lp::{LpVal, Needle};
use crate::notify;
use crate::util::parse_i64;
use crate::value::Value;
use crate::ReplyWriter;

const KEYNUM_SPEC: FindKeys = FindKeys::Keynum {
    keynumidx: 0,
    firstkey: 1,
    keystep: 1,
};

/// The list commands.
#[rustfmt::skip]
pub static COMMANDS: &[CommandDef] = &[
    def("lpush", -3, "write denyoom fast", keys(1, 1, 1), "@write @list", "list", "Prepend one or multiple elements to a list", "1.0.0", lpush)
        .key_flags("RW insert")
        .complexity("O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.")
        .history(&[("2.4.0", "Accepts multiple `element` arguments.")]),
    def("rpush", -3, "write denyoom fast", keys(1, 1, 1), "@write @list", "list", "Append one or multiple elements to a list", "1.0.0", rpush)
        .key_flags("RW insert")
        .complexity("O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.")
        .history(&[("2.4.0", "Accepts multiple `element` arguments.")]),
    def("lpushx", -3, "write denyoom fast", keys(1, 1, 1), "@write @list", "list", "Prepend an element to a list, only if the list exists", "2.2.0", lpushx)
        .key_flags("RW insert")
        .complexity("O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.")
        .history(&[("4.0.0", "Accepts multiple `element` arguments.")]),
    def("rpushx", -3, "write denyoom fast", keys(1, 1, 1), "@write @list", "list", "Append an element to a list, only if the list exists", "2.2.0", rpushx)
        .key_flags("RW insert")
        .complexity("O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.")
        .history(&[("4.0.0", "Accepts multiple `element` arguments.")]),
    def("lpop", -2, "write fast", keys(1, 1, 1), "@write @list", "list", "Remove and get the first elements in a list", "1.0.0", lpop)
        .key_flags("RW access delete")
        .complexity("O(N) where N is the number of elements returned")
        .history(&[("6.2.0", "Added the `count` argument.")]),
    def("rpop", -2, "write fast", keys(1, 1, 1), "@write @list", "list", "Remove and get the last elements in a list", "1.0.0", rpop)
        .key_flags("RW access delete")
        .complexity("O(N) where N is the number of elements returned")
        .history(&[("6.2.0", "Added the `count` argument.")]),
    def("llen", 2, "readonly fast", keys(1, 1, 1), "@read @list", "list", "Get the length of a list", "1.0.0", llen)
        .key_flags("RO")
        .complexity("O(1)"),
    def("lrange", 4, "readonly", keys(1, 1, 1), "@read @list", "list", "Get a range of elements from a list", "1.0.0", lrange)
        .key_flags("RO access")
        .complexity("O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range."),
    def("lindex", 3, "readonly", keys(1, 1, 1), "@read @list", "list", "Get an element from a list by its index", "1.0.0", lindex)
        .key_flags("RO access")
        .complexity("O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1)."),
    def("lset", 4, "write denyoom", keys(1, 1, 1), "@write @list", "list", "Set the value of an element in a list by its index", "1.0.0", lset)
        .key_flags("RW update")
        .complexity("O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1)."),
    def("linsert", 5, "write denyoom", keys(1, 1, 1), "@write @list", "list", "Insert an element before or after another element in a list", "2.2.0", linsert)
        .key_flags("RW insert")
        .complexity("O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N)."),
    def("lrem", 4, "write", keys(1, 1, 1), "@write @list", "list", "Remove elements from a list", "1.0.0", lrem)
        .key_flags("RW delete")
        .complexity("O(N+M) where N is the length of the list and M is the number of elements removed."),
    def("ltrim", 4, "write", keys(1, 1, 1), "@write @list", "list", "Trim a list to the specified range", "1.0.0", ltrim)
        .key_flags("RW delete")
        .complexity("O(N) where N is the number of elements to be removed by the operation."),
    def("lpos", -3, "readonly", keys(1, 1, 1), "@read @list", "list", "Return the index of matching elements on a list", "6.0.6", lpos)
        .key_flags("RO access")
        .complexity("O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time."),
    def("lmove", 5, "write denyoom", keys(1, 2, 1), "@write @list", "list", "Pop an element from a list, push it to another list and return it", "6.2.0", lmove)
        .key_specs(&[KeySpecDef::index(1, "RW access delete"), KeySpecDef::index(2, "RW insert")])
        .complexity("O(1)"),
    def("rpoplpush", 3, "write denyoom", keys(1, 2, 1), "@write @list", "list", "Remove the last element in a list, prepend it to another list and return it", "1.2.0", rpoplpush)
        .key_specs(&[KeySpecDef::index(1, "RW access delete"), KeySpecDef::index(2, "RW insert")])
        .complexity("O(1)")
        .deprecated("6.2.0", "`LMOVE` with the `RIGHT` and `LEFT` arguments"),
    def("lmpop", -4, "write", KeySpec::Custom(lmpop_keys), "@write @list", "list", "Pop elements from a list", "7.0.0", lmpop)
        .key_specs(&[KeySpecDef { flags: "RW access delete", notes: "", begin: BeginSearch::Index(1), find: KEYNUM_SPEC }])
        .complexity("O(N+M) where N is the number of provided keys and M is the number of elements returned."),
    def("blpop", -3, "write noscript blocking", keys(1, -2, 1), "@write @list", "list", "Remove and get the first element in a list, or block until one is available", "2.0.0", blpop)
        .key_flags("RW access delete")
        .complexity("O(N) where N is the number of provided keys.")
        .history(&[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")]),
    def("brpop", -3, "write noscript blocking", keys(1, -2, 1), "@write @list", "list", "Remove and get the last element in a list, or block until one is available", "2.0.0", brpop)
        .key_flags("RW access delete")
        .complexity("O(N) where N is the number of provided keys.")
        .history(&[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")]),
    def("blmove", 6, "write denyoom noscript blocking", keys(1, 2, 1), "@write @list", "list", "Pop an element from a list, push it to another list and return it; or block until one is available", "6.2.0", blmove)
        .key_specs(&[KeySpecDef::index(1, "RW access delete"), KeySpecDef::index(2, "RW insert")])
        .complexity("O(1)"),
    def("brpoplpush", 4, "write denyoom noscript blocking", keys(1, 2, 1), "@write @list", "list", "Pop an element from a list, push it to another list and return it; or block until one is available", "2.2.0", brpoplpush)
        .key_specs(&[KeySpecDef::index(1, "RW access delete"), KeySpecDef::index(2, "RW insert")])
        .complexity("O(1)")
        .deprecated("6.2.0", "`BLMOVE` with the `RIGHT` and `LEFT` arguments")
        .history(&[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")]),
    def("blmpop", -5, "write blocking", KeySpec::Custom(blmpop_keys), "@write @list", "list", "Pop elements from a list, or block until one is available", "7.0.0", blmpop)
        .key_specs(&[KeySpecDef { flags: "RW access delete", notes: "", begin: BeginSearch::Index(2), find: KEYNUM_SPEC }])
        .complexity("O(N+M) where N is the number of provided keys and M is the number of elements returned."),
];

/// Keys of a `numkeys key [key ...]` command whose numkeys is at `at`: none when numkeys is not
/// a positive integer that fits the arguments (as Redis's `genericGetKeys`).
fn numkeys_positions(args: &[&[u8]], at: usize) -> Vec<usize> {
    let n = args.get(at).and_then(|a| parse_i64(a)).unwrap_or(0);
    let first = at + 1;
    match usize::try_from(n) {
        Ok(n) if n >= 1 && n <= args.len().saturating_sub(first) => (first..first + n).collect(),
        _ => Vec::new(),
    }
}

fn lmpop_keys(args: &[&[u8]]) -> Vec<usize> {
    numkeys_positions(args, 1)
}

fn blmpop_keys(args: &[&[u8]]) -> Vec<usize> {
    numkeys_positions(args, 2)
}

/// Which end of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Head,
    Tail,
}

/// Argument `i` (empty if absent, which the arity checks rule out).
#[inline]
fn arg<'a>(args: &[&'a [u8]], i: usize) -> &'a [u8] {
    args.get(i).copied().unwrap_or_default()
}

/// Whether `a` is `word` as Redis's `strcasecmp` sees it (ignoring case, up to a NUL byte).
fn is_word(a: &[u8], word: &str) -> bool {
    let end = a.iter().position(|&b| b == 0).unwrap_or(a.len());
    a[..end].eq_ignore_ascii_case(word.as_bytes())
}

/// A propagation record from its parts.
fn record(parts: &[&[u8]]) -> Vec<Bytes> {
    parts.iter().map(|p| Bytes::copy_from_slice(p)).collect()
}

/// The node limits from `list-max-listpack-size`.
#[inline]
fn fill(ctx: &Ctx<'_>) -> Fill {
    Fill::new(ctx.engine.config.encoding().list_max_listpack_size)
}

/// The list at `key`, `None` if there is no key, WRONGTYPE for another type.
#[inline]
fn list_of<'v>(db: &'v mut DbView<'_>, key: &[u8]) -> Result<Option<&'v mut QuickList>> {
    match db.get(key) {
        None => Ok(None),
        Some(Value::List(l)) => Ok(Some(&mut **l)),
        Some(_) => Err(Error::WrongType),
    }
}

/// Redis's `getListPositionFromObjectOrReply`: LEFT or RIGHT.
fn parse_end(a: &[u8]) -> Result<End> {
    if is_word(a, "left") {
        Ok(End::Head)
    } else if is_word(a, "right") {
        Ok(End::Tail)
    } else {
        Err(Error::Syntax)
    }
}

/// An integer argument, or Redis's "not an integer" error.
fn int_arg(a: &[u8]) -> Result<i64> {
    parse_i64(a).ok_or(Error::NotInteger)
}

/// Redis's `getRangeLongFromObjectOrReply` with a message: an integer in `min..`, else `msg`
/// (for a non-integer too).
fn int_at_least(a: &[u8], min: i64, msg: &'static str) -> Result<i64> {
    match parse_i64(a) {
        Some(n) if n >= min => Ok(n),
        _ => Err(Error::msg(msg)),
    }
}

#[inline]
fn reply_val(out: &mut ReplyWriter, v: LpVal<'_>) {
    v.with_bytes(|b| out.bulk(b));
}

/// Replies with `n` elements taken from `end` of `l`, in pop order.
fn reply_from_end(out: &mut ReplyWriter, l: &QuickList, end: End, n: usize) {
    out.array(n);
    match end {
        End::Head => l.iter().take(n).for_each(|v| reply_val(out, v)),
        End::Tail => l.iter_rev().take(n).for_each(|v| reply_val(out, v)),
    }
}

fn remove_from_end(l: &mut QuickList, end: End, n: usize) {
    match end {
        End::Head => l.remove_front(n),
        End::Tail => l.remove_back(n),
    }
}

/// After elements were removed from the list at `key`: deletes the key if the list is now
/// empty and sets the change count to `dirty` (the count before) plus `changes`.
fn finish_removal(db: &mut DbView<'_>, key: &[u8], empty: bool, dirty: u64, changes: u64) {
    if empty {
        if let Some(e) = db.remove(key) {
            db.discard(e.value);
        }
    }
    db.dirty = dirty + changes;
}

/// The event of a pop from `end`.
fn pop_event(end: End) -> &'static str {
    match end {
        End::Head => "lpop",
        End::Tail => "rpop",
    }
}

/// The event of a push to `end`.
fn push_event(end: End) -> &'static str {
    match end {
        End::Head => "lpush",
        End::Tail => "rpush",
    }
}

/// Resolves LRANGE/LTRIM's `start`/`stop` as Redis does; `None` for an empty range.
fn resolve_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let llen = len as i64;
    let mut s = if start < 0 { llen + start } else { start };
    let mut e = if stop < 0 { llen + stop } else { stop };
    if s < 0 {
        s = 0;
    }
    if s > e || s >= llen {
        return None;
    }
    if e >= llen {
        e = llen - 1;
    }
    Some((s as usize, e as usize))
}

/// A list index (negative counts from the tail) as a position, if in range.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let i = if index < 0 {
        (len as i64).checked_add(index)?
    } else {
        index
    };
    usize::try_from(i).ok().filter(|&i| i < len)
}

// LPUSH key element [element ...]
fn lpush(ctx: &mut Ctx<'_>) -> Result<()> {
    push_generic(ctx, End::Head, false)
}

// RPUSH key element [element ...]
fn rpush(ctx: &mut Ctx<'_>) -> Result<()> {
    push_generic(ctx, End::Tail, false)
}

// LPUSHX key element [element ...]
fn lpushx(ctx: &mut Ctx<'_>) -> Result<()> {
    push_generic(ctx, End::Head, true)
}

// RPUSHX key element [element ...]
fn rpushx(ctx: &mut Ctx<'_>) -> Result<()> {
    push_generic(ctx, End::Tail, true)
}

fn push_all(l: &mut QuickList, elems: &[&[u8]], end: End, fill: Fill) {
    for e in elems {
        match end {
            End::Head => l.push_front(e, fill),
            End::Tail => l.push_back(e, fill),
        }
    }
}

/// The push commands; `only_existing` for the X forms.
fn push_generic(ctx: &mut Ctx<'_>, end: End, only_existing: bool) -> Result<()> {
    let args = ctx.args;
    let key = arg(args, 1);
    let elems = args.get(2..).unwrap_or_default();
    let fill = fill(ctx);
    let dirty = ctx.db.dirty;
    let len = match list_of(&mut ctx.db, key)? {
        Some(l) => {
            push_all(l, elems, end, fill);
            l.len()
        }
        None if only_existing => {
            ctx.out.int(0);
            return Ok(());
        }
        None => {
            let mut l = QuickList::new();
            push_all(&mut l, elems, end, fill);
            let n = l.len();
            let db = ctx.db.db;
            ctx.db.insert_new_in(db, key, Value::List(Box::new(l)), 0);
            n
        }
    };
    ctx.db.dirty = dirty + elems.len() as u64;
    ctx.notify(notify::LIST, push_event(end), key);
    ctx.out.int(len as i64);
    Ok(())
}

// LPOP key [count]
fn lpop(ctx: &mut Ctx<'_>) -> Result<()> {
    pop_generic(ctx, End::Head)
}

// RPOP key [count]
fn rpop(ctx: &mut Ctx<'_>) -> Result<()> {
    pop_generic(ctx, End::Tail)
}

/// LPOP and RPOP: one element as a bulk string, or with a count an array of up to that many.
fn pop_generic(ctx: &mut Ctx<'_>, end: End) -> Result<()> {
    let args = ctx.args;
    if args.len() > 3 {
        return Err(Error::WrongArity(ctx.cmd.full_name.clone()));
    }
    let count = match args.get(2) {
        Some(a) => Some(int_at_least(
            a,
            0,
            "ERR value is out of range, must be positive",
        )?),
        None => None,
    };
    let key = arg(args, 1);
    let dirty = ctx.db.dirty;
    let out = &mut *ctx.out;
    let Some(l) = list_of(&mut ctx.db, key)? else {
        if count.is_some() {
            out.null_array();
        } else {
            out.null();
        }
        return Ok(());
    };
    let n = match count {
        None => {
            let v = match end {
                End::Head => l.front(),
                End::Tail => l.back(),
            };
            if let Some(v) = v {
                reply_val(out, v);
            }
            1
        }
        Some(0) => {
            out.array(0);
            return Ok(());
        }
        Some(c) => {
            let n = usize::try_from(c).unwrap_or(usize::MAX).min(l.len());
            reply_from_end(out, l, end, n);
            n
        }
    };
    remove_from_end(l, end, n);
    let empty = l.is_empty();
    finish_removal(&mut ctx.db, key, empty, dirty, n as u64);
    ctx.notify_removal(notify::LIST, pop_event(end), key, empty);
    Ok(())
}

// LLEN key
fn llen(ctx: &mut Ctx<'_>) -> Result<()> {
    let n = list_of(&mut ctx.db, arg(ctx.args, 1))?.map_or(0, |l| l.len());
    ctx.out.int(n as i64);
    Ok(())
}

// LRANGE key start stop
fn lrange(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let start = int_arg(arg(args, 2))?;
    let stop = int_arg(arg(args, 3))?;
    let out = &mut *ctx.out;
    let Some(l) = list_of(&mut ctx.db, arg(args, 1))? else {
        out.array(0);
        return Ok(());
    };
    match resolve_range(start, stop, l.len()) {
        None => out.array(0),
        Some((s, e)) => {
            let n = e - s + 1;
            out.array(n);
            // Finding `s` walks from the nearer end of the list.
            l.iter_from(s).take(n).for_each(|v| reply_val(out, v));
        }
    }
    Ok(())
}

// LINDEX key index
fn lindex(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let out = &mut *ctx.out;
    let Some(l) = list_of(&mut ctx.db, arg(args, 1))? else {
        out.null();
        return Ok(());
    };
    let index = int_arg(arg(args, 2))?;
    match resolve_index(index, l.len()).and_then(|i| l.get(i)) {
        Some(v) => reply_val(out, v),
        None => out.null(),
    }
    Ok(())
}

// LSET key index element
fn lset(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let fill = fill(ctx);
    let Some(l) = list_of(&mut ctx.db, arg(args, 1))? else {
        return Err(Error::NoSuchKey);
    };
    let index = int_arg(arg(args, 2))?;
    let Some(i) = resolve_index(index, l.len()) else {
        return Err(Error::msg("ERR index out of range"));
    };
    l.set(i, arg(args, 3), fill);
    ctx.db.modified(arg(args, 1));
    ctx.notify(notify::LIST, "lset", arg(args, 1));
    ctx.out.ok();
    Ok(())
}

// LINSERT key BEFORE|AFTER pivot element
fn linsert(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let after = if is_word(arg(args, 2), "after") {
        true
    } else if is_word(arg(args, 2), "before") {
        false
    } else {
        return Err(Error::Syntax);
    };
    let fill = fill(ctx);
    let Some(l) = list_of(&mut ctx.db, arg(args, 1))? else {
        ctx.out.int(0);
        return Ok(());
    };
    let Some(at) = l.position(&Needle::new(arg(args, 3))) else {
        ctx.out.int(-1);
        return Ok(());
    };
    l.insert(at + usize::from(after), arg(args, 4), fill);
    let len = l.len();
    ctx.db.modified(arg(args, 1));
    ctx.notify(notify::LIST, "linsert", arg(args, 1));
    ctx.out.int(len as i64);
    Ok(())
}

// LREM key count element
fn lrem(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let count = int_arg(arg(args, 2))?;
    let fill = fill(ctx);
    let key = arg(args, 1);
    let dirty = ctx.db.dirty;
    let Some(l) = list_of(&mut ctx.db, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let max = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let removed = l.remove_matching(&Needle::new(arg(args, 3)), max, count < 0, fill);
    let empty = l.is_empty();
    finish_removal(&mut ctx.db, key, empty, dirty, removed as u64);
    if removed > 0 {
        ctx.notify_removal(notify::LIST, "lrem", key, empty);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

// LTRIM key start stop
fn ltrim(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let start = int_arg(arg(args, 2))?;
    let stop = int_arg(arg(args, 3))?;
    let key = arg(args, 1);
    let dirty = ctx.db.dirty;
    let Some(l) = list_of(&mut ctx.db, key)? else {
        ctx.out.ok();
        return Ok(());
    };
    let len = l.len();
    let (front, back) = match resolve_range(start, stop, len) {
        None => (0, len),
        Some((s, e)) => (s, len - e - 1),
    };
    l.remove_back(back);
    l.remove_front(front);
    let empty = l.is_empty();
    finish_removal(&mut ctx.db, key, empty, dirty, (front + back) as u64);
    ctx.notify_removal(notify::LIST, "ltrim", key, empty);
    ctx.out.ok();
    Ok(())
}

// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
fn lpos(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let mut rank: i64 = 1;
    let mut count: i64 = -1; // -1: no COUNT option
    let mut maxlen: i64 = 0;
    let mut j = 3;
    while j < args.len() {
        let opt = arg(args, j);
        let more = j + 1 < args.len();
        if is_word(opt, "rank") && more {
            j += 1;
            rank = int_arg(arg(args, j))?;
            if rank == 0 {
                return Err(Error::msg("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"));
            }
        } else if is_word(opt, "count") && more {
            j += 1;
            count = int_at_least(arg(args, j), 0, "ERR COUNT can't be negative")?;
        } else if is_word(opt, "maxlen") && more {
            j += 1;
            maxlen = int_at_least(arg(args, j), 0, "ERR MAXLEN can't be negative")?;
        } else {
            return Err(Error::Syntax);
        }
        j += 1;
    }
    // A negative rank searches from the tail. Like Redis, the most negative rank stays
    // negative, so it matches at the first match.
    let from_tail = rank < 0;
    if from_tail {
        rank = rank.wrapping_neg();
    }
    let out = &mut *ctx.out;
    let Some(l) = list_of(&mut ctx.db, arg(args, 1))? else {
        if count != -1 {
            out.array(0);
        } else {
            out.null();
        }
        return Ok(());
    };
    let needle = Needle::new(arg(args, 2));
    let len = l.len();
    let limit = if maxlen == 0 {
        len
    } else {
        usize::try_from(maxlen).unwrap_or(usize::MAX).min(len)
    };
    let mut found: Vec<i64> = Vec::new();
    let mut matches: i64 = 0;
    let mut visit = |i: usize, v: LpVal<'_>| -> bool {
        if !v.matches(&needle) {
            return true;
        }
        matches += 1;
        if matches >= rank {
            let index = if from_tail { len - 1 - i } else { i };
            found.push(index as i64);
            // Wrapping as Redis's C does for the most negative rank.
            if count == -1 || (count != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= count) {
                return false;
            }
        }
        true
    };
    if from_tail {
        for (i, v) in l.iter_rev().take(limit).enumerate() {
            if !visit(i, v) {
                break;
            }
        }
    } else {
        for (i, v) in l.iter().take(limit).enumerate() {
            if !visit(i, v) {
                break;
            }
        }
    }
    if count != -1 {
        out.array(found.len());
        for i in found {
            out.int(i);
        }
    } else {
        match found.first() {
            Some(&i) => out.int(i),
            None => out.null(),
        }
    }
    Ok(())
}

// LMOVE source destination LEFT|RIGHT LEFT|RIGHT
fn lmove(ctx: &mut Ctx<'_>) -> Result<()> {
    let from = parse_end(arg(ctx.args, 3))?;
    let to = parse_end(arg(ctx.args, 4))?;
    lmove_generic(ctx, from, to).map(|_| ())
}

// RPOPLPUSH source destination
fn rpoplpush(ctx: &mut Ctx<'_>) -> Result<()> {
    lmove_generic(ctx, End::Tail, End::Head).map(|_| ())
}

/// Moves one element from `from` of the source list to `to` of the destination, replying with
/// it (nil when there is no source). Returns whether it moved one.
fn lmove_generic(ctx: &mut Ctx<'_>, from: End, to: End) -> Result<bool> {
    let args = ctx.args;
    let (src, dst) = (arg(args, 1), arg(args, 2));
    let fill = fill(ctx);
    let dirty = ctx.db.dirty;
    if list_of(&mut ctx.db, src)?.is_none() {
        ctx.out.null();
        return Ok(false);
    }
    if src != dst && matches!(ctx.db.get(dst), Some(v) if !matches!(v, Value::List(_))) {
        return Err(Error::WrongType);
    }
    let Some(l) = list_of(&mut ctx.db, src)? else {
        ctx.out.null();
        return Ok(false);
    };
    let value = match from {
        End::Head => l.pop_front(),
        End::Tail => l.pop_back(),
    }
    .unwrap_or_default();
    let mut emptied = false;
    if src == dst {
        // A rotation: the list never becomes empty.
        push_all(l, &[&value], to, fill);
    } else {
        let empty = l.is_empty();
        if empty {
            if let Some(e) = ctx.db.remove(src) {
                ctx.db.discard(e.value);
            }
        }
        emptied = empty;
        match list_of(&mut ctx.db, dst)? {
            Some(d) => push_all(d, &[&value], to, fill),
            None => {
                let mut d = QuickList::new();
                push_all(&mut d, &[&value], to, fill);
                let db = ctx.db.db;
                ctx.db.insert_new_in(db, dst, Value::List(Box::new(d)), 0);
            }
        }
    }
    ctx.db.dirty = dirty + 1;
    // As Redis: the push, then the pop (and the source's deletion).
    ctx.notify(notify::LIST, push_event(to), dst);
    ctx.notify_removal(notify::LIST, pop_event(from), src, emptied);
    ctx.out.bulk(&value);
    Ok(true)
}

/// LMPOP/BLMPOP's arguments after the timeout: `numkeys key [key ...] LEFT|RIGHT [COUNT n]`
/// starting at `at`, checked as Redis's `lmpopGenericCommand`. Returns the keys' positions,
/// the end and the count.
fn parse_mpop(args: &[&[u8]], at: usize) -> Result<(std::ops::Range<usize>, End, usize)> {
    let numkeys = int_at_least(arg(args, at), 1, "ERR numkeys should be greater than 0")?;
    let where_idx = usize::try_from(numkeys)
        .ok()
        .and_then(|n| n.checked_add(at + 1))
        .filter(|&w| w < args.len())
        .ok_or(Error::Syntax)?;
    let end = parse_end(arg(args, where_idx))?;
    let mut count: i64 = -1;
    let mut j = where_idx + 1;
    while j < args.len() {
        if count == -1 && is_word(arg(args, j), "count") && j + 1 < args.len() {
            j += 1;
            count = int_at_least(arg(args, j), 1, "ERR count should be greater than 0")?;
        } else {
            return Err(Error::Syntax);
        }
        j += 1;
    }
    let count = if count == -1 { 1 } else { count };
    Ok((
        at + 1..where_idx,
        end,
        usize::try_from(count).unwrap_or(usize::MAX),
    ))
}

/// Pops up to `count` elements from `end` of the first non-empty list among `keys`, replying
/// `[key, [elements...]]` and propagating `LPOP|RPOP key n`. Returns false (having written
/// nothing) when every key is missing.
fn mpop_from(ctx: &mut Ctx<'_>, keys: &[&[u8]], end: End, count: usize) -> Result<bool> {
    let dirty = ctx.db.dirty;
    for key in keys {
        let out = &mut *ctx.out;
        let Some(l) = list_of(&mut ctx.db, key)? else {
            continue;
        };
        let n = count.min(l.len());
        out.array(2);
        out.bulk(key);
        reply_from_end(out, l, end, n);
        remove_from_end(l, end, n);
        let empty = l.is_empty();
        finish_removal(&mut ctx.db, key, empty, dirty, n as u64);
        ctx.notify_removal(notify::LIST, pop_event(end), key, empty);
        let pop: &[u8] = if end == End::Head { b"LPOP" } else { b"RPOP" };
        let n_text = itoa::Buffer::new().format(n).as_bytes().to_vec();
        ctx.propagate_as(vec![record(&[pop, key, &n_text])]);
        return Ok(true);
    }
    Ok(false)
}

// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn lmpop(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let (keys, end, count) = parse_mpop(args, 1)?;
    let keys = args.get(keys).unwrap_or_default();
    if !mpop_from(ctx, keys, end, count)? {
        ctx.out.null_array();
    }
    Ok(())
}

// BLPOP key [key ...] timeout
fn blpop(ctx: &mut Ctx<'_>) -> Result<()> {
    bpop_generic(ctx, End::Head)
}

// BRPOP key [key ...] timeout
fn brpop(ctx: &mut Ctx<'_>) -> Result<()> {
    bpop_generic(ctx, End::Tail)
}

/// BLPOP and BRPOP: `[key, element]` from the first non-empty list, else block.
fn bpop_generic(ctx: &mut Ctx<'_>, end: End) -> Result<()> {
    let args = ctx.args;
    let timeout = blocking::parse_timeout(arg(args, args.len() - 1), ctx.db.now_ms)?;
    let keys = args.get(1..args.len() - 1).unwrap_or_default();
    let dirty = ctx.db.dirty;
    for key in keys {
        let out = &mut *ctx.out;
        let Some(l) = list_of(&mut ctx.db, key)? else {
            continue;
        };
        let v = match end {
            End::Head => l.front(),
            End::Tail => l.back(),
        };
        out.array(2);
        out.bulk(key);
        if let Some(v) = v {
            reply_val(out, v);
        }
        remove_from_end(l, end, 1);
        let empty = l.is_empty();
        finish_removal(&mut ctx.db, key, empty, dirty, 1);
        ctx.notify_removal(notify::LIST, pop_event(end), key, empty);
        let pop: &[u8] = if end == End::Head { b"LPOP" } else { b"RPOP" };
        ctx.propagate_as(vec![record(&[pop, key])]);
        return Ok(());
    }
    blocking::block(ctx, keys, BlockKind::List, timeout, NoBlockReply::NullArray)
}

// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn blmpop(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let (keys, end, count) = parse_mpop(args, 2)?;
    let timeout = blocking::parse_timeout(arg(args, 1), ctx.db.now_ms)?;
    let keys = args.get(keys).unwrap_or_default();
    if mpop_from(ctx, keys, end, count)? {
        return Ok(());
    }
    blocking::block(ctx, keys, BlockKind::List, timeout, NoBlockReply::NullArray)
}

// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
fn blmove(ctx: &mut Ctx<'_>) -> Result<()> {
    let from = parse_end(arg(ctx.args, 3))?;
    let to = parse_end(arg(ctx.args, 4))?;
    let timeout = blocking::parse_timeout(arg(ctx.args, 5), ctx.db.now_ms)?;
    blmove_generic(ctx, from, to, timeout)
}

// BRPOPLPUSH source destination timeout
fn brpoplpush(ctx: &mut Ctx<'_>) -> Result<()> {
    let timeout = blocking::parse_timeout(arg(ctx.args, 3), ctx.db.now_ms)?;
    blmove_generic(ctx, End::Tail, End::Head, timeout)
}

/// BLMOVE and BRPOPLPUSH: LMOVE when the source exists, else block on it. Propagated as
/// LMOVE / RPOPLPUSH.
fn blmove_generic(ctx: &mut Ctx<'_>, from: End, to: End, timeout: u64) -> Result<()> {
    let args = ctx.args;
    let src = arg(args, 1);
    if list_of(&mut ctx.db, src)?.is_none() {
        return blocking::block(ctx, &[src], BlockKind::List, timeout, NoBlockReply::Null);
    }
    if lmove_generic(ctx, from, to)? {
        let dst = arg(args, 2);
        let rec = if ctx.cmd.def.name == "brpoplpush" {
            record(&[b"RPOPLPUSH", src, dst])
        } else {
            record(&[b"LMOVE", src, dst, arg(args, 3), arg(args, 4)])
        };
        ctx.propagate_as(vec![rec]);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
