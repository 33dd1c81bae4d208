//! Hostile clients: random bytes, absurd declared lengths, half-sent commands, clients that vanish
//! while a reply is on its way, and 10k idle connections. Each may get errors or be disconnected;
//! the server must stay up, keep its memory bounded, and go on serving new clients.

mod common;

use std::time::Duration;

use common::{encode_str, Raw, Server};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Asserts the server process is alive and serves a fresh client correctly.
fn assert_serving(s: &mut Server) {
    assert!(s.is_running(), "server died; log:\n{}", s.log());
    let mut c = s.raw();
    assert_eq!(c.cmd(&["PING"]), b"+PONG\r\n");
    assert_eq!(c.cmd(&["SET", "alive-check", "1"]), b"+OK\r\n");
    assert_eq!(c.cmd(&["GET", "alive-check"]), b"$1\r\n1\r\n");
}

/// Words that make random input look like commands, without ones that would stop the server,
/// block it, or make it allocate a lot on purpose (SETRANGE with a huge offset is legal).
const WORDS: &[&str] = &[
    "SET",
    "GET",
    "INCR",
    "DECRBY",
    "MGET",
    "MSET",
    "DEL",
    "EXISTS",
    "ECHO",
    "PING",
    "GETRANGE",
    "STRLEN",
    "TYPE",
    "TTL",
    "EXPIRE",
    "SCAN",
    "HELLO",
    "SELECT",
    "EX",
    "PX",
    "NX",
    "XX",
    "k",
    "v",
    "0",
    "-1",
    "3",
    "99999999999999999999",
    "\"",
    "'",
    "\\x",
    "",
];

