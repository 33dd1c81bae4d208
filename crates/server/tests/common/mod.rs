//! The end-to-end test harness: starts the real `flint-server` binary (and, for comparison tests,
//! a real `redis-server`) on free ports, and talks to them through the `redis` crate or raw
//! sockets.
//!
//! - [`Server::start`] runs `$FLINT_BIN` (default: the binary cargo built for these tests) with
//!   `--port 0`, reads the port from its `Ready to accept connections tcp on 127.0.0.1:<port>`
//!   log line, waits until it answers PING, and kills it on drop. Every test starts its own
//!   server, so tests run in parallel without sharing state.
//! - [`Redis::start`] does the same for `redis-server` when it is installed (`None` otherwise;
//!   comparison tests then print `skipped: redis-server not installed` and pass, unless
//!   `FLINT_REQUIRE_REDIS=1`, which CI sets, turns that into a failure).
//! - [`Raw`] is a plain TCP client that sends bytes and reads whole RESP2/RESP3 replies.
//! - [`compare`] replays a script of commands on both servers, in RESP2 and in RESP3, and
//!   asserts that the raw replies are byte-identical (see [`compare_with`] for the script syntax).
//!
//! Setting `FLINT_TEST_AGAINST_REDIS=1` makes [`Server::start`] launch redis-server instead of
//! Flint: the whole suite then checks its own expectations against real Redis 7.0.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a reply may take before a test gives up on it.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Which program a [`Server`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// flint-server.
    Flint,
    /// redis-server.
    Redis,
}

/// A server process started for one test; killed when dropped.
pub struct Server {
    child: Child,
    /// The TCP port it listens on (127.0.0.1).
    pub port: u16,
    /// Which program it is.
    pub kind: Kind,
    log: Arc<Mutex<Vec<String>>>,
}

fn flint_bin() -> String {
    std::env::var("FLINT_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_flint-server").to_string())
}

fn redis_bin() -> String {
    std::env::var("REDIS_SERVER_BIN").unwrap_or_else(|_| "redis-server".to_string())
}

/// True when the tests should run against real Redis instead of Flint (a check of the tests).
pub fn against_redis() -> bool {
    std::env::var("FLINT_TEST_AGAINST_REDIS").is_ok_and(|v| v == "1")
}

/// Whether `redis-server` can be run here.
pub fn redis_installed() -> bool {
    Command::new(redis_bin())
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Returns true (after printing the skip notice) when redis-server is missing and the caller
/// should return early. Panics instead when `FLINT_REQUIRE_REDIS=1`.
pub fn skip_without_redis() -> bool {
    if redis_installed() {
        return false;
    }
    if std::env::var("FLINT_REQUIRE_REDIS").is_ok_and(|v| v == "1") {
        panic!("redis-server not installed but FLINT_REQUIRE_REDIS=1");
    }
    println!("skipped: redis-server not installed");
    true
}

/// Drains a child's output into `log` line by line, sending the first port announced by a
/// `Ready to accept connections tcp on 127.0.0.1:<port>` line to `port_tx`.
fn drain(
    out: impl Read + Send + 'static,
    log: Arc<Mutex<Vec<String>>>,
    port_tx: Option<mpsc::Sender<u16>>,
) {
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if !sent {
                if let Some(tx) = &port_tx {
                    let marker = "Ready to accept connections tcp on 127.0.0.1:";
                    if let Some(pos) = line.find(marker) {
                        let digits: String = line[pos + marker.len()..]
                            .chars()
                            .take_while(|c| c.is_ascii_digit())
                            .collect();
                        if let Ok(p) = digits.parse::<u16>() {
                            let _ = tx.send(p);
                            sent = true;
                        }
                    }
                }
            }
            let mut log = log.lock().unwrap();
            if log.len() < 10_000 {
                log.push(line);
            }
        }
    });
}

