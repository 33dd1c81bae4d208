//! [`Engine`]: the whole server state that commands act on (keyspace, configuration, command
//! table, clients, statistics, slow log) and the propagation interface that the AOF and replicas
//! will consume. The engine is a library: it has no threads and no sockets; the server calls
//! [`Engine::execute`] for each command and [`Engine::cron`] periodically.
//!
//! Observers of the request path also live here, each fed by the dispatcher after a command:
//! MONITOR sinks ([`Engine::feed_monitors`]: bounded queues the server drains, a sink that
//! falls too far behind gets its client killed), the latency monitor
//! ([`Engine::latency_sample`]), and the instantaneous metrics of INFO stats
//! ([`Engine::sample_metrics`]). Memory figures come from a probe the server installs
//! ([`Engine::set_memory_probe`]), since the allocator is the binary's choice.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};

use crate::clients::{Clients, Waker};
use crate::cmd::{flags, Command, Table};
use crate::config::Config;
use crate::keyspace::Keyspace;
use crate::session::Session;
use crate::stats::Stats;

/// Receives every change to the keyspace as a command in deterministic form, in execution order.
pub trait Propagate: Send + Sync {
    /// `args` was applied to database `db`.
    fn propagate(&self, db: usize, args: &[&[u8]]);
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

/// Memory figures from the allocator, for INFO memory (and later maxmemory).
#[derive(Clone, Copy, Debug, Default)]
pub struct MemoryStats {
    /// Bytes allocated and not freed (Redis's `used_memory`).
    pub allocated: u64,
    /// Bytes in pages the allocator uses (`allocator_active`; 0 if unknown).
    pub active: u64,
    /// Bytes the allocator keeps resident (`allocator_resident`; 0 if unknown).
    pub resident: u64,
    /// The allocator's name and version (`mem_allocator`).
    pub allocator: &'static str,
}

/// Reads the allocator's figures; installed by the server with [`Engine::set_memory_probe`].
pub type MemoryProbe = fn() -> MemoryStats;

/// A MONITOR client's queue of formatted lines, filled by [`Engine::feed_monitors`] and
/// drained by the client's connection.
pub struct MonitorSink {
    /// The monitoring client.
    pub client_id: u64,
    lines: Mutex<VecDeque<Bytes>>,
    queued_bytes: AtomicUsize,
    overflowed: AtomicBool,
    waker: Waker,
}

impl MonitorSink {
    /// Moves every queued line (complete RESP simple strings) to the end of `out`.
    pub fn drain_into(&self, out: &mut Vec<Bytes>) {
        let mut q = self.lines.lock();
        let n: usize = q.iter().map(Bytes::len).sum();
        out.extend(q.drain(..));
        self.queued_bytes.fetch_sub(n, Ordering::Relaxed);
    }

    /// Whether the client fell more than [`MONITOR_MAX_BYTES`] behind and must be closed.
    pub fn is_overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Acquire)
    }
}

/// A MONITOR client that has this many bytes of lines not yet taken by its connection is
/// disconnected (Redis would apply client-output-buffer-limit; a bound is needed either way so
/// a slow monitor cannot grow memory without limit).
pub const MONITOR_MAX_BYTES: usize = 64 << 20;

/// Samples kept per latency event (Redis's LATENCY_TS_LEN).
pub const LATENCY_SAMPLES: usize = 160;

/// One latency event's history (LATENCY HISTORY / LATEST).
#[derive(Clone, Debug, Default)]
pub struct LatencySeries {
    /// `(unix seconds, milliseconds)`, oldest first, at most [`LATENCY_SAMPLES`]; one per second
    /// (several events in the same second keep the largest).
    pub samples: VecDeque<(u64, u64)>,
    /// The largest latency ever recorded for the event.
    pub max_ms: u64,
}

/// A rolling rate, as Redis's instantaneous metrics: the average of the last 16 rates sampled
/// every 100 ms.
#[derive(Default)]
struct InstMetric {
    last_value: u64,
    last_ms: u64,
    rates: [f64; 16],
    idx: usize,
}

impl InstMetric {
    fn sample(&mut self, now_ms: u64, value: u64) {
        if self.last_ms != 0 && now_ms > self.last_ms {
            let per_s = value.saturating_sub(self.last_value) as f64 * 1000.0
                / (now_ms - self.last_ms) as f64;
            self.rates[self.idx % 16] = per_s;
            self.idx = (self.idx + 1) % 16;
        }
        self.last_value = value;
        self.last_ms = now_ms;
    }

