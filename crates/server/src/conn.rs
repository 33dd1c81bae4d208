//! One client connection: read what the socket has, parse every complete command in it
//! (pipelining), execute them in order, and write all their replies with one write: after the
//! other connections woken in the same turn ran their batches, when the batch was pipelined.
//!
//! Limits: the query buffer may not exceed `client-query-buffer-limit` (the client is closed, as
//! Redis does); a malformed request gets `-ERR Protocol error: ...` and the connection closes;
//! idle clients are closed after `timeout` seconds. A batch's replies are flushed early once they
//! pass [`FLUSH_AT`] bytes, so a long pipeline never holds an unbounded reply buffer.
//!
//! The engine gate (`flint_engine::gate`) is held shared while the commands of a batch run, so
//! that EXEC, which takes it exclusively, never interleaves with them: entered before the first
//! command of a batch, left before anything awaits (an early flush, a pause, DEBUG SLEEP) and
//! at the end of the batch. While EXEC holds it, entering waits on the runtime, never blocking
//! a thread.
//!
//! CLIENT PAUSE holds each command (every one, or only those that may write) until the pause
//! ends, checking the engine's pause deadline and sleeping on the runtime, never blocking a
//! thread. After MONITOR the connection also forwards the lines the engine queues for it (see
//! `flint_engine::engine::MonitorSink`); it still answers commands that do not touch the
//! keyspace, and RESET turns it back into a normal client.
//!
//! A client that subscribed (`flint_engine::pubsub`) also gets the messages queued in its
//! mailbox: written when the mailbox wakes the connection, and before the reply of each
//! command it runs meanwhile, so messages and replies keep Redis's order. A subscriber killed
//! for passing client-output-buffer-limit stops waiting on a socket its client does not read.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use flint_engine::blocking::{BlockTicket, BlockWaker};
use flint_engine::cmd::flags;
use flint_engine::engine::MonitorSink;
use flint_engine::{unix_ms, Action, Engine, ReplyWriter, Session};
use flint_protocol::{Limits, Parser};
use smallvec::SmallVec;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Replies are written out once a batch has produced this many bytes.
const FLUSH_AT: usize = 1 << 20;
/// Initial read buffer.
const READ_CHUNK: usize = 16 * 1024;
/// A connection's read or reply buffer grown past this is given back once empty.
const KEEP_BUFFER: usize = 1 << 20;
/// A command waiting for a script to finish checks this often whether it became busy.
const BUSY_POLL: Duration = Duration::from_millis(20);
/// A paused command rechecks the pause this often (CLIENT UNPAUSE or a new deadline).
const PAUSE_POLL: Duration = Duration::from_millis(10);

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
    {
        use std::os::fd::AsRawFd;
        handle
            .fd
            .store(stream.as_raw_fd() as i64, Ordering::Relaxed);
    }
    let mut sess = Session::new(handle.clone(), settings.requirepass.is_empty());
    let mut stop = stop_tx.subscribe();
    let result = serve(&engine, &mut stream, &mut sess, &kill, &mut stop, &stop_tx).await;
    if let Err(e) = result {
        tracing::debug!("client {id} closed: {e}");
    }
    if handle.is_monitor() {
        engine.remove_monitor(id);
    }
    engine.block_client_gone(id);
    engine.close_session(&mut sess);
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
    let mut lookahead = Lookahead::default();
    let mut out = ReplyWriter::new(false);
    let mut was_authenticated = sess.authenticated;
    // Set once the client sent MONITOR: its queue of lines, and what wakes us when it grows.
    let mut monitor: Option<Arc<MonitorSink>> = None;
    let monitor_wake = Arc::new(tokio::sync::Notify::new());
    let mut settings = engine.config.settings();
    let mut epoch = engine.config.epoch();
    // Woken when a blocking command of this client was served (see `wait_blocked`).
    let block_wake = Arc::new(tokio::sync::Notify::new());
    let wake = block_wake.clone();
    sess.block_waker = Some(BlockWaker::new(move || wake.notify_one()));
    // Woken when a pub/sub message is queued for this client (see `flint_engine::pubsub`).
    let push_wake = Arc::new(tokio::sync::Notify::new());
    let wake = push_wake.clone();
    sess.pubsub.waker = Some(BlockWaker::new(move || wake.notify_one()));
    loop {
        // Refresh the settings snapshot only when CONFIG SET changed something.
        if engine.config.epoch() != epoch {
            epoch = engine.config.epoch();
            settings = engine.config.settings();
        }
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            // Grow towards a pending large argument by doubling, never by its declared size
            // (a client declaring 512 MB and sending nothing costs nothing).
            let needed = parser.pending_bulk().unwrap_or(0).saturating_sub(buf.len());
            let grow = needed.min(buf.len().max(READ_CHUNK)).max(READ_CHUNK);
            buf.reserve(grow);
        }
        // Monitors, like replicas, never time out, nor do subscribers. No timer exists unless
        // `timeout` is set: registering one per read would cost more than the read.
        let subscribed = sess.pubsub.is_subscribed();
        let idle = (settings.timeout_s > 0 && monitor.is_none() && !subscribed)
            .then(|| Duration::from_secs(settings.timeout_s));
        let idle_timer = async {
            match idle {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending::<()>().await,
            }
        };
        // Shutdown reaches connections through `kill` too (the listener kills every client).
        let woken = tokio::select! {
            biased;
            r = stream.read_buf(&mut buf) => Wake::Read(r?),
            _ = kill.notified() => return Ok(()),
            _ = monitor_wake.notified(), if monitor.is_some() => Wake::Monitor,
            _ = push_wake.notified(), if subscribed => Wake::Push,
            _ = idle_timer => return Ok(()),
        };
        let n = match woken {
            Wake::Read(n) => n,
            Wake::Monitor => {
                if let Some(sink) = &monitor {
                    if !forward_monitor_lines(sink, stream, &mut out, engine).await? {
                        return Ok(());
                    }
                }
                continue;
            }
            Wake::Push => {
                if let Some(mailbox) = sess.pubsub.mailbox() {
                    mailbox.drain_into(&mut out);
                }
                if !flush_unless_killed(stream, &mut out, engine, kill).await? {
                    return Ok(());
                }
                continue;
            }
        };
        if n == 0 {
            return Ok(());
        }
        flint_engine::stats::Stats::add(&engine.stats.net_input_bytes, n as u64);
        if sess.handle.is_killed() {
            return Ok(());
        }
        let mut close = false;
        let mut pos = 0;
        let mut commands = 0usize;
        let batch_ms = unix_ms();
        loop {
            match parser.parse(&buf[pos..]) {
                Ok(Some(len)) => {
                    let request = &buf[pos..pos + len];
                    let args: SmallVec<[&[u8]; 8]> = parser.args(request).collect();
                    pos += len;
                    if args.is_empty() {
                        continue;
                    }
                    commands += 1;
                    lookahead.run(engine, sess.db, &buf[pos..], args.get(1).copied());
                    if engine.pause_until_ms.load(Ordering::Acquire) != 0 && monitor.is_none() {
                        engine.leave_batch(sess);
                        if !hold_while_paused(engine, sess, &args, stream, &mut out, kill, stop)
                            .await?
                        {
                            return Ok(());
                        }
                    }
                    if monitor.is_some() && !monitor_may_run(engine, &args, &mut out, &mut monitor)
                    {
                        continue;
                    }
                    // Messages that arrived before this command go out before its reply.
                    if let Some(mailbox) = sess.pubsub.mailbox() {
                        if mailbox.has_pending() {
                            mailbox.drain_into(&mut out);
                        }
                    }
                    let reply_at = out.len();
                    let action = if !engine.enter_batch(sess) && !enter_gate(engine, sess).await {
                        // A script has run past busy-reply-threshold holding the gate.
                        busy_command(engine, sess, &args, &mut out)
                    } else {
                        // Scripts too run in place: one that runs long hands this worker to
                        // another thread itself (see the server's `escape_worker`).
                        engine.execute(sess, &args, &mut out)
                    };
                    drop(args);
                    // Messages queued while it ran (a script publishing to its own client,
                    // a keyspace event of its writes) precede its reply, as in Redis.
                    if let Some(mailbox) = sess.pubsub.mailbox() {
                        if mailbox.has_pending() {
                            let reply = out.buffer().split_off(reply_at);
                            mailbox.drain_into(&mut out);
                            out.buffer().unsplit(reply);
                        }
                    }
                    match action {
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
                            // DEBUG SLEEP: its reply (and those before it) go out after the
                            // sleep, as with Redis, whose whole server sleeps.
                            engine.leave_batch(sess);
                            tokio::select! {
                                _ = tokio::time::sleep(d) => {}
                                _ = kill.notified() => return Ok(()),
                                _ = stop.wait_for(|s| *s) => return Ok(()),
                            }
                        }
                        Some(Action::Monitor) => {
                            let wake = monitor_wake.clone();
                            monitor = Some(
                                engine.add_monitor(sess.id, Box::new(move || wake.notify_one())),
                            );
                        }
                        Some(Action::Protocol(v)) => out.set_resp3(v == 3),
                        Some(Action::Block(ticket)) => {
                            // Never wait holding the gate: EXEC would wait for us.
                            engine.leave_batch(sess);
                            let limit = settings.client_query_buffer_limit;
                            let waits = Waits {
                                kill,
                                wake: &block_wake,
                                stop,
                                push: &push_wake,
                                mailbox: sess.pubsub.mailbox().cloned(),
                            };
                            if !wait_blocked(
                                engine, stream, &mut buf, &ticket, &mut out, waits, limit,
                            )
                            .await?
                            {
                                return Ok(());
                            }
                        }
                        Some(_) => {}
                    }
                    if sess.authenticated != was_authenticated {
                        was_authenticated = sess.authenticated;
                        parser.set_limits(limits_for(engine, sess));
                    }
                    if out.len() >= FLUSH_AT {
                        engine.leave_batch(sess);
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
        engine.leave_batch(sess);
        buf.advance(pos);
        if buf.is_empty() && buf.capacity() > KEEP_BUFFER {
            // Likewise for the read buffer after a big request.
            buf = BytesMut::with_capacity(READ_CHUNK);
        }
        sess.handle.last_ms.store(batch_ms, Ordering::Relaxed);
        if !close && buf.len() > settings.client_query_buffer_limit {
            tracing::warn!(
                "closing client {}: query buffer over client-query-buffer-limit",
                sess.id
            );
            return Ok(());
        }
        if commands > 1 && !out.is_empty() {
            // A pipelined batch lets every other connection the same poll woke run its batch
            // first, then writes: the replies of one event-loop turn leave together, as Redis
            // writes them all before it sleeps, and each client wakes up once for more of them
            // (measured: a third less kernel time at pipeline 16). A lone command answers at
            // once, which keeps pipeline-1 latency low.
            tokio::task::yield_now().await;
        }
        if sess.pubsub.is_subscribed() {
            if !flush_unless_killed(stream, &mut out, engine, kill).await? {
                return Ok(());
            }
        } else {
            flush(stream, &mut out, engine).await?;
        }
        if close || sess.handle.is_killed() {
            let _ = stream.shutdown().await;
            return Ok(());
        }
    }
}

/// Warms the cache for the pipelined commands after the one about to run, so that their key
/// lookups overlap this one's work instead of each waiting on memory in turn: the entries of the
/// command after next, and the key and value bytes of the next one (whose entries the previous
/// call brought in). Only for commands whose first key is their first argument (GET, SET, HSET,
/// ZADD...); EVALSHA's SHA or CONFIG's subcommand would cost a shard lock for nothing. Measured:
/// see BENCHMARKS.md (GET at pipeline 16 on a million keys).
#[derive(Default)]
struct Lookahead {
    /// The last command name looked up (pipelines mostly repeat one), and whether its first
    /// argument is a key.
    name: SmallVec<[u8; 16]>,
    keyed: bool,
}

impl Lookahead {
    /// `current` is the second argument of the command about to run: a pipeline on one key
    /// (ZADD to one leaderboard, LPUSH to one queue) has that key in cache already.
    fn run(&mut self, engine: &Engine, db: usize, rest: &[u8], current: Option<&[u8]>) {
        let Some(next) = flint_protocol::peek_request(rest) else {
            return;
        };
        if let Some((name, key)) = next.name_and_key {
            if current != Some(key) && self.first_is_key(engine, name) {
                engine.keyspace.prefetch(db, key, true);
            }
        }
        let after = rest.get(next.len..).and_then(flint_protocol::peek_request);
        if let Some((name, key)) = after.and_then(|p| p.name_and_key) {
            if current != Some(key) && self.first_is_key(engine, name) {
                engine.keyspace.prefetch(db, key, false);
            }
        }
    }

    fn first_is_key(&mut self, engine: &Engine, name: &[u8]) -> bool {
        if !self.name.eq_ignore_ascii_case(name) {
            self.keyed = engine
                .commands
                .get(name)
                .is_some_and(|c| matches!(c.def.keys, flint_engine::cmd::KeySpec::Range(1, _, _)));
            self.name = SmallVec::from_slice(name);
        }
        self.keyed
    }
}

/// What a blocked client's connection waits on besides its reply.
struct Waits<'a> {
    kill: &'a tokio::sync::Notify,
    wake: &'a tokio::sync::Notify,
    stop: &'a mut watch::Receiver<bool>,
    /// Pub/sub messages for a (RESP3) subscriber still reach it while it is blocked.
    push: &'a tokio::sync::Notify,
    mailbox: Option<Arc<flint_engine::pubsub::Mailbox>>,
}

