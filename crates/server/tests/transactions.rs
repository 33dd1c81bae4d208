//! Transactions end to end: MULTI, EXEC, DISCARD, WATCH, UNWATCH with real clients. Replies and
//! errors are compared with redis-server (RESP2 and RESP3); WATCH is exercised with a second
//! client writing, expiring, flushing and swapping databases; a stress test checks that EXEC is
//! atomic against clients running in parallel.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{compare, Raw, Server};

fn s(r: Vec<u8>) -> String {
    String::from_utf8_lossy(&r).into_owned()
}

#[test]
fn replies_match_redis() {
    compare(&[
        "COMMAND INFO multi exec discard watch unwatch",
        "COMMAND GETKEYS WATCH a b c",
        "MULTI",
        "SET a 1",
        "INCR a",
        "SETRANGE a -1 x",
        "GET a",
        "EXEC",
        "EXEC",
        "EXEC x",
        "DISCARD",
        "UNWATCH",
        "WATCH",
        "MULTI x",
        // Errors of the transaction commands themselves do not abort it.
        "MULTI",
        "MULTI",
        "WATCH x",
        "PING",
        "EXEC",
        // Rejected while queueing: EXECABORT.
        "MULTI",
        "NOPE 1 2",
        "PING",
        "EXEC",
        "MULTI",
        "GET",
        "EXEC",
        "MULTI",
        "CONFIG NOPE",
        "EXEC",
        "MULTI",
        "SHUTDOWN",
        "EXEC",
        "MULTI",
        "EXEC x",
        "EXEC",
        "MULTI",
        "DISCARD x",
        "DISCARD",
        // Run-time errors stay in the array and the rest runs.
        "SET s str",
        "MULTI",
        "INCR s",
        "SET t 1",
        "INCRBYFLOAT s 1",
        "GET t",
        "EXEC",
        "MULTI",
        "EXEC",
        "MULTI",
        "UNWATCH",
        "DISCARD",
        "MULTI",
        "MONITOR",
        "EXEC",
        "MULTI",
        "SELECT 1",
        "SET a in1",
        "SELECT 0",
        "GET a",
        "EXEC",
        "SELECT 1",
        "GET a",
        "SELECT 0",
        "MULTI",
        "!type CLIENT LIST",
        "!type EXEC",
        // WATCH: own writes before MULTI touch.
        "SET w 1",
        "WATCH w",
        "SET w 2",
        "MULTI",
        "SET w 3",
        "EXEC",
        "GET w",
        "WATCH w",
        "UNWATCH",
        "SET w 4",
        "MULTI",
        "PING",
        "EXEC",
        "WATCH w w nokey",
        "GET w",
        "MULTI",
        "SET w 5",
        "EXEC",
        "WATCH w",
        "MULTI",
        "DISCARD",
        "SET w 6",
        "MULTI",
        "EXEC",
        // FLUSH*: only keys that existed; SWAPDB: keys in either database.
        "WATCH nokey",
        "FLUSHDB",
        "MULTI",
        "EXEC",
        "SET f 1",
        "WATCH f",
        "FLUSHALL",
        "MULTI",
        "EXEC",
        "SELECT 1",
        "SET sw 1",
        "SELECT 0",
        "WATCH sw",
        "SWAPDB 0 1",
        "MULTI",
        "EXEC",
        "WATCH nokey2",
        "SWAPDB 0 1",
        "MULTI",
        "EXEC",
        "SET sw0 1",
        "WATCH sw0",
        "SWAPDB 0 0",
        "MULTI",
        "EXEC",
        "FLUSHALL",
        // Expiry: a key that expires between WATCH and EXEC fails it; one already expired
        // (still stored) when WATCHed does not.
        "DEBUG SET-ACTIVE-EXPIRE 0",
        "SET e1 v PX 30",
        "!sleep 60",
        "WATCH e1",
        "MULTI",
        "PING",
        "EXEC",
        "SET e2 v PX 60",
        "WATCH e2",
        "!sleep 90",
        "MULTI",
        "PING",
        "EXEC",
        "SET e3 v PX 30",
        "!sleep 60",
        "WATCH e3",
        "FLUSHALL",
        "MULTI",
        "PING",
        "EXEC",
        "SET e4 v PX 30",
        "!sleep 60",
        "WATCH e4",
        "SET e4 again",
        "MULTI",
        "PING",
        "EXEC",
        "SET e5 v PX 30",
        "!sleep 60",
        "WATCH e5",
        "GET e5",
        "MULTI",
        "PING",
        "EXEC",
        "DEBUG SET-ACTIVE-EXPIRE 1",
        // QUIT and RESET run inside MULTI.
        "MULTI",
        "SET q 1",
        "QUIT",
        "EXEC",
        "GET q",
        "WATCH w",
        "MULTI",
        "SET q 1",
        "RESET",
        "EXEC",
        "GET q",
        // HELLO inside MULTI switches the protocol midway through EXEC's array.
        "MULTI",
        "HELLO 3",
        "GET nokey",
        "!type EXEC",
        "GET nokey",
        "MULTI",
        "SET x 1",
        "HELLO 2",
        "GET nokey",
        "!type EXEC",
        "GET nokey",
    ]);
}