/// A port that was free a moment ago (for redis-server, which cannot be told `--port 0`).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// Sends PING until the server answers (any complete reply), or `deadline` passes.
fn wait_ready(port: u16, child: &mut Child, deadline: Instant) -> Result<(), String> {
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("server exited during start: {status}"));
        }
        if let Ok(mut raw) = Raw::try_connect(port) {
            raw.send(b"*1\r\n$4\r\nPING\r\n");
            if raw.try_read_reply(Duration::from_secs(2)).is_some() {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err("server did not answer PING in time".into());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

impl Server {
    /// Starts flint-server with `--port 0 --enable-debug-command yes` and `flags`; panics (with
    /// its log) if it fails.
    pub fn start(flags: &[&str]) -> Server {
        if against_redis() {
            return Redis::start_with(&redis_flags(flags)).expect("redis-server not installed");
        }
        match Server::try_start(flags) {
            Ok(s) => s,
            Err(e) => panic!("flint-server failed to start: {e}"),
        }
    }

    /// Starts flint-server; the error carries the server's output.
    pub fn try_start(flags: &[&str]) -> Result<Server, String> {
        // A config file, if any, must come first, as for redis-server.
        let (file, flags) = split_config_file(flags);
        let mut child = Command::new(flint_bin())
            .args(file)
            .args(["--port", "0", "--enable-debug-command", "yes"])
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", flint_bin()))?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        drain(child.stdout.take().expect("stdout"), log.clone(), Some(tx));
        drain(child.stderr.take().expect("stderr"), log.clone(), None);
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(p) => break p,
                Err(_) => {
                    let exited = child.try_wait().ok().flatten();
                    if exited.is_some() || Instant::now() > deadline {
                        let _ = child.kill();
                        let _ = child.wait();
                        std::thread::sleep(Duration::from_millis(50));
                        let text = log.lock().unwrap().join("\n");
                        return Err(format!(
                            "no port announced (exit: {exited:?}); log:\n{text}"
                        ));
                    }
                }
            }
        };
        let mut server = Server {
            child,
            port,
            kind: Kind::Flint,
            log,
        };
        if let Err(e) = wait_ready(port, &mut server.child, deadline) {
            return Err(format!("{e}; log:\n{}", server.log()));
        }
        Ok(server)
    }

    /// The `redis://` URL of this server.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A synchronous `redis` crate connection.
    pub fn conn(&self) -> redis::Connection {
        let client = redis::Client::open(self.url()).expect("client");
        let con = client.get_connection().expect("connect");
        con.set_read_timeout(Some(REPLY_TIMEOUT)).expect("timeout");
        con
    }

    /// An async (tokio, multiplexed) `redis` crate connection.
    pub async fn aconn(&self) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(self.url()).expect("client");
        client
            .get_multiplexed_tokio_connection()
            .await
            .expect("async connect")
    }

    /// A raw socket client.
    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident set size in KiB, from /proc/<pid>/status (0 when unavailable).
    pub fn rss_kb(&self) -> u64 {
        rss_kb(self.pid())
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `timeout` for the process to exit; returns its exit code if it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.code().unwrap_or(-1));
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends a signal (e.g. "TERM") to the process.
    pub fn signal(&self, name: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status();
    }

    /// Everything the server printed so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads VmRSS (KiB) of a process.
pub fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Splits a leading config-file path (a first argument not starting with `--`) from the flags.
fn split_config_file<S: AsRef<str>>(flags: &[S]) -> (&[S], &[S]) {
    match flags.first() {
        Some(f) if !f.as_ref().starts_with("--") => flags.split_at(1),
        _ => flags.split_at(0),
    }
}

/// A path for a test's scratch file, unique to this process and `name`.
pub fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("flint-test-{}-{name}", std::process::id()))
}

/// Flint flags that redis-server also understands (drops Flint-only ones like `--threads`).
fn redis_flags(flags: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip = false;
    for f in flags {
        if f.starts_with("--") {
            skip = matches!(*f, "--threads");
        }
        if !skip {
            out.push(f.to_string());
        }
    }
    out
}

/// Starts real Redis servers for comparison.
pub struct Redis;

impl Redis {
    /// Starts `redis-server` with no persistence on a free port; `None` when not installed.
    pub fn start() -> Option<Server> {
        Redis::start_with(&[])
    }

