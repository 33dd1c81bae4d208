//! Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, and the sorted-set BZPOP*):
//! the registry of blocked clients and how they are woken and served.
//!
//! # Blocking
//! A blocking command first tries to serve at once, exactly as its non-blocking form. When
//! there is nothing to take it calls [`block`], still holding the shard locks of its keys:
//! - inside EXEC or a script (`Session::no_block`) it replies at once as if it had timed out;
//! - when it is being re-run to serve a blocked client (`Session::serving_blocked`) it writes
//!   nothing, so the waiter stays where it is;
//! - otherwise it registers a [`Waiter`] under every key it waits on and hands the connection
//!   an [`Action::Block`] with a [`BlockTicket`], writing no reply.
//!
//! Registering under the shard locks closes the race with a concurrent push: a pusher takes
//! the same lock, and [`crate::ctx::DbView`] checks the shard's waiter count
//! ([`Keyspace::waiters`]) under it whenever it creates a key. When the count is non-zero the
//! view records the key as [`Ready`].
//!
//! # Serving
//! After the command that created the keys has released its locks and been propagated, the
//! dispatcher calls [`Engine::serve_ready`]. For each ready key, the waiters on it are served
//! in FIFO order, each by re-running its own command line through the command's handler with a
//! temporary session (the waiter's database and protocol, `serving_blocked` set) and a fresh
//! reply buffer. If the re-run produced a reply the waiter is removed from every key it waits
//! on, the reply is stored in it and its connection is woken; serving goes on with the next
//! waiter while the key still holds a value of the waited-for type. A served command is
//! propagated in its non-blocking form (the handlers rewrite BLPOP to LPOP, BLMOVE to LMOVE...,
//! as Redis 7.0 does). Serving may create more keys (BLMOVE pushes into its destination): they
//! join the same work list, so chains are served iteratively, never by recursion. Keys made
//! ready by commands inside EXEC (or a script, both run with `Session::no_block`) wait in
//! `Session::pending_ready` and are served once EXEC's own command is over, as Redis serves
//! them after the transaction. Serving runs under the engine gate's shared hold of the
//! connection that made the keys ready, so it never interleaves with an EXEC.
//!
//! Semantics compared with Redis 7.0:
//! - Redis serves blocked clients before any other command runs; here they are served right
//!   after the pushing command releases its locks, so a non-blocking pop from another
//!   connection can win that short race. No element is lost either way, and waiters are still
//!   served in FIFO order among themselves.
//! - A waiter blocked on several keys is served by re-running its command, which pops from the
//!   first non-empty key in argument order (as Redis 7.2 does), not necessarily the key that
//!   became ready first (Redis 7.0).
//! - A key that became ready holding another type (SET over the key, RENAME of a string onto
//!   it) leaves its waiters blocked, as in Redis.
//!
//! # Timeouts and cancellation
//! The connection waits for the first of: its waiter being served (the [`BlockWaker`] the server
//! put in the session), the deadline, CLIENT KILL, shutdown, or the socket closing. Timing out
//! and cancelling take the waiter's lock, so a waiter served at the same moment keeps its reply
//! (the popped element is delivered, never lost). CLIENT UNBLOCK stores the timeout reply (or
//! the `-UNBLOCKED` error) in the waiter and wakes it.
//!
//! Lock order: a waiter's state lock, then shard locks, then the registry lock; the registry
//! lock is never held while taking another.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use smallvec::SmallVec;

use flint_protocol::ReplyWriter;

use crate::clients::ClientHandle;
use crate::ctx::{Action, Ctx, DbView};
use crate::engine::{unix_ms, Engine};
use crate::error::{Error, Result};
use crate::keyspace::{shard_of, Keyspace};
use crate::session::Session;
use crate::small::SmallBytes;
use crate::stats::Stats;
use crate::util::LongDouble;
use crate::value::Value;