#[test]
fn without_authentication() {
    // Replies as redis-server 7.0 gives them (checked by hand: `compare` needs HELLO 3).
    let srv = Server::start(&["--requirepass", "pw"]);
    let mut c = srv.raw();
    let noauth = "-NOAUTH Authentication required.\r\n";
    for (args, want) in [
        (&["EXEC"][..], "-EXECABORT Transaction discarded because of: NOAUTH Authentication required.\r\n"),
        (&["EXEC", "x"], "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"),
        (&["MULTI"], noauth),
        (&["DISCARD"], noauth),
        (&["WATCH", "k"], noauth),
        (&["UNWATCH"], noauth),
        (&["AUTH", "pw"], "+OK\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["AUTH", "pw"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+OK\r\n"),
    ] {
        assert_eq!(cmd(&mut c, args), want, "{args:?}");
    }
}

/// Sends one command, returns the reply as text.
fn cmd(c: &mut Raw, args: &[&str]) -> String {
    c.cmd_str(args)
}

#[test]
fn watch_with_a_second_client() {
    let srv = Server::start(&[]);
    let mut a = srv.raw();
    let mut b = srv.raw();
    let touched = |a: &mut Raw, b: &mut Raw, setup: &[&[&str]], write: &[&str]| {
        cmd(b, &["FLUSHALL"]);
        for c in setup {
            cmd(b, c);
        }
        assert_eq!(cmd(a, &["WATCH", "k"]), "+OK\r\n");
        cmd(b, write);
        cmd(a, &["MULTI"]);
        assert_eq!(cmd(a, &["SET", "mine", "1"]), "+QUEUED\r\n");
        let r = cmd(a, &["EXEC"]);
        // Unwatched either way.
        assert_eq!(cmd(a, &["UNWATCH"]), "+OK\r\n");
        r
    };
    let null = "*-1\r\n";
    let ran = "*1\r\n+OK\r\n";
    let k = &["SET", "k", "1"][..];
    for (setup, write, want) in [
        (vec![k], &["SET", "k", "2"][..], null),
        (vec![k], &["DEL", "k"], null),
        (vec![k], &["INCR", "k"], null),
        (vec![k], &["APPEND", "k", "x"], null),
        (vec![k], &["EXPIRE", "k", "100"], null),
        (vec![k], &["RENAME", "k", "k2"], null),
        (vec![k], &["MOVE", "k", "1"], null),
        (vec![&["SET", "z", "1"][..]], &["RENAME", "z", "k"], null),
        (vec![&["SET", "z", "1"][..]], &["COPY", "z", "k"], null),
        (vec![k], &["FLUSHDB"], null),
        (vec![k], &["FLUSHALL", "ASYNC"], null),
        (vec![], &["FLUSHALL"], ran),
        (vec![k], &["SWAPDB", "0", "1"], null),
        (vec![], &["SWAPDB", "0", "1"], ran),
        (vec![k], &["GET", "k"], ran),
        (vec![k], &["SET", "other", "1"], ran),
        (vec![k], &["DEL", "nokey"], ran),
        (vec![], &["DEL", "k"], ran),
        // A missing key that another client creates.
        (vec![], &["SET", "k", "1"], null),
        // The same name in another database is another key.
        (vec![&["SELECT", "2"][..]], &["SET", "k", "1"], ran),
    ] {
        let got = touched(&mut a, &mut b, &setup, write);
        cmd(&mut b, &["SELECT", "0"]);
        assert_eq!(got, want, "{setup:?} then {write:?}");
    }
    // Touched keys show the `d` flag in CLIENT LIST, MULTI the `x` flag and the queue length.
    cmd(&mut b, &["SET", "k", "1"]);
    cmd(&mut a, &["CLIENT", "SETNAME", "watcher"]);
    cmd(&mut a, &["WATCH", "k"]);
    cmd(&mut b, &["SET", "k", "2"]);
    cmd(&mut a, &["MULTI"]);
    let line = |b: &mut Raw| {
        let list = cmd(b, &["CLIENT", "LIST"]);
        list.lines()
            .find(|l| l.contains("name=watcher"))
            .unwrap_or_default()
            .to_string()
    };
    let l = line(&mut b);
    assert!(l.contains(" flags=xd ") && l.contains(" multi=0 "), "{l}");
    assert_eq!(cmd(&mut a, &["EXEC"]), null);
    cmd(&mut a, &["MULTI"]);
    cmd(&mut a, &["PING"]);
    cmd(&mut a, &["PING"]);
    let l = line(&mut b);
    assert!(l.contains(" flags=x ") && l.contains(" multi=2 "), "{l}");
    cmd(&mut a, &["DISCARD"]);
    let l = line(&mut b);
    assert!(l.contains(" flags=N ") && l.contains(" multi=-1 "), "{l}");
}

