//! What a handler runs against: [`Ctx`] (arguments, session, reply writer, engine) and
//! [`DbView`], the locked part of the keyspace.
//!
//! The dispatcher locks the shards of a command's keys (from the command table) in ascending
//! order before the handler runs, so a multi-key command is atomic and lock order can never
//! deadlock. Commands run by EXEC (and scripts) get an *exclusive* view instead
//! ([`DbView::exclusive`]): the engine gate is held exclusively, nobody else holds a shard, so
//! the view locks whatever shard it touches on first use, in any order, and reports
//! [`DbView::holds_all`]. Every read goes through [`DbView`], which applies lazy expiry
//! (recording a DEL for propagation) and updates access clocks; every write marks the view
//! dirty so the dispatcher propagates the command, and touches the key for WATCH (one load of
//! the watched-key count when nobody watches anything; see `crate::multi`).
//!
//! IMPORTANT: locks are held only while a handler runs; nothing here awaits or does I/O.

use bytes::Bytes;
use parking_lot::MutexGuard;
use smallvec::SmallVec;

use flint_protocol::ReplyWriter;

use std::sync::atomic::Ordering;

use crate::blocking::Ready;
use crate::cmd::Command;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::key::Key;
use crate::keyspace::{new_entry, shard_of, GetOrInsert, Keyspace, Lookup, Shard, Upsert, SHARDS};
use crate::notify::{owe, Note, EXPIRED, KEY_MISS, NEW};
use crate::session::Session;
use crate::small::SmallBytes;
use crate::value::{Entry, Value};

/// What a command asks of the connection, beyond its reply.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// Send the reply, then close (QUIT, CLIENT KILL of oneself).
    Close,
    /// Shut the server down after this reply (SHUTDOWN).
    Shutdown,
    /// Wait this long before the next command (DEBUG SLEEP, CLIENT PAUSE).
    Sleep(std::time::Duration),
    /// Become a MONITOR client.
    Monitor,
    /// The protocol version changed (HELLO).
    Protocol(u8),
    /// The client is blocked (BLPOP...): wait for the ticket's reply or its deadline.
    Block(crate::blocking::BlockTicket),
}

