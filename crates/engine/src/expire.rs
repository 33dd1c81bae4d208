//! Key expiry (Redis's `expire.c`): EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, PERSIST, TTL, PTTL,
//! EXPIRETIME and PEXPIRETIME, and how a TTL takes effect.
//!
//! # Representation
//! A key's TTL is the absolute Unix time in milliseconds stored in its
//! [`Entry`](crate::value::Entry) (`expire_at`, 0 meaning "no TTL"). Relative forms (EXPIRE, PEXPIRE, SET EX, ...) are turned
//! into absolute ones once, against the command's fixed clock (`DbView::now_ms`), and are
//! propagated in that absolute form (PEXPIREAT) so that an AOF replayed later or a replica
//! applying the stream much later computes the same deadline. Setting a deadline that is already
//! past deletes the key on the spot and propagates a DEL (UNLINK with `lazyfree-lazy-expire`), so
//! a replica never has to decide whether the key "was" expired. Each shard and each of its
//! segments counts its keys with a TTL, which is what lets active expiry skip the rest.
//!
//! # Lazy expiry
//! Every lookup goes through `DbView::entry_in`, which asks the shard for the key with a single
//! probe (`Shard::lookup`). If the key's deadline is at or before the command time, the shard
//! removes it right there and the view records `(db, key)`: the dispatcher then counts it in
//! `expired_keys` and propagates a DEL for it *before* the command itself, exactly the order
//! Redis produces. To the command the key simply does not exist. Hence no command can ever
//! observe an expired key, however long the active cycle takes to reach it, and a key that is
//! read often never lingers. Commands that walk whole shards without looking keys up (KEYS,
//! DBSIZE, INFO keyspace) see the raw contents: KEYS filters expired keys out without removing
//! them, DBSIZE counts them, as Redis does.
//!
//! # Active expiry
//! Keys that are never read again would stay forever with lazy expiry alone, so `Engine::cron`
//! (called `hz` times a second by the server) also sweeps. It visits shards round-robin from
//! where the previous round stopped, and in each calls `Shard::expire_step`, which walks
//! segments from the shard's own cursor, skipping segments without volatile keys, removing every
//! expired entry it meets until it has examined a budget of keys with a TTL (256) or gone round
//! the shard once. As in Redis's `activeExpireCycle`, a shard where more than a quarter of the
//! examined keys had expired is worked on again at once (it is probably full of dead keys);
//! otherwise the round moves on. The round stops when its time budget is spent. Removed entries
//! leave the shard's lock before they are dropped and propagated as DELs, so a client waiting on
//! that shard waits for at most one step, never for a million keys expiring together.
//!
//! Compared with Redis, which samples 20 random keys per database per loop, the sweep is
//! exhaustive: memory held by expired keys is bounded by what accumulates between two visits of
//! a shard, not by sampling luck. `DEBUG SET-ACTIVE-EXPIRE 0` turns the sweep off (lazy expiry
//! stays), which tests use to watch lazy expiry alone.
//!
//! # Time
//! A command uses one clock reading for all its keys (`DbView::now_ms`), so a multi-key command
//! sees a consistent set of live keys, as Redis's `commandTimeSnapshot` provides.

use bytes::Bytes;

use crate::cmd::{def, keys, CommandDef};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::keys::peek;

