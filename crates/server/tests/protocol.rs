//! Wire-level tests over raw sockets: pipelining, inline commands, requests split across many
//! writes, RESP3, protocol errors (reply then close), and the size, client-count and idle limits.
//! Expected bytes are those redis-server 7.0 sends.

mod common;

use std::time::{Duration, Instant};

use common::{encode_str, show, Server};

const CLOSE_WAIT: Duration = Duration::from_secs(5);

#[test]
fn pipeline_of_1000_commands_in_one_write() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let mut req = Vec::new();
    for i in 0..1000 {
        match i % 3 {
            0 => req.extend(encode_str(&["SET", &format!("k{i}"), &format!("v{i}")])),
            1 => req.extend(encode_str(&["GET", &format!("k{}", i - 1)])),
            _ => req.extend(encode_str(&["ECHO", &i.to_string()])),
        }
    }
    c.send(&req);
    for i in 0..1000 {
        let want = match i % 3 {
            0 => "+OK\r\n".to_string(),
            1 => {
                let v = format!("v{}", i - 1);
                format!("${}\r\n{v}\r\n", v.len())
            }
            _ => format!("${}\r\n{i}\r\n", i.to_string().len()),
        };
        assert_eq!(show(&c.read_reply()), show(want.as_bytes()), "reply {i}");
    }
}

#[test]
fn inline_commands() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.send(b"SET greeting \"hello world\"\r\n");
    assert_eq!(c.read_reply(), b"+OK\r\n");
    // A bare \n ends an inline command too; empty lines are ignored.
    c.send(b"\r\n\nGET greeting\n");
    assert_eq!(c.read_reply(), b"$11\r\nhello world\r\n");
    c.send(b"ECHO 'it''s'\r\nPING\r\n");
    assert_eq!(
        c.read_reply(),
        b"-ERR Protocol error: unbalanced quotes in request\r\n"
    );
    assert!(c.closed_within(CLOSE_WAIT));

    let mut c = s.raw();
    c.send(b"ECHO \"a\\x41\\n\"\r\n");
    assert_eq!(c.read_reply(), b"$3\r\naA\n\r\n");
    c.send(b"   PING   \r\n");
    assert_eq!(c.read_reply(), b"+PONG\r\n");
    c.send(b"NOSUCHCMD a b\r\n");
    assert_eq!(
        show(&c.read_reply()),
        "-ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b' \\r\\n"
    );
}

#[test]
fn command_split_across_many_small_writes() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let mut req = encode_str(&["SET", "split", "value"]);
    req.extend(encode_str(&["GET", "split"]));
    for b in &req {
        c.send(std::slice::from_ref(b));
        std::thread::sleep(Duration::from_micros(200));
    }
    assert_eq!(c.read_reply(), b"+OK\r\n");
    assert_eq!(c.read_reply(), b"$5\r\nvalue\r\n");

    // A 300 KB value in 1 KB pieces.
    let big = "x".repeat(300_000);
    let req = encode_str(&["SET", "big", &big]);
    for chunk in req.chunks(1024) {
        c.send(chunk);
    }
    assert_eq!(c.read_reply(), b"+OK\r\n");
    let got = c.cmd(&["GET", "big"]);
    assert_eq!(got.len(), 300_000 + "$300000\r\n\r\n".len());
}

#[test]
fn binary_safe_values() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let value: &[u8] = b"a\r\nb\0c\xff";
    assert_eq!(c.cmd_bytes(&[b"SET", b"bin\0key", value]), b"+OK\r\n");
    assert_eq!(
        c.cmd_bytes(&[b"GET", b"bin\0key"]),
        b"$7\r\na\r\nb\0c\xff\r\n"
    );
    let mut con = s.conn();
    let v: Vec<u8> = redis::cmd("GET").arg(b"bin\0key").query(&mut con).unwrap();
    assert_eq!(v, value);
}

#[test]
fn resp3_after_hello_3() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["GET", "missing"]), b"$-1\r\n");
    let hello = c.cmd(&["HELLO", "3"]);
    assert_eq!(hello.first(), Some(&b'%'), "{}", show(&hello));
    let text = show(&hello);
    assert!(text.contains("$5\\r\\nproto\\r\\n:3\\r\\n"), "{text}");
    assert_eq!(c.cmd(&["GET", "missing"]), b"_\r\n");
    assert_eq!(c.cmd(&["SET", "f", "1.5"]), b"+OK\r\n");
    assert_eq!(c.cmd(&["INCRBYFLOAT", "f", "1"]), b"$3\r\n2.5\r\n");
    assert_eq!(
        c.cmd(&["MGET", "f", "missing"]),
        b"*2\r\n$3\r\n2.5\r\n_\r\n"
    );
    let hello = c.cmd(&["HELLO", "2"]);
    assert_eq!(hello.first(), Some(&b'*'), "{}", show(&hello));
    assert_eq!(c.cmd(&["GET", "missing"]), b"$-1\r\n");
}

