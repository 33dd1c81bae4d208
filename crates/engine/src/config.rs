//! Configuration: one declarative table of parameters ([`PARAMS`]) that serves the config file,
//! `--name value` flags, CONFIG GET (glob patterns), CONFIG SET (several at once, atomically) and
//! CONFIG REWRITE.
//!
//! Values are kept as canonical strings (what CONFIG GET prints); every change rebuilds a typed
//! [`Settings`] snapshot that the hot path reads without parsing.
//!
//! Every parameter a Redis 7.0 `CONFIG GET *` lists is here (except the `tls-*` ones: Flint has no
//! TLS), with Redis's types, ranges, defaults and error texts, so that tools which read or set
//! them work. Most only store and report their value; [`Settings`] lists those Flint acts on
//! (plus `maxmemory*`, `appendonly`, `enable-debug-command`... read by name), and the table
//! marks the rest "stored only". `port` is settable, but the listener does not rebind yet.
//!
//! CONFIG REWRITE edits the file the server started from in place (see [`Config::rewrite`]):
//! directives it knows are updated where they stand, comments and unknown lines are kept,
//! changed parameters missing from the file are appended.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::error::{Error, Result};
use crate::util::glob_match;

/// How a parameter's value is checked and printed (Redis's config types).
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// An integer (`string2ll`: no sign but `-`, no leading zeros) in `min..=max`.
    Int(i64, i64),
    /// A byte size as Redis's `memtoull` reads it (`1gb`, `512mb`, `100k`; an empty value is
    /// 0, a `-` is refused, overflow wraps as in C) in `min..=max`; printed as a plain number.
    Memory(i64, u64),
    /// A byte size or a percentage `N%` (stored as `-N`, printed back as `N%`), in
    /// `min..=max` where `-min` is the largest percentage (`maxmemory-clients`).
    MemoryPercent(i64, i64),
    /// An octal integer in `min..=max`, printed in octal (`unixsocketperm`).
    Octal(i64, i64),
    /// `yes` or `no`, any case.
    Bool,
    /// One of the listed words, any case; the error lists them in this order.
    Enum(&'static [&'static str]),
    /// `save`: pairs of seconds (>= 1) and changes (>= 0), or empty.
    Save,
    /// `notify-keyspace-events`: class characters from `Ag$lshzxeKEtmdn`, printed canonically.
    KeyspaceEvents,
    /// `client-output-buffer-limit`: groups of `class hard soft seconds`, merged into the
    /// current value (classes not named keep theirs), printed as all three classes in bytes.
    OutputBufferLimit,
    /// `latency-tracking-info-percentiles`: numbers from 0 to 100 separated by single spaces
    /// (or nothing), printed as `%f` without trailing zeros.
    Percentiles,
    /// Any string.
    Str,
}

/// One configuration parameter.
#[derive(Debug)]
pub struct Param {
    /// The name, lowercase.
    pub name: &'static str,
    /// Another accepted name (Redis's old spellings).
    pub alias: Option<&'static str>,
    /// Value kind.
    pub kind: Kind,
    /// Default value, in canonical form.
    pub default: &'static str,
    /// Whether CONFIG SET may change it at run time.
    pub mutable: bool,
    /// Redis's protected configs (`dir`, `dbfilename`): CONFIG SET refuses them unless
    /// `enable-protected-configs` is `yes` or `local`.
    pub protected: bool,
    /// Values outside this range are accepted and brought into it (Redis's `hz`).
    pub clamp: Option<(i64, i64)>,
}

const fn p(name: &'static str, kind: Kind, default: &'static str) -> Param {
    Param {
        name,
        alias: None,
        kind,
        default,
        mutable: true,
        protected: false,
        clamp: None,
    }
}

const fn fixed(name: &'static str, kind: Kind, default: &'static str) -> Param {
    Param {
        mutable: false,
        ..p(name, kind, default)
    }
}

impl Param {
    const fn alias(mut self, alias: &'static str) -> Self {
        self.alias = Some(alias);
        self
    }

    const fn protected(mut self) -> Self {
        self.protected = true;
        self
    }

    const fn clamped(mut self, lo: i64, hi: i64) -> Self {
        self.clamp = Some((lo, hi));
        self
    }
}

const MAX: i64 = i64::MAX;
const UMAX: u64 = u64::MAX;
const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;
const UINT_MAX: i64 = u32::MAX as i64;
const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning"];
const PROTECTED_ACTION: &[&str] = &["no", "yes", "local"];
const POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