    /// [`Redis::start`] with extra `--name value` flags.
    pub fn start_with(flags: &[String]) -> Option<Server> {
        if !redis_installed() {
            return None;
        }
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let (file, flags) = split_config_file(flags);
            let mut child = Command::new(redis_bin())
                .args(file)
                .args(["--port", &port.to_string()])
                .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .args(["--daemonize", "no", "--enable-debug-command", "yes"])
                .args(flags)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .ok()?;
            let log = Arc::new(Mutex::new(Vec::new()));
            drain(child.stdout.take().expect("stdout"), log.clone(), None);
            drain(child.stderr.take().expect("stderr"), log.clone(), None);
            let deadline = Instant::now() + Duration::from_secs(10);
            match wait_ready(port, &mut child, deadline) {
                Ok(()) => {
                    return Some(Server {
                        child,
                        port,
                        kind: Kind::Redis,
                        log,
                    })
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    last = format!("{e}: {}", log.lock().unwrap().join("\n"));
                }
            }
        }
        panic!("redis-server failed to start: {last}");
    }
}

/// A raw TCP client speaking RESP by hand.
pub struct Raw {
    /// The socket.
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    /// Connects to 127.0.0.1:`port`; panics on failure.
    pub fn connect(port: u16) -> Raw {
        Raw::try_connect(port).expect("connect")
    }

    /// Connects to 127.0.0.1:`port`.
    pub fn try_connect(port: u16) -> std::io::Result<Raw> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        Ok(Raw {
            stream,
            buf: Vec::new(),
        })
    }

    /// Writes `bytes` (errors, e.g. a reset connection, are ignored).
    pub fn send(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    /// Sends one command as a RESP array and returns its raw reply.
    pub fn cmd(&mut self, args: &[&str]) -> Vec<u8> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.cmd_bytes(&args)
    }

    /// [`Raw::cmd`] as a (lossy) string, for readable assertions.
    pub fn cmd_str(&mut self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.cmd(args)).into_owned()
    }

    /// Sends one command with binary arguments and returns its raw reply.
    pub fn cmd_bytes(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send(&encode(args));
        self.read_reply()
    }

    /// Reads one complete reply; panics on timeout or a closed connection.
    pub fn read_reply(&mut self) -> Vec<u8> {
        match self.try_read_reply(REPLY_TIMEOUT) {
            Some(r) => r,
            None => panic!(
                "no complete reply (connection closed or timed out); got so far: {}",
                show(&self.buf)
            ),
        }
    }

    /// Reads `n` replies.
    pub fn read_replies(&mut self, n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|_| self.read_reply()).collect()
    }

    /// Reads one complete reply, or `None` when the connection closes or `timeout` passes first.
    pub fn try_read_reply(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        loop {
            match reply_len(&self.buf) {
                Ok(Some(n)) => return Some(self.buf.drain(..n).collect()),
                Ok(None) => {}
                Err(e) => panic!("malformed reply ({e}): {}", show(&self.buf)),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.fill(left) != Fill::Data {
                return None;
            }
        }
    }

    /// Reads whatever arrives for up to `timeout` or until the peer closes. Returns the bytes and
    /// whether the connection was closed (EOF or reset).
    pub fn read_until_close(&mut self, timeout: Duration) -> (Vec<u8>, bool) {
        let deadline = Instant::now() + timeout;
        let mut closed = false;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self.fill(left) {
                Fill::Data => {}
                Fill::Timeout => break,
                Fill::Closed => {
                    closed = true;
                    break;
                }
            }
        }
        (std::mem::take(&mut self.buf), closed)
    }

    /// True when the server closes the connection within `timeout`.
    pub fn closed_within(&mut self, timeout: Duration) -> bool {
        self.read_until_close(timeout).1
    }

    /// Reads once into the buffer.
    fn fill(&mut self, timeout: Duration) -> Fill {
        let _ = self
            .stream
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))));
        let mut chunk = [0u8; 65536];
        match self.stream.read(&mut chunk) {
            Ok(0) => Fill::Closed,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Fill::Data
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Fill::Timeout
            }
            Err(_) => Fill::Closed,
        }
    }

    /// Bytes received but not yet consumed as replies.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }
}