/// The shards a command holds, and the keyspace effects it has had so far.
pub struct DbView<'a> {
    ks: &'a Keyspace,
    /// The selected database.
    pub db: usize,
    guards: SmallVec<[(usize, MutexGuard<'a, Shard>); 2]>,
    /// Command time (Unix ms), fixed for the whole command as Redis does.
    pub now_ms: u64,
    /// Access clock to stamp on keys read (None under CLIENT NO-TOUCH); under an LFU policy, the
    /// access field new keys start with.
    pub lru: Option<u32>,
    /// Under an LFU policy, how reads update a key's counter (instead of stamping `lru`).
    pub lfu: Option<crate::evict::Lfu>,
    /// `default-ttl` in milliseconds (0: off): keys written without an expiry get this one.
    pub default_ttl_ms: u64,
    /// Keys that got the default TTL, as `(db, key, expire_at)`: each is propagated as a
    /// PEXPIREAT after the command, so a replica or the AOF agrees.
    pub defaulted: Vec<(usize, SmallBytes, u64)>,
    /// Number of changes made (the `dirty` counter; > 0 means propagate).
    pub dirty: u64,
    /// Keys removed by lazy expiry, as `(db, key)`: each becomes a propagated DEL.
    pub expired: Vec<(usize, Key)>,
    /// Values removed while locked, dropped after the locks are released.
    garbage: Vec<Value>,
    /// Whether lookups count as keyspace hits/misses (read commands).
    pub count_reads: bool,
    /// Lookups that found a live key.
    pub hits: u64,
    /// Lookups that found nothing.
    pub misses: u64,
    /// The `notify-keyspace-events` classes, read when the command starts.
    pub notify: u32,
    /// Keyspace events the view's own work owes, in order: `expired` (lazy expiry), `keymiss`
    /// (a read found nothing), `new` (a key was created). Recorded only for the classes in
    /// `notify`; sent before the command's next event or after the command (see
    /// [`crate::notify`]), so they come where Redis emits them.
    pub notes: Vec<Note>,
    /// Keys created in shards where clients are blocked, to serve once unlocked
    /// (see `crate::blocking`).
    pub ready: Vec<Ready>,
    /// Exclusive view: shards are locked on first use (see [`DbView::exclusive`]).
    lazy: bool,
    /// For an exclusive view holding many shards: lock id -> index in `guards` (`u32::MAX`:
    /// not held). Empty until the view holds more than [`LAZY_LINEAR`] shards.
    slots: Vec<u32>,
}

/// An exclusive view finds its shards by a linear search up to this many, then by index.
const LAZY_LINEAR: usize = 16;

/// Tells WATCH that `key` of `db` changed (`present`: it exists after the change). One load
/// when nobody watches anything.
#[inline]
fn touch(ks: &Keyspace, db: usize, key: &[u8], hash: u64, present: bool) {
    if ks.watches.active() {
        ks.watches.touch(db, key, hash, present);
    }
}

#[inline]
fn lock_id(db: usize, shard: usize) -> usize {
    db * SHARDS + shard
}

impl<'a> DbView<'a> {
    /// A view holding no locks yet.
    pub fn new(ks: &'a Keyspace, db: usize, now_ms: u64, lru: Option<u32>) -> Self {
        DbView {
            ks,
            db,
            guards: SmallVec::new(),
            now_ms,
            lru,
            lfu: None,
            default_ttl_ms: 0,
            defaulted: Vec::new(),
            dirty: 0,
            expired: Vec::new(),
            garbage: Vec::new(),
            count_reads: false,
            hits: 0,
            misses: 0,
            notify: 0,
            notes: Vec::new(),
            ready: Vec::new(),
            lazy: false,
            slots: Vec::new(),
        }
    }

    /// A view for a command run while the engine gate is held exclusively (EXEC, scripts):
    /// it locks each shard the first time it is used, in whatever order, and keeps it until
    /// [`DbView::unlock`]. The `lock_*` methods do nothing and [`DbView::holds_all`] is true,
    /// so handlers that re-lock for themselves simply use the view.
    ///
    /// IMPORTANT: only while holding [`crate::gate::Gate::exclusive`]; otherwise two such views
    /// (or one and a normal command) could lock shards in opposite orders and deadlock.
    pub fn exclusive(ks: &'a Keyspace, db: usize, now_ms: u64, lru: Option<u32>) -> Self {
        let mut v = Self::new(ks, db, now_ms, lru);
        v.lazy = true;
        v
    }

    /// Records `key` of `db` as ready when clients are blocked in its shard. Called under the
    /// shard's lock whenever a key is created or replaced.
    #[inline]
    fn signal_ready(&mut self, db: usize, shard: usize, key: &[u8]) {
        if self.ks.waiters(db, shard).load(Ordering::Relaxed) != 0 {
            self.ready.push(Ready::Key(db, SmallBytes::new(key)));
        }
    }

    /// Records that every key of `db` may be ready (SWAPDB brought in new contents).
    pub fn signal_db(&mut self, db: usize) {
        self.ready.push(Ready::Db(db));
    }

    /// Locks the shards of `keys` in database `db`, in ascending order. Any locks already held
    /// are released first.
    pub fn lock_keys<'k>(&mut self, db: usize, keys: impl IntoIterator<Item = &'k [u8]>) {
        let mut ids: SmallVec<[usize; 8]> = keys
            .into_iter()
            .map(|k| lock_id(db, shard_of(self.ks.hasher.hash(k))))
            .collect();
        self.lock_ids(&mut ids);
    }

    /// Locks the one shard holding `key` in database `db` (releasing held locks first).
    #[inline]
    pub fn lock_key(&mut self, db: usize, key: &[u8]) {
        if self.lazy {
            return;
        }
        self.guards.clear();
        let shard = shard_of(self.ks.hasher.hash(key));
        if let Some(d) = self.ks.db(db) {
            self.guards
                .push((lock_id(db, shard), d.shard(shard).lock()));
        }
    }

    /// Locks the given `(db, shard)` pairs in ascending order, releasing held locks first.
    pub fn lock_pairs(&mut self, pairs: &[(usize, usize)]) {
        let mut ids: SmallVec<[usize; 8]> = pairs.iter().map(|&(d, s)| lock_id(d, s)).collect();
        self.lock_ids(&mut ids);
    }

    /// Locks every shard of every database (FLUSHALL). Nothing for an exclusive view.
    pub fn lock_all(&mut self) {
        let mut ids: SmallVec<[usize; 8]> = (0..self.ks.len() * SHARDS).collect();
        self.lock_ids(&mut ids);
    }

    fn lock_ids(&mut self, ids: &mut [usize]) {
        if self.lazy {
            return;
        }
        self.guards.clear();
        ids.sort_unstable();
        let mut last = usize::MAX;
        for &id in ids.iter() {
            if id == last {
                continue;
            }
            last = id;
            if let Some(db) = self.ks.db(id / SHARDS) {
                self.guards.push((id, db.shard(id % SHARDS).lock()));
            }
        }
    }

    /// Whether every shard is locked, or may be used as if it were (an exclusive view).
    pub fn holds_all(&self) -> bool {
        self.lazy || self.guards.len() == self.ks.len() * SHARDS
    }

    /// Releases every lock (values removed meanwhile are dropped after).
    pub fn unlock(&mut self) {
        self.guards.clear();
        self.slots.clear();
        for v in self.garbage.drain(..) {
            crate::lazyfree::drop_value(v);
        }
    }

    /// The keyspace.
    pub fn keyspace(&self) -> &'a Keyspace {
        self.ks
    }

    /// The locked shard `shard` of `db`.
    ///
    /// IMPORTANT: a handler may only touch shards the dispatcher locked for it. Touching another
    /// is a bug in the command's key spec; it is locked here so the command still works, but
    /// lock order is then not guaranteed (debug builds assert).
    fn shard_mut(&mut self, db: usize, shard: usize) -> &mut Shard {
        let i = self.guard_index(db, shard);
        &mut self.guards[i].1
    }

    /// Where in `guards` the lock of `shard` of `db` is (see [`DbView::shard_mut`]).
    #[inline]
    fn guard_index(&mut self, db: usize, shard: usize) -> usize {
        let id = lock_id(db, shard);
        if self.lazy {
            return self.lazy_index(db, shard);
        }
        if self.guards.len() == self.ks.len() * SHARDS {
            return id;
        }
        if let Some(p) = self.guards.iter().position(|(g, _)| *g == id) {
            return p;
        }
        debug_assert!(false, "shard {shard} of db {db} used without being locked");
        self.push_guard(db, shard)
    }

    /// Locks `shard` of `db` and appends its guard; returns its index.
    fn push_guard(&mut self, db: usize, shard: usize) -> usize {
        let d = self.ks.db(db).unwrap_or(&self.ks.dbs()[0]);
        self.guards
            .push((lock_id(db, shard), d.shard(shard).lock()));
        self.guards.len() - 1
    }

    /// [`DbView::guard_index`] of an exclusive view: locks the shard on first use.
    #[inline(never)]
    fn lazy_index(&mut self, db: usize, shard: usize) -> usize {
        let id = lock_id(db, shard);
        if self.slots.is_empty() {
            if let Some(p) = self.guards.iter().position(|(g, _)| *g == id) {
                return p;
            }
            let p = self.push_guard(db, shard);
            if self.guards.len() > LAZY_LINEAR {
                self.slots = vec![u32::MAX; self.ks.len() * SHARDS];
                for (i, (g, _)) in self.guards.iter().enumerate() {
                    if let Some(s) = self.slots.get_mut(*g) {
                        *s = i as u32;
                    }
                }
            }
            return p;
        }
        match self.slots.get(id) {
            Some(&p) if p != u32::MAX => p as usize,
            _ => {
                let p = self.push_guard(db, shard);
                if let Some(s) = self.slots.get_mut(id) {
                    *s = p as u32;
                }
                p
            }
        }
    }

    /// The live entry for `key` in database `db`, mutable; lazily expires it.
    #[inline]
    pub fn entry_in(&mut self, db: usize, key: &[u8]) -> Option<&mut Entry> {
        let hash = self.ks.hasher.hash(key);
        let (now, lru, lfu, count) = (self.now_ms, self.lru, self.lfu, self.count_reads);
        let i = self.guard_index(db, shard_of(hash));
        // Borrow the guard and the effect lists separately.
        let found = match self.guards[i].1.lookup(hash, key, now) {
            Lookup::Live(e) => {
                if let Some(clock) = lru {
                    e.set_lru(match &lfu {
                        Some(l) => l.touch(e.lru()),
                        None => clock,
                    });
                }
                Some(e)
            }
            Lookup::Expired(e) => {
                touch(self.ks, db, key, hash, false);
                owe(&mut self.notes, self.notify, EXPIRED, "expired", db, key);
                let (key, value) = e.into_parts();
                self.expired.push((db, key));
                if value.heap_size() > 0 {
                    self.garbage.push(value);
                }
                None
            }
            Lookup::Missing => None,
        };
        if count {
            let (notes, notify) = (&mut self.notes, self.notify);
            tally(
                &mut self.hits,
                &mut self.misses,
                notes,
                notify,
                db,
                key,
                found.is_some(),
            );
        }
        found
    }

    /// Records a lookup that Redis makes with `lookupKeyRead` in a write command (GETSET, COPY's
    /// source, the STORE forms' sources...) on the selected database: a keyspace hit or miss,
    /// and on a miss the `keymiss` event. A read-only command's lookups count already
    /// ([`DbView::count_reads`]).
    pub fn count_read(&mut self, key: &[u8], found: bool) {
        if !self.count_reads {
            let (notes, notify) = (&mut self.notes, self.notify);
            tally(
                &mut self.hits,
                &mut self.misses,
                notes,
                notify,
                self.db,
                key,
                found,
            );
        }
    }

    /// The live entry for `key` in the selected database, mutable.
    #[inline]
    pub fn entry(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.entry_in(self.db, key)
    }

    /// The live value of `key` in the selected database.
    #[inline]
    pub fn get(&mut self, key: &[u8]) -> Option<&mut Value> {
        self.entry(key).map(|e| &mut e.value)
    }

    /// The live values of several keys of the selected database, borrowed together (commands
    /// that read many keys at once: ZUNION, SINTER...). Each key is first looked up as
    /// [`DbView::get`] does (lazy expiry, access clock, hit/miss counting), in order.
    pub fn get_many(&mut self, keys: &[&[u8]]) -> Vec<Option<&Value>> {
        let db = self.db;
        for k in keys {
            self.entry_in(db, k);
        }
        keys.iter()
            .map(|k| {
                let hash = self.ks.hasher.hash(k);
                self.held(lock_id(db, shard_of(hash)))
                    .and_then(|i| self.guards.get(i))
                    .and_then(|(_, shard)| shard.get(hash, k))
                    .map(|e| &e.value)
            })
            .collect()
    }

    /// Where in `guards` the lock `id` is, if held (never locks anything).
    fn held(&self, id: usize) -> Option<usize> {
        if self.lazy && !self.slots.is_empty() {
            return self
                .slots
                .get(id)
                .filter(|&&p| p != u32::MAX)
                .map(|&p| p as usize);
        }
        if !self.lazy && self.guards.len() == self.ks.len() * SHARDS {
            return Some(id);
        }
        self.guards.iter().position(|(g, _)| *g == id)
    }

    /// Whether `key` exists (and is live) in database `db`.
    pub fn exists_in(&mut self, db: usize, key: &[u8]) -> bool {
        self.entry_in(db, key).is_some()
    }

    /// Stores `value` under `key` in `db` with expiry `expire_at` (0: none), replacing any
    /// previous value. Returns the previous live value. Counts as one change.
    pub fn set_in(&mut self, db: usize, key: &[u8], value: Value, expire_at: u64) -> Option<Value> {
        let expire_at = self.with_default_ttl(db, key, expire_at);
        let hash = self.ks.hasher.hash(key);
        let ks = self.ks;
        let (now, lru) = (self.now_ms, self.lru.unwrap_or(0));
        self.dirty += 1;
        self.signal_ready(db, shard_of(hash), key);
        let old = match self
            .shard_mut(db, shard_of(hash))
            .upsert(&ks.hasher, hash, key, value, expire_at, lru, now)
        {
            Upsert::New => {
                owe(&mut self.notes, self.notify, NEW, "new", db, key);
                None
            }
            Upsert::Replaced(old) => Some(old),
            Upsert::ReplacedExpired(old) => {
                // As in Redis: the lazy expiry, then the write.
                touch(self.ks, db, key, hash, false);
                owe(&mut self.notes, self.notify, EXPIRED, "expired", db, key);
                owe(&mut self.notes, self.notify, NEW, "new", db, key);
                self.expired.push((db, Key::new(key)));
                self.discard(old);
                None
            }
        };
        touch(self.ks, db, key, hash, true);
        old
    }

    /// The expiry a key written with `expire_at` gets: `default-ttl` from now when it has none
    /// (and the setting is on).
    #[inline]
    fn with_default_ttl(&mut self, db: usize, key: &[u8], expire_at: u64) -> u64 {
        if expire_at != 0 || self.default_ttl_ms == 0 {
            return expire_at;
        }
        let at = self.now_ms.saturating_add(self.default_ttl_ms);
        self.defaulted.push((db, SmallBytes::new(key), at));
        at
    }

    /// [`DbView::set_in`] on the selected database.
    pub fn set(&mut self, key: &[u8], value: Value, expire_at: u64) -> Option<Value> {
        self.set_in(self.db, key, value, expire_at)
    }

    /// The live entry for `key` in `db`, or a new one holding `make()` (counted as a change), in
    /// one probe. Says whether it was created. A found key's access clock is updated as a read's.
    pub fn get_or_insert_in(
        &mut self,
        db: usize,
        key: &[u8],
        make: impl FnOnce() -> Value,
    ) -> (&mut Entry, bool) {
        let hash = self.ks.hasher.hash(key);
        let (now, lru, lfu) = (self.now_ms, self.lru, self.lfu);
        // The TTL a created key gets (default-ttl); recorded only if the key is created.
        let default_at = if self.default_ttl_ms > 0 {
            now.saturating_add(self.default_ttl_ms)
        } else {
            0
        };
        let ks = self.ks;
        // Whether clients are blocked in this shard (a created key is then ready for them).
        let waiting = ks.waiters(db, shard_of(hash)).load(Ordering::Relaxed) != 0;
        let i = self.guard_index(db, shard_of(hash));
        let found = self.guards[i].1.get_or_insert(
            &ks.hasher,
            hash,
            key,
            now,
            lru.unwrap_or(0),
            default_at,
            make,
        );
        let (e, created, old) = match found {
            GetOrInsert::Found(e) => {
                if let Some(clock) = lru {
                    e.set_lru(match &lfu {
                        Some(l) => l.touch(e.lru()),
                        None => clock,
                    });
                }
                (e, false, None)
            }
            GetOrInsert::Inserted(e) => (e, true, None),
            GetOrInsert::ReplacedExpired(e, old) => (e, true, Some(old)),
        };
        if created {
            self.dirty += 1;
            if waiting {
                self.ready.push(Ready::Key(db, SmallBytes::new(key)));
            }
            if default_at != 0 {
                self.defaulted.push((db, SmallBytes::new(key), default_at));
            }
            if let Some(old) = old {
                owe(&mut self.notes, self.notify, EXPIRED, "expired", db, key);
                self.expired.push((db, Key::new(key)));
                if old.heap_size() > 0 {
                    self.garbage.push(old);
                }
            }
            owe(&mut self.notes, self.notify, NEW, "new", db, key);
        }
        (e, created)
    }

    /// [`DbView::get_or_insert_in`] on the selected database.
    #[inline]
    pub fn get_or_insert(
        &mut self,
        key: &[u8],
        make: impl FnOnce() -> Value,
    ) -> (&mut Entry, bool) {
        self.get_or_insert_in(self.db, key, make)
    }

    /// Adds a key known to be absent (checked with [`DbView::entry`] by the caller).
    pub fn insert_new_in(
        &mut self,
        db: usize,
        key: &[u8],
        value: Value,
        expire_at: u64,
    ) -> &mut Entry {
        let expire_at = self.with_default_ttl(db, key, expire_at);
        let hash = self.ks.hasher.hash(key);
        let lru = self.lru.unwrap_or(0);
        let ks = self.ks;
        self.dirty += 1;
        self.signal_ready(db, shard_of(hash), key);
        touch(self.ks, db, key, hash, true);
        owe(&mut self.notes, self.notify, NEW, "new", db, key);
        self.shard_mut(db, shard_of(hash)).insert_new(
            &ks.hasher,
            hash,
            new_entry(key, value, expire_at, lru),
        )
    }

    /// Removes `key` from `db` if it is live; returns its entry. Counts as one change.
    pub fn remove_in(&mut self, db: usize, key: &[u8]) -> Option<Entry> {
        self.entry_in(db, key)?;
        let hash = self.ks.hasher.hash(key);
        let e = self.shard_mut(db, shard_of(hash)).remove(hash, key)?;
        self.dirty += 1;
        touch(self.ks, db, key, hash, false);
        Some(e)
    }

    /// [`DbView::remove_in`] on the selected database.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        self.remove_in(self.db, key)
    }

    /// Sets (or with 0 clears) the expiry of a live key in `db`. Returns false if absent.
    pub fn set_expire_in(&mut self, db: usize, key: &[u8], expire_at: u64) -> bool {
        if self.entry_in(db, key).is_none() {
            return false;
        }
        let hash = self.ks.hasher.hash(key);
        touch(self.ks, db, key, hash, true);
        self.shard_mut(db, shard_of(hash))
            .set_expire(hash, key, expire_at)
    }

    /// Records that `key` of the selected database was changed in place (through
    /// [`DbView::entry`]).
    #[inline]
    pub fn modified(&mut self, key: &[u8]) {
        self.dirty += 1;
        if self.ks.watches.active() {
            let hash = self.ks.hasher.hash(key);
            self.ks.watches.touch(self.db, key, hash, true);
        }
    }

    /// Defers dropping a removed value until the locks are released.
    pub fn discard(&mut self, v: Value) {
        // Values without heap parts cost nothing to drop here (and keep `garbage` unallocated).
        if v.heap_size() > 0 {
            self.garbage.push(v);
        }
    }

    /// Direct access to a locked shard (for commands that walk a whole shard).
    pub fn shard(&mut self, db: usize, shard: usize) -> &mut Shard {
        self.shard_mut(db, shard)
    }
}