/// Every parameter Flint knows, sorted by name. Those Flint acts on are read into [`Settings`]
/// or by name elsewhere (`maxmemory`, `maxmemory-policy`, `appendonly`, `enable-debug-command`,
/// `loglevel`, `logfile`, `port`, `bind`, `databases`, `threads`, `dir`, `dbfilename`...);
/// the others (replication, cluster, TLS-less networking, defrag, encodings of types Flint does
/// not have yet...) are stored and reported only, so that tools which set them keep working.
#[rustfmt::skip]
pub static PARAMS: &[Param] = &[
    p("acl-pubsub-default", Kind::Enum(&["allchannels", "resetchannels"]), "resetchannels"),
    fixed("aclfile", Kind::Str, ""),
    p("acllog-max-len", Kind::Int(0, MAX), "128"),
    p("active-defrag-cycle-max", Kind::Int(1, 99), "25"),
    p("active-defrag-cycle-min", Kind::Int(1, 99), "1"),
    p("active-defrag-ignore-bytes", Kind::Memory(1, MAX as u64), "104857600"),
    p("active-defrag-max-scan-fields", Kind::Int(1, MAX), "1000"),
    p("active-defrag-threshold-lower", Kind::Int(0, 1000), "10"),
    p("active-defrag-threshold-upper", Kind::Int(0, 1000), "100"),
    p("active-expire-effort", Kind::Int(1, 10), "1"),
    p("activedefrag", Kind::Bool, "no"),
    p("activerehashing", Kind::Bool, "yes"),
    fixed("always-show-logo", Kind::Bool, "no"),
    p("aof-disable-auto-gc", Kind::Bool, "no"),
    p("aof-load-truncated", Kind::Bool, "yes"),
    p("aof-rewrite-incremental-fsync", Kind::Bool, "yes"),
    p("aof-timestamp-enabled", Kind::Bool, "no"),
    p("aof-use-rdb-preamble", Kind::Bool, "yes"),
    fixed("aof_rewrite_cpulist", Kind::Str, ""),
    fixed("appenddirname", Kind::Str, "appendonlydir"),
    fixed("appendfilename", Kind::Str, "appendonly.aof"),
    p("appendfsync", Kind::Enum(&["everysec", "always", "no"]), "everysec"),
    p("appendonly", Kind::Bool, "no"),
    p("auto-aof-rewrite-min-size", Kind::Memory(0, MAX as u64), "67108864"),
    p("auto-aof-rewrite-percentage", Kind::Int(0, INT_MAX), "100"),
    fixed("bgsave_cpulist", Kind::Str, ""),
    p("bind", Kind::Str, "127.0.0.1 -::1"),
    p("bind-source-addr", Kind::Str, ""),
    fixed("bio_cpulist", Kind::Str, ""),
    p("busy-reply-threshold", Kind::Int(0, MAX), "5000").alias("lua-time-limit"),
    p("client-output-buffer-limit", Kind::OutputBufferLimit, "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
    p("client-query-buffer-limit", Kind::Memory(1048576, MAX as u64), "1073741824"),
    p("cluster-allow-pubsubshard-when-down", Kind::Bool, "yes"),
    p("cluster-allow-reads-when-down", Kind::Bool, "no"),
    p("cluster-allow-replica-migration", Kind::Bool, "yes"),
    p("cluster-announce-bus-port", Kind::Int(0, 65535), "0"),
    p("cluster-announce-hostname", Kind::Str, ""),
    p("cluster-announce-ip", Kind::Str, ""),
    p("cluster-announce-port", Kind::Int(0, 65535), "0"),
    p("cluster-announce-tls-port", Kind::Int(0, 65535), "0"),
    fixed("cluster-config-file", Kind::Str, "nodes.conf"),
    fixed("cluster-enabled", Kind::Bool, "no"),
    p("cluster-link-sendbuf-limit", Kind::Memory(0, UMAX), "0"),
    p("cluster-migration-barrier", Kind::Int(0, INT_MAX), "1"),
    p("cluster-node-timeout", Kind::Int(0, MAX), "15000"),
    fixed("cluster-port", Kind::Int(0, 65535), "0"),
    p("cluster-preferred-endpoint-type", Kind::Enum(&["ip", "hostname", "unknown-endpoint"]), "ip"),
    p("cluster-replica-no-failover", Kind::Bool, "no").alias("cluster-slave-no-failover"),
    p("cluster-replica-validity-factor", Kind::Int(0, INT_MAX), "10").alias("cluster-slave-validity-factor"),
    p("cluster-require-full-coverage", Kind::Bool, "yes"),
    p("crash-log-enabled", Kind::Bool, "yes"),
    p("crash-memcheck-enabled", Kind::Bool, "yes"),
    fixed("daemonize", Kind::Bool, "no"),
    fixed("databases", Kind::Int(1, 1 << 20), "16"),
    p("dbfilename", Kind::Str, "dump.rdb").protected(),
    p("dir", Kind::Str, ".").protected(),
    fixed("disable-thp", Kind::Bool, "yes"),
    p("dynamic-hz", Kind::Bool, "yes"),
    fixed("enable-debug-command", Kind::Enum(PROTECTED_ACTION), "no"),
    fixed("enable-module-command", Kind::Enum(PROTECTED_ACTION), "no"),
    fixed("enable-protected-configs", Kind::Enum(PROTECTED_ACTION), "no"),
    p("hash-max-listpack-entries", Kind::Int(0, MAX), "512").alias("hash-max-ziplist-entries"),
    p("hash-max-listpack-value", Kind::Memory(0, MAX as u64), "64").alias("hash-max-ziplist-value"),
    p("hll-sparse-max-bytes", Kind::Memory(0, MAX as u64), "3000"),
    p("hz", Kind::Int(0, INT_MAX), "10").clamped(1, 500),
    p("ignore-warnings", Kind::Str, ""),
    fixed("io-threads", Kind::Int(1, 128), "1"),
    fixed("io-threads-do-reads", Kind::Bool, "no"),
    p("jemalloc-bg-thread", Kind::Bool, "yes"),
    p("latency-monitor-threshold", Kind::Int(0, MAX), "0"),
    p("latency-tracking", Kind::Bool, "yes"),
    p("latency-tracking-info-percentiles", Kind::Percentiles, "50 99 99.9"),
    p("lazyfree-lazy-eviction", Kind::Bool, "no"),
    p("lazyfree-lazy-expire", Kind::Bool, "no"),
    p("lazyfree-lazy-server-del", Kind::Bool, "no"),
    p("lazyfree-lazy-user-del", Kind::Bool, "no"),
    p("lazyfree-lazy-user-flush", Kind::Bool, "no"),
    p("lfu-decay-time", Kind::Int(0, INT_MAX), "1"),
    p("lfu-log-factor", Kind::Int(0, INT_MAX), "10"),
    p("list-compress-depth", Kind::Int(0, INT_MAX), "0"),
    p("list-max-listpack-size", Kind::Int(INT_MIN, INT_MAX), "-2").alias("list-max-ziplist-size"),
    fixed("logfile", Kind::Str, ""),
    p("loglevel", Kind::Enum(LOGLEVELS), "notice"),
    p("masterauth", Kind::Str, ""),
    p("masteruser", Kind::Str, ""),
    p("maxclients", Kind::Int(1, UINT_MAX), "10000"),
    p("maxmemory", Kind::Memory(0, UMAX), "0"),
    p("maxmemory-clients", Kind::MemoryPercent(-100, i64::MAX), "0"),
    p("maxmemory-eviction-tenacity", Kind::Int(0, 100), "10"),
    p("maxmemory-policy", Kind::Enum(POLICIES), "noeviction"),
    p("maxmemory-samples", Kind::Int(1, INT_MAX), "5"),
    p("min-replicas-max-lag", Kind::Int(0, INT_MAX), "10").alias("min-slaves-max-lag"),
    p("min-replicas-to-write", Kind::Int(0, INT_MAX), "0").alias("min-slaves-to-write"),
    p("no-appendfsync-on-rewrite", Kind::Bool, "no"),
    p("notify-keyspace-events", Kind::KeyspaceEvents, ""),
    p("oom-score-adj", Kind::Enum(&["no", "yes", "relative", "absolute"]), "no"),
    p("oom-score-adj-values", Kind::Str, "0 200 800"),
    fixed("pidfile", Kind::Str, ""),
    p("port", Kind::Int(0, 65535), "6379"),
    p("proc-title-template", Kind::Str, "{title} {listen-addr} {server-mode}"),
    p("propagation-error-behavior", Kind::Enum(&["ignore", "panic", "panic-on-replicas"]), "ignore"),
    p("protected-mode", Kind::Bool, "yes"),
    p("proto-max-bulk-len", Kind::Memory(1048576, MAX as u64), "536870912"),
    p("rdb-del-sync-files", Kind::Bool, "no"),
    p("rdb-save-incremental-fsync", Kind::Bool, "yes"),
    fixed("rdbchecksum", Kind::Bool, "yes"),
    p("rdbcompression", Kind::Bool, "yes"),
    p("repl-backlog-size", Kind::Memory(1, MAX as u64), "1048576"),
    p("repl-backlog-ttl", Kind::Int(0, MAX), "3600"),
    p("repl-disable-tcp-nodelay", Kind::Bool, "no"),
    p("repl-diskless-load", Kind::Enum(&["disabled", "on-empty-db", "swapdb"]), "disabled"),
    p("repl-diskless-sync", Kind::Bool, "yes"),
    p("repl-diskless-sync-delay", Kind::Int(0, INT_MAX), "5"),
    p("repl-diskless-sync-max-replicas", Kind::Int(0, INT_MAX), "0"),
    p("repl-ping-replica-period", Kind::Int(1, INT_MAX), "10").alias("repl-ping-slave-period"),
    p("repl-timeout", Kind::Int(1, INT_MAX), "60"),
    p("replica-announce-ip", Kind::Str, "").alias("slave-announce-ip"),
    p("replica-announce-port", Kind::Int(0, 65535), "0").alias("slave-announce-port"),
    p("replica-announced", Kind::Bool, "yes"),
    p("replica-ignore-disk-write-errors", Kind::Bool, "no"),
    p("replica-ignore-maxmemory", Kind::Bool, "yes").alias("slave-ignore-maxmemory"),
    p("replica-lazy-flush", Kind::Bool, "no").alias("slave-lazy-flush"),
    p("replica-priority", Kind::Int(0, INT_MAX), "100").alias("slave-priority"),
    p("replica-read-only", Kind::Bool, "yes").alias("slave-read-only"),
    p("replica-serve-stale-data", Kind::Bool, "yes").alias("slave-serve-stale-data"),
    fixed("replicaof", Kind::Str, "").alias("slaveof"),
    p("requirepass", Kind::Str, ""),
    p("sanitize-dump-payload", Kind::Enum(&["no", "yes", "clients"]), "no"),
    p("save", Kind::Save, "3600 1 300 100 60 10000"),
    fixed("server_cpulist", Kind::Str, ""),
    p("set-max-intset-entries", Kind::Int(0, MAX), "512"),
    fixed("set-proc-title", Kind::Bool, "yes"),
    p("shutdown-on-sigint", Kind::Enum(&["default", "save", "nosave", "now", "force"]), "default"),
    p("shutdown-on-sigterm", Kind::Enum(&["default", "save", "nosave", "now", "force"]), "default"),
    p("shutdown-timeout", Kind::Int(0, INT_MAX), "10"),
    p("slowlog-log-slower-than", Kind::Int(-1, MAX), "10000"),
    p("slowlog-max-len", Kind::Int(0, MAX), "128"),
    fixed("socket-mark-id", Kind::Int(0, UINT_MAX), "0"),
    p("stop-writes-on-bgsave-error", Kind::Bool, "yes"),
    p("stream-node-max-bytes", Kind::Memory(0, MAX as u64), "4096"),
    p("stream-node-max-entries", Kind::Int(0, MAX), "100"),
    fixed("supervised", Kind::Enum(&["upstart", "systemd", "auto", "no"]), "no"),
    fixed("syslog-enabled", Kind::Bool, "no"),
    fixed("syslog-facility", Kind::Enum(&["user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"]), "local0"),
    fixed("syslog-ident", Kind::Str, "redis"),
    fixed("tcp-backlog", Kind::Int(0, INT_MAX), "511"),
    p("tcp-keepalive", Kind::Int(0, INT_MAX), "300"),
    p("timeout", Kind::Int(0, INT_MAX), "0"),
    p("tracking-table-max-keys", Kind::Int(0, MAX), "1000000"),
    fixed("unixsocket", Kind::Str, ""),
    fixed("unixsocketperm", Kind::Octal(0, 0o777), "0"),
    p("zset-max-listpack-entries", Kind::Int(0, MAX), "128").alias("zset-max-ziplist-entries"),
    p("zset-max-listpack-value", Kind::Memory(0, MAX as u64), "64").alias("zset-max-ziplist-value"),
    // Flint's own parameters (not in Redis 7.0).
    fixed("threads", Kind::Int(1, 1024), "0"),
    p("set-max-listpack-entries", Kind::Int(0, MAX), "128"),
    p("set-max-listpack-value", Kind::Int(0, MAX), "64"),
    p("default-ttl", Kind::Int(0, MAX), "0"),
];

/// Parameters whose value is several words written unquoted on one line (`save 3600 1`).
const MULTI_WORD: &[&str] = &["save", "bind", "client-output-buffer-limit"];

/// Typed view of the configuration, rebuilt on every change.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `requirepass` (empty: no password).
    pub requirepass: String,
    /// The `pubsub` class of `client-output-buffer-limit`.
    pub pubsub_limits: crate::pubsub::OutputLimits,
    /// `proto-max-bulk-len`.
    pub proto_max_bulk_len: i64,
    /// `client-query-buffer-limit`.
    pub client_query_buffer_limit: usize,
    /// `maxclients`.
    pub maxclients: usize,
    /// `timeout` in seconds (0: never).
    pub timeout_s: u64,
    /// `slowlog-log-slower-than` in microseconds (negative: off).
    pub slowlog_slower_than_us: i64,
    /// `slowlog-max-len`.
    pub slowlog_max_len: usize,
    /// `hz`.
    pub hz: u64,
    /// `latency-monitor-threshold` in milliseconds (0: off).
    pub latency_threshold_ms: u64,
    /// `protected-mode`.
    pub protected_mode: bool,
    /// `tcp-keepalive` in seconds.
    pub tcp_keepalive_s: u64,
    /// `busy-reply-threshold` (alias `lua-time-limit`) in milliseconds (0: scripts never busy).
    pub busy_reply_threshold_ms: u64,
    /// `latency-tracking`.
    pub latency_tracking: bool,
    /// `latency-tracking-info-percentiles`.
    pub latency_percentiles: Vec<f64>,
}

