//! Generic keyspace commands (Redis's `db.c` and `object.c`): DEL, UNLINK, EXISTS, TYPE, RENAME,
//! RENAMENX, COPY, MOVE, KEYS, SCAN, RANDOMKEY, TOUCH, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB and
//! OBJECT. Expiry commands live in `expire`.
//!
//! Locking. The dispatcher locks the shards of the keys named by the key spec, in the selected
//! database only. Three kinds of handler need more, and take it through [`DbView`] so that under
//! EXEC (whose exclusive view may use every shard: [`DbView::holds_all`]) they simply use it:
//! - COPY ... DB n and MOVE also touch another database: they re-lock the whole set they need in
//!   one sorted call ([`DbView::lock_pairs`]) before looking at anything;
//! - KEYS, SCAN, RANDOMKEY and DBSIZE walk a database one shard at a time, so no client waits
//!   for more than one shard's worth of work;
//! - FLUSHDB, FLUSHALL and SWAPDB lock every shard they change at once, so they are atomic as in
//!   Redis; they only move shard contents while locked (`Shard::take`, a swap) and free the old
//!   contents after unlocking, on a background thread for ASYNC.
//!
//! Lookups that Redis does with `LOOKUP_NOTOUCH` (TYPE, EXISTS, OBJECT, and TTL in `expire`) go
//! through [`peek`], which leaves the keys' access clocks alone. Keyspace hits and misses are
//! counted by the view for read-only commands; COPY, SCAN ... TYPE and RANDOMKEY switch counting
//! on or off around their lookups so the counters move exactly as Redis's do.

use bytes::Bytes;
use rand::Rng;

use crate::cmd::{container, def, keys, CommandDef, KeySpec};
use crate::ctx::{Ctx, DbView};
use crate::error::{Error, Result};
use crate::keyspace::{shard_of, Shard, SHARDS, SHARD_BITS};
use crate::notify;
use crate::util::{glob_match, parse_i64};
use crate::value::{Entry, Value};

/// The generic key commands.
#[rustfmt::skip]
pub static COMMANDS: &[CommandDef] = &[
    def("del", -2, "write", keys(1, -1, 1), "@keyspace @write", "generic", "Delete a key", "1.0.0", del)
        .key_flags("RM delete")
        .tips("request_policy:multi_shard response_policy:agg_sum")
        .complexity("O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1)."),
    def("unlink", -2, "write fast", keys(1, -1, 1), "@keyspace @write", "generic", "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.", "4.0.0", unlink)
        .key_flags("RM delete")
        .tips("request_policy:multi_shard response_policy:agg_sum")
        .complexity("O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of."),
    def("exists", -2, "readonly fast", keys(1, -1, 1), "@keyspace @read", "generic", "Determine if a key exists", "1.0.0", exists)
        .key_flags("RO")
        .tips("request_policy:multi_shard response_policy:agg_sum")
        .complexity("O(N) where N is the number of keys to check.")
        .history(&[("3.0.3", "Accepts multiple `key` arguments.")]),
    def("type", 2, "readonly fast", keys(1, 1, 1), "@keyspace @read", "generic", "Determine the type stored at key", "1.0.0", type_)
        .key_flags("RO")
        .complexity("O(1)"),
    def("rename", 3, "write", keys(1, 2, 1), "@keyspace @write", "generic", "Rename a key", "1.0.0", rename)
        .key_specs(&[crate::cmd::KeySpecDef::index(1, "RW access delete"), crate::cmd::KeySpecDef::index(2, "OW update")])
        .complexity("O(1)"),
    def("renamenx", 3, "write fast", keys(1, 2, 1), "@keyspace @write", "generic", "Rename a key, only if the new key does not exist", "1.0.0", renamenx)
        .key_specs(&[crate::cmd::KeySpecDef::index(1, "RW access delete"), crate::cmd::KeySpecDef::index(2, "OW insert")])
        .complexity("O(1)")
        .history(&[("3.2.0", "The command no longer returns an error when source and destination names are the same.")]),
    def("copy", -3, "write denyoom", keys(1, 2, 1), "@keyspace @write", "generic", "Copy a key", "6.2.0", copy)
        .key_specs(&[crate::cmd::KeySpecDef::index(1, "RO access"), crate::cmd::KeySpecDef::index(2, "OW update")])
        .complexity("O(N) worst case for collections, where N is the number of nested items. O(1) for string values."),
    def("move", 3, "write fast", keys(1, 1, 1), "@keyspace @write", "generic", "Move a key to another database", "1.0.0", move_)
        .key_flags("RW access update")
        .complexity("O(1)"),
    def("keys", 2, "readonly", KeySpec::None, "@keyspace @read @dangerous", "generic", "Find all keys matching the given pattern", "1.0.0", keys_)
        .tips("request_policy:all_shards nondeterministic_output_order")
        .complexity("O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length."),
    def("scan", -2, "readonly", KeySpec::None, "@keyspace @read", "generic", "Incrementally iterate the keys space", "2.8.0", scan)
        .tips("nondeterministic_output request_policy:special")
        .complexity("O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.")
        .history(&[("6.0.0", "Added the `TYPE` subcommand.")]),
    def("randomkey", 1, "readonly", KeySpec::None, "@keyspace @read", "generic", "Return a random key from the keyspace", "1.0.0", randomkey)
        .tips("request_policy:all_shards nondeterministic_output")
        .complexity("O(1)"),
    def("touch", -2, "readonly fast", keys(1, -1, 1), "@keyspace @read", "generic", "Alters the last access time of a key(s). Returns the number of existing keys specified.", "3.2.1", touch)
        .key_flags("RO")
        .tips("request_policy:multi_shard response_policy:agg_sum")
        .complexity("O(N) where N is the number of keys that will be touched."),
    def("dbsize", 1, "readonly fast", KeySpec::None, "@keyspace @read", "server", "Return the number of keys in the selected database", "1.0.0", dbsize)
        .tips("request_policy:all_shards response_policy:agg_sum")
        .complexity("O(1)"),
    def("flushdb", -1, "write", KeySpec::None, "@keyspace @write @dangerous", "server", "Remove all keys from the current database", "1.0.0", flushdb)
        .tips("request_policy:all_shards response_policy:all_succeeded")
        .complexity("O(N) where N is the number of keys in the selected database")
        .history(&[("4.0.0", "Added the `ASYNC` flushing mode modifier."), ("6.2.0", "Added the `SYNC` flushing mode modifier.")]),
    def("flushall", -1, "write", KeySpec::None, "@keyspace @write @dangerous", "server", "Remove all keys from all databases", "1.0.0", flushall)
        .tips("request_policy:all_shards response_policy:all_succeeded")
        .complexity("O(N) where N is the total number of keys in all databases")
        .history(&[("4.0.0", "Added the `ASYNC` flushing mode modifier."), ("6.2.0", "Added the `SYNC` flushing mode modifier.")]),
    def("swapdb", 3, "write fast", KeySpec::None, "@keyspace @write @dangerous", "server", "Swaps two Redis databases", "4.0.0", swapdb)
        .complexity("O(N) where N is the count of clients watching or blocking on keys from both databases."),
    def("object", -2, "", KeySpec::None, "", "generic", "A container for object introspection commands", "2.2.3", container)
        .complexity("Depends on subcommand.")
        .subcommands(&[
            def("encoding", 3, "readonly", keys(2, 2, 1), "@keyspace @read", "generic", "Inspect the internal encoding of a Redis object", "2.2.3", object_encoding)
                .key_flags("RO")
                .tips("nondeterministic_output")
                .complexity("O(1)"),
            def("freq", 3, "readonly", keys(2, 2, 1), "@keyspace @read", "generic", "Get the logarithmic access frequency counter of a Redis object", "4.0.0", object_freq)
                .key_flags("RO")
                .tips("nondeterministic_output")
                .complexity("O(1)"),
            def("idletime", 3, "readonly", keys(2, 2, 1), "@keyspace @read", "generic", "Get the time since a Redis object was last accessed", "2.2.3", object_idletime)
                .key_flags("RO")
                .tips("nondeterministic_output")
                .complexity("O(1)"),
            def("refcount", 3, "readonly", keys(2, 2, 1), "@keyspace @read", "generic", "Get the number of references to the value of the key", "2.2.3", object_refcount)
                .key_flags("RO")
                .tips("nondeterministic_output")
                .complexity("O(1)"),
            def("help", 2, "loading stale", KeySpec::None, "@keyspace", "generic", "Show helpful text about the different subcommands", "6.2.0", object_help)
                .complexity("O(1)"),
        ]),
];

/// Redis's reply when an `int` argument (a database index) does not fit in 32 bits.
const INT_RANGE: &str = "ERR value is out of range, value must between -2147483648 and 2147483647";

/// `OBJECT HELP`'s own lines, as Redis 7.0 prints them (the header and HELP are added by
/// [`crate::server::reply_help`]).
const OBJECT_HELP: &[&str] = &[
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
];