/// Counts a read lookup of `key` in `db` as a keyspace hit or miss, owing the `keymiss` event
/// on a miss. A free function over the view's fields, so a lookup can call it while it holds
/// the entry it found.
fn tally(
    hits: &mut u64,
    misses: &mut u64,
    notes: &mut Vec<Note>,
    notify: u32,
    db: usize,
    key: &[u8],
    found: bool,
) {
    if found {
        *hits += 1;
    } else {
        *misses += 1;
        owe(notes, notify, KEY_MISS, "keymiss", db, key);
    }
}

/// Everything a handler gets.
pub struct Ctx<'a> {
    /// The engine.
    pub engine: &'a Engine,
    /// The command being run.
    pub cmd: &'a Command,
    /// The client's session.
    pub sess: &'a mut Session,
    /// The arguments, the command name first.
    pub args: &'a [&'a [u8]],
    /// Where the reply goes.
    pub out: &'a mut ReplyWriter,
    /// The locked keyspace.
    pub db: DbView<'a>,
    /// A request to the connection, if any.
    pub action: Option<Action>,
    /// Replaces the propagated form of this command (EXPIRE -> PEXPIREAT, ...); empty means
    /// propagate nothing even though the keyspace changed.
    pub rewrite: Option<Vec<Vec<Bytes>>>,
}

