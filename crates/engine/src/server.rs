//! Server commands (Redis's server.c, config.c, slowlog.c, latency.c, debug.c): INFO, CONFIG,
//! TIME, SLOWLOG, LATENCY, MONITOR, SHUTDOWN, DEBUG and COMMAND.
//!
//! COMMAND and its subcommands are generated from the command table, never written by hand:
//! ACL categories are the declared ones plus those Redis implies from the flags (`write` gives
//! `@write`, `admin` gives `@admin @dangerous`, anything not `fast` is `@slow`...), printed in
//! Redis's category order; key specs, tips and the documentation fields come from the table's
//! declarations ([`CommandDef::key_flags`], [`CommandDef::key_specs`], [`CommandDef::tips`]...).
//!
//! INFO prints Redis 7.0's sections and field names in Redis's order with CRLF line endings.
//! Fields for machinery Flint does not have (forks, replication backlog, active defrag) are
//! printed with the values an idle Redis shows, so tools that parse INFO keep working.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::Duration;

use flint_protocol::ReplyWriter;

use crate::cmd::args::{Arg, ArgType};
use crate::cmd::{
    container, def, flags, key_positions, key_spec_flags, BeginSearch, Command, CommandDef,
    FindKeys, KeySpec, Table,
};
use crate::ctx::{Action, Ctx};
use crate::engine::{rss_bytes, unix_ms, Engine, ShutdownRequest};
use crate::error::{Error, Result};
use crate::stats::Stats;
use crate::value::Value;

/// The Redis version Flint implements, reported by INFO and HELLO (clients pick features by it).
pub const REDIS_VERSION: &str = "7.0.15";

/// The server commands.
pub static COMMANDS: &[CommandDef] = &[
    def(
        "info",
        -1,
        "loading stale",
        KeySpec::None,
        "@dangerous",
        "server",
        "Get information and statistics about the server",
        "1.0.0",
        info,
    )
    .tips("nondeterministic_output request_policy:all_shards response_policy:special")
    .complexity("O(1)")
    .history(&[("7.0.0", "Added support for taking multiple section arguments.")]),
    def(
        "config",
        -2,
        "",
        KeySpec::None,
        "",
        "server",
        "A container for server configuration commands",
        "2.0.0",
        container,
    )
    .complexity("Depends on subcommand.")
    .subcommands(CONFIG_SUBCOMMANDS),
    def(
        "time",
        1,
        "loading stale fast",
        KeySpec::None,
        "",
        "server",
        "Return the current server time",
        "2.6.0",
        time,
    )
    .tips("nondeterministic_output")
    .complexity("O(1)"),
    def(
        "slowlog",
        -2,
        "",
        KeySpec::None,
        "",
        "server",
        "A container for slow log commands",
        "2.2.12",
        container,
    )
    .complexity("Depends on subcommand.")
    .subcommands(SLOWLOG_SUBCOMMANDS),
    def(
        "latency",
        -2,
        "",
        KeySpec::None,
        "",
        "server",
        "A container for latency diagnostics commands",
        "2.8.13",
        container,
    )
    .complexity("Depends on subcommand.")
    .subcommands(LATENCY_SUBCOMMANDS),
    def(
        "monitor",
        1,
        "admin noscript loading stale",
        KeySpec::None,
        "",
        "server",
        "Listen for all requests received by the server in real time",
        "1.0.0",
        monitor,
    ),
    def(
        "shutdown",
        -1,
        "admin noscript loading stale no_multi allow_busy",
        KeySpec::None,
        "",
        "server",
        "Synchronously save the dataset to disk and then shut down the server",
        "1.0.0",
        shutdown,
    )
    .complexity("O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)")
    .history(&[("7.0.0", "Added the `NOW`, `FORCE` and `ABORT` modifiers.")]),
    def(
        "debug",
        -2,
        "admin noscript loading stale",
        KeySpec::None,
        "",
        "server",
        "A container for debugging commands",
        "1.0.0",
        debug,
    )
    .complexity("Depends on subcommand.")
    .doc_flags("syscmd"),
    def(
        "command",
        -1,
        "loading stale",
        KeySpec::None,
        "@connection",
        "server",
        "Get array of Redis command details",
        "2.8.13",
        command,
    )
    .tips("nondeterministic_output_order")
    .complexity("O(N) where N is the total number of Redis commands")
    .subcommands(COMMAND_SUBCOMMANDS),
];

static CONFIG_SUBCOMMANDS: &[CommandDef] = &[
    def(
        "get",
        -3,
        "admin noscript loading stale",
        KeySpec::None,
        "",
        "server",
        "Get the values of configuration parameters",
        "2.0.0",
        config_get,
    )
    .complexity("O(N) when N is the number of configuration parameters provided")
    .history(&[(
        "7.0.0",
        "Added the ability to pass multiple pattern parameters in one call",
    )]),
    def(
        "set",
        -4,
        "admin noscript loading stale",
        KeySpec::None,
        "",
        "server",
        "Set configuration parameters to the given values",
        "2.0.0",
        config_set,
    )
    .tips("request_policy:all_nodes response_policy:all_succeeded")
    .complexity("O(N) when N is the number of configuration parameters provided")
    .history(&[(
        "7.0.0",
        "Added the ability to set multiple parameters in one call.",
    )]),
    def(
        "resetstat",
        2,
        "admin noscript loading stale",
        KeySpec::None,
        "",
        "server",
        "Reset the stats returned by INFO",
        "2.0.0",
        config_resetstat,
    )
    .complexity("O(1)"),
    def(
        "rewrite",
        2,
        "admin noscript loading stale",
        KeySpec::None,
        "",
        "server",
        "Rewrite the configuration file with the in memory configuration",
        "2.8.0",
        config_rewrite,
    )
    .complexity("O(1)"),
    def(
        "help",
        2,
        "loading stale",
        KeySpec::None,
        "",
        "server",
        "Show helpful text about the different subcommands",
        "5.0.0",
        config_help,
    )
    .complexity("O(1)"),
];

static SLOWLOG_SUBCOMMANDS: &[CommandDef] = &[
    def(
        "get",
        -2,
        "admin loading stale",
        KeySpec::None,
        "",
        "server",
        "Get the slow log's entries",
        "2.2.12",
        slowlog_get,
    )
    .tips("request_policy:all_nodes nondeterministic_output")
    .complexity("O(N) where N is the number of entries returned")
    .history(&[(
        "4.0.0",
        "Added client IP address, port and name to the reply.",
    )]),
    def(
        "len",
        2,
        "admin loading stale",
        KeySpec::None,
        "",
        "server",
        "Get the slow log's length",
        "2.2.12",
        slowlog_len,
    )
    .tips("request_policy:all_nodes response_policy:agg_sum nondeterministic_output")
    .complexity("O(1)"),
    def(
        "reset",
        2,
        "admin loading stale",
        KeySpec::None,
        "",
        "server",
        "Clear all entries from the slow log",
        "2.2.12",
        slowlog_reset,
    )
    .tips("request_policy:all_nodes response_policy:all_succeeded")
    .complexity("O(N) where N is the number of entries in the slowlog"),
    def(
        "help",
        2,
        "loading stale",
        KeySpec::None,
        "",
        "server",
        "Show helpful text about the different subcommands",
        "6.2.0",
        slowlog_help,
    )
    .complexity("O(1)"),
];

static LATENCY_SUBCOMMANDS: &[CommandDef] = &[
    def(
        "latest",
        2,
        "admin noscript loading stale",
        KeySpec::None,
        "",
        "server",
        "Return the latest latency samples for all events.",
        "2.8.13",
        latency_latest,
    )
    .tips("nondeterministic_output request_policy:all_nodes response_policy:special")
    .complexity("O(1)"),
    def(
        "history",
        3,
        "admin noscript loading stale",
        KeySpec::None,
        "",
        "server",
        "Return timestamp-latency samples for the event.",
        "2.8.13",
        latency_history,
    )
    .tips("nondeterministic_output request_policy:all_nodes response_policy:special")
    .complexity("O(1)"),
    def(
        "reset",
        -2,
        "admin noscript loading stale",
        KeySpec::None,
        "",
        "server",
        "Reset latency data for one or more events.",
        "2.8.13",
        latency_reset,
    )
    .tips("request_policy:all_nodes response_policy:all_succeeded")
    .complexity("O(1)"),
    def(
        "histogram",
        -2,
        "admin noscript loading stale",
        KeySpec::None,
        "",
        "server",
        "Return the cumulative distribution of latencies of a subset of commands or all.",
        "7.0.0",
        latency_histogram,
    )
    .tips("nondeterministic_output request_policy:all_nodes response_policy:special")
    .complexity("O(N) where N is the number of commands with latency information being retrieved."),
    def(
        "help",
        2,
        "loading stale",
        KeySpec::None,
        "",
        "server",
        "Show helpful text about the different subcommands.",
        "2.8.13",
        latency_help,
    )
    .complexity("O(1)"),
];

static COMMAND_SUBCOMMANDS: &[CommandDef] = &[
    def(
        "count",
        2,
        "loading stale",
        KeySpec::None,
        "@connection",
        "server",
        "Get total number of Redis commands",
        "2.8.13",
        command_count,
    )
    .complexity("O(1)"),
    def(
        "info",
        -2,
        "loading stale",
        KeySpec::None,
        "@connection",
        "server",
        "Get array of specific Redis command details, or all when no argument is given.",
        "2.8.13",
        command_info,
    )
    .tips("nondeterministic_output_order")
    .complexity("O(N) where N is the number of commands to look up")
    .history(&[(
        "7.0.0",
        "Allowed to be called with no argument to get info on all commands.",
    )]),
    def(
        "docs",
        -2,
        "loading stale",
        KeySpec::None,
        "@connection",
        "server",
        "Get array of specific Redis command documentation",
        "7.0.0",
        command_docs,
    )
    .tips("nondeterministic_output_order")
    .complexity("O(N) where N is the number of commands to look up"),
    def(
        "list",
        -2,
        "loading stale",
        KeySpec::None,
        "@connection",
        "server",
        "Get an array of Redis command names",
        "7.0.0",
        command_list,
    )
    .tips("nondeterministic_output_order")
    .complexity("O(N) where N is the total number of Redis commands"),
    def(
        "getkeys",
        -4,
        "loading stale",
        KeySpec::None,
        "@connection",
        "server",
        "Extract keys given a full Redis command",
        "2.8.13",
        command_getkeys,
    )
    .complexity("O(N) where N is the number of arguments to the command"),
    def(
        "getkeysandflags",
        -4,
        "loading stale",
        KeySpec::None,
        "@connection",
        "server",
        "Extract keys and access flags given a full Redis command",
        "7.0.0",
        command_getkeysandflags,
    )
    .complexity("O(N) where N is the number of arguments to the command"),
    def(
        "help",
        2,
        "loading stale",
        KeySpec::None,
        "@connection",
        "server",
        "Show helpful text about the different subcommands",
        "5.0.0",
        command_help,
    )
    .complexity("O(1)"),
];

