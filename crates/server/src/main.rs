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

/// How long a script escaping its worker waits for another thread to take the worker over.
const ESCAPE_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

/// The scripting escape hook (see `Scripting::set_escape_hook`): a script that runs long gives
/// its tokio worker (its queue of connection tasks and its turn at the I/O driver) to another
/// thread and goes on running on this one, as `block_in_place` does for its closure. Scripts
/// run in place otherwise, which is what makes EVALSHA cheap (`block_in_place` around every
/// script command cost ~8 us of thread hand-off).
///
/// `block_in_place(f)` sends the worker to a new thread, runs `f`, then takes the worker back
/// if that thread has not taken it yet. So `f` waits until the worker was taken: it spawns a
/// probe task and waits for it to run (it lands in the global queue, this thread having given
/// the worker up). With one worker the probe can only run on the thread that took it over;
/// with more, another worker may run it first and the script may keep its worker, which those
/// other workers still serve around (they steal its queued tasks) — hence the next tick asks
/// again only when the probe did not run in time. Once the worker was given up, the call is
/// cheap (`block_in_place` has no worker to move) and it is not made again during the run. When
/// the script ends, the connection task goes on without a worker until it awaits; the thread
/// then returns to the blocking pool.
fn escape_worker() -> bool {
    use std::sync::{Condvar, Mutex};
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return true;
    };
    if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
        return true;
    }
    let probe = Arc::new((Mutex::new(false), Condvar::new()));
    tokio::task::block_in_place(|| {
        let p = probe.clone();
        handle.spawn(async move {
            let (ran, cv) = &*p;
            if let Ok(mut r) = ran.lock() {
                *r = true;
                cv.notify_one();
            }
        });
        let (ran, cv) = &*probe;
        let Ok(guard) = ran.lock() else {
            return false;
        };
        cv.wait_timeout_while(guard, ESCAPE_WAIT, |r| !*r)
            .map(|(r, _)| *r)
            .unwrap_or(false)
    })
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
    engine.scripting.set_escape_hook(escape_worker);
    // tokio's multi-threaded scheduler, even for one thread: a script that runs long must be
    // able to hand its worker to another thread (see `escape_worker`), which a current-thread
    // runtime cannot do.
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(threads);
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
