//! String commands, as Redis 7.0's `t_string.c`: GET/SET and its variants (SETNX, SETEX, PSETEX,
//! GETSET, GETDEL, GETEX), MGET/MSET/MSETNX, APPEND, STRLEN, GETRANGE/SUBSTR, SETRANGE, the
//! integer and float counters, and LCS.
//!
//! Shared variants funnel into one routine each: SET/SETNX/SETEX/PSETEX/GETSET into
//! `set_generic`, INCR/DECR/INCRBY/DECRBY into `incr_generic`, MSET/MSETNX into
//! `mset_generic`. SET and GETEX options are parsed by one routine, `parse_options`, with
//! Redis's exact rules for which options may be combined.
//!
//! Invariants kept here:
//! - Every argument is validated before anything is written or changed, and errors come in
//!   Redis's order (SET checks its expire time before the GET type check; GETEX looks the key up
//!   before it checks its expire time, so a missing key with a bad time replies nil).
//! - Values are stored the way Redis encodes them, so OBJECT ENCODING agrees: SET/MSET/APPEND on
//!   a new key through [`Value::string`], counters as [`Value::Int`], INCRBYFLOAT results as plain
//!   strings (`embstr`), and strings grown in place (APPEND, SETRANGE) as `raw`.
//! - Counters and INCRBYFLOAT change the value in place and keep the key's TTL; SET (without
//!   KEEPTTL), GETSET and MSET clear it.
//! - Relative or non-deterministic writes are propagated in absolute form: SET with any expiry
//!   and SETEX/PSETEX as `SET key value PXAT ms`, SET ... GET without the GET words, GETSET as
//!   SET, GETEX as PEXPIREAT/PERSIST/DEL, GETDEL as DEL, INCRBYFLOAT as `SET key value KEEPTTL`.

use bytes::Bytes;

use crate::cmd::{def, keys, CommandDef};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::notify;
use crate::small::SmallBytes;
use crate::util::{incr_by_float, parse_i64};
use crate::value::Value;

/// The string commands.
#[rustfmt::skip]
pub static COMMANDS: &[CommandDef] = &[
    def("get", 2, "readonly fast", keys(1, 1, 1), "@read @string", "string", "Get the value of a key", "1.0.0", get)
        .key_flags("RO access")
        .complexity("O(1)"),
    def("set", -3, "write denyoom", keys(1, 1, 1), "@write @string", "string", "Set the string value of a key", "1.0.0", set)
        .key_flags("RW access update variable_flags")
        .key_notes("RW and ACCESS due to the optional `GET` argument")
        .complexity("O(1)")
        .history(&[("2.6.12", "Added the `EX`, `PX`, `NX` and `XX` options."), ("6.0.0", "Added the `KEEPTTL` option."), ("6.2.0", "Added the `GET`, `EXAT` and `PXAT` option."), ("7.0.0", "Allowed the `NX` and `GET` options to be used together.")])
        .variable_key_flags(|args| if args.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"get")) { "RW access update" } else { "OW update" }),
    def("setnx", 3, "write denyoom fast", keys(1, 1, 1), "@write @string", "string", "Set the value of a key, only if the key does not exist", "1.0.0", setnx)
        .key_flags("OW insert")
        .complexity("O(1)"),
    def("setex", 4, "write denyoom", keys(1, 1, 1), "@write @string", "string", "Set the value and expiration of a key", "2.0.0", setex)
        .key_flags("OW update")
        .complexity("O(1)"),
    def("psetex", 4, "write denyoom", keys(1, 1, 1), "@write @string", "string", "Set the value and expiration in milliseconds of a key", "2.6.0", psetex)
        .key_flags("OW update")
        .complexity("O(1)"),
    def("getset", 3, "write denyoom fast", keys(1, 1, 1), "@write @string", "string", "Set the string value of a key and return its old value", "1.0.0", getset)
        .key_flags("RW access update")
        .complexity("O(1)")
        .deprecated("6.2.0", "`SET` with the `!GET` argument"),
    def("getdel", 2, "write fast", keys(1, 1, 1), "@write @string", "string", "Get the value of a key and delete the key", "6.2.0", getdel)
        .key_flags("RW access delete")
        .complexity("O(1)"),
    def("getex", -2, "write fast", keys(1, 1, 1), "@write @string", "string", "Get the value of a key and optionally set its expiration", "6.2.0", getex)
        .key_flags("RW access update")
        .key_notes("RW and UPDATE because it changes the TTL")
        .complexity("O(1)"),
    def("mget", -2, "readonly fast", keys(1, -1, 1), "@read @string", "string", "Get the values of all the given keys", "1.0.0", mget)
        .key_flags("RO access")
        .tips("request_policy:multi_shard")
        .complexity("O(N) where N is the number of keys to retrieve."),
    def("mset", -3, "write denyoom", keys(1, -1, 2), "@write @string", "string", "Set multiple keys to multiple values", "1.0.1", mset)
        .key_flags("OW update")
        .tips("request_policy:multi_shard response_policy:all_succeeded")
        .complexity("O(N) where N is the number of keys to set."),
    def("msetnx", -3, "write denyoom", keys(1, -1, 2), "@write @string", "string", "Set multiple keys to multiple values, only if none of the keys exist", "1.0.1", msetnx)
        .key_flags("OW insert")
        .tips("request_policy:multi_shard response_policy:agg_min")
        .complexity("O(N) where N is the number of keys to set."),
    def("append", 3, "write denyoom fast", keys(1, 1, 1), "@write @string", "string", "Append a value to a key", "2.0.0", append)
        .key_flags("RW insert")
        .complexity("O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation."),
    def("strlen", 2, "readonly fast", keys(1, 1, 1), "@read @string", "string", "Get the length of the value stored in a key", "2.2.0", strlen)
        .key_flags("RO")
        .complexity("O(1)"),
    def("getrange", 4, "readonly", keys(1, 1, 1), "@read @string", "string", "Get a substring of the string stored at a key", "2.4.0", getrange)
        .key_flags("RO access")
        .complexity("O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings."),
    def("substr", 4, "readonly", keys(1, 1, 1), "@read @string", "string", "Get a substring of the string stored at a key", "1.0.0", getrange)
        .key_flags("RO access")
        .complexity("O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.")
        .deprecated("2.0.0", "`GETRANGE`"),
    def("setrange", 4, "write denyoom", keys(1, 1, 1), "@write @string", "string", "Overwrite part of a string at key starting at the specified offset", "2.2.0", setrange)
        .key_flags("RW update")
        .complexity("O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument."),
    def("incr", 2, "write denyoom fast", keys(1, 1, 1), "@write @string", "string", "Increment the integer value of a key by one", "1.0.0", incr)
        .key_flags("RW access update")
        .complexity("O(1)"),
    def("decr", 2, "write denyoom fast", keys(1, 1, 1), "@write @string", "string", "Decrement the integer value of a key by one", "1.0.0", decr)
        .key_flags("RW access update")
        .complexity("O(1)"),
    def("incrby", 3, "write denyoom fast", keys(1, 1, 1), "@write @string", "string", "Increment the integer value of a key by the given amount", "1.0.0", incrby)
        .key_flags("RW access update")
        .complexity("O(1)"),
    def("decrby", 3, "write denyoom fast", keys(1, 1, 1), "@write @string", "string", "Decrement the integer value of a key by the given number", "1.0.0", decrby)
        .key_flags("RW access update")
        .complexity("O(1)"),
    def("incrbyfloat", 3, "write denyoom fast", keys(1, 1, 1), "@write @string", "string", "Increment the float value of a key by the given amount", "2.6.0", incrbyfloat)
        .key_flags("RW access update")
        .complexity("O(1)"),
    def("lcs", -3, "readonly", keys(1, 2, 1), "@read @string", "string", "Find longest common substring", "7.0.0", lcs)
        .key_flags("RO access")
        .complexity("O(N*M) where N and M are the lengths of s1 and s2, respectively"),
];

/// Argument `i` (empty if absent, which the arity checks rule out). Taking the argument slice
/// rather than `ctx` lets a handler hold a key while it borrows `ctx.db` and `ctx.out`.
#[inline]
fn arg<'a>(args: &[&'a [u8]], i: usize) -> &'a [u8] {
    args.get(i).copied().unwrap_or_default()
}

/// A propagation record from its parts.
fn record(parts: &[&[u8]]) -> Vec<Bytes> {
    parts.iter().map(|p| Bytes::copy_from_slice(p)).collect()
}

/// Whether option argument `a` is `word`, compared as Redis's C code does: ignoring ASCII case
/// and only up to the argument's first NUL byte (`"NX\0junk"` is NX to Redis).
fn is_word(a: &[u8], word: &str) -> bool {
    let end = a.iter().position(|&b| b == 0).unwrap_or(a.len());
    a.get(..end)
        .is_some_and(|w| w.eq_ignore_ascii_case(word.as_bytes()))
}

/// Redis's `checkStringLength`: a string may not grow past `proto-max-bulk-len`.
fn check_len(ctx: &Ctx<'_>, size: u64, append: u64) -> Result<()> {
    let max = ctx.engine.config.settings().proto_max_bulk_len.max(0) as u128;
    if u128::from(size) + u128::from(append) > max {
        return Err(Error::StringTooLong);
    }
    Ok(())
}

/// Replies with a string value, or nil for a missing key. The caller has checked the type.
fn reply_value(out: &mut crate::ReplyWriter, v: Option<&Value>) {
    match v.and_then(Value::as_str_bytes) {
        Some(b) => out.bulk(&b),
        None => out.null(),
    }
}

/// An expiry option of SET or GETEX.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expire {
    /// Seconds from now.
    Ex,
    /// Milliseconds from now.
    Px,
    /// Absolute Unix seconds.
    ExAt,
    /// Absolute Unix milliseconds.
    PxAt,
}