/// A blocking command (BLPOP...) blocked: sends the replies made so far, then waits for the
/// command's reply (served, CLIENT UNBLOCK) or its deadline, and appends that reply to `out`.
/// Commands pipelined after it wait, as in Redis; the socket is still read into `buf` (without
/// executing anything, up to client-query-buffer-limit) so that a client that goes away is
/// noticed. Returns false when the client must be closed (gone, killed, shutdown); its waiter
/// is removed then.
async fn wait_blocked(
    engine: &Engine,
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    ticket: &BlockTicket,
    out: &mut ReplyWriter,
    waits: Waits<'_>,
    query_limit: usize,
) -> std::io::Result<bool> {
    if let Err(e) = flush(stream, out, engine).await {
        engine.block_cancel(ticket);
        return Err(e);
    }
    let deadline = ticket.deadline();
    let timer = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
            None => std::future::pending::<()>().await,
        }
    };
    tokio::pin!(timer);
    loop {
        if let Some(reply) = engine.block_take_reply(ticket) {
            out.raw(&reply);
            return Ok(true);
        }
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        let mut pushed = false;
        tokio::select! {
            biased;
            _ = waits.wake.notified() => {}
            _ = waits.push.notified(), if waits.mailbox.is_some() => pushed = true,
            _ = &mut timer => {
                out.raw(&engine.block_timed_out(ticket));
                return Ok(true);
            }
            _ = waits.kill.notified() => break,
            _ = waits.stop.wait_for(|s| *s) => break,
            r = stream.read_buf(buf) => match r {
                Ok(0) => break,
                Ok(n) => {
                    flint_engine::stats::Stats::add(&engine.stats.net_input_bytes, n as u64);
                    if buf.len() > query_limit {
                        tracing::warn!("closing a blocked client: query buffer over client-query-buffer-limit");
                        break;
                    }
                }
                Err(e) => {
                    engine.block_cancel(ticket);
                    return Err(e);
                }
            },
        }
        if pushed {
            if let Some(mailbox) = &waits.mailbox {
                mailbox.drain_into(out);
            }
            if let Err(e) = flush(stream, out, engine).await {
                engine.block_cancel(ticket);
                return Err(e);
            }
        }
    }
    engine.block_cancel(ticket);
    Ok(false)
}