/// Sends `input` on a new connection and expects `reply` followed by the server closing.
fn expect_error_and_close(s: &Server, input: &[u8], reply: &str) {
    let mut c = s.raw();
    c.send(input);
    let (got, closed) = c.read_until_close(CLOSE_WAIT);
    assert_eq!(
        show(&got),
        show(reply.as_bytes()),
        "for input {}",
        show(input)
    );
    assert!(closed, "connection left open after {}", show(input));
}

#[test]
fn protocol_errors_reply_then_close() {
    let s = Server::start(&[]);
    let invalid_mbulk = "-ERR Protocol error: invalid multibulk length\r\n";
    let invalid_bulk = "-ERR Protocol error: invalid bulk length\r\n";
    expect_error_and_close(&s, b"*x\r\n", invalid_mbulk);
    expect_error_and_close(&s, b"*2147483648\r\n", invalid_mbulk);
    expect_error_and_close(&s, b"*1\r\n$-5\r\n", invalid_bulk);
    expect_error_and_close(&s, b"*1\r\n$-1\r\n", invalid_bulk);
    expect_error_and_close(&s, b"*1\r\n$abc\r\n", invalid_bulk);
    expect_error_and_close(&s, b"*1\r\n$536870913\r\n", invalid_bulk);
    expect_error_and_close(
        &s,
        b"*1\r\n+a\r\n",
        "-ERR Protocol error: expected '$', got '+'\r\n",
    );
    expect_error_and_close(
        &s,
        b"*2\r\n$4\r\nECHO\r\n:12\r\n",
        "-ERR Protocol error: expected '$', got ':'\r\n",
    );
    expect_error_and_close(
        &s,
        b"SET \"a b\r\n",
        "-ERR Protocol error: unbalanced quotes in request\r\n",
    );
    // Commands before the bad one are answered first.
    expect_error_and_close(
        &s,
        b"PING\r\n*1\r\n$4\r\nPING\r\n*y\r\nPING\r\n",
        "+PONG\r\n+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n",
    );
    // `$-5` outside a multibulk is an inline command named `$-5`.
    let mut c = s.raw();
    c.send(b"$-5\r\n");
    assert_eq!(
        show(&c.read_reply()),
        show(b"-ERR unknown command '$-5', with args beginning with: \r\n")
    );
    // Empty and negative multibulks are ignored.
    c.send(b"*0\r\n*-1\r\nPING\r\n");
    assert_eq!(c.read_reply(), b"+PONG\r\n");
    assert!(s.raw().cmd(&["PING"]) == b"+PONG\r\n");
}

#[test]
fn too_big_inline_request() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.send(&vec![b'a'; 70 * 1024]);
    let (got, closed) = c.read_until_close(CLOSE_WAIT);
    assert_eq!(
        show(&got),
        "-ERR Protocol error: too big inline request\\r\\n"
    );
    assert!(closed);
}

#[test]
fn unauthenticated_clients_get_small_limits() {
    let s = Server::start(&["--requirepass", "secret"]);
    expect_error_and_close(
        &s,
        b"*20000\r\n",
        "-ERR Protocol error: unauthenticated multibulk length\r\n",
    );
    expect_error_and_close(
        &s,
        b"*1\r\n$20000\r\n",
        "-ERR Protocol error: unauthenticated bulk length\r\n",
    );
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["AUTH", "secret"]), "+OK\r\n");
    c.send(b"*20000\r\n");
    assert!(c.try_read_reply(Duration::from_millis(200)).is_none());
}

#[test]
fn bulk_over_proto_max_bulk_len_flag() {
    let s = Server::start(&["--proto-max-bulk-len", "1mb"]);
    expect_error_and_close(
        &s,
        b"*2\r\n$4\r\nECHO\r\n$2000000\r\n",
        "-ERR Protocol error: invalid bulk length\r\n",
    );
    let mut c = s.raw();
    let ok = "y".repeat(1024 * 1024);
    assert_eq!(c.cmd(&["SET", "k", &ok]), b"+OK\r\n");
}

