//! Listening sockets, the accept loop (maxclients, protected mode), the background cron thread
//! (active expiry) and graceful shutdown on SIGTERM, SIGINT or the SHUTDOWN command.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use flint_engine::Engine;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;

use crate::conn;

/// Binds every address of `bind` (a `-` prefix marks one whose failure is ignored).
fn bind_all(bind: &str, mut port: u16, backlog: u32) -> Result<Vec<TcpListener>, String> {
    let mut out: Vec<TcpListener> = Vec::new();
    for word in bind.split_whitespace() {
        let (optional, host) = match word.strip_prefix('-') {
            Some(h) => (true, h),
            None => (false, word),
        };
        let host = if host == "*" { "0.0.0.0" } else { host };
        let ip: std::net::IpAddr = match host.parse() {
            Ok(ip) => ip,
            Err(_) if optional => continue,
            Err(_) => return Err(format!("Invalid bind address '{host}'")),
        };
        let addr = SocketAddr::new(ip, port);
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4(),
            SocketAddr::V6(_) => TcpSocket::new_v6(),
        };
        let result = socket.and_then(|s| {
            s.set_reuseaddr(true)?;
            s.bind(addr)?;
            s.listen(backlog)
        });
        match result {
            Ok(l) => {
                // With `--port 0` the first address picks a free port; the others reuse it.
                if port == 0 {
                    port = l.local_addr().map(|a| a.port()).unwrap_or(0);
                }
                out.push(l)
            }
            Err(e) if optional => tracing::debug!("skipping optional bind {addr}: {e}"),
            Err(e) => {
                return Err(format!(
                    "Could not create server TCP listening socket {addr}: {e}"
                ))
            }
        }
    }
    if out.is_empty() {
        return Err("Failed listening on any address".into());
    }
    Ok(out)
}

/// Runs the server until shutdown; returns the process exit code.
pub async fn serve(engine: Arc<Engine>, threads: usize) -> i32 {
    let port: u16 = engine
        .config
        .get("port")
        .and_then(|p| p.parse().ok())
        .unwrap_or(6379);
    let bind = engine
        .config
        .get("bind")
        .unwrap_or_else(|| "127.0.0.1 -::1".into());
    let backlog: u32 = engine
        .config
        .get("tcp-backlog")
        .and_then(|p| p.parse().ok())
        .unwrap_or(511);
    let listeners = match bind_all(&bind, port, backlog) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("{e}");
            return 1;
        }
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    start_cron(engine.clone(), stop_rx.clone());
    engine.mark_startup_memory();
    // CONFIG SET port/bind moves the listeners: the new ones start under a new generation,
    // and the accept loops of older generations return, closing their sockets. Connections
    // already accepted stay, as in Redis.
    let listening = Listening {
        stop_tx: stop_tx.clone(),
        gen_tx: Arc::new(watch::channel(0u64).0),
        backlog,
        runtime: tokio::runtime::Handle::current(),
        current: Arc::new(parking_lot::Mutex::new((bind.clone(), Vec::new()))),
    };
    listening.start(&engine, &bind, listeners, 0);
    {
        let weak = Arc::downgrade(&engine);
        let listening = listening.clone();
        engine
            .config
            .set_listen_hook(Box::new(move |bind: &str, port: u16| {
                let engine = weak.upgrade().ok_or("the server is stopping")?;
                listening.move_to(&engine, bind, port)
            }));
    }
    tracing::info!(
        "Flint {} started, port {}, {threads} worker threads",
        env!("CARGO_PKG_VERSION"),
        engine.port.load(Ordering::Relaxed)
    );
    let mut stop = stop_rx.clone();
    tokio::select! {
        _ = signal(tokio::signal::unix::SignalKind::terminate()) => tracing::warn!("Received SIGTERM scheduling shutdown..."),
        _ = signal(tokio::signal::unix::SignalKind::interrupt()) => tracing::warn!("Received SIGINT scheduling shutdown..."),
        _ = stop.wait_for(|s| *s) => tracing::warn!("User requested shutdown..."),
    }
    let _ = stop_tx.send(true);
    for client in engine.clients.all() {
        client.kill();
    }
    tracing::warn!("Flint is now ready to exit, bye bye...");
    0
}

async fn signal(kind: tokio::signal::unix::SignalKind) {
    match tokio::signal::unix::signal(kind) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending::<()>().await,
    }
}