/// What woke a connection up.
enum Wake {
    /// This many bytes arrived.
    Read(usize),
    /// MONITOR lines are waiting.
    Monitor,
    /// Pub/sub messages are waiting.
    Push,
}

/// Holds the engine gate shared for the rest of the batch. Only called when
/// `Engine::enter_batch` failed: EXEC (or a script) holds the gate exclusively, so wait for it
/// on the runtime, without blocking the worker thread.
/// Waits (without blocking the worker) until the batch can enter the engine gate. Returns false
/// instead when a script holding the gate has run past busy-reply-threshold: Redis then answers
/// commands at once (BUSY, or SCRIPT KILL and the few others allowed) rather than making them
/// wait, and so do we ([`busy_command`]).
async fn enter_gate(engine: &Engine, sess: &mut Session) -> bool {
    while !engine.enter_batch(sess) {
        if engine.scripting.busy() {
            return false;
        }
        tokio::select! {
            _ = engine.gate.ready() => {}
            // The script may cross the threshold while we wait: look again now and then.
            _ = tokio::time::sleep(BUSY_POLL) => {}
        }
    }
    true
}

/// A command that arrived while a script is busy: commands flagged `allow_busy` (SCRIPT KILL,
/// FUNCTION KILL, SHUTDOWN NOSAVE...) run without the gate (none of them touches the keyspace);
/// every other gets Redis's BUSY error.
fn busy_command(
    engine: &Engine,
    sess: &mut Session,
    args: &[&[u8]],
    out: &mut ReplyWriter,
) -> Option<Action> {
    if engine.allows_busy(args) {
        return engine.execute(sess, args, out);
    }
    engine.reply_busy(out);
    None
}

