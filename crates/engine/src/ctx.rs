//! What a handler runs against: [`Ctx`] (arguments, session, reply writer, engine) and
//! [`DbView`], the locked part of the keyspace.
//!
//! The dispatcher locks the shards of a command's keys (from the command table) in ascending
//! order before the handler runs, so a multi-key command is atomic and lock order can never
//! deadlock. EXEC and scripts lock every shard of every database instead. Every read goes through
//! [`DbView`], which applies lazy expiry (recording a DEL for propagation) and updates access
//! clocks; every write marks the view dirty so the dispatcher propagates the command.
//!
//! IMPORTANT: locks are held only while a handler runs; nothing here awaits or does I/O.

use bytes::Bytes;
use parking_lot::MutexGuard;
use smallvec::SmallVec;

use flint_protocol::ReplyWriter;

use crate::cmd::Command;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::keyspace::{new_entry, shard_of, Keyspace, Lookup, Shard, Upsert, SHARDS};
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
}

/// The shards a command holds, and the keyspace effects it has had so far.
pub struct DbView<'a> {
    ks: &'a Keyspace,
    /// The selected database.
    pub db: usize,
    guards: SmallVec<[(usize, MutexGuard<'a, Shard>); 2]>,
    /// Command time (Unix ms), fixed for the whole command as Redis does.
    pub now_ms: u64,
    /// Access clock to stamp on keys read (None under CLIENT NO-TOUCH).
    pub lru: Option<u32>,
    /// Number of changes made (the `dirty` counter; > 0 means propagate).
    pub dirty: u64,
    /// Keys removed by lazy expiry, as `(db, key)`: each becomes a propagated DEL.
    pub expired: Vec<(usize, SmallBytes)>,
    /// Values removed while locked, dropped after the locks are released.
    garbage: Vec<Value>,
    /// Whether lookups count as keyspace hits/misses (read commands).
    pub count_reads: bool,
    /// Lookups that found a live key.
    pub hits: u64,
    /// Lookups that found nothing.
    pub misses: u64,
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
            dirty: 0,
            expired: Vec::new(),
            garbage: Vec::new(),
            count_reads: false,
            hits: 0,
            misses: 0,
        }
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

    /// Locks every shard of every database (EXEC, scripts, SWAPDB).
    pub fn lock_all(&mut self) {
        let mut ids: SmallVec<[usize; 8]> = (0..self.ks.len() * SHARDS).collect();
        self.lock_ids(&mut ids);
    }

    fn lock_ids(&mut self, ids: &mut [usize]) {
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

    /// Whether every shard is locked.
    pub fn holds_all(&self) -> bool {
        self.guards.len() == self.ks.len() * SHARDS
    }

    /// Releases every lock (values removed meanwhile are dropped after).
    pub fn unlock(&mut self) {
        self.guards.clear();
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
        if self.guards.len() == self.ks.len() * SHARDS {
            return id;
        }
        if let Some(p) = self.guards.iter().position(|(g, _)| *g == id) {
            return p;
        }
        debug_assert!(false, "shard {shard} of db {db} used without being locked");
        let d = self.ks.db(db).unwrap_or(&self.ks.dbs()[0]);
        self.guards.push((id, d.shard(shard).lock()));
        self.guards.len() - 1
    }

    /// The live entry for `key` in database `db`, mutable; lazily expires it.
    #[inline]
    pub fn entry_in(&mut self, db: usize, key: &[u8]) -> Option<&mut Entry> {
        let hash = self.ks.hasher.hash(key);
        let (now, lru, count) = (self.now_ms, self.lru, self.count_reads);
        let i = self.guard_index(db, shard_of(hash));
        // Borrow the guard and the effect lists separately.
        let found = match self.guards[i].1.lookup(hash, key, now) {
            Lookup::Live(e) => {
                if let Some(clock) = lru {
                    e.lru = clock;
                }
                Some(e)
            }
            Lookup::Expired(e) => {
                self.expired.push((db, e.key));
                if e.value.heap_size() > 0 {
                    self.garbage.push(e.value);
                }
                None
            }
            Lookup::Missing => None,
        };
        if count {
            match found {
                Some(_) => self.hits += 1,
                None => self.misses += 1,
            }
        }
        found
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
        let all = self.holds_all();
        keys.iter()
            .map(|k| {
                let hash = self.ks.hasher.hash(k);
                let id = lock_id(db, shard_of(hash));
                let guard = if all {
                    self.guards.get(id)
                } else {
                    self.guards.iter().find(|(g, _)| *g == id)
                };
                guard
                    .and_then(|(_, shard)| shard.get(hash, k))
                    .map(|e| &e.value)
            })
            .collect()
    }

    /// Whether `key` exists (and is live) in database `db`.
    pub fn exists_in(&mut self, db: usize, key: &[u8]) -> bool {
        self.entry_in(db, key).is_some()
    }

    /// Stores `value` under `key` in `db` with expiry `expire_at` (0: none), replacing any
    /// previous value. Returns the previous live value. Counts as one change.
    pub fn set_in(&mut self, db: usize, key: &[u8], value: Value, expire_at: u64) -> Option<Value> {
        let hash = self.ks.hasher.hash(key);
        let ks = self.ks;
        let (now, lru) = (self.now_ms, self.lru.unwrap_or(0));
        self.dirty += 1;
        match self
            .shard_mut(db, shard_of(hash))
            .upsert(&ks.hasher, hash, key, value, expire_at, lru, now)
        {
            Upsert::New => None,
            Upsert::Replaced(old) => Some(old),
            Upsert::ReplacedExpired(old) => {
                self.expired.push((db, SmallBytes::new(key)));
                self.discard(old);
                None
            }
        }
    }

    /// [`DbView::set_in`] on the selected database.
    pub fn set(&mut self, key: &[u8], value: Value, expire_at: u64) -> Option<Value> {
        self.set_in(self.db, key, value, expire_at)
    }

    /// Adds a key known to be absent (checked with [`DbView::entry`] by the caller).
    pub fn insert_new_in(
        &mut self,
        db: usize,
        key: &[u8],
        value: Value,
        expire_at: u64,
    ) -> &mut Entry {
        let hash = self.ks.hasher.hash(key);
        let lru = self.lru.unwrap_or(0);
        let ks = self.ks;
        self.dirty += 1;
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
        self.shard_mut(db, shard_of(hash))
            .set_expire(hash, key, expire_at)
    }

    /// Records that a key was changed in place (through [`DbView::entry`]).
    #[inline]
    pub fn modified(&mut self, _key: &[u8]) {
        self.dirty += 1;
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