/// The expiry commands.
#[rustfmt::skip]
pub static COMMANDS: &[CommandDef] = &[
    def("expire", -3, "write fast", keys(1, 1, 1), "@keyspace @write", "generic", "Set a key's time to live in seconds", "1.0.0", expire)
        .key_flags("RW update")
        .complexity("O(1)")
        .history(&[("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`.")]),
    def("pexpire", -3, "write fast", keys(1, 1, 1), "@keyspace @write", "generic", "Set a key's time to live in milliseconds", "2.6.0", pexpire)
        .key_flags("RW update")
        .complexity("O(1)")
        .history(&[("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`.")]),
    def("expireat", -3, "write fast", keys(1, 1, 1), "@keyspace @write", "generic", "Set the expiration for a key as a UNIX timestamp", "1.2.0", expireat)
        .key_flags("RW update")
        .complexity("O(1)")
        .history(&[("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`.")]),
    def("pexpireat", -3, "write fast", keys(1, 1, 1), "@keyspace @write", "generic", "Set the expiration for a key as a UNIX timestamp specified in milliseconds", "2.6.0", pexpireat)
        .key_flags("RW update")
        .complexity("O(1)")
        .history(&[("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`.")]),
    def("persist", 2, "write fast", keys(1, 1, 1), "@keyspace @write", "generic", "Remove the expiration from a key", "2.2.0", persist)
        .key_flags("RW update")
        .complexity("O(1)"),
    def("ttl", 2, "readonly fast", keys(1, 1, 1), "@keyspace @read", "generic", "Get the time to live for a key in seconds", "1.0.0", ttl)
        .key_flags("RO access")
        .tips("nondeterministic_output")
        .complexity("O(1)")
        .history(&[("2.8.0", "Added the -2 reply.")]),
    def("pttl", 2, "readonly fast", keys(1, 1, 1), "@keyspace @read", "generic", "Get the time to live for a key in milliseconds", "2.6.0", pttl)
        .key_flags("RO access")
        .tips("nondeterministic_output")
        .complexity("O(1)")
        .history(&[("2.8.0", "Added the -2 reply.")]),
    def("expiretime", 2, "readonly fast", keys(1, 1, 1), "@keyspace @read", "generic", "Get the expiration Unix timestamp for a key", "7.0.0", expiretime)
        .key_flags("RO access")
        .complexity("O(1)"),
    def("pexpiretime", 2, "readonly fast", keys(1, 1, 1), "@keyspace @read", "generic", "Get the expiration Unix timestamp for a key in milliseconds", "7.0.0", pexpiretime)
        .key_flags("RO access")
        .complexity("O(1)"),
];

/// The unit of an EXPIRE-family time argument.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Seconds,
    Millis,
}

/// The NX / XX / GT / LT options of the EXPIRE family.
#[derive(Default)]
struct Conditions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl Conditions {
    /// Parses the options from argument 3 on, rejecting unknown and incompatible ones as Redis
    /// does (unknown first, in order; then NX with anything, then GT with LT).
    fn parse(ctx: &Ctx<'_>) -> Result<Self> {
        let mut c = Conditions::default();
        for (i, opt) in ctx.args.iter().enumerate().skip(3) {
            if opt.eq_ignore_ascii_case(b"nx") {
                c.nx = true;
            } else if opt.eq_ignore_ascii_case(b"xx") {
                c.xx = true;
            } else if opt.eq_ignore_ascii_case(b"gt") {
                c.gt = true;
            } else if opt.eq_ignore_ascii_case(b"lt") {
                c.lt = true;
            } else {
                return Err(Error::msg(format!(
                    "ERR Unsupported option {}",
                    ctx.arg_lossy(i)
                )));
            }
        }
        if c.nx && (c.xx || c.gt || c.lt) {
            return Err(Error::msg(
                "ERR NX and XX, GT or LT options at the same time are not compatible",
            ));
        }
        if c.gt && c.lt {
            return Err(Error::msg(
                "ERR GT and LT options at the same time are not compatible",
            ));
        }
        Ok(c)
    }

    /// Whether a key whose deadline is `current` (None: no TTL, i.e. infinite) may get `when`.
    fn allow(&self, current: Option<i64>, when: i64) -> bool {
        match current {
            None => !(self.xx || self.gt),
            Some(cur) => !(self.nx || (self.gt && when <= cur) || (self.lt && when >= cur)),
        }
    }
}

// EXPIRE key seconds [NX | XX | GT | LT]
fn expire(ctx: &mut Ctx<'_>) -> Result<()> {
    let now = ctx.db.now_ms as i64;
    expire_generic(ctx, now, Unit::Seconds)
}

// PEXPIRE key milliseconds [NX | XX | GT | LT]
fn pexpire(ctx: &mut Ctx<'_>) -> Result<()> {
    let now = ctx.db.now_ms as i64;
    expire_generic(ctx, now, Unit::Millis)
}