impl Expire {
    fn from_word(a: &[u8]) -> Option<Expire> {
        [
            ("ex", Expire::Ex),
            ("px", Expire::Px),
            ("exat", Expire::ExAt),
            ("pxat", Expire::PxAt),
        ]
        .into_iter()
        .find(|(w, _)| is_word(a, w))
        .map(|(_, e)| e)
    }
}

/// Options of SET (and of its variants, which fix them) and of GETEX.
#[derive(Default, Debug)]
struct Options {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    /// The expiry option and the index of its time argument.
    expire: Option<(Expire, usize)>,
}

/// Parses SET options (`for_set`, from argument 3) or GETEX options (from argument 2) as
/// Redis's `parseExtendedStringArgumentsOrReply`. An option conflicting with one already seen
/// is a syntax error, but repeating one is not (`EX 1 EX 2` means EX 2; `NX NX` is NX).
fn parse_options(args: &[&[u8]], for_set: bool) -> Result<Options> {
    let mut o = Options::default();
    let mut j = if for_set { 3 } else { 2 };
    while j < args.len() {
        let opt = arg(args, j);
        let has_next = j + 1 < args.len();
        let kind = o.expire.map(|(k, _)| k);
        if for_set && is_word(opt, "nx") && !o.xx {
            o.nx = true;
        } else if for_set && is_word(opt, "xx") && !o.nx {
            o.xx = true;
        } else if for_set && is_word(opt, "get") {
            o.get = true;
        } else if for_set && is_word(opt, "keepttl") && kind.is_none() {
            o.keepttl = true;
        } else if !for_set && is_word(opt, "persist") && kind.is_none() {
            o.persist = true;
        } else {
            match Expire::from_word(opt) {
                Some(k) if has_next && !o.keepttl && !o.persist && kind.unwrap_or(k) == k => {
                    o.expire = Some((k, j + 1));
                    j += 1;
                }
                _ => return Err(Error::Syntax),
            }
        }
        j += 1;
    }
    Ok(o)
}

/// The absolute expiry in Unix ms that an expiry option asks for, checked as Redis's
/// `getExpireMillisecondsOrReply`: the time must be a positive integer, and neither the
/// conversion to ms nor adding "now" to a relative time may overflow.
fn expire_at_ms(ctx: &Ctx<'_>, kind: Expire, idx: usize) -> Result<u64> {
    let n = parse_i64(arg(ctx.args, idx)).ok_or(Error::NotInteger)?;
    let invalid = || Error::InvalidExpire(ctx.cmd.full_name.clone());
    if n <= 0 {
        return Err(invalid());
    }
    let ms = match kind {
        Expire::Ex | Expire::ExAt => n.checked_mul(1000).ok_or_else(invalid)?,
        Expire::Px | Expire::PxAt => n,
    };
    let ms = match kind {
        Expire::Ex | Expire::Px => {
            let now = i64::try_from(ctx.db.now_ms).map_err(|_| invalid())?;
            ms.checked_add(now).ok_or_else(invalid)?
        }
        Expire::ExAt | Expire::PxAt => ms,
    };
    Ok(ms as u64)
}

/// A fixed reply of the SET family.
#[derive(Clone, Copy)]
enum Reply {
    Ok,
    Null,
    Int(i64),
}

impl Reply {
    fn write(self, out: &mut crate::ReplyWriter) {
        match self {
            Reply::Ok => out.ok(),
            Reply::Null => out.null(),
            Reply::Int(n) => out.int(n),
        }
    }
}

/// SET and its variants (Redis's `setGenericCommand`): stores argument `value_idx` under the key
/// as `opts` says, replying `ok` when it did and `abort` when NX/XX stopped it (with GET, the old
/// value is the reply either way).
fn set_generic(
    ctx: &mut Ctx<'_>,
    opts: &Options,
    value_idx: usize,
    ok: Reply,
    abort: Reply,
) -> Result<()> {
    let args = ctx.args;
    let key = arg(args, 1);
    let value = arg(args, value_idx);
    let expire_at = match opts.expire {
        Some((kind, i)) => Some(expire_at_ms(ctx, kind, i)?),
        None => None,
    };
    // A plain SET needs no lookup before it overwrites: the upsert below is its only probe.
    let needs_lookup = opts.get || opts.nx || opts.xx || opts.keepttl;
    let (found, is_string, old_ttl) = match needs_lookup.then(|| ctx.db.entry(key)).flatten() {
        Some(e) => (true, e.value.is_string(), e.expire_at()),
        None => (false, false, 0),
    };
    if opts.get {
        ctx.db.count_read(key, found);
        if found && !is_string {
            return Err(Error::WrongType);
        }
    }
    if (opts.nx && found) || (opts.xx && !found) {
        if opts.get {
            reply_value(ctx.out, ctx.db.get(key).map(|v| &*v));
        } else {
            abort.write(ctx.out);
        }
        return Ok(());
    }
    let ttl = match expire_at {
        Some(ms) => ms,
        None if opts.keepttl => old_ttl,
        None => 0,
    };
    let old = ctx.db.set(key, Value::string(value), ttl);
    // As Redis: GET's reply, then the events, then SET's own reply.
    if opts.get {
        reply_value(ctx.out, old.as_ref());
    }
    ctx.notify(notify::STRING, "set", key);
    if expire_at.is_some() {
        ctx.notify(notify::GENERIC, "expire", key);
    }
    if !opts.get {
        ok.write(ctx.out);
    }
    if let Some(v) = old {
        ctx.db.discard(v);
    }
    if !ctx.engine.propagating() {
        return Ok(());
    }
    if let Some(ms) = expire_at {
        ctx.propagate_as(vec![record(&[
            b"SET",
            key,
            value,
            b"PXAT",
            itoa::Buffer::new().format(ms).as_bytes(),
        ])]);
    } else if opts.get {
        // Replicas must not see GET (it is not a write); it may be repeated.
        let record = args
            .iter()
            .enumerate()
            .filter(|(j, a)| *j < 3 || !is_word(a, "get"))
            .map(|(_, a)| Bytes::copy_from_slice(a))
            .collect();
        ctx.propagate_as(vec![record]);
    }
    Ok(())
}

// GET key
fn get(ctx: &mut Ctx<'_>) -> Result<()> {
    let key = arg(ctx.args, 1);
    match ctx.db.get(key) {
        None => ctx.out.null(),
        Some(v) => match v.as_str_bytes() {
            Some(b) => ctx.out.bulk(&b),
            None => return Err(Error::WrongType),
        },
    }
    Ok(())
}

// SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]
fn set(ctx: &mut Ctx<'_>) -> Result<()> {
    let opts = parse_options(ctx.args, true)?;
    set_generic(ctx, &opts, 2, Reply::Ok, Reply::Null)
}

// SETNX key value
fn setnx(ctx: &mut Ctx<'_>) -> Result<()> {
    let opts = Options {
        nx: true,
        ..Options::default()
    };
    set_generic(ctx, &opts, 2, Reply::Int(1), Reply::Int(0))
}

// SETEX key seconds value
fn setex(ctx: &mut Ctx<'_>) -> Result<()> {
    let opts = Options {
        expire: Some((Expire::Ex, 2)),
        ..Options::default()
    };
    set_generic(ctx, &opts, 3, Reply::Ok, Reply::Null)
}

// PSETEX key milliseconds value
fn psetex(ctx: &mut Ctx<'_>) -> Result<()> {
    let opts = Options {
        expire: Some((Expire::Px, 2)),
        ..Options::default()
    };
    set_generic(ctx, &opts, 3, Reply::Ok, Reply::Null)
}

// GETSET key value
fn getset(ctx: &mut Ctx<'_>) -> Result<()> {
    let opts = Options {
        get: true,
        ..Options::default()
    };
    set_generic(ctx, &opts, 2, Reply::Ok, Reply::Null)?;
    if ctx.engine.propagating() {
        ctx.propagate_as(vec![record(&[b"SET", arg(ctx.args, 1), arg(ctx.args, 2)])]);
    }
    Ok(())
}

// GETDEL key
fn getdel(ctx: &mut Ctx<'_>) -> Result<()> {
    let key = arg(ctx.args, 1);
    let state = ctx.db.entry(key).map(|e| e.value.is_string());
    ctx.db.count_read(key, state.is_some());
    match state {
        None => ctx.out.null(),
        Some(false) => return Err(Error::WrongType),
        Some(true) => {
            if let Some(e) = ctx.db.remove(key) {
                reply_value(ctx.out, Some(&e.value));
                ctx.db.discard(e.value);
                ctx.notify(notify::GENERIC, "del", key);
                if ctx.engine.propagating() {
                    ctx.propagate_as(vec![record(&[b"DEL", key])]);
                }
            }
        }
    }
    Ok(())
}

// GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]
fn getex(ctx: &mut Ctx<'_>) -> Result<()> {
    let opts = parse_options(ctx.args, false)?;
    let key = arg(ctx.args, 1);
    // Checked only once the key is known to be a live string, as Redis does.
    let expire_at = opts
        .expire
        .map(|(kind, i)| expire_at_ms(ctx, kind, i))
        .transpose();
    let had_ttl = match ctx.db.entry(key) {
        None => {
            ctx.db.count_read(key, false);
            ctx.out.null();
            return Ok(());
        }
        Some(e) => e.value.is_string().then_some(e.expire_at() != 0),
    };
    ctx.db.count_read(key, true);
    let had_ttl = had_ttl.ok_or(Error::WrongType)?;
    let expire_at = expire_at?;
    reply_value(ctx.out, ctx.db.get(key).map(|v| &*v));
    let absolute = matches!(opts.expire, Some((Expire::ExAt | Expire::PxAt, _)));
    let record = match expire_at {
        Some(ms) if absolute && ms <= ctx.db.now_ms => {
            if let Some(e) = ctx.db.remove(key) {
                ctx.db.discard(e.value);
            }
            ctx.notify(notify::GENERIC, "del", key);
            record(&[b"DEL", key])
        }
        Some(ms) => {
            ctx.db.set_expire_in(ctx.db.db, key, ms);
            ctx.db.modified(key);
            ctx.notify(notify::GENERIC, "expire", key);
            record(&[b"PEXPIREAT", key, itoa::Buffer::new().format(ms).as_bytes()])
        }
        None if opts.persist && had_ttl => {
            ctx.db.set_expire_in(ctx.db.db, key, 0);
            ctx.db.modified(key);
            ctx.notify(notify::GENERIC, "persist", key);
            record(&[b"PERSIST", key])
        }
        None => return Ok(()),
    };
    if ctx.engine.propagating() {
        ctx.propagate_as(vec![record]);
    }
    Ok(())
}

