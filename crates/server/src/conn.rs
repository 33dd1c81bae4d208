//! One client connection: read what the socket has, parse every complete command in it
//! (pipelining), execute them in order, and write all their replies with one write.
//!
//! Limits: the query buffer may not exceed `client-query-buffer-limit` (the client is closed, as
//! Redis does); a malformed request gets `-ERR Protocol error: ...` and the connection closes;
//! idle clients are closed after `timeout` seconds. A batch's replies are flushed early once they
//! pass [`FLUSH_AT`] bytes, so a long pipeline never holds an unbounded reply buffer.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use flint_engine::{unix_ms, Action, Engine, ReplyWriter, Session};
use flint_protocol::{Limits, Parser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Replies are written out once a batch has produced this many bytes.
const FLUSH_AT: usize = 1 << 20;
/// Initial read buffer.
const READ_CHUNK: usize = 16 * 1024;

/// Serves one client until it quits, errs, is killed, or the server stops.
pub async fn run(
    engine: Arc<Engine>,
    mut stream: TcpStream,
    peer: SocketAddr,
    stop_tx: Arc<watch::Sender<bool>>,
) {
    let settings = engine.config.settings();
    flint_engine::stats::Stats::add(&engine.stats.total_connections_received, 1);
    if engine.clients.len() >= settings.maxclients {
        flint_engine::stats::Stats::add(&engine.stats.rejected_connections, 1);
        let _ = stream
            .write_all(b"-ERR max number of clients reached\r\n")
            .await;
        return;
    }
    if settings.protected_mode && settings.requirepass.is_empty() && !peer.ip().is_loopback() {
        let _ = stream.write_all(PROTECTED_MODE_DENIED.as_bytes()).await;
        return;
    }
    let _ = stream.set_nodelay(true);
    let laddr = stream.local_addr().ok();
    let kill = Arc::new(tokio::sync::Notify::new());
    let kill2 = kill.clone();
    let handle = engine.clients.register(
        Some(peer),
        laddr,
        unix_ms(),
        Box::new(move || kill2.notify_one()),
    );
    let id = handle.id;
    let mut sess = Session::new(handle.clone(), settings.requirepass.is_empty());
    let mut stop = stop_tx.subscribe();
    let result = serve(&engine, &mut stream, &mut sess, &kill, &mut stop, &stop_tx).await;
    if let Err(e) = result {
        tracing::debug!("client {id} closed: {e}");
    }
    engine.clients.unregister(id);
}

const PROTECTED_MODE_DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

fn limits_for(engine: &Engine, sess: &Session) -> Limits {
    let s = engine.config.settings();
    Limits {
        max_bulk_len: s.proto_max_bulk_len,
        authenticated: sess.authenticated,
        ..Limits::default()
    }
}

async fn serve(
    engine: &Engine,
    stream: &mut TcpStream,
    sess: &mut Session,
    kill: &tokio::sync::Notify,
    stop: &mut watch::Receiver<bool>,
    stop_tx: &watch::Sender<bool>,
) -> std::io::Result<()> {
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut parser = Parser::new(limits_for(engine, sess));
    let mut out = ReplyWriter::new(false);
    let mut was_authenticated = sess.authenticated;
    loop {
        let settings = engine.config.settings();
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            let want = parser.pending_bulk().unwrap_or(0).max(READ_CHUNK);
            buf.reserve(want.min(settings.client_query_buffer_limit + 1));
        }
        let idle = if settings.timeout_s > 0 {
            Duration::from_secs(settings.timeout_s)
        } else {
            Duration::from_secs(u64::MAX / 4)
        };
        let n = tokio::select! {
            r = tokio::time::timeout(idle, stream.read_buf(&mut buf)) => match r {
                Ok(r) => r?,
                Err(_) => return Ok(()),
            },
            _ = kill.notified() => return Ok(()),
            _ = stop.wait_for(|s| *s) => return Ok(()),
        };
        if n == 0 {
            return Ok(());
        }
        flint_engine::stats::Stats::add(&engine.stats.net_input_bytes, n as u64);
        if sess.handle.is_killed() {
            return Ok(());
        }
        let mut close = false;
        loop {
            match parser.parse(&mut buf) {
                Ok(Some(args)) => {
                    if args.is_empty() {
                        continue;
                    }
                    sess.handle.last_ms.store(unix_ms(), Ordering::Relaxed);
                    match engine.execute(sess, &args, &mut out) {
                        None => {}
                        Some(Action::Close) => {
                            close = true;
                            break;
                        }
                        Some(Action::Shutdown) => {
                            let _ = stop_tx.send(true);
                            close = true;
                            break;
                        }
                        Some(Action::Sleep(d)) => {
                            flush(stream, &mut out, engine).await?;
                            tokio::time::sleep(d).await;
                        }
                        Some(Action::Protocol(v)) => out.set_resp3(v == 3),
                        Some(_) => {}
                    }
                    if sess.authenticated != was_authenticated {
                        was_authenticated = sess.authenticated;
                        parser.set_limits(limits_for(engine, sess));
                    }
                    if out.len() >= FLUSH_AT {
                        flush(stream, &mut out, engine).await?;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    flint_engine::stats::Stats::add(&engine.stats.protocol_errors, 1);
                    out.error(&e.to_string());
                    close = true;
                    break;
                }
            }
        }
        if !close && buf.len() > settings.client_query_buffer_limit {
            tracing::warn!(
                "closing client {}: query buffer over client-query-buffer-limit",
                sess.id
            );
            return Ok(());
        }
        flush(stream, &mut out, engine).await?;
        if close || sess.handle.is_killed() {
            let _ = stream.shutdown().await;
            return Ok(());
        }
    }
}

async fn flush(
    stream: &mut TcpStream,
    out: &mut ReplyWriter,
    engine: &Engine,
) -> std::io::Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    flint_engine::stats::Stats::add(&engine.stats.net_output_bytes, out.len() as u64);
    stream.write_all(out.buffer()).await?;
    out.buffer().clear();
    Ok(())
}