// EXPIREAT key unix-time-seconds [NX | XX | GT | LT]
fn expireat(ctx: &mut Ctx<'_>) -> Result<()> {
    expire_generic(ctx, 0, Unit::Seconds)
}

// PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]
fn pexpireat(ctx: &mut Ctx<'_>) -> Result<()> {
    expire_generic(ctx, 0, Unit::Millis)
}

/// The four EXPIRE forms: the deadline is `basetime + time` (times 1000 for seconds), in ms.
/// Replies 1 if the TTL was set (or the key deleted because the deadline is past), 0 if the key
/// is missing or a condition failed. Propagated as `PEXPIREAT key ms [options]`, or as DEL.
fn expire_generic(ctx: &mut Ctx<'_>, basetime: i64, unit: Unit) -> Result<()> {
    let cond = Conditions::parse(ctx)?;
    let mut when = ctx.arg_i64(2)?;
    let invalid = || Error::InvalidExpire(ctx.cmd.full_name.clone());
    if unit == Unit::Seconds {
        // Redis's bounds (LLONG_MIN / 1000 truncates towards zero, so they are symmetric).
        const LIMIT: i64 = i64::MAX / 1000;
        if !(-LIMIT..=LIMIT).contains(&when) {
            return Err(invalid());
        }
        when *= 1000;
    }
    // Redis rejects only what overflows upwards: a hugely negative deadline just deletes.
    if when > i64::MAX - basetime {
        return Err(invalid());
    }
    when += basetime;
    let key = ctx.args[1];
    let Some(entry) = ctx.db.entry(key) else {
        ctx.out.int(0);
        return Ok(());
    };
    let current = entry
        .has_expire()
        .then(|| i64::try_from(entry.expire_at()).unwrap_or(i64::MAX));
    if !cond.allow(current, when) {
        ctx.out.int(0);
        return Ok(());
    }
    // IMPORTANT: a replica or an AOF load must not delete here but apply the deadline; nothing
    // runs commands in those roles yet. When one does, it must skip this branch.
    let now = ctx.db.now_ms as i64;
    if when <= now {
        if let Some(e) = ctx.db.remove(key) {
            ctx.db.discard(e.value);
        }
        ctx.notify(crate::notify::GENERIC, "del", key);
        let lazy = ctx
            .engine
            .config
            .get("lazyfree-lazy-expire")
            .is_some_and(|v| v == "yes");
        let del: &'static [u8] = if lazy { b"UNLINK" } else { b"DEL" };
        ctx.propagate_as(vec![vec![
            Bytes::from_static(del),
            Bytes::copy_from_slice(key),
        ]]);
        ctx.out.int(1);
        return Ok(());
    }
    // `when > now >= 0` here, so it is a valid non-zero deadline.
    ctx.db.set_expire_in(ctx.db.db, key, when as u64);
    ctx.db.modified(key);
    ctx.notify(crate::notify::GENERIC, "expire", key);
    // PEXPIREAT is already in absolute form; everything else is rewritten to it.
    // Built only when something consumes records (EXPIRE is a hot command for rate limiters).
    if (basetime != 0 || unit == Unit::Seconds) && ctx.engine.propagating() {
        let mut record = Vec::with_capacity(ctx.args.len());
        record.push(Bytes::from_static(b"PEXPIREAT"));
        record.push(Bytes::copy_from_slice(key));
        record.push(Ctx::ms_arg(when as u64));
        record.extend(ctx.args.iter().skip(3).map(|a| Bytes::copy_from_slice(a)));
        ctx.propagate_as(vec![record]);
    }
    ctx.out.int(1);
    Ok(())
}

// PERSIST key
fn persist(ctx: &mut Ctx<'_>) -> Result<()> {
    let key = ctx.args[1];
    let has_ttl = ctx.db.entry(key).is_some_and(|e| e.has_expire());
    if has_ttl {
        ctx.db.set_expire_in(ctx.db.db, key, 0);
        ctx.db.modified(key);
        ctx.notify(crate::notify::GENERIC, "persist", key);
    }
    ctx.out.int(i64::from(has_ttl));
    Ok(())
}

