//! `flint-server`: starts the engine, listens, and serves clients until SIGTERM, SIGINT or
//! SHUTDOWN. Usage is redis-server's: `flint-server [/path/to/flint.conf] [--name value ...]`.

#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

mod alloc;
mod config_file;
mod conn;
mod listener;

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

/// INFO memory's figures: bytes allocated (counted by [`alloc::Counting`]) and the RSS.
fn memory_probe() -> flint_engine::engine::MemoryStats {
    let resident = flint_engine::engine::rss_bytes();
    flint_engine::engine::MemoryStats {
        allocated: alloc::allocated(),
        active: resident,
        resident,
        allocator: "mimalloc",
    }
}

/// MEMORY PURGE: mimalloc returns the free pages it holds to the system.
fn purge() {
    // SAFETY: mi_collect has no preconditions; it may be called from any thread at any time.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

/// `disable-thp yes` (the default, as in Redis): no transparent huge pages for this process.
/// With THP the allocator's arenas are backed by 2 MiB pages, each zeroed in one page fault
/// (a latency spike on the request path) and resident as a whole: the empty server's RSS was
/// 12.8 MiB with them, 6.2 without, at the same bytes per key.
fn disable_thp() {
    // SAFETY: prctl with PR_SET_THP_DISABLE takes integer arguments only and changes no memory
    // of ours; it sets a flag the kernel checks at each page fault, existing mappings included.
    let r = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    if r != 0 {
        tracing::warn!(
            "could not disable transparent huge pages: {}",
            std::io::Error::last_os_error()
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-v" || a == "--version") {
        println!(
            "Flint server v={} (Redis 7.0 compatible)",
            env!("CARGO_PKG_VERSION")
        );
        return;
    }
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("Usage: flint-server [/path/to/flint.conf] [--name value ...]");
        println!("Examples: flint-server --port 7777 --requirepass secret --threads 2");
        return;
    }
    let config = flint_engine::config::Config::new();
    if let Err(e) = config_file::load(&config, &args) {
        eprintln!("\n*** FATAL CONFIG FILE ERROR ***\n{e}");
        std::process::exit(1);
    }
    config_file::init_logging(&config);
    if config.get("disable-thp").as_deref() == Some("yes") {
        disable_thp();
    }
    let engine = match flint_engine::Engine::new(config) {
        Ok(e) => Arc::new(e),
        Err(e) => {
            eprintln!("fatal: {e}");
            std::process::exit(1);
        }
    };
    engine.set_memory_probe(memory_probe);
    engine.set_used_memory_probe(alloc::allocated);
    engine.set_purge_hook(purge);
    let threads = engine
        .config
        .get("threads")
        .and_then(|t| t.parse::<usize>().ok())
        .filter(|&t| t > 0)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
    // One thread: a current-thread runtime serves every connection without the work-stealing
    // machinery (measured faster on one core); more threads: tokio's multi-threaded scheduler.
    let mut builder = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(threads);
        b
    };
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("fatal: cannot start runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(listener::serve(engine, threads));
    // Connections still open are dropped with the runtime.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    std::process::exit(code);
}