/// The collection-encoding thresholds, as plain numbers (see [`Config::encoding`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodingLimits {
    /// `hash-max-listpack-entries`.
    pub hash_max_listpack_entries: usize,
    /// `hash-max-listpack-value` (bytes).
    pub hash_max_listpack_value: usize,
    /// `set-max-intset-entries`.
    pub set_max_intset_entries: usize,
    /// `set-max-listpack-entries`.
    pub set_max_listpack_entries: usize,
    /// `set-max-listpack-value` (bytes).
    pub set_max_listpack_value: usize,
    /// `zset-max-listpack-entries`.
    pub zset_max_listpack_entries: usize,
    /// `zset-max-listpack-value` (bytes).
    pub zset_max_listpack_value: usize,
    /// `list-max-listpack-size`: positive, entries per quicklist node; -1..-5, node size limit of
    /// 4, 8, 16, 32 or 64 KiB.
    pub list_max_listpack_size: i64,
    /// `list-compress-depth`.
    pub list_compress_depth: i64,
}

impl EncodingLimits {
    fn from_values(v: &BTreeMap<&'static str, String>) -> Self {
        let int = |name: &str| v.get(name).and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
        let size = |name: &str| int(name).max(0) as usize;
        EncodingLimits {
            hash_max_listpack_entries: size("hash-max-listpack-entries"),
            hash_max_listpack_value: size("hash-max-listpack-value"),
            set_max_intset_entries: size("set-max-intset-entries"),
            set_max_listpack_entries: size("set-max-listpack-entries"),
            set_max_listpack_value: size("set-max-listpack-value"),
            zset_max_listpack_entries: size("zset-max-listpack-entries"),
            zset_max_listpack_value: size("zset-max-listpack-value"),
            list_max_listpack_size: int("list-max-listpack-size"),
            list_compress_depth: int("list-compress-depth"),
        }
    }
}

/// [`EncodingLimits`] kept in atomics, so that every collection write reads them without a lock
/// or a shared reference count.
struct AtomicEncodingLimits([std::sync::atomic::AtomicI64; 9]);

impl AtomicEncodingLimits {
    fn new(l: EncodingLimits) -> Self {
        let a = AtomicEncodingLimits(Default::default());
        a.store(l);
        a
    }

    fn store(&self, l: EncodingLimits) {
        use std::sync::atomic::Ordering::Relaxed;
        let vals = [
            l.hash_max_listpack_entries as i64,
            l.hash_max_listpack_value as i64,
            l.set_max_intset_entries as i64,
            l.set_max_listpack_entries as i64,
            l.set_max_listpack_value as i64,
            l.zset_max_listpack_entries as i64,
            l.zset_max_listpack_value as i64,
            l.list_max_listpack_size,
            l.list_compress_depth,
        ];
        for (slot, v) in self.0.iter().zip(vals) {
            slot.store(v, Relaxed);
        }
    }

    fn load(&self) -> EncodingLimits {
        use std::sync::atomic::Ordering::Relaxed;
        let g = |i: usize| self.0[i].load(Relaxed);
        EncodingLimits {
            hash_max_listpack_entries: g(0) as usize,
            hash_max_listpack_value: g(1) as usize,
            set_max_intset_entries: g(2) as usize,
            set_max_listpack_entries: g(3) as usize,
            set_max_listpack_value: g(4) as usize,
            zset_max_listpack_entries: g(5) as usize,
            zset_max_listpack_value: g(6) as usize,
            list_max_listpack_size: g(7),
            list_compress_depth: g(8),
        }
    }
}

/// maxmemory-policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// `noeviction`: writes that may add memory fail with OOM past the limit.
    NoEviction,
    /// `allkeys-lru`.
    AllKeysLru,
    /// `allkeys-lfu`.
    AllKeysLfu,
    /// `allkeys-random`.
    AllKeysRandom,
    /// `volatile-lru`.
    VolatileLru,
    /// `volatile-lfu`.
    VolatileLfu,
    /// `volatile-random`.
    VolatileRandom,
    /// `volatile-ttl`.
    VolatileTtl,
}