/// What one read brought.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fill {
    Data,
    Timeout,
    Closed,
}

/// Encodes a command as a RESP array of bulk strings.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Encodes a command given as words.
pub fn encode_str(args: &[&str]) -> Vec<u8> {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    encode(&args)
}

/// Printable form of raw protocol bytes.
pub fn show(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes.iter().take(2000) {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    if bytes.len() > 2000 {
        s.push_str(&format!("...({} bytes)", bytes.len()));
    }
    s
}

fn crlf(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| from + p)
}

/// The length of the first complete RESP2/RESP3 reply in `buf`: `Ok(None)` when more bytes are
/// needed, `Err` when the bytes are not RESP.
pub fn reply_len(buf: &[u8]) -> Result<Option<usize>, String> {
    reply_end(buf, 0)
}

fn reply_end(buf: &[u8], pos: usize) -> Result<Option<usize>, String> {
    let Some(&t) = buf.get(pos) else {
        return Ok(None);
    };
    let Some(eol) = crlf(buf, pos + 1) else {
        return Ok(None);
    };
    let line = &buf[pos + 1..eol];
    let after = eol + 2;
    let count = || -> Result<i64, String> {
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad length {:?}", show(line)))
    };
    match t {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Ok(Some(after)),
        b'$' | b'=' | b'!' => {
            let n = count()?;
            if n < 0 {
                return Ok(Some(after));
            }
            let end = after + n as usize + 2;
            Ok((buf.len() >= end).then_some(end))
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = count()?;
            let items = if matches!(t, b'%' | b'|') { n * 2 } else { n };
            let mut at = after;
            for _ in 0..items.max(0) {
                match reply_end(buf, at)? {
                    Some(e) => at = e,
                    None => return Ok(None),
                }
            }
            if t == b'|' {
                // An attribute precedes the reply it describes.
                return reply_end(buf, at);
            }
            Ok(Some(at))
        }
        _ => Err(format!("unknown reply type {:?}", t as char)),
    }
}

/// A parsed reply, kept as raw pieces so that it can be re-encoded byte for byte.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reply {
    /// Any non-aggregate reply, raw.
    Scalar(Vec<u8>),
    /// An aggregate: its header line (e.g. `*3\r\n`) and children.
    Agg(Vec<u8>, Vec<Reply>),
}

impl Reply {
    /// Parses one complete reply.
    pub fn parse(buf: &[u8]) -> Reply {
        let (r, _) = Reply::parse_at(buf, 0);
        r
    }

    fn parse_at(buf: &[u8], pos: usize) -> (Reply, usize) {
        let end = reply_end(buf, pos).ok().flatten().unwrap_or(buf.len());
        let t = buf.get(pos).copied().unwrap_or(b'?');
        if !matches!(t, b'*' | b'~' | b'>' | b'%') {
            return (Reply::Scalar(buf[pos..end].to_vec()), end);
        }
        let eol = crlf(buf, pos + 1).unwrap_or(buf.len());
        let header = buf[pos..(eol + 2).min(buf.len())].to_vec();
        let mut at = eol + 2;
        let mut children = Vec::new();
        while at < end {
            let (c, e) = Reply::parse_at(buf, at);
            children.push(c);
            at = e;
        }
        (Reply::Agg(header, children), end)
    }

    /// Re-encodes the reply.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Reply::Scalar(b) => b.clone(),
            Reply::Agg(h, c) => {
                let mut out = h.clone();
                for x in c {
                    out.extend(x.encode());
                }
                out
            }
        }
    }

    /// Sorts every array or set whose elements are all scalars (KEYS, SCAN's key list...), and
    /// the pairs of every map of scalars (CONFIG GET in RESP3).
    pub fn sort_scalar_arrays(&mut self) {
        if let Reply::Agg(h, c) = self {
            let scalars = c.iter().all(|x| matches!(x, Reply::Scalar(_)));
            if scalars && h.first() == Some(&b'%') {
                let mut pairs: Vec<Vec<Reply>> = c.chunks(2).map(|p| p.to_vec()).collect();
                pairs.sort();
                *c = pairs.into_iter().flatten().collect();
            } else if scalars {
                c.sort();
            } else {
                for x in c {
                    x.sort_scalar_arrays();
                }
            }
        }
    }
}