/// Integers below this are shared objects in Redis (`OBJ_SHARED_INTEGERS`).
const SHARED_INTEGERS: i64 = 10_000;
/// The refcount Redis reports for a shared object (`OBJ_SHARED_REFCOUNT`, `INT_MAX`).
const SHARED_REFCOUNT: i64 = i32::MAX as i64;
/// Values freed by UNLINK that own more heap than this are freed on a background thread.
const LAZYFREE_THRESHOLD_BYTES: usize = 64 * 1024;

/// Argument `i`, or empty past the end (arity checks rule that out).
#[inline]
fn word<T: AsRef<[u8]>>(args: &[T], i: usize) -> &[u8] {
    args.get(i).map_or(&[], |a| a.as_ref())
}

/// Locks shard `s` of database `d` alone, unless every shard is already held (EXEC).
fn lock_one(view: &mut DbView<'_>, d: usize, s: usize) {
    if !view.holds_all() {
        view.lock_pairs(&[(d, s)]);
    }
}

/// Releases the locks a whole-database walk took, unless they belong to EXEC.
fn release(view: &mut DbView<'_>, in_exec: bool) {
    if !in_exec {
        view.lock_pairs(&[]);
    }
}

/// A database index argument, as Redis's `getIntFromObjectOrReply` + `selectDb` check it.
fn parse_db(arg: &[u8], databases: usize) -> Result<usize> {
    let n = parse_i64(arg).ok_or(Error::NotInteger)?;
    if i32::try_from(n).is_err() {
        return Err(Error::msg(INT_RANGE));
    }
    match usize::try_from(n) {
        Ok(i) if i < databases => Ok(i),
        _ => Err(Error::DbIndexOutOfRange),
    }
}

/// Looks `key` up in database `db` as Redis's `LOOKUP_NOTOUCH` does: lazily expired and counted
/// like any read, but its access clock is left alone. Returns what `f` takes from the entry.
pub(crate) fn peek<T>(
    view: &mut DbView<'_>,
    db: usize,
    key: &[u8],
    f: impl FnOnce(&Entry) -> T,
) -> Option<T> {
    let clock = view.lru.take();
    let found = view.entry_in(db, key).map(|e| f(e));
    view.lru = clock;
    found
}

/// [`peek`] as Redis's `objectCommandLookup` (OBJECT, MEMORY USAGE): a miss counts, but sends
/// no `keymiss` event (`LOOKUP_NONOTIFY`).
pub(crate) fn object_peek<T>(
    view: &mut DbView<'_>,
    db: usize,
    key: &[u8],
    f: impl FnOnce(&Entry) -> T,
) -> Option<T> {
    let flags = view.notify;
    view.notify &= !notify::KEY_MISS;
    let found = peek(view, db, key, f);
    view.notify = flags;
    found
}

/// The shard a key lives in.
fn shard_of_key(ctx: &Ctx<'_>, key: &[u8]) -> usize {
    shard_of(ctx.engine.keyspace.hasher.hash(key))
}

// DEL key [key ...]
fn del(ctx: &mut Ctx<'_>) -> Result<()> {
    del_generic(ctx, false)
}

// UNLINK key [key ...]
fn unlink(ctx: &mut Ctx<'_>) -> Result<()> {
    del_generic(ctx, true)
}

/// DEL and UNLINK: remove each live key (an expired one is expired, not counted). UNLINK frees
/// big values on a background thread; everything else is freed after the locks are released.
fn del_generic(ctx: &mut Ctx<'_>, lazy: bool) -> Result<()> {
    let args = ctx.args;
    let mut deleted = 0;
    let mut big: Vec<Value> = Vec::new();
    for key in args.iter().skip(1) {
        if let Some(e) = ctx.db.remove(key) {
            deleted += 1;
            ctx.notify(notify::GENERIC, "del", key);
            if lazy && e.value.heap_size() > LAZYFREE_THRESHOLD_BYTES {
                big.push(e.value);
            } else {
                ctx.db.discard(e.value);
            }
        }
    }
    if !big.is_empty() {
        crate::lazyfree::free_later(big);
    }
    ctx.out.int(deleted);
    Ok(())
}

// EXISTS key [key ...]
fn exists(ctx: &mut Ctx<'_>) -> Result<()> {
    let (args, db) = (ctx.args, ctx.db.db);
    let n = args
        .iter()
        .skip(1)
        .filter(|k| peek(&mut ctx.db, db, k, |_| ()).is_some())
        .count();
    ctx.out.int(n as i64);
    Ok(())
}

// TYPE key
fn type_(ctx: &mut Ctx<'_>) -> Result<()> {
    let db = ctx.db.db;
    let name = peek(&mut ctx.db, db, word(ctx.args, 1), |e| e.value.type_name());
    let name = name.unwrap_or("none");
    ctx.out.simple(name);
    Ok(())
}

// RENAME key newkey
fn rename(ctx: &mut Ctx<'_>) -> Result<()> {
    rename_generic(ctx, false)
}

// RENAMENX key newkey
fn renamenx(ctx: &mut Ctx<'_>) -> Result<()> {
    rename_generic(ctx, true)
}

/// RENAME and RENAMENX: the value moves with its TTL; an existing `newkey` is replaced (RENAME)
/// or left alone with a 0 reply (RENAMENX). Renaming a key to itself changes nothing.
fn rename_generic(ctx: &mut Ctx<'_>, nx: bool) -> Result<()> {
    let (src, dst) = (word(ctx.args, 1), word(ctx.args, 2));
    if ctx.db.entry(src).is_none() {
        return Err(Error::NoSuchKey);
    }
    if src == dst {
        if nx {
            ctx.out.int(0);
        } else {
            ctx.out.ok();
        }
        return Ok(());
    }
    if nx && ctx.db.entry(dst).is_some() {
        ctx.out.int(0);
        return Ok(());
    }
    let dirty = ctx.db.dirty;
    let Some(moved) = ctx.db.remove(src) else {
        return Err(Error::NoSuchKey);
    };
    let expire_at = moved.expire_at();
    // As Redis: an existing `newkey` is deleted and the value added as a new key (a `new`
    // event even when it replaces one).
    if let Some(old) = ctx.db.remove(dst) {
        ctx.db.discard(old.value);
    }
    let db = ctx.db.db;
    ctx.db.insert_new_in(db, dst, moved.value, expire_at);
    // Redis counts a rename as one change.
    ctx.db.dirty = dirty + 1;
    ctx.notify(notify::GENERIC, "rename_from", src);
    ctx.notify(notify::GENERIC, "rename_to", dst);
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

// COPY source destination [DB destination-db] [REPLACE]
fn copy(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let databases = ctx.engine.keyspace.len();
    let src_db = ctx.db.db;
    let mut dst_db = src_db;
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        let opt = word(args, i);
        if opt.eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else if opt.eq_ignore_ascii_case(b"db") && i + 1 < args.len() {
            dst_db = parse_db(word(args, i + 1), databases)?;
            i += 1;
        } else {
            return Err(Error::Syntax);
        }
        i += 1;
    }
    let (src, dst) = (word(args, 1), word(args, 2));
    if src_db == dst_db && src == dst {
        return Err(Error::msg(
            "ERR source and destination objects are the same",
        ));
    }
    if dst_db != src_db && !ctx.db.holds_all() {
        // IMPORTANT: the key spec only locked the current database. Re-lock everything this
        // command touches in one sorted call, before looking at any key, so lock order holds.
        let pairs = [
            (src_db, shard_of_key(ctx, src)),
            (src_db, shard_of_key(ctx, dst)),
            (dst_db, shard_of_key(ctx, dst)),
        ];
        ctx.db.lock_pairs(&pairs);
    }
    // Redis looks the source up as a read (counted as a hit or miss), the target as a write.
    let counting = ctx.db.count_reads;
    ctx.db.count_reads = true;
    let expire_at = ctx.db.entry(src).map(|e| e.expire_at());
    ctx.db.count_reads = counting;
    let Some(expire_at) = expire_at else {
        ctx.out.int(0);
        return Ok(());
    };
    if ctx.db.entry_in(dst_db, dst).is_some() && !replace {
        ctx.out.int(0);
        return Ok(());
    }
    let Some(value) = ctx.db.get(src).map(|v| v.clone()) else {
        ctx.out.int(0);
        return Ok(());
    };
    let dirty = ctx.db.dirty;
    // As for RENAME: a replaced target is deleted, then the copy added (a `new` event).
    if let Some(old) = ctx.db.remove_in(dst_db, dst) {
        ctx.db.discard(old.value);
    }
    ctx.db.insert_new_in(dst_db, dst, value, expire_at);
    ctx.db.dirty = dirty + 1;
    ctx.notify_in(notify::GENERIC, "copy_to", dst_db, dst);
    ctx.out.int(1);
    Ok(())
}