/// Whether the command `args` (resolved to its subcommand) may write: held by CLIENT PAUSE
/// WRITE. EXEC may write when a queued command may (as in Redis).
fn may_write(engine: &Engine, sess: &Session, args: &[&[u8]]) -> bool {
    let Some(mut cmd) = args.first().and_then(|n| engine.commands.get(n)) else {
        return false;
    };
    if cmd.full_name == "exec" && sess.tx.queued_may_write() {
        return true;
    }
    if !cmd.subs.is_empty() {
        if let Some(sub) = args.get(1).and_then(|s| {
            let lower = std::str::from_utf8(s).ok()?.to_ascii_lowercase();
            cmd.subs.get(lower.as_str())
        }) {
            cmd = sub;
        }
    }
    cmd.has(flags::WRITE | flags::MAY_REPLICATE)
}

/// CLIENT PAUSE: waits while the server is paused for this command (all commands, or only
/// those that may write), first sending the replies already made. Returns false if the client
/// was killed or the server is stopping meanwhile.
async fn hold_while_paused(
    engine: &Engine,
    sess: &Session,
    args: &[&[u8]],
    stream: &mut TcpStream,
    out: &mut ReplyWriter,
    kill: &tokio::sync::Notify,
    stop: &mut watch::Receiver<bool>,
) -> std::io::Result<bool> {
    let mut flushed = false;
    loop {
        let until = engine.pause_until_ms.load(Ordering::Acquire);
        let now = unix_ms();
        if until <= now {
            // Over: clear it so later commands skip this check (unless a new pause started).
            let _ = engine.pause_until_ms.compare_exchange(
                until,
                0,
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
            return Ok(true);
        }
        if engine.pause_writes_only.load(Ordering::Acquire) && !may_write(engine, sess, args) {
            return Ok(true);
        }
        if !flushed {
            flush(stream, out, engine).await?;
            flushed = true;
        }
        let wait = Duration::from_millis(until - now).min(PAUSE_POLL);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = kill.notified() => return Ok(false),
            _ = stop.wait_for(|s| *s) => return Ok(false),
        }
    }
}

