//! Blocking list commands end to end, with several connections: FIFO order among waiters,
//! timeouts (decimals, 0 = forever), wake-ups by every kind of push (LPUSH, RENAME, MULTI/EXEC,
//! BLMOVE chains), CLIENT UNBLOCK, CLIENT KILL, disconnect clean-up, pipelining behind a
//! blocked command, and the `b` flag / blocked_clients counters. Every test also passes against
//! redis-server (`FLINT_TEST_AGAINST_REDIS=1`).

mod common;

use std::time::{Duration, Instant};

use common::{show, wait_until, Raw, Server};

/// A field of INFO, as a number.
fn info_num(r: &mut Raw, field: &str) -> u64 {
    let text = r.cmd_str(&["INFO", "clients"]);
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {text}"))
}

/// Waits until `n` clients are blocked.
fn wait_blocked(r: &mut Raw, n: u64) {
    assert!(
        wait_until(Duration::from_secs(5), || info_num(r, "blocked_clients")
            == n),
        "blocked_clients never reached {n}"
    );
}

/// Sends a command without waiting for its reply.
fn send(r: &mut Raw, args: &[&str]) {
    r.send(&common::encode_str(args));
}

/// Nothing arrives on `r` within `d`.
fn silent(r: &mut Raw, d: Duration) {
    if let Some(reply) = r.try_read_reply(d) {
        panic!("unexpected reply {}", show(&reply));
    }
}

fn arr2(a: &str, b: &str) -> String {
    format!("*2\r\n${}\r\n{a}\r\n${}\r\n{b}\r\n", a.len(), b.len())
}

/// Whether the server has MULTI (it may not yet, in which case MULTI tests are skipped).
fn has_multi(r: &mut Raw) -> bool {
    let ok = r.cmd_str(&["MULTI"]) == "+OK\r\n";
    if ok {
        r.cmd_str(&["DISCARD"]);
    }
    ok
}

#[test]
fn waiters_are_served_in_fifo_order() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    let mut waiters: Vec<Raw> = (0..3).map(|_| s.raw()).collect();
    for (i, w) in waiters.iter_mut().enumerate() {
        send(w, &["BLPOP", "q", "0"]);
        wait_blocked(&mut admin, i as u64 + 1);
    }
    assert_eq!(admin.cmd_str(&["RPUSH", "q", "a", "b"]), ":2\r\n");
    assert_eq!(
        String::from_utf8_lossy(&waiters[0].read_reply()),
        arr2("q", "a")
    );
    assert_eq!(
        String::from_utf8_lossy(&waiters[1].read_reply()),
        arr2("q", "b")
    );
    silent(&mut waiters[2], Duration::from_millis(100));
    assert_eq!(info_num(&mut admin, "blocked_clients"), 1);
    assert_eq!(admin.cmd_str(&["LPUSH", "q", "c"]), ":1\r\n");
    assert_eq!(
        String::from_utf8_lossy(&waiters[2].read_reply()),
        arr2("q", "c")
    );
    assert_eq!(admin.cmd_str(&["EXISTS", "q"]), ":0\r\n");
    assert_eq!(info_num(&mut admin, "blocked_clients"), 0);
}

#[test]
fn timeouts_with_decimals_and_forever() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let start = Instant::now();
    assert_eq!(c.cmd_str(&["BLPOP", "nope", "0.2"]), "*-1\r\n");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(190) && took < Duration::from_secs(2),
        "{took:?}"
    );
    assert_eq!(
        c.cmd_str(&["BLMOVE", "nope", "d", "LEFT", "LEFT", "0.1"]),
        "*-1\r\n"
    );
    assert_eq!(c.cmd_str(&["BRPOPLPUSH", "nope", "d", "0.1"]), "*-1\r\n");
    assert_eq!(
        c.cmd_str(&["BLMPOP", "0.1", "1", "nope", "LEFT"]),
        "*-1\r\n"
    );
    c.cmd(&["HELLO", "3"]);
    assert_eq!(c.cmd_str(&["BRPOP", "nope", "0.1"]), "_\r\n");
    assert_eq!(
        c.cmd_str(&["BLMOVE", "nope", "d", "LEFT", "LEFT", "0.1"]),
        "_\r\n"
    );
    // 0 waits until a later push.
    let mut w = s.raw();
    send(&mut w, &["BRPOP", "k", "0"]);
    let mut p = s.raw();
    wait_blocked(&mut p, 1);
    silent(&mut w, Duration::from_millis(300));
    assert_eq!(p.cmd_str(&["RPUSH", "k", "x", "y"]), ":2\r\n");
    assert_eq!(String::from_utf8_lossy(&w.read_reply()), arr2("k", "y"));
    assert_eq!(p.cmd_str(&["LRANGE", "k", "0", "-1"]), "*1\r\n$1\r\nx\r\n");
}