impl Policy {
    fn from_name(name: &str) -> Policy {
        match name {
            "allkeys-lru" => Policy::AllKeysLru,
            "allkeys-lfu" => Policy::AllKeysLfu,
            "allkeys-random" => Policy::AllKeysRandom,
            "volatile-lru" => Policy::VolatileLru,
            "volatile-lfu" => Policy::VolatileLfu,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            _ => Policy::NoEviction,
        }
    }

    fn from_u8(n: u8) -> Policy {
        [
            Policy::NoEviction,
            Policy::AllKeysLru,
            Policy::AllKeysLfu,
            Policy::AllKeysRandom,
            Policy::VolatileLru,
            Policy::VolatileLfu,
            Policy::VolatileRandom,
            Policy::VolatileTtl,
        ]
        .get(n as usize)
        .copied()
        .unwrap_or(Policy::NoEviction)
    }

    /// Whether keys keep an LFU counter (rather than an LRU clock) in their access field.
    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::AllKeysLfu | Policy::VolatileLfu)
    }

    /// Whether only keys with a TTL may be evicted.
    pub fn is_volatile(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }
}

/// The memory settings, as plain numbers (see [`Config::memory`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryLimits {
    /// `maxmemory` in bytes (0: no limit).
    pub maxmemory: u64,
    /// `maxmemory-policy`.
    pub policy: Policy,
    /// `maxmemory-samples`.
    pub samples: usize,
    /// `maxmemory-eviction-tenacity` (0..=100).
    pub tenacity: u32,
    /// `lfu-log-factor`.
    pub lfu_log_factor: u32,
    /// `lfu-decay-time` in minutes.
    pub lfu_decay_time: u32,
    /// `default-ttl` in seconds (0: off).
    pub default_ttl: u64,
}

impl MemoryLimits {
    fn from_values(v: &BTreeMap<&'static str, String>) -> Self {
        let int = |name: &str| v.get(name).and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
        MemoryLimits {
            maxmemory: v
                .get("maxmemory")
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0),
            policy: Policy::from_name(v.get("maxmemory-policy").map_or("", |s| s.as_str())),
            samples: int("maxmemory-samples").max(1) as usize,
            tenacity: int("maxmemory-eviction-tenacity").clamp(0, 100) as u32,
            lfu_log_factor: int("lfu-log-factor").clamp(0, u32::MAX as i64) as u32,
            lfu_decay_time: int("lfu-decay-time").clamp(0, u32::MAX as i64) as u32,
            default_ttl: int("default-ttl").max(0) as u64,
        }
    }
}

/// [`MemoryLimits`] in atomics, read before every command without a lock.
struct AtomicMemoryLimits {
    maxmemory: std::sync::atomic::AtomicU64,
    /// policy, samples, tenacity, lfu-log-factor, lfu-decay-time, default-ttl.
    rest: [std::sync::atomic::AtomicU64; 6],
}

impl AtomicMemoryLimits {
    fn new(l: MemoryLimits) -> Self {
        let a = AtomicMemoryLimits {
            maxmemory: Default::default(),
            rest: Default::default(),
        };
        a.store(l);
        a
    }

    fn store(&self, l: MemoryLimits) {
        use std::sync::atomic::Ordering::Relaxed;
        let vals = [
            l.policy as u64,
            l.samples as u64,
            l.tenacity as u64,
            l.lfu_log_factor as u64,
            l.lfu_decay_time as u64,
            l.default_ttl,
        ];
        for (slot, v) in self.rest.iter().zip(vals) {
            slot.store(v, Relaxed);
        }
        self.maxmemory.store(l.maxmemory, Relaxed);
    }

    fn load(&self) -> MemoryLimits {
        use std::sync::atomic::Ordering::Relaxed;
        let g = |i: usize| self.rest[i].load(Relaxed);
        MemoryLimits {
            maxmemory: self.maxmemory.load(Relaxed),
            policy: Policy::from_u8(g(0) as u8),
            samples: g(1) as usize,
            tenacity: g(2) as u32,
            lfu_log_factor: g(3) as u32,
            lfu_decay_time: g(4) as u32,
            default_ttl: g(5),
        }
    }
}

/// The live configuration.
pub struct Config {
    /// Memory limits and policy, read before every command without taking a lock.
    memory: AtomicMemoryLimits,
    /// `slowlog-log-slower-than`, read by every command without taking a lock.
    slowlog_us: std::sync::atomic::AtomicI64,
    /// `latency-tracking`, read by every command without taking a lock.
    latency_tracking: std::sync::atomic::AtomicBool,
    /// Collection encoding thresholds, read by every collection write without taking a lock.
    encoding: AtomicEncodingLimits,
    /// `notify-keyspace-events` as [`crate::notify`] bits, read by every notification.
    keyspace_events: std::sync::atomic::AtomicU32,
    /// Bumped on every change, so holders of a [`Settings`] snapshot know to refresh it.
    epoch: std::sync::atomic::AtomicU64,
    values: RwLock<BTreeMap<&'static str, String>>,
    settings: RwLock<Arc<Settings>>,
    /// The file the server started from (absolute), for CONFIG REWRITE and INFO.
    file: RwLock<Option<PathBuf>>,
    /// Moves the listening sockets to a new `bind` and `port` (set by the server): CONFIG SET
    /// of either calls it before storing the new value, which is refused if it fails.
    listen: RwLock<Option<ListenHook>>,
}

/// See [`Config::set_listen_hook`]: `(bind, port)` to listen on instead, or why it cannot (for
/// the log; the client gets Redis's text).
pub type ListenHook = Box<dyn Fn(&str, u16) -> std::result::Result<(), String> + Send + Sync>;

fn find(name: &str) -> Option<&'static Param> {
    let lower = name.to_ascii_lowercase();
    PARAMS
        .iter()
        .find(|p| p.name == lower || p.alias == Some(lower.as_str()))
}