/// What a key must hold for a waiter to be served from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    /// A list (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP).
    List,
    /// A sorted set (BZPOPMIN, BZPOPMAX, BZMPOP).
    ZSet,
}

impl BlockKind {
    /// Whether `v` is of this kind.
    pub fn matches(self, v: &Value) -> bool {
        match self {
            BlockKind::List => matches!(v, Value::List(_)),
            BlockKind::ZSet => matches!(v, Value::ZSetLp(_) | Value::ZSet(_)),
        }
    }
}

/// What a blocking command replies when it may not block (inside EXEC or a script).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoBlockReply {
    /// The null array (BLPOP, BRPOP, BLMPOP, BZPOP*).
    NullArray,
    /// The null bulk string (BLMOVE, BRPOPLPUSH).
    Null,
}

/// A key that was created while some client may be waiting for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ready {
    /// `key` in database `db`.
    Key(usize, SmallBytes),
    /// Every key of database `db` (SWAPDB brought in new contents).
    Db(usize),
}

/// Wakes a blocked client's connection; supplied by the server through
/// `Session::block_waker`.
#[derive(Clone)]
pub struct BlockWaker(Arc<dyn Fn() + Send + Sync>);

impl BlockWaker {
    /// A waker calling `f`.
    pub fn new(f: impl Fn() + Send + Sync + 'static) -> Self {
        BlockWaker(Arc::new(f))
    }

    /// Wakes the connection.
    pub fn wake(&self) {
        (self.0)()
    }
}

impl std::fmt::Debug for BlockWaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlockWaker")
    }
}

/// Parses a blocking timeout in seconds (a double) as Redis's `getTimeoutFromObjectOrReply`:
/// whatever `strtold` accepts, times 1000, truncated to integer milliseconds. Returns the
/// absolute Unix ms deadline, or 0 for "forever".
///
/// Like Redis on x86-64, a value whose milliseconds do not fit a 64-bit integer (`inf`,
/// `1e400`, `1e16`) converts to the most negative integer and so is "negative".
pub fn parse_timeout(arg: &[u8], now_ms: u64) -> Result<u64> {
    let bad = || Error::msg("ERR timeout is not a float or out of range");
    let ld = LongDouble::parse(arg).ok_or_else(bad)?;
    // The long double's exact decimal text, read back as a double: close enough for the
    // millisecond truncation and range checks (the one rounding is below a millisecond).
    let text = ld.to_human_string();
    let secs: f64 = std::str::from_utf8(&text)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::INFINITY);
    let ms = secs * 1000.0;
    let ms = if ms.is_finite() && ms > i64::MIN as f64 && ms < i64::MAX as f64 {
        ms.trunc() as i64
    } else {
        i64::MIN
    };
    if ms < 0 {
        return Err(Error::msg("ERR timeout is negative"));
    }
    if ms == 0 {
        return Ok(0);
    }
    Ok(now_ms.saturating_add(ms as u64).min(i64::MAX as u64))
}

/// The state of a waiter.
enum State {
    /// Registered, waiting for a key.
    Waiting,
    /// Served (or unblocked): the reply to send.
    Done(Bytes),
    /// Timed out, cancelled, or its reply was taken.
    Finished,
}

/// One blocked client.
pub struct Waiter {
    handle: Arc<ClientHandle>,
    db: usize,
    resp3: bool,
    /// The command line, re-run to serve it.
    args: Vec<Bytes>,
    /// The distinct keys waited on, in argument order.
    keys: Vec<SmallBytes>,
    kind: BlockKind,
    /// Absolute Unix ms; 0 waits forever.
    timeout_at_ms: u64,
    deadline: Option<Instant>,
    /// CLIENT REPLY OFF/SKIP was in force for the command: its reply is not sent.
    discard_reply: bool,
    waker: Option<BlockWaker>,
    state: Mutex<State>,
}

impl Waiter {
    fn wake(&self) {
        if let Some(w) = &self.waker {
            w.wake();
        }
    }