#[test]
fn watched_key_expiring_fails_exec() {
    let srv = Server::start(&[]);
    let mut a = srv.raw();
    // Expired by active expiry between WATCH and EXEC.
    cmd(&mut a, &["SET", "k", "1", "PX", "20"]);
    cmd(&mut a, &["WATCH", "k"]);
    assert!(common::wait_until(Duration::from_secs(5), || {
        cmd(&mut srv.raw(), &["DBSIZE"]) == ":0\r\n"
    }));
    cmd(&mut a, &["MULTI"]);
    assert_eq!(cmd(&mut a, &["EXEC"]), "*-1\r\n");
    // Not yet removed at EXEC time (active expiry off): EXEC still fails.
    cmd(&mut a, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    cmd(&mut a, &["SET", "k", "1", "PX", "20"]);
    cmd(&mut a, &["WATCH", "k"]);
    std::thread::sleep(Duration::from_millis(40));
    cmd(&mut a, &["MULTI"]);
    assert_eq!(cmd(&mut a, &["EXEC"]), "*-1\r\n");
    // A key with a TTL that has not expired does not.
    cmd(&mut a, &["SET", "k", "1", "EX", "100"]);
    cmd(&mut a, &["WATCH", "k"]);
    cmd(&mut a, &["MULTI"]);
    cmd(&mut a, &["PING"]);
    assert_eq!(cmd(&mut a, &["EXEC"]), "*1\r\n+PONG\r\n");
    cmd(&mut a, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
}

#[test]
fn closing_a_watching_client_forgets_it() {
    let srv = Server::start(&[]);
    let mut b = srv.raw();
    for _ in 0..20 {
        let mut a = srv.raw();
        cmd(&mut a, &["WATCH", "k", "j"]);
        cmd(&mut a, &["MULTI"]);
        cmd(&mut a, &["SET", "k", "1"]);
        drop(a);
    }
    // Writes to the keys still work, and a new watcher is not affected by the old ones.
    cmd(&mut b, &["SET", "k", "1"]);
    let mut c = srv.raw();
    cmd(&mut c, &["WATCH", "k"]);
    cmd(&mut c, &["MULTI"]);
    cmd(&mut c, &["INCR", "k"]);
    assert_eq!(cmd(&mut c, &["EXEC"]), "*1\r\n:2\r\n");
}

#[test]
fn client_pause_write_holds_an_exec_that_writes() {
    let srv = Server::start(&[]);
    let mut a = srv.raw();
    let mut b = srv.raw();
    cmd(&mut a, &["MULTI"]);
    cmd(&mut a, &["SET", "p", "1"]);
    cmd(&mut b, &["CLIENT", "PAUSE", "300", "WRITE"]);
    let t = Instant::now();
    assert_eq!(cmd(&mut a, &["EXEC"]), "*1\r\n+OK\r\n");
    assert!(
        t.elapsed() >= Duration::from_millis(200),
        "{:?}",
        t.elapsed()
    );
    // A read-only transaction is not held.
    cmd(&mut b, &["CLIENT", "PAUSE", "300", "WRITE"]);
    cmd(&mut a, &["MULTI"]);
    let t = Instant::now();
    cmd(&mut a, &["GET", "p"]);
    assert_eq!(cmd(&mut a, &["EXEC"]), "*1\r\n$1\r\n1\r\n");
    assert!(
        t.elapsed() < Duration::from_millis(200),
        "{:?}",
        t.elapsed()
    );
    cmd(&mut b, &["CLIENT", "UNPAUSE"]);
}

/// `calls=` of one command in INFO commandstats.
fn calls(info: &str, name: &str) -> u64 {
    let prefix = format!("cmdstat_{name}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn commandstats_count_queued_commands_when_they_run() {
    let srv = Server::start(&[]);
    let mut a = srv.raw();
    cmd(&mut a, &["MULTI"]);
    cmd(&mut a, &["SET", "a", "1"]);
    cmd(&mut a, &["INCR", "a"]);
    cmd(&mut a, &["GET"]);
    let info = cmd(&mut a, &["INFO", "commandstats"]);
    assert_eq!(calls(&info, "set"), 0);
    cmd(&mut a, &["DISCARD"]);
    cmd(&mut a, &["MULTI"]);
    cmd(&mut a, &["SET", "a", "1"]);
    cmd(&mut a, &["INCR", "a"]);
    cmd(&mut a, &["EXEC"]);
    let info = cmd(&mut a, &["INFO", "commandstats"]);
    assert_eq!(calls(&info, "set"), 1, "{info}");
    assert_eq!(calls(&info, "incr"), 1, "{info}");
    assert_eq!(calls(&info, "exec"), 1, "{info}");
    assert_eq!(calls(&info, "multi"), 2, "{info}");
    assert!(
        info.contains(
            "cmdstat_get:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0"
        ),
        "{info}"
    );
}

/// Parses `*N` followed by N integer or bulk replies into integers.
fn ints(reply: &[u8]) -> Vec<i64> {
    let text = String::from_utf8_lossy(reply);
    let mut lines = text.split("\r\n");
    let header = lines.next().unwrap_or_default();
    assert!(header.starts_with('*'), "{text}");
    let mut out = Vec::new();
    while let Some(l) = lines.next() {
        if let Some(n) = l.strip_prefix(':') {
            out.push(n.parse().expect("int"));
        } else if l.starts_with('$') {
            let v = lines.next().unwrap_or_default();
            out.push(v.parse().expect("int bulk"));
        } else if l.starts_with('-') {
            panic!("error in {text}");
        }
    }
    out
}

#[test]
fn exec_is_atomic_under_concurrency() {
    let srv = Server::start(&["--threads", "4"]);
    let port = srv.port;
    {
        let mut c = srv.raw();
        cmd(&mut c, &["SET", "a", "1000"]);
        cmd(&mut c, &["SET", "b", "1000"]);
        cmd(&mut c, &["SET", "n", "0"]);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let commits = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for w in 0..6 {
        let commits = commits.clone();
        writers.push(std::thread::spawn(move || {
            let mut c = Raw::connect(port);
            for i in 0..150 {
                match (w + i) % 3 {
                    // Two increments: GET inside the transaction always sees an even number.
                    0 => {
                        for args in [
                            &["MULTI"][..],
                            &["INCR", "n"],
                            &["INCR", "n"],
                            &["GET", "n"],
                        ] {
                            c.send(&common::encode_str(args));
                        }
                        c.send(&common::encode_str(&["EXEC"]));
                        let replies = c.read_replies(5);
                        let got = ints(&replies[4]);
                        assert_eq!(got.len(), 3);
                        assert_eq!(got[1], got[0] + 1);
                        assert_eq!(got[2] % 2, 0, "{got:?}");
                    }
                    // A transfer between two keys (in different shards).
                    1 => {
                        let amount = ((w * 7 + i) % 13) as i64 - 6;
                        let amount = amount.to_string();
                        c.send(&common::encode_str(&["MULTI"]));
                        c.send(&common::encode_str(&["DECRBY", "a", &amount]));
                        c.send(&common::encode_str(&["INCRBY", "b", &amount]));
                        c.send(&common::encode_str(&["MGET", "a", "b"]));
                        c.send(&common::encode_str(&["EXEC"]));
                        let replies = c.read_replies(5);
                        let got = ints(&replies[4]);
                        assert_eq!(got[2] + got[3], 2000, "{got:?}");
                    }
                    // Optimistic locking: WATCH, read, write in MULTI, retry on a null EXEC.
                    _ => loop {
                        cmd(&mut c, &["WATCH", "cas"]);
                        let v = cmd(&mut c, &["GET", "cas"]);
                        let v: i64 = v
                            .split("\r\n")
                            .nth(1)
                            .and_then(|x| x.parse().ok())
                            .unwrap_or(0);
                        cmd(&mut c, &["MULTI"]);
                        cmd(&mut c, &["SET", "cas", &(v + 1).to_string()]);
                        let r = cmd(&mut c, &["EXEC"]);
                        if r == "*1\r\n+OK\r\n" {
                            commits.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        assert_eq!(r, "*-1\r\n");
                    },
                }
            }
        }));
    }
    let mut readers = Vec::new();
    for _ in 0..2 {
        let stop = stop.clone();
        readers.push(std::thread::spawn(move || {
            let mut c = Raw::connect(port);
            let mut checks = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let got = ints(&c.cmd(&["MGET", "a", "b", "n"]));
                assert_eq!(got[0] + got[1], 2000, "{got:?}");
                assert_eq!(got[2] % 2, 0, "{got:?}");
                // Pipelined reads of single keys, in one batch.
                c.send(&common::encode_str(&["GET", "a"]));
                c.send(&common::encode_str(&["GET", "b"]));
                let r = c.read_replies(2);
                assert!(r.iter().all(|x| x.starts_with(b"$")));
                checks += 1;
            }
            checks
        }));
    }
    for w in writers {
        w.join().expect("writer");
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().expect("reader") > 0);
    }
    let mut c = srv.raw();
    // 6 writers x 150 rounds, a third of them adding 2 to `n`, a third CAS increments.
    assert_eq!(cmd(&mut c, &["GET", "n"]), "$3\r\n600\r\n");
    let cas = commits.load(Ordering::Relaxed);
    assert_eq!(cas, 300);
    assert_eq!(
        cmd(&mut c, &["GET", "cas"]),
        format!("${}\r\n{cas}\r\n", cas.to_string().len())
    );
    let sum = ints(&c.cmd(&["MGET", "a", "b"]));
    assert_eq!(sum[0] + sum[1], 2000);
}

#[test]
fn exec_blocks_no_worker_while_others_wait() {
    // Many clients pipelining transactions and plain commands at once on a single worker
    // thread: waiting for the gate must never block the thread that would release it.
    let srv = Server::start(&["--threads", "1"]);
    let port = srv.port;
    let ts: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                let key = format!("k{i}");
                for _ in 0..100 {
                    let mut req = Vec::new();
                    for args in [
                        &["MULTI"][..],
                        &["INCR", &key],
                        &["INCR", "shared"],
                        &["EXEC"],
                        &["INCR", &key],
                    ] {
                        req.extend(common::encode_str(args));
                    }
                    c.send(&req);
                    let r = c.read_replies(5);
                    assert!(
                        s(r[3].clone()).starts_with("*2\r\n:"),
                        "{}",
                        s(r[3].clone())
                    );
                }
            })
        })
        .collect();
    for t in ts {
        t.join().expect("client");
    }
    let mut c = srv.raw();
    assert_eq!(cmd(&mut c, &["GET", "shared"]), "$3\r\n800\r\n");
    assert_eq!(cmd(&mut c, &["GET", "k3"]), "$3\r\n200\r\n");
}