#[test]
fn pipelined_commands_wait_for_the_blocked_one() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let mut batch = common::encode_str(&["BLPOP", "nope", "0.2"]);
    batch.extend(common::encode_str(&["PING"]));
    batch.extend(common::encode_str(&["RPUSH", "nope", "v"]));
    let start = Instant::now();
    c.send(&batch);
    assert_eq!(c.read_reply(), b"*-1\r\n");
    assert!(start.elapsed() >= Duration::from_millis(190));
    assert_eq!(c.read_reply(), b"+PONG\r\n");
    assert_eq!(c.read_reply(), b":1\r\n");
    // Served, then the pipeline continues.
    let mut w = s.raw();
    let mut batch = common::encode_str(&["BLPOP", "k", "0"]);
    batch.extend(common::encode_str(&["LLEN", "k"]));
    w.send(&batch);
    wait_blocked(&mut c, 1);
    c.cmd(&["RPUSH", "k", "1", "2"]);
    assert_eq!(String::from_utf8_lossy(&w.read_reply()), arr2("k", "1"));
    assert_eq!(w.read_reply(), b":1\r\n");
}

#[test]
fn woken_by_rename_copy_and_moves() {
    let s = Server::start(&[]);
    let mut p = s.raw();
    let mut w = s.raw();
    send(&mut w, &["BLPOP", "target", "0"]);
    wait_blocked(&mut p, 1);
    // Another type under the key does not wake it.
    p.cmd(&["SET", "target", "str"]);
    silent(&mut w, Duration::from_millis(100));
    p.cmd(&["DEL", "target"]);
    p.cmd(&["RPUSH", "src", "a", "b"]);
    assert_eq!(p.cmd_str(&["RENAME", "src", "target"]), "+OK\r\n");
    assert_eq!(
        String::from_utf8_lossy(&w.read_reply()),
        arr2("target", "a")
    );
    // MOVE from another database.
    send(&mut w, &["BRPOP", "m", "0"]);
    wait_blocked(&mut p, 1);
    p.cmd(&["SELECT", "1"]);
    p.cmd(&["RPUSH", "m", "from1"]);
    assert_eq!(p.cmd_str(&["MOVE", "m", "0"]), ":1\r\n");
    assert_eq!(String::from_utf8_lossy(&w.read_reply()), arr2("m", "from1"));
    // SWAPDB.
    send(&mut w, &["BLPOP", "sw", "0"]);
    wait_blocked(&mut p, 1);
    p.cmd(&["RPUSH", "sw", "in1"]);
    assert_eq!(p.cmd_str(&["SWAPDB", "0", "1"]), "+OK\r\n");
    assert_eq!(String::from_utf8_lossy(&w.read_reply()), arr2("sw", "in1"));
}

#[test]
fn blmove_chains() {
    let s = Server::start(&[]);
    let mut p = s.raw();
    let mut a = s.raw();
    let mut b = s.raw();
    let mut c = s.raw();
    send(&mut a, &["BLMOVE", "k1", "k2", "LEFT", "RIGHT", "0"]);
    wait_blocked(&mut p, 1);
    send(&mut b, &["BRPOPLPUSH", "k2", "k3", "0"]);
    wait_blocked(&mut p, 2);
    send(
        &mut c,
        &["BLMPOP", "0", "2", "nope", "k3", "LEFT", "COUNT", "5"],
    );
    wait_blocked(&mut p, 3);
    assert_eq!(p.cmd_str(&["LPUSH", "k1", "v"]), ":1\r\n");
    assert_eq!(a.read_reply(), b"$1\r\nv\r\n");
    assert_eq!(b.read_reply(), b"$1\r\nv\r\n");
    assert_eq!(
        String::from_utf8_lossy(&c.read_reply()),
        "*2\r\n$2\r\nk3\r\n*1\r\n$1\r\nv\r\n"
    );
    assert_eq!(p.cmd_str(&["DBSIZE"]), ":0\r\n");
    assert_eq!(info_num(&mut p, "blocked_clients"), 0);
}

