//! Configuration: one declarative table of parameters ([`PARAMS`]) that serves the config file,
//! `--name value` flags, CONFIG GET (glob patterns), CONFIG SET (several at once, atomically) and
//! CONFIG REWRITE.
//!
//! Values are kept as canonical strings (what CONFIG GET prints); every change rebuilds a typed
//! [`Settings`] snapshot that the hot path reads without parsing.
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

/// How a parameter's value is checked and printed.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// An integer in a range.
    Int(i64, i64),
    /// A byte size: accepts `1gb`, `512mb`, `100k`...; printed as a plain number.
    Memory(i64, i64),
    /// `yes` or `no`.
    Bool,
    /// One of the listed words.
    Enum(&'static [&'static str]),
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
}

const fn p(name: &'static str, kind: Kind, default: &'static str) -> Param {
    Param {
        name,
        alias: None,
        kind,
        default,
        mutable: true,
    }
}

const fn fixed(name: &'static str, kind: Kind, default: &'static str) -> Param {
    Param {
        name,
        alias: None,
        kind,
        default,
        mutable: false,
    }
}

const fn aliased(
    name: &'static str,
    alias: &'static str,
    kind: Kind,
    default: &'static str,
) -> Param {
    Param {
        name,
        alias: Some(alias),
        kind,
        default,
        mutable: true,
    }
}

const MAX: i64 = i64::MAX;
const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning", "nothing"];
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

/// Every parameter Flint knows.
pub static PARAMS: &[Param] = &[
    fixed("port", Kind::Int(0, 65535), "6379"),
    fixed("bind", Kind::Str, "127.0.0.1 -::1"),
    p("protected-mode", Kind::Bool, "yes"),
    fixed("databases", Kind::Int(1, 1 << 20), "16"),
    p("requirepass", Kind::Str, ""),
    p("maxclients", Kind::Int(1, 1 << 20), "10000"),
    p("timeout", Kind::Int(0, i32::MAX as i64), "0"),
    p("tcp-keepalive", Kind::Int(0, i32::MAX as i64), "300"),
    fixed("tcp-backlog", Kind::Int(0, i32::MAX as i64), "511"),
    p("loglevel", Kind::Enum(LOGLEVELS), "notice"),
    fixed("logfile", Kind::Str, ""),
    p("dir", Kind::Str, "."),
    p("dbfilename", Kind::Str, "dump.rdb"),
    fixed("daemonize", Kind::Bool, "no"),
    fixed("pidfile", Kind::Str, ""),
    fixed("threads", Kind::Int(1, 1024), "0"),
    fixed("io-threads", Kind::Int(1, 128), "1"),
    p(
        "proto-max-bulk-len",
        Kind::Memory(1024 * 1024, MAX),
        "536870912",
    ),
    p(
        "client-query-buffer-limit",
        Kind::Memory(1024 * 1024, MAX),
        "1073741824",
    ),
    p("maxmemory", Kind::Memory(0, MAX), "0"),
    p("maxmemory-policy", Kind::Enum(POLICIES), "noeviction"),
    p("maxmemory-samples", Kind::Int(1, 64), "5"),
    p("maxmemory-eviction-tenacity", Kind::Int(0, 100), "10"),
    p("lfu-log-factor", Kind::Int(0, i32::MAX as i64), "10"),
    p("lfu-decay-time", Kind::Int(0, i32::MAX as i64), "1"),
    p("hz", Kind::Int(1, 500), "10"),
    p("slowlog-log-slower-than", Kind::Int(-1, MAX), "10000"),
    p("slowlog-max-len", Kind::Int(0, MAX), "128"),
    p("latency-monitor-threshold", Kind::Int(0, MAX), "0"),
    p("notify-keyspace-events", Kind::Str, ""),
    aliased(
        "busy-reply-threshold",
        "lua-time-limit",
        Kind::Int(0, MAX),
        "5000",
    ),
    p("lazyfree-lazy-eviction", Kind::Bool, "no"),
    p("lazyfree-lazy-expire", Kind::Bool, "no"),
    p("lazyfree-lazy-server-del", Kind::Bool, "no"),
    p("lazyfree-lazy-user-del", Kind::Bool, "no"),
    p("lazyfree-lazy-user-flush", Kind::Bool, "no"),
    p("appendonly", Kind::Bool, "no"),
    p(
        "appendfsync",
        Kind::Enum(&["always", "everysec", "no"]),
        "everysec",
    ),
    p("appendfilename", Kind::Str, "appendonly.aof"),
    p("save", Kind::Str, "3600 1 300 100 60 10000"),
    p("active-expire-effort", Kind::Int(1, 10), "1"),
    p(
        "client-output-buffer-limit",
        Kind::Str,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    ),
    p("hash-max-listpack-entries", Kind::Int(0, MAX), "128"),
    p("hash-max-listpack-value", Kind::Int(0, MAX), "64"),
    p("set-max-intset-entries", Kind::Int(0, MAX), "512"),
    p("set-max-listpack-entries", Kind::Int(0, MAX), "128"),
    p("set-max-listpack-value", Kind::Int(0, MAX), "64"),
    p("zset-max-listpack-entries", Kind::Int(0, MAX), "128"),
    p("zset-max-listpack-value", Kind::Int(0, MAX), "64"),
    p(
        "list-max-listpack-size",
        Kind::Int(i32::MIN as i64, i32::MAX as i64),
        "-2",
    ),
    p("list-compress-depth", Kind::Int(0, i32::MAX as i64), "0"),
    p("stop-writes-on-bgsave-error", Kind::Bool, "yes"),
    p("default-ttl", Kind::Int(0, MAX), "0"),
    fixed(
        "enable-debug-command",
        Kind::Enum(&["no", "yes", "local"]),
        "no",
    ),
];

