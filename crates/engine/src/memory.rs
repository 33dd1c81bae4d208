//! MEMORY (USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE, HELP) and the memory breakdown INFO memory
//! shares with it ([`breakdown`]).
//!
//! What counts where, so that the figures add up:
//! - `startup.allocated`: what was allocated when the server became ready
//!   ([`Engine::mark_startup_memory`]);
//! - `overhead.hashtable.main`: the keyspace's tables plus one [`Entry`] per key (the entry is our
//!   equivalent of Redis's dictEntry and robj header; short keys and values live inside it);
//! - `clients.normal`: the clients' query and output buffers;
//! - `dataset.bytes`: everything else allocated (values' own heap: long strings, collections).
//!
//! MEMORY USAGE is exact rather than sampled: every value knows its heap size
//! ([`crate::value::Value::heap_size`]); SAMPLES is validated as Redis does and otherwise ignored.

use std::sync::atomic::Ordering;

use crate::cmd::{def, keys, CommandDef, KeySpec};
use crate::ctx::Ctx;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::value::Entry;

/// The MEMORY command.
#[rustfmt::skip]
pub static COMMANDS: &[CommandDef] = &[
    def("memory", -2, "", KeySpec::None, "", "server", "A container for memory diagnostics commands", "4.0.0", crate::cmd::container)
        .complexity("Depends on subcommand.")
        .subcommands(&[
            def("doctor", 2, "", KeySpec::None, "@slow", "server", "Outputs memory problems report", "4.0.0", doctor)
                .tips("nondeterministic_output request_policy:all_shards response_policy:special")
                .complexity("O(1)"),
            def("help", 2, "loading stale", KeySpec::None, "@slow", "server", "Show helpful text about the different subcommands", "4.0.0", help)
                .complexity("O(1)"),
            def("malloc-stats", 2, "", KeySpec::None, "@slow", "server", "Show allocator internal stats", "4.0.0", malloc_stats)
                .tips("nondeterministic_output request_policy:all_shards response_policy:special")
                .complexity("Depends on how much memory is allocated, could be slow"),
            def("purge", 2, "", KeySpec::None, "@slow", "server", "Ask the allocator to release memory", "4.0.0", purge)
                .tips("request_policy:all_shards response_policy:all_succeeded")
                .complexity("Depends on how much memory is allocated, could be slow"),
            def("stats", 2, "", KeySpec::None, "@slow", "server", "Show memory usage details", "4.0.0", stats)
                .tips("nondeterministic_output request_policy:all_shards response_policy:special")
                .complexity("O(1)"),
            def("usage", -3, "readonly", keys(2, 2, 1), "@read @slow", "server", "Estimate the memory usage of a key", "4.0.0", usage)
                .key_flags("RO")
                .complexity("O(N) where N is the number of samples."),
        ]),
];

const HELP: &[&str] = &[
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
];

/// Where the allocated bytes go (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct Breakdown {
    /// Bytes allocated now.
    pub total: u64,
    /// The largest `total` seen.
    pub peak: u64,
    /// Bytes allocated at startup.
    pub startup: u64,
    /// Clients' query and output buffers.
    pub clients: u64,
    /// Per database with keys: (index, table and entry bytes, keys with a TTL's share).
    pub dbs: Vec<(usize, u64, u64)>,
    /// Keys in all databases.
    pub keys: u64,
}

impl Breakdown {
    /// Everything that is not the dataset.
    pub fn overhead(&self) -> u64 {
        self.startup + self.clients + self.dbs.iter().map(|d| d.1 + d.2).sum::<u64>()
    }

    /// The dataset: what is left.
    pub fn dataset(&self) -> u64 {
        self.total.saturating_sub(self.overhead())
    }
}

/// Measures the breakdown (locks each shard briefly in turn).
pub fn breakdown(e: &Engine) -> Breakdown {
    let m = e.memory();
    let mut b = Breakdown {
        total: m.allocated,
        peak: e.memory_peak.load(Ordering::Relaxed).max(m.allocated),
        startup: e.startup_memory.load(Ordering::Relaxed),
        ..Default::default()
    };
    b.clients = e
        .clients
        .all()
        .iter()
        .map(|c| (c.qbuf.load(Ordering::Relaxed) + c.omem.load(Ordering::Relaxed)) as u64)
        .sum();
    for (i, db) in e.keyspace.dbs().iter().enumerate() {
        let (mut keys, mut bytes) = (0u64, 0u64);
        for shard in db.shards() {
            let s = shard.lock();
            keys += s.len() as u64;
            bytes += s.table_bytes() as u64;
        }
        if keys > 0 {
            b.keys += keys;
            // The tables and the entry slab (what keys and values own beyond it is dataset).
            // Redis reports its expires dict apart; our TTL lives in the entry: nothing extra.
            b.dbs.push((i, bytes, 0));
        }
    }
    b
}

