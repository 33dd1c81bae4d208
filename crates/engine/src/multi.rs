//! Transactions (Redis's multi.c): MULTI, EXEC, DISCARD, WATCH, UNWATCH, and the WATCH
//! registry.
//!
//! Queueing. MULTI gives the session a queue ([`TxState`]). From then on the dispatcher queues
//! every command that passed its checks, replying `+QUEUED`, except EXEC, DISCARD, MULTI,
//! WATCH, QUIT and RESET, which run at once as in Redis ([`runs_in_multi`]). A command rejected
//! before it could be queued (unknown, unknown subcommand, wrong arity, NOAUTH, flagged
//! `no_multi`) is replied as usual and flags the transaction: EXEC then answers EXECABORT.
//! Like Redis, nothing more is stored once the transaction is flagged or a watched key was
//! touched (it will not run). Queued arguments are copied into one buffer per transaction.
//!
//! EXEC takes the engine gate exclusively (upgrading its connection's shared hold; see
//! [`crate::gate`]), so no other command and no active expiry interleaves with it. Then it
//! checks WATCH, unwatches, and runs each queued command through the normal
//! `Engine::call` with an exclusive [`DbView`] (shards locked on first use), one command time
//! for the whole transaction (EXEC's own, as Redis does), `no_block` set (blocking commands
//! answer at once) and each reply appended to EXEC's array. What the commands propagate is
//! collected and sent as one unit ([`Engine::begin_unit`]): one record as is, several wrapped
//! in MULTI ... EXEC, as Redis 7.0 does; nothing when nothing was written.
//!
//! WATCH. The registry [`Watches`] lives in the keyspace (so `DbView` reaches it) and maps
//! `(db, key)` to the clients watching it, in 64 stripes by the key's shard index. Every write
//! through `DbView` (set, insert, remove, expiry change, in-place change, lazy expiry), active
//! expiry, FLUSHDB/FLUSHALL and SWAPDB touch it; touching a watched key sets the watchers'
//! `dirty_cas` flag in their `ClientHandle` (a plain atomic store). A write first loads the
//! number of watches ([`Watches::active`]): when nobody watches anything, that load is all it
//! costs.
//!
//! Ordering. WATCH registers a key while holding the key's shard lock (its key spec), and every
//! write to the key holds that lock, so a write either precedes the WATCH or finds the
//! registration. Registry stripes are locked after shard locks, never before.
//!
//! Expired keys, as Redis 7.0: a key WATCHed while logically expired but still stored is
//! remembered as such, so its deletion (lazy or active expiry, FLUSH*) is no change; and EXEC
//! fails if a watched key that was live at WATCH time has expired by EXEC time, even though
//! nobody touched it yet. One difference: when a key watched as expired is written while still
//! stored (which the lazy expiry before every write makes unreachable in practice), Redis stops
//! notifying the key's remaining watchers (`break`); Flint skips only that watcher.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use flint_protocol::ReplyWriter;
use hashbrown::{Equivalent, HashMap};
use parking_lot::Mutex;
use smallvec::SmallVec;

use crate::clients::ClientHandle;
use crate::cmd::{def, flags, keys, Command, CommandDef, KeySpec};
use crate::ctx::{Action, Ctx, DbView};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::keyspace::{shard_of, SHARDS};
use crate::session::Session;

/// The transaction commands.
#[rustfmt::skip]
pub static COMMANDS: &[CommandDef] = &[
    def("multi", 1, "noscript loading stale fast allow_busy", KeySpec::None, "@transaction", "transactions", "Mark the start of a transaction block", "1.2.0", multi)
        .complexity("O(1)"),
    def("exec", 1, "noscript loading stale skip_slowlog", KeySpec::None, "@transaction", "transactions", "Execute all commands issued after MULTI", "1.2.0", exec)
        .complexity("Depends on commands in the transaction"),
    def("discard", 1, "noscript loading stale fast allow_busy", KeySpec::None, "@transaction", "transactions", "Discard all commands issued after MULTI", "2.0.0", discard)
        .complexity("O(N), when N is the number of queued commands"),
    def("watch", -2, "noscript loading stale fast allow_busy", keys(1, -1, 1), "@transaction", "transactions", "Watch the given keys to determine execution of the MULTI/EXEC block", "2.2.0", watch)
        .key_flags("RO")
        .complexity("O(1) for every key."),
    def("unwatch", 1, "noscript loading stale fast allow_busy", KeySpec::None, "@transaction", "transactions", "Forget about all watched keys", "2.2.0", unwatch)
        .complexity("O(1)"),
];

const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";
const NOT_IN_MULTI: &str = "ERR Command not allowed inside a transaction";