/// Parses a memory size as Redis 7.0's `memtoull`: digits with an optional unit (b, k, kb, m, mb,
/// g, gb; case-insensitive; `k` is 1000, `kb` 1024). No digits reads as 0, a leading `-` or
/// any other character is an error, too many digits saturate and the unit multiplication
/// wraps, as in C.
pub fn parse_memory(s: &str) -> Option<u64> {
    if s.starts_with('-') {
        return None;
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    // Redis copies the digits into a 128-byte buffer first.
    if num.len() >= 128 {
        return None;
    }
    let val = if num.is_empty() {
        0
    } else {
        num.parse::<u64>().unwrap_or(u64::MAX)
    };
    Some(val.wrapping_mul(mul))
}

fn between(min: impl std::fmt::Display, max: impl std::fmt::Display) -> String {
    format!("argument must be between {min} and {max} inclusive")
}

/// Checks `value` for `param`, whose value is now `current`, and returns it in canonical form
/// (what CONFIG GET prints), or Redis's reason for refusing it. Only a kind that merges into
/// the current value (`client-output-buffer-limit`) reads `current`.
fn canonical(param: &Param, value: &str, current: &str) -> std::result::Result<String, String> {
    match param.kind {
        Kind::Int(min, max) => {
            let v = crate::util::parse_i64(value.as_bytes())
                .ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
            if v < min || v > max {
                return Err(between(min, max));
            }
            let v = match param.clamp {
                Some((lo, hi)) => v.clamp(lo, hi),
                None => v,
            };
            Ok(v.to_string())
        }
        Kind::Memory(min, max) => {
            let v =
                parse_memory(value).ok_or_else(|| "argument must be a memory value".to_string())?;
            if (v as i128) < min as i128 || v > max {
                return Err(between(min, max));
            }
            Ok(v.to_string())
        }
        Kind::MemoryPercent(min, max) => {
            // As Redis: a byte size first, then `N%` (stored as -N); the value is a signed
            // size, so a byte size past i64::MAX reads as a (too large) percentage.
            let v = match parse_memory(value) {
                Some(v) => v as i64,
                None => value
                    .strip_suffix('%')
                    .filter(|n| !n.is_empty())
                    .and_then(|n| crate::util::parse_i64(n.as_bytes()))
                    .filter(|n| *n >= 0)
                    .map(|n| -n)
                    .ok_or_else(|| "argument must be a memory or percent value".to_string())?,
            };
            if v < 0 {
                if v < min {
                    return Err(format!(
                        "percentage argument must be less or equal to {}",
                        -min
                    ));
                }
                return Ok(format!("{}%", -v));
            }
            if v > max {
                return Err(between(min, max));
            }
            Ok(v.to_string())
        }
        Kind::Octal(min, max) => {
            let v = i64::from_str_radix(value, 8)
                .ok()
                .filter(|_| !value.starts_with(['+', '-']))
                .ok_or_else(|| "argument couldn't be parsed as an octal number".to_string())?;
            if v < min || v > max {
                return Err(format!(
                    "argument must be between {min:o} and {max:o} inclusive"
                ));
            }
            Ok(format!("{v:o}"))
        }
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "yes" => Ok("yes".into()),
            "no" => Ok("no".into()),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Enum(words) => {
            let lower = value.to_ascii_lowercase();
            if words.contains(&lower.as_str()) {
                Ok(lower)
            } else {
                Err("argument(s) must be one of the following: ".to_string() + &words.join(", "))
            }
        }
        Kind::Save => canonical_save(value),
        Kind::KeyspaceEvents => canonical_keyspace_events(value),
        Kind::OutputBufferLimit => canonical_output_limits(current, value),
        Kind::Percentiles => Ok(percentiles(value)?
            .into_iter()
            .map(percentile_text)
            .collect::<Vec<_>>()
            .join(" ")),
        Kind::Str => Ok(value.to_string()),
    }
}

/// A percentile as Redis prints it in CONFIG GET and INFO latencystats: `%f` without trailing
/// zeros (`50`, `99.9`).
pub fn percentile_text(p: f64) -> String {
    let text = format!("{p:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The numbers of a `latency-tracking-info-percentiles` value (Redis's
/// `setConfigLatencyTrackingInfoPercentilesOutputOption`: split on single spaces, each read as
/// `strtod` would, from 0 to 100).
fn percentiles(value: &str) -> std::result::Result<Vec<f64>, String> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    let invalid = || "Invalid latency-tracking-info-percentiles parameters".to_string();
    value
        .split(' ')
        .map(|w| {
            let hex = w
                .strip_prefix("0x")
                .or_else(|| w.strip_prefix("0X"))
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .map(|n| n as f64);
            let p = match hex {
                Some(p) => p,
                None => w.parse::<f64>().map_err(|_| invalid())?,
            };
            if p.is_nan() {
                return Err(invalid());
            }
            if !(0.0..=100.0).contains(&p) {
                return Err(
                    "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                        .into(),
                );
            }
            Ok(p)
        })
        .collect()
}

/// `client-output-buffer-limit` set to `value` over `current` (Redis's
/// `setConfigClientOutputBufferLimitOption`): every group is checked before any applies; a class
/// named twice takes its last group; `replica` is `slave`.
fn canonical_output_limits(current: &str, value: &str) -> std::result::Result<String, String> {
    const CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];
    let words: Vec<&str> = value.split_whitespace().collect();
    if !words.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let class_of = |w: &str| match w.to_ascii_lowercase().as_str() {
        "normal" => Some(0),
        "slave" | "replica" => Some(1),
        "pubsub" => Some(2),
        _ => None,
    };
    // The current limits (always canonical: three groups in bytes).
    let mut limits = [[0u64; 3]; 3];
    for group in current
        .split_whitespace()
        .collect::<Vec<_>>()
        .chunks_exact(4)
    {
        if let Some(c) = class_of(group[0]) {
            for (slot, w) in limits[c].iter_mut().zip(&group[1..]) {
                *slot = w.parse().unwrap_or(0);
            }
        }
    }
    let mut staged = Vec::with_capacity(words.len() / 4);
    for group in words.chunks_exact(4) {
        let Some(c) = class_of(group[0]) else {
            return Err("Invalid client class specified in buffer limit configuration.".into());
        };
        let seconds = strtoll_whole(group[3]).filter(|s| *s >= 0);
        match (parse_memory(group[1]), parse_memory(group[2]), seconds) {
            (Some(hard), Some(soft), Some(secs)) => staged.push((c, [hard, soft, secs as u64])),
            _ => {
                return Err(
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                        .into(),
                )
            }
        }
    }
    for (c, l) in staged {
        limits[c] = l;
    }
    Ok(CLASSES
        .iter()
        .zip(limits)
        .map(|(name, [h, s, t])| format!("{name} {h} {s} {t}"))
        .collect::<Vec<_>>()
        .join(" "))
}

/// `save`: `""` or pairs `seconds changes` with seconds >= 1 and changes >= 0 (C `strtoll`,
/// whole word), printed back with single spaces.
fn canonical_save(value: &str) -> std::result::Result<String, String> {
    let invalid = || "Invalid save parameters".to_string();
    let words: Vec<&str> = value.split_whitespace().collect();
    if !words.len().is_multiple_of(2) {
        return Err(invalid());
    }
    let mut out = Vec::with_capacity(words.len());
    for (i, w) in words.iter().enumerate() {
        let n = strtoll_whole(w).ok_or_else(invalid)?;
        if (i % 2 == 0 && n < 1) || (i % 2 == 1 && n < 0) {
            return Err(invalid());
        }
        out.push(n.to_string());
    }
    Ok(out.join(" "))
}

/// C's `strtoll(s, &end, 10)` with `*end == '\0'` required: leading spaces and a sign are
/// allowed, out-of-range values saturate.
fn strtoll_whole(s: &str) -> Option<i64> {
    let t = s.trim_start();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(t.parse::<i64>().unwrap_or(if t.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    }))
}

/// Keyspace notification classes, in the order Redis prints them.
const KEYSPACE_CLASSES: &[char] = &['g', '$', 'l', 's', 'h', 'z', 'x', 'e', 't', 'd', 'n'];

/// `notify-keyspace-events`: validates the class characters and prints them as Redis does
/// (`A` for all of `g$lshzxetd`, else each class in order, then `K`, `E`, `m`).
fn canonical_keyspace_events(value: &str) -> std::result::Result<String, String> {
    let mut set = std::collections::BTreeSet::new();
    for c in value.chars() {
        match c {
            'A' => set.extend("g$lshzxetd".chars()),
            'g' | '$' | 'l' | 's' | 'h' | 'z' | 'x' | 'e' | 't' | 'd' | 'n' | 'K' | 'E' | 'm' => {
                set.insert(c);
            }
            _ => return Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into()),
        }
    }
    let mut out = String::new();
    if "g$lshzxetd".chars().all(|c| set.contains(&c)) {
        // Redis prints `n` only outside `A` (so `An` reads back as `A`).
        out.push('A');
    } else {
        out.extend(KEYSPACE_CLASSES.iter().filter(|c| set.contains(c)));
    }
    out.extend(['K', 'E', 'm'].iter().filter(|c| set.contains(c)));
    Ok(out)
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