    /// The reply sent on timeout: the null array, in the client's protocol.
    fn timeout_reply(&self) -> Bytes {
        if self.resp3 {
            Bytes::from_static(b"_\r\n")
        } else {
            Bytes::from_static(b"*-1\r\n")
        }
    }

    /// `reply`, or nothing when the client turned replies off.
    fn deliver(&self, reply: Bytes) -> Bytes {
        if self.discard_reply {
            Bytes::new()
        } else {
            reply
        }
    }
}

/// What the connection of a blocked client waits on (carried by [`Action::Block`]).
#[derive(Clone)]
pub struct BlockTicket {
    waiter: Arc<Waiter>,
}

impl BlockTicket {
    /// When the command times out; `None` waits forever.
    pub fn deadline(&self) -> Option<Instant> {
        self.waiter.deadline
    }
}

impl std::fmt::Debug for BlockTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockTicket")
            .field("client", &self.waiter.handle.id)
            .field("keys", &self.waiter.keys)
            .finish()
    }
}

impl PartialEq for BlockTicket {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.waiter, &other.waiter)
    }
}

/// The waiters on each key of one database, oldest first.
type DbWaiters = HashMap<Box<[u8]>, VecDeque<Arc<Waiter>>>;

#[derive(Default)]
struct Registry {
    /// Waiters per database and key.
    by_key: HashMap<usize, DbWaiters>,
    /// The waiter of each blocked client.
    by_client: HashMap<u64, Arc<Waiter>>,
    /// Blocked clients with a timeout (clients_in_timeout_table).
    with_timeout: usize,
}

/// The registry of blocked clients.
#[derive(Default)]
pub struct Blocking {
    reg: Mutex<Registry>,
}

impl Blocking {
    /// Number of blocked clients (INFO blocked_clients).
    pub fn blocked_clients(&self) -> usize {
        self.reg.lock().by_client.len()
    }

    /// Number of blocked clients with a timeout (INFO clients_in_timeout_table).
    pub fn in_timeout_table(&self) -> usize {
        self.reg.lock().with_timeout
    }

    /// Whether client `id` is blocked.
    pub fn is_blocked(&self, id: u64) -> bool {
        self.reg.lock().by_client.contains_key(&id)
    }

    /// Adds `w` under its keys. The caller holds the shard locks of those keys.
    fn register(&self, ks: &Keyspace, stats: &Stats, w: Arc<Waiter>) {
        for k in &w.keys {
            ks.waiters(w.db, shard_of(ks.hasher.hash(k.as_slice())))
                .fetch_add(1, Ordering::Relaxed);
        }
        w.handle.set_flag('b', true);
        let mut reg = self.reg.lock();
        let db = reg.by_key.entry(w.db).or_default();
        for k in &w.keys {
            db.entry(Box::from(k.as_slice()))
                .or_default()
                .push_back(w.clone());
        }
        if w.timeout_at_ms != 0 {
            reg.with_timeout += 1;
        }
        if let Some(old) = reg.by_client.insert(w.handle.id, w.clone()) {
            // A client blocks once at a time; an old entry would be a leak. Drop its keys.
            drop(reg);
            self.remove_keys(ks, &old);
            reg = self.reg.lock();
        }
        stats
            .blocked_clients
            .store(reg.by_client.len() as u64, Ordering::Relaxed);
    }

    /// Removes `w` from the registry if it is still there.
    fn remove(&self, ks: &Keyspace, stats: &Stats, w: &Arc<Waiter>) {
        let mut reg = self.reg.lock();
        let id = w.handle.id;
        if !reg.by_client.get(&id).is_some_and(|x| Arc::ptr_eq(x, w)) {
            return;
        }
        reg.by_client.remove(&id);
        if w.timeout_at_ms != 0 {
            reg.with_timeout = reg.with_timeout.saturating_sub(1);
        }
        stats
            .blocked_clients
            .store(reg.by_client.len() as u64, Ordering::Relaxed);
        drop(reg);
        self.remove_keys(ks, w);
        w.handle.set_flag('b', false);
    }

