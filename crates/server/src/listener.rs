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
    let actual_port = listeners
        .first()
        .and_then(|l| l.local_addr().ok())
        .map(|a| a.port())
        .unwrap_or(port);
    engine.port.store(actual_port as u64, Ordering::Relaxed);
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    start_cron(engine.clone(), stop_rx.clone());
    engine.mark_startup_memory();
    for l in listeners {
        let addr = l.local_addr().map(|a| a.to_string()).unwrap_or_default();
        tracing::info!("Ready to accept connections tcp on {addr}");
        tokio::spawn(accept_loop(
            engine.clone(),
            l,
            stop_tx.clone(),
            stop_rx.clone(),
        ));
    }
    tracing::info!(
        "Flint {} started, port {actual_port}, {threads} worker threads",
        env!("CARGO_PKG_VERSION")
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

async fn accept_loop(
    engine: Arc<Engine>,
    listener: TcpListener,
    stop_tx: Arc<watch::Sender<bool>>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                tokio::spawn(conn::run(engine.clone(), stream, peer, stop_tx.clone()));
            }
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