#[test]
fn client_unblock_both_modes_and_flags() {
    let s = Server::start(&[]);
    let mut p = s.raw();
    let mut w = s.raw();
    let id = String::from_utf8_lossy(&w.cmd(&["CLIENT", "ID"]))
        .trim_start_matches(':')
        .trim()
        .to_string();
    assert_eq!(p.cmd_str(&["CLIENT", "UNBLOCK", &id]), ":0\r\n");
    send(&mut w, &["BLPOP", "k", "0"]);
    wait_blocked(&mut p, 1);
    let list = p.cmd_str(&["CLIENT", "LIST", "ID", &id]);
    assert!(list.contains("flags=b "), "{list}");
    assert!(list.contains("cmd=blpop "), "{list}");
    assert_eq!(p.cmd_str(&["CLIENT", "UNBLOCK", &id]), ":1\r\n");
    assert_eq!(w.read_reply(), b"*-1\r\n");
    let list = p.cmd_str(&["CLIENT", "LIST", "ID", &id]);
    assert!(list.contains("flags=N "), "{list}");
    send(&mut w, &["BLMOVE", "k", "d", "LEFT", "LEFT", "5"]);
    wait_blocked(&mut p, 1);
    assert_eq!(info_num(&mut p, "clients_in_timeout_table"), 1);
    assert_eq!(p.cmd_str(&["CLIENT", "UNBLOCK", &id, "ERROR"]), ":1\r\n");
    assert_eq!(
        String::from_utf8_lossy(&w.read_reply()),
        "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    assert_eq!(p.cmd_str(&["CLIENT", "UNBLOCK", &id, "ERROR"]), ":0\r\n");
    assert_eq!(info_num(&mut p, "blocked_clients"), 0);
    assert_eq!(info_num(&mut p, "clients_in_timeout_table"), 0);
    // The unblocked client goes on as usual.
    assert_eq!(w.cmd_str(&["PING"]), "+PONG\r\n");
}

#[test]
fn disconnect_and_kill_remove_the_waiter() {
    let s = Server::start(&[]);
    let mut p = s.raw();
    {
        let mut w = s.raw();
        send(&mut w, &["BLPOP", "k", "0"]);
        wait_blocked(&mut p, 1);
    }
    // The closed connection's waiter is gone: the pushed element stays.
    wait_blocked(&mut p, 0);
    assert_eq!(p.cmd_str(&["RPUSH", "k", "v"]), ":1\r\n");
    assert_eq!(p.cmd_str(&["LLEN", "k"]), ":1\r\n");
    let mut w = s.raw();
    let id = String::from_utf8_lossy(&w.cmd(&["CLIENT", "ID"]))
        .trim_start_matches(':')
        .trim()
        .to_string();
    send(&mut w, &["BLPOP", "other", "0"]);
    wait_blocked(&mut p, 1);
    assert_eq!(p.cmd_str(&["CLIENT", "KILL", "ID", &id]), ":1\r\n");
    assert!(w.closed_within(Duration::from_secs(5)));
    wait_blocked(&mut p, 0);
}

#[test]
fn multi_exec_wakes_waiters_and_does_not_block() {
    let s = Server::start(&[]);
    let mut p = s.raw();
    if !has_multi(&mut p) {
        println!("skipped: MULTI not available");
        return;
    }
    // Blocking commands inside MULTI reply at once.
    p.cmd(&["MULTI"]);
    p.cmd(&["BLPOP", "nope", "0"]);
    p.cmd(&["BLMOVE", "nope", "d", "LEFT", "LEFT", "0"]);
    assert_eq!(
        p.cmd_str(&["EXEC"]),
        "*2\r\n*-1\r\n$-1\r\n",
        "blocking commands in MULTI"
    );
    // A push inside MULTI wakes the waiter once EXEC ran.
    let mut w = s.raw();
    send(&mut w, &["BLPOP", "k", "0"]);
    wait_blocked(&mut p, 1);
    p.cmd(&["MULTI"]);
    p.cmd(&["RPUSH", "k", "a", "b"]);
    p.cmd(&["LPOP", "k"]);
    assert_eq!(p.cmd_str(&["EXEC"]), "*2\r\n:2\r\n$1\r\na\r\n");
    assert_eq!(String::from_utf8_lossy(&w.read_reply()), arr2("k", "b"));
}