impl Config {
    /// All defaults.
    pub fn new() -> Self {
        let values: BTreeMap<_, _> = PARAMS
            .iter()
            .map(|p| (p.name, p.default.to_string()))
            .collect();
        let built = build(&values);
        let slowlog_us = std::sync::atomic::AtomicI64::new(built.slowlog_slower_than_us);
        Config {
            slowlog_us,
            latency_tracking: std::sync::atomic::AtomicBool::new(built.latency_tracking),
            encoding: AtomicEncodingLimits::new(EncodingLimits::from_values(&values)),
            memory: AtomicMemoryLimits::new(MemoryLimits::from_values(&values)),
            epoch: std::sync::atomic::AtomicU64::new(0),
            keyspace_events: std::sync::atomic::AtomicU32::new(keyspace_events(&values)),
            values: RwLock::new(values),
            settings: RwLock::new(Arc::new(built)),
            file: RwLock::new(None),
            listen: RwLock::new(None),
        }
    }

    /// Records the configuration file the server was started with (made absolute).
    pub fn set_file(&self, path: &Path) {
        let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        *self.file.write() = Some(abs);
    }

    /// The configuration file the server was started with, if any.
    pub fn file(&self) -> Option<PathBuf> {
        self.file.read().clone()
    }

    /// Whether `name` is a parameter (or an alias of one).
    pub fn is_param(name: &str) -> bool {
        find(name).is_some()
    }