// MOVE key db
fn move_(ctx: &mut Ctx<'_>) -> Result<()> {
    let src_db = ctx.db.db;
    let dst_db = parse_db(word(ctx.args, 2), ctx.engine.keyspace.len())?;
    if dst_db == src_db {
        return Err(Error::msg(
            "ERR source and destination objects are the same",
        ));
    }
    let key = word(ctx.args, 1);
    if !ctx.db.holds_all() {
        // IMPORTANT: as for COPY, take the target database's shard together with the source's,
        // in one sorted call, before looking at either.
        let s = shard_of_key(ctx, key);
        ctx.db.lock_pairs(&[(src_db, s), (dst_db, s)]);
    }
    if ctx.db.entry(key).is_none() || ctx.db.entry_in(dst_db, key).is_some() {
        ctx.out.int(0);
        return Ok(());
    }
    let dirty = ctx.db.dirty;
    let Some(moved) = ctx.db.remove(key) else {
        ctx.out.int(0);
        return Ok(());
    };
    let expire_at = moved.expire_at();
    ctx.db.insert_new_in(dst_db, key, moved.value, expire_at);
    ctx.db.dirty = dirty + 1;
    ctx.notify_in(notify::GENERIC, "move_from", src_db, key);
    ctx.notify_in(notify::GENERIC, "move_to", dst_db, key);
    ctx.out.int(1);
    Ok(())
}

// KEYS pattern
fn keys_(ctx: &mut Ctx<'_>) -> Result<()> {
    let pattern = word(ctx.args, 1);
    // Redis matches `*` without calling the matcher, so only it matches the empty key.
    let all = pattern == b"*";
    let (db, now) = (ctx.db.db, ctx.db.now_ms);
    let in_exec = ctx.db.holds_all();
    let mut found: Vec<Bytes> = Vec::new();
    for s in 0..SHARDS {
        lock_one(&mut ctx.db, db, s);
        ctx.db.shard(db, s).for_each(|e| {
            let key = e.key();
            if (all || glob_match(pattern, key, false)) && !e.is_expired(now) {
                found.push(Bytes::copy_from_slice(key));
            }
        });
    }
    release(&mut ctx.db, in_exec);
    ctx.out.array(found.len());
    for k in &found {
        ctx.out.bulk(k);
    }
    Ok(())
}