/// One hostile payload: pure noise, or RESP-shaped noise with random counts and lengths.
fn payload(rng: &mut StdRng) -> Vec<u8> {
    let mut out = Vec::new();
    match rng.gen_range(0..3) {
        0 => {
            let n = rng.gen_range(1..8192);
            out.extend((0..n).map(|_| rng.gen::<u8>()));
        }
        1 => {
            for _ in 0..rng.gen_range(1..40) {
                match rng.gen_range(0..8) {
                    0 => out.extend(format!("*{}\r\n", rng.gen_range(-3i64..20)).bytes()),
                    1 => out.extend(format!("${}\r\n", rng.gen_range(-3i64..40)).bytes()),
                    2 => out.extend(format!("*{}\r\n", rng.gen::<i64>()).bytes()),
                    3 => out.extend(format!("${}\r\n", rng.gen::<u32>()).bytes()),
                    4 => out.extend(b"\r\n"),
                    5 => out.push(rng.gen()),
                    _ => {
                        let w = WORDS[rng.gen_range(0..WORDS.len())];
                        out.extend(w.bytes());
                        out.push(if rng.gen_bool(0.5) { b' ' } else { b'\n' });
                    }
                }
            }
        }
        _ => {
            // Well-formed arrays of random words (mostly unknown or wrong-arity commands).
            for _ in 0..rng.gen_range(1..20) {
                let argc = rng.gen_range(1..5);
                let args: Vec<&str> = (0..argc)
                    .map(|_| WORDS[rng.gen_range(0..WORDS.len())])
                    .collect();
                out.extend(encode_str(&args));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bytes_on_200_connections() {
    let mut s = Server::start(&[]);
    let mut rng = StdRng::seed_from_u64(0x5eed_f11e);
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let data = payload(&mut rng);
        let cut = rng.gen_range(1..=data.len().max(1));
        let port = s.port;
        tasks.push(tokio::spawn(async move {
            let Ok(mut c) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
                return;
            };
            // Two writes, so the parser also sees the noise split at a random point.
            let _ = c.write_all(&data[..cut.min(data.len())]).await;
            let _ = c.write_all(&data[cut.min(data.len())..]).await;
            let mut sink = vec![0u8; 65536];
            let _ = tokio::time::timeout(Duration::from_millis(300), async {
                while let Ok(n) = c.read(&mut sink).await {
                    if n == 0 {
                        break;
                    }
                }
            })
            .await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_serving(&mut s);
}

#[test]
fn huge_declared_lengths_do_not_allocate() {
    let mut s = Server::start(&[]);
    assert_serving(&mut s);
    let before = s.rss_kb();
    let mut held = Vec::new();
    for i in 0..40 {
        let mut c = s.raw();
        match i % 4 {
            0 => c.send(b"*2147483647\r\n"),
            1 => c.send(b"*1\r\n$536870912\r\n"),
            2 => c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870912\r\nsome bytes"),
            _ => c.send(b"*2147483647\r\n$536870912\r\nabc"),
        }
        held.push(c);
    }
    // Let the server read all of it, then look at its memory while the clients are still there.
    std::thread::sleep(Duration::from_millis(300));
    assert_serving(&mut s);
    let during = s.rss_kb();
    assert!(
        during.saturating_sub(before) < 200 * 1024,
        "RSS grew from {before} KiB to {during} KiB for declared lengths alone"
    );
    drop(held);
    std::thread::sleep(Duration::from_millis(100));
    assert_serving(&mut s);
    println!("RSS before {before} KiB, with 40 huge declarations {during} KiB");
}

#[test]
fn half_sent_commands_then_disconnect() {
    let mut s = Server::start(&[]);
    let mut rng = StdRng::seed_from_u64(42);
    let full = [
        encode_str(&["SET", "half", "written"]),
        encode_str(&["MSET", "h1", "a", "h2", "b"]),
        b"*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$100000\r\n".to_vec(),
        b"SET half inline".to_vec(),
    ];
    for i in 0..100 {
        let req = &full[i % full.len()];
        let cut = rng.gen_range(1..req.len());
        let mut c = s.raw();
        c.send(&req[..cut]);
        if i % 10 == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(c);
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_serving(&mut s);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["GET", "half"]), b"$-1\r\n");
    assert_eq!(c.cmd(&["GET", "h1"]), b"$-1\r\n");
}

#[test]
fn clients_vanishing_while_replies_are_written() {
    let mut s = Server::start(&[]);
    let mut c = s.raw();
    let big = "v".repeat(1 << 20);
    assert_eq!(c.cmd(&["SET", "big", &big]), b"+OK\r\n");
    for _ in 0..20 {
        let mut r = s.raw();
        let mut req = Vec::new();
        for _ in 0..50 {
            req.extend(encode_str(&["GET", "big"]));
        }
        r.send(&req);
        drop(r);
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_serving(&mut s);
}

#[test]
fn ten_thousand_idle_connections() {
    const N: usize = 10_000;
    let limit = common::raise_fd_limit();
    if limit < (N as u64) + 500 {
        println!(
            "skipped: open-files limit {limit} is too low for {N} connections (raise ulimit -n)"
        );
        return;
    }
    let mut s = Server::start(&["--maxclients", "20000"]);
    let before = s.rss_kb();
    let mut idle: Vec<Raw> = Vec::with_capacity(N);
    for i in 0..N {
        let c = match Raw::try_connect(s.port) {
            Ok(c) => c,
            Err(e) => panic!("connection {i} failed: {e}"),
        };
        idle.push(c);
        if i % 500 == 499 {
            // Accepts are in order: once the newest answers, all before it were accepted.
            let last = idle.last_mut().unwrap();
            assert_eq!(last.cmd(&["PING"]), b"+PONG\r\n", "connection {i}");
        }
    }
    assert_serving(&mut s);
    for c in idle.iter_mut().step_by(997) {
        assert_eq!(c.cmd(&["PING"]), b"+PONG\r\n");
    }
    let during = s.rss_kb();
    println!(
        "RSS {before} KiB -> {during} KiB with {N} idle connections ({} bytes each)",
        (during.saturating_sub(before) * 1024) / N as u64
    );
    drop(idle);
    std::thread::sleep(Duration::from_millis(200));
    assert_serving(&mut s);
}