impl Engine {
    /// Records what is allocated now as the startup figure (call once the server is ready).
    pub fn mark_startup_memory(&self) {
        self.startup_memory
            .store(self.memory().allocated, Ordering::Relaxed);
    }
}

// MEMORY USAGE key [SAMPLES count]
fn usage(ctx: &mut Ctx<'_>) -> Result<()> {
    let mut i = 3;
    while i < ctx.args.len() {
        if ctx.arg_is(i, "samples") && i + 1 < ctx.args.len() {
            let n = ctx.arg_i64(i + 1)?;
            if n < 0 {
                return Err(Error::Syntax);
            }
            i += 2;
        } else {
            return Err(Error::Syntax);
        }
    }
    let db = ctx.db.db;
    let key = ctx.arg(2).to_vec();
    let size = crate::keys::object_peek(&mut ctx.db, db, &key, |e| {
        // The entry, what the key and value own on the heap, and the key's table slot (a
        // 4-byte slot number and hashbrown's control byte).
        std::mem::size_of::<Entry>() + e.key_heap_size() + e.value.heap_size() + 5
    });
    match size {
        Some(n) => ctx.out.int(n as i64),
        None => ctx.out.null(),
    }
    Ok(())
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

// MEMORY STATS
fn stats(ctx: &mut Ctx<'_>) -> Result<()> {
    let e = ctx.engine;
    let b = breakdown(e);
    let m = e.memory();
    let rss = crate::engine::rss_bytes();
    let active = if m.active > 0 { m.active } else { b.total };
    let resident = if m.resident > 0 { m.resident } else { rss };
    let scripts = 0u64;
    let out = &mut *ctx.out;
    out.map(26 + b.dbs.len());
    let int = |out: &mut flint_protocol::ReplyWriter, k: &str, v: i64| {
        out.bulk(k.as_bytes());
        out.int(v);
    };
    int(out, "peak.allocated", b.peak as i64);
    int(out, "total.allocated", b.total as i64);
    int(out, "startup.allocated", b.startup as i64);
    int(out, "replication.backlog", 0);
    int(out, "clients.slaves", 0);
    int(out, "clients.normal", b.clients as i64);
    int(out, "cluster.links", 0);
    int(out, "aof.buffer", 0);
    int(out, "lua.caches", scripts as i64);
    int(out, "functions.caches", 0);
    for (i, main, expires) in &b.dbs {
        out.bulk(format!("db.{i}").as_bytes());
        out.map(3);
        int(out, "overhead.hashtable.main", *main as i64);
        int(out, "overhead.hashtable.expires", *expires as i64);
        int(out, "overhead.hashtable.slot-to-keys", 0);
    }
    let overhead = b.overhead();
    let dataset = b.dataset();
    int(out, "overhead.total", overhead as i64);
    int(out, "keys.count", b.keys as i64);
    let per_key = b
        .total
        .saturating_sub(b.startup)
        .checked_div(b.keys)
        .unwrap_or(0);
    int(out, "keys.bytes-per-key", per_key as i64);
    int(out, "dataset.bytes", dataset as i64);
    let dbl = |out: &mut flint_protocol::ReplyWriter, k: &str, v: f64| {
        out.bulk(k.as_bytes());
        out.double(v);
    };
    dbl(
        out,
        "dataset.percentage",
        ratio(dataset, b.total.saturating_sub(b.startup)) * 100.0,
    );
    dbl(out, "peak.percentage", ratio(b.total, b.peak) * 100.0);
    int(out, "allocator.allocated", b.total as i64);
    int(out, "allocator.active", active as i64);
    int(out, "allocator.resident", resident as i64);
    dbl(out, "allocator-fragmentation.ratio", ratio(active, b.total));
    int(
        out,
        "allocator-fragmentation.bytes",
        active as i64 - b.total as i64,
    );
    dbl(out, "allocator.rss-ratio", ratio(resident, active));
    int(out, "allocator.rss-bytes", resident as i64 - active as i64);
    dbl(out, "rss-overhead.ratio", ratio(rss, resident));
    int(out, "rss-overhead.bytes", rss as i64 - resident as i64);
    dbl(out, "fragmentation", ratio(rss, b.total));
    int(out, "fragmentation.bytes", rss as i64 - b.total as i64);
    Ok(())
}

/// MEMORY DOCTOR's findings: Flint's own wording, checking what Redis's doctor checks.
pub fn doctor_report(e: &Engine) -> String {
    let b = breakdown(e);
    if b.total < 5 * 1024 * 1024 {
        return "This instance is empty or uses very little memory (under 5 MB): there is \
                nothing to diagnose yet. Load some data and ask again."
            .into();
    }
    let rss = crate::engine::rss_bytes();
    let mut issues = Vec::new();
    if b.peak > b.total + b.total / 2 {
        issues.push(format!(
            " * Peak memory: at some point the server used {} bytes, more than 150% of the {} it \
             uses now. The allocator may not have given that memory back to the system; MEMORY \
             PURGE asks it to.",
            b.peak, b.total
        ));
    }
    let frag = ratio(rss, b.total);
    if frag > 1.4 && rss.saturating_sub(b.total) > 10 << 20 {
        issues.push(format!(
            " * High fragmentation: the process holds {rss} bytes of RAM for {} bytes allocated \
             (ratio {frag:.2}). Deleting many keys leaves pages partly used; MEMORY PURGE may \
             return some, and new writes will reuse the rest.",
            b.total
        ));
    }
    let nclients = e.clients.all().len() as u64;
    if nclients > 0 && b.clients / nclients > 200 * 1024 {
        issues.push(format!(
            " * Big client buffers: the {nclients} clients hold {} bytes of query and output \
             buffers, over 200 KB each on average. Slow readers of big replies or MONITOR \
             clients are the usual cause; client-output-buffer-limit caps them.",
            b.clients
        ));
    }
    if issues.is_empty() {
        "No memory problem found: allocation, fragmentation and client buffers all look \
         normal."
            .into()
    } else {
        format!(
            "Memory issues found in this instance:\n\n{}\n",
            issues.join("\n\n")
        )
    }
}

// MEMORY DOCTOR
fn doctor(ctx: &mut Ctx<'_>) -> Result<()> {
    let report = doctor_report(ctx.engine);
    ctx.out.verbatim(report.as_bytes());
    Ok(())
}

// MEMORY MALLOC-STATS
fn malloc_stats(ctx: &mut Ctx<'_>) -> Result<()> {
    let m = ctx.engine.memory();
    let text = format!(
        "allocator: {}\nallocated: {}\nactive: {}\nresident: {}\npeak allocated: {}\n",
        m.allocator,
        m.allocated,
        m.active,
        m.resident,
        ctx.engine
            .memory_peak
            .load(Ordering::Relaxed)
            .max(m.allocated)
    );
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

// MEMORY PURGE
fn purge(ctx: &mut Ctx<'_>) -> Result<()> {
    if let Some(p) = ctx.engine.purge_hook.get() {
        p();
    }
    ctx.out.ok();
    Ok(())
}

// MEMORY HELP
fn help(ctx: &mut Ctx<'_>) -> Result<()> {
    crate::server::reply_help(ctx, HELP);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::testkit::{int, Kit};

    #[test]
    fn usage_and_errors() {
        let mut k = Kit::new();
        k.run(&["SET", "foo", "bar"]);
        let r = k.run(&["MEMORY", "USAGE", "foo"]);
        assert!(r.starts_with(':'), "{r}");
        assert_eq!(k.run(&["MEMORY", "USAGE", "nope"]), "$-1\r\n");
        assert_eq!(
            k.run(&["MEMORY", "USAGE", "foo", "SAMPLES", "-1"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            k.run(&["MEMORY", "USAGE", "foo", "SAMPLES", "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            k.run(&["MEMORY", "USAGE", "foo", "bar"]),
            "-ERR syntax error\r\n"
        );
        assert!(k
            .run(&["MEMORY", "USAGE", "foo", "SAMPLES", "0"])
            .starts_with(':'));
        assert_eq!(k.run(&["MEMORY", "PURGE"]), "+OK\r\n");
        let _ = int(0);
    }

    #[test]
    fn stats_is_a_map_with_redis_fields() {
        let mut k = Kit::new();
        k.run(&["SET", "foo", "bar"]);
        let r = k.run(&["MEMORY", "STATS"]);
        for f in [
            "peak.allocated",
            "total.allocated",
            "startup.allocated",
            "db.0",
            "overhead.hashtable.main",
            "keys.count",
            "dataset.percentage",
            "fragmentation.bytes",
        ] {
            assert!(r.contains(f), "{f} missing from {r}");
        }
        assert!(r.starts_with("*54\r\n"), "{r}");
    }
}