impl Ctx<'_> {
    /// Argument `i` (0 is the command name); empty if absent, which arity checks rule out.
    #[inline]
    pub fn arg(&self, i: usize) -> &[u8] {
        self.args.get(i).copied().unwrap_or(&[])
    }

    /// Argument `i` as an owned, cheaply cloned `Bytes`.
    pub fn arg_bytes(&self, i: usize) -> Bytes {
        Bytes::copy_from_slice(self.arg(i))
    }

    /// Whether argument `i` equals `word`, ignoring ASCII case.
    #[inline]
    pub fn arg_is(&self, i: usize, word: &str) -> bool {
        self.arg(i).eq_ignore_ascii_case(word.as_bytes())
    }

    /// Argument `i` as an integer, or Redis's "not an integer" error.
    pub fn arg_i64(&self, i: usize) -> Result<i64> {
        crate::util::parse_i64(self.arg(i)).ok_or(Error::NotInteger)
    }

    /// Argument `i` lossily as text (for error messages).
    pub fn arg_lossy(&self, i: usize) -> String {
        String::from_utf8_lossy(self.arg(i)).into_owned()
    }

    /// Replaces the propagated form of this command with `records`.
    pub fn propagate_as(&mut self, records: Vec<Vec<Bytes>>) {
        self.rewrite = Some(records);
    }

    /// The propagation-form argument for an absolute Unix-ms time.
    pub fn ms_arg(ms: u64) -> Bytes {
        Bytes::from(itoa::Buffer::new().format(ms).to_string())
    }
}