    /// CONFIG REWRITE: rewrites the configuration file with the values in force. Directives
    /// already in the file are updated in place (later repeats of one are dropped), comments
    /// and unknown directives are kept, and parameters that differ from their default but are
    /// absent from the file are appended. The new file replaces the old one atomically.
    pub fn rewrite(&self) -> Result<()> {
        let Some(path) = self.file() else {
            return Err(Error::msg(
                "ERR The server is running without a config file",
            ));
        };
        let fail = |e: std::io::Error| Error::msg(format!("ERR Rewriting config file: {e}"));
        let old = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(fail(e)),
        };
        let text = self.rewritten(&old);
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        std::fs::write(&tmp, text.as_bytes()).map_err(fail)?;
        if let Err(e) = std::fs::rename(&tmp, &path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(fail(e));
        }
        Ok(())
    }

    /// The text CONFIG REWRITE would write over a file holding `old`.
    pub fn rewritten(&self, old: &str) -> String {
        let values = self.values.read();
        let mut done: Vec<&'static str> = Vec::new();
        let mut out = String::with_capacity(old.len() + 256);
        for line in old.lines() {
            let trimmed = line.trim();
            let name = trimmed.split_whitespace().next().unwrap_or("");
            let param = (!trimmed.starts_with('#')).then(|| find(name)).flatten();
            match param {
                Some(p) if done.contains(&p.name) => {}
                Some(p) => {
                    done.push(p.name);
                    let v = values.get(p.name).map(String::as_str).unwrap_or(p.default);
                    out.push_str(&directive(p, v));
                    out.push('\n');
                }
                None => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        let mut header = false;
        for p in PARAMS {
            let Some(v) = values.get(p.name) else {
                continue;
            };
            if done.contains(&p.name) || v == p.default {
                continue;
            }
            if !header {
                out.push_str("# Generated by CONFIG REWRITE\n");
                header = true;
            }
            out.push_str(&directive(p, v));
            out.push('\n');
        }
        out
    }

    /// The typed snapshot in force.
    #[inline]
    pub fn settings(&self) -> Arc<Settings> {
        self.settings.read().clone()
    }

    /// The canonical value of `name`, if it is a parameter.
    pub fn get(&self, name: &str) -> Option<String> {
        let p = find(name)?;
        self.values.read().get(p.name).cloned()
    }

    /// `(name, value)` of every parameter whose name (or alias) matches the glob `pattern`.
    pub fn get_matching(&self, pattern: &[u8]) -> Vec<(&'static str, String)> {
        let values = self.values.read();
        let mut out = Vec::new();
        for p in PARAMS {
            let names = std::iter::once(p.name).chain(p.alias);
            for name in names {
                if glob_match(pattern, name.as_bytes(), true) {
                    out.push((name, values.get(p.name).cloned().unwrap_or_default()));
                }
            }
        }
        out
    }

    /// Sets several parameters at once: all or none (CONFIG SET). `startup` allows immutable
    /// and protected ones. As Redis, every name is checked (unknown, immutable, protected,
    /// repeated) before any value, and the first problem found is the error.
    pub fn set_many(&self, pairs: &[(&str, &str)], startup: bool) -> Result<()> {
        let failed = |name: &str, why: &str| {
            Error::msg(format!(
                "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
            ))
        };
        let protected_ok = startup
            || matches!(
                self.get("enable-protected-configs").as_deref(),
                Some("yes" | "local")
            );
        let mut params: Vec<&'static Param> = Vec::with_capacity(pairs.len());
        for (name, _) in pairs {
            let Some(p) = find(name) else {
                return Err(Error::msg(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                )));
            };
            if !p.mutable && !startup {
                return Err(failed(name, "can't set immutable config"));
            }
            if p.protected && !protected_ok {
                return Err(failed(name, "can't set protected config"));
            }
            if params.iter().any(|q| q.name == p.name) {
                return Err(failed(name, "duplicate parameter"));
            }
            params.push(p);
        }
        let mut values = self.values.write();
        let mut staged = Vec::with_capacity(pairs.len());
        // The keyspace event classes come from the value as given: Redis prints `A` for all
        // of its classes, which leaves `n` out of the string (`KEAn` reads back as `AKE`) but
        // not out of the events.
        let mut events = None;
        for ((name, value), p) in pairs.iter().zip(params) {
            let current = values.get(p.name).map_or(p.default, |v| v.as_str());
            let v = canonical(p, value, current).map_err(|why| failed(name, &why))?;
            if matches!(p.kind, Kind::KeyspaceEvents) {
                events = Some(crate::notify::flags_from_str(value));
            }
            staged.push((p.name, v));
        }
        // A new port or bind address takes effect now, as in Redis: listen there first, and
        // refuse the change (keeping the old sockets) if that fails.
        if !startup {
            let moved = |name: &str| staged.iter().find(|(n, _)| *n == name).map(|(_, v)| v);
            let (new_port, new_bind) = (moved("port"), moved("bind"));
            if new_port.is_some() || new_bind.is_some() {
                if let Some(hook) = self.listen.read().as_ref() {
                    let bind = new_bind
                        .or_else(|| values.get("bind"))
                        .map_or("", |v| v.as_str());
                    let port = new_port
                        .or_else(|| values.get("port"))
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    if let Err(why) = hook(bind, port) {
                        tracing::warn!("CONFIG SET port/bind: {why}");
                        return Err(if new_port.is_some() {
                            failed("port", "Unable to listen on this port. Check server logs.")
                        } else {
                            failed("bind", "Failed to bind to specified addresses.")
                        });
                    }
                }
            }
        }
        for (name, v) in staged {
            values.insert(name, v);
        }
        let built = build(&values);
        self.slowlog_us.store(
            built.slowlog_slower_than_us,
            std::sync::atomic::Ordering::Relaxed,
        );
        self.latency_tracking
            .store(built.latency_tracking, std::sync::atomic::Ordering::Relaxed);
        self.encoding.store(EncodingLimits::from_values(&values));
        self.memory.store(MemoryLimits::from_values(&values));
        if let Some(flags) = events {
            self.keyspace_events
                .store(flags, std::sync::atomic::Ordering::Relaxed);
        }
        *self.settings.write() = Arc::new(built);
        self.epoch
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// Installs what CONFIG SET `port` / `bind` calls to move the listening sockets. It runs
    /// with the configuration locked (so moves never overlap) and must not read it.
    pub fn set_listen_hook(&self, hook: ListenHook) {
        *self.listen.write() = Some(hook);
    }

    /// Changes so far; a snapshot taken at one epoch is current while the epoch is unchanged.
    #[inline]
    pub fn epoch(&self) -> u64 {
        self.epoch.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The collection encoding thresholds (hash-max-listpack-entries, ...), without locking.
    #[inline]
    pub fn encoding(&self) -> EncodingLimits {
        self.encoding.load()
    }

    /// maxmemory and its policy settings, without locking.
    #[inline]
    pub fn memory(&self) -> MemoryLimits {
        self.memory.load()
    }

    /// Whether the maxmemory policy is an LFU one (keys then carry a frequency counter).
    #[inline]
    pub fn lfu_policy(&self) -> bool {
        Policy::from_u8(self.memory.rest[0].load(std::sync::atomic::Ordering::Relaxed) as u8)
            .is_lfu()
    }

    /// `default-ttl` in milliseconds (0: off): one relaxed load per command.
    #[inline]
    pub fn default_ttl_ms(&self) -> u64 {
        self.memory.rest[5]
            .load(std::sync::atomic::Ordering::Relaxed)
            .saturating_mul(1000)
    }

    /// `maxmemory` alone (0: no limit): one relaxed load, checked before every command.
    #[inline]
    pub fn maxmemory(&self) -> u64 {
        self.memory
            .maxmemory
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// `notify-keyspace-events` as [`crate::notify`] bits (0: off): one relaxed load.
    #[inline]
    pub fn keyspace_events(&self) -> u32 {
        self.keyspace_events
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// `slowlog-log-slower-than` in microseconds (negative: off), without locking.
    #[inline]
    pub fn slowlog_slower_than_us(&self) -> i64 {
        self.slowlog_us.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// `latency-tracking`, without locking.
    #[inline]
    pub fn latency_tracking(&self) -> bool {
        self.latency_tracking
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets one parameter (startup flags and the config file may set immutable ones).
    pub fn set(&self, name: &str, value: &str, startup: bool) -> Result<()> {
        self.set_many(&[(name, value)], startup)
    }

    /// Every parameter whose value differs from its default, for CONFIG REWRITE.
    pub fn non_default(&self) -> Vec<(&'static str, String)> {
        let values = self.values.read();
        PARAMS
            .iter()
            .filter_map(|p| {
                let v = values.get(p.name)?;
                (v != p.default).then(|| (p.name, v.clone()))
            })
            .collect()
    }
}

/// One config file line for `p` set to `v`: strings quoted as Redis's `sdscatrepr`, lists of
/// words and everything else bare.
fn directive(p: &Param, v: &str) -> String {
    let quote = matches!(p.kind, Kind::Str) && !MULTI_WORD.contains(&p.name);
    if !quote {
        return if v.is_empty() {
            format!("{} \"\"", p.name)
        } else {
            format!("{} {v}", p.name)
        };
    }
    let mut s = String::with_capacity(p.name.len() + v.len() + 3);
    s.push_str(p.name);
    s.push_str(" \"");
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                s.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

fn keyspace_events(v: &BTreeMap<&'static str, String>) -> u32 {
    crate::notify::flags_from_str(v.get("notify-keyspace-events").map_or("", |s| s.as_str()))
}

fn build(v: &BTreeMap<&'static str, String>) -> Settings {
    let int = |name: &str| v.get(name).and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let yes = |name: &str| v.get(name).is_some_and(|s| s == "yes");
    Settings {
        requirepass: v.get("requirepass").cloned().unwrap_or_default(),
        pubsub_limits: crate::pubsub::OutputLimits::from_config(
            v.get("client-output-buffer-limit")
                .map_or("", |s| s.as_str()),
        ),
        proto_max_bulk_len: int("proto-max-bulk-len"),
        client_query_buffer_limit: int("client-query-buffer-limit").max(0) as usize,
        maxclients: int("maxclients").max(1) as usize,
        timeout_s: int("timeout").max(0) as u64,
        slowlog_slower_than_us: int("slowlog-log-slower-than"),
        slowlog_max_len: int("slowlog-max-len").max(0) as usize,
        hz: int("hz").clamp(1, 500) as u64,
        latency_threshold_ms: int("latency-monitor-threshold").max(0) as u64,
        protected_mode: yes("protected-mode"),
        tcp_keepalive_s: int("tcp-keepalive").max(0) as u64,
        busy_reply_threshold_ms: int("busy-reply-threshold").max(0) as u64,
        latency_tracking: yes("latency-tracking"),
        latency_percentiles: percentiles(
            v.get("latency-tracking-info-percentiles")
                .map_or("", |s| s.as_str()),
        )
        .unwrap_or_default(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn encoding_limits_follow_config_set() {
        let c = Config::new();
        assert_eq!(c.encoding().hash_max_listpack_entries, 512);
        assert_eq!(c.encoding().list_max_listpack_size, -2);
        c.set("hash-max-ziplist-entries", "7", false).unwrap();
        c.set("zset-max-listpack-value", "1kb", false).unwrap();
        c.set("maxmemory", "2mb", false).unwrap();
        c.set("maxmemory-policy", "volatile-lfu", false).unwrap();
        assert_eq!(c.maxmemory(), 2 * 1024 * 1024);
        assert_eq!(c.memory().policy, Policy::VolatileLfu);
        assert!(c.memory().policy.is_lfu() && c.memory().policy.is_volatile());
        assert_eq!(c.memory().samples, 5);
        assert_eq!(c.encoding().hash_max_listpack_entries, 7);
        assert_eq!(c.encoding().zset_max_listpack_value, 1024);
    }

    #[test]
    fn output_buffer_limits_merge_and_normalise_as_redis() {
        let c = Config::new();
        let get = || c.get("client-output-buffer-limit").unwrap();
        assert_eq!(
            get(),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
        c.set("client-output-buffer-limit", "pubsub 64mb 16mb 60", false)
            .unwrap();
        assert_eq!(
            get(),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 67108864 16777216 60"
        );
        c.set(
            "client-output-buffer-limit",
            "NORMAL 1k 2K 3 replica 100 200 3",
            false,
        )
        .unwrap();
        assert_eq!(
            get(),
            "normal 1000 2000 3 slave 100 200 3 pubsub 67108864 16777216 60"
        );
        c.set(
            "client-output-buffer-limit",
            "pubsub 1 1 1 pubsub 5 5 5",
            false,
        )
        .unwrap();
        c.set("client-output-buffer-limit", "", false).unwrap();
        assert!(get().ends_with("pubsub 5 5 5"));
        for (bad, why) in [
            ("pubsub 1 2", "Wrong number of arguments"),
            ("master 1 2 3", "Invalid client class"),
            ("normal 1x 2 3", "Error in hard, soft or soft_seconds"),
            ("normal 1 2 -3", "Error in hard, soft or soft_seconds"),
            ("normal 1 2 3 foo 1 2 3", "Invalid client class"),
        ] {
            let err = c
                .set("client-output-buffer-limit", bad, false)
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with(
                    "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - "
                ) && err.contains(why),
                "{bad}: {err}"
            );
        }
        // A refused value changes nothing, not even the groups before the bad one.
        assert_eq!(get(), "normal 1000 2000 3 slave 100 200 3 pubsub 5 5 5");
    }

    #[test]
    fn set_get_and_validate() {
        let c = Config::new();
        assert_eq!(c.get("maxmemory").as_deref(), Some("0"));
        c.set("maxmemory", "1mb", false).unwrap();
        assert_eq!(c.get("MAXMEMORY").as_deref(), Some("1048576"));
        // Settable as in Redis (the listener does not rebind yet).
        c.set("port", "7000", false).unwrap();
        assert_eq!(c.get("port").as_deref(), Some("7000"));
        assert!(c.set("maxmemory-policy", "nope", false).is_err());
        assert!(c
            .set_many(&[("hz", "20"), ("timeout", "x")], false)
            .is_err());
        assert_eq!(c.get("hz").as_deref(), Some("10"));
        assert_eq!(c.get("lua-time-limit").as_deref(), Some("5000"));
        assert!(!c.get_matching(b"max*").is_empty());
    }

    #[test]
    fn rewrite_keeps_comments_and_updates_in_place() {
        let c = Config::new();
        c.set("maxmemory", "100", false).unwrap();
        c.set("dir", "/tmp/a b", true).unwrap();
        c.set("save", "", false).unwrap();
        let old = "# top\nport 7000\nmaxmemory 5\nunknown-thing 1\nmaxmemory 6\nhz 10\n";
        let new = c.rewritten(old);
        assert_eq!(
            new,
            "# top\nport 6379\nmaxmemory 100\nunknown-thing 1\nhz 10\n\
             # Generated by CONFIG REWRITE\ndir \"/tmp/a b\"\nsave \"\"\n"
        );
    }

    /// The error (without Redis's common prefix) or the value CONFIG GET then shows.
    fn try_set(c: &Config, name: &str, value: &str) -> String {
        match c.set(name, value, false) {
            Ok(()) => c.get(name).unwrap(),
            Err(e) => e
                .to_string()
                .split_once(") - ")
                .map_or(e.to_string(), |(_, why)| why.to_string()),
        }
    }

    #[test]
    fn values_and_errors_match_redis_7_0() {
        // Each expectation was observed on redis-server 7.0.15.
        let c = Config::new();
        let cases: &[(&str, &str, &str)] = &[
            // Integers: string2ll, then the range.
            (
                "timeout",
                "abc",
                "argument couldn't be parsed into an integer",
            ),
            (
                "timeout",
                "+5",
                "argument couldn't be parsed into an integer",
            ),
            (
                "timeout",
                "05",
                "argument couldn't be parsed into an integer",
            ),
            ("timeout", "", "argument couldn't be parsed into an integer"),
            (
                "timeout",
                "-1",
                "argument must be between 0 and 2147483647 inclusive",
            ),
            (
                "maxclients",
                "-1",
                "argument must be between 1 and 4294967295 inclusive",
            ),
            ("maxclients", "5", "5"),
            ("maxmemory-samples", "1000", "1000"),
            (
                "list-max-listpack-size",
                "-9223372036854775808",
                "argument must be between -2147483648 and 2147483647 inclusive",
            ),
            ("slowlog-log-slower-than", "-1", "-1"),
            (
                "acllog-max-len",
                "9223372036854775807",
                "9223372036854775807",
            ),
            // hz accepts anything in 0..INT_MAX and caps it to 1..500.
            ("hz", "1000", "500"),
            ("hz", "0", "1"),
            (
                "hz",
                "-1",
                "argument must be between 0 and 2147483647 inclusive",
            ),
            ("hz", "10", "10"),
            // Memory: memtoull.
            ("maxmemory", "1GB", "1073741824"),
            ("maxmemory", "", "0"),
            ("maxmemory", "-1", "argument must be a memory value"),
            ("maxmemory", " 5", "argument must be a memory value"),
            ("maxmemory", "5.5mb", "argument must be a memory value"),
            ("maxmemory", "18446744073709551615", "18446744073709551615"),
            ("maxmemory", "18446744073709551616", "18446744073709551615"),
            ("maxmemory", "20000000000gb", "3028092406290448384"),
            ("maxmemory", "0", "0"),
            (
                "proto-max-bulk-len",
                "",
                "argument must be between 1048576 and 9223372036854775807 inclusive",
            ),
            (
                "proto-max-bulk-len",
                "9223372036854775808",
                "argument must be between 1048576 and 9223372036854775807 inclusive",
            ),
            ("stream-node-max-bytes", "", "0"),
            // Memory or percent.
            ("maxmemory-clients", "50%", "50%"),
            ("maxmemory-clients", "0%", "0"),
            (
                "maxmemory-clients",
                "101%",
                "percentage argument must be less or equal to 100",
            ),
            (
                "maxmemory-clients",
                "-5%",
                "argument must be a memory or percent value",
            ),
            (
                "maxmemory-clients",
                "abc",
                "argument must be a memory or percent value",
            ),
            (
                "maxmemory-clients",
                "9223372036854775808",
                "percentage argument must be less or equal to 100",
            ),
            ("maxmemory-clients", "5mb", "5242880"),
            // Bool and enum: any case, canonical lowercase.
            ("protected-mode", "YES", "yes"),
            ("appendonly", "maybe", "argument must be 'yes' or 'no'"),
            ("appendfsync", "ALWAYS", "always"),
            (
                "appendfsync",
                "x",
                "argument(s) must be one of the following: everysec, always, no",
            ),
            (
                "loglevel",
                "nothing",
                "argument(s) must be one of the following: debug, verbose, notice, warning",
            ),
            // Special ones.
            ("save", "10 x", "Invalid save parameters"),
            ("save", "0 1", "Invalid save parameters"),
            ("save", "1", "Invalid save parameters"),
            ("save", "3600 1 300 100", "3600 1 300 100"),
            ("save", "", ""),
            (
                "notify-keyspace-events",
                "abc",
                "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
            ),
            ("notify-keyspace-events", "KEA", "AKE"),
            ("notify-keyspace-events", "Ex$", "$xE"),
            ("notify-keyspace-events", "An", "A"),
            ("notify-keyspace-events", "KEAm", "AKEm"),
            ("notify-keyspace-events", "ml", "lm"),
            ("notify-keyspace-events", "gn", "gn"),
            ("notify-keyspace-events", "", ""),
            // Immutable and protected.
            ("databases", "4", "can't set immutable config"),
            ("appendfilename", "x", "can't set immutable config"),
            ("dir", "/tmp", "can't set protected config"),
            ("dbfilename", "x.rdb", "can't set protected config"),
        ];
        for (name, value, want) in cases {
            assert_eq!(
                try_set(&c, name, value),
                *want,
                "CONFIG SET {name} {value:?}"
            );
        }
        // `A` hides `n` in the string, not in the events; other settings keep the classes.
        c.set("notify-keyspace-events", "KEAn", false).unwrap();
        c.set("hz", "11", false).unwrap();
        assert_eq!(c.get("notify-keyspace-events").as_deref(), Some("AKE"));
        assert_ne!(c.keyspace_events() & crate::notify::NEW, 0);
        // Names are all checked before values: an immutable one wins over a bad value.
        assert_eq!(
            c.set_many(&[("hz", "x"), ("databases", "4")], false)
                .unwrap_err()
                .to_string(),
            "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"
        );
        assert_eq!(c.get("hash-max-ziplist-entries").as_deref(), Some("512"));
        let names: Vec<&str> = c
            .get_matching(b"maxmemory*")
            .iter()
            .map(|(n, _)| *n)
            .collect();
        for n in [
            "maxmemory",
            "maxmemory-clients",
            "maxmemory-eviction-tenacity",
            "maxmemory-policy",
            "maxmemory-samples",
        ] {
            assert!(names.contains(&n), "{n} missing from {names:?}");
        }
    }

    #[test]
    fn rewrite_without_file_is_an_error() {
        let c = Config::new();
        assert_eq!(
            c.rewrite().unwrap_err().to_string(),
            "ERR The server is running without a config file"
        );
    }

    #[test]
    fn rewrite_writes_the_file() {
        let dir = std::env::temp_dir().join(format!("flint-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("flint.conf");
        std::fs::write(&path, "hz 10\n").unwrap();
        let c = Config::new();
        c.set_file(&path);
        c.set("hz", "20", false).unwrap();
        c.rewrite().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "hz 20\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