/// A MONITOR client may still run commands that do not touch the keyspace; RESET turns it back
/// into a normal client. Returns whether `args` may run (if not, its error is in `out`).
fn monitor_may_run(
    engine: &Engine,
    args: &[&[u8]],
    out: &mut ReplyWriter,
    monitor: &mut Option<Arc<MonitorSink>>,
) -> bool {
    let Some(name) = args.first() else {
        return false;
    };
    if name.eq_ignore_ascii_case(b"reset") {
        if let Some(sink) = monitor.take() {
            engine.remove_monitor(sink.client_id);
            if let Some(h) = engine.clients.get(sink.client_id) {
                h.set_flag('O', false);
            }
        }
        return true;
    }
    let keyspace = flags::READONLY | flags::WRITE | flags::MAY_REPLICATE;
    if engine.commands.get(name).is_some_and(|c| c.has(keyspace)) {
        const ERR: &str = "ERR Replica can't interact with the keyspace";
        engine.stats.record_error(ERR);
        out.error(ERR);
        return false;
    }
    true
}

/// Sends the MONITOR lines queued for this client. Returns false if the client fell too far
/// behind and must be closed.
async fn forward_monitor_lines(
    sink: &MonitorSink,
    stream: &mut TcpStream,
    out: &mut ReplyWriter,
    engine: &Engine,
) -> std::io::Result<bool> {
    if sink.is_overflowed() {
        return Ok(false);
    }
    let mut lines = Vec::new();
    sink.drain_into(&mut lines);
    for line in &lines {
        out.raw(line);
        if out.len() >= FLUSH_AT {
            flush(stream, out, engine).await?;
        }
    }
    flush(stream, out, engine).await?;
    Ok(true)
}

/// [`flush`] for a subscriber, which may be killed while the write waits on a client that
/// does not read (its messages passed client-output-buffer-limit): returns false then.
async fn flush_unless_killed(
    stream: &mut TcpStream,
    out: &mut ReplyWriter,
    engine: &Engine,
    kill: &tokio::sync::Notify,
) -> std::io::Result<bool> {
    tokio::select! {
        r = flush(stream, out, engine) => r.map(|()| true),
        _ = kill.notified() => Ok(false),
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
    // One big reply must not pin its buffer for the life of the connection.
    if out.buffer().capacity() > KEEP_BUFFER {
        *out.buffer() = BytesMut::with_capacity(READ_CHUNK);
    }
    Ok(())
}