/// Replies Redis's HELP format: a header naming the command as typed (uppercased), `lines`,
/// then the HELP entry, each a simple string.
pub fn reply_help(ctx: &mut Ctx<'_>, lines: &[&str]) {
    let name = ctx.arg_lossy(0).to_ascii_uppercase();
    ctx.out.array(lines.len() + 3);
    ctx.out.simple(&format!(
        "{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for l in lines {
        ctx.out.simple(l);
    }
    ctx.out.simple("HELP");
    ctx.out.simple("    Prints this help.");
}

/// Redis's error for a subcommand given the wrong arguments (addReplySubcommandSyntaxError).
pub fn subcommand_syntax(ctx: &Ctx<'_>) -> Error {
    let sub = ctx.arg(1);
    let sub = String::from_utf8_lossy(&sub[..sub.len().min(128)]).into_owned();
    Error::msg(format!(
        "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {} HELP.",
        ctx.arg_lossy(0).to_ascii_uppercase()
    ))
}

// ---------------------------------------------------------------------------------------------
// INFO

/// INFO's sections in Redis's order: name, title, and whether it is in `default`.
const SECTIONS: &[(&str, &str, bool)] = &[
    ("server", "Server", true),
    ("clients", "Clients", true),
    ("memory", "Memory", true),
    ("persistence", "Persistence", true),
    ("stats", "Stats", true),
    ("replication", "Replication", true),
    ("cpu", "CPU", true),
    ("modules", "Modules", true),
    ("commandstats", "Commandstats", false),
    ("errorstats", "Errorstats", true),
    ("latencystats", "Latencystats", false),
    ("cluster", "Cluster", true),
    ("keyspace", "Keyspace", true),
];

// INFO [section [section ...]]
fn info(ctx: &mut Ctx<'_>) -> Result<()> {
    let mut wanted = [false; SECTIONS.len()];
    if ctx.args.len() == 1 {
        for (w, (_, _, default)) in wanted.iter_mut().zip(SECTIONS) {
            *w = *default;
        }
    }
    for i in 1..ctx.args.len() {
        let arg = ctx.arg(i).to_ascii_lowercase();
        for (w, (name, _, default)) in wanted.iter_mut().zip(SECTIONS) {
            *w |= match &arg[..] {
                b"all" | b"everything" => true,
                b"default" => *default,
                a => a == name.as_bytes(),
            };
        }
    }
    let text = info_text(ctx.engine, &wanted);
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

/// The INFO text for the sections flagged in `wanted` (indexed as [`SECTIONS`]).
fn info_text(e: &Engine, wanted: &[bool]) -> String {
    let mut out = String::with_capacity(4096);
    for (i, (name, title, _)) in SECTIONS.iter().enumerate() {
        if !wanted.get(i).copied().unwrap_or(false) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let _ = write!(out, "# {title}\r\n");
        match *name {
            "server" => info_server(e, &mut out),
            "clients" => info_clients(e, &mut out),
            "memory" => info_memory(e, &mut out),
            "persistence" => info_persistence(e, &mut out),
            "stats" => info_stats(e, &mut out),
            "replication" => info_replication(e, &mut out),
            "cpu" => info_cpu(&mut out),
            "commandstats" => info_commandstats(e, &mut out),
            "latencystats" => info_latencystats(e, &mut out),
            "errorstats" => info_errorstats(e, &mut out),
            "cluster" => out.push_str("cluster_enabled:0\r\n"),
            "keyspace" => info_keyspace(e, &mut out),
            _ => {}
        }
    }
    out
}

/// Appends `name:value\r\n`.
fn field(out: &mut String, name: &str, value: impl std::fmt::Display) {
    let _ = write!(out, "{name}:{value}\r\n");
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn info_server(e: &Engine, out: &mut String) {
    let now_ms = unix_ms();
    let uptime_s = e.started.elapsed().as_secs();
    let settings = e.config.settings();
    let os = format!(
        "{} {} {}",
        read_trimmed("/proc/sys/kernel/ostype"),
        read_trimmed("/proc/sys/kernel/osrelease"),
        std::env::consts::ARCH
    );
    field(out, "redis_version", REDIS_VERSION);
    field(out, "redis_git_sha1", "00000000");
    field(out, "redis_git_dirty", 0);
    field(out, "redis_build_id", "0");
    field(out, "redis_mode", "standalone");
    field(out, "os", os.trim());
    field(out, "arch_bits", usize::BITS);
    field(out, "monotonic_clock", "POSIX clock_gettime");
    field(out, "multiplexing_api", "epoll");
    field(out, "atomicvar_api", "c11-builtin");
    field(out, "gcc_version", "0.0.0");
    field(out, "process_id", std::process::id());
    field(out, "process_supervised", "no");
    field(out, "run_id", &e.run_id);
    field(out, "tcp_port", e.port.load(Ordering::Relaxed));
    field(out, "server_time_usec", now_ms * 1000);
    field(out, "uptime_in_seconds", uptime_s);
    field(out, "uptime_in_days", uptime_s / 86400);
    field(out, "hz", settings.hz);
    field(out, "configured_hz", settings.hz);
    field(out, "lru_clock", Engine::lru_clock(now_ms));
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    field(out, "executable", exe);
    let file = e
        .config
        .file()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    field(out, "config_file", file);
    field(out, "io_threads_active", 0);
}

fn info_clients(e: &Engine, out: &mut String) {
    let clients = e.clients.all();
    let max_in = clients
        .iter()
        .map(|c| c.qbuf.load(Ordering::Relaxed))
        .max()
        .unwrap_or(0);
    let max_out = clients
        .iter()
        .map(|c| c.omem.load(Ordering::Relaxed))
        .max()
        .unwrap_or(0);
    field(out, "connected_clients", clients.len());
    field(out, "cluster_connections", 0);
    field(out, "maxclients", e.config.settings().maxclients);
    field(out, "client_recent_max_input_buffer", max_in);
    field(out, "client_recent_max_output_buffer", max_out);
    field(out, "blocked_clients", Stats::get(&e.stats.blocked_clients));
    field(
        out,
        "tracking_clients",
        Stats::get(&e.stats.tracking_clients),
    );
    field(
        out,
        "clients_in_timeout_table",
        e.blocking.in_timeout_table(),
    );
}

/// Redis's bytesToHuman: `1023B`, `1.50K`, `2.00M`...
pub fn bytes_to_human(n: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (1 << 10, "K"),
        (1 << 20, "M"),
        (1 << 30, "G"),
        (1 << 40, "T"),
        (1 << 50, "P"),
    ];
    if n < 1024 {
        return format!("{n}B");
    }
    for (i, (unit, name)) in UNITS.iter().enumerate() {
        let next = UNITS.get(i + 1).map_or(u64::MAX, |u| u.0);
        if n < next {
            return format!("{:.2}{name}", n as f64 / *unit as f64);
        }
    }
    format!("{n}B")
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

fn info_memory(e: &Engine, out: &mut String) {
    let m = e.memory();
    let used = m.allocated;
    // What the allocator has handed out: used_memory plus the keyspace's free entry slots
    // (which used_memory leaves out, see `Engine::used_memory`).
    let allocated = used + crate::keyspace::slab_free_bytes();
    let rss = rss_bytes();
    let peak = e.memory_peak.load(Ordering::Relaxed).max(used);
    let active = if m.active > 0 { m.active } else { used };
    let resident = if m.resident > 0 { m.resident } else { rss };
    let maxmemory: u64 = e
        .config
        .get("maxmemory")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let system = total_system_memory();
    field(out, "used_memory", used);
    field(out, "used_memory_human", bytes_to_human(used));
    field(out, "used_memory_rss", rss);
    field(out, "used_memory_rss_human", bytes_to_human(rss));
    field(out, "used_memory_peak", peak);
    field(out, "used_memory_peak_human", bytes_to_human(peak));
    field(
        out,
        "used_memory_peak_perc",
        format!("{:.2}%", ratio(used, peak) * 100.0),
    );
    let b = crate::memory::breakdown(e);
    field(out, "used_memory_overhead", b.overhead());
    field(out, "used_memory_startup", b.startup);
    field(out, "used_memory_dataset", b.dataset());
    field(
        out,
        "used_memory_dataset_perc",
        format!(
            "{:.2}%",
            ratio(b.dataset(), used.saturating_sub(b.startup)) * 100.0
        ),
    );
    field(out, "allocator_allocated", allocated);
    field(out, "allocator_active", active);
    field(out, "allocator_resident", resident);
    field(out, "total_system_memory", system);
    field(out, "total_system_memory_human", bytes_to_human(system));
    for name in ["used_memory_lua", "used_memory_vm_eval"] {
        field(out, name, 0);
    }
    field(out, "used_memory_lua_human", "0B");
    field(out, "used_memory_scripts_eval", 0);
    field(out, "number_of_cached_scripts", 0);
    field(out, "number_of_functions", 0);
    field(out, "number_of_libraries", 0);
    field(out, "used_memory_vm_functions", 0);
    field(out, "used_memory_vm_total", 0);
    field(out, "used_memory_vm_total_human", "0B");
    field(out, "used_memory_functions", 0);
    field(out, "used_memory_scripts", 0);
    field(out, "used_memory_scripts_human", "0B");
    field(out, "maxmemory", maxmemory);
    field(out, "maxmemory_human", bytes_to_human(maxmemory));
    field(
        out,
        "maxmemory_policy",
        e.config.get("maxmemory-policy").unwrap_or_default(),
    );
    field(
        out,
        "allocator_frag_ratio",
        format!("{:.2}", ratio(active, allocated)),
    );
    field(
        out,
        "allocator_frag_bytes",
        active as i64 - allocated as i64,
    );
    field(
        out,
        "allocator_rss_ratio",
        format!("{:.2}", ratio(resident, active)),
    );
    field(out, "allocator_rss_bytes", resident as i64 - active as i64);
    field(
        out,
        "rss_overhead_ratio",
        format!("{:.2}", ratio(rss, resident)),
    );
    field(out, "rss_overhead_bytes", rss as i64 - resident as i64);
    field(
        out,
        "mem_fragmentation_ratio",
        format!("{:.2}", ratio(rss, used)),
    );
    field(out, "mem_fragmentation_bytes", rss as i64 - used as i64);
    for name in [
        "mem_not_counted_for_evict",
        "mem_replication_backlog",
        "mem_total_replication_buffers",
        "mem_clients_slaves",
    ] {
        field(out, name, 0);
    }
    field(out, "mem_clients_normal", b.clients);
    for name in ["mem_cluster_links", "mem_aof_buffer"] {
        field(out, name, 0);
    }
    field(out, "mem_allocator", m.allocator);
    field(out, "active_defrag_running", 0);
    field(out, "lazyfree_pending_objects", 0);
    field(out, "lazyfreed_objects", 0);
}

fn info_persistence(e: &Engine, out: &mut String) {
    let s = &e.stats;
    let dirty = Stats::get(&s.dirty).saturating_sub(Stats::get(&s.dirty_at_last_save));
    let last_save = match Stats::get(&s.last_save_s) {
        0 => e.start_ms / 1000,
        t => t,
    };
    let aof = e.config.get("appendonly").as_deref() == Some("yes");
    field(out, "loading", Stats::get(&s.loading));
    field(out, "async_loading", 0);
    field(out, "current_cow_peak", 0);
    field(out, "current_cow_size", 0);
    field(out, "current_cow_size_age", 0);
    field(out, "current_fork_perc", "0.00");
    field(out, "current_save_keys_processed", 0);
    field(out, "current_save_keys_total", 0);
    field(out, "rdb_changes_since_last_save", dirty);
    field(
        out,
        "rdb_bgsave_in_progress",
        Stats::get(&s.bgsave_in_progress),
    );
    field(out, "rdb_last_save_time", last_save);
    field(out, "rdb_last_bgsave_status", "ok");
    field(out, "rdb_last_bgsave_time_sec", -1);
    field(out, "rdb_current_bgsave_time_sec", -1);
    field(out, "rdb_saves", Stats::get(&s.rdb_saves));
    field(out, "rdb_last_cow_size", 0);
    field(out, "rdb_last_load_keys_expired", 0);
    field(out, "rdb_last_load_keys_loaded", 0);
    field(out, "aof_enabled", aof as u8);
    field(out, "aof_rewrite_in_progress", 0);
    field(out, "aof_rewrite_scheduled", 0);
    field(out, "aof_last_rewrite_time_sec", -1);
    field(out, "aof_current_rewrite_time_sec", -1);
    field(out, "aof_last_bgrewrite_status", "ok");
    field(out, "aof_rewrites", 0);
    field(out, "aof_rewrites_consecutive_failures", 0);
    field(out, "aof_last_write_status", "ok");
    field(out, "aof_last_cow_size", 0);
    field(out, "module_fork_in_progress", 0);
    field(out, "module_fork_last_cow_size", 0);
}

fn info_stats(e: &Engine, out: &mut String) {
    let s = &e.stats;
    fn g(c: &impl crate::counter::Count) -> u64 {
        c.value()
    }
    let (ops, net_in, net_out) = e.instantaneous();
    field(
        out,
        "total_connections_received",
        g(&s.total_connections_received),
    );
    field(
        out,
        "total_commands_processed",
        g(&s.total_commands_processed),
    );
    field(out, "instantaneous_ops_per_sec", ops as u64);
    field(out, "total_net_input_bytes", g(&s.net_input_bytes));
    field(out, "total_net_output_bytes", g(&s.net_output_bytes));
    field(out, "total_net_repl_input_bytes", 0);
    field(out, "total_net_repl_output_bytes", 0);
    field(
        out,
        "instantaneous_input_kbps",
        format!("{:.2}", net_in / 1024.0),
    );
    field(
        out,
        "instantaneous_output_kbps",
        format!("{:.2}", net_out / 1024.0),
    );
    field(out, "instantaneous_input_repl_kbps", "0.00");
    field(out, "instantaneous_output_repl_kbps", "0.00");
    field(out, "rejected_connections", g(&s.rejected_connections));
    field(out, "sync_full", 0);
    field(out, "sync_partial_ok", 0);
    field(out, "sync_partial_err", 0);
    field(out, "expired_keys", g(&s.expired_keys));
    field(out, "expired_stale_perc", "0.00");
    field(out, "expired_time_cap_reached_count", 0);
    field(out, "expire_cycle_cpu_milliseconds", 0);
    field(out, "evicted_keys", g(&s.evicted_keys));
    field(out, "evicted_clients", 0);
    field(out, "total_eviction_exceeded_time", 0);
    field(out, "current_eviction_exceeded_time", 0);
    field(out, "keyspace_hits", g(&s.keyspace_hits));
    field(out, "keyspace_misses", g(&s.keyspace_misses));
    field(out, "pubsub_channels", g(&s.pubsub_channels));
    field(out, "pubsub_patterns", g(&s.pubsub_patterns));
    field(out, "pubsubshard_channels", g(&s.pubsubshard_channels));
    for name in [
        "latest_fork_usec",
        "total_forks",
        "migrate_cached_sockets",
        "slave_expires_tracked_keys",
        "active_defrag_hits",
        "active_defrag_misses",
        "active_defrag_key_hits",
        "active_defrag_key_misses",
        "total_active_defrag_time",
        "current_active_defrag_time",
        "tracking_total_keys",
        "tracking_total_items",
        "tracking_total_prefixes",
    ] {
        field(out, name, 0);
    }
    field(out, "unexpected_error_replies", 0);
    field(out, "total_error_replies", g(&s.error_replies));
    field(out, "dump_payload_sanitizations", 0);
    field(out, "total_reads_processed", 0);
    field(out, "total_writes_processed", 0);
    field(out, "io_threaded_reads_processed", 0);
    field(out, "io_threaded_writes_processed", 0);
    field(out, "reply_buffer_shrinks", 0);
    field(out, "reply_buffer_expands", 0);
}

fn info_replication(e: &Engine, out: &mut String) {
    field(out, "role", "master");
    field(out, "connected_slaves", 0);
    field(out, "master_failover_state", "no-failover");
    field(out, "master_replid", &e.replid);
    field(out, "master_replid2", "0".repeat(40));
    field(out, "master_repl_offset", 0);
    field(out, "second_repl_offset", -1);
    field(out, "repl_backlog_active", 0);
    field(out, "repl_backlog_size", 1048576);
    field(out, "repl_backlog_first_byte_offset", 0);
    field(out, "repl_backlog_histlen", 0);
}

/// `(user, system, children user, children system)` CPU seconds from a /proc stat file.
fn cpu_times(path: &str) -> (f64, f64, f64, f64) {
    // Linux's USER_HZ: what /proc reports times in.
    const TICKS: f64 = 100.0;
    let text = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces: state is
    // field 3, utime 14, stime 15, cutime 16, cstime 17.
    let rest = text.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse::<f64>().unwrap_or(0.0))
        .collect();
    let at = |i: usize| f.get(i).copied().unwrap_or(0.0) / TICKS;
    (at(11), at(12), at(13), at(14))
}

fn info_cpu(out: &mut String) {
    let (user, sys, cuser, csys) = cpu_times("/proc/self/stat");
    let (muser, msys, _, _) = cpu_times(&format!("/proc/self/task/{}/stat", std::process::id()));
    field(out, "used_cpu_sys", format!("{sys:.6}"));
    field(out, "used_cpu_user", format!("{user:.6}"));
    field(out, "used_cpu_sys_children", format!("{csys:.6}"));
    field(out, "used_cpu_user_children", format!("{cuser:.6}"));
    field(out, "used_cpu_sys_main_thread", format!("{msys:.6}"));
    field(out, "used_cpu_user_main_thread", format!("{muser:.6}"));
}

/// Every command and subcommand of the table, sorted by full name.
fn all_commands_flat(t: &Table) -> Vec<&Command> {
    let mut all: Vec<&Command> = Vec::new();
    for c in t.iter() {
        all.push(c);
        all.extend(c.subs.values());
    }
    all.sort_by(|a, b| a.full_name.cmp(&b.full_name));
    all
}

fn info_commandstats(e: &Engine, out: &mut String) {
    for c in all_commands_flat(&e.commands) {
        let s = &c.stats;
        let calls = s.calls();
        let failed = s.failed();
        let rejected = s.rejected();
        if calls == 0 && failed == 0 && rejected == 0 {
            continue;
        }
        let usec = s.usec();
        let per_call = if calls == 0 {
            0.0
        } else {
            usec as f64 / calls as f64
        };
        let _ = write!(
            out,
            "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per_call:.2},rejected_calls={rejected},failed_calls={failed}\r\n",
            c.full_name
        );
    }
}

/// `latency_percentiles_usec_<command>:p50=...` for every command with recorded calls, at the
/// percentiles of `latency-tracking-info-percentiles` (Redis's `%f` names, `%.3f` values).
fn info_latencystats(e: &Engine, out: &mut String) {
    let percentiles = e.config.settings().latency_percentiles.clone();
    let snap = e.latency_hists.snapshot();
    let mut rows: Vec<(&str, &Vec<u64>)> = snap
        .iter()
        .map(|(&id, counts)| (e.commands.name_of(id), counts))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(b.0));
    for (name, counts) in rows {
        let _ = write!(out, "latency_percentiles_usec_{name}:");
        for (i, &p) in percentiles.iter().enumerate() {
            let label = crate::config::percentile_text(p);
            let us = crate::latency_hist::percentile(counts, p);
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(out, "{sep}p{label}={:.3}", us as f64);
        }
        out.push_str("\r\n");
    }
}

fn info_errorstats(e: &Engine, out: &mut String) {
    for (code, n) in e.stats.error_codes.lock().iter() {
        let _ = write!(out, "errorstat_{code}:count={n}\r\n");
    }
}

fn info_keyspace(e: &Engine, out: &mut String) {
    for (db, keys, expires) in e.keyspace_summary() {
        // `no_ttl` is Flint's: the keys that will never expire (a cache growing without bound
        // shows here first; see `default-ttl`).
        let _ = write!(
            out,
            "db{db}:keys={keys},expires={expires},avg_ttl=0,no_ttl={}\r\n",
            keys.saturating_sub(expires)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// CONFIG

fn has_glob(p: &[u8]) -> bool {
    p.iter().any(|b| matches!(b, b'*' | b'?' | b'['))
}

// CONFIG GET parameter [parameter ...]
fn config_get(ctx: &mut Ctx<'_>) -> Result<()> {
    let mut found: Vec<(String, String)> = Vec::new();
    for i in 2..ctx.args.len() {
        let pattern = ctx.arg(i);
        if !has_glob(pattern) {
            // An exact name is echoed as typed, as Redis does.
            let name = ctx.arg_lossy(i);
            if found.iter().any(|(n, _)| *n == name) {
                continue;
            }
            if let Some(v) = ctx.engine.config.get(&name) {
                found.push((name, v));
            }
            continue;
        }
        for (name, v) in ctx.engine.config.get_matching(pattern) {
            if !found.iter().any(|(n, _)| n == name) {
                found.push((name.to_string(), v));
            }
        }
    }
    ctx.out.map(found.len());
    for (name, v) in found {
        ctx.out.bulk(name.as_bytes());
        ctx.out.bulk(v.as_bytes());
    }
    Ok(())
}

// CONFIG SET parameter value [parameter value ...]
fn config_set(ctx: &mut Ctx<'_>) -> Result<()> {
    if !ctx.args.len().is_multiple_of(2) {
        return Err(Error::Syntax);
    }
    let owned: Vec<(String, String)> = (2..ctx.args.len())
        .step_by(2)
        .map(|i| (ctx.arg_lossy(i), ctx.arg_lossy(i + 1)))
        .collect();
    let pairs: Vec<(&str, &str)> = owned
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    ctx.engine.config.set_many(&pairs, false)?;
    ctx.out.ok();
    Ok(())
}

// CONFIG RESETSTAT
fn config_resetstat(ctx: &mut Ctx<'_>) -> Result<()> {
    let e = ctx.engine;
    e.stats.reset();
    e.latency_hists.reset();
    for c in e.commands.iter() {
        c.stats.reset();
        for s in c.subs.values() {
            s.stats.reset();
        }
    }
    e.memory_peak.store(0, Ordering::Relaxed);
    ctx.out.ok();
    Ok(())
}

// CONFIG REWRITE
fn config_rewrite(ctx: &mut Ctx<'_>) -> Result<()> {
    ctx.engine.config.rewrite()?;
    ctx.out.ok();
    Ok(())
}

// CONFIG HELP
fn config_help(ctx: &mut Ctx<'_>) -> Result<()> {
    reply_help(
        ctx,
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// TIME, SLOWLOG, LATENCY

// TIME
fn time(ctx: &mut Ctx<'_>) -> Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    ctx.out.array(2);
    ctx.out.bulk_int(now.as_secs() as i64);
    ctx.out.bulk_int(now.subsec_micros() as i64);
    Ok(())
}

// SLOWLOG GET [count]
fn slowlog_get(ctx: &mut Ctx<'_>) -> Result<()> {
    if ctx.args.len() > 3 {
        return Err(subcommand_syntax(ctx));
    }
    let mut count = 10usize;
    if ctx.args.len() == 3 {
        let n = ctx
            .arg_i64(2)
            .ok()
            .filter(|&n| n >= -1)
            .ok_or_else(|| Error::msg("ERR count should be greater than or equal to -1"))?;
        count = if n == -1 { usize::MAX } else { n as usize };
    }
    let entries: Vec<_> = ctx
        .engine
        .slowlog
        .entries
        .lock()
        .iter()
        .take(count)
        .cloned()
        .collect();
    ctx.out.array(entries.len());
    for e in entries {
        ctx.out.array(6);
        ctx.out.int(e.id as i64);
        ctx.out.int(e.time_s as i64);
        ctx.out.int(e.duration_us as i64);
        ctx.out.array(e.args.len());
        for a in &e.args {
            ctx.out.bulk(a);
        }
        ctx.out.bulk(e.addr.as_bytes());
        ctx.out.bulk(&e.name);
    }
    Ok(())
}

// SLOWLOG LEN
fn slowlog_len(ctx: &mut Ctx<'_>) -> Result<()> {
    let n = ctx.engine.slowlog.entries.lock().len();
    ctx.out.int(n as i64);
    Ok(())
}

// SLOWLOG RESET
fn slowlog_reset(ctx: &mut Ctx<'_>) -> Result<()> {
    ctx.engine.slowlog.entries.lock().clear();
    ctx.out.ok();
    Ok(())
}

// SLOWLOG HELP
fn slowlog_help(ctx: &mut Ctx<'_>) -> Result<()> {
    reply_help(
        ctx,
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
    Ok(())
}

// LATENCY LATEST
fn latency_latest(ctx: &mut Ctx<'_>) -> Result<()> {
    let rows: Vec<(String, u64, u64, u64)> = ctx
        .engine
        .latency
        .lock()
        .iter()
        .filter_map(|(name, s)| {
            let (t, ms) = *s.samples.back()?;
            Some((name.clone(), t, ms, s.max_ms))
        })
        .collect();
    ctx.out.array(rows.len());
    for (name, t, ms, max) in rows {
        ctx.out.array(4);
        ctx.out.bulk(name.as_bytes());
        ctx.out.int(t as i64);
        ctx.out.int(ms as i64);
        ctx.out.int(max as i64);
    }
    Ok(())
}

// LATENCY HISTORY event
fn latency_history(ctx: &mut Ctx<'_>) -> Result<()> {
    let name = ctx.arg_lossy(2);
    let samples: Vec<(u64, u64)> = ctx
        .engine
        .latency
        .lock()
        .get(&name)
        .map(|s| s.samples.iter().copied().collect())
        .unwrap_or_default();
    ctx.out.array(samples.len());
    for (t, ms) in samples {
        ctx.out.array(2);
        ctx.out.int(t as i64);
        ctx.out.int(ms as i64);
    }
    Ok(())
}

// LATENCY RESET [event [event ...]]
fn latency_reset(ctx: &mut Ctx<'_>) -> Result<()> {
    let mut all = ctx.engine.latency.lock();
    let n = if ctx.args.len() == 2 {
        let n = all.len();
        all.clear();
        n
    } else {
        (2..ctx.args.len())
            .filter(|&i| all.remove(&ctx.arg_lossy(i)).is_some())
            .count()
    };
    drop(all);
    ctx.out.int(n as i64);
    Ok(())
}

// LATENCY HISTOGRAM [command ...]
fn latency_histogram(ctx: &mut Ctx<'_>) -> Result<()> {
    let e = ctx.engine;
    let snap = e.latency_hists.snapshot();
    // Every command with calls, or the named ones (a container names its subcommands), in the
    // order named, repeats included, as Redis.
    let mut rows: Vec<(&str, &Vec<u64>)> = Vec::new();
    let mut add = |c: &'_ Command| {
        if let Some(v) = snap.get(&c.id) {
            rows.push((e.commands.name_of(c.id), v));
        }
    };
    if ctx.args.len() == 2 {
        all_commands_flat(&e.commands)
            .into_iter()
            .for_each(&mut add);
    } else {
        for i in 2..ctx.args.len() {
            let Some(cmd) = lookup_full_name(&e.commands, ctx.args[i]) else {
                continue;
            };
            if cmd.subs.is_empty() {
                add(cmd);
            } else {
                let mut subs: Vec<&Command> = cmd.subs.values().collect();
                subs.sort_by(|a, b| a.full_name.cmp(&b.full_name));
                subs.into_iter().for_each(&mut add);
            }
        }
    }
    let out = &mut *ctx.out;
    out.map(rows.len());
    for (name, counts) in rows {
        out.bulk(name.as_bytes());
        out.map(2);
        out.bulk(b"calls");
        out.int(counts.iter().sum::<u64>() as i64);
        out.bulk(b"histogram_usec");
        let cdf = crate::latency_hist::cumulative(counts);
        out.map(cdf.len());
        for (us, n) in cdf {
            out.int(us as i64);
            out.int(n as i64);
        }
    }
    Ok(())
}

// LATENCY HELP
fn latency_help(ctx: &mut Ctx<'_>) -> Result<()> {
    reply_help(
        ctx,
        &[
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// MONITOR, SHUTDOWN, DEBUG

// MONITOR
fn monitor(ctx: &mut Ctx<'_>) -> Result<()> {
    if ctx.sess.no_block {
        // Inside EXEC (or a script) the client expects one reply per command.
        return Err(Error::msg(
            "ERR MONITOR isn't allowed for DENY BLOCKING client",
        ));
    }
    if ctx.sess.handle.is_monitor() {
        // Already monitoring: Redis ignores it silently.
        return Ok(());
    }
    ctx.sess.handle.set_flag('O', true);
    ctx.out.ok();
    ctx.action = Some(Action::Monitor);
    Ok(())
}

// SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]
fn shutdown(ctx: &mut Ctx<'_>) -> Result<()> {
    let mut req = ShutdownRequest::default();
    let mut abort = false;
    let mut any_flag = false;
    for i in 1..ctx.args.len() {
        if ctx.arg_is(i, "nosave") {
            if req.save == Some(true) {
                return Err(Error::Syntax);
            }
            req.save = Some(false);
        } else if ctx.arg_is(i, "save") {
            if req.save == Some(false) {
                return Err(Error::Syntax);
            }
            req.save = Some(true);
        } else if ctx.arg_is(i, "now") {
            req.now = true;
        } else if ctx.arg_is(i, "force") {
            req.force = true;
        } else if ctx.arg_is(i, "abort") {
            abort = true;
            continue;
        } else {
            return Err(Error::Syntax);
        }
        any_flag = true;
    }
    if abort {
        if any_flag {
            return Err(Error::Syntax);
        }
        // Flint shuts down at once, so there is never one in progress to abort.
        return Err(Error::msg("ERR No shutdown in progress."));
    }
    *ctx.engine.shutdown_request.lock() = req;
    ctx.action = Some(Action::Shutdown);
    Ok(())
}

/// C's `atof`: the longest leading part that is a number, else 0.
fn atof(s: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(s);
    let t = text.trim_start();
    (1..=t.len())
        .rev()
        .filter(|&n| t.is_char_boundary(n))
        .find_map(|n| t[..n].parse::<f64>().ok().filter(|v| v.is_finite()))
        .unwrap_or(0.0)
}

/// The longest DEBUG SLEEP accepted: far beyond any test, short of overflowing a deadline.
const MAX_DEBUG_SLEEP_S: f64 = 1e9;

/// Length of a string in Redis's RDB encoding (DEBUG OBJECT's serializedlength), without LZF
/// compression: integers that fit 32 bits take a type byte and 1, 2 or 4 bytes, anything else
/// a length prefix and the bytes.
fn rdb_string_len(v: &Value) -> usize {
    if let Value::Int(n) = v {
        if let Ok(n) = i32::try_from(*n) {
            return 1 + if i8::try_from(n).is_ok() {
                1
            } else if i16::try_from(n).is_ok() {
                2
            } else {
                4
            };
        }
    }
    let len = v.str_len().unwrap_or(0);
    let prefix = if len < 1 << 6 {
        1
    } else if len < 1 << 14 {
        2
    } else if len <= u32::MAX as usize {
        5
    } else {
        9
    };
    prefix + len
}

/// Whether `sess` may run DEBUG (`enable-debug-command`). The dispatcher checks it before
/// authentication, as Redis checks its protected commands: a refused DEBUG is a rejected call.
pub(crate) fn debug_allowed(e: &Engine, sess: &crate::session::Session) -> bool {
    match e.config.get("enable-debug-command").as_deref() {
        Some("yes") => true,
        Some("local") => sess.handle.addr.is_none_or(|a| a.ip().is_loopback()),
        _ => false,
    }
}

/// The refusal of a DEBUG that `enable-debug-command` does not allow.
pub(crate) fn debug_not_allowed() -> Error {
    Error::msg("ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.")
}

// DEBUG subcommand [argument ...]
fn debug(ctx: &mut Ctx<'_>) -> Result<()> {
    let n = ctx.args.len();
    if n == 2 && ctx.arg_is(1, "help") {
        reply_help(
            ctx,
            &[
                "ERROR <string>",
                "    Return a Redis protocol error with <string> as message. Useful for clients",
                "    unit tests to simulate Redis errors.",
                "LOG <message>",
                "    Write <message> to the server log.",
                "OBJECT <key>",
                "    Show low level info about `key` and associated value.",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Setting it to 0 disables expiring keys in background when they are not",
                "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
                "    default.",
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
            ],
        );
    } else if n == 3 && ctx.arg_is(1, "sleep") {
        let secs = atof(ctx.arg(2)).clamp(0.0, MAX_DEBUG_SLEEP_S);
        let d = Duration::try_from_secs_f64(secs).unwrap_or_default();
        // The connection waits before sending the reply, without blocking a thread; the
        // latency monitor sees the sleep as the command's duration, as in Redis.
        ctx.engine.latency_sample("command", d.as_millis() as u64);
        ctx.out.ok();
        ctx.action = Some(Action::Sleep(d));
    } else if n == 3 && ctx.arg_is(1, "set-active-expire") {
        let on = atof(ctx.arg(2)) as i64 != 0;
        ctx.engine
            .active_expire_enabled
            .store(on, Ordering::Relaxed);
        ctx.out.ok();
    } else if n == 3 && ctx.arg_is(1, "object") {
        debug_object(ctx)?;
    } else if n == 3 && ctx.arg_is(1, "error") {
        return Err(Error::msg(ctx.arg_lossy(2)));
    } else if n == 3 && ctx.arg_is(1, "log") {
        tracing::warn!("DEBUG LOG: {}", ctx.arg_lossy(2));
        ctx.out.ok();
    } else {
        return Err(subcommand_syntax(ctx));
    }
    Ok(())
}

// DEBUG OBJECT key
fn debug_object(ctx: &mut Ctx<'_>) -> Result<()> {
    let key = ctx.arg_bytes(2);
    // DEBUG has no key spec: lock the key here.
    ctx.db.lock_keys(ctx.sess.db, [&key[..]]);
    let now_clock = Engine::lru_clock(ctx.db.now_ms);
    // DEBUG OBJECT must not count as an access.
    let saved_lru = ctx.db.lru.take();
    let entry = ctx.db.entry(&key);
    let line = entry.map(|e| {
        let refcount = match e.value {
            Value::Int(n) if (0..10_000).contains(&n) => i32::MAX as i64,
            _ => 1,
        };
        let idle = crate::evict::idle_seconds(now_clock, e.lru());
        format!(
            "Value at:{:#x} refcount:{refcount} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{idle}",
            e as *const _ as usize,
            e.value.encoding(),
            if e.value.is_string() { rdb_string_len(&e.value) } else { 0 },
            e.lru(),
        )
    });
    ctx.db.lru = saved_lru;
    match line {
        Some(l) => ctx.out.simple(&l),
        None => return Err(Error::NoSuchKey),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// COMMAND

/// Flags in the order COMMAND INFO prints them (may_replicate and no_propagate are internal).
const FLAG_ORDER: &[(&str, u32)] = &[
    ("write", flags::WRITE),
    ("readonly", flags::READONLY),
    ("denyoom", flags::DENYOOM),
    ("admin", flags::ADMIN),
    ("pubsub", flags::PUBSUB),
    ("noscript", flags::NOSCRIPT),
    ("blocking", flags::BLOCKING),
    ("loading", flags::LOADING),
    ("stale", flags::STALE),
    ("skip_monitor", flags::SKIP_MONITOR),
    ("skip_slowlog", flags::SKIP_SLOWLOG),
    ("fast", flags::FAST),
    ("no_auth", flags::NO_AUTH),
    ("no_mandatory_keys", flags::NO_MANDATORY_KEYS),
    ("no_multi", flags::NO_MULTI),
];

/// ACL categories in Redis's order (the order COMMAND INFO lists them in).
pub const ACL_CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// A command's flags as COMMAND INFO lists them.
pub fn command_flags(c: &Command) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = FLAG_ORDER
        .iter()
        .filter(|(_, bit)| c.has(*bit))
        .map(|(n, _)| *n)
        .collect();
    if matches!(c.def.keys, KeySpec::Custom(_)) {
        // movablekeys sits between no_multi and allow_busy in Redis's list.
        out.push("movablekeys");
    }
    if c.has(flags::ALLOW_BUSY) {
        out.push("allow_busy");
    }
    out
}

/// A command's ACL categories (without `@`): the declared ones plus those Redis implies from
/// the flags, in Redis's order.
pub fn acl_categories(c: &Command) -> Vec<&'static str> {
    let declared: Vec<&str> = c
        .def
        .acl
        .split_whitespace()
        .map(|w| w.trim_start_matches('@'))
        .collect();
    let has = |cat: &str| declared.contains(&cat);
    let scripting = has("scripting");
    let fast = has("fast") || c.has(flags::FAST);
    ACL_CATEGORIES
        .iter()
        .copied()
        .filter(|&cat| {
            has(cat)
                || match cat {
                    "write" => c.has(flags::WRITE),
                    "read" => c.has(flags::READONLY) && !scripting,
                    "admin" | "dangerous" => c.has(flags::ADMIN),
                    "pubsub" => c.has(flags::PUBSUB),
                    "fast" => fast,
                    "slow" => !fast,
                    "blocking" => c.has(flags::BLOCKING),
                    _ => false,
                }
        })
        .collect()
}

/// The legacy `(first, last, step)` of COMMAND INFO. For keys found by a function (numkeys),
/// Redis derives it from the key specs that are plain ranges (`populateCommandLegacyRangeSpec`):
/// ZUNIONSTORE's destination gives `1 1 1`, ZUNION has none and gives `0 0 0`.
fn legacy_range(c: &Command) -> (i64, i64, i64) {
    match c.def.keys {
        KeySpec::Range(f, l, s) => (f as i64, l as i64, s as i64),
        KeySpec::None => (0, 0, 0),
        KeySpec::Custom(_) => {
            let (mut first, mut last, mut prev_last) = (i64::MAX, 0i64, 0i64);
            for spec in c.def.resolved_key_specs() {
                let (
                    BeginSearch::Index(pos),
                    FindKeys::Range {
                        lastkey, keystep, ..
                    },
                ) = (spec.begin, spec.find)
                else {
                    continue;
                };
                let pos = pos as i64;
                if keystep != 1 || (prev_last != 0 && prev_last != pos - 1) {
                    continue;
                }
                first = first.min(pos);
                let abs_last = if lastkey >= 0 {
                    lastkey as i64 + pos
                } else {
                    lastkey as i64
                };
                // Redis compares these as unsigned, so a negative `lastkey` wins.
                last = if (abs_last as u64) > (last as u64) {
                    abs_last
                } else {
                    last
                };
                prev_last = last;
            }
            if first == i64::MAX {
                (0, 0, 0)
            } else {
                (first, last, 1)
            }
        }
    }
}

/// Writes one key spec's `flags` value.
fn reply_key_spec_flags(out: &mut ReplyWriter, flags: &str) {
    // The table was validated when it was built (Command::new), so the flags parse.
    let bits = key_spec_flags::parse(flags).unwrap_or(0);
    out.set(key_spec_flags::names(bits).count());
    for name in key_spec_flags::names(bits) {
        out.simple(name);
    }
}

/// The key specs section of COMMAND INFO: one map per spec, shaped as Redis prints it
/// (`notes` only when there are some).
fn reply_key_specs(ctx: &mut Ctx<'_>, c: &Command) {
    let out = &mut *ctx.out;
    let specs = c.def.resolved_key_specs();
    out.set(specs.len());
    for spec in specs {
        out.map(3 + usize::from(!spec.notes.is_empty()));
        if !spec.notes.is_empty() {
            out.bulk(b"notes");
            out.bulk(spec.notes.as_bytes());
        }
        out.bulk(b"flags");
        reply_key_spec_flags(out, spec.flags);
        out.bulk(b"begin_search");
        out.map(2);
        out.bulk(b"type");
        match spec.begin {
            BeginSearch::Index(index) => {
                out.bulk(b"index");
                out.bulk(b"spec");
                out.map(1);
                out.bulk(b"index");
                out.int(index as i64);
            }
            BeginSearch::Keyword { keyword, startfrom } => {
                out.bulk(b"keyword");
                out.bulk(b"spec");
                out.map(2);
                out.bulk(b"keyword");
                out.bulk(keyword.as_bytes());
                out.bulk(b"startfrom");
                out.int(startfrom as i64);
            }
            BeginSearch::Unknown => {
                out.bulk(b"unknown");
                out.bulk(b"spec");
                out.map(0);
            }
        }
        out.bulk(b"find_keys");
        out.map(2);
        out.bulk(b"type");
        match spec.find {
            FindKeys::Range {
                lastkey,
                keystep,
                limit,
            } => {
                out.bulk(b"range");
                out.bulk(b"spec");
                out.map(3);
                out.bulk(b"lastkey");
                out.int(lastkey as i64);
                out.bulk(b"keystep");
                out.int(keystep as i64);
                out.bulk(b"limit");
                out.int(limit as i64);
            }
            FindKeys::Keynum {
                keynumidx,
                firstkey,
                keystep,
            } => {
                out.bulk(b"keynum");
                out.bulk(b"spec");
                out.map(3);
                out.bulk(b"keynumidx");
                out.int(keynumidx as i64);
                out.bulk(b"firstkey");
                out.int(firstkey as i64);
                out.bulk(b"keystep");
                out.int(keystep as i64);
            }
            FindKeys::Unknown => {
                out.bulk(b"unknown");
                out.bulk(b"spec");
                out.map(0);
            }
        }
    }
}

/// One command's COMMAND INFO entry, subcommands included.
fn reply_command_info(ctx: &mut Ctx<'_>, c: &Command) {
    let (first, last, step) = legacy_range(c);
    ctx.out.array(10);
    ctx.out.bulk(c.full_name.as_bytes());
    ctx.out.int(c.def.arity as i64);
    let fl = command_flags(c);
    ctx.out.set(fl.len());
    for f in fl {
        ctx.out.simple(f);
    }
    ctx.out.int(first);
    ctx.out.int(last);
    ctx.out.int(step);
    let cats = acl_categories(c);
    ctx.out.set(cats.len());
    for cat in cats {
        ctx.out.simple(&format!("@{cat}"));
    }
    let tips = c.def.tips.split_whitespace();
    ctx.out.set(tips.clone().count());
    for tip in tips {
        ctx.out.bulk(tip.as_bytes());
    }
    reply_key_specs(ctx, c);
    if c.subs.is_empty() {
        ctx.out.set(0);
    } else {
        let mut subs: Vec<&Command> = c.subs.values().collect();
        subs.sort_by(|a, b| a.full_name.cmp(&b.full_name));
        ctx.out.array(subs.len());
        for s in subs {
            reply_command_info(ctx, s);
        }
    }
}

/// One command's COMMAND DOCS entry (the value; the caller writes the name), with Redis's
/// fields in Redis's order; optional ones only when declared.
fn reply_command_docs(ctx: &mut Ctx<'_>, c: &Command) {
    let d = c.def;
    let args = crate::cmd::args::arguments(&c.full_name).unwrap_or_default();
    let fields = 3
        + usize::from(!d.complexity.is_empty())
        + usize::from(!d.doc_flags.is_empty())
        + usize::from(!d.deprecated_since.is_empty())
        + usize::from(!d.replaced_by.is_empty())
        + usize::from(!d.history.is_empty())
        + usize::from(!args.is_empty())
        + usize::from(!c.subs.is_empty());
    ctx.out.map(fields);
    ctx.out.bulk(b"summary");
    ctx.out.bulk(d.summary.as_bytes());
    ctx.out.bulk(b"since");
    ctx.out.bulk(d.since.as_bytes());
    ctx.out.bulk(b"group");
    ctx.out.bulk(d.group.as_bytes());
    if !d.complexity.is_empty() {
        ctx.out.bulk(b"complexity");
        ctx.out.bulk(d.complexity.as_bytes());
    }
    if !d.doc_flags.is_empty() {
        ctx.out.bulk(b"doc_flags");
        ctx.out.set(d.doc_flags.split_whitespace().count());
        for f in d.doc_flags.split_whitespace() {
            ctx.out.simple(f);
        }
    }
    if !d.deprecated_since.is_empty() {
        ctx.out.bulk(b"deprecated_since");
        ctx.out.bulk(d.deprecated_since.as_bytes());
    }
    if !d.replaced_by.is_empty() {
        ctx.out.bulk(b"replaced_by");
        ctx.out.bulk(d.replaced_by.as_bytes());
    }
    if !d.history.is_empty() {
        ctx.out.bulk(b"history");
        ctx.out.set(d.history.len());
        for (version, change) in d.history {
            ctx.out.array(2);
            ctx.out.bulk(version.as_bytes());
            ctx.out.bulk(change.as_bytes());
        }
    }
    if !args.is_empty() {
        ctx.out.bulk(b"arguments");
        reply_doc_args(ctx, args);
    }
    if !c.subs.is_empty() {
        let mut subs: Vec<&Command> = c.subs.values().collect();
        subs.sort_by(|a, b| a.full_name.cmp(&b.full_name));
        ctx.out.bulk(b"subcommands");
        ctx.out.map(subs.len());
        for s in subs {
            ctx.out.bulk(s.full_name.as_bytes());
            reply_command_docs(ctx, s);
        }
    }
}

/// COMMAND DOCS `arguments`: an array of maps, fields in Redis's order, nested for oneof and
/// block arguments.
fn reply_doc_args(ctx: &mut Ctx<'_>, args: &[Arg]) {
    ctx.out.array(args.len());
    for a in args {
        let flags = a.flags().count();
        let nested = matches!(a.kind, ArgType::OneOf | ArgType::Block);
        ctx.out.map(
            2 + usize::from(a.key_spec_index.is_some())
                + usize::from(a.token.is_some())
                + usize::from(a.since.is_some())
                + usize::from(a.deprecated_since.is_some())
                + usize::from(flags > 0)
                + usize::from(nested),
        );
        ctx.out.bulk(b"name");
        ctx.out.bulk(a.name.as_bytes());
        ctx.out.bulk(b"type");
        ctx.out.bulk(a.kind.as_str().as_bytes());
        if let Some(i) = a.key_spec_index {
            ctx.out.bulk(b"key_spec_index");
            ctx.out.int(i64::from(i));
        }
        if let Some(t) = a.token {
            ctx.out.bulk(b"token");
            ctx.out.bulk(t.as_bytes());
        }
        if let Some(v) = a.since {
            ctx.out.bulk(b"since");
            ctx.out.bulk(v.as_bytes());
        }
        if let Some(v) = a.deprecated_since {
            ctx.out.bulk(b"deprecated_since");
            ctx.out.bulk(v.as_bytes());
        }
        if flags > 0 {
            ctx.out.bulk(b"flags");
            ctx.out.set(flags);
            for f in a.flags() {
                ctx.out.simple(f);
            }
        }
        if nested {
            ctx.out.bulk(b"arguments");
            reply_doc_args(ctx, &a.args);
        }
    }
}

/// The command named `name`, where `parent|sub` names a subcommand.
fn lookup_full_name<'t>(t: &'t Table, name: &[u8]) -> Option<&'t Command> {
    match name.iter().position(|&b| b == b'|') {
        None => t.get(name),
        Some(bar) => t.get(&name[..bar])?.sub(&name[bar + 1..]),
    }
}

fn sorted_top_level(t: &Table) -> Vec<&Command> {
    let mut all: Vec<&Command> = t.iter().collect();
    all.sort_by(|a, b| a.full_name.cmp(&b.full_name));
    all
}

// COMMAND
fn command(ctx: &mut Ctx<'_>) -> Result<()> {
    let all = sorted_top_level(&ctx.engine.commands);
    ctx.out.array(all.len());
    for c in all {
        reply_command_info(ctx, c);
    }
    Ok(())
}

// COMMAND COUNT
fn command_count(ctx: &mut Ctx<'_>) -> Result<()> {
    ctx.out.int(ctx.engine.commands.len() as i64);
    Ok(())
}

// COMMAND INFO [command-name [command-name ...]]
fn command_info(ctx: &mut Ctx<'_>) -> Result<()> {
    if ctx.args.len() == 2 {
        return command(ctx);
    }
    let table = &ctx.engine.commands;
    ctx.out.array(ctx.args.len() - 2);
    for i in 2..ctx.args.len() {
        match lookup_full_name(table, ctx.arg(i)) {
            Some(c) => reply_command_info(ctx, c),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

// COMMAND DOCS [command-name [command-name ...]]
fn command_docs(ctx: &mut Ctx<'_>) -> Result<()> {
    let table = &ctx.engine.commands;
    let found: Vec<&Command> = if ctx.args.len() == 2 {
        sorted_top_level(table)
    } else {
        (2..ctx.args.len())
            .filter_map(|i| lookup_full_name(table, ctx.arg(i)))
            .collect()
    };
    ctx.out.map(found.len());
    for c in found {
        ctx.out.bulk(c.full_name.as_bytes());
        reply_command_docs(ctx, c);
    }
    Ok(())
}

// COMMAND LIST [FILTERBY MODULE module-name | ACLCAT category | PATTERN pattern]
fn command_list(ctx: &mut Ctx<'_>) -> Result<()> {
    let all = all_commands_flat(&ctx.engine.commands);
    let names: Vec<&str> = if ctx.args.len() == 2 {
        all.iter().map(|c| c.full_name.as_str()).collect()
    } else if ctx.args.len() == 5 && ctx.arg_is(2, "filterby") {
        let value = ctx.arg(4);
        if ctx.arg_is(3, "module") {
            Vec::new()
        } else if ctx.arg_is(3, "aclcat") {
            let cat = String::from_utf8_lossy(value).to_ascii_lowercase();
            all.iter()
                .filter(|c| acl_categories(c).contains(&cat.as_str()))
                .map(|c| c.full_name.as_str())
                .collect()
        } else if ctx.arg_is(3, "pattern") {
            all.iter()
                .filter(|c| crate::util::glob_match(value, c.full_name.as_bytes(), true))
                .map(|c| c.full_name.as_str())
                .collect()
        } else {
            return Err(Error::Syntax);
        }
    } else {
        return Err(Error::Syntax);
    };
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
    Ok(())
}

/// The command `args` (a full command line) would run and its key positions in `args`.
fn keys_of<'t>(t: &'t Table, args: &[&[u8]]) -> Result<(&'t Command, crate::cmd::KeyPositions)> {
    let invalid = || Error::msg("ERR Invalid command specified");
    let name = args.first().ok_or_else(invalid)?;
    let mut c = t.get(name).ok_or_else(invalid)?;
    if !c.subs.is_empty() && args.len() >= 2 {
        c = c.sub(args[1]).ok_or_else(invalid)?;
    }
    // Channels (SPUBLISH's) are declared as keys flagged `not_key`: not keys here.
    let only_channels = c.def.key_specs.iter().all(|s| s.flags == "not_key");
    if matches!(c.def.keys, KeySpec::None) || (only_channels && !c.def.key_specs.is_empty()) {
        return Err(Error::msg("ERR The command has no key arguments"));
    }
    let n = args.len() as i64;
    let arity = c.def.arity as i64;
    if (arity > 0 && arity != n) || n < -arity {
        return Err(Error::msg(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    let keys = key_positions(c.def.keys, args);
    // Commands whose keys are optional (EVAL, FCALL with numkeys 0) may have none.
    if keys.is_empty() && !c.has(crate::cmd::flags::NO_MANDATORY_KEYS) {
        return Err(Error::msg("ERR Invalid arguments specified for command"));
    }
    Ok((c, keys))
}

// COMMAND GETKEYS command [arg [arg ...]]
fn command_getkeys(ctx: &mut Ctx<'_>) -> Result<()> {
    let line = &ctx.args[2..];
    let (_, keys) = keys_of(&ctx.engine.commands, line)?;
    ctx.out.array(keys.len());
    for i in keys {
        ctx.out.bulk(line[i]);
    }
    Ok(())
}

// COMMAND GETKEYSANDFLAGS command [arg [arg ...]]
fn command_getkeysandflags(ctx: &mut Ctx<'_>) -> Result<()> {
    let line = &ctx.args[2..];
    let (c, keys) = keys_of(&ctx.engine.commands, line)?;
    let specs = c.def.resolved_key_specs();
    ctx.out.array(keys.len());
    for i in keys {
        // The flags of the spec that finds this key (a key found by no spec, which the table
        // tests rule out, gets the first spec's); a `variable_flags` spec asks the command.
        let spec = specs
            .iter()
            .find(|s| s.positions(line).is_some_and(|p| p.contains(&i)))
            .or(specs.first());
        let mut flags = spec.map_or("", |s| s.flags);
        if let (Some(f), Some(s)) = (c.def.variable_key_flags, spec) {
            if key_spec_flags::parse(s.flags).unwrap_or(0) & key_spec_flags::VARIABLE_FLAGS != 0 {
                flags = f(line);
            }
        }
        ctx.out.array(2);
        ctx.out.bulk(line[i]);
        reply_key_spec_flags(ctx.out, flags);
    }
    Ok(())
}

// COMMAND HELP
fn command_help(ctx: &mut Ctx<'_>) -> Result<()> {
    reply_help(
        ctx,
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use super::*;
    use crate::testkit::Kit;

    fn exec(k: &mut Kit, words: &[&str]) -> (String, Option<Action>) {
        let args: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
        let action = k.engine.execute(&mut k.sess, &args, &mut k.out);
        let text = String::from_utf8_lossy(&k.out.buffer()[..]).into_owned();
        k.out.buffer().clear();
        (text, action)
    }

    /// The body of a bulk reply.
    fn body(reply: &str) -> &str {
        reply
            .split_once("\r\n")
            .map_or("", |(_, b)| b.strip_suffix("\r\n").unwrap_or(b))
    }

    fn headers(reply: &str) -> Vec<&str> {
        body(reply)
            .split("\r\n")
            .filter(|l| l.starts_with('#'))
            .collect()
    }

    #[test]
    fn info_sections() {
        let mut k = Kit::new();
        let default = [
            "# Server",
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# CPU",
            "# Modules",
            "# Errorstats",
            "# Cluster",
            "# Keyspace",
        ];
        assert_eq!(headers(&k.run(&["INFO"])), default);
        assert_eq!(headers(&k.run(&["INFO", "default"])), default);
        let all = [
            "# Server",
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# CPU",
            "# Modules",
            "# Commandstats",
            "# Errorstats",
            "# Latencystats",
            "# Cluster",
            "# Keyspace",
        ];
        assert_eq!(headers(&k.run(&["INFO", "all"])), all);
        assert_eq!(headers(&k.run(&["INFO", "everything"])), all);
        assert_eq!(
            headers(&k.run(&["INFO", "keyspace", "CPU", "server", "server"])),
            ["# Server", "# CPU", "# Keyspace"]
        );
        assert_eq!(k.run(&["INFO", "foo"]), "$0\r\n\r\n");
        assert_eq!(k.run(&["INFO", "keyspace"]), "$12\r\n# Keyspace\r\n\r\n");
        k.run(&["SET", "a", "1"]);
        k.run(&["SELECT", "3"]);
        k.run(&["SET", "b", "1"]);
        assert_eq!(
            k.run(&["INFO", "keyspace"]),
            "$94\r\n# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0,no_ttl=1\r\ndb3:keys=1,expires=0,avg_ttl=0,no_ttl=1\r\n\r\n"
        );
        assert_eq!(
            k.run(&["INFO", "modules", "cluster"]),
            "$43\r\n# Modules\r\n\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n"
        );
        k.run(&["HELLO", "3"]);
        assert_eq!(k.run(&["INFO", "keyspace"]).lines().next(), Some("=98"));
    }

    #[test]
    fn info_fields() {
        let mut k = Kit::new();
        let server = k.run(&["INFO", "server"]);
        for f in [
            "redis_version:7.0.15\r\n",
            "redis_mode:standalone\r\n",
            "arch_bits:64\r\n",
            "tcp_port:6379\r\n",
            "hz:10\r\n",
            "config_file:\r\n",
            &format!("run_id:{}\r\n", k.engine.run_id),
        ] {
            assert!(server.contains(f), "{f}");
        }
        let clients = k.run(&["INFO", "clients"]);
        assert!(clients.contains("connected_clients:1\r\n"));
        assert!(clients.contains("maxclients:10000\r\n"));
        let mem = k.run(&["INFO", "memory"]);
        assert!(mem.contains("\r\nused_memory:"));
        assert!(mem.contains("\r\nmaxmemory_policy:noeviction\r\n"));
        let repl = k.run(&["INFO", "replication"]);
        assert!(repl.contains("role:master\r\nconnected_slaves:0\r\n"));
        assert!(repl.contains(&format!("master_replid:{}\r\n", k.engine.replid)));
        let cpu = k.run(&["INFO", "cpu"]);
        assert!(cpu.contains("used_cpu_sys:") && cpu.contains("used_cpu_user_main_thread:"));
        let persistence = k.run(&["INFO", "persistence"]);
        assert!(persistence.contains("rdb_changes_since_last_save:"));
        assert!(persistence.contains("aof_enabled:0\r\n"));
        let stats = k.run(&["INFO", "stats"]);
        assert!(stats.contains("total_commands_processed:"));
        assert!(stats.contains("keyspace_misses:0\r\n"));
        // Every line but the header is name:value.
        for l in body(&k.run(&["INFO", "everything"])).split("\r\n") {
            assert!(
                l.is_empty() || l.starts_with("# ") || l.contains(':'),
                "{l}"
            );
        }
    }

    #[test]
    fn human_sizes() {
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(1024), "1.00K");
        assert_eq!(bytes_to_human(1708184), "1.63M");
        assert_eq!(bytes_to_human(25276502016), "23.54G");
    }

    #[test]
    fn commandstats_and_errorstats() {
        let mut k = Kit::new();
        k.run(&["GET", "a"]);
        k.run(&["GET", "a", "b"]);
        k.run(&["CLIENT", "nope"]);
        k.run(&["CONFIG", "GET", "hz"]);
        let r = k.run(&["INFO", "commandstats"]);
        assert!(r.contains("cmdstat_get:calls=1,usec="), "{r}");
        assert!(r.contains(",rejected_calls=1,failed_calls=0\r\n"));
        assert!(r.contains(
            "cmdstat_client:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0\r\n"
        ));
        assert!(r.contains("cmdstat_config|get:calls=1,"));
        k.engine.stats.record_error("ERR x");
        k.engine.stats.record_error("WRONGPASS y");
        k.engine.stats.record_error("ERR z");
        assert_eq!(
            k.run(&["INFO", "errorstats"]),
            "$66\r\n# Errorstats\r\nerrorstat_ERR:count=4\r\nerrorstat_WRONGPASS:count=1\r\n\r\n"
        );
        assert_eq!(k.run(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
        assert_eq!(
            k.run(&["INFO", "errorstats"]),
            "$14\r\n# Errorstats\r\n\r\n"
        );
        let r = k.run(&["INFO", "commandstats"]);
        assert!(!r.contains("cmdstat_get"), "{r}");
    }

    #[test]
    fn config_get_and_set() {
        let mut k = Kit::new();
        assert_eq!(
            k.run(&["CONFIG", "GET", "maxmemory"]),
            "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
        );
        assert_eq!(
            k.run(&["CONFIG", "GET", "MAXMEMORY"]),
            "*2\r\n$9\r\nMAXMEMORY\r\n$1\r\n0\r\n"
        );
        assert_eq!(k.run(&["CONFIG", "GET", "nope"]), "*0\r\n");
        let r = k.run(&["CONFIG", "GET", "maxmemory", "maxmemory*"]);
        assert_eq!(r.matches("$9\r\nmaxmemory\r\n").count(), 1);
        assert!(r.contains("maxmemory-policy"));
        assert_eq!(
            k.run(&["CONFIG", "GET", "*lua-time*", "busy*"]),
            "*4\r\n$14\r\nlua-time-limit\r\n$4\r\n5000\r\n$20\r\nbusy-reply-threshold\r\n$4\r\n5000\r\n"
        );
        assert_eq!(
            k.run(&["CONFIG", "GET"]),
            "-ERR wrong number of arguments for 'config|get' command\r\n"
        );
        assert_eq!(
            k.run(&["CONFIG", "SET", "maxmemory"]),
            "-ERR wrong number of arguments for 'config|set' command\r\n"
        );
        assert_eq!(
            k.run(&["CONFIG", "SET", "maxmemory", "1", "hz"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            k.run(&["CONFIG", "SET", "nope", "1"]),
            "-ERR Unknown option or number of arguments for CONFIG SET - 'nope'\r\n"
        );
        assert_eq!(
            k.run(&["CONFIG", "SET", "hz", "x"]),
            "-ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer\r\n"
        );
        assert_eq!(
            k.run(&["CONFIG", "SET", "hz", "10", "hz", "11"]),
            "-ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter\r\n"
        );
        assert_eq!(
            k.run(&["CONFIG", "SET", "protected-mode", "x"]),
            "-ERR CONFIG SET failed (possibly related to argument 'protected-mode') - argument must be 'yes' or 'no'\r\n"
        );
        assert_eq!(
            k.run(&["CONFIG", "SET", "maxmemory", "10mb", "hz", "20"]),
            "+OK\r\n"
        );
        assert_eq!(
            k.run(&["CONFIG", "GET", "hz"]),
            "*2\r\n$2\r\nhz\r\n$2\r\n20\r\n"
        );
        assert_eq!(
            k.run(&["CONFIG", "GET", "maxmemory"]),
            "*2\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n"
        );
        k.run(&["HELLO", "3"]);
        assert_eq!(
            k.run(&["CONFIG", "GET", "hz"]),
            "%1\r\n$2\r\nhz\r\n$2\r\n20\r\n"
        );
    }

    #[test]
    fn config_misc_subcommands() {
        let mut k = Kit::new();
        assert_eq!(
            k.run(&["CONFIG", "REWRITE"]),
            "-ERR The server is running without a config file\r\n"
        );
        assert_eq!(
            k.run(&["CONFIG", "REWRITE", "x"]),
            "-ERR wrong number of arguments for 'config|rewrite' command\r\n"
        );
        assert_eq!(
            k.run(&["CONFIG", "RESETSTAT", "x"]),
            "-ERR wrong number of arguments for 'config|resetstat' command\r\n"
        );
        assert_eq!(
            k.run(&["CONFIG", "foo"]),
            "-ERR unknown subcommand 'foo'. Try CONFIG HELP.\r\n"
        );
        assert_eq!(
            k.run(&["CONFIG", "HELP"]),
            "*11\r\n+CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+GET <pattern>\r\n+    Return parameters matching the glob-like <pattern> and their values.\r\n+SET <directive> <value>\r\n+    Set the configuration <directive> to <value>.\r\n+RESETSTAT\r\n+    Reset statistics reported by the INFO command.\r\n+REWRITE\r\n+    Rewrite the configuration file.\r\n+HELP\r\n+    Prints this help.\r\n"
        );
    }

    #[test]
    fn time_reply() {
        let mut k = Kit::new();
        let r = k.run(&["TIME"]);
        let parts: Vec<&str> = r.split("\r\n").collect();
        assert_eq!(parts[0], "*2");
        let secs: u64 = parts[2].parse().unwrap();
        assert!(secs.abs_diff(unix_ms() / 1000) <= 1);
        assert!(parts[4].parse::<u32>().unwrap() < 1_000_000);
        assert_eq!(
            k.run(&["TIME", "x"]),
            "-ERR wrong number of arguments for 'time' command\r\n"
        );
    }

    #[test]
    fn slowlog() {
        let mut k = Kit::new();
        assert_eq!(k.run(&["SLOWLOG", "LEN"]), ":0\r\n");
        k.run(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
        k.run(&["CLIENT", "SETNAME", "nm"]);
        assert_eq!(k.run(&["SLOWLOG", "LEN"]), ":2\r\n");
        let r = k.run(&["SLOWLOG", "GET", "1"]);
        assert!(r.starts_with("*1\r\n*6\r\n:2\r\n:"), "{r}");
        assert!(
            r.ends_with("*2\r\n$7\r\nSLOWLOG\r\n$3\r\nLEN\r\n$0\r\n\r\n$2\r\nnm\r\n"),
            "{r}"
        );
        let r = k.run(&["SLOWLOG", "GET", "-1"]);
        assert!(r.starts_with("*4\r\n"));
        assert!(
            r.contains("*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$2\r\nnm\r\n$0\r\n\r\n$2\r\nnm\r\n")
        );
        assert_eq!(k.run(&["SLOWLOG", "GET", "0"]), "*0\r\n");
        let bad = "-ERR count should be greater than or equal to -1\r\n";
        assert_eq!(k.run(&["SLOWLOG", "GET", "x"]), bad);
        assert_eq!(k.run(&["SLOWLOG", "GET", "-2"]), bad);
        assert_eq!(
            k.run(&["SLOWLOG", "GET", "1", "2"]),
            "-ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.\r\n"
        );
        assert_eq!(
            k.run(&["SLOWLOG", "LEN", "x"]),
            "-ERR wrong number of arguments for 'slowlog|len' command\r\n"
        );
        assert_eq!(k.run(&["SLOWLOG", "RESET"]), "+OK\r\n");
        assert_eq!(k.run(&["SLOWLOG", "LEN"]), ":1\r\n");
        assert_eq!(
            k.run(&["SLOWLOG", "foo"]),
            "-ERR unknown subcommand 'foo'. Try SLOWLOG HELP.\r\n"
        );
        assert_eq!(
            k.run(&["SLOWLOG"]),
            "-ERR wrong number of arguments for 'slowlog' command\r\n"
        );
        assert!(k
            .run(&["SLOWLOG", "HELP"])
            .starts_with("*12\r\n+SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+GET [<count>]\r\n"));
    }

    fn debug_kit() -> Kit {
        let k = Kit::new();
        k.engine
            .config
            .set("enable-debug-command", "yes", true)
            .unwrap();
        k
    }

    #[test]
    fn latency_monitor() {
        let mut k = debug_kit();
        assert_eq!(k.run(&["LATENCY", "LATEST"]), "*0\r\n");
        assert_eq!(k.run(&["LATENCY", "HISTORY", "command"]), "*0\r\n");
        assert_eq!(
            k.run(&["LATENCY", "HISTORY"]),
            "-ERR wrong number of arguments for 'latency|history' command\r\n"
        );
        assert_eq!(k.run(&["LATENCY", "RESET"]), ":0\r\n");
        // Disabled: DEBUG SLEEP records nothing.
        k.run(&["DEBUG", "SLEEP", "0.05"]);
        assert_eq!(k.run(&["LATENCY", "LATEST"]), "*0\r\n");
        k.run(&["CONFIG", "SET", "latency-monitor-threshold", "1"]);
        let (r, action) = exec(&mut k, &["DEBUG", "SLEEP", "0.05"]);
        assert_eq!(r, "+OK\r\n");
        assert_eq!(action, Some(Action::Sleep(Duration::from_millis(50))));
        k.run(&["DEBUG", "SLEEP", "0.02"]);
        let r = k.run(&["LATENCY", "LATEST"]);
        assert!(r.starts_with("*1\r\n*4\r\n$7\r\ncommand\r\n:"), "{r}");
        assert!(r.ends_with("\r\n:50\r\n:50\r\n"), "{r}");
        let r = k.run(&["LATENCY", "HISTORY", "command"]);
        assert!(
            r.starts_with("*1\r\n*2\r\n:") && r.ends_with("\r\n:50\r\n"),
            "{r}"
        );
        assert_eq!(k.run(&["LATENCY", "HISTORY", "COMMAND"]), "*0\r\n");
        assert_eq!(k.run(&["LATENCY", "RESET", "command", "foo"]), ":1\r\n");
        assert_eq!(k.run(&["LATENCY", "RESET"]), ":0\r\n");
        assert_eq!(
            k.run(&["LATENCY", "foo"]),
            "-ERR unknown subcommand 'foo'. Try LATENCY HELP.\r\n"
        );
    }

    #[test]
    fn latency_series_keeps_one_sample_per_second() {
        let k = Kit::new();
        let e = &k.engine;
        e.latency_add("x", 100, 5);
        e.latency_add("x", 100, 3);
        e.latency_add("x", 100, 9);
        e.latency_add("x", 101, 1);
        for t in 0..LATENCY_MAX_TEST {
            e.latency_add("y", 1000 + t, t);
        }
        let all = e.latency.lock();
        let x = &all["x"];
        assert_eq!(
            x.samples.iter().copied().collect::<Vec<_>>(),
            [(100, 9), (101, 1)]
        );
        assert_eq!(x.max_ms, 9);
        assert_eq!(all["y"].samples.len(), crate::engine::LATENCY_SAMPLES);
    }

    const LATENCY_MAX_TEST: u64 = 200;

    #[test]
    fn monitor_command_and_lines() {
        let mut k = Kit::new();
        let (r, action) = exec(&mut k, &["MONITOR"]);
        assert_eq!(r, "+OK\r\n");
        assert_eq!(action, Some(Action::Monitor));
        assert_eq!(k.sess.handle.flags_string(), "O");
        assert_eq!(exec(&mut k, &["MONITOR"]), (String::new(), None));
        assert_eq!(
            k.run(&["MONITOR", "x"]),
            "-ERR wrong number of arguments for 'monitor' command\r\n"
        );
        let args: [&[u8]; 3] = [b"SET", b"k", b"v a\"\n\x01\\"];
        let line = crate::engine::monitor_line(1_795_839_853_961_731, 0, "127.0.0.1:35880", &args);
        assert_eq!(
            &line[..],
            b"+1795839853.961731 [0 127.0.0.1:35880] \"SET\" \"k\" \"v a\\\"\\n\\x01\\\\\"\r\n"
        );
        let line = crate::engine::monitor_line(5, 3, "a:1", &[b"AUTH", b"default", b"x"]);
        assert_eq!(
            &line[..],
            b"+0.000005 [3 a:1] \"AUTH\" \"(redacted)\" \"(redacted)\"\r\n"
        );
        let hello: [&[u8]; 7] = [b"HELLO", b"2", b"AUTH", b"default", b"pw", b"SETNAME", b"n"];
        let line = crate::engine::monitor_line(0, 3, "a:1", &hello);
        assert!(line.ends_with(
            b"\"HELLO\" \"2\" \"AUTH\" \"(redacted)\" \"(redacted)\" \"SETNAME\" \"n\"\r\n"
        ));
    }

    #[test]
    fn monitor_feed_skips_admin_and_bounds_queues() {
        let k = Kit::new();
        let e = &k.engine;
        let woken = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let w = woken.clone();
        let sink = e.add_monitor(
            k.sess.id,
            Box::new(move || {
                w.fetch_add(1, Ordering::Relaxed);
            }),
        );
        let get = e.commands.get(b"get").unwrap();
        let config = e.commands.get(b"config").unwrap();
        e.feed_monitors(get, &k.sess, &[b"GET", b"k"]);
        e.feed_monitors(&config.subs["get"], &k.sess, &[b"CONFIG", b"GET", b"x"]);
        let mut lines = Vec::new();
        sink.drain_into(&mut lines);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].ends_with(b" [0 unknown] \"GET\" \"k\"\r\n"));
        assert_eq!(woken.load(Ordering::Relaxed), 1);
        let big = vec![b'x'; 1 << 20];
        for _ in 0..(crate::engine::MONITOR_MAX_BYTES >> 20) + 2 {
            e.feed_monitors(get, &k.sess, &[b"GET", &big]);
        }
        assert!(sink.is_overflowed());
        assert!(k.sess.handle.is_killed());
        e.remove_monitor(k.sess.id);
        assert_eq!(e.monitor_count(), 0);
    }

    #[test]
    fn shutdown_arguments() {
        let mut k = Kit::new();
        assert_eq!(
            k.run(&["SHUTDOWN", "ABORT"]),
            "-ERR No shutdown in progress.\r\n"
        );
        for bad in [
            &["SHUTDOWN", "foo"][..],
            &["SHUTDOWN", "NOSAVE", "SAVE"],
            &["SHUTDOWN", "ABORT", "NOW"],
            &["SHUTDOWN", "NOSAVE", "NOSAVE", "foo"],
        ] {
            assert_eq!(k.run(bad), "-ERR syntax error\r\n");
        }
        assert_eq!(
            exec(&mut k, &["SHUTDOWN", "nosave", "NOW"]),
            (String::new(), Some(Action::Shutdown))
        );
        assert_eq!(
            *k.engine.shutdown_request.lock(),
            ShutdownRequest {
                save: Some(false),
                now: true,
                force: false
            }
        );
    }

    #[test]
    fn debug_is_gated() {
        let mut k = Kit::new();
        assert_eq!(
            k.run(&["DEBUG", "SLEEP", "0"]),
            "-ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.\r\n"
        );
        k.engine
            .config
            .set("enable-debug-command", "local", true)
            .unwrap();
        assert_eq!(k.run(&["DEBUG", "SLEEP", "0"]), "+OK\r\n");
    }

    #[test]
    fn debug_subcommands() {
        let mut k = debug_kit();
        let unknown = |s: &str| {
            format!("-ERR unknown subcommand or wrong number of arguments for '{s}'. Try DEBUG HELP.\r\n")
        };
        assert_eq!(k.run(&["DEBUG", "OBJECT"]), unknown("OBJECT"));
        assert_eq!(k.run(&["DEBUG", "OBJECT", "k", "x"]), unknown("OBJECT"));
        assert_eq!(k.run(&["DEBUG", "foo"]), unknown("foo"));
        assert_eq!(k.run(&["DEBUG", "SLEEP"]), unknown("SLEEP"));
        assert_eq!(
            k.run(&["DEBUG", "SET-ACTIVE-EXPIRE"]),
            unknown("SET-ACTIVE-EXPIRE")
        );
        assert_eq!(
            k.run(&["DEBUG"]),
            "-ERR wrong number of arguments for 'debug' command\r\n"
        );
        assert_eq!(
            exec(&mut k, &["DEBUG", "SLEEP", "x"]).1,
            Some(Action::Sleep(Duration::ZERO))
        );
        assert_eq!(
            exec(&mut k, &["DEBUG", "SLEEP", "-1"]).1,
            Some(Action::Sleep(Duration::ZERO))
        );
        assert_eq!(
            exec(&mut k, &["DEBUG", "sleep", "1e300"]).1,
            Some(Action::Sleep(Duration::from_secs(1_000_000_000)))
        );
        assert_eq!(k.run(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), "+OK\r\n");
        assert!(!k.engine.active_expire_enabled.load(Ordering::Relaxed));
        assert_eq!(k.run(&["DEBUG", "SET-ACTIVE-EXPIRE", "2"]), "+OK\r\n");
        assert!(k.engine.active_expire_enabled.load(Ordering::Relaxed));
        assert_eq!(k.run(&["DEBUG", "SET-ACTIVE-EXPIRE", "x"]), "+OK\r\n");
        assert!(!k.engine.active_expire_enabled.load(Ordering::Relaxed));
        assert_eq!(
            k.run(&["DEBUG", "ERROR", "WHATEVER it is"]),
            "-WHATEVER it is\r\n"
        );
        assert!(k
            .run(&["DEBUG", "HELP"])
            .ends_with("+HELP\r\n+    Prints this help.\r\n"));
    }

    #[test]
    fn debug_object() {
        let mut k = debug_kit();
        k.run(&["SET", "k", "hello"]);
        k.run(&["SET", "n", "123"]);
        k.run(&["SET", "big", &"a".repeat(76)]);
        k.run(&["SET", "huge", "123456789012"]);
        assert_eq!(k.run(&["DEBUG", "OBJECT", "nokey"]), "-ERR no such key\r\n");
        let r = k.run(&["DEBUG", "OBJECT", "k"]);
        assert!(r.starts_with("+Value at:0x"), "{r}");
        assert!(
            r.contains(" refcount:1 encoding:embstr serializedlength:6 lru:"),
            "{r}"
        );
        assert!(r.ends_with(" lru_seconds_idle:0\r\n"), "{r}");
        let r = k.run(&["DEBUG", "OBJECT", "n"]);
        assert!(
            r.contains(" refcount:2147483647 encoding:int serializedlength:2 "),
            "{r}"
        );
        let r = k.run(&["DEBUG", "OBJECT", "big"]);
        assert!(r.contains(" encoding:raw serializedlength:78 "), "{r}");
        let r = k.run(&["DEBUG", "OBJECT", "huge"]);
        assert!(
            r.contains(" refcount:1 encoding:int serializedlength:13 "),
            "{r}"
        );
    }

    #[test]
    fn command_count_and_info() {
        let mut k = Kit::new();
        let n = k.engine.commands.len();
        assert_eq!(k.run(&["COMMAND", "COUNT"]), format!(":{n}\r\n"));
        assert_eq!(
            k.run(&["COMMAND", "COUNT", "x"]),
            "-ERR wrong number of arguments for 'command|count' command\r\n"
        );
        // Byte for byte what Redis 7.0 sends for GET, PING and CONFIG GET.
        assert_eq!(
            k.run(&["COMMAND", "INFO", "get", "nope"]),
            "*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n$-1\r\n"
        );
        assert_eq!(
            k.run(&["COMMAND", "INFO", "ping"]),
            "*1\r\n*10\r\n$4\r\nping\r\n:-1\r\n*1\r\n+fast\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@fast\r\n+@connection\r\n*2\r\n$25\r\nrequest_policy:all_shards\r\n$29\r\nresponse_policy:all_succeeded\r\n*0\r\n*0\r\n"
        );
        assert_eq!(
            k.run(&["COMMAND", "INFO", "config|get"]),
            "*1\r\n*10\r\n$10\r\nconfig|get\r\n:-3\r\n*4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n*3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n*0\r\n*0\r\n*0\r\n"
        );
        let r = k.run(&["COMMAND", "INFO", "client"]);
        assert!(r.starts_with("*1\r\n*10\r\n$6\r\nclient\r\n:-2\r\n*0\r\n:0\r\n:0\r\n:0\r\n*1\r\n+@slow\r\n*0\r\n*0\r\n*"), "{r}");
        assert!(r.contains("$11\r\nclient|kill\r\n:-3\r\n*4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n*4\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n+@connection\r\n"));
        let r = k.run(&["COMMAND", "INFO", "quit", "shutdown"]);
        assert!(r.contains(
            "*6\r\n+noscript\r\n+loading\r\n+stale\r\n+fast\r\n+no_auth\r\n+allow_busy\r\n"
        ));
        assert!(r.contains(
            "*6\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n+no_multi\r\n+allow_busy\r\n"
        ));
        // No arguments: every command, like COMMAND.
        let all = k.run(&["COMMAND"]);
        assert!(all.starts_with(&format!("*{n}\r\n")));
        assert_eq!(k.run(&["COMMAND", "INFO"]), all);
        k.run(&["HELLO", "3"]);
        let r = k.run(&["COMMAND", "INFO", "get"]);
        assert!(r.contains("~2\r\n+readonly\r\n+fast\r\n"));
        assert!(r.contains("~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n%2\r\n"));
        assert!(r.ends_with("$5\r\nlimit\r\n:0\r\n~0\r\n"));
    }

    #[test]
    fn command_docs() {
        let mut k = Kit::new();
        assert_eq!(k.run(&["COMMAND", "DOCS", "nope"]), "*0\r\n");
        assert_eq!(
            k.run(&["COMMAND", "DOCS", "echo"]),
            "*2\r\n$4\r\necho\r\n*10\r\n$7\r\nsummary\r\n$21\r\nEcho the given string\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n*4\r\n$4\r\nname\r\n$7\r\nmessage\r\n$4\r\ntype\r\n$6\r\nstring\r\n"
        );
        let r = k.run(&["COMMAND", "DOCS", "config"]);
        assert!(r.contains(
            "$11\r\nsubcommands\r\n*10\r\n$10\r\nconfig|get\r\n*12\r\n$7\r\nsummary\r\n"
        ));
        let r = k.run(&["COMMAND", "DOCS"]);
        let n = k.engine.commands.len();
        assert!(r.starts_with(&format!("*{}\r\n", 2 * n)));
        k.run(&["HELLO", "3"]);
        assert!(k
            .run(&["COMMAND", "DOCS", "echo"])
            .starts_with("%1\r\n$4\r\necho\r\n%5\r\n"));
    }

    #[test]
    fn command_key_specs_tips_and_doc_fields() {
        let mut k = Kit::new();
        // Byte for byte what Redis 7.0.15 sends: two key specs with their own flags...
        assert_eq!(
            k.run(&["COMMAND", "INFO", "rename"]),
            "*1\r\n*10\r\n$6\r\nrename\r\n:3\r\n*1\r\n+write\r\n:1\r\n:2\r\n:1\r\n*3\r\n+@keyspace\r\n+@write\r\n+@slow\r\n*0\r\n*2\r\n*6\r\n$5\r\nflags\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*6\r\n$5\r\nflags\r\n*2\r\n+OW\r\n+update\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:2\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n"
        );
        // ...notes and variable flags...
        assert_eq!(
            k.run(&["COMMAND", "INFO", "set"]),
            "*1\r\n*10\r\n$3\r\nset\r\n:-3\r\n*2\r\n+write\r\n+denyoom\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@write\r\n+@string\r\n+@slow\r\n*0\r\n*1\r\n*8\r\n$5\r\nnotes\r\n$48\r\nRW and ACCESS due to the optional `GET` argument\r\n$5\r\nflags\r\n*4\r\n+RW\r\n+access\r\n+update\r\n+variable_flags\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n"
        );
        // ...tips on a subcommand...
        assert_eq!(
            k.run(&["COMMAND", "INFO", "config|set"]),
            "*1\r\n*10\r\n$10\r\nconfig|set\r\n:-4\r\n*4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n*3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n*2\r\n$24\r\nrequest_policy:all_nodes\r\n$29\r\nresponse_policy:all_succeeded\r\n*0\r\n*0\r\n"
        );
        // ...and the flags of the spec that finds each key, SET's depending on GET.
        assert_eq!(
            k.run(&["COMMAND", "GETKEYSANDFLAGS", "SET", "a", "b", "GET"]),
            "*1\r\n*2\r\n$1\r\na\r\n*3\r\n+RW\r\n+access\r\n+update\r\n"
        );
        assert_eq!(
            k.run(&["COMMAND", "GETKEYSANDFLAGS", "SET", "a", "b"]),
            "*1\r\n*2\r\n$1\r\na\r\n*2\r\n+OW\r\n+update\r\n"
        );
        assert_eq!(
            k.run(&["COMMAND", "GETKEYSANDFLAGS", "RENAME", "a", "b"]),
            "*2\r\n*2\r\n$1\r\na\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n*2\r\n$1\r\nb\r\n*2\r\n+OW\r\n+update\r\n"
        );
        // COMMAND DOCS, byte for byte Redis 7.0.15's, `arguments` last.
        assert_eq!(
            k.run(&["COMMAND", "DOCS", "substr"]),
            "*2\r\n$6\r\nsubstr\r\n*16\r\n$7\r\nsummary\r\n$45\r\nGet a substring of the string stored at a key\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$231\r\nO(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.\r\n$9\r\ndoc_flags\r\n*1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n$5\r\n2.0.0\r\n$11\r\nreplaced_by\r\n$10\r\n`GETRANGE`\r\n$9\r\narguments\r\n*3\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n*4\r\n$4\r\nname\r\n$5\r\nstart\r\n$4\r\ntype\r\n$7\r\ninteger\r\n*4\r\n$4\r\nname\r\n$3\r\nend\r\n$4\r\ntype\r\n$7\r\ninteger\r\n"
        );
        assert_eq!(
            k.run(&["COMMAND", "DOCS", "ttl"]),
            "*2\r\n$3\r\nttl\r\n*12\r\n$7\r\nsummary\r\n$41\r\nGet the time to live for a key in seconds\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n*1\r\n*2\r\n$5\r\n2.8.0\r\n$19\r\nAdded the -2 reply.\r\n$9\r\narguments\r\n*1\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n"
        );
        k.run(&["HELLO", "3"]);
        assert!(k
            .run(&["COMMAND", "DOCS", "ttl"])
            .contains("$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n2.8.0\r\n"));
        // Arguments are maps in RESP3, their flags sets.
        assert!(k.run(&["COMMAND", "DOCS", "ping"]).ends_with(
            "$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$7\r\nmessage\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+optional\r\n"
        ));
    }

    #[test]
    fn command_list() {
        let mut k = Kit::new();
        let r = k.run(&["COMMAND", "LIST"]);
        assert!(r.contains("$11\r\nclient|list\r\n") && r.contains("$3\r\nget\r\n"));
        assert_eq!(
            k.run(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "config*"]),
            "*6\r\n$6\r\nconfig\r\n$10\r\nconfig|get\r\n$11\r\nconfig|help\r\n$16\r\nconfig|resetstat\r\n$14\r\nconfig|rewrite\r\n$10\r\nconfig|set\r\n"
        );
        let r = k.run(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", "connection"]);
        assert!(r.contains("$4\r\necho\r\n") && r.contains("$9\r\nclient|id\r\n"));
        assert!(!r.contains("$6\r\nclient\r\n"));
        assert_eq!(
            k.run(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", "nope"]),
            "*0\r\n"
        );
        assert_eq!(
            k.run(&["COMMAND", "LIST", "FILTERBY", "MODULE", "x"]),
            "*0\r\n"
        );
        for bad in [
            &["COMMAND", "LIST", "FILTERBY"][..],
            &["COMMAND", "LIST", "FILTERBY", "foo", "x"],
            &["COMMAND", "LIST", "x"],
        ] {
            assert_eq!(k.run(bad), "-ERR syntax error\r\n");
        }
        assert_eq!(
            k.run(&["COMMAND", "foo"]),
            "-ERR unknown subcommand 'foo'. Try COMMAND HELP.\r\n"
        );
    }

    #[test]
    fn command_getkeys() {
        let mut k = Kit::new();
        assert_eq!(
            k.run(&["COMMAND", "GETKEYS", "get", "a"]),
            "*1\r\n$1\r\na\r\n"
        );
        assert_eq!(
            k.run(&["COMMAND", "GETKEYS", "get"]),
            "-ERR wrong number of arguments for 'command|getkeys' command\r\n"
        );
        assert_eq!(
            k.run(&["COMMAND", "GETKEYS", "foo", "a"]),
            "-ERR Invalid command specified\r\n"
        );
        assert_eq!(
            k.run(&["COMMAND", "GETKEYS", "CONFIG", "x"]),
            "-ERR Invalid command specified\r\n"
        );
        assert_eq!(
            k.run(&["COMMAND", "GETKEYS", "config", "get", "x"]),
            "-ERR The command has no key arguments\r\n"
        );
        assert_eq!(
            k.run(&["COMMAND", "GETKEYS", "set", "a"]),
            "-ERR Invalid number of arguments specified for command\r\n"
        );
        assert_eq!(
            k.run(&["COMMAND", "GETKEYS", "get", "a", "b"]),
            "-ERR Invalid number of arguments specified for command\r\n"
        );
        assert_eq!(
            k.run(&["COMMAND", "GETKEYSANDFLAGS", "get", "a"]),
            "*1\r\n*2\r\n$1\r\na\r\n*2\r\n+RO\r\n+access\r\n"
        );
        assert_eq!(
            k.run(&["COMMAND", "GETKEYSANDFLAGS", "ping", "a"]),
            "-ERR The command has no key arguments\r\n"
        );
    }

    #[test]
    fn acl_categories_follow_flags() {
        let k = Kit::new();
        let t = &k.engine.commands;
        assert_eq!(
            acl_categories(t.get(b"set").unwrap()),
            ["write", "string", "slow"]
        );
        assert_eq!(
            acl_categories(t.get(b"info").unwrap()),
            ["slow", "dangerous"]
        );
        assert_eq!(acl_categories(t.get(b"time").unwrap()), ["fast"]);
        assert_eq!(
            acl_categories(t.get(b"monitor").unwrap()),
            ["admin", "slow", "dangerous"]
        );
        assert_eq!(
            acl_categories(t.get(b"command").unwrap()),
            ["slow", "connection"]
        );
    }

    #[test]
    fn help_replies() {
        let mut k = Kit::new();
        assert!(k
            .run(&["command", "help"])
            .starts_with("*21\r\n+COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+(no subcommand)\r\n"));
        assert!(k.run(&["latency", "help"]).starts_with(
            "*13\r\n+LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
        ));
    }
}