    fn remove_keys(&self, ks: &Keyspace, w: &Arc<Waiter>) {
        let mut reg = self.reg.lock();
        if let Some(db) = reg.by_key.get_mut(&w.db) {
            for k in &w.keys {
                let k = k.as_slice();
                if let Some(q) = db.get_mut(k) {
                    q.retain(|x| !Arc::ptr_eq(x, w));
                    if q.is_empty() {
                        db.remove(k);
                    }
                }
            }
            if db.is_empty() {
                reg.by_key.remove(&w.db);
            }
        }
        drop(reg);
        for k in &w.keys {
            ks.waiters(w.db, shard_of(ks.hasher.hash(k.as_slice())))
                .fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// The waiters on `key` of `db`, oldest first.
    fn waiters_of(&self, db: usize, key: &[u8]) -> Vec<Arc<Waiter>> {
        let reg = self.reg.lock();
        reg.by_key
            .get(&db)
            .and_then(|d| d.get(key))
            .map(|q| q.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Every key of `db` someone waits on.
    fn keys_in_db(&self, db: usize) -> Vec<SmallBytes> {
        let reg = self.reg.lock();
        reg.by_key
            .get(&db)
            .map(|d| d.keys().map(|k| SmallBytes::new(k)).collect())
            .unwrap_or_default()
    }

    fn of_client(&self, id: u64) -> Option<Arc<Waiter>> {
        self.reg.lock().by_client.get(&id).cloned()
    }
}

/// Called by a blocking command that found nothing to serve, with its keys' shards locked:
/// replies `no_block_reply` inside EXEC or a script, writes nothing when re-run to serve a
/// blocked client, else blocks the client on `keys` until `timeout_at_ms` (absolute Unix ms, 0:
/// forever; see [`parse_timeout`]) by registering a waiter and setting [`Action::Block`].
pub fn block(
    ctx: &mut Ctx<'_>,
    keys: &[&[u8]],
    kind: BlockKind,
    timeout_at_ms: u64,
    no_block_reply: NoBlockReply,
) -> Result<()> {
    if ctx.sess.serving_blocked {
        return Ok(());
    }
    if ctx.sess.no_block {
        match no_block_reply {
            NoBlockReply::NullArray => ctx.out.null_array(),
            NoBlockReply::Null => ctx.out.null(),
        }
        return Ok(());
    }
    let mut distinct: Vec<SmallBytes> = Vec::with_capacity(keys.len());
    for k in keys {
        if !distinct.iter().any(|d| d.as_slice() == *k) {
            distinct.push(SmallBytes::new(k));
        }
    }
    let deadline = (timeout_at_ms != 0)
        .then(|| Instant::now() + Duration::from_millis(timeout_at_ms.saturating_sub(unix_ms())));
    let discard_reply = matches!(
        ctx.sess.reply_mode,
        crate::session::ReplyMode::Off | crate::session::ReplyMode::SkipThis
    );
    let waiter = Arc::new(Waiter {
        handle: ctx.sess.handle.clone(),
        db: ctx.sess.db,
        resp3: ctx.out.is_resp3(),
        args: ctx.args.iter().map(|a| Bytes::copy_from_slice(a)).collect(),
        keys: distinct,
        kind,
        timeout_at_ms,
        deadline,
        discard_reply,
        waker: ctx.sess.block_waker.clone(),
        state: Mutex::new(State::Waiting),
    });
    let engine = ctx.engine;
    engine
        .blocking
        .register(&engine.keyspace, &engine.stats, waiter.clone());
    ctx.action = Some(Action::Block(BlockTicket { waiter }));
    Ok(())
}

impl Engine {
    /// Serves the clients blocked on `ready` keys (see the module docs). Call with no shard
    /// lock held, holding the engine gate shared (as a connection's batch does), after the
    /// command that made the keys ready was propagated.
    pub fn serve_ready(&self, ready: Vec<Ready>) {
        let mut work: VecDeque<Ready> = ready.into();
        while let Some(r) = work.pop_front() {
            let keys: SmallVec<[(usize, SmallBytes); 1]> = match r {
                Ready::Key(db, key) => smallvec::smallvec![(db, key)],
                Ready::Db(db) => self
                    .blocking
                    .keys_in_db(db)
                    .into_iter()
                    .map(|k| (db, k))
                    .collect(),
            };
            for (db, key) in keys {
                let key = key.as_slice();
                for w in self.blocking.waiters_of(db, key) {
                    if !self.key_holds(db, key, w.kind) {
                        break;
                    }
                    self.serve_waiter(&w, &mut work);
                }
            }
        }
    }

    /// Whether `key` of `db` holds a live value of `kind` (looked at without expiring it).
    fn key_holds(&self, db: usize, key: &[u8], kind: BlockKind) -> bool {
        let Some(d) = self.keyspace.db(db) else {
            return false;
        };
        let hash = self.keyspace.hasher.hash(key);
        let now = unix_ms();
        let shard = d.shard(shard_of(hash)).lock();
        shard
            .get(hash, key)
            .is_some_and(|e| !e.is_expired(now) && kind.matches(&e.value))
    }

    /// Re-runs `w`'s command; if it produced a reply, the waiter is done and woken. Keys the
    /// re-run made ready are added to `work`.
    fn serve_waiter(&self, w: &Arc<Waiter>, work: &mut VecDeque<Ready>) -> bool {
        let mut st = w.state.lock();
        // A killed client is about to be cancelled by its connection: give it nothing.
        if !matches!(*st, State::Waiting) || w.handle.is_killed() {
            return false;
        }
        let (reply, ready) = self.rerun(w);
        work.extend(ready);
        let Some(reply) = reply else {
            return false;
        };
        *st = State::Done(reply);
        self.blocking.remove(&self.keyspace, &self.stats, w);
        drop(st);
        w.wake();
        true
    }

    /// Runs a waiter's command line as the waiter's client, in serving mode. Returns its
    /// reply (none if it found nothing) and the keys it made ready.
    fn rerun(&self, w: &Waiter) -> (Option<Bytes>, Vec<Ready>) {
        let args: SmallVec<[&[u8]; 8]> = w.args.iter().map(|a| &a[..]).collect();
        let Some(cmd) = args.first().and_then(|name| self.commands.get(name)) else {
            return (None, Vec::new());
        };
        let mut sess = Session::new(w.handle.clone(), true);
        sess.db = w.db;
        sess.serving_blocked = true;
        let mut out = ReplyWriter::new(w.resp3);
        // The view as the dispatcher builds it for a command (access clocks, default-ttl).
        let now_ms = unix_ms();
        let mut view = if self.config.lfu_policy() {
            let lfu = crate::evict::Lfu::new(now_ms, &self.config.memory());
            let mut v = DbView::new(&self.keyspace, w.db, now_ms, Some(lfu.initial()));
            v.lfu = Some(lfu);
            v
        } else {
            DbView::new(
                &self.keyspace,
                w.db,
                now_ms,
                Some(Engine::lru_clock(now_ms)),
            )
        };
        view.default_ttl_ms = self.config.default_ttl_ms();
        let positions = cmd.key_positions(&args);
        view.lock_keys(w.db, positions.iter().map(|&i| args[i]));
        let mut ctx = Ctx {
            engine: self,
            cmd,
            sess: &mut sess,
            args: &args,
            out: &mut out,
            db: view,
            action: None,
            rewrite: None,
        };
        let result = (cmd.def.handler)(&mut ctx);
        let Ctx {
            mut db,
            rewrite,
            out,
            sess,
            ..
        } = ctx;
        db.unlock();
        if let Err(e) = &result {
            let text = e.to_string();
            out.error(&text);
            self.stats.record_error(&text);
            cmd.stats.fail();
        }
        self.after(cmd, sess, &args, &db, rewrite);
        let ready = std::mem::take(&mut db.ready);
        let reply = (!out.is_empty()).then(|| out.buffer().split().freeze());
        (reply, ready)
    }

    /// The reply of a served (or unblocked) blocked command, if it is ready; taking it ends the
    /// block. Empty bytes when the client turned replies off.
    pub fn block_take_reply(&self, t: &BlockTicket) -> Option<Bytes> {
        let mut st = t.waiter.state.lock();
        match std::mem::replace(&mut *st, State::Finished) {
            State::Done(reply) => Some(t.waiter.deliver(reply)),
            other => {
                *st = other;
                None
            }
        }
    }

    /// The deadline passed: ends the block and returns the reply to send, which is the served
    /// reply if the waiter was served meanwhile, else the timeout reply.
    pub fn block_timed_out(&self, t: &BlockTicket) -> Bytes {
        let w = &t.waiter;
        let mut st = w.state.lock();
        let reply = match std::mem::replace(&mut *st, State::Finished) {
            State::Done(reply) => reply,
            State::Waiting => {
                self.blocking.remove(&self.keyspace, &self.stats, w);
                w.timeout_reply()
            }
            State::Finished => Bytes::new(),
        };
        w.deliver(reply)
    }

    /// The client went away while blocked (disconnect, CLIENT KILL, shutdown): removes its
    /// waiter. A reply already made for it is dropped with the client.
    pub fn block_cancel(&self, t: &BlockTicket) {
        let w = &t.waiter;
        let mut st = w.state.lock();
        *st = State::Finished;
        self.blocking.remove(&self.keyspace, &self.stats, w);
    }

    /// Removes client `id`'s waiter, if any (its connection closed).
    pub fn block_client_gone(&self, id: u64) {
        if let Some(w) = self.blocking.of_client(id) {
            self.block_cancel(&BlockTicket { waiter: w });
        }
    }

    /// CLIENT UNBLOCK: ends client `id`'s block with the timeout reply, or with the
    /// `-UNBLOCKED` error when `error`. Returns whether the client was blocked.
    pub fn unblock_client(&self, id: u64, error: bool) -> bool {
        let Some(w) = self.blocking.of_client(id) else {
            return false;
        };
        let mut st = w.state.lock();
        if !matches!(*st, State::Waiting) {
            return false;
        }
        let reply = if error {
            const TEXT: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";
            self.stats.record_error(TEXT);
            Bytes::from(format!("-{TEXT}\r\n"))
        } else {
            w.timeout_reply()
        };
        *st = State::Done(reply);
        self.blocking.remove(&self.keyspace, &self.stats, &w);
        drop(st);
        w.wake();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_as_redis() {
        let now = 1_000_000;
        assert_eq!(parse_timeout(b"0", now), Ok(0));
        assert_eq!(parse_timeout(b"-0", now), Ok(0));
        assert_eq!(parse_timeout(b"1e-400", now), Ok(0));
        assert_eq!(parse_timeout(b"0.0001", now), Ok(0));
        assert_eq!(parse_timeout(b"0.1", now), Ok(now + 100));
        assert_eq!(parse_timeout(b"1.5", now), Ok(now + 1500));
        assert_eq!(parse_timeout(b"0x10", now), Ok(now + 16000));
        let not_float = Err(Error::msg("ERR timeout is not a float or out of range"));
        let negative = Err(Error::msg("ERR timeout is negative"));
        for bad in [&b"abc"[..], b"", b" 1", b"1 ", b"nan", b"1\x00"] {
            assert_eq!(parse_timeout(bad, now), not_float, "{bad:?}");
        }
        for neg in [&b"-1"[..], b"-0.5", b"inf", b"-inf", b"1e400", b"1e16"] {
            assert_eq!(parse_timeout(neg, now), negative, "{neg:?}");
        }
        assert!(parse_timeout(b"9.2e15", now).is_ok());
    }
}