// TTL key
fn ttl(ctx: &mut Ctx<'_>) -> Result<()> {
    ttl_generic(ctx, false, false)
}

// PTTL key
fn pttl(ctx: &mut Ctx<'_>) -> Result<()> {
    ttl_generic(ctx, true, false)
}

// EXPIRETIME key
fn expiretime(ctx: &mut Ctx<'_>) -> Result<()> {
    ttl_generic(ctx, false, true)
}

// PEXPIRETIME key
fn pexpiretime(ctx: &mut Ctx<'_>) -> Result<()> {
    ttl_generic(ctx, true, true)
}

/// TTL, PTTL, EXPIRETIME and PEXPIRETIME: -2 for a missing key, -1 for one without TTL, else the
/// remaining time (at least 0) or the deadline, in ms or in seconds rounded to the nearest.
fn ttl_generic(ctx: &mut Ctx<'_>, millis: bool, absolute: bool) -> Result<()> {
    // Redis reads the key with LOOKUP_NOTOUCH: asking for a TTL is not an access. The key is
    // looked up at the command's time (frozen inside a script) but the remaining time counts
    // from the real clock, as Redis 7.0 does (a key past its deadline inside a script: 0).
    let (db, now) = (ctx.db.db, crate::engine::unix_ms().max(ctx.db.now_ms));
    let key = ctx.args.get(1).map_or(&[][..], |b| b.as_ref());
    let Some(expire_at) = peek(&mut ctx.db, db, key, |e| e.expire_at()) else {
        ctx.out.int(-2);
        return Ok(());
    };
    if expire_at == 0 {
        ctx.out.int(-1);
        return Ok(());
    }
    let ms = if absolute {
        expire_at
    } else {
        expire_at.saturating_sub(now)
    };
    let ms = i64::try_from(ms).unwrap_or(i64::MAX);
    // Computed wide: Redis's `(ttl+500)/1000` does not wrap for a deadline near i64::MAX.
    let reply = if millis {
        ms
    } else {
        ((i128::from(ms) + 500) / 1000) as i64
    };
    ctx.out.int(reply);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {

    use crate::engine::{unix_ms, Engine};
    use crate::keyspace::shard_of;
    use crate::stats::Stats;
    use crate::testkit::{int, Kit};

    /// The integer in a `:n` reply.
    fn num(reply: &str) -> i64 {
        reply
            .strip_prefix(':')
            .and_then(|r| r.strip_suffix("\r\n"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("not an integer reply: {reply:?}"))
    }

    /// Makes `key` expired without removing it.
    fn force_expired(engine: &Engine, key: &str) {
        let h = engine.keyspace.hasher.hash(key.as_bytes());
        let shard = engine.keyspace.db(0).unwrap().shard(shard_of(h));
        assert!(shard.lock().set_expire(h, key.as_bytes(), 1));
    }

    #[test]
    fn set_read_and_clear_a_ttl() {
        let mut k = Kit::new();
        assert_eq!(k.run(&["EXPIRE", "nokey", "100"]), int(0));
        assert_eq!(k.run(&["PERSIST", "nokey"]), int(0));
        for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
            assert_eq!(k.run(&[cmd, "nokey"]), int(-2), "{cmd}");
        }
        k.run(&["SET", "a", "1"]);
        for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
            assert_eq!(k.run(&[cmd, "a"]), int(-1), "{cmd}");
        }
        assert_eq!(k.run(&["PERSIST", "a"]), int(0));
        let before = unix_ms() as i64;
        assert_eq!(k.run(&["EXPIRE", "a", "100"]), int(1));
        let after = unix_ms() as i64;
        assert_eq!(k.run(&["TTL", "a"]), int(100));
        let pttl = num(&k.run(&["PTTL", "a"]));
        assert!((99_000..=100_000).contains(&pttl), "{pttl}");
        let at = num(&k.run(&["PEXPIRETIME", "a"]));
        assert!((before + 100_000..=after + 100_000).contains(&at), "{at}");
        assert_eq!(k.run(&["EXPIRETIME", "a"]), int((at + 500) / 1000));
        assert_eq!(k.run(&["PERSIST", "a"]), int(1));
        assert_eq!(k.run(&["TTL", "a"]), int(-1));
        assert_eq!(k.run(&["PERSIST", "a"]), int(0));
        // Absolute forms.
        let at_s = unix_ms() as i64 / 1000 + 1000;
        assert_eq!(k.run(&["EXPIREAT", "a", &at_s.to_string()]), int(1));
        assert_eq!(k.run(&["EXPIRETIME", "a"]), int(at_s));
        assert_eq!(k.run(&["PEXPIRETIME", "a"]), int(at_s * 1000));
        assert_eq!(k.run(&["PEXPIREAT", "a", "99999999999999"]), int(1));
        assert_eq!(k.run(&["PEXPIRETIME", "a"]), int(99999999999999));
        assert_eq!(k.run(&["PEXPIRE", "a", "5000"]), int(1));
        assert_eq!(k.run(&["TTL", "a"]), int(5));
        assert_eq!(k.run(&["GET", "a"]), "$1\r\n1\r\n");
    }

    #[test]
    fn ttl_rounds_to_the_nearest_second() {
        // Redis: ttl = (ms + 500) / 1000.
        let mut k = Kit::new();
        k.run(&["SET", "a", "1"]);
        for (ms, secs) in [("400", 0), ("700", 1), ("1400", 1), ("1700", 2)] {
            k.run(&["PEXPIRE", "a", ms]);
            assert_eq!(k.run(&["TTL", "a"]), int(secs), "{ms}");
        }
    }

    #[test]
    fn deadline_near_the_limit() {
        // Redis 7.0: pexpireat a 9223372036854775807 -> 1; expiretime -> 9223372036854776.
        let mut k = Kit::new();
        k.run(&["SET", "a", "1"]);
        assert_eq!(k.run(&["PEXPIREAT", "a", "9223372036854775807"]), int(1));
        assert_eq!(k.run(&["PEXPIRETIME", "a"]), int(9223372036854775807));
        assert_eq!(k.run(&["EXPIRETIME", "a"]), int(9223372036854776));
        let pttl = num(&k.run(&["PTTL", "a"]));
        assert!(pttl > 9_000_000_000_000_000_000);
    }

    #[test]
    fn option_and_overflow_errors() {
        let mut k = Kit::new();
        k.run(&["SET", "a", "1"]);
        let nx = "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n";
        let gtlt = "-ERR GT and LT options at the same time are not compatible\r\n";
        let cases: &[(&[&str], &str)] = &[
            (
                &["EXPIRE", "a", "10", "foo"],
                "-ERR Unsupported option foo\r\n",
            ),
            // Options are checked before the time.
            (
                &["EXPIRE", "a", "x", "foo"],
                "-ERR Unsupported option foo\r\n",
            ),
            (
                &["EXPIRE", "a", "foo", "nx"],
                "-ERR value is not an integer or out of range\r\n",
            ),
            (
                &["EXPIRE", "nokey", "foo"],
                "-ERR value is not an integer or out of range\r\n",
            ),
            (&["EXPIRE", "a", "10", "nx", "xx"], nx),
            (&["EXPIRE", "a", "10", "NX", "GT"], nx),
            (&["EXPIRE", "a", "10", "lt", "nx"], nx),
            (&["EXPIRE", "a", "10", "gt", "lt"], gtlt),
            (&["PEXPIRE", "a", "10", "LT", "GT"], gtlt),
            (&["EXPIRE", "a", "10", "nx", "gt", "lt"], nx),
            (
                &["EXPIRE", "a", "9223372036854776"],
                "-ERR invalid expire time in 'expire' command\r\n",
            ),
            (
                &["EXPIRE", "a", "-9223372036854776"],
                "-ERR invalid expire time in 'expire' command\r\n",
            ),
            // Fits once multiplied, overflows once now is added.
            (
                &["EXPIRE", "a", "9223372036854775"],
                "-ERR invalid expire time in 'expire' command\r\n",
            ),
            (
                &["EXPIRE", "nokey", "9223372036854775"],
                "-ERR invalid expire time in 'expire' command\r\n",
            ),
            (
                &["PEXPIRE", "a", "9223372036854775807"],
                "-ERR invalid expire time in 'pexpire' command\r\n",
            ),
            (
                &["EXPIREAT", "a", "9223372036854775807"],
                "-ERR invalid expire time in 'expireat' command\r\n",
            ),
            (
                &["EXPIRE", "a"],
                "-ERR wrong number of arguments for 'expire' command\r\n",
            ),
            (
                &["TTL", "a", "b"],
                "-ERR wrong number of arguments for 'ttl' command\r\n",
            ),
            (
                &["PERSIST"],
                "-ERR wrong number of arguments for 'persist' command\r\n",
            ),
        ];
        for (words, want) in cases {
            assert_eq!(k.run(words), *want, "{words:?}");
        }
        assert_eq!(k.run(&["TTL", "a"]), int(-1));
        // XX with GT is allowed.
        assert_eq!(k.run(&["EXPIRE", "a", "10", "xx", "gt"]), int(0));
        assert_eq!(k.run(&["EXPIRE", "a", "-9223372036854775"]), int(1));
        assert_eq!(k.run(&["EXISTS", "a"]), int(0));
    }

    #[test]
    fn nx_xx_gt_lt_matrix() {
        // Observed on redis 7.0: a persistent key `p` and a key `v` with a TTL of 100 s get
        // EXPIRE with 50 or 200 and each option set: (reply, TTL after).
        let table: &[(&[&str], i64, &str, i64, i64)] = &[
            (&["NX"], 50, "p", 1, 50),
            (&["NX"], 50, "v", 0, 100),
            (&["NX"], 200, "p", 1, 200),
            (&["NX"], 200, "v", 0, 100),
            (&["XX"], 50, "p", 0, -1),
            (&["XX"], 50, "v", 1, 50),
            (&["XX"], 200, "p", 0, -1),
            (&["XX"], 200, "v", 1, 200),
            (&["GT"], 50, "p", 0, -1),
            (&["GT"], 50, "v", 0, 100),
            (&["GT"], 200, "p", 0, -1),
            (&["GT"], 200, "v", 1, 200),
            (&["LT"], 50, "p", 1, 50),
            (&["LT"], 50, "v", 1, 50),
            (&["LT"], 200, "p", 1, 200),
            (&["LT"], 200, "v", 0, 100),
            (&["XX", "GT"], 50, "p", 0, -1),
            (&["XX", "GT"], 50, "v", 0, 100),
            (&["XX", "GT"], 200, "p", 0, -1),
            (&["XX", "GT"], 200, "v", 1, 200),
            (&["XX", "LT"], 50, "p", 0, -1),
            (&["XX", "LT"], 50, "v", 1, 50),
            (&["XX", "LT"], 200, "p", 0, -1),
            (&["XX", "LT"], 200, "v", 0, 100),
        ];
        let mut k = Kit::new();
        for (opts, secs, key, reply, ttl) in table {
            k.run(&["SET", key, "x"]);
            if *key == "v" {
                k.run(&["EXPIRE", "v", "100"]);
            }
            let secs = secs.to_string();
            let mut words = vec!["EXPIRE", key, &secs];
            words.extend_from_slice(opts);
            assert_eq!(k.run(&words), int(*reply), "{words:?}");
            assert_eq!(k.run(&["TTL", key]), int(*ttl), "{words:?}");
        }
        // A past deadline with LT on a persistent key deletes it; with GT it is refused.
        k.run(&["SET", "p", "x"]);
        assert_eq!(k.run(&["EXPIRE", "p", "-5", "LT"]), int(1));
        assert_eq!(k.run(&["EXISTS", "p"]), int(0));
        k.run(&["SET", "p", "x"]);
        assert_eq!(k.run(&["EXPIRE", "p", "-5", "GT"]), int(0));
        assert_eq!(k.run(&["EXISTS", "p"]), int(1));
    }

    #[test]
    fn past_deadlines_delete() {
        let mut k = Kit::new();
        let rec = k.record();
        for (cmd, t) in [
            ("EXPIRE", "-1"),
            ("PEXPIRE", "0"),
            ("EXPIREAT", "1"),
            ("PEXPIREAT", "-100"),
        ] {
            k.run(&["SET", "a", "1"]);
            assert_eq!(k.run(&[cmd, "a", t]), int(1), "{cmd}");
            assert_eq!(k.run(&["EXISTS", "a"]), int(0), "{cmd}");
        }
        assert_eq!(rec.lines().iter().filter(|r| *r == "DEL a").count(), 4);
        // Not a key expiring: no expired_keys.
        assert_eq!(Stats::get(&k.engine.stats.expired_keys), 0);
        k.engine
            .config
            .set("lazyfree-lazy-expire", "yes", false)
            .unwrap();
        k.run(&["SET", "a", "1"]);
        assert_eq!(k.run(&["EXPIRE", "a", "-1"]), int(1));
        assert_eq!(rec.lines().last().unwrap(), "UNLINK a");
    }

    #[test]
    fn propagated_as_pexpireat() {
        // Observed with redis-cli --replica: options are kept, PEXPIREAT is passed unchanged.
        let mut k = Kit::new();
        let rec = k.record();
        k.run(&["SET", "k", "v"]);
        let before = unix_ms();
        k.run(&["EXPIRE", "k", "100", "nx"]);
        k.run(&["pexpireat", "k", "99999999999999"]);
        k.run(&["PEXPIRE", "k", "5000", "xx"]);
        k.run(&["EXPIREAT", "k", "4000000000"]);
        k.run(&["EXPIRE", "k", "100", "NX"]);
        k.run(&["EXPIRE", "nokey", "100"]);
        k.run(&["PERSIST", "k"]);
        k.run(&["PERSIST", "k"]);
        let after = unix_ms();
        let got = rec.lines();
        assert_eq!(got.len(), 6, "{got:?}");
        assert_eq!(got[0], "SET k v");
        let first: Vec<&str> = got[1].split(' ').collect();
        assert_eq!((first[0], first[1], first[3]), ("PEXPIREAT", "k", "nx"));
        let at: u64 = first[2].parse().unwrap();
        assert!((before + 100_000..=after + 100_000).contains(&at));
        assert_eq!(got[2], "pexpireat k 99999999999999");
        assert!(got[3].starts_with("PEXPIREAT k ") && got[3].ends_with(" xx"));
        assert_eq!(got[4], "PEXPIREAT k 4000000000000");
        assert_eq!(got[5], "PERSIST k");
    }

    #[test]
    fn lazy_expiry_hides_and_removes() {
        let mut k = Kit::new();
        let rec = k.record();
        k.run(&["SET", "a", "1"]);
        k.run(&["PEXPIRE", "a", "100000"]);
        force_expired(&k.engine, "a");
        assert_eq!(k.run(&["DBSIZE"]), int(1));
        assert_eq!(k.run(&["TTL", "a"]), int(-2));
        assert_eq!(k.run(&["DBSIZE"]), int(0));
        assert_eq!(Stats::get(&k.engine.stats.expired_keys), 1);
        assert_eq!(rec.lines().last().unwrap(), "DEL a");
        // Commands on an expired key see no key.
        k.run(&["SET", "b", "1"]);
        force_expired(&k.engine, "b");
        assert_eq!(k.run(&["EXPIRE", "b", "100"]), int(0));
        assert_eq!(k.run(&["PERSIST", "b"]), int(0));
    }

    #[test]
    fn active_expiry_sweeps_unread_keys() {
        let mut k = Kit::new();
        for i in 0..1000 {
            let key = format!("k{i}");
            k.run(&["SET", &key, "1"]);
            k.run(&["PEXPIRE", &key, "100000"]);
            if i % 2 == 0 {
                force_expired(&k.engine, &key);
            }
        }
        assert_eq!(k.run(&["DBSIZE"]), int(1000));
        let mut removed = 0;
        for _ in 0..100 {
            removed += k.engine.cron(1_000_000);
            if removed == 500 {
                break;
            }
        }
        assert_eq!(removed, 500);
        assert_eq!(k.run(&["DBSIZE"]), int(500));
        assert_eq!(k.engine.keyspace_summary(), vec![(0, 500, 500)]);
    }
}