/// Whether `cmd` runs at once inside MULTI instead of being queued (Redis's list in
/// `processCommand`).
pub(crate) fn runs_in_multi(cmd: &Command) -> bool {
    matches!(
        cmd.full_name.as_str(),
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

/// The commands of an open transaction, arguments copied back to back.
#[derive(Debug, Default)]
struct Queue {
    /// Every queued argument's bytes.
    bytes: Vec<u8>,
    /// End offset in `bytes` of each argument.
    arg_ends: Vec<usize>,
    /// End index in `arg_ends` of each command.
    cmd_ends: Vec<usize>,
    /// Union of the queued commands' flags (CLIENT PAUSE WRITE holds an EXEC that writes).
    flags: u32,
    /// A command was rejected while queueing: EXEC aborts (Redis's `CLIENT_DIRTY_EXEC`).
    errored: bool,
}

impl Queue {
    fn push(&mut self, args: &[&[u8]]) {
        for a in args {
            self.bytes.extend_from_slice(a);
            self.arg_ends.push(self.bytes.len());
        }
        self.cmd_ends.push(self.arg_ends.len());
    }

    fn len(&self) -> usize {
        self.cmd_ends.len()
    }

    /// The arguments of queued command `i`.
    fn command(&self, i: usize) -> SmallVec<[&[u8]; 8]> {
        let first = match i {
            0 => 0,
            _ => self.cmd_ends.get(i - 1).copied().unwrap_or(0),
        };
        let last = self.cmd_ends.get(i).copied().unwrap_or(first);
        let mut start = match first {
            0 => 0,
            _ => self.arg_ends.get(first - 1).copied().unwrap_or(0),
        };
        let mut out = SmallVec::new();
        for &end in self.arg_ends.get(first..last).unwrap_or(&[]) {
            out.push(self.bytes.get(start..end).unwrap_or(&[]));
            start = end;
        }
        out
    }
}

/// A session's MULTI/EXEC and WATCH state.
#[derive(Debug, Default)]
pub struct TxState {
    /// Set between MULTI and EXEC/DISCARD.
    queue: Option<Box<Queue>>,
    /// The keys this client watches, as `(db, key)`.
    watched: Vec<(usize, Box<[u8]>)>,
    /// Propagation records held back while a unit (EXEC, a script) runs.
    capture: Option<Vec<(usize, Vec<Bytes>)>>,
    /// The session holds the engine gate exclusively (inside EXEC or a script).
    exclusive: bool,
}

impl TxState {
    /// Whether the client is between MULTI and EXEC/DISCARD.
    #[inline]
    pub fn in_multi(&self) -> bool {
        self.queue.is_some()
    }

    /// Inside MULTI: a command was rejected, EXEC must abort.
    #[inline]
    pub(crate) fn flag_error(&mut self) {
        if let Some(q) = &mut self.queue {
            q.errored = true;
        }
    }

    /// Whether EXEC would run a command that may write (CLIENT PAUSE WRITE holds such an EXEC,
    /// as Redis does).
    pub fn queued_may_write(&self) -> bool {
        self.queue
            .as_ref()
            .is_some_and(|q| q.flags & (flags::WRITE | flags::MAY_REPLICATE) != 0)
    }

    /// Whether EXEC would run a command refused over maxmemory (a write, or a script whose
    /// flags deny OOM): EXEC is then refused as a whole when memory is over, as in Redis.
    pub fn queued_denies_oom(&self) -> bool {
        self.queue
            .as_ref()
            .is_some_and(|q| q.flags & flags::DENYOOM != 0)
    }

    /// Number of keys the client watches.
    pub fn watched_keys(&self) -> usize {
        self.watched.len()
    }
}

/// A watched key in the registry.
#[derive(PartialEq, Eq, Hash)]
struct WatchKey {
    db: usize,
    key: Box<[u8]>,
}

/// A borrowed [`WatchKey`] for lookups (hashes the same way).
#[derive(Hash)]
struct WatchKeyRef<'a> {
    db: usize,
    key: &'a [u8],
}

impl Equivalent<WatchKey> for WatchKeyRef<'_> {
    fn equivalent(&self, k: &WatchKey) -> bool {
        self.db == k.db && self.key == &*k.key
    }
}

/// One client watching one key.
struct Watcher {
    client: Arc<ClientHandle>,
    /// The key was logically expired (but still stored) when WATCHed.
    expired: bool,
}

#[repr(align(128))]
#[derive(Default)]
struct WatchStripe(Mutex<HashMap<WatchKey, Vec<Watcher>>>);

/// The WATCH registry: who watches which key (see the module documentation).
pub struct Watches {
    /// Registrations in all stripes; 0 lets writes skip the registry.
    count: AtomicUsize,
    /// By the key's shard index.
    stripes: Box<[WatchStripe]>,
}

impl Default for Watches {
    fn default() -> Self {
        Self::new()
    }
}

impl Watches {
    /// An empty registry.
    pub fn new() -> Self {
        Watches {
            count: AtomicUsize::new(0),
            stripes: (0..SHARDS).map(|_| WatchStripe::default()).collect(),
        }
    }

    /// Whether any client watches any key (one relaxed load: what every write pays).
    #[inline]
    pub fn active(&self) -> bool {
        self.count.load(Ordering::Relaxed) != 0
    }

    /// Number of (client, key) registrations.
    pub fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Whether nobody watches anything.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    fn stripe(&self, hash: u64) -> &Mutex<HashMap<WatchKey, Vec<Watcher>>> {
        &self.stripes[shard_of(hash) % self.stripes.len()].0
    }