    fn rate(&self) -> f64 {
        self.rates.iter().sum::<f64>() / 16.0
    }
}

/// Instantaneous ops/s and network throughput (INFO stats).
#[derive(Default)]
struct InstMetrics {
    ops: InstMetric,
    net_in: InstMetric,
    net_out: InstMetric,
}

/// What SHUTDOWN asked for, read by the server when it gets [`crate::Action::Shutdown`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShutdownRequest {
    /// `Some(true)` for SAVE, `Some(false)` for NOSAVE, `None` to follow the `save` config.
    pub save: Option<bool>,
    /// NOW: do not wait for replicas to catch up.
    pub now: bool,
    /// FORCE: exit even if the final save fails.
    pub force: bool,
}

/// The server state.
pub struct Engine {
    /// All databases.
    pub keyspace: Keyspace,
    /// The engine gate: held shared around everything that touches the keyspace, exclusively
    /// by EXEC (and scripts) so that nothing interleaves with them (see [`crate::gate`]).
    pub gate: crate::gate::Gate,
    /// The configuration.
    pub config: Config,
    /// The command table.
    pub commands: Table,
    /// Connected clients.
    pub clients: Clients,
    /// Clients blocked in BLPOP and the like.
    pub blocking: crate::blocking::Blocking,
    /// Counters.
    pub stats: Stats,
    /// The slow log.
    pub slowlog: SlowLog,
    /// Process start.
    pub started: Instant,
    /// The clock commands are timed with.
    pub clock: crate::clock::Clock,
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
    /// 40 hex characters: the replication id (master_replid).
    pub replid: String,
    /// What the last SHUTDOWN asked for.
    pub shutdown_request: Mutex<ShutdownRequest>,
    /// Latency events by name (LATENCY).
    pub latency: Mutex<BTreeMap<String, LatencySeries>>,
    /// Per-command latency histograms (INFO latencystats, LATENCY HISTOGRAM).
    pub latency_hists: crate::latency_hist::LatencyHists,
    /// The largest `used_memory` seen (used_memory_peak).
    pub memory_peak: AtomicU64,
    memory_probe: RwLock<Option<MemoryProbe>>,
    /// The cheap "bytes allocated" reading eviction uses (see `evict.rs`).
    pub(crate) used_memory_probe: std::sync::OnceLock<fn() -> u64>,
    /// Bytes allocated when the server became ready (MEMORY STATS `startup.allocated`).
    pub startup_memory: AtomicU64,
    /// Asks the allocator to return free pages to the system (MEMORY PURGE); the server's.
    pub(crate) purge_hook: std::sync::OnceLock<fn()>,
    /// Eviction state (the candidate pool).
    pub(crate) evictor: crate::evict::Evictor,
    monitors: RwLock<Vec<Arc<MonitorSink>>>,
    has_monitors: AtomicBool,
    metrics: Mutex<InstMetrics>,
    propagators: RwLock<Vec<Arc<dyn Propagate>>>,
    has_propagators: AtomicBool,
    /// Where the active expiry cycle resumes (database, shard).
    expire_cursor: Mutex<(usize, usize)>,
    /// Lua scripting: the interpreters, script cache, function libraries and the state of the
    /// running script (see [`crate::scripting`]).
    pub scripting: crate::scripting::Scripting,
    /// Pub/sub channels and subscribers (see [`crate::pubsub`]).
    pub pubsub: crate::pubsub::PubSub,
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
        let hex40 = || -> String {
            (0..40)
                .map(|_| format!("{:x}", rand::random::<u8>() % 16))
                .collect()
        };
        let run_id = hex40();
        Ok(Engine {
            keyspace: Keyspace::new(dbs),
            gate: crate::gate::Gate::new(),
            config,
            commands: Table::new()?,
            clients: Clients::default(),
            blocking: crate::blocking::Blocking::default(),
            stats: Stats::default(),
            slowlog: SlowLog::default(),
            started: Instant::now(),
            clock: crate::clock::Clock::new(),
            start_ms: unix_ms(),
            run_id,
            port: AtomicU64::new(6379),
            active_expire_enabled: AtomicBool::new(true),
            pause_until_ms: AtomicU64::new(0),
            pause_writes_only: AtomicBool::new(false),
            replid: hex40(),
            shutdown_request: Mutex::new(ShutdownRequest::default()),
            latency: Mutex::new(BTreeMap::new()),
            latency_hists: Default::default(),
            memory_peak: AtomicU64::new(0),
            memory_probe: RwLock::new(None),
            used_memory_probe: std::sync::OnceLock::new(),
            evictor: Default::default(),
            startup_memory: AtomicU64::new(0),
            purge_hook: std::sync::OnceLock::new(),
            monitors: RwLock::new(Vec::new()),
            has_monitors: AtomicBool::new(false),
            metrics: Mutex::new(InstMetrics::default()),
            propagators: RwLock::new(Vec::new()),
            has_propagators: AtomicBool::new(false),
            expire_cursor: Mutex::new((0, 0)),
            scripting: crate::scripting::Scripting::default(),
            pubsub: crate::pubsub::PubSub::default(),
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

    /// Sends one record to every consumer. While a script runs on this thread its records
    /// are held back and sent after it, wrapped in MULTI/EXEC (see [`crate::scripting`]).
    pub fn propagate(&self, db: usize, args: &[&[u8]]) {
        if crate::scripting::capture_propagation(db, args) {
            return;
        }
        for p in self.propagators.read().iter() {
            p.propagate(db, args);
        }
    }

    /// The access clock for a key read now (LRU seconds, 22 bits: Redis keeps 24, Flint's entry
    /// has room for 22, which wrap after 48 days instead of 194).
    #[inline]
    pub fn lru_clock(now_ms: u64) -> u32 {
        ((now_ms / 1000) & crate::value::CLOCK_MAX as u64) as u32
    }

    /// One round of active expiry: visits shards round-robin, removing expired keys, for at most
    /// `budget` microseconds. Returns how many keys it removed. Called `hz` times a second.
    ///
    /// Each shard is locked only for a bounded step (a few hundred keys with a TTL), so a
    /// million keys expiring at once never stall a client for more than a step. Each step
    /// holds the engine gate shared (so it never runs inside an EXEC), blocking this thread
    /// while an exclusive section runs: call it from a thread of its own.
    pub fn cron(&self, budget_us: u64) -> usize {
        self.sample_metrics();
        self.evict_cron();
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
                let hold = self.gate.enter_blocking();
                let step = {
                    let mut locked = d.shard(shard).lock();
                    let step = locked.expire_step(now, 256);
                    // Give back a slab chunk if deletions left enough free (bounded work).
                    locked.compact_step(&self.keyspace.hasher);
                    // While the shard is still locked, so that no write to these keys can be
                    // propagated (or touch watchers) before their deletion is.
                    let watches = &self.keyspace.watches;
                    for e in &step.expired {
                        let key = e.key();
                        if watches.active() {
                            watches.touch(db, key, self.keyspace.hasher.hash(key), false);
                        }
                        if propagating {
                            self.propagate(db, &[b"DEL", key]);
                        }
                        self.notify(crate::notify::EXPIRED, "expired", db, key);
                    }
                    step
                };
                self.gate.leave(hold);
                removed_total += step.expired.len();
                Stats::add(&self.stats.expired_keys, step.expired.len() as u64);
                Stats::add(&self.stats.expire_checked, step.checked as u64);
                let busy = step.checked > 0 && step.expired.len() * 4 > step.checked;
                for e in step.expired {
                    crate::lazyfree::drop_value(e.value);
                }
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

    /// Installs what MEMORY PURGE calls to make the allocator return free pages.
    pub fn set_purge_hook(&self, hook: fn()) {
        let _ = self.purge_hook.set(hook);
    }

    /// Installs the allocator probe INFO memory reads (the server's allocator is its choice,
    /// so the engine cannot ask it directly).
    pub fn set_memory_probe(&self, probe: MemoryProbe) {
        *self.memory_probe.write() = Some(probe);
    }

    /// Current memory figures: the installed probe's, or else the process's resident set size
    /// as `allocated` (allocator "libc"). Updates the peak.
    pub fn memory(&self) -> MemoryStats {
        let probe = *self.memory_probe.read();
        let m = match probe {
            Some(p) => {
                // Free keyspace slots count as free memory, as eviction sees it (`evict.rs`).
                let mut m = p();
                m.allocated = crate::keyspace::in_use(m.allocated);
                m
            }
            None => MemoryStats {
                allocated: rss_bytes(),
                active: 0,
                resident: 0,
                allocator: "libc",
            },
        };
        self.memory_peak.fetch_max(m.allocated, Ordering::Relaxed);
        m
    }

    /// Notes the command a client is running, for `cmd=` in CLIENT LIST. Call before the
    /// handler runs (CLIENT LIST shows itself as `client|list`, as Redis does). One relaxed
    /// store: no lock on the per-command path.
    #[inline]
    pub fn note_command(&self, cmd: &Command, sess: &Session) {
        sess.handle.last_cmd.store(cmd.id, Ordering::Relaxed);
    }

    /// Registers a MONITOR client: lines for every command run from now on are queued on the
    /// returned sink and `waker` is called when there are new ones.
    pub fn add_monitor(&self, client_id: u64, waker: Waker) -> Arc<MonitorSink> {
        let sink = Arc::new(MonitorSink {
            client_id,
            lines: Mutex::new(VecDeque::new()),
            queued_bytes: AtomicUsize::new(0),
            overflowed: AtomicBool::new(false),
            waker,
        });
        let mut all = self.monitors.write();
        all.push(sink.clone());
        self.has_monitors.store(true, Ordering::Release);
        sink
    }

    /// Unregisters a MONITOR client (it disconnected, or sent RESET).
    pub fn remove_monitor(&self, client_id: u64) {
        let mut all = self.monitors.write();
        all.retain(|m| m.client_id != client_id);
        self.has_monitors.store(!all.is_empty(), Ordering::Release);
    }

    /// Number of MONITOR clients.
    pub fn monitor_count(&self) -> usize {
        self.monitors.read().len()
    }

    /// Shows a command that ran to every MONITOR client, in Redis's format:
    /// `+1700000000.123456 [0 127.0.0.1:5555] "set" "k" "v"`. Call after each command that
    /// passed the dispatcher's checks (it ran, successfully or not). Admin commands and those
    /// flagged `skip_monitor` are not shown; passwords (AUTH, HELLO AUTH, MIGRATE AUTH) are
    /// shown as `(redacted)`. The database is the one selected after the command, as in Redis.
    pub fn feed_monitors(&self, cmd: &Command, sess: &Session, args: &[&[u8]]) {
        if !self.has_monitors.load(Ordering::Acquire) || cmd.has(flags::ADMIN | flags::SKIP_MONITOR)
        {
            return;
        }
        let sinks = self.monitors.read();
        if sinks.is_empty() {
            return;
        }
        let line = monitor_line(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_micros() as u64)
                .unwrap_or(0),
            sess.db,
            &sess
                .handle
                .addr
                .map(|a| a.to_string())
                .unwrap_or_else(|| "unknown".into()),
            args,
        );
        for sink in sinks.iter() {
            if sink.is_overflowed() {
                continue;
            }
            let queued = sink.queued_bytes.fetch_add(line.len(), Ordering::Relaxed) + line.len();
            if queued > MONITOR_MAX_BYTES {
                sink.overflowed.store(true, Ordering::Release);
                if let Some(h) = self.clients.get(sink.client_id) {
                    tracing::warn!(
                        "closing MONITOR client {}: over {MONITOR_MAX_BYTES} bytes behind",
                        sink.client_id
                    );
                    h.kill();
                }
                (sink.waker)();
                continue;
            }
            sink.lines.lock().push_back(line.clone());
            (sink.waker)();
        }
    }

    /// Records a latency event of `ms` milliseconds if `latency-monitor-threshold` is on and
    /// `ms` reaches it (Redis's latencyAddSampleIfNeeded).
    pub fn latency_sample(&self, event: &str, ms: u64) {
        // The threshold is at least 1 ms when on: most commands stop here without a lock.
        if ms == 0 {
            return;
        }
        let threshold = self.config.settings().latency_threshold_ms;
        if threshold == 0 || ms < threshold {
            return;
        }
        self.latency_add(event, unix_ms() / 1000, ms);
    }

    /// Adds a sample to `event`'s history unconditionally.
    pub fn latency_add(&self, event: &str, now_s: u64, ms: u64) {
        let mut all = self.latency.lock();
        let series = match all.get_mut(event) {
            Some(s) => s,
            None => all.entry(event.to_string()).or_default(),
        };
        series.max_ms = series.max_ms.max(ms);
        if let Some(last) = series.samples.back_mut() {
            if last.0 == now_s {
                last.1 = last.1.max(ms);
                return;
            }
        }
        if series.samples.len() == LATENCY_SAMPLES {
            series.samples.pop_front();
        }
        series.samples.push_back((now_s, ms));
    }

    /// What the dispatcher records once a command has run: latency events (`command`, or
    /// `fast-command` for commands flagged fast) and the MONITOR feed.
    pub fn after_command(&self, cmd: &Command, sess: &Session, args: &[&[u8]], elapsed_us: u64) {
        let event = if cmd.has(flags::FAST) {
            "fast-command"
        } else {
            "command"
        };
        self.latency_sample(event, elapsed_us / 1000);
        self.feed_monitors(cmd, sess, args);
    }

    /// Samples the counters behind INFO's instantaneous metrics; a no-op when called again
    /// within 100 ms. Called from [`Engine::cron`].
    pub fn sample_metrics(&self) {
        let now = unix_ms();
        let mut m = self.metrics.lock();
        if m.ops.last_ms != 0 && now < m.ops.last_ms + 100 {
            return;
        }
        m.ops
            .sample(now, Stats::get(&self.stats.total_commands_processed));
        m.net_in
            .sample(now, Stats::get(&self.stats.net_input_bytes));
        m.net_out
            .sample(now, Stats::get(&self.stats.net_output_bytes));
    }

    /// Instantaneous `(ops/s, input bytes/s, output bytes/s)`.
    pub fn instantaneous(&self) -> (f64, f64, f64) {
        let m = self.metrics.lock();
        (m.ops.rate(), m.net_in.rate(), m.net_out.rate())
    }
}

/// The process's resident set size in bytes, from /proc/self/statm (0 where unavailable).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

/// A MONITOR line as a RESP simple string: time, db, client address, then each argument quoted
/// as Redis's `sdscatrepr` does (`\n`, `\"`, `\x01`...), secrets redacted.
pub fn monitor_line(now_us: u64, db: usize, addr: &str, args: &[&[u8]]) -> Bytes {
    let mut s: Vec<u8> = Vec::with_capacity(48 + args.iter().map(|a| a.len() + 3).sum::<usize>());
    s.extend_from_slice(
        format!(
            "+{}.{:06} [{db} {addr}]",
            now_us / 1_000_000,
            now_us % 1_000_000
        )
        .as_bytes(),
    );
    let redacted = redacted_args(args);
    for (i, a) in args.iter().enumerate() {
        s.push(b' ');
        if redacted.contains(&i) {
            s.extend_from_slice(b"\"(redacted)\"");
        } else {
            repr_into(&mut s, a);
        }
    }
    s.extend_from_slice(b"\r\n");
    Bytes::from(s)
}

/// Positions of arguments that must never be shown (passwords): every argument of AUTH, the
/// two after HELLO's AUTH, the one after MIGRATE's AUTH and the two after its AUTH2.
fn redacted_args(args: &[&[u8]]) -> Vec<usize> {
    let Some(name) = args.first() else {
        return Vec::new();
    };
    if name.eq_ignore_ascii_case(b"auth") {
        return (1..args.len()).collect();
    }
    let is_hello = name.eq_ignore_ascii_case(b"hello");
    if !is_hello && !name.eq_ignore_ascii_case(b"migrate") {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut i = 1;
    while i < args.len() {
        let secrets = if args[i].eq_ignore_ascii_case(b"auth") {
            if is_hello {
                2
            } else {
                1
            }
        } else if !is_hello && args[i].eq_ignore_ascii_case(b"auth2") {
            2
        } else {
            0
        };
        out.extend(i + 1..(i + 1 + secrets).min(args.len()));
        i += 1 + secrets;
    }
    out
}

/// Appends `a` quoted as Redis's `sdscatrepr`.
pub fn repr_into(out: &mut Vec<u8>, a: &[u8]) {
    out.push(b'"');
    for &b in a {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}