/// Over maxmemory (set by a second client between queueing and EXEC): nothing is queued,
/// an EXEC holding a write or a script whose flags deny OOM is aborted and its transaction
/// discarded, an EXEC of reads or `no-writes` scripts runs. Compared with redis-server.
#[test]
fn transactions_over_maxmemory_like_redis() {
    fn play(port: u16) -> Vec<String> {
        let mut a = Raw::connect(port);
        let mut b = Raw::connect(port);
        let mut out = Vec::new();
        let over = |b: &mut Raw, on: bool| {
            b.cmd(&["CONFIG", "SET", "maxmemory", if on { "1" } else { "0" }]);
        };
        b.cmd(&["SET", "filler", &"x".repeat(100_000)]);
        for script in [
            "return 1",
            "#!lua\nreturn 1",
            "#!lua flags=no-writes\nreturn 1",
            "#!lua flags=allow-oom\nreturn 1",
        ] {
            out.push(s(a.cmd(&["MULTI"])));
            out.push(s(a.cmd(&["EVAL", script, "0"])));
            over(&mut b, true);
            out.push(s(a.cmd(&["EXEC"])));
            out.push(s(a.cmd(&["DISCARD"])));
            over(&mut b, false);
        }
        for queued in [&["SET", "k", "v"][..], &["GET", "k"][..]] {
            out.push(s(a.cmd(&["MULTI"])));
            out.push(s(a.cmd(queued)));
            over(&mut b, true);
            out.push(s(a.cmd(&["EXEC"])));
            out.push(s(a.cmd(&["DISCARD"])));
            over(&mut b, false);
        }
        // Queueing while over.
        over(&mut b, true);
        out.push(s(a.cmd(&["MULTI"])));
        out.push(s(a.cmd(&["GET", "k"])));
        out.push(s(a.cmd(&["EXEC"])));
        over(&mut b, false);
        out.push(s(a.cmd(&["GET", "k"])));
        out
    }
    let flint = Server::start(&[]);
    let got = play(flint.port);
    // Flint on its own: the abort and the queueing refusal, whether or not Redis is here.
    let oom = "-EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.\r\n";
    assert_eq!(got[6], oom, "{got:?}");
    assert_eq!(got[18], oom, "{got:?}");
    assert_eq!(got[22], "*1\r\n$-1\r\n", "{got:?}");
    if common::skip_without_redis() {
        return;
    }
    let Some(redis) = common::Redis::start() else {
        return;
    };
    assert_eq!(got, play(redis.port));
}