/// Splits a line into arguments like redis-cli: double quotes with `\n \r \t \" \\ \xHH`
/// escapes, single quotes with `\'`.
pub fn split_args(line: &str) -> Vec<Vec<u8>> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let mut word = Vec::new();
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' && i + 1 < b.len() {
                        i += 1;
                        match b[i] {
                            b'n' => word.push(b'\n'),
                            b'r' => word.push(b'\r'),
                            b't' => word.push(b'\t'),
                            b'x' if i + 2 < b.len() => {
                                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                                word.push(u8::from_str_radix(hex, 16).expect("bad \\x escape"));
                                i += 2;
                            }
                            c => word.push(c),
                        }
                    } else {
                        word.push(b[i]);
                    }
                    i += 1;
                }
                i += 1;
            }
            b'\'' => {
                i += 1;
                while i < b.len() && b[i] != b'\'' {
                    if b[i] == b'\\' && b.get(i + 1) == Some(&b'\'') {
                        i += 1;
                    }
                    word.push(b[i]);
                    i += 1;
                }
                i += 1;
            }
            _ => {
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    word.push(b[i]);
                    i += 1;
                }
            }
        }
        out.push(word);
    }
    out
}

/// How a script line's replies are compared.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Norm {
    /// Byte for byte.
    Exact,
    /// After sorting arrays of scalars.
    Sorted,
    /// Only the first byte (the reply type).
    TypeOnly,
    /// Not at all (both must still answer).
    Skip,
}

/// Replies that differ between any two servers (times, ids, addresses, versions).
fn default_norm(args: &[Vec<u8>]) -> Norm {
    let word = |i: usize| {
        args.get(i)
            .map(|a| String::from_utf8_lossy(a).to_ascii_uppercase())
            .unwrap_or_default()
    };
    match (word(0).as_str(), word(1).as_str()) {
        ("INFO" | "TIME" | "HELLO" | "LASTSAVE" | "MEMORY" | "DEBUG" | "LATENCY", _) => {
            Norm::TypeOnly
        }
        ("CLIENT", "ID" | "LIST" | "INFO") => Norm::TypeOnly,
        ("OBJECT", "IDLETIME") | ("SLOWLOG", "GET") => Norm::TypeOnly,
        _ => Norm::Exact,
    }
}

/// [`compare_with`] with no extra server flags.
pub fn compare(script: &[&str]) {
    compare_with(&[], script)
}

