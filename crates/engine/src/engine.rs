//! [`Engine`]: the whole server state that commands act on (keyspace, configuration, command
//! table, clients, statistics, slow log) and the propagation interface that the AOF and replicas
//! will consume. The engine is a library: it has no threads and no sockets; the server calls
//! [`Engine::execute`] for each command and [`Engine::cron`] periodically.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};

use crate::clients::Clients;
use crate::cmd::Table;
use crate::config::Config;
use crate::keyspace::Keyspace;
use crate::stats::Stats;

/// Receives every change to the keyspace as a command in deterministic form, in execution order.
pub trait Propagate: Send + Sync {
    /// `args` was applied to database `db`.
    fn propagate(&self, db: usize, args: &[Bytes]);
}

/// One slow log entry.
#[derive(Clone, Debug)]
pub struct SlowEntry {
    /// Unique, increasing id.
    pub id: u64,
    /// Unix time in seconds when the command ran.
    pub time_s: u64,
    /// Duration in microseconds.
    pub duration_us: u64,
    /// The arguments (at most 32, each at most 128 bytes, as Redis trims them).
    pub args: Vec<Bytes>,
    /// Client address.
    pub addr: String,
    /// Client name.
    pub name: Bytes,
}

/// The slow log.
#[derive(Default)]
pub struct SlowLog {
    /// Entries, newest first.
    pub entries: Mutex<VecDeque<SlowEntry>>,
    /// Next entry id.
    pub next_id: AtomicU64,
}

/// The server state.
pub struct Engine {
    /// All databases.
    pub keyspace: Keyspace,
    /// The configuration.
    pub config: Config,
    /// The command table.
    pub commands: Table,
    /// Connected clients.
    pub clients: Clients,
    /// Counters.
    pub stats: Stats,
    /// The slow log.
    pub slowlog: SlowLog,
    /// Process start.
    pub started: Instant,
    /// Unix ms at start.
    pub start_ms: u64,
    /// 40 hex characters identifying this run.
    pub run_id: String,
    /// The TCP port the server listens on (for INFO).
    pub port: AtomicU64,
    /// Set by DEBUG SET-ACTIVE-EXPIRE 0.
    pub active_expire_enabled: AtomicBool,
    /// CLIENT PAUSE: Unix ms until which clients are paused (0: not paused).
    pub pause_until_ms: AtomicU64,
    /// CLIENT PAUSE WRITE (true) or ALL (false).
    pub pause_writes_only: AtomicBool,
    propagators: RwLock<Vec<Arc<dyn Propagate>>>,
    has_propagators: AtomicBool,
    /// Where the active expiry cycle resumes (database, shard).
    expire_cursor: Mutex<(usize, usize)>,
}

/// Unix time in milliseconds.
#[inline]
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Engine {
    /// An engine with `config` (databases are created per its `databases`).
    pub fn new(config: Config) -> Result<Self, String> {
        let dbs = config
            .get("databases")
            .and_then(|s| s.parse().ok())
            .unwrap_or(16);
        let run_id: String = (0..40)
            .map(|_| format!("{:x}", rand::random::<u8>() % 16))
            .collect();
        Ok(Engine {
            keyspace: Keyspace::new(dbs),
            config,
            commands: Table::new()?,
            clients: Clients::default(),
            stats: Stats::default(),
            slowlog: SlowLog::default(),
            started: Instant::now(),
            start_ms: unix_ms(),
            run_id,
            port: AtomicU64::new(6379),
            active_expire_enabled: AtomicBool::new(true),
            pause_until_ms: AtomicU64::new(0),
            pause_writes_only: AtomicBool::new(false),
            propagators: RwLock::new(Vec::new()),
            has_propagators: AtomicBool::new(false),
            expire_cursor: Mutex::new((0, 0)),
        })
    }

    /// Adds a consumer of propagation records (AOF, replicas, tests).
    pub fn add_propagator(&self, p: Arc<dyn Propagate>) {
        self.propagators.write().push(p);
        self.has_propagators.store(true, Ordering::Release);
    }

    /// Whether anything consumes propagation records (else they are not even built).
    #[inline]
    pub fn propagating(&self) -> bool {
        self.has_propagators.load(Ordering::Acquire)
    }

    /// Sends one record to every consumer.
    pub fn propagate(&self, db: usize, args: &[Bytes]) {
        for p in self.propagators.read().iter() {
            p.propagate(db, args);
        }
    }

    /// The access clock for a key read now (LRU seconds, 24 bits as in Redis).
    #[inline]
    pub fn lru_clock(now_ms: u64) -> u32 {
        ((now_ms / 1000) & 0xFF_FFFF) as u32
    }

    /// One round of active expiry: visits shards round-robin, removing expired keys, for at most
    /// `budget` microseconds. Returns how many keys it removed. Called `hz` times a second.
    ///
    /// Each shard is locked only for a bounded step (a few hundred keys with a TTL), so a
    /// million keys expiring at once never stall a client for more than a step.
    pub fn cron(&self, budget_us: u64) -> usize {
        if !self.active_expire_enabled.load(Ordering::Relaxed) {
            return 0;
        }
        let start = Instant::now();
        let now = unix_ms();
        let mut removed_total = 0;
        let ndb = self.keyspace.len();
        let total_shards = ndb * crate::keyspace::SHARDS;
        let (mut db, mut shard) = *self.expire_cursor.lock();
        let propagating = self.propagating();
        let mut visited = 0;
        'shards: while visited < total_shards {
            let Some(d) = self.keyspace.db(db) else { break };
            // Like Redis: keep working on a shard while over a quarter of what was examined had
            // expired, then move on.
            loop {
                let step = d.shard(shard).lock().expire_step(now, 256);
                removed_total += step.expired.len();
                Stats::add(&self.stats.expired_keys, step.expired.len() as u64);
                Stats::add(&self.stats.expire_checked, step.checked as u64);
                if propagating {
                    for e in &step.expired {
                        let key = Bytes::copy_from_slice(e.key.as_slice());
                        self.propagate(db, &[Bytes::from_static(b"DEL"), key]);
                    }
                }
                let busy = step.checked > 0 && step.expired.len() * 4 > step.checked;
                drop(step);
                if start.elapsed().as_micros() as u64 >= budget_us {
                    break 'shards;
                }
                if !busy {
                    break;
                }
            }
            shard += 1;
            if shard == crate::keyspace::SHARDS {
                shard = 0;
                db = (db + 1) % ndb;
            }
            visited += 1;
        }
        *self.expire_cursor.lock() = (db, shard);
        removed_total
    }

    /// Number of keys in each database, with how many have a TTL: `(db, keys, expires)`.
    pub fn keyspace_summary(&self) -> Vec<(usize, usize, usize)> {
        self.keyspace
            .dbs()
            .iter()
            .enumerate()
            .filter_map(|(i, d)| {
                let (mut keys, mut vol) = (0, 0);
                for s in d.shards() {
                    let s = s.lock();
                    keys += s.len();
                    vol += s.volatile();
                }
                (keys > 0).then_some((i, keys, vol))
            })
            .collect()
    }
}