#[test]
fn bulk_over_proto_max_bulk_len_config_set() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd_str(&["CONFIG", "SET", "proto-max-bulk-len", "1mb"]),
        "+OK\r\n"
    );
    expect_error_and_close(
        &s,
        b"*2\r\n$4\r\nECHO\r\n$2000000\r\n",
        "-ERR Protocol error: invalid bulk length\r\n",
    );
}

#[test]
fn query_buffer_limit_closes_the_connection() {
    let s = Server::start(&["--client-query-buffer-limit", "1mb"]);
    // 2 MB with no newline: the inline limit answers first, then the connection closes.
    let mut c = s.raw();
    c.send(&vec![b'a'; 2 << 20]);
    let (got, closed) = c.read_until_close(CLOSE_WAIT);
    assert!(closed, "still open; got {}", show(&got));
    // One 3 MB argument (allowed by proto-max-bulk-len) overflows the 1 MB query buffer: closed.
    let mut c = s.raw();
    c.send(b"*2\r\n$4\r\nECHO\r\n$3000000\r\n");
    c.send(&vec![b'b'; 2 << 20]);
    let (got, closed) = c.read_until_close(CLOSE_WAIT);
    assert!(closed, "still open; got {}", show(&got));
    assert!(got.is_empty(), "unexpected reply {}", show(&got));
    assert_eq!(s.raw().cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn maxclients_rejects_the_extra_client() {
    let s = Server::start(&["--maxclients", "2"]);
    // The harness's readiness probe may still hold a slot for a moment: retry until admitted.
    let admitted = || {
        let mut got = None;
        common::wait_until(Duration::from_secs(3), || {
            let mut c = s.raw();
            let ok = c.cmd(&["PING"]) == b"+PONG\r\n";
            if ok {
                got = Some(c);
            }
            ok
        });
        got.expect("no slot became free")
    };
    let a = admitted();
    let mut b = admitted();
    let mut third = s.raw();
    let (got, closed) = third.read_until_close(CLOSE_WAIT);
    assert_eq!(show(&got), "-ERR max number of clients reached\\r\\n");
    assert!(closed);
    drop(a);
    // The freed slot is usable again once the server notices the close.
    drop(admitted());
    assert_eq!(b.cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn idle_timeout_closes_connections() {
    let s = Server::start(&["--timeout", "1"]);
    let mut idle = s.raw();
    let mut busy = s.raw();
    assert_eq!(idle.cmd(&["PING"]), b"+PONG\r\n");
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1600) {
        assert_eq!(busy.cmd(&["PING"]), b"+PONG\r\n");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (_, closed) = idle.read_until_close(Duration::from_secs(3));
    assert!(closed, "idle connection still open after the timeout");
    assert_eq!(busy.cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn quit_answers_then_closes_and_drops_the_rest() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.send(b"PING\r\nQUIT\r\nSET after quit\r\n");
    let (got, closed) = c.read_until_close(CLOSE_WAIT);
    assert_eq!(show(&got), "+PONG\\r\\n+OK\\r\\n");
    assert!(closed);
    assert_eq!(s.raw().cmd(&["GET", "after"]), b"$-1\r\n");
}

#[test]
fn large_values_through_the_redis_crate() {
    let s = Server::start(&[]);
    let mut con = s.conn();
    let big: Vec<u8> = (0..4_000_000u32).map(|i| (i % 251) as u8).collect();
    let _: () = redis::cmd("SET")
        .arg("big")
        .arg(&big)
        .query(&mut con)
        .unwrap();
    let back: Vec<u8> = redis::cmd("GET").arg("big").query(&mut con).unwrap();
    assert_eq!(back, big);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_clients_pipeline_concurrently() {
    let s = Server::start(&[]);
    let mut tasks = Vec::new();
    for t in 0..8 {
        let mut con = s.aconn().await;
        tasks.push(tokio::spawn(async move {
            let mut pipe = redis::pipe();
            for i in 0..200 {
                pipe.cmd("SET").arg(format!("t{t}:{i}")).arg(i).ignore();
            }
            for i in 0..200 {
                pipe.cmd("GET").arg(format!("t{t}:{i}"));
            }
            let got: Vec<i64> = pipe.query_async(&mut con).await.unwrap();
            assert_eq!(got, (0..200).collect::<Vec<i64>>());
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}