    /// `key` of `db` (whose hash is `hash`) changed; `present`: it exists after the change.
    /// Marks its watchers dirty, except those that watched it already expired, for whom its
    /// deletion is no change. Call with the key's shard locked.
    #[cold]
    #[inline(never)]
    pub fn touch(&self, db: usize, key: &[u8], hash: u64, present: bool) {
        let mut map = self.stripe(hash).lock();
        let Some(watchers) = map.get_mut(&WatchKeyRef { db, key }) else {
            return;
        };
        for w in watchers.iter_mut() {
            if w.expired {
                if !present {
                    // The expired key is gone: no logical change, and it is no longer
                    // "watched while expired".
                    w.expired = false;
                }
                continue;
            }
            w.client.dirty_cas.store(true, Ordering::Release);
        }
    }

    /// Registers `client` as watching `key` of `db`. Call with the key's shard locked.
    fn add(&self, db: usize, key: &[u8], hash: u64, client: &Arc<ClientHandle>, expired: bool) {
        let w = Watcher {
            client: client.clone(),
            expired,
        };
        let mut map = self.stripe(hash).lock();
        match map.get_mut(&WatchKeyRef { db, key }) {
            Some(list) => list.push(w),
            None => {
                map.insert(
                    WatchKey {
                        db,
                        key: key.into(),
                    },
                    vec![w],
                );
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Unregisters client `id` from `key` of `db`.
    fn remove(&self, db: usize, key: &[u8], hash: u64, id: u64) {
        let mut map = self.stripe(hash).lock();
        let r = WatchKeyRef { db, key };
        let Some(list) = map.get_mut(&r) else {
            return;
        };
        if let Some(p) = list.iter().position(|w| w.client.id == id) {
            list.swap_remove(p);
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
        if list.is_empty() {
            map.remove(&r);
        }
    }

    /// Whether client `id` watched `key` of `db` while it was already expired.
    fn watched_expired(&self, db: usize, key: &[u8], hash: u64, id: u64) -> bool {
        let map = self.stripe(hash).lock();
        map.get(&WatchKeyRef { db, key })
            .and_then(|l| l.iter().find(|w| w.client.id == id))
            .is_some_and(|w| w.expired)
    }

    /// Every watched key of `db`.
    fn keys_in_db(&self, db: usize) -> Vec<Box<[u8]>> {
        let mut out = Vec::new();
        for s in self.stripes.iter() {
            let map = s.0.lock();
            out.extend(map.keys().filter(|k| k.db == db).map(|k| k.key.clone()));
        }
        out
    }

    /// Redis's `touchAllWatchedKeysInDb` for one key: database `db` is emptied (FLUSH*) or, with
    /// `replacing`, gets another database's contents (SWAPDB). `in_emptied`: the key is stored
    /// in `db` now; `in_replaced`: it is stored in the replacing database (`Some(expired)`).
    fn touch_replaced(
        &self,
        db: usize,
        key: &[u8],
        hash: u64,
        in_emptied: bool,
        replacing: bool,
        in_replaced: Option<bool>,
    ) {
        let mut map = self.stripe(hash).lock();
        let Some(watchers) = map.get_mut(&WatchKeyRef { db, key }) else {
            return;
        };
        for w in watchers.iter_mut() {
            if w.expired {
                if !replacing || in_replaced.is_none() {
                    // The expired key is gone: no logical change.
                    w.expired = false;
                    continue;
                }
                if in_replaced == Some(true) {
                    // An expired key stays expired.
                    continue;
                }
            } else if !in_emptied && in_replaced == Some(true) {
                // A missing key replaced by an expired one.
                w.expired = true;
                continue;
            }
            w.client.dirty_cas.store(true, Ordering::Release);
        }
    }
}

/// FLUSHDB/FLUSHALL (`replaced_with` None) and SWAPDB: touches the watched keys of `emptied`
/// that exist in it or in `replaced_with`, before the contents change. `view` must hold every
/// shard of both databases (or be exclusive).
pub(crate) fn touch_db(view: &mut DbView<'_>, emptied: usize, replaced_with: Option<usize>) {
    let ks = view.keyspace();
    let watches = &ks.watches;
    if !watches.active() {
        return;
    }
    let now = view.now_ms;
    for key in watches.keys_in_db(emptied) {
        let hash = ks.hasher.hash(&key);
        let s = shard_of(hash);
        let in_emptied = view.shard(emptied, s).get(hash, &key).is_some();
        let in_replaced =
            replaced_with.and_then(|r| view.shard(r, s).get(hash, &key).map(|e| e.is_expired(now)));
        if in_emptied || in_replaced.is_some() {
            watches.touch_replaced(
                emptied,
                &key,
                hash,
                in_emptied,
                replaced_with.is_some(),
                in_replaced,
            );
        }
    }
}

impl Engine {
    /// Enters the engine gate shared for a batch of commands (see [`crate::gate`]); does
    /// nothing if `sess` already holds it. Returns false while an exclusive section (EXEC, a
    /// script) holds the gate: await `self.gate.ready()` and try again. Leave with
    /// [`Engine::leave_batch`] before any await.
    #[inline]
    pub fn enter_batch(&self, sess: &mut Session) -> bool {
        if sess.gate.is_some() {
            return true;
        }
        match self.gate.try_enter() {
            Some(h) => {
                sess.gate = Some(h);
                true
            }
            None => false,
        }
    }

    /// Leaves the gate entered by [`Engine::enter_batch`] (nothing if not held).
    #[inline]
    pub fn leave_batch(&self, sess: &mut Session) {
        if let Some(h) = sess.gate.take() {
            self.gate.leave(h);
        }
    }

    /// Whether `sess` holds the gate for a batch.
    pub fn in_batch(&self, sess: &Session) -> bool {
        sess.gate.is_some()
    }

    /// The client is going away: leaves the gate, drops its transaction and its watches.
    pub fn close_session(&self, sess: &mut Session) {
        self.leave_batch(sess);
        self.discard_transaction(sess);
        self.unsubscribe_all(sess);
    }

    /// Ends `sess`'s transaction, if any, and forgets what it watches (Redis's
    /// `discardTransaction`: DISCARD, EXEC, RESET).
    pub fn discard_transaction(&self, sess: &mut Session) {
        sess.tx.queue = None;
        sess.handle.multi_len.store(-1, Ordering::Relaxed);
        self.unwatch_all(sess);
        // After unregistering: nobody can set it again.
        sess.handle.dirty_cas.store(false, Ordering::Relaxed);
    }

    /// Forgets every key `sess` watches (the dirty flag is the caller's).
    fn unwatch_all(&self, sess: &mut Session) {
        if sess.tx.watched.is_empty() {
            return;
        }
        let id = sess.id;
        let ks = &self.keyspace;
        for (db, key) in sess.tx.watched.drain(..) {
            ks.watches.remove(db, &key, ks.hasher.hash(&key), id);
        }
    }

    /// Queues a checked command of an open transaction, or rejects it if it may not be queued.
    pub(crate) fn queue_command(
        &self,
        cmd: &Command,
        sess: &mut Session,
        args: &[&[u8]],
        out: &mut ReplyWriter,
    ) -> Option<Action> {
        // Over maxmemory nothing is queued (a transaction could otherwise grow without
        // bound), whatever the command, as in Redis.
        if !sess.skip_oom_check && self.over_maxmemory() {
            cmd.stats.reject();
            self.reject(out, &Error::Oom);
            sess.tx.flag_error();
            return None;
        }
        if cmd.has(flags::NO_MULTI) {
            cmd.stats.reject();
            self.reject(out, &Error::msg(NOT_IN_MULTI));
            sess.tx.flag_error();
            return None;
        }
        // CLIENT LIST's `cmd=` shows queued commands, as Redis's does.
        self.note_command(cmd, sess);
        let dirty = sess.handle.dirty_cas.load(Ordering::Relaxed);
        if let Some(q) = sess.tx.queue.as_mut() {
            // As Redis: a transaction that will not run keeps nothing.
            if !q.errored && !dirty {
                q.push(args);
                q.flags |= cmd.flags;
                // A script's flags count as the command's (Redis's `evalGetCommandFlags`).
                if crate::scripting::denies_oom(self, cmd.def, args) {
                    q.flags |= flags::DENYOOM;
                }
                sess.handle
                    .multi_len
                    .store(q.len() as i64, Ordering::Relaxed);
            }
        }
        out.simple("QUEUED");
        None
    }

    /// EXEC itself was rejected (arity, authentication): the transaction is discarded and the
    /// reason given as `EXECABORT Transaction discarded because of: <reason>` (Redis's
    /// `execCommandAbort`, whose reasons have no `ERR ` prefix).
    pub(crate) fn exec_abort(&self, sess: &mut Session, out: &mut ReplyWriter, e: &Error) {
        self.discard_transaction(sess);
        let text = e.to_string();
        let reason = text.strip_prefix("ERR ").unwrap_or(&text);
        self.reject(
            out,
            &Error::msg(format!(
                "EXECABORT Transaction discarded because of: {reason}"
            )),
        );
    }

    /// Sends a propagation record for a command run by `sess`, or holds it back while `sess`
    /// runs a unit (see [`Engine::begin_unit`]).
    pub(crate) fn propagate_for(&self, sess: &mut Session, db: usize, args: &[&[u8]]) {
        match &mut sess.tx.capture {
            Some(records) => {
                records.push((db, args.iter().map(|a| Bytes::copy_from_slice(a)).collect()))
            }
            None => self.propagate(db, args),
        }
    }

    /// Starts holding back what commands run by `sess` propagate, to send them as one unit
    /// with [`Engine::end_unit`] (EXEC; scripts). Returns false (and does nothing) when
    /// nothing consumes records or a unit is already open (EVAL inside EXEC): only the caller
    /// that got true ends the unit.
    pub fn begin_unit(&self, sess: &mut Session) -> bool {
        if !self.propagating() || sess.tx.capture.is_some() {
            return false;
        }
        sess.tx.capture = Some(Vec::new());
        true
    }

    /// Sends what the unit held back, as Redis 7.0 does: one record as is, several wrapped in
    /// MULTI ... EXEC (MULTI in the first record's database, EXEC in the last's).
    pub fn end_unit(&self, sess: &mut Session) {
        let Some(records) = sess.tx.capture.take() else {
            return;
        };
        let wrap = records.len() > 1;
        if let (true, Some((db, _))) = (wrap, records.first()) {
            self.propagate(*db, &[b"MULTI"]);
        }
        let mut last_db = 0;
        for (db, r) in &records {
            let slices: SmallVec<[&[u8]; 8]> = r.iter().map(|b| &b[..]).collect();
            self.propagate(*db, &slices);
            last_db = *db;
        }
        if wrap {
            self.propagate(last_db, &[b"EXEC"]);
        }
    }

    /// Runs `f` with the engine gate held exclusively by `sess` (nothing else runs meanwhile),
    /// upgrading its batch's shared hold. If `sess` is already exclusive (a script run by
    /// EXEC), just runs `f`.
    ///
    /// IMPORTANT: call it holding no shard lock (`ctx.db.unlock()` first if the dispatcher
    /// locked keys): shared holders may be waiting for that shard, and this waits for them.
    pub fn with_exclusive<R>(&self, sess: &mut Session, f: impl FnOnce(&mut Session) -> R) -> R {
        if sess.tx.exclusive {
            return f(sess);
        }
        let _gate = self.gate.exclusive(sess.gate.as_ref());
        sess.tx.exclusive = true;
        let r = f(sess);
        sess.tx.exclusive = false;
        r
    }

    /// Takes the engine gate exclusively for `sess` (see [`Engine::with_exclusive`]), for
    /// callers that cannot run their section in a closure; `None` if `sess` already holds it.
    /// Hand the result back to [`Engine::end_exclusive`].
    pub(crate) fn begin_exclusive(&self, sess: &mut Session) -> Option<crate::gate::Exclusive<'_>> {
        if sess.tx.exclusive {
            return None;
        }
        let g = self.gate.exclusive(sess.gate.as_ref());
        sess.tx.exclusive = true;
        Some(g)
    }

    /// Ends a section begun with [`Engine::begin_exclusive`].
    pub(crate) fn end_exclusive(&self, sess: &mut Session, g: Option<crate::gate::Exclusive<'_>>) {
        if g.is_some() {
            sess.tx.exclusive = false;
        }
        drop(g);
    }

    /// Whether a watched key of `sess` that was live when WATCHed has expired by `now_ms`
    /// (Redis's `isWatchedKeyExpired`). Call holding the gate exclusively.
    fn watched_key_expired(&self, sess: &Session, now_ms: u64) -> bool {
        if sess.tx.watched.is_empty() {
            return false;
        }
        let ks = &self.keyspace;
        let mut view = DbView::exclusive(ks, sess.db, now_ms, None);
        let expired = sess.tx.watched.iter().any(|(db, key)| {
            let hash = ks.hasher.hash(key);
            !ks.watches.watched_expired(*db, key, hash, sess.id)
                && view
                    .shard(*db, shard_of(hash))
                    .get(hash, key)
                    .is_some_and(|e| e.is_expired(now_ms))
        });
        view.unlock();
        expired
    }

    /// Runs the queued commands of a transaction: call holding the gate exclusively, after
    /// the WATCH checks. Writes EXEC's array into `out`; returns what the connection must do
    /// after (the strongest action a command asked for).
    fn run_queue(
        &self,
        sess: &mut Session,
        out: &mut ReplyWriter,
        queue: &Queue,
        now_ms: u64,
    ) -> Option<Action> {
        let no_block = std::mem::replace(&mut sess.no_block, true);
        let unit = self.begin_unit(sess);
        out.array(queue.len());
        let mut action = None;
        for i in 0..queue.len() {
            let args = queue.command(i);
            let Some(cmd) = self.resolve(&args) else {
                // Queued commands passed the checks; the table does not change.
                out.error("ERR unknown command");
                continue;
            };
            let start = self.clock.now();
            let lru = (!sess.no_touch).then(|| Engine::lru_clock(now_ms));
            let view = DbView::exclusive(&self.keyspace, sess.db, now_ms, lru);
            let next = self.call(cmd, sess, &args, out, view, start);
            action = match (action, next) {
                (Some(a @ (Action::Close | Action::Shutdown)), _) => Some(a),
                (a, None) => a,
                (_, n) => n,
            };
        }
        if unit {
            self.end_unit(sess);
        }
        sess.no_block = no_block;
        action
    }
}

// MULTI
fn multi(ctx: &mut Ctx<'_>) -> Result<()> {
    if ctx.sess.tx.in_multi() {
        return Err(Error::msg("ERR MULTI calls can not be nested"));
    }
    ctx.sess.tx.queue = Some(Box::default());
    ctx.sess.handle.multi_len.store(0, Ordering::Relaxed);
    ctx.out.ok();
    Ok(())
}

// EXEC
fn exec(ctx: &mut Ctx<'_>) -> Result<()> {
    let engine = ctx.engine;
    let Some(queue) = ctx.sess.tx.queue.take() else {
        return Err(Error::msg("ERR EXEC without MULTI"));
    };
    if queue.errored {
        engine.discard_transaction(ctx.sess);
        return Err(Error::msg(EXECABORT));
    }
    // The whole transaction runs at EXEC's command time, as in Redis.
    let now_ms = ctx.db.now_ms;
    let out = &mut *ctx.out;
    let action = engine.with_exclusive(ctx.sess, |sess| {
        let touched = sess.handle.dirty_cas.load(Ordering::Acquire)
            || engine.watched_key_expired(sess, now_ms);
        if touched {
            engine.discard_transaction(sess);
            out.null_array();
            return None;
        }
        // Unwatch first: the transaction's own writes must not touch its watches.
        engine.unwatch_all(sess);
        let action = engine.run_queue(sess, out, &queue, now_ms);
        engine.discard_transaction(sess);
        action
    });
    ctx.action = action;
    Ok(())
}

// DISCARD
fn discard(ctx: &mut Ctx<'_>) -> Result<()> {
    if !ctx.sess.tx.in_multi() {
        return Err(Error::msg("ERR DISCARD without MULTI"));
    }
    ctx.engine.discard_transaction(ctx.sess);
    ctx.out.ok();
    Ok(())
}

// WATCH key [key ...]
fn watch(ctx: &mut Ctx<'_>) -> Result<()> {
    if ctx.sess.tx.in_multi() {
        return Err(Error::msg("ERR WATCH inside MULTI is not allowed"));
    }
    // No point in watching for a client whose EXEC already fails.
    if ctx.sess.handle.dirty_cas.load(Ordering::Relaxed) {
        ctx.out.ok();
        return Ok(());
    }
    let ks = ctx.db.keyspace();
    let (db, now) = (ctx.sess.db, ctx.db.now_ms);
    for key in ctx.args.iter().skip(1) {
        if ctx
            .sess
            .tx
            .watched
            .iter()
            .any(|(d, k)| *d == db && &**k == *key)
        {
            continue;
        }
        let hash = ks.hasher.hash(key);
        // Stored but logically expired (Redis's keyIsExpired): not looked up, so not removed.
        let expired = ctx
            .db
            .shard(db, shard_of(hash))
            .get(hash, key)
            .is_some_and(|e| e.is_expired(now));
        ks.watches.add(db, key, hash, &ctx.sess.handle, expired);
        ctx.sess.tx.watched.push((db, (*key).into()));
    }
    ctx.out.ok();
    Ok(())
}

// UNWATCH
fn unwatch(ctx: &mut Ctx<'_>) -> Result<()> {
    ctx.engine.unwatch_all(ctx.sess);
    ctx.sess.handle.dirty_cas.store(false, Ordering::Relaxed);
    ctx.out.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{bulk, int, Kit};

    #[test]
    fn queue_and_exec() {
        let mut k = Kit::new();
        assert_eq!(k.run(&["MULTI"]), "+OK\r\n");
        assert_eq!(k.run(&["SET", "a", "1"]), "+QUEUED\r\n");
        assert_eq!(k.run(&["INCR", "a"]), "+QUEUED\r\n");
        assert_eq!(k.run(&["GET", "a"]), "+QUEUED\r\n");
        assert_eq!(k.sess.handle.multi_len.load(Ordering::Relaxed), 3);
        assert_eq!(k.sess.handle.flags_string(), "x");
        assert_eq!(
            k.run(&["EXEC"]),
            format!("*3\r\n+OK\r\n{}{}", int(2), bulk("2"))
        );
        assert_eq!(k.sess.handle.multi_len.load(Ordering::Relaxed), -1);
        assert_eq!(k.sess.handle.flags_string(), "N");
        assert_eq!(k.run(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
        assert_eq!(k.run(&["DISCARD"]), "-ERR DISCARD without MULTI\r\n");
    }

    #[test]
    fn errors_while_queueing_abort() {
        let mut k = Kit::new();
        k.run(&["MULTI"]);
        assert_eq!(k.run(&["MULTI"]), "-ERR MULTI calls can not be nested\r\n");
        assert_eq!(
            k.run(&["WATCH", "x"]),
            "-ERR WATCH inside MULTI is not allowed\r\n"
        );
        // Neither of those flags the transaction.
        k.run(&["SET", "a", "1"]);
        assert_eq!(k.run(&["EXEC"]), "*1\r\n+OK\r\n");
        for bad in [&["NOPE"][..], &["GET"], &["SHUTDOWN"], &["CONFIG", "NOPE"]] {
            k.run(&["MULTI"]);
            assert!(k.run(bad).starts_with('-'), "{bad:?}");
            assert_eq!(k.run(&["PING"]), "+QUEUED\r\n");
            assert_eq!(
                k.run(&["EXEC"]),
                "-EXECABORT Transaction discarded because of previous errors.\r\n"
            );
            assert!(!k.sess.tx.in_multi());
        }
        // EXEC rejected: the transaction is discarded.
        k.run(&["MULTI"]);
        k.run(&["PING"]);
        assert_eq!(
            k.run(&["EXEC", "x"]),
            "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"
        );
        assert!(!k.sess.tx.in_multi());
        k.run(&["MULTI"]);
        assert_eq!(
            k.run(&["SHUTDOWN"]),
            "-ERR Command not allowed inside a transaction\r\n"
        );
        assert_eq!(k.run(&["DISCARD"]), "+OK\r\n");
        // A subcommand named like a command that runs in MULTI is still queued.
        k.run(&["MULTI"]);
        assert_eq!(k.run(&["LATENCY", "RESET"]), "+QUEUED\r\n");
        assert_eq!(k.run(&["DISCARD"]), "+OK\r\n");
    }

    #[test]
    fn runtime_errors_stay_in_the_array() {
        let mut k = Kit::new();
        k.run(&["SET", "s", "x"]);
        k.run(&["MULTI"]);
        k.run(&["INCR", "s"]);
        k.run(&["SET", "t", "1"]);
        assert_eq!(
            k.run(&["EXEC"]),
            "*2\r\n-ERR value is not an integer or out of range\r\n+OK\r\n"
        );
        assert_eq!(k.run(&["GET", "t"]), bulk("1"));
    }

    #[test]
    fn watch_touched_by_another_client() {
        let mut a = Kit::new();
        let mut b = Kit::with_engine(a.engine.clone());
        a.run(&["SET", "k", "1"]);
        assert_eq!(a.run(&["WATCH", "k"]), "+OK\r\n");
        assert!(a.engine.keyspace.watches.active());
        b.run(&["SET", "k", "2"]);
        assert_eq!(a.sess.handle.flags_string(), "d");
        a.run(&["MULTI"]);
        a.run(&["SET", "k", "3"]);
        assert_eq!(a.run(&["EXEC"]), "*-1\r\n");
        assert_eq!(a.run(&["GET", "k"]), bulk("2"));
        assert!(!a.engine.keyspace.watches.active());
        // Untouched: runs.
        a.run(&["WATCH", "k"]);
        b.run(&["GET", "k"]);
        b.run(&["SET", "other", "1"]);
        a.run(&["MULTI"]);
        a.run(&["SET", "k", "3"]);
        assert_eq!(a.run(&["EXEC"]), "*1\r\n+OK\r\n");
        // UNWATCH forgets, and clears the dirty flag.
        a.run(&["WATCH", "k"]);
        b.run(&["DEL", "k"]);
        a.run(&["UNWATCH"]);
        a.run(&["MULTI"]);
        a.run(&["PING"]);
        assert_eq!(a.run(&["EXEC"]), "*1\r\n+PONG\r\n");
        // A key in another database is another key.
        a.run(&["WATCH", "k"]);
        b.run(&["SELECT", "1"]);
        b.run(&["SET", "k", "x"]);
        a.run(&["MULTI"]);
        a.run(&["PING"]);
        assert_eq!(a.run(&["EXEC"]), "*1\r\n+PONG\r\n");
        assert!(a.engine.keyspace.watches.is_empty());
    }

    #[test]
    fn own_writes_before_multi_touch() {
        let mut a = Kit::new();
        a.run(&["WATCH", "k"]);
        a.run(&["SET", "k", "1"]);
        a.run(&["MULTI"]);
        a.run(&["PING"]);
        assert_eq!(a.run(&["EXEC"]), "*-1\r\n");
        a.out.set_resp3(true);
        a.run(&["WATCH", "k"]);
        a.run(&["INCR", "k"]);
        a.run(&["MULTI"]);
        assert_eq!(a.run(&["EXEC"]), "_\r\n");
    }

    #[test]
    fn every_kind_of_write_touches() {
        for (setup, write) in [
            (&["SET", "k", "1"][..], &["APPEND", "k", "x"][..]),
            (&["SET", "k", "1"], &["EXPIRE", "k", "100"]),
            (&["SET", "k", "1", "EX", "100"], &["PERSIST", "k"]),
            (&["SET", "k", "1"], &["DEL", "k"]),
            (&["SET", "k", "1"], &["RENAME", "k", "z"]),
            (&["SET", "z", "1"], &["RENAME", "z", "k"]),
            (&["SET", "k", "1"], &["MOVE", "k", "3"]),
            (&["SET", "z", "1"], &["COPY", "z", "k"]),
            (&["SET", "k", "1"], &["FLUSHDB"]),
            (&["SET", "k", "1"], &["FLUSHALL"]),
            (&["SET", "k", "1"], &["SWAPDB", "0", "2"]),
            (&["SET", "k", "1"], &["SWAPDB", "2", "0"]),
            (&["SET", "k", "1"], &["SETRANGE", "k", "0", "x"]),
            (&["SET", "k", "1"], &["GETDEL", "k"]),
        ] {
            let mut a = Kit::new();
            let mut b = Kit::with_engine(a.engine.clone());
            b.run(setup);
            a.run(&["WATCH", "k"]);
            b.run(write);
            a.run(&["MULTI"]);
            assert_eq!(a.run(&["EXEC"]), "*-1\r\n", "{setup:?} then {write:?}");
        }
    }

    #[test]
    fn flush_of_a_missing_key_does_not_touch() {
        let mut a = Kit::new();
        let mut b = Kit::with_engine(a.engine.clone());
        b.run(&["SET", "other", "1"]);
        a.run(&["WATCH", "k"]);
        b.run(&["FLUSHALL"]);
        b.run(&["SWAPDB", "0", "1"]);
        a.run(&["MULTI"]);
        assert_eq!(a.run(&["EXEC"]), "*0\r\n");
    }

    #[test]
    fn expiry_and_watch() {
        let mut a = Kit::new();
        let mut b = Kit::with_engine(a.engine.clone());
        a.engine
            .active_expire_enabled
            .store(false, Ordering::Relaxed);
        // A key with a TTL that expires between WATCH and EXEC fails EXEC, untouched.
        a.run(&["SET", "k", "1", "PX", "30"]);
        a.run(&["WATCH", "k"]);
        std::thread::sleep(std::time::Duration::from_millis(50));
        a.run(&["MULTI"]);
        assert_eq!(a.run(&["EXEC"]), "*-1\r\n");
        // Watched while already expired (still stored): its deletion changes nothing.
        a.run(&["SET", "e", "1", "PX", "1"]);
        std::thread::sleep(std::time::Duration::from_millis(5));
        a.run(&["WATCH", "e"]);
        b.run(&["GET", "e"]);
        a.run(&["MULTI"]);
        a.run(&["PING"]);
        assert_eq!(a.run(&["EXEC"]), "*1\r\n+PONG\r\n");
        // ... but writing it afterwards does.
        a.run(&["SET", "e", "1", "PX", "1"]);
        std::thread::sleep(std::time::Duration::from_millis(5));
        a.run(&["WATCH", "e"]);
        b.run(&["SET", "e", "2"]);
        a.run(&["MULTI"]);
        assert_eq!(a.run(&["EXEC"]), "*-1\r\n");
        // Active expiry touches too.
        a.engine
            .active_expire_enabled
            .store(true, Ordering::Relaxed);
        a.run(&["SET", "k", "1", "PX", "20"]);
        a.run(&["WATCH", "k"]);
        std::thread::sleep(std::time::Duration::from_millis(30));
        a.engine.cron(100_000);
        assert_eq!(b.run(&["EXISTS", "k"]), int(0));
        assert_eq!(a.sess.handle.flags_string(), "d");
    }

    #[test]
    fn exec_propagates_one_unit() {
        let mut k = Kit::new();
        let rec = k.record();
        k.run(&["MULTI"]);
        k.run(&["GET", "a"]);
        k.run(&["EXEC"]);
        assert!(rec.lines().is_empty());
        k.run(&["MULTI"]);
        k.run(&["SET", "a", "1"]);
        k.run(&["GET", "a"]);
        k.run(&["EXEC"]);
        assert_eq!(rec.take(), [vec!["SET", "a", "1"]]);
        k.run(&["MULTI"]);
        k.run(&["SET", "a", "1"]);
        k.run(&["EXPIRE", "a", "100"]);
        k.run(&["SELECT", "1"]);
        k.run(&["INCR", "b"]);
        k.run(&["EXEC"]);
        let lines = rec.lines_with_db();
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert_eq!(lines[0], (0, "MULTI".to_string()));
        assert_eq!(lines[1], (0, "SET a 1".to_string()));
        assert!(lines[2].1.starts_with("PEXPIREAT a "));
        assert_eq!(lines[3], (1, "INCR b".to_string()));
        assert_eq!(lines[4], (1, "EXEC".to_string()));
    }

    #[test]
    fn exec_never_blocks() {
        let mut k = Kit::new();
        k.run(&["MULTI"]);
        k.run(&["MONITOR"]);
        assert_eq!(
            k.run(&["EXEC"]),
            "*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n"
        );
        assert!(!k.sess.no_block);
        assert!(!k.sess.handle.is_monitor());
    }

    #[test]
    fn hello_inside_exec_switches_midway() {
        let mut k = Kit::new();
        k.run(&["MULTI"]);
        k.run(&["HELLO", "3"]);
        k.run(&["GET", "nokey"]);
        let r = k.run(&["EXEC"]);
        assert!(r.starts_with("*2\r\n%7\r\n"), "{r}");
        assert!(r.ends_with("_\r\n"), "{r}");
    }

    #[test]
    fn stats_count_queued_commands_when_they_run() {
        let mut k = Kit::new();
        k.run(&["MULTI"]);
        k.run(&["SET", "a", "1"]);
        k.run(&["SET", "b", "1"]);
        let engine = k.engine.clone();
        let set = engine.commands.get(b"set").unwrap();
        assert_eq!(set.stats.calls(), 0);
        k.run(&["EXEC"]);
        assert_eq!(set.stats.calls(), 2);
        assert_eq!(k.engine.commands.get(b"exec").unwrap().stats.calls(), 1);
        assert_eq!(k.engine.commands.get(b"multi").unwrap().stats.calls(), 1);
    }

    #[test]
    fn closing_a_session_unwatches() {
        let mut a = Kit::new();
        a.run(&["WATCH", "a", "b", "a"]);
        assert_eq!(a.sess.tx.watched_keys(), 2);
        assert_eq!(a.engine.keyspace.watches.len(), 2);
        a.run(&["MULTI"]);
        a.engine.close_session(&mut a.sess);
        assert!(a.engine.keyspace.watches.is_empty());
        assert!(!a.sess.tx.in_multi());
    }

    #[test]
    fn reset_discards() {
        let mut a = Kit::new();
        a.run(&["WATCH", "a"]);
        a.run(&["MULTI"]);
        a.run(&["PING"]);
        assert_eq!(a.run(&["RESET"]), "+RESET\r\n");
        assert!(!a.sess.tx.in_multi());
        assert!(a.engine.keyspace.watches.is_empty());
        assert_eq!(a.run(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
    }

    #[test]
    fn exclusive_view_locks_lazily_in_any_order() {
        let mut k = Kit::new();
        for i in 0..200 {
            k.run(&["SET", &format!("k{i}"), "1"]);
        }
        k.run(&["MULTI"]);
        k.run(&["KEYS", "*"]);
        k.run(&["DBSIZE"]);
        k.run(&["MSET", "k1", "2", "k150", "2", "k99", "2"]);
        k.run(&["COPY", "k1", "k1", "DB", "5"]);
        k.run(&["FLUSHALL"]);
        k.run(&["DBSIZE"]);
        let r = k.run(&["EXEC"]);
        assert!(r.starts_with("*6\r\n*200\r\n"), "{r}");
        assert!(
            r.ends_with(&format!("+OK\r\n{}+OK\r\n{}", int(1), int(0))),
            "{r}"
        );
    }
}