/// Replays `script` on a fresh Flint (started with `flint_flags`) and a fresh redis-server, once
/// in RESP2 and once after `HELLO 3`, and asserts the raw replies are identical. Every mismatch
/// is collected and reported together.
///
/// Each line is one command in redis-cli syntax, optionally prefixed:
/// `!sort ` compares after sorting arrays of scalars (KEYS, SCAN with a large COUNT, ...);
/// `!type ` compares only the reply type; `!skip ` sends without comparing;
/// `!sleep <ms>` pauses both. INFO, TIME, HELLO, CLIENT ID/LIST/INFO and the like are compared
/// by type automatically.
pub fn compare_with(flint_flags: &[&str], script: &[&str]) {
    if skip_without_redis() {
        return;
    }
    let mut failures: Vec<String> = Vec::new();
    for proto in [2, 3] {
        let flint = Server::start(flint_flags);
        let redis = Redis::start_with(&redis_flags(flint_flags)).expect("redis-server");
        let connect = |s: &Server| {
            let mut c = s.raw();
            if proto == 3 {
                let r = c.cmd(&["HELLO", "3"]);
                assert_eq!(
                    r.first(),
                    Some(&b'%'),
                    "HELLO 3 failed on {:?}: {}",
                    s.kind,
                    show(&r)
                );
            }
            c
        };
        let mut fc = connect(&flint);
        let mut rc = connect(&redis);
        for (n, line) in script.iter().enumerate() {
            let (norm, rest) = if let Some(r) = line.strip_prefix("!sort ") {
                (Some(Norm::Sorted), r)
            } else if let Some(r) = line.strip_prefix("!type ") {
                (Some(Norm::TypeOnly), r)
            } else if let Some(r) = line.strip_prefix("!skip ") {
                (Some(Norm::Skip), r)
            } else if let Some(ms) = line.strip_prefix("!sleep ") {
                std::thread::sleep(Duration::from_millis(ms.trim().parse().expect("!sleep ms")));
                continue;
            } else {
                (None, *line)
            };
            let args = split_args(rest);
            let norm = norm.unwrap_or_else(|| default_norm(&args));
            let argv: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            let req = encode(&argv);
            rc.send(&req);
            fc.send(&req);
            let want = rc.try_read_reply(REPLY_TIMEOUT);
            let got = fc.try_read_reply(REPLY_TIMEOUT);
            let (want, got) = match (want, got) {
                (Some(w), Some(g)) => (w, g),
                (w, g) => {
                    let (w_closed, g_closed) = (w.is_none(), g.is_none());
                    if w_closed != g_closed {
                        failures.push(format!(
                            "RESP{proto} line {}: `{rest}`\n   redis: {}\n   flint: {}",
                            n + 1,
                            w.map(|w| show(&w)).unwrap_or_else(|| "<no reply>".into()),
                            g.map(|g| show(&g)).unwrap_or_else(|| "<no reply>".into()),
                        ));
                    }
                    // A closed connection (QUIT, protocol error): start afresh on both.
                    fc = connect(&flint);
                    rc = connect(&redis);
                    continue;
                }
            };
            let same = match norm {
                Norm::Exact => want == got,
                Norm::Sorted => {
                    let (mut a, mut b) = (Reply::parse(&want), Reply::parse(&got));
                    a.sort_scalar_arrays();
                    b.sort_scalar_arrays();
                    a == b
                }
                Norm::TypeOnly => want.first() == got.first(),
                Norm::Skip => true,
            };
            if !same {
                failures.push(format!(
                    "RESP{proto} line {}: `{rest}`\n   redis: {}\n   flint: {}",
                    n + 1,
                    show(&want),
                    show(&got)
                ));
            }
        }
    }
    if !failures.is_empty() {
        let shown = failures.len().min(60);
        panic!(
            "{} replies differ from redis-server (first {shown}):\n{}",
            failures.len(),
            failures[..shown].join("\n")
        );
    }
}

/// Runs a command through the `redis` crate and returns its typed result.
pub fn q<T: redis::FromRedisValue>(con: &mut redis::Connection, args: &[&str]) -> T {
    match command(args).query(con) {
        Ok(v) => v,
        Err(e) => panic!("{args:?} failed: {e}"),
    }
}

/// Runs a command through the `redis` crate, expecting an error reply; returns its full text
/// (`ERR ...`, `WRONGTYPE ...`).
pub fn q_err(con: &mut redis::Connection, args: &[&str]) -> String {
    match command(args).query::<redis::Value>(con) {
        Ok(v) => panic!("{args:?} succeeded with {v:?}, an error was expected"),
        Err(e) => error_text(&e),
    }
}

/// The text of an error reply as the server sent it (code and detail).
pub fn error_text(e: &redis::RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => e.to_string(),
    }
}

/// A `redis::Cmd` from words.
pub fn command(args: &[&str]) -> redis::Cmd {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c
}

/// Current Unix time in seconds and milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Polls `f` every 10 ms until it returns true or `timeout` passes; returns the final answer.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Raises the soft open-files limit to the hard limit; returns the limit now in force.
pub fn raise_fd_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return lim.rlim_max;
            }
        }
        lim.rlim_cur
    }
}