/// Parses a SCAN cursor as Redis does with `strtoul`: decimal digits with an optional sign (a
/// negative value wraps), nothing else around them, no overflow; the empty string is 0.
pub(crate) fn parse_cursor(s: &[u8]) -> Option<u64> {
    let (neg, digits) = match s.split_first() {
        None => return Some(0),
        Some((b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r', _)) => return None,
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        Some(_) => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// What the SCAN options asked for.
struct ScanOpts<'a> {
    count: usize,
    pattern: Option<&'a [u8]>,
    type_name: Option<&'a [u8]>,
}

fn parse_scan_opts<T: AsRef<[u8]>>(args: &[T]) -> Result<ScanOpts<'_>> {
    let mut opts = ScanOpts {
        count: 10,
        pattern: None,
        type_name: None,
    };
    let mut i = 2;
    while i < args.len() {
        let (opt, has_value) = (word(args, i), i + 1 < args.len());
        let value = word(args, i + 1);
        if opt.eq_ignore_ascii_case(b"count") && has_value {
            let n = parse_i64(value).ok_or(Error::NotInteger)?;
            if n < 1 {
                return Err(Error::Syntax);
            }
            opts.count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if opt.eq_ignore_ascii_case(b"match") && has_value {
            // The pattern `*` is no filter at all (so it also matches the empty key).
            opts.pattern = (value != b"*").then_some(value);
        } else if opt.eq_ignore_ascii_case(b"type") && has_value {
            opts.type_name = Some(value);
        } else {
            return Err(Error::Syntax);
        }
        i += 2;
    }
    Ok(opts)
}

/// A key SCAN visited that passed MATCH, before the TYPE and expiry filters.
struct Visited {
    key: Bytes,
    expired: bool,
    type_name: &'static str,
}

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
//
// The cursor is the next 64-bit hash value to visit (see `keyspace`): shards are walked in order
// from the cursor's shard, each locked alone while `Shard::scan` collects about COUNT entries in
// hash order. A key present during the whole iteration is returned exactly once.
fn scan(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let cursor = parse_cursor(word(args, 1)).ok_or(Error::msg("ERR invalid cursor"))?;
    let opts = parse_scan_opts(args)?;
    let ks = ctx.db.keyspace();
    let (db, now) = (ctx.db.db, ctx.db.now_ms);
    let in_exec = ctx.db.holds_all();
    let counting = ctx.db.count_reads;
    let mut budget = opts.count;
    let mut keys: Vec<Bytes> = Vec::new();
    let mut shard = shard_of(cursor);
    let mut from = cursor;
    let next = loop {
        lock_one(&mut ctx.db, db, shard);
        let mut visited: Vec<Visited> = Vec::new();
        let mut seen = 0usize;
        let resume = ctx
            .db
            .shard(db, shard)
            .scan(&ks.hasher, shard, from, budget, |e| {
                seen += 1;
                let key = e.key();
                if opts.pattern.is_none_or(|p| glob_match(p, key, false)) {
                    visited.push(Visited {
                        key: Bytes::copy_from_slice(key),
                        expired: e.is_expired(now),
                        type_name: e.value.type_name(),
                    });
                }
            });
        for v in visited {
            if let Some(want) = opts.type_name {
                // Redis looks each candidate up to learn its type: a counted read that also
                // expires it.
                ctx.db.count_reads = true;
                let live = ctx.db.entry_in(db, &v.key).is_some();
                ctx.db.count_reads = counting;
                if !live || !want.eq_ignore_ascii_case(v.type_name.as_bytes()) {
                    continue;
                }
            } else if v.expired {
                // Expire it now, as Redis does, without counting a miss.
                ctx.db.count_reads = false;
                ctx.db.entry_in(db, &v.key);
                ctx.db.count_reads = counting;
                continue;
            }
            keys.push(v.key);
        }
        budget = budget.saturating_sub(seen);
        match resume {
            Some(c) => break c,
            None if shard + 1 >= SHARDS => break 0,
            None => {
                shard += 1;
                from = (shard as u64) << (64 - SHARD_BITS);
                if budget == 0 {
                    break from;
                }
            }
        }
    };
    release(&mut ctx.db, in_exec);
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.array(keys.len());
    for k in &keys {
        ctx.out.bulk(k);
    }
    Ok(())
}

// RANDOMKEY
//
// Picks a shard with probability proportional to its size, then a position in it; an expired
// key found that way is expired and another is drawn, as Redis does.
fn randomkey(ctx: &mut Ctx<'_>) -> Result<()> {
    let db = ctx.db.db;
    let in_exec = ctx.db.holds_all();
    // Redis expires the keys it draws without counting them as reads.
    let counting = std::mem::replace(&mut ctx.db.count_reads, false);
    let mut sizes = [0usize; SHARDS];
    for (s, size) in sizes.iter_mut().enumerate() {
        lock_one(&mut ctx.db, db, s);
        *size = ctx.db.shard(db, s).len();
    }
    let mut rng = rand::thread_rng();
    let now = ctx.db.now_ms;
    let mut found: Option<Bytes> = None;
    // Every failed draw removes a key or corrects a stale size; the cap only guards against a
    // database that other clients keep refilling with expired keys.
    for _ in 0..100_000 {
        let total: usize = sizes.iter().sum();
        if total == 0 {
            break;
        }
        let mut r = rng.gen_range(0..total);
        let mut s = 0;
        while s + 1 < SHARDS && r >= sizes[s] {
            r -= sizes[s];
            s += 1;
        }
        lock_one(&mut ctx.db, db, s);
        let shard: &Shard = ctx.db.shard(db, s);
        sizes[s] = shard.len();
        if shard.is_empty() {
            continue;
        }
        let Some(e) = shard.nth(r.min(shard.len() - 1)) else {
            continue;
        };
        let key = Bytes::copy_from_slice(e.key());
        if !e.is_expired(now) {
            found = Some(key);
            break;
        }
        ctx.db.entry_in(db, &key);
        sizes[s] = sizes[s].saturating_sub(1);
    }
    release(&mut ctx.db, in_exec);
    ctx.db.count_reads = counting;
    match found {
        Some(k) => ctx.out.bulk(&k),
        None => ctx.out.null(),
    }
    Ok(())
}

// TOUCH key [key ...]
fn touch(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let n = args
        .iter()
        .skip(1)
        .filter(|k| ctx.db.exists_in(ctx.db.db, k))
        .count();
    ctx.out.int(n as i64);
    Ok(())
}

// DBSIZE
fn dbsize(ctx: &mut Ctx<'_>) -> Result<()> {
    let db = ctx.db.db;
    let in_exec = ctx.db.holds_all();
    let mut n = 0;
    for s in 0..SHARDS {
        lock_one(&mut ctx.db, db, s);
        n += ctx.db.shard(db, s).len();
    }
    release(&mut ctx.db, in_exec);
    ctx.out.int(n as i64);
    Ok(())
}

/// `[ASYNC|SYNC]` of FLUSHDB and FLUSHALL; without it, `lazyfree-lazy-user-flush` decides.
fn parse_flush_async(ctx: &Ctx<'_>) -> Result<bool> {
    match ctx.args.len() {
        1 => Ok(ctx
            .engine
            .config
            .get("lazyfree-lazy-user-flush")
            .is_some_and(|v| v == "yes")),
        2 if ctx.arg_is(1, "sync") => Ok(false),
        2 if ctx.arg_is(1, "async") => Ok(true),
        _ => Err(Error::Syntax),
    }
}

/// Empties databases `dbs` atomically: every shard of them is locked at once, its contents
/// moved out, and the old contents freed after unlocking. Returns the number of keys removed.
fn flush_generic(ctx: &mut Ctx<'_>, dbs: std::ops::Range<usize>, lazy: bool) -> usize {
    let in_exec = ctx.db.holds_all();
    if !in_exec {
        if dbs.len() == ctx.engine.keyspace.len() {
            ctx.db.lock_all();
        } else {
            let pairs: Vec<(usize, usize)> = dbs
                .clone()
                .flat_map(|d| (0..SHARDS).map(move |s| (d, s)))
                .collect();
            ctx.db.lock_pairs(&pairs);
        }
    }
    // While the keys are still there (Redis's signalFlushedDb).
    for d in dbs.clone() {
        crate::multi::touch_db(&mut ctx.db, d, None);
    }
    let mut taken: Vec<Shard> = Vec::new();
    let mut removed = 0;
    for d in dbs {
        for s in 0..SHARDS {
            let old = ctx.db.shard(d, s).take();
            removed += old.len();
            if !old.is_empty() {
                taken.push(old);
            }
        }
    }
    release(&mut ctx.db, in_exec);
    if lazy {
        crate::lazyfree::free_later(taken);
    } else {
        drop(taken);
    }
    removed
}

// FLUSHDB [ASYNC | SYNC]
fn flushdb(ctx: &mut Ctx<'_>) -> Result<()> {
    let lazy = parse_flush_async(ctx)?;
    let db = ctx.db.db;
    let removed = flush_generic(ctx, db..db + 1, lazy);
    // Redis counts the keys removed, and propagates FLUSHDB even when the database was already
    // empty: the view only propagates a command that changed something, hence at least 1.
    ctx.db.dirty += removed.max(1) as u64;
    ctx.out.ok();
    Ok(())
}

// FLUSHALL [ASYNC | SYNC]
fn flushall(ctx: &mut Ctx<'_>) -> Result<()> {
    let lazy = parse_flush_async(ctx)?;
    let removed = flush_generic(ctx, 0..ctx.engine.keyspace.len(), lazy);
    ctx.db.dirty += removed as u64 + 1;
    ctx.out.ok();
    Ok(())
}

// SWAPDB index1 index2
fn swapdb(ctx: &mut Ctx<'_>) -> Result<()> {
    let first = parse_i64(word(ctx.args, 1))
        .and_then(|n| i32::try_from(n).ok())
        .ok_or(Error::msg("ERR invalid first DB index"))?;
    let second = parse_i64(word(ctx.args, 2))
        .and_then(|n| i32::try_from(n).ok())
        .ok_or(Error::msg("ERR invalid second DB index"))?;
    let databases = ctx.engine.keyspace.len();
    let (a, b) = match (usize::try_from(first), usize::try_from(second)) {
        (Ok(a), Ok(b)) if a < databases && b < databases => (a, b),
        _ => return Err(Error::DbIndexOutOfRange),
    };
    if a != b {
        let in_exec = ctx.db.holds_all();
        if !in_exec {
            let pairs: Vec<(usize, usize)> = (0..SHARDS).flat_map(|s| [(a, s), (b, s)]).collect();
            ctx.db.lock_pairs(&pairs);
        }
        // WATCHed keys existing in either database are touched (Redis's dbSwapDatabases).
        crate::multi::touch_db(&mut ctx.db, a, Some(b));
        crate::multi::touch_db(&mut ctx.db, b, Some(a));
        for s in 0..SHARDS {
            let mut tmp = ctx.db.shard(a, s).take();
            std::mem::swap(ctx.db.shard(b, s), &mut tmp);
            *ctx.db.shard(a, s) = tmp;
        }
        release(&mut ctx.db, in_exec);
        // Clients blocked on keys of either database may find them now.
        ctx.db.signal_db(a);
        ctx.db.signal_db(b);
    }
    ctx.db.dirty += 1;
    ctx.out.ok();
    Ok(())
}

/// Whether `maxmemory-policy` is one of the LFU policies.
fn lfu_policy(ctx: &Ctx<'_>) -> bool {
    ctx.engine.config.lfu_policy()
}

/// Redis's `LFUDecrAndReturn` at `now_ms` with `lfu-decay-time` `decay_minutes`.
fn lfu_counter(lru: u32, now_ms: u64, decay_minutes: u32) -> u64 {
    let lfu = crate::evict::Lfu {
        now_min: crate::evict::Lfu::minutes(now_ms),
        log_factor: 0,
        decay_time: decay_minutes,
    };
    u64::from(lfu.decayed(lru))
}

/// The live entry's fields an OBJECT subcommand needs, looked up without touching the key.
fn object_lookup<T>(ctx: &mut Ctx<'_>, f: impl FnOnce(&Entry) -> T) -> Option<T> {
    let db = ctx.db.db;
    object_peek(&mut ctx.db, db, word(ctx.args, 2), f)
}

// OBJECT ENCODING key
fn object_encoding(ctx: &mut Ctx<'_>) -> Result<()> {
    match object_lookup(ctx, |e| e.value.encoding()) {
        Some(enc) => ctx.out.bulk(enc.as_bytes()),
        None => ctx.out.null(),
    }
    Ok(())
}

// OBJECT FREQ key
fn object_freq(ctx: &mut Ctx<'_>) -> Result<()> {
    let Some(lru) = object_lookup(ctx, |e| e.lru()) else {
        ctx.out.null();
        return Ok(());
    };
    if !lfu_policy(ctx) {
        return Err(Error::msg("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
    }
    let decay = ctx.engine.config.memory().lfu_decay_time;
    let freq = lfu_counter(lru, ctx.db.now_ms, decay);
    ctx.out.int(freq as i64);
    Ok(())
}

// OBJECT IDLETIME key
fn object_idletime(ctx: &mut Ctx<'_>) -> Result<()> {
    let Some(lru) = object_lookup(ctx, |e| e.lru()) else {
        ctx.out.null();
        return Ok(());
    };
    if lfu_policy(ctx) {
        return Err(Error::msg("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
    }
    // The clock is 22 bits of seconds and wraps about every 48 days.
    let now = crate::engine::Engine::lru_clock(ctx.db.now_ms);
    let idle = crate::evict::idle_seconds(now, lru);
    ctx.out.int(i64::from(idle));
    Ok(())
}

// OBJECT REFCOUNT key
fn object_refcount(ctx: &mut Ctx<'_>) -> Result<()> {
    let Some(small_int) = object_lookup(
        ctx,
        |e| matches!(e.value, Value::Int(n) if (0..SHARED_INTEGERS).contains(&n)),
    ) else {
        ctx.out.null();
        return Ok(());
    };
    // Redis stores small integers as shared objects unless maxmemory is set with an LRU or LFU
    // policy (which needs a clock per key).
    let config = &ctx.engine.config;
    let per_key_clock = config.get("maxmemory").is_some_and(|m| m != "0")
        && config
            .get("maxmemory-policy")
            .is_some_and(|p| p.ends_with("-lru") || p.ends_with("-lfu"));
    ctx.out.int(if small_int && !per_key_clock {
        SHARED_REFCOUNT
    } else {
        1
    });
    Ok(())
}

// OBJECT HELP
fn object_help(ctx: &mut Ctx<'_>) -> Result<()> {
    crate::server::reply_help(ctx, OBJECT_HELP);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::engine::{unix_ms, Engine};
    use crate::keyspace::{new_entry, SEGMENT_MAX};
    use crate::stats::Stats;
    use crate::testkit::{bulk, int, Kit};

    /// Makes `key` of `db` expired without removing it (its deadline becomes 1 ms after epoch).
    fn force_expired(engine: &Engine, db: usize, key: &str) {
        let h = engine.keyspace.hasher.hash(key.as_bytes());
        let shard = engine.keyspace.db(db).unwrap().shard(shard_of(h));
        assert!(shard.lock().set_expire(h, key.as_bytes(), 1));
    }

    fn set_lru(engine: &Engine, key: &str, lru: u32) {
        let h = engine.keyspace.hasher.hash(key.as_bytes());
        let shard = engine.keyspace.db(0).unwrap().shard(shard_of(h));
        shard
            .lock()
            .get_mut(h, key.as_bytes())
            .unwrap()
            .set_lru(lru);
    }

    /// Inserts `key` straight into the keyspace (fast bulk loading for SCAN tests).
    fn insert_raw(engine: &Engine, key: &str) {
        let ks = &engine.keyspace;
        let h = ks.hasher.hash(key.as_bytes());
        let mut shard = ks.db(0).unwrap().shard(shard_of(h)).lock();
        shard.insert_new(
            &ks.hasher,
            h,
            new_entry(key.as_bytes(), Value::string(b"v"), 0, 0),
        );
    }

    /// Splits a RESP2 reply made of arrays and bulk strings into its bulk strings.
    fn bulks(reply: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut lines = reply.split("\r\n");
        while let Some(l) = lines.next() {
            if l.starts_with('$') && l != "$-1" {
                out.push(lines.next().unwrap().to_string());
            }
        }
        out
    }

    /// Runs one SCAN call; returns the next cursor and the keys.
    fn scan_once(k: &mut Kit, cursor: &str, extra: &[&str]) -> (String, Vec<String>) {
        let mut words = vec!["SCAN", cursor];
        words.extend_from_slice(extra);
        let reply = k.run(&words);
        assert!(reply.starts_with("*2\r\n"), "{reply}");
        let mut b = bulks(&reply);
        let cursor = b.remove(0);
        (cursor, b)
    }

    /// A full SCAN iteration; returns every key with how many times it was returned.
    fn scan_all(k: &mut Kit, extra: &[&str]) -> HashMap<String, usize> {
        let mut seen = HashMap::new();
        let mut cursor = "0".to_string();
        loop {
            let (next, keys) = scan_once(k, &cursor, extra);
            for key in keys {
                *seen.entry(key).or_insert(0) += 1;
            }
            if next == "0" {
                return seen;
            }
            cursor = next;
        }
    }

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    #[test]
    fn del_unlink_exists() {
        let mut k = Kit::new();
        for key in ["a", "b", "c"] {
            k.run(&["SET", key, "1"]);
        }
        // Duplicates count for EXISTS, not for DEL.
        assert_eq!(k.run(&["EXISTS", "a", "a", "nokey"]), int(2));
        assert_eq!(k.run(&["DEL", "a", "a", "nokey"]), int(1));
        assert_eq!(k.run(&["UNLINK", "b", "nokey"]), int(1));
        assert_eq!(k.run(&["EXISTS", "a", "b", "c"]), int(1));
        assert_eq!(
            k.run(&["DEL"]),
            "-ERR wrong number of arguments for 'del' command\r\n"
        );
        assert_eq!(
            k.run(&["EXISTS"]),
            "-ERR wrong number of arguments for 'exists' command\r\n"
        );
        // A big value goes through the background free path.
        let big = "x".repeat(LAZYFREE_THRESHOLD_BYTES + 1);
        k.run(&["SET", "big", &big]);
        assert_eq!(k.run(&["UNLINK", "big"]), int(1));
        assert_eq!(k.run(&["EXISTS", "big"]), int(0));
    }

    #[test]
    fn del_of_an_expired_key_counts_zero_and_propagates_del() {
        let mut k = Kit::new();
        let rec = k.record();
        k.run(&["SET", "a", "1"]);
        force_expired(&k.engine, 0, "a");
        assert_eq!(k.run(&["DEL", "a"]), int(0));
        assert_eq!(
            rec.lines_with_db(),
            vec![(0, "SET a 1".to_string()), (0, "DEL a".to_string())]
        );
        assert_eq!(Stats::get(&k.engine.stats.expired_keys), 1);
    }

    #[test]
    fn type_of_keys() {
        let mut k = Kit::new();
        k.run(&["SET", "a", "1"]);
        assert_eq!(k.run(&["TYPE", "a"]), "+string\r\n");
        assert_eq!(k.run(&["TYPE", "nokey"]), "+none\r\n");
        assert_eq!(
            k.run(&["TYPE", "a", "b"]),
            "-ERR wrong number of arguments for 'type' command\r\n"
        );
    }

    #[test]
    fn rename_and_renamenx() {
        let mut k = Kit::new();
        assert_eq!(k.run(&["RENAME", "nokey", "x"]), "-ERR no such key\r\n");
        assert_eq!(k.run(&["RENAME", "nokey", "nokey"]), "-ERR no such key\r\n");
        assert_eq!(k.run(&["RENAMENX", "nokey", "x"]), "-ERR no such key\r\n");
        k.run(&["SET", "a", "1"]);
        assert_eq!(k.run(&["RENAME", "a", "a"]), "+OK\r\n");
        assert_eq!(k.run(&["RENAMENX", "a", "a"]), int(0));
        // The TTL moves with the value.
        assert_eq!(k.run(&["PEXPIRE", "a", "100000"]), int(1));
        assert_eq!(k.run(&["RENAME", "a", "b"]), "+OK\r\n");
        assert_eq!(k.run(&["EXISTS", "a"]), int(0));
        assert_eq!(k.run(&["GET", "b"]), bulk("1"));
        assert_eq!(k.run(&["TTL", "b"]), int(100));
        // Overwriting a key with a TTL by one without: no TTL left (redis: ttl y -> -1).
        k.run(&["SET", "x", "1"]);
        k.run(&["SET", "y", "2"]);
        k.run(&["PEXPIRE", "y", "100000"]);
        assert_eq!(k.run(&["RENAME", "x", "y"]), "+OK\r\n");
        assert_eq!(k.run(&["TTL", "y"]), int(-1));
        assert_eq!(k.run(&["GET", "y"]), bulk("1"));
        // RENAMENX leaves an existing target alone.
        k.run(&["SET", "c", "3"]);
        assert_eq!(k.run(&["RENAMENX", "b", "c"]), int(0));
        assert_eq!(k.run(&["GET", "c"]), bulk("3"));
        assert_eq!(k.run(&["RENAMENX", "b", "d"]), int(1));
        assert_eq!(k.run(&["TTL", "d"]), int(100));
        assert_eq!(k.run(&["EXISTS", "b"]), int(0));
    }

    #[test]
    fn rename_propagation_and_dirty() {
        let mut k = Kit::new();
        let rec = k.record();
        k.run(&["SET", "a", "1"]);
        let dirty = Stats::get(&k.engine.stats.dirty);
        k.run(&["RENAME", "a", "a"]);
        k.run(&["RENAME", "a", "b"]);
        assert_eq!(Stats::get(&k.engine.stats.dirty), dirty + 1);
        assert_eq!(
            rec.lines_with_db(),
            vec![(0, "SET a 1".to_string()), (0, "RENAME a b".to_string())]
        );
    }

    #[test]
    fn copy_errors() {
        let mut k = Kit::new();
        k.run(&["SET", "a", "1"]);
        let same = "-ERR source and destination objects are the same\r\n";
        assert_eq!(k.run(&["COPY", "a", "a"]), same);
        assert_eq!(k.run(&["COPY", "a", "a", "DB", "0"]), same);
        assert_eq!(
            k.run(&["COPY", "a", "b", "DB", "16"]),
            "-ERR DB index is out of range\r\n"
        );
        assert_eq!(
            k.run(&["COPY", "a", "b", "db", "-1"]),
            "-ERR DB index is out of range\r\n"
        );
        assert_eq!(
            k.run(&["COPY", "a", "b", "DB", "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            k.run(&["COPY", "a", "b", "DB", "99999999999"]),
            "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
        );
        assert_eq!(
            k.run(&["COPY", "a", "b", "DB", "1", "DB", "99"]),
            "-ERR DB index is out of range\r\n"
        );
        assert_eq!(
            k.run(&["COPY", "a", "b", "REPLACE", "DB", "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(k.run(&["COPY", "a", "b", "DB"]), "-ERR syntax error\r\n");
        assert_eq!(k.run(&["COPY", "a", "b", "foo"]), "-ERR syntax error\r\n");
        assert_eq!(
            k.run(&["COPY", "a"]),
            "-ERR wrong number of arguments for 'copy' command\r\n"
        );
        assert_eq!(k.run(&["EXISTS", "b"]), int(0));
    }

    #[test]
    fn copy_same_and_other_db() {
        let mut k = Kit::new();
        k.run(&["SET", "hello", "world"]);
        k.run(&["PEXPIRE", "hello", "100000"]);
        assert_eq!(k.run(&["COPY", "nokey", "h3"]), int(0));
        assert_eq!(k.run(&["COPY", "hello", "h2"]), int(1));
        assert_eq!(k.run(&["COPY", "hello", "h2"]), int(0));
        assert_eq!(k.run(&["COPY", "hello", "h2", "replace"]), int(1));
        assert_eq!(k.run(&["GET", "h2"]), bulk("world"));
        assert_eq!(k.run(&["TTL", "h2"]), int(100));
        // The same name in another database is fine.
        assert_eq!(k.run(&["COPY", "hello", "hello", "DB", "1"]), int(1));
        assert_eq!(k.run(&["COPY", "hello", "hello", "DB", "1"]), int(0));
        k.run(&["SET", "hello", "again"]);
        assert_eq!(
            k.run(&["COPY", "hello", "hello", "db", "1", "REPLACE"]),
            int(1)
        );
        assert_eq!(k.run(&["SELECT", "1"]), "+OK\r\n");
        assert_eq!(k.run(&["GET", "hello"]), bulk("again"));
        assert_eq!(k.run(&["TTL", "hello"]), int(-1));
        assert_eq!(k.run(&["DBSIZE"]), int(1));
        // The copy is independent of its source.
        k.run(&["SELECT", "0"]);
        k.run(&["SET", "hello", "changed"]);
        k.run(&["SELECT", "1"]);
        assert_eq!(k.run(&["GET", "hello"]), bulk("again"));
    }

    #[test]
    fn copy_counts_its_source_lookup() {
        // Redis: copy a z -> hits 1; copy nokey z2 -> misses 1 (and no other lookup counts).
        let mut k = Kit::new();
        k.run(&["SET", "a", "1"]);
        let (h0, m0) = hits_misses(&k);
        k.run(&["COPY", "a", "z"]);
        k.run(&["COPY", "a", "z"]);
        k.run(&["COPY", "nokey", "z2"]);
        let (h1, m1) = hits_misses(&k);
        assert_eq!((h1 - h0, m1 - m0), (2, 1));
    }

    fn hits_misses(k: &Kit) -> (u64, u64) {
        (
            Stats::get(&k.engine.stats.keyspace_hits),
            Stats::get(&k.engine.stats.keyspace_misses),
        )
    }

    #[test]
    fn read_commands_count_hits_and_misses_once() {
        // Values observed with INFO stats on redis 7.0 after CONFIG RESETSTAT.
        let mut k = Kit::new();
        for key in ["a", "b", "c"] {
            k.run(&["SET", key, "1"]);
        }
        let cases: &[(&[&str], (u64, u64))] = &[
            (&["EXISTS", "a", "nokey", "a"], (2, 1)),
            (&["TYPE", "a"], (1, 0)),
            (&["TYPE", "nokey"], (0, 1)),
            (&["TOUCH", "a", "nokey"], (1, 1)),
            (&["OBJECT", "ENCODING", "a"], (1, 0)),
            (&["SCAN", "0"], (0, 0)),
            (&["SCAN", "0", "TYPE", "string"], (3, 0)),
            (&["SCAN", "0", "MATCH", "a", "TYPE", "string"], (1, 0)),
            (&["KEYS", "*"], (0, 0)),
            (&["RANDOMKEY"], (0, 0)),
            (&["DBSIZE"], (0, 0)),
            (&["RENAME", "a", "a2"], (0, 0)),
            (&["MOVE", "b", "1"], (0, 0)),
            (&["DEL", "z", "nokey"], (0, 0)),
        ];
        for (words, want) in cases {
            let (h0, m0) = hits_misses(&k);
            k.run(words);
            let (h1, m1) = hits_misses(&k);
            assert_eq!((h1 - h0, m1 - m0), *want, "{words:?}");
        }
    }

    #[test]
    fn move_between_dbs() {
        let mut k = Kit::new();
        k.run(&["SET", "a", "1"]);
        k.run(&["PEXPIRE", "a", "100000"]);
        assert_eq!(
            k.run(&["MOVE", "a", "0"]),
            "-ERR source and destination objects are the same\r\n"
        );
        assert_eq!(
            k.run(&["MOVE", "a", "16"]),
            "-ERR DB index is out of range\r\n"
        );
        assert_eq!(
            k.run(&["MOVE", "a", "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            k.run(&["MOVE", "a", "99999999999"]),
            "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
        );
        assert_eq!(k.run(&["MOVE", "nokey", "1"]), int(0));
        assert_eq!(k.run(&["MOVE", "a", "1"]), int(1));
        assert_eq!(k.run(&["EXISTS", "a"]), int(0));
        k.run(&["SET", "a", "2"]);
        // The target already has it: nothing moves.
        assert_eq!(k.run(&["MOVE", "a", "1"]), int(0));
        k.run(&["SELECT", "1"]);
        assert_eq!(k.run(&["GET", "a"]), bulk("1"));
        assert_eq!(k.run(&["TTL", "a"]), int(100));
    }

    #[test]
    fn keys_with_patterns() {
        let mut k = Kit::new();
        for key in ["hello", "hallo", "hxllo", "hllo", "heeeello", "", "a*b"] {
            k.run(&["SET", key, "1"]);
        }
        let keys = |k: &mut Kit, p: &str| sorted(bulks(&k.run(&["KEYS", p])));
        assert_eq!(keys(&mut k, "h?llo"), ["hallo", "hello", "hxllo"]);
        assert_eq!(
            keys(&mut k, "h*llo"),
            ["hallo", "heeeello", "hello", "hllo", "hxllo"]
        );
        assert_eq!(keys(&mut k, "h[ae]llo"), ["hallo", "hello"]);
        assert_eq!(keys(&mut k, "h[^e]llo"), ["hallo", "hxllo"]);
        assert_eq!(keys(&mut k, "h[a-b]llo"), ["hallo"]);
        assert_eq!(keys(&mut k, "a\\*b"), ["a*b"]);
        assert_eq!(keys(&mut k, "nothing*"), Vec::<String>::new());
        // Only the plain `*` matches the empty key (redis: KEYS * has 7, KEYS ** has 6).
        assert_eq!(keys(&mut k, "*").len(), 7);
        assert_eq!(keys(&mut k, "**").len(), 6);
        assert_eq!(k.run(&["KEYS", "nothing"]), "*0\r\n");
        // Expired keys are left out without being removed.
        force_expired(&k.engine, 0, "hello");
        assert_eq!(keys(&mut k, "h?llo"), ["hallo", "hxllo"]);
        assert_eq!(k.run(&["DBSIZE"]), int(7));
        assert_eq!(
            k.run(&["KEYS"]),
            "-ERR wrong number of arguments for 'keys' command\r\n"
        );
    }

    #[test]
    fn scan_argument_errors() {
        let mut k = Kit::new();
        k.run(&["SET", "a", "1"]);
        let invalid = "-ERR invalid cursor\r\n";
        for c in [" 0", "0x", "-", "+", "18446744073709551616", "x", "1 "] {
            assert_eq!(k.run(&["SCAN", c]), invalid, "{c:?}");
        }
        // strtoul accepts these (redis returns a full, one-call iteration for each).
        for c in ["", "-0", "+0", "-1"] {
            assert!(k.run(&["SCAN", c]).starts_with("*2\r\n"), "{c:?}");
        }
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(k.run(&["SCAN", "x", "COUNT", "0"]), invalid);
        let syntax = "-ERR syntax error\r\n";
        assert_eq!(k.run(&["SCAN", "0", "COUNT", "0"]), syntax);
        assert_eq!(k.run(&["SCAN", "0", "COUNT", "-1"]), syntax);
        assert_eq!(k.run(&["SCAN", "0", "COUNT", "1", "COUNT", "0"]), syntax);
        assert_eq!(k.run(&["SCAN", "0", "MATCH"]), syntax);
        assert_eq!(k.run(&["SCAN", "0", "foo", "bar"]), syntax);
        assert_eq!(k.run(&["SCAN", "0", "TYPE", "string", "TYPE"]), syntax);
        assert_eq!(
            k.run(&["SCAN", "0", "COUNT", "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            k.run(&["SCAN", "0", "count", "9223372036854775807"]),
            "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n"
        );
        assert_eq!(
            k.run(&["SCAN"]),
            "-ERR wrong number of arguments for 'scan' command\r\n"
        );
    }

    #[test]
    fn scan_match_and_type() {
        let mut k = Kit::new();
        for i in 0..300 {
            k.run(&["SET", &format!("key:{i}"), "1"]);
            k.run(&["SET", &format!("other:{i}"), "1"]);
        }
        k.run(&["SET", "", "empty"]);
        let seen = scan_all(&mut k, &["MATCH", "key:*", "COUNT", "7"]);
        assert_eq!(seen.len(), 300);
        assert!(seen
            .iter()
            .all(|(key, n)| key.starts_with("key:") && *n == 1));
        // `MATCH *` is no filter: the empty key is included (redis: scan 0 match * returns "").
        assert_eq!(scan_all(&mut k, &["MATCH", "*"]).len(), 601);
        assert_eq!(scan_all(&mut k, &["MATCH", "**"]).len(), 600);
        assert_eq!(scan_all(&mut k, &["TYPE", "STRING"]).len(), 601);
        assert_eq!(scan_all(&mut k, &["TYPE", "list"]).len(), 0);
        assert_eq!(scan_all(&mut k, &["TYPE", "foo"]).len(), 0);
        assert_eq!(
            scan_all(&mut k, &["MATCH", "other:1?", "TYPE", "string"]).len(),
            10
        );
    }

    #[test]
    fn scan_skips_and_expires_expired_keys() {
        let mut k = Kit::new();
        let rec = k.record();
        k.run(&["SET", "a", "1"]);
        k.run(&["SET", "b", "1"]);
        force_expired(&k.engine, 0, "a");
        let seen = scan_all(&mut k, &[]);
        assert_eq!(seen.keys().cloned().collect::<Vec<_>>(), ["b"]);
        assert_eq!(k.run(&["DBSIZE"]), int(1));
        assert!(rec.lines_with_db().contains(&(0, "DEL a".to_string())));
    }

    #[test]
    fn scan_returns_each_key_once_while_segments_split() {
        let mut k = Kit::new();
        // Enough keys that every shard's segments split several times during the iteration.
        let base = SHARDS * SEGMENT_MAX;
        for i in 0..base {
            insert_raw(&k.engine, &format!("base:{i}"));
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut cursor = "0".to_string();
        let mut added = 0;
        let mut calls = 0;
        loop {
            let (next, keys) = scan_once(&mut k, &cursor, &["COUNT", "1000"]);
            calls += 1;
            for key in keys {
                *seen.entry(key).or_insert(0) += 1;
            }
            for _ in 0..2000 {
                insert_raw(&k.engine, &format!("new:{added}"));
                added += 1;
            }
            if next == "0" {
                break;
            }
            cursor = next;
        }
        assert!(calls > 50, "{calls}");
        assert!(added + base > 2 * SHARDS * SEGMENT_MAX);
        for i in 0..base {
            assert_eq!(seen.get(&format!("base:{i}")), Some(&1), "base:{i}");
        }
        assert!(seen.values().all(|&n| n == 1));
    }

    #[test]
    fn scan_through_commands_with_writes_between_calls() {
        let mut k = Kit::new();
        for i in 0..3000 {
            k.run(&["SET", &format!("k{i}"), "1"]);
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut cursor = "0".to_string();
        let mut added = 0;
        loop {
            let (next, keys) = scan_once(&mut k, &cursor, &["COUNT", "25"]);
            for key in keys {
                *seen.entry(key).or_insert(0) += 1;
            }
            for _ in 0..10 {
                k.run(&["SET", &format!("n{added}"), "1"]);
                added += 1;
            }
            if next == "0" {
                break;
            }
            cursor = next;
        }
        for i in 0..3000 {
            assert_eq!(seen.get(&format!("k{i}")), Some(&1), "k{i}");
        }
        assert!(seen.values().all(|&n| n == 1));
    }

    #[test]
    fn randomkey_picks_live_keys() {
        let mut k = Kit::new();
        assert_eq!(k.run(&["RANDOMKEY"]), "$-1\r\n");
        k.run(&["SET", "only", "1"]);
        assert_eq!(k.run(&["RANDOMKEY"]), bulk("only"));
        for i in 0..200 {
            k.run(&["SET", &format!("k{i}"), "1"]);
        }
        let mut distinct = std::collections::HashSet::new();
        for _ in 0..50 {
            distinct.insert(k.run(&["RANDOMKEY"]));
        }
        assert!(distinct.len() > 10);
        // Expired keys are expired as they are drawn; with only those, the reply is null.
        k.run(&["FLUSHALL"]);
        for i in 0..20 {
            let key = format!("e{i}");
            k.run(&["SET", &key, "1"]);
            force_expired(&k.engine, 0, &key);
        }
        assert_eq!(k.run(&["RANDOMKEY"]), "$-1\r\n");
        assert_eq!(k.run(&["DBSIZE"]), int(0));
        k.run(&["SET", "live", "1"]);
        force_expired(&k.engine, 0, "live");
        k.run(&["SET", "live2", "1"]);
        assert_eq!(k.run(&["RANDOMKEY"]), bulk("live2"));
    }

    #[test]
    fn touch_and_dbsize() {
        let mut k = Kit::new();
        assert_eq!(k.run(&["DBSIZE"]), int(0));
        k.run(&["SET", "hello", "1"]);
        k.run(&["SET", "x", "1"]);
        assert_eq!(k.run(&["TOUCH", "hello", "hello", "nokey"]), int(2));
        assert_eq!(k.run(&["DBSIZE"]), int(2));
        assert_eq!(
            k.run(&["DBSIZE", "x"]),
            "-ERR wrong number of arguments for 'dbsize' command\r\n"
        );
        // TOUCH refreshes the access clock.
        set_lru(&k.engine, "hello", 0);
        k.run(&["TOUCH", "hello"]);
        assert_eq!(k.run(&["OBJECT", "IDLETIME", "hello"]), int(0));
    }

    #[test]
    fn flushdb_and_flushall() {
        let mut k = Kit::new();
        let rec = k.record();
        assert_eq!(k.run(&["FLUSHALL", "foo"]), "-ERR syntax error\r\n");
        assert_eq!(
            k.run(&["FLUSHALL", "sync", "async"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(k.run(&["FLUSHDB", "now"]), "-ERR syntax error\r\n");
        // Redis propagates FLUSHDB even on an empty database.
        assert_eq!(k.run(&["FLUSHDB"]), "+OK\r\n");
        assert_eq!(rec.lines_with_db(), vec![(0, "FLUSHDB".to_string())]);
        for i in 0..100 {
            k.run(&["SET", &format!("k{i}"), "1"]);
        }
        k.run(&["SELECT", "3"]);
        k.run(&["SET", "in3", "1"]);
        assert_eq!(k.run(&["FLUSHDB", "ASYNC"]), "+OK\r\n");
        assert_eq!(k.run(&["DBSIZE"]), int(0));
        k.run(&["SET", "in3", "1"]);
        k.run(&["SELECT", "0"]);
        assert_eq!(k.run(&["DBSIZE"]), int(100));
        let dirty = Stats::get(&k.engine.stats.dirty);
        assert_eq!(k.run(&["FLUSHALL", "sync"]), "+OK\r\n");
        // Redis: the keys removed, plus one.
        assert_eq!(Stats::get(&k.engine.stats.dirty), dirty + 102);
        assert_eq!(k.run(&["DBSIZE"]), int(0));
        k.run(&["SELECT", "3"]);
        assert_eq!(k.run(&["DBSIZE"]), int(0));
        k.run(&["SET", "x", "1"]);
        assert_eq!(k.run(&["FLUSHALL", "ASYNC"]), "+OK\r\n");
        assert_eq!(k.run(&["DBSIZE"]), int(0));
        assert_eq!(k.run(&["SET", "y", "1"]), "+OK\r\n");
        assert_eq!(k.run(&["DBSIZE"]), int(1));
    }

    #[test]
    fn swapdb_swaps() {
        let mut k = Kit::new();
        assert_eq!(
            k.run(&["SWAPDB", "0", "x"]),
            "-ERR invalid second DB index\r\n"
        );
        assert_eq!(
            k.run(&["SWAPDB", "x", "0"]),
            "-ERR invalid first DB index\r\n"
        );
        assert_eq!(
            k.run(&["SWAPDB", "99999999999", "0"]),
            "-ERR invalid first DB index\r\n"
        );
        assert_eq!(
            k.run(&["SWAPDB", "0", "16"]),
            "-ERR DB index is out of range\r\n"
        );
        assert_eq!(
            k.run(&["SWAPDB", "-1", "0"]),
            "-ERR DB index is out of range\r\n"
        );
        assert_eq!(
            k.run(&["SWAPDB", "0", "1", "2"]),
            "-ERR wrong number of arguments for 'swapdb' command\r\n"
        );
        assert_eq!(k.run(&["SWAPDB", "0", "0"]), "+OK\r\n");
        for i in 0..50 {
            k.run(&["SET", &format!("zero{i}"), "0"]);
        }
        k.run(&["PEXPIRE", "zero1", "100000"]);
        k.run(&["SELECT", "1"]);
        k.run(&["SET", "one", "1"]);
        assert_eq!(k.run(&["SWAPDB", "0", "1"]), "+OK\r\n");
        assert_eq!(k.run(&["DBSIZE"]), int(50));
        assert_eq!(k.run(&["TTL", "zero1"]), int(100));
        assert_eq!(k.run(&["GET", "one"]), "$-1\r\n");
        k.run(&["SELECT", "0"]);
        assert_eq!(k.run(&["DBSIZE"]), int(1));
        assert_eq!(k.run(&["GET", "one"]), bulk("1"));
        assert_eq!(k.engine.keyspace_summary(), vec![(0, 1, 0), (1, 50, 1)]);
    }

    #[test]
    fn object_subcommands() {
        let mut k = Kit::new();
        // Byte for byte what redis 7.0 sends.
        assert_eq!(
            k.run(&["object", "help"]),
            "*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n\
             +ENCODING <key>\r\n\
             +    Return the kind of internal representation used in order to store the value\r\n\
             +    associated with a <key>.\r\n\
             +FREQ <key>\r\n\
             +    Return the access frequency index of the <key>. The returned integer is\r\n\
             +    proportional to the logarithm of the recent access frequency of the key.\r\n\
             +IDLETIME <key>\r\n\
             +    Return the idle time of the <key>, that is the approximated number of\r\n\
             +    seconds elapsed since the last access to the key.\r\n\
             +REFCOUNT <key>\r\n\
             +    Return the number of references of the value associated with the specified\r\n\
             +    <key>.\r\n\
             +HELP\r\n\
             +    Prints this help.\r\n"
        );
        assert_eq!(
            k.run(&["OBJECT"]),
            "-ERR wrong number of arguments for 'object' command\r\n"
        );
        assert_eq!(
            k.run(&["OBJECT", "HELP", "x"]),
            "-ERR wrong number of arguments for 'object|help' command\r\n"
        );
        assert_eq!(
            k.run(&["OBJECT", "foo"]),
            "-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n"
        );
        assert_eq!(
            k.run(&["OBJECT", "encoding"]),
            "-ERR wrong number of arguments for 'object|encoding' command\r\n"
        );
        for sub in ["ENCODING", "REFCOUNT", "IDLETIME", "FREQ"] {
            assert_eq!(k.run(&["OBJECT", sub, "nokey"]), "$-1\r\n", "{sub}");
        }
        k.run(&["SET", "int", "1"]);
        k.run(&["SET", "d", "9999"]);
        k.run(&["SET", "b", "10000"]);
        k.run(&["SET", "neg", "-1"]);
        k.run(&["SET", "hello", "world"]);
        k.run(&["SET", "big", &"a".repeat(69)]);
        assert_eq!(k.run(&["OBJECT", "ENCODING", "int"]), bulk("int"));
        assert_eq!(k.run(&["OBJECT", "ENCODING", "hello"]), bulk("embstr"));
        assert_eq!(k.run(&["OBJECT", "ENCODING", "big"]), bulk("raw"));
        for (key, refs) in [
            ("int", 2147483647),
            ("d", 2147483647),
            ("b", 1),
            ("neg", 1),
            ("hello", 1),
            ("big", 1),
        ] {
            assert_eq!(k.run(&["OBJECT", "REFCOUNT", key]), int(refs), "{key}");
        }
        // maxmemory with an LRU policy: integers are not shared.
        let engine = k.engine.clone();
        let set = |name: &str, value: &str| engine.config.set(name, value, false).unwrap();
        set("maxmemory", "100mb");
        set("maxmemory-policy", "allkeys-lru");
        assert_eq!(k.run(&["OBJECT", "REFCOUNT", "int"]), int(1));
        set("maxmemory-policy", "volatile-ttl");
        assert_eq!(k.run(&["OBJECT", "REFCOUNT", "int"]), int(2147483647));
        set("maxmemory", "0");
        set("maxmemory-policy", "noeviction");
        assert_eq!(
            k.run(&["OBJECT", "FREQ", "hello"]),
            "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
        );
    }

    #[test]
    fn object_idletime_is_not_an_access() {
        let mut k = Kit::new();
        k.run(&["SET", "a", "1"]);
        assert_eq!(k.run(&["OBJECT", "IDLETIME", "a"]), int(0));
        let now = Engine::lru_clock(unix_ms());
        set_lru(&k.engine, "a", now - 100);
        for words in [
            &["TYPE", "a"][..],
            &["EXISTS", "a"],
            &["TTL", "a"],
            &["OBJECT", "ENCODING", "a"],
            &["SCAN", "0"],
            &["KEYS", "*"],
        ] {
            k.run(words);
        }
        let idle = k.run(&["OBJECT", "IDLETIME", "a"]);
        assert!(idle == int(100) || idle == int(101), "{idle}");
        k.run(&["GET", "a"]);
        assert_eq!(k.run(&["OBJECT", "IDLETIME", "a"]), int(0));
        // The clock wraps.
        set_lru(&k.engine, "a", (now + 10) & crate::value::CLOCK_MAX);
        let idle = k.run(&["OBJECT", "IDLETIME", "a"]);
        assert!(idle.starts_with(':') && idle != int(0));
        k.engine
            .config
            .set("maxmemory-policy", "allkeys-lfu", false)
            .unwrap();
        assert_eq!(
            k.run(&["OBJECT", "IDLETIME", "a"]),
            "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
        );
    }

    #[test]
    fn object_freq_decays() {
        let mut k = Kit::new();
        k.run(&["SET", "a", "hello"]);
        k.engine
            .config
            .set("maxmemory-policy", "volatile-lfu", false)
            .unwrap();
        let max = crate::evict::LFU_MINUTES_MAX;
        let minutes = ((unix_ms() / 60_000) & max as u64) as u32;
        set_lru(&k.engine, "a", (minutes << 8) | 5);
        assert_eq!(k.run(&["OBJECT", "FREQ", "a"]), int(5));
        set_lru(&k.engine, "a", (minutes.wrapping_sub(3) & max) << 8 | 5);
        assert_eq!(k.run(&["OBJECT", "FREQ", "a"]), int(2));
        // The minute clock wrapped: max - 10 + 0 minutes have passed.
        assert_eq!(lfu_counter((10 << 8) | 200, 0, 1), 0);
        assert_eq!(lfu_counter((max << 8) | 200, 60_000 * 5, 1), 195);
        assert_eq!(lfu_counter(((max - 5) << 8) | 20, 60_000 * 4, 2), 20 - 4);
        assert_eq!(lfu_counter((1 << 8) | 20, 60_000 * 100, 0), 20);
    }

    /// Runs one command the way EXEC will: with every shard of every database already held.
    /// Checks the handler kept them all (a whole-database walk must not trade them for one).
    fn run_holding_all(k: &mut Kit, words: &[&str]) -> String {
        let args: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
        let engine = k.engine.clone();
        let cmd = engine.commands.get(args[0]).unwrap();
        let mut out = flint_protocol::ReplyWriter::new(false);
        let mut view = DbView::new(&engine.keyspace, k.sess.db, unix_ms(), None);
        view.count_reads = cmd.has(crate::cmd::flags::READONLY);
        view.lock_all();
        let mut ctx = Ctx {
            engine: &engine,
            cmd,
            sess: &mut k.sess,
            args: &args,
            out: &mut out,
            db: view,
            action: None,
            rewrite: None,
        };
        let result = (cmd.def.handler)(&mut ctx);
        assert!(ctx.db.holds_all(), "{words:?} released locks");
        ctx.db.unlock();
        if let Err(e) = result {
            ctx.out.error(&e.to_string());
        }
        drop(ctx);
        String::from_utf8_lossy(&out.buffer()[..]).into_owned()
    }

    #[test]
    fn whole_database_commands_under_exec_keep_every_lock() {
        let mut k = Kit::new();
        k.run(&["SET", "a", "1"]);
        k.run(&["SET", "b", "2"]);
        assert_eq!(
            sorted(bulks(&run_holding_all(&mut k, &["KEYS", "*"]))),
            ["a", "b"]
        );
        let scan = run_holding_all(&mut k, &["SCAN", "0", "COUNT", "1000"]);
        assert_eq!(sorted(bulks(&scan)), ["0", "a", "b"]);
        assert_eq!(run_holding_all(&mut k, &["DBSIZE"]), int(2));
        assert!(run_holding_all(&mut k, &["RANDOMKEY"]).starts_with("$1\r\n"));
        assert_eq!(
            run_holding_all(&mut k, &["COPY", "a", "c", "DB", "1"]),
            int(1)
        );
        assert_eq!(run_holding_all(&mut k, &["MOVE", "b", "1"]), int(1));
        assert_eq!(run_holding_all(&mut k, &["SWAPDB", "0", "1"]), "+OK\r\n");
        assert_eq!(run_holding_all(&mut k, &["DBSIZE"]), int(2));
        assert_eq!(run_holding_all(&mut k, &["FLUSHDB"]), "+OK\r\n");
        assert_eq!(run_holding_all(&mut k, &["DBSIZE"]), int(0));
        k.run(&["SELECT", "1"]);
        assert_eq!(k.run(&["DBSIZE"]), int(1));
        assert_eq!(run_holding_all(&mut k, &["FLUSHALL", "ASYNC"]), "+OK\r\n");
        assert_eq!(k.run(&["DBSIZE"]), int(0));
    }
}