/// What starting accept loops needs (see `serve`).
#[derive(Clone)]
struct Listening {
    stop_tx: Arc<watch::Sender<bool>>,
    /// The current generation of listeners.
    gen_tx: Arc<watch::Sender<u64>>,
    backlog: u32,
    runtime: tokio::runtime::Handle,
    /// The `bind` listened on, and the current generation's listening sockets.
    current: Arc<parking_lot::Mutex<(String, Vec<std::os::fd::RawFd>)>>,
}

impl Listening {
    /// CONFIG SET port/bind (called with the configuration locked, so one at a time): stops
    /// listening on the current sockets, listens on `bind`/`port` (0: the current port), and
    /// on failure listens where it did before and says why.
    ///
    /// The old sockets must stop listening before the new ones bind, or an address kept across
    /// the change (a new `bind` at the same port) would be in use: `shutdown` ends their
    /// listening at once (their accept loops then see the new generation and close them), and
    /// `SO_REUSEADDR` lets the new sockets bind beside them.
    fn move_to(&self, engine: &Arc<Engine>, bind: &str, port: u16) -> Result<(), String> {
        let old_port = engine.port.load(Ordering::Relaxed) as u16;
        let port = if port == 0 { old_port } else { port };
        let (old_bind, fds) = {
            let mut current = self.current.lock();
            (current.0.clone(), std::mem::take(&mut current.1))
        };
        for fd in fds {
            // SAFETY: `fd` is a listening socket of the current generation, owned by an accept
            // loop that keeps it open until the generation changes, which only happens below,
            // after this call; shutdown(2) has no memory effects.
            unsafe {
                libc::shutdown(fd, libc::SHUT_RDWR);
            }
        }
        let _in_runtime = self.runtime.enter();
        let (listeners, bound, result) = match bind_all(bind, port, self.backlog) {
            Ok(l) => (l, bind, Ok(())),
            Err(e) => match bind_all(&old_bind, old_port, self.backlog) {
                Ok(l) => (l, old_bind.as_str(), Err(e)),
                Err(e2) => (
                    Vec::new(),
                    old_bind.as_str(),
                    Err(format!("{e}; and again on the old addresses: {e2}")),
                ),
            },
        };
        let mut gen = 0;
        self.gen_tx.send_modify(|g| {
            *g += 1;
            gen = *g;
        });
        self.start(engine, bound, listeners, gen);
        result
    }

    /// Accepts on `listeners` (for `bind`, generation `gen`) and records where they listen.
    fn start(&self, engine: &Arc<Engine>, bind: &str, listeners: Vec<TcpListener>, gen: u64) {
        if let Some(port) = listeners
            .first()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
        {
            engine.port.store(port as u64, Ordering::Relaxed);
        }
        {
            use std::os::fd::AsRawFd;
            let mut current = self.current.lock();
            current.0 = bind.to_string();
            current.1 = listeners.iter().map(|l| l.as_raw_fd()).collect();
        }
        for l in listeners {
            let addr = l.local_addr().map(|a| a.to_string()).unwrap_or_default();
            tracing::info!("Ready to accept connections tcp on {addr}");
            self.runtime.spawn(accept_loop(
                engine.clone(),
                l,
                self.stop_tx.clone(),
                self.stop_tx.subscribe(),
                (self.gen_tx.subscribe(), gen),
            ));
        }
    }
}

async fn accept_loop(
    engine: Arc<Engine>,
    listener: TcpListener,
    stop_tx: Arc<watch::Sender<bool>>,
    mut stop: watch::Receiver<bool>,
    (mut generation, mine): (watch::Receiver<u64>, u64),
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => return,
            // Replaced by listeners on another port or address.
            _ = generation.wait_for(|g| *g != mine) => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                tokio::spawn(conn::run(engine.clone(), stream, peer, stop_tx.clone()));
            }
            // A listener moved away by CONFIG SET port/bind stops listening first (see
            // `Listening::move_to`): its accept fails, which is no news.
            Err(_) if *generation.borrow() != mine => return,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("Accepting client connection: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Active expiry on its own OS thread, so its bounded bursts of work never delay a connection's
/// worker. Runs `hz` times a second with a budget of a quarter of each tick, as Redis's slow cycle.
fn start_cron(engine: Arc<Engine>, stop: watch::Receiver<bool>) {
    let spawned = std::thread::Builder::new()
        .name("flint-cron".into())
        .spawn(move || loop {
            if *stop.borrow() {
                return;
            }
            let hz = engine.config.settings().hz.max(1);
            let tick = Duration::from_micros(1_000_000 / hz);
            std::thread::sleep(tick);
            engine.cron(tick.as_micros() as u64 / 4);
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the cron thread: {e}");
    }
}