/// Parameters whose value is several words written unquoted on one line (`save 3600 1`).
const MULTI_WORD: &[&str] = &["save", "bind", "client-output-buffer-limit"];

/// Typed view of the configuration, rebuilt on every change.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `requirepass` (empty: no password).
    pub requirepass: String,
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
}

/// The live configuration.
pub struct Config {
    /// `slowlog-log-slower-than`, read by every command without taking a lock.
    slowlog_us: std::sync::atomic::AtomicI64,
    /// Bumped on every change, so holders of a [`Settings`] snapshot know to refresh it.
    epoch: std::sync::atomic::AtomicU64,
    values: RwLock<BTreeMap<&'static str, String>>,
    settings: RwLock<Arc<Settings>>,
    /// The file the server started from (absolute), for CONFIG REWRITE and INFO.
    file: RwLock<Option<PathBuf>>,
}

fn find(name: &str) -> Option<&'static Param> {
    let lower = name.to_ascii_lowercase();
    PARAMS
        .iter()
        .find(|p| p.name == lower || p.alias == Some(lower.as_str()))
}

/// Parses a memory size as Redis's `memtoull`: digits with an optional unit
/// (b, k, kb, m, mb, g, gb; case-insensitive; `k` is 1000, `kb` 1024).
pub fn parse_memory(s: &str) -> Option<i64> {
    let lower = s.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    let mul: i64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    num.parse::<i64>().ok()?.checked_mul(mul)
}

fn canonical(param: &Param, value: &str) -> std::result::Result<String, String> {
    match param.kind {
        Kind::Int(min, max) => {
            let v: i64 = value
                .parse()
                .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
            if v < min || v > max {
                return Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ));
            }
            Ok(v.to_string())
        }
        Kind::Memory(min, max) => {
            let v =
                parse_memory(value).ok_or_else(|| "argument must be a memory value".to_string())?;
            if v < min || v > max {
                return Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ));
            }
            Ok(v.to_string())
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
        Kind::Str => Ok(value.to_string()),
    }
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
            epoch: std::sync::atomic::AtomicU64::new(0),
            values: RwLock::new(values),
            settings: RwLock::new(Arc::new(built)),
            file: RwLock::new(None),
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

    /// Sets several parameters at once: all or none (CONFIG SET). `startup` allows immutable ones.
    pub fn set_many(&self, pairs: &[(&str, &str)], startup: bool) -> Result<()> {
        let mut staged = Vec::with_capacity(pairs.len());
        for (i, (name, value)) in pairs.iter().enumerate() {
            let Some(p) = find(name) else {
                return Err(Error::msg(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                )));
            };
            if !p.mutable && !startup {
                return Err(Error::msg(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config"
                )));
            }
            if pairs[..i]
                .iter()
                .any(|(n, _)| find(n).is_some_and(|q| q.name == p.name))
            {
                return Err(Error::msg(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{name}') - duplicate parameter"
                )));
            }
            let v = canonical(p, value).map_err(|why| {
                Error::msg(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
                ))
            })?;
            staged.push((p.name, v));
        }
        let mut values = self.values.write();
        for (name, v) in staged {
            values.insert(name, v);
        }
        let built = build(&values);
        self.slowlog_us.store(
            built.slowlog_slower_than_us,
            std::sync::atomic::Ordering::Relaxed,
        );
        *self.settings.write() = Arc::new(built);
        self.epoch
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// Changes so far; a snapshot taken at one epoch is current while the epoch is unchanged.
    #[inline]
    pub fn epoch(&self) -> u64 {
        self.epoch.load(std::sync::atomic::Ordering::Acquire)
    }

    /// `slowlog-log-slower-than` in microseconds (negative: off), without locking.
    #[inline]
    pub fn slowlog_slower_than_us(&self) -> i64 {
        self.slowlog_us.load(std::sync::atomic::Ordering::Relaxed)
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

fn build(v: &BTreeMap<&'static str, String>) -> Settings {
    let int = |name: &str| v.get(name).and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let yes = |name: &str| v.get(name).is_some_and(|s| s == "yes");
    Settings {
        requirepass: v.get("requirepass").cloned().unwrap_or_default(),
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
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn set_get_and_validate() {
        let c = Config::new();
        assert_eq!(c.get("maxmemory").as_deref(), Some("0"));
        c.set("maxmemory", "1mb", false).unwrap();
        assert_eq!(c.get("MAXMEMORY").as_deref(), Some("1048576"));
        assert!(c.set("port", "1", false).is_err());
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
        c.set("dir", "/tmp/a b", false).unwrap();
        c.set("save", "", false).unwrap();
        let old = "# top\nport 7000\nmaxmemory 5\nunknown-thing 1\nmaxmemory 6\nhz 10\n";
        let new = c.rewritten(old);
        assert_eq!(
            new,
            "# top\nport 6379\nmaxmemory 100\nunknown-thing 1\nhz 10\n\
             # Generated by CONFIG REWRITE\ndir \"/tmp/a b\"\nsave \"\"\n"
        );
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