// MGET key [key ...]
fn mget(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let keys = args.get(1..).unwrap_or_default();
    ctx.out.array(keys.len());
    for key in keys {
        // Keys of other types read as nil rather than failing the whole command.
        reply_value(ctx.out, ctx.db.get(key).map(|v| &*v));
    }
    Ok(())
}

/// MSET and MSETNX (Redis's `msetGenericCommand`). With `nx`, nothing is set if any key exists.
fn mset_generic(ctx: &mut Ctx<'_>, nx: bool) -> Result<()> {
    let args = ctx.args;
    // An even count (with the name) means a key without a value.
    if args.len() % 2 != 1 {
        return Err(Error::WrongArity(ctx.cmd.full_name.clone()));
    }
    let pairs = args.get(1..).unwrap_or_default();
    if nx && pairs.iter().step_by(2).any(|k| ctx.db.entry(k).is_some()) {
        ctx.out.int(0);
        return Ok(());
    }
    for pair in pairs.chunks_exact(2) {
        if let [key, value] = pair {
            if let Some(old) = ctx.db.set(key, Value::string(value), 0) {
                ctx.db.discard(old);
            }
            ctx.notify(notify::STRING, "set", key);
        }
    }
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

// MSET key value [key value ...]
fn mset(ctx: &mut Ctx<'_>) -> Result<()> {
    mset_generic(ctx, false)
}

// MSETNX key value [key value ...]
fn msetnx(ctx: &mut Ctx<'_>) -> Result<()> {
    mset_generic(ctx, true)
}

// APPEND key value
fn append(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let (key, tail) = (arg(args, 1), arg(args, 2));
    let current = match ctx.db.get(key) {
        Some(v) => Some(v.str_len().ok_or(Error::WrongType)?),
        None => None,
    };
    let total = match current {
        None => {
            // A new key is stored as SET would store it (possibly `int` encoded).
            let db = ctx.db.db;
            ctx.db.insert_new_in(db, key, Value::string(tail), 0);
            tail.len()
        }
        Some(len) => {
            check_len(ctx, len as u64, tail.len() as u64)?;
            let buf = ctx
                .db
                .get(key)
                .and_then(Value::make_raw)
                .ok_or(Error::WrongType)?;
            buf.extend_from_slice(tail);
            let total = buf.len();
            ctx.db.modified(key);
            total
        }
    };
    ctx.notify(notify::STRING, "append", key);
    ctx.out.int(total as i64);
    Ok(())
}

// STRLEN key
fn strlen(ctx: &mut Ctx<'_>) -> Result<()> {
    let key = arg(ctx.args, 1);
    let len = match ctx.db.get(key) {
        Some(v) => v.str_len().ok_or(Error::WrongType)?,
        None => 0,
    };
    ctx.out.int(len as i64);
    Ok(())
}

/// The inclusive byte range GETRANGE returns for `start..=end` of a `len`-byte string, with
/// Redis's rules: negative indexes count from the end, both are clamped into the string, and a
/// pair of negative indexes in the wrong order is empty even when clamping would make it not.
fn byte_range(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let n = i64::try_from(len).ok()?;
    // n is at most proto-max-bulk-len, so n + (negative i64) cannot overflow.
    let start = if start < 0 { n + start } else { start }.max(0);
    let end = if end < 0 { n + end } else { end }.max(0).min(n - 1);
    if start > end || n == 0 {
        return None;
    }
    Some((usize::try_from(start).ok()?, usize::try_from(end).ok()?))
}

// GETRANGE key start end (and SUBSTR key start end)
fn getrange(ctx: &mut Ctx<'_>) -> Result<()> {
    let start = ctx.arg_i64(2)?;
    let end = ctx.arg_i64(3)?;
    let key = arg(ctx.args, 1);
    match ctx.db.get(key) {
        None => ctx.out.bulk(b""),
        Some(v) => {
            let bytes = v.as_str_bytes().ok_or(Error::WrongType)?;
            let part = byte_range(bytes.len(), start, end).and_then(|(s, e)| bytes.get(s..=e));
            ctx.out.bulk(part.unwrap_or_default());
        }
    }
    Ok(())
}

// SETRANGE key offset value
fn setrange(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let (key, patch) = (arg(args, 1), arg(args, 3));
    let offset = ctx.arg_i64(2)?;
    let offset = u64::try_from(offset).map_err(|_| Error::msg("ERR offset is out of range"))?;
    let current = match ctx.db.get(key) {
        Some(v) => Some(v.str_len().ok_or(Error::WrongType)?),
        None => None,
    };
    if patch.is_empty() {
        // Nothing to write: no key is created and no length is checked.
        ctx.out.int(current.unwrap_or(0) as i64);
        return Ok(());
    }
    check_len(ctx, offset, patch.len() as u64)?;
    // check_len bounds offset + len by proto-max-bulk-len, so these fit in usize.
    let start = usize::try_from(offset).map_err(|_| Error::StringTooLong)?;
    let end = start + patch.len();
    let total = match current {
        None => {
            let mut buf = vec![0u8; end];
            if let Some(dst) = buf.get_mut(start..end) {
                dst.copy_from_slice(patch);
            }
            let db = ctx.db.db;
            ctx.db.insert_new_in(db, key, Value::Raw(Box::new(buf)), 0);
            end
        }
        Some(_) => {
            let buf = ctx
                .db
                .get(key)
                .and_then(Value::make_raw)
                .ok_or(Error::WrongType)?;
            if buf.len() < end {
                buf.resize(end, 0);
            }
            if let Some(dst) = buf.get_mut(start..end) {
                dst.copy_from_slice(patch);
            }
            let total = buf.len();
            ctx.db.modified(key);
            total
        }
    };
    ctx.notify(notify::STRING, "setrange", key);
    ctx.out.int(total as i64);
    Ok(())
}

/// INCR, DECR, INCRBY and DECRBY (Redis's `incrDecrCommand`): adds `incr` to the key's integer
/// value (0 when missing), keeping its TTL, and replies the result.
fn incr_generic(ctx: &mut Ctx<'_>, incr: i64) -> Result<()> {
    let key = arg(ctx.args, 1);
    // One probe whether the key exists or not (a counter is usually created by its first INCR).
    let (entry, created) = ctx.db.get_or_insert(key, || Value::Int(incr));
    if created {
        ctx.notify(notify::STRING, "incrby", key);
        ctx.out.int(incr);
        return Ok(());
    }
    let current = match &entry.value {
        Value::Int(n) => *n,
        other => {
            let bytes = other.as_str_bytes().ok_or(Error::WrongType)?;
            parse_i64(&bytes).ok_or(Error::NotInteger)?
        }
    };
    let n = current.checked_add(incr).ok_or(Error::Overflow)?;
    entry.value = Value::Int(n);
    ctx.db.modified(key);
    ctx.notify(notify::STRING, "incrby", key);
    ctx.out.int(n);
    Ok(())
}

// INCR key
fn incr(ctx: &mut Ctx<'_>) -> Result<()> {
    incr_generic(ctx, 1)
}

// DECR key
fn decr(ctx: &mut Ctx<'_>) -> Result<()> {
    incr_generic(ctx, -1)
}

// INCRBY key increment
fn incrby(ctx: &mut Ctx<'_>) -> Result<()> {
    let by = ctx.arg_i64(2)?;
    incr_generic(ctx, by)
}

// DECRBY key decrement
fn decrby(ctx: &mut Ctx<'_>) -> Result<()> {
    let by = ctx.arg_i64(2)?;
    // -i64::MIN does not exist.
    let by = by
        .checked_neg()
        .ok_or(Error::msg("ERR decrement would overflow"))?;
    incr_generic(ctx, by)
}

// INCRBYFLOAT key increment
fn incrbyfloat(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    let (key, by) = (arg(args, 1), arg(args, 2));
    let float_err = |e: crate::util::FloatError| Error::msg(e.message());
    let result = match ctx.db.get(key) {
        Some(v) => {
            let sum = {
                let current = v.as_str_bytes().ok_or(Error::WrongType)?;
                incr_by_float(Some(&current), by).map_err(float_err)?
            };
            // Redis stores the formatted result as a plain string, never `int` encoded.
            *v = Value::Str(SmallBytes::new(&sum));
            ctx.db.modified(key);
            sum
        }
        None => {
            let sum = incr_by_float(None, by).map_err(float_err)?;
            let db = ctx.db.db;
            ctx.db
                .insert_new_in(db, key, Value::Str(SmallBytes::new(&sum)), 0);
            sum
        }
    };
    ctx.notify(notify::STRING, "incrbyfloat", key);
    ctx.out.bulk(&result);
    if ctx.engine.propagating() {
        // Float formatting must not be redone elsewhere: replicas get the final value.
        ctx.propagate_as(vec![record(&[b"SET", key, &result, b"KEEPTTL"])]);
    }
    Ok(())
}

/// One matching range found by LCS IDX: `[a_start, a_end, b_start, b_end, len]`.
type LcsMatch = [u32; 5];

// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]
fn lcs(ctx: &mut Ctx<'_>) -> Result<()> {
    let args = ctx.args;
    // Both keys are looked up before either type is checked, as Redis does.
    let a = ctx
        .db
        .get(arg(args, 1))
        .map(|v| v.as_str_bytes().map(|b| b.to_vec()));
    let b = ctx
        .db
        .get(arg(args, 2))
        .map(|v| v.as_str_bytes().map(|b| b.to_vec()));
    let (a, b) = match (a, b) {
        (Some(None), _) | (_, Some(None)) => {
            return Err(Error::msg(
                "ERR The specified keys must contain string values",
            ))
        }
        (a, b) => (
            a.flatten().unwrap_or_default(),
            b.flatten().unwrap_or_default(),
        ),
    };
    let (mut get_len, mut get_idx, mut with_match_len) = (false, false, false);
    let mut min_match_len: i64 = 0;
    let mut j = 3;
    while j < args.len() {
        let opt = arg(args, j);
        if is_word(opt, "idx") {
            get_idx = true;
        } else if is_word(opt, "len") {
            get_len = true;
        } else if is_word(opt, "withmatchlen") {
            with_match_len = true;
        } else if is_word(opt, "minmatchlen") && j + 1 < args.len() {
            min_match_len = ctx.arg_i64(j + 1)?.max(0);
            j += 1;
        } else {
            return Err(Error::Syntax);
        }
        j += 1;
    }
    if get_len && get_idx {
        return Err(Error::msg(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    let (alen, blen) = match (u32::try_from(a.len()), u32::try_from(b.len())) {
        (Ok(x), Ok(y)) if x < u32::MAX - 1 && y < u32::MAX - 1 => (x as usize, y as usize),
        _ => return Err(Error::msg("ERR String too long for LCS")),
    };
    // The O(n*m) table is the real cost: Redis refuses it past proto-max-bulk-len.
    let cells = (alen as u64 + 1) * (blen as u64 + 1);
    let max = ctx.engine.config.settings().proto_max_bulk_len.max(0) as u64;
    let too_big = !matches!(cells.checked_mul(4), Some(bytes) if bytes <= max);
    if too_big {
        return Err(Error::msg(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let failed =
        || Error::msg("ERR Insufficient memory, failed allocating transient memory for LCS");
    let cells = usize::try_from(cells).map_err(|_| failed())?;
    let mut table: Vec<u32> = Vec::new();
    table.try_reserve_exact(cells).map_err(|_| failed())?;
    table.resize(cells, 0);
    let (total, common, matches) =
        lcs_compute(&a, &b, &mut table, get_idx || !get_len, min_match_len);
    if get_idx {
        ctx.out.map(2);
        ctx.out.bulk(b"matches");
        ctx.out.array(matches.len());
        for m in &matches {
            ctx.out.array(if with_match_len { 3 } else { 2 });
            ctx.out.array(2);
            ctx.out.int(i64::from(m[0]));
            ctx.out.int(i64::from(m[1]));
            ctx.out.array(2);
            ctx.out.int(i64::from(m[2]));
            ctx.out.int(i64::from(m[3]));
            if with_match_len {
                ctx.out.int(i64::from(m[4]));
            }
        }
        ctx.out.bulk(b"len");
        ctx.out.int(i64::from(total));
    } else if get_len {
        ctx.out.int(i64::from(total));
    } else {
        ctx.out.bulk(&common);
    }
    Ok(())
}

/// Fills the `(len(a)+1) x (len(b)+1)` dynamic-programming `table` (zeroed on entry) and, when
/// `walk`, walks it back from the end to build the common subsequence and its matching ranges of
/// at least `min_match_len` (0: all), last ranges first. Returns the LCS length, the subsequence
/// and the ranges.
///
/// The walk reproduces Redis's exactly (on a mismatch it moves in `a` only when that keeps a
/// strictly longer LCS), so the same ranges come out in the same order.
fn lcs_compute(
    a: &[u8],
    b: &[u8],
    table: &mut [u32],
    walk: bool,
    min_match_len: i64,
) -> (u32, Vec<u8>, Vec<LcsMatch>) {
    let w = b.len() + 1;
    for (i, &ca) in a.iter().enumerate() {
        let (done, rest) = table.split_at_mut((i + 1) * w);
        let (Some(prev), Some(row)) = (done.get(i * w..), rest.get_mut(..w)) else {
            break;
        };
        let mut left = 0u32;
        for (jj, &cb) in b.iter().enumerate() {
            let up = prev.get(jj + 1).copied().unwrap_or(0);
            let diag = prev.get(jj).copied().unwrap_or(0);
            let v = if ca == cb { diag + 1 } else { up.max(left) };
            if let Some(cell) = row.get_mut(jj + 1) {
                *cell = v;
            }
            left = v;
        }
    }
    let at = |i: usize, j: usize| table.get(i * w + j).copied().unwrap_or(0);
    let (alen, blen) = (a.len(), b.len());
    let total = at(alen, blen);
    let mut matches = Vec::new();
    if !walk {
        return (total, Vec::new(), matches);
    }
    let mut common = vec![0u8; total as usize];
    let mut idx = total as usize;
    // `a_start == alen` means "no range in progress".
    let (mut a_start, mut a_end, mut b_start, mut b_end) = (alen, 0usize, 0usize, 0usize);
    let (mut i, mut j) = (alen, blen);
    while i > 0 && j > 0 {
        let mut emit = false;
        let ca = a.get(i - 1).copied();
        if ca.is_some() && ca == b.get(j - 1).copied() {
            if let (Some(slot), Some(c)) = (idx.checked_sub(1).and_then(|k| common.get_mut(k)), ca)
            {
                *slot = c;
            }
            if a_start == alen {
                (a_start, a_end, b_start, b_end) = (i - 1, i - 1, j - 1, j - 1);
            } else if a_start == i && b_start == j {
                a_start -= 1;
                b_start -= 1;
            } else {
                emit = true;
            }
            if a_start == 0 || b_start == 0 {
                emit = true;
            }
            idx = idx.saturating_sub(1);
            i -= 1;
            j -= 1;
        } else {
            if at(i - 1, j) > at(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            if a_start != alen {
                emit = true;
            }
        }
        if emit {
            let len = a_end.wrapping_sub(a_start).wrapping_add(1);
            if min_match_len == 0 || len as i64 >= min_match_len {
                matches.push([a_start, a_end, b_start, b_end, len].map(|x| x as u32));
            }
            a_start = alen;
        }
    }
    (total, common, matches)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    //! Expected replies were observed from redis-server 7.0.15 (raw RESP over a socket); the
    //! propagated forms from the AOF it wrote for the same commands.

    use proptest::prelude::*;

    use crate::ctx::DbView;
    use crate::engine::unix_ms;
    use crate::testkit::{bulk, int, Kit};

    const OK: &str = "+OK\r\n";
    const NIL: &str = "$-1\r\n";
    const EMPTY: &str = "$0\r\n\r\n";
    const SYNTAX: &str = "-ERR syntax error\r\n";
    const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
    const WRONGTYPE: &str =
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    const TOO_BIG: &str = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";

    fn invalid_expire(cmd: &str) -> String {
        format!("-ERR invalid expire time in '{cmd}' command\r\n")
    }

    /// The key's absolute expiry (0: none), or None if it does not exist.
    fn expire_of(k: &Kit, key: &str) -> Option<u64> {
        let mut view = DbView::new(&k.engine.keyspace, 0, unix_ms(), None);
        view.lock_keys(0, [key.as_bytes()]);
        view.entry(key.as_bytes()).map(|e| e.expire_at())
    }

    /// The key's OBJECT ENCODING.
    fn encoding_of(k: &Kit, key: &str) -> Option<&'static str> {
        let mut view = DbView::new(&k.engine.keyspace, 0, unix_ms(), None);
        view.lock_keys(0, [key.as_bytes()]);
        view.entry(key.as_bytes()).map(|e| e.value.encoding())
    }

    /// Stores a non-string value under `key` with whichever collection command exists. False
    /// while no collection type is in the table (WRONGTYPE checks are then skipped).
    fn make_non_string(k: &mut Kit, key: &str) -> bool {
        let tries: [&[&str]; 4] = [
            &["RPUSH", key, "x"],
            &["SADD", key, "x"],
            &["HSET", key, "f", "v"],
            &["ZADD", key, "1", "x"],
        ];
        tries.iter().any(|c| k.run(c) == ":1\r\n")
    }

    fn words(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn set_option_combinations() {
        let mut k = Kit::new();
        let cases: &[(&[&str], &str)] = &[
            (&["SET", "k", "v"], OK),
            (&["SET", "k", "v", "NX"], NIL),
            (&["SET", "k", "v", "xx"], OK),
            (&["SET", "k", "v", "nx", "xx"], SYNTAX),
            (&["SET", "k", "v", "xx", "nx"], SYNTAX),
            (&["SET", "k", "v", "nx", "nx"], NIL),
            (&["SET", "k", "v", "ex", "10", "ex", "20"], OK),
            (&["SET", "k", "v", "ex", "10", "px", "20"], SYNTAX),
            (&["SET", "k", "v", "keepttl", "ex", "10"], SYNTAX),
            (&["SET", "k", "v", "ex", "10", "keepttl"], SYNTAX),
            (&["SET", "k", "v", "pxat", "10", "exat", "20"], SYNTAX),
            (&["SET", "k", "v", "keepttl", "keepttl"], OK),
            (&["SET", "k", "v", "persist"], SYNTAX),
            (&["SET", "k", "v", "ex"], SYNTAX),
            (&["SET", "k", "v", ""], SYNTAX),
            (&["SET", "k", "v", "nx\0zz"], NIL),
            (&["SET", "k", "v", "ex", "abc", "nx", "xx"], SYNTAX),
            (&["SET", "k", "v", "ex", "abc"], NOT_INT),
            (&["SET", "k", "v", "exat", "9223372036854775"], OK),
            (&["SET", "k", "v", "pxat", "9223372036854775807"], OK),
        ];
        for (cmd, want) in cases {
            assert_eq!(k.run(cmd), *want, "{cmd:?}");
        }
        for (cmd, time) in [
            ("ex", "0"),
            ("ex", "-1"),
            ("px", "0"),
            ("exat", "0"),
            ("pxat", "0"),
            ("ex", "9223372036854775"),
            ("ex", "9223372036854775807"),
            ("px", "9223372036854775807"),
            ("px", "9223372036854000000"),
            ("exat", "9223372036854776"),
        ] {
            assert_eq!(
                k.run(&["SET", "k", "v", cmd, time]),
                invalid_expire("set"),
                "{cmd} {time}"
            );
        }
    }

    #[test]
    fn set_get_option() {
        let mut k = Kit::new();
        assert_eq!(k.run(&["SET", "k", "v"]), OK);
        assert_eq!(k.run(&["SET", "k", "v", "get"]), bulk("v"));
        assert_eq!(k.run(&["SET", "k", "v2", "get", "nx"]), bulk("v"));
        assert_eq!(k.run(&["GET", "k"]), bulk("v"));
        assert_eq!(k.run(&["SET", "k", "v3", "get", "xx"]), bulk("v"));
        assert_eq!(k.run(&["SET", "k", "v4", "GET", "get"]), bulk("v3"));
        assert_eq!(k.run(&["SET", "nokey", "v", "get", "xx"]), NIL);
        assert_eq!(k.run(&["GET", "nokey"]), NIL);
        assert_eq!(k.run(&["SET", "nokey", "v", "get", "nx"]), NIL);
        assert_eq!(k.run(&["GET", "nokey"]), bulk("v"));
        // Integers come back as their decimal text.
        assert_eq!(k.run(&["SET", "n", "-12"]), OK);
        assert_eq!(k.run(&["SET", "n", "x", "GET"]), bulk("-12"));
    }

    #[test]
    fn set_ttl_handling() {
        let mut k = Kit::new();
        let before = unix_ms();
        assert_eq!(k.run(&["SET", "k", "v", "EX", "100"]), OK);
        let at = expire_of(&k, "k").unwrap();
        assert!(at >= before + 100_000 && at <= unix_ms() + 100_000);
        assert_eq!(k.run(&["SET", "k", "w", "KEEPTTL"]), OK);
        assert_eq!(expire_of(&k, "k"), Some(at));
        assert_eq!(k.run(&["SET", "k", "w"]), OK);
        assert_eq!(expire_of(&k, "k"), Some(0));
        assert_eq!(k.run(&["SET", "k", "v", "PX", "100000"]), OK);
        assert!(expire_of(&k, "k").unwrap() >= before + 100_000);
        assert_eq!(k.run(&["SET", "k", "v", "EXAT", "99999999999"]), OK);
        assert_eq!(expire_of(&k, "k"), Some(99_999_999_999_000));
        assert_eq!(k.run(&["SET", "k", "v", "PXAT", "9999999999999"]), OK);
        assert_eq!(expire_of(&k, "k"), Some(9_999_999_999_999));
        // A time already past still replies OK, and the key is gone.
        assert_eq!(k.run(&["SET", "k", "v", "PXAT", "1"]), OK);
        assert_eq!(k.run(&["GET", "k"]), NIL);
        assert_eq!(k.run(&["SET", "k", "v", "EXAT", "1"]), OK);
        assert_eq!(expire_of(&k, "k"), None);
        // KEEPTTL on a new key sets none.
        assert_eq!(k.run(&["SET", "n", "v", "KEEPTTL"]), OK);
        assert_eq!(expire_of(&k, "n"), Some(0));
    }

    #[test]
    fn set_variants() {
        let mut k = Kit::new();
        for (cmd, time) in [
            ("setex", "0"),
            ("setex", "-1"),
            ("setex", "9223372036854775"),
        ] {
            assert_eq!(k.run(&[cmd, "k", time, "v"]), invalid_expire("setex"));
        }
        for (cmd, time) in [("psetex", "0"), ("psetex", "9223372036854775807")] {
            assert_eq!(k.run(&[cmd, "k", time, "v"]), invalid_expire("psetex"));
        }
        assert_eq!(k.run(&["SETEX", "k", "abc", "v"]), NOT_INT);
        assert_eq!(k.run(&["PSETEX", "k", "abc", "v"]), NOT_INT);
        assert_eq!(k.run(&["GET", "k"]), NIL);
        let before = unix_ms();
        assert_eq!(k.run(&["SETEX", "k", "100", "v"]), OK);
        assert!(expire_of(&k, "k").unwrap() >= before + 100_000);
        assert_eq!(k.run(&["PSETEX", "k", "5000", "w"]), OK);
        let at = expire_of(&k, "k").unwrap();
        assert!(at >= before + 5000 && at <= unix_ms() + 5000);
        assert_eq!(k.run(&["GET", "k"]), bulk("w"));
        assert_eq!(k.run(&["SETNX", "k", "v"]), int(0));
        assert_eq!(k.run(&["SETNX", "k2", "v"]), int(1));
        assert_eq!(k.run(&["SETNX", "k2", "w"]), int(0));
        assert_eq!(k.run(&["GET", "k2"]), bulk("v"));
        assert_eq!(
            k.run(&["SETEX", "k", "100"]),
            "-ERR wrong number of arguments for 'setex' command\r\n"
        );
    }

    #[test]
    fn getset_getdel() {
        let mut k = Kit::new();
        assert_eq!(k.run(&["GETSET", "k", "v"]), NIL);
        assert_eq!(k.run(&["GETSET", "k", "w"]), bulk("v"));
        assert_eq!(k.run(&["SET", "e", "v", "EX", "100"]), OK);
        assert_eq!(k.run(&["GETSET", "e", "w"]), bulk("v"));
        assert_eq!(expire_of(&k, "e"), Some(0));
        assert_eq!(k.run(&["GETDEL", "nokey"]), NIL);
        assert_eq!(k.run(&["GETDEL", "k"]), bulk("w"));
        assert_eq!(k.run(&["GET", "k"]), NIL);
        assert_eq!(k.run(&["GETDEL", "k"]), NIL);
    }

    #[test]
    fn getex_options_and_errors() {
        let mut k = Kit::new();
        let cases: &[(&[&str], &str)] = &[
            (&["GETEX", "nokey"], NIL),
            // The key is looked up before the time is checked.
            (&["GETEX", "nokey", "ex", "-1"], NIL),
            (&["GETEX", "nokey", "ex", "abc"], NIL),
            (&["GETEX", "nokey", "foo"], SYNTAX),
            (&["GETEX", "nokey", "persist", "ex", "10"], SYNTAX),
            (&["GETEX", "nokey", "ex", "10", "persist"], SYNTAX),
            (&["GETEX", "nokey", "keepttl"], SYNTAX),
            (&["GETEX", "nokey", "nx"], SYNTAX),
            (&["GETEX", "nokey", "get"], SYNTAX),
            (&["GETEX", "nokey", "ex"], SYNTAX),
            (&["GETEX", "nokey", "ex", "10", "ex", "20"], NIL),
            (&["GETEX", "nokey", "persist", "persist"], NIL),
            (&["SET", "k", "v"], OK),
            (&["GETEX", "k", "ex", "abc"], NOT_INT),
        ];
        for (cmd, want) in cases {
            assert_eq!(k.run(cmd), *want, "{cmd:?}");
        }
        assert_eq!(k.run(&["GETEX", "k", "ex", "0"]), invalid_expire("getex"));
        assert_eq!(
            k.run(&["GETEX", "k", "px", "9223372036854775807"]),
            invalid_expire("getex")
        );
        assert_eq!(expire_of(&k, "k"), Some(0));
        let before = unix_ms();
        assert_eq!(k.run(&["GETEX", "k", "EX", "100"]), bulk("v"));
        assert!(expire_of(&k, "k").unwrap() >= before + 100_000);
        assert_eq!(k.run(&["GETEX", "k", "PXAT", "9999999999999"]), bulk("v"));
        assert_eq!(expire_of(&k, "k"), Some(9_999_999_999_999));
        assert_eq!(k.run(&["GETEX", "k"]), bulk("v"));
        assert_eq!(expire_of(&k, "k"), Some(9_999_999_999_999));
        assert_eq!(k.run(&["GETEX", "k", "PERSIST"]), bulk("v"));
        assert_eq!(expire_of(&k, "k"), Some(0));
        // An absolute time already past deletes the key, after replying its value.
        assert_eq!(k.run(&["GETEX", "k", "pxat", "1"]), bulk("v"));
        assert_eq!(expire_of(&k, "k"), None);
        assert_eq!(k.run(&["SET", "k", "v"]), OK);
        assert_eq!(k.run(&["GETEX", "k", "exat", "1"]), bulk("v"));
        assert_eq!(expire_of(&k, "k"), None);
    }

    #[test]
    fn mget_mset_msetnx() {
        let mut k = Kit::new();
        assert_eq!(
            k.run(&["MSET", "a", "1", "b"]),
            "-ERR wrong number of arguments for 'mset' command\r\n"
        );
        assert_eq!(
            k.run(&["MSETNX", "a", "1", "b"]),
            "-ERR wrong number of arguments for 'msetnx' command\r\n"
        );
        assert_eq!(
            k.run(&["MGET"]),
            "-ERR wrong number of arguments for 'mget' command\r\n"
        );
        assert_eq!(k.run(&["SET", "a", "x", "EX", "100"]), OK);
        assert_eq!(k.run(&["MSET", "a", "1", "b", "2"]), OK);
        assert_eq!(expire_of(&k, "a"), Some(0));
        assert_eq!(k.run(&["MSETNX", "a", "1", "c", "3"]), int(0));
        assert_eq!(k.run(&["GET", "c"]), NIL);
        assert_eq!(k.run(&["MSETNX", "c", "3", "c", "4"]), int(1));
        assert_eq!(
            k.run(&["MGET", "a", "b", "c", "nokey"]),
            "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n4\r\n$-1\r\n"
        );
        k.out.set_resp3(true);
        assert_eq!(k.run(&["MGET", "nokey", "a"]), "*2\r\n_\r\n$1\r\n1\r\n");
    }

    #[test]
    fn append_and_strlen() {
        let mut k = Kit::new();
        assert_eq!(k.run(&["APPEND", "n1", "123"]), int(3));
        assert_eq!(encoding_of(&k, "n1"), Some("int"));
        assert_eq!(k.run(&["APPEND", "n1", "4"]), int(4));
        assert_eq!(encoding_of(&k, "n1"), Some("raw"));
        assert_eq!(k.run(&["GET", "n1"]), bulk("1234"));
        assert_eq!(k.run(&["APPEND", "n2", "hello"]), int(5));
        assert_eq!(encoding_of(&k, "n2"), Some("embstr"));
        assert_eq!(k.run(&["APPEND", "n2", ""]), int(5));
        assert_eq!(k.run(&["STRLEN", "n2"]), int(5));
        assert_eq!(k.run(&["STRLEN", "nokey"]), int(0));
        assert_eq!(k.run(&["SET", "i", "12345"]), OK);
        assert_eq!(k.run(&["STRLEN", "i"]), int(5));
        assert_eq!(k.run(&["SET", "t", "v", "EX", "100"]), OK);
        let at = expire_of(&k, "t");
        assert_eq!(k.run(&["APPEND", "t", "x"]), int(2));
        assert_eq!(expire_of(&k, "t"), at);
    }

    #[test]
    fn length_limits() {
        let mut k = Kit::new();
        assert_eq!(k.run(&["SETRANGE", "sr", "536870912", "x"]), TOO_BIG);
        assert_eq!(
            k.run(&["SETRANGE", "sr", "9223372036854775807", "x"]),
            TOO_BIG
        );
        assert_eq!(
            k.run(&["SETRANGE", "sr", "9223372036854775808", "x"]),
            NOT_INT
        );
        k.engine
            .config
            .set("proto-max-bulk-len", "1mb", false)
            .unwrap();
        assert_eq!(k.run(&["SETRANGE", "r", "1048575", "x"]), int(1_048_576));
        assert_eq!(k.run(&["STRLEN", "r"]), int(1_048_576));
        assert_eq!(k.run(&["SETRANGE", "r", "1048576", "x"]), TOO_BIG);
        assert_eq!(k.run(&["SETRANGE", "r", "1048575", "xy"]), TOO_BIG);
        assert_eq!(k.run(&["APPEND", "r", "y"]), TOO_BIG);
        assert_eq!(k.run(&["SETRANGE", "q", "1048576", ""]), int(0));
        assert_eq!(k.run(&["STRLEN", "r"]), int(1_048_576));
    }

    #[test]
    fn getrange_and_substr() {
        let mut k = Kit::new();
        assert_eq!(k.run(&["SET", "s", "Hello World"]), OK);
        let cases: &[(&str, &str, &str)] = &[
            ("0", "4", "Hello"),
            ("-5", "-1", "World"),
            ("-1", "-5", ""),
            ("5", "3", ""),
            ("0", "-1", "Hello World"),
            ("-100", "100", "Hello World"),
            ("100", "200", ""),
            ("-100", "-50", "H"),
            ("-1", "-1", "d"),
            ("0", "0", "H"),
            ("10", "-100", ""),
            ("0", "9223372036854775807", "Hello World"),
            ("-9223372036854775808", "-1", "Hello World"),
        ];
        for (start, end, want) in cases {
            assert_eq!(
                k.run(&["GETRANGE", "s", start, end]),
                bulk(want),
                "{start} {end}"
            );
        }
        assert_eq!(k.run(&["SUBSTR", "s", "0", "4"]), bulk("Hello"));
        assert_eq!(k.run(&["GETRANGE", "s", "abc", "1"]), NOT_INT);
        assert_eq!(k.run(&["GETRANGE", "s", "1", "abc"]), NOT_INT);
        assert_eq!(k.run(&["GETRANGE", "nokey", "0", "-1"]), EMPTY);
        assert_eq!(k.run(&["GETRANGE", "nokey", "abc", "1"]), NOT_INT);
        assert_eq!(k.run(&["SET", "e", ""]), OK);
        assert_eq!(k.run(&["GETRANGE", "e", "0", "-1"]), EMPTY);
        assert_eq!(k.run(&["GETRANGE", "e", "0", "0"]), EMPTY);
        assert_eq!(k.run(&["SET", "i", "12345"]), OK);
        assert_eq!(k.run(&["GETRANGE", "i", "1", "2"]), bulk("23"));
    }

    #[test]
    fn setrange() {
        let mut k = Kit::new();
        assert_eq!(
            k.run(&["SETRANGE", "sr", "-1", "x"]),
            "-ERR offset is out of range\r\n"
        );
        assert_eq!(k.run(&["SETRANGE", "sr", "abc", "x"]), NOT_INT);
        assert_eq!(k.run(&["SETRANGE", "sr", "0", ""]), int(0));
        assert_eq!(k.run(&["GET", "sr"]), NIL);
        assert_eq!(k.run(&["SETRANGE", "sr", "5", "ab"]), int(7));
        assert_eq!(k.run(&["GET", "sr"]), "$7\r\n\0\0\0\0\0ab\r\n");
        assert_eq!(encoding_of(&k, "sr"), Some("raw"));
        assert_eq!(k.run(&["SETRANGE", "sr", "1", ""]), int(7));
        assert_eq!(k.run(&["SETRANGE", "sr", "1", "XYZW"]), int(7));
        assert_eq!(k.run(&["GET", "sr"]), "$7\r\n\0XYZWab\r\n");
        assert_eq!(k.run(&["SETRANGE", "sr", "9", "!"]), int(10));
        assert_eq!(k.run(&["GET", "sr"]), "$10\r\n\0XYZWab\0\0!\r\n");
        assert_eq!(k.run(&["SET", "ii", "1234", "EX", "100"]), OK);
        let at = expire_of(&k, "ii");
        assert_eq!(k.run(&["SETRANGE", "ii", "1", "x"]), int(4));
        assert_eq!(k.run(&["GET", "ii"]), bulk("1x34"));
        assert_eq!(expire_of(&k, "ii"), at);
    }

    #[test]
    fn integer_counters() {
        let mut k = Kit::new();
        assert_eq!(k.run(&["INCR", "n"]), int(1));
        assert_eq!(k.run(&["INCR", "n"]), int(2));
        assert_eq!(encoding_of(&k, "n"), Some("int"));
        assert_eq!(k.run(&["DECR", "n"]), int(1));
        assert_eq!(k.run(&["INCRBY", "n", "-10"]), int(-9));
        assert_eq!(k.run(&["DECRBY", "n", "-10"]), int(1));
        assert_eq!(k.run(&["SET", "s", "abc"]), OK);
        assert_eq!(k.run(&["INCR", "s"]), NOT_INT);
        assert_eq!(k.run(&["SET", "s", " 1"]), OK);
        assert_eq!(k.run(&["INCR", "s"]), NOT_INT);
        assert_eq!(k.run(&["SET", "big", "9223372036854775807"]), OK);
        let overflow = "-ERR increment or decrement would overflow\r\n";
        assert_eq!(k.run(&["INCR", "big"]), overflow);
        assert_eq!(k.run(&["DECR", "big"]), int(9223372036854775806));
        assert_eq!(k.run(&["SET", "small", "-9223372036854775808"]), OK);
        assert_eq!(k.run(&["DECR", "small"]), overflow);
        assert_eq!(k.run(&["INCRBY", "small", "abc"]), NOT_INT);
        assert_eq!(k.run(&["INCRBY", "small", "1.5"]), NOT_INT);
        let decr_overflow = "-ERR decrement would overflow\r\n";
        assert_eq!(
            k.run(&["DECRBY", "small", "-9223372036854775808"]),
            decr_overflow
        );
        assert_eq!(
            k.run(&["DECRBY", "x", "-9223372036854775808"]),
            decr_overflow
        );
        assert_eq!(k.run(&["GET", "x"]), NIL);
        assert_eq!(
            k.run(&["DECRBY", "x", "9223372036854775807"]),
            int(-9223372036854775807)
        );
        assert_eq!(k.run(&["DECRBY", "x", "2"]), overflow);
        // Counters keep the TTL.
        assert_eq!(k.run(&["SET", "t", "10", "EX", "100"]), OK);
        let at = expire_of(&k, "t");
        assert_eq!(k.run(&["INCR", "t"]), int(11));
        assert_eq!(expire_of(&k, "t"), at);
        // A raw string holding an integer counts, and becomes `int`.
        assert_eq!(k.run(&["APPEND", "ap", "1"]), int(1));
        assert_eq!(k.run(&["APPEND", "ap", "0"]), int(2));
        assert_eq!(encoding_of(&k, "ap"), Some("raw"));
        assert_eq!(k.run(&["INCR", "ap"]), int(11));
        assert_eq!(encoding_of(&k, "ap"), Some("int"));
    }

    #[test]
    fn float_counter() {
        let mut k = Kit::new();
        assert_eq!(k.run(&["INCRBYFLOAT", "f", "1"]), bulk("1"));
        assert_eq!(encoding_of(&k, "f"), Some("embstr"));
        assert_eq!(k.run(&["INCRBYFLOAT", "f", "0.5"]), bulk("1.5"));
        assert_eq!(
            k.run(&["INCRBYFLOAT", "f", "abc"]),
            "-ERR value is not a valid float\r\n"
        );
        assert_eq!(
            k.run(&["INCRBYFLOAT", "f", " 1"]),
            "-ERR value is not a valid float\r\n"
        );
        assert_eq!(
            k.run(&["INCRBYFLOAT", "f", "inf"]),
            "-ERR increment would produce NaN or Infinity\r\n"
        );
        assert_eq!(k.run(&["SET", "s", "abc"]), OK);
        assert_eq!(
            k.run(&["INCRBYFLOAT", "s", "1"]),
            "-ERR value is not a valid float\r\n"
        );
        assert_eq!(k.run(&["SET", "f", "3.0"]), OK);
        assert_eq!(k.run(&["INCRBYFLOAT", "f", "0"]), bulk("3"));
        assert_eq!(k.run(&["SET", "f", "1.1e2"]), OK);
        assert_eq!(k.run(&["INCRBYFLOAT", "f", "0.00001"]), bulk("110.00001"));
        assert_eq!(k.run(&["INCRBYFLOAT", "g", "-1"]), bulk("-1"));
        assert_eq!(
            k.run(&["INCRBYFLOAT", "big", "99999999999999999999"]),
            bulk("100000000000000000000")
        );
        assert_eq!(k.run(&["SET", "t", "10", "EX", "100"]), OK);
        let at = expire_of(&k, "t");
        assert_eq!(k.run(&["INCRBYFLOAT", "t", "1.5"]), bulk("11.5"));
        assert_eq!(expire_of(&k, "t"), at);
    }

    #[test]
    fn lcs_replies() {
        let mut k = Kit::new();
        assert_eq!(
            k.run(&["MSET", "key1", "ohmytext", "key2", "mynewtext"]),
            OK
        );
        let idx = "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n";
        let cases: &[(&[&str], &str)] = &[
            (&["LCS", "key1", "key2"], "$6\r\nmytext\r\n"),
            (&["LCS", "key1", "key2", "LEN"], ":6\r\n"),
            (&["LCS", "key1", "key2", "IDX"], idx),
            (&["LCS", "key1", "key2", "idx\0junk"], idx),
            (&["LCS", "key1", "key2", "minmatchlen", "-5", "idx"], idx),
            (
                &["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4"],
                "*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n$3\r\nlen\r\n:6\r\n",
            ),
            (
                &["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"],
                "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n",
            ),
            (
                &["LCS", "key1", "key2", "IDX", "WITHMATCHLEN"],
                "*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n",
            ),
            (&["LCS", "key1", "key2", "WITHMATCHLEN"], "$6\r\nmytext\r\n"),
            (
                &["LCS", "key1", "key2", "LEN", "IDX"],
                "-ERR If you want both the length and indexes, please just use IDX.\r\n",
            ),
            (&["LCS", "key1", "key2", "MINMATCHLEN"], SYNTAX),
            (&["LCS", "key1", "key2", "MINMATCHLEN", "abc"], NOT_INT),
            (&["LCS", "key1", "key2", "foo"], SYNTAX),
            (&["LCS", "key1", "nokey"], EMPTY),
            (&["LCS", "key1", "nokey", "LEN"], ":0\r\n"),
            (
                &["LCS", "nokey", "nokey2", "IDX", "WITHMATCHLEN"],
                "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n",
            ),
        ];
        for (cmd, want) in cases {
            assert_eq!(k.run(cmd), *want, "{cmd:?}");
        }
        assert_eq!(k.run(&["MSET", "a1", "ABCBDAB", "a2", "BDCABA"]), OK);
        assert_eq!(k.run(&["LCS", "a1", "a2"]), bulk("BDAB"));
        assert_eq!(
            k.run(&["LCS", "a1", "a2", "IDX", "WITHMATCHLEN"]),
            "*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:5\r\n:6\r\n*2\r\n:3\r\n:4\r\n:2\r\n*3\r\n*2\r\n:3\r\n:4\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:4\r\n"
        );
        assert_eq!(k.run(&["MSET", "n1", "12345", "n2", "2x4"]), OK);
        assert_eq!(
            k.run(&["LCS", "n1", "n2", "IDX"]),
            "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:3\r\n:3\r\n*2\r\n:2\r\n:2\r\n*2\r\n*2\r\n:1\r\n:1\r\n*2\r\n:0\r\n:0\r\n$3\r\nlen\r\n:2\r\n"
        );
        k.out.set_resp3(true);
        assert_eq!(
            k.run(&["LCS", "key1", "key2", "IDX", "WITHMATCHLEN"]),
            "%2\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n"
        );
        assert_eq!(
            k.run(&["LCS", "nokey", "nokey2", "IDX"]),
            "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"
        );
        assert_eq!(k.run(&["LCS", "key1", "key2", "LEN"]), ":6\r\n");
        assert_eq!(k.run(&["LCS", "key1", "key2"]), "$6\r\nmytext\r\n");
        assert_eq!(
            k.run(&["LCS", "a"]),
            "-ERR wrong number of arguments for 'lcs' command\r\n"
        );
    }

    #[test]
    fn lcs_memory_guard() {
        let mut k = Kit::new();
        k.engine
            .config
            .set("proto-max-bulk-len", "1mb", false)
            .unwrap();
        let (a600, a400) = ("a".repeat(600), "a".repeat(400));
        assert_eq!(k.run(&["MSET", "a", &a600, "b", &a600, "c", &a400]), OK);
        assert_eq!(
            k.run(&["LCS", "a", "b", "LEN"]),
            "-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n"
        );
        assert_eq!(k.run(&["LCS", "a", "c", "LEN"]), int(400));
        // Argument errors come first.
        assert_eq!(
            k.run(&["LCS", "a", "b", "LEN", "IDX"]),
            "-ERR If you want both the length and indexes, please just use IDX.\r\n"
        );
    }

    #[test]
    fn wrong_types() {
        let mut k = Kit::new();
        if !make_non_string(&mut k, "l") {
            return;
        }
        let lcs_err = "-ERR The specified keys must contain string values\r\n";
        let cases: &[(&[&str], &str)] = &[
            (&["GET", "l"], WRONGTYPE),
            (&["SET", "l", "v", "GET"], WRONGTYPE),
            // The expire time is checked before the type.
            (
                &["SET", "l", "v", "EX", "0", "GET"],
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            (&["GETEX", "l"], WRONGTYPE),
            (&["GETEX", "l", "EX", "0"], WRONGTYPE),
            (&["GETEX", "l", "foo"], SYNTAX),
            (&["GETDEL", "l"], WRONGTYPE),
            (&["GETSET", "l", "v"], WRONGTYPE),
            (&["APPEND", "l", "x"], WRONGTYPE),
            (&["STRLEN", "l"], WRONGTYPE),
            (&["GETRANGE", "l", "0", "1"], WRONGTYPE),
            (&["GETRANGE", "l", "x", "1"], NOT_INT),
            (&["SUBSTR", "l", "0", "1"], WRONGTYPE),
            (&["SETRANGE", "l", "0", "x"], WRONGTYPE),
            (&["SETRANGE", "l", "0", ""], WRONGTYPE),
            (
                &["SETRANGE", "l", "-1", ""],
                "-ERR offset is out of range\r\n",
            ),
            (&["INCR", "l"], WRONGTYPE),
            (&["DECRBY", "l", "1"], WRONGTYPE),
            (&["INCRBYFLOAT", "l", "1"], WRONGTYPE),
            (&["LCS", "l", "nokey"], lcs_err),
            (&["LCS", "nokey", "l", "foo"], lcs_err),
            (&["MGET", "l", "nokey"], "*2\r\n$-1\r\n$-1\r\n"),
        ];
        for (cmd, want) in cases {
            assert_eq!(k.run(cmd), *want, "{cmd:?}");
        }
        // SET ignores the type; so do SET ... NX/XX without GET.
        assert!(make_non_string(&mut k, "l2"));
        assert_eq!(k.run(&["SET", "l2", "v", "NX", "GET"]), WRONGTYPE);
        assert_eq!(k.run(&["SET", "l2", "v", "XX"]), OK);
        assert_eq!(k.run(&["GET", "l2"]), bulk("v"));
        assert_eq!(k.run(&["SET", "l", "v"]), OK);
        assert_eq!(k.run(&["GET", "l"]), bulk("v"));
    }

    #[test]
    fn read_stats_for_write_commands() {
        let mut k = Kit::new();
        let stats = |k: &Kit| {
            (
                crate::stats::Stats::get(&k.engine.stats.keyspace_hits),
                crate::stats::Stats::get(&k.engine.stats.keyspace_misses),
            )
        };
        let (h0, m0) = stats(&k);
        for cmd in [
            &["SET", "k", "v", "GET"][..],
            &["SET", "k2", "v", "GET"],
            &["GETDEL", "k"],
            &["GETDEL", "k"],
            &["GETSET", "k", "v"],
            &["GETEX", "k"],
            &["INCR", "n"],
            &["MGET", "k", "n", "zz"],
        ] {
            k.run(cmd);
        }
        // As redis-server counted them (INFO stats after CONFIG RESETSTAT).
        let (h1, m1) = stats(&k);
        assert_eq!((h1 - h0, m1 - m0), (4, 5));
    }

    #[test]
    fn propagated_forms() {
        let mut k = Kit::new();
        let rec = k.record();
        k.run(&["set", "k", "v"]);
        assert_eq!(rec.take(), vec![words(&["set", "k", "v"])]);
        for (cmd, value) in [
            (&["set", "k", "v", "ex", "100"][..], "v"),
            (&["set", "k", "v2", "xx", "get", "px", "100000"], "v2"),
            (&["SETEX", "k", "100", "v3"], "v3"),
        ] {
            let before = unix_ms();
            k.run(cmd);
            let recs = rec.take();
            assert_eq!(recs.len(), 1, "{cmd:?}");
            let r = &recs[0];
            assert_eq!(r[..4], words(&["SET", "k", value, "PXAT"])[..], "{cmd:?}");
            let at: u64 = r[4].parse().unwrap();
            assert!(at >= before + 100_000 && at <= unix_ms() + 100_000);
            assert_eq!(expire_of(&k, "k"), Some(at));
        }
        k.run(&["set", "k", "v5", "exat", "99999999999"]);
        assert_eq!(
            rec.take(),
            vec![words(&["SET", "k", "v5", "PXAT", "99999999999000"])]
        );
        k.run(&["PSETEX", "k", "1000", "v"]);
        assert_eq!(rec.take()[0][..4], words(&["SET", "k", "v", "PXAT"])[..]);
        // GET words are dropped, other options kept.
        k.run(&["set", "k", "v4", "GET", "xx", "keepttl", "get"]);
        assert_eq!(
            rec.take(),
            vec![words(&["set", "k", "v4", "xx", "keepttl"])]
        );
        k.run(&["set", "e", "v", "get", "nx"]);
        assert_eq!(rec.take(), vec![words(&["set", "e", "v", "nx"])]);
        // Nothing changed, nothing propagated.
        k.run(&["set", "e", "v", "nx"]);
        k.run(&["setnx", "e", "v"]);
        k.run(&["set", "nokey", "v", "xx", "get"]);
        k.run(&["msetnx", "e", "1"]);
        k.run(&["getex", "e", "persist"]);
        k.run(&["getex", "e"]);
        k.run(&["getdel", "nokey"]);
        k.run(&["setrange", "e", "0", ""]);
        assert_eq!(rec.take(), Vec::<Vec<String>>::new());
        k.run(&["setnx", "n", "v"]);
        assert_eq!(rec.take(), vec![words(&["setnx", "n", "v"])]);
        k.run(&["getset", "n", "w"]);
        assert_eq!(rec.take(), vec![words(&["SET", "n", "w"])]);
        k.run(&["getex", "n", "exat", "99999999999"]);
        assert_eq!(
            rec.take(),
            vec![words(&["PEXPIREAT", "n", "99999999999000"])]
        );
        let before = unix_ms();
        k.run(&["getex", "n", "ex", "100"]);
        let recs = rec.take();
        assert_eq!(recs[0][..2], words(&["PEXPIREAT", "n"])[..]);
        assert!(recs[0][2].parse::<u64>().unwrap() >= before + 100_000);
        k.run(&["getex", "n", "persist"]);
        assert_eq!(rec.take(), vec![words(&["PERSIST", "n"])]);
        k.run(&["getex", "n", "pxat", "1"]);
        assert_eq!(rec.take(), vec![words(&["DEL", "n"])]);
        k.run(&["set", "n", "v"]);
        k.run(&["getdel", "n"]);
        assert_eq!(
            rec.take(),
            vec![words(&["set", "n", "v"]), words(&["DEL", "n"])]
        );
        k.run(&["incrbyfloat", "f", "1.5"]);
        k.run(&["incr", "c"]);
        k.run(&["mset", "a", "1", "b", "2"]);
        k.run(&["msetnx", "c2", "1", "d", "2"]);
        k.run(&["append", "a", "x"]);
        k.run(&["setrange", "a", "0", "y"]);
        assert_eq!(
            rec.take(),
            vec![
                words(&["SET", "f", "1.5", "KEEPTTL"]),
                words(&["incr", "c"]),
                words(&["mset", "a", "1", "b", "2"]),
                words(&["msetnx", "c2", "1", "d", "2"]),
                words(&["append", "a", "x"]),
                words(&["setrange", "a", "0", "y"]),
            ]
        );
        // Errors propagate nothing.
        k.run(&["set", "k", "v", "ex", "0"]);
        k.run(&["incr", "a"]);
        k.run(&["incrbyfloat", "a", "1"]);
        assert_eq!(rec.take(), Vec::<Vec<String>>::new());
    }

    /// One step of the model-based property test.
    #[derive(Clone, Debug)]
    enum Op {
        Set(u8, Vec<u8>),
        Get(u8),
        Append(u8, Vec<u8>),
        IncrBy(u8, i64),
        SetRange(u8, u8, Vec<u8>),
        GetRange(u8, i64, i64),
        GetDel(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        let key = 0u8..3;
        let val = prop::collection::vec(
            prop_oneof![
                Just(b'0'),
                Just(b'1'),
                Just(b'9'),
                Just(b'-'),
                Just(b'a'),
                Just(0u8)
            ],
            0..5,
        );
        let num = prop_oneof![
            -20i64..20,
            Just(i64::MAX),
            Just(i64::MIN),
            Just(i64::MAX - 1)
        ];
        prop_oneof![
            (key.clone(), val.clone()).prop_map(|(k, v)| Op::Set(k, v)),
            key.clone().prop_map(Op::Get),
            (key.clone(), val.clone()).prop_map(|(k, v)| Op::Append(k, v)),
            (key.clone(), num.clone()).prop_map(|(k, n)| Op::IncrBy(k, n)),
            (key.clone(), 0u8..12, val).prop_map(|(k, o, v)| Op::SetRange(k, o, v)),
            (key.clone(), num.clone(), num).prop_map(|(k, s, e)| Op::GetRange(k, s, e)),
            key.prop_map(Op::GetDel),
        ]
    }

    fn bulk_bytes(v: &[u8]) -> Vec<u8> {
        let mut out = format!("${}\r\n", v.len()).into_bytes();
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
        out
    }

    /// What the model expects `op` to reply, applying it to `model`.
    fn model_step(model: &mut std::collections::HashMap<Vec<u8>, Vec<u8>>, op: &Op) -> Vec<u8> {
        let key = |k: &u8| vec![b'k', b'0' + k];
        match op {
            Op::Set(k, v) => {
                model.insert(key(k), v.clone());
                b"+OK\r\n".to_vec()
            }
            Op::Get(k) => model
                .get(&key(k))
                .map_or(b"$-1\r\n".to_vec(), |v| bulk_bytes(v)),
            Op::GetDel(k) => model
                .remove(&key(k))
                .map_or(b"$-1\r\n".to_vec(), |v| bulk_bytes(&v)),
            Op::Append(k, v) => {
                let cur = model.entry(key(k)).or_default();
                cur.extend_from_slice(v);
                format!(":{}\r\n", cur.len()).into_bytes()
            }
            Op::IncrBy(k, n) => {
                let cur = match model.get(&key(k)) {
                    None => 0,
                    // Canonical decimal only: the text must be how the number prints.
                    Some(v) => match std::str::from_utf8(v)
                        .ok()
                        .and_then(|s| s.parse::<i64>().ok().filter(|x| x.to_string() == s))
                    {
                        Some(x) => x,
                        None => return NOT_INT.as_bytes().to_vec(),
                    },
                };
                match cur.checked_add(*n) {
                    Some(x) => {
                        model.insert(key(k), x.to_string().into_bytes());
                        format!(":{x}\r\n").into_bytes()
                    }
                    None => b"-ERR increment or decrement would overflow\r\n".to_vec(),
                }
            }
            Op::SetRange(k, off, v) => {
                let off = *off as usize;
                if v.is_empty() {
                    let len = model.get(&key(k)).map_or(0, Vec::len);
                    return format!(":{len}\r\n").into_bytes();
                }
                let cur = model.entry(key(k)).or_default();
                if cur.len() < off + v.len() {
                    cur.resize(off + v.len(), 0);
                }
                cur[off..off + v.len()].copy_from_slice(v);
                format!(":{}\r\n", cur.len()).into_bytes()
            }
            Op::GetRange(k, s, e) => {
                let v = model.get(&key(k)).cloned().unwrap_or_default();
                let n = v.len() as i128;
                let (s, e) = (*s as i128, *e as i128);
                let slice = if s < 0 && e < 0 && s > e {
                    &[][..]
                } else {
                    let s = if s < 0 { (n + s).max(0) } else { s };
                    let e = if e < 0 { (n + e).max(0) } else { e.min(n - 1) };
                    if n == 0 || s > e {
                        &[][..]
                    } else {
                        &v[s as usize..=e as usize]
                    }
                };
                bulk_bytes(slice)
            }
        }
    }

    fn op_args(op: &Op) -> Vec<Vec<u8>> {
        let key = |k: &u8| vec![b'k', b'0' + k];
        let num = |n: &i64| n.to_string().into_bytes();
        match op {
            Op::Set(k, v) => vec![b"SET".to_vec(), key(k), v.clone()],
            Op::Get(k) => vec![b"GET".to_vec(), key(k)],
            Op::GetDel(k) => vec![b"GETDEL".to_vec(), key(k)],
            Op::Append(k, v) => vec![b"APPEND".to_vec(), key(k), v.clone()],
            Op::IncrBy(k, n) => vec![b"INCRBY".to_vec(), key(k), num(n)],
            Op::SetRange(k, o, v) => {
                vec![
                    b"SETRANGE".to_vec(),
                    key(k),
                    o.to_string().into_bytes(),
                    v.clone(),
                ]
            }
            Op::GetRange(k, s, e) => vec![b"GETRANGE".to_vec(), key(k), num(s), num(e)],
        }
    }

    proptest! {
        #[test]
        fn matches_simple_model(ops in prop::collection::vec(op(), 1..60)) {
            let mut k = Kit::new();
            let mut model = std::collections::HashMap::new();
            for op in &ops {
                let want = model_step(&mut model, op);
                let args = op_args(op);
                let refs: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
                let got = k.run_bytes(&refs);
                prop_assert_eq!(got, String::from_utf8_lossy(&want).into_owned(), "{:?}", op);
            }
        }
    }
}
