//! Connection commands end to end: PING, ECHO, QUIT, RESET, HELLO, AUTH (requirepass), SELECT and
//! CLIENT (ID, SETNAME, GETNAME, LIST, INFO, KILL, REPLY, NO-EVICT, NO-TOUCH, SETINFO, PAUSE,
//! UNPAUSE).

mod common;

use std::time::{Duration, Instant};

use common::{against_redis, q, q_err, show, Server};

#[test]
fn ping_and_echo() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    assert_eq!(q::<String>(&mut c, &["PING", "hi there"]), "hi there");
    assert_eq!(q::<String>(&mut c, &["ECHO", "x y"]), "x y");
    assert_eq!(
        q_err(&mut c, &["PING", "a", "b"]),
        "ERR wrong number of arguments for 'ping' command"
    );
    assert_eq!(
        q_err(&mut c, &["ECHO"]),
        "ERR wrong number of arguments for 'echo' command"
    );
    let mut r = s.raw();
    assert_eq!(r.cmd(&["PING", "a"]), b"$1\r\na\r\n");
    assert_eq!(
        r.cmd(&["ping"]),
        b"+PONG\r\n",
        "command names are case-insensitive"
    );
    assert_eq!(
        r.cmd_str(&["NOPE", "x"]),
        "-ERR unknown command 'NOPE', with args beginning with: 'x' \r\n"
    );
}

#[test]
fn hello_switches_protocol_and_sets_name() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    let h = show(&r.cmd(&["HELLO"]));
    assert!(h.starts_with("*14\\r\\n$6\\r\\nserver\\r\\n"), "{h}");
    for field in ["version", "proto", "id", "mode", "role", "modules"] {
        assert!(
            h.contains(&format!("\\r\\n{field}\\r\\n")),
            "{field} missing in {h}"
        );
    }
    assert!(h.contains("$5\\r\\nproto\\r\\n:2\\r\\n"), "{h}");
    assert!(
        h.contains("$4\\r\\nmode\\r\\n$10\\r\\nstandalone\\r\\n"),
        "{h}"
    );
    assert!(h.contains("$4\\r\\nrole\\r\\n$6\\r\\nmaster\\r\\n"), "{h}");
    let h = show(&r.cmd(&["HELLO", "3", "SETNAME", "conn1"]));
    assert!(h.starts_with("%7\\r\\n"), "{h}");
    assert!(h.contains("$5\\r\\nproto\\r\\n:3\\r\\n"), "{h}");
    assert_eq!(r.cmd(&["CLIENT", "GETNAME"]), b"$5\r\nconn1\r\n");
    assert_eq!(
        r.cmd_str(&["HELLO", "4"]),
        "-NOPROTO unsupported protocol version\r\n"
    );
    assert_eq!(
        r.cmd_str(&["HELLO", "x"]),
        "-ERR Protocol version is not an integer or out of range\r\n"
    );
    assert_eq!(
        r.cmd_str(&["HELLO", "2", "SETNAME", "x", "y"]),
        "-ERR Syntax error in HELLO option 'y'\r\n"
    );
    // Errors leave the protocol unchanged.
    assert_eq!(r.cmd(&["GET", "nope"]), b"_\r\n");
}

#[test]
fn auth_with_requirepass() {
    let s = Server::start(&["--requirepass", "s3cret"]);
    let mut r = s.raw();
    assert_eq!(
        r.cmd_str(&["GET", "a"]),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        r.cmd_str(&["AUTH", "wrong"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(r.cmd_str(&["AUTH", "s3cret"]), "+OK\r\n");
    assert_eq!(r.cmd(&["GET", "a"]), b"$-1\r\n");
    let mut r2 = s.raw();
    assert_eq!(r2.cmd_str(&["AUTH", "default", "s3cret"]), "+OK\r\n");
    assert_eq!(r2.cmd(&["PING"]), b"+PONG\r\n");
    let mut r3 = s.raw();
    assert_eq!(
        r3.cmd_str(&["HELLO", "3", "AUTH", "default", "nope"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    let h = r3.cmd(&["HELLO", "3", "AUTH", "default", "s3cret"]);
    assert_eq!(h.first(), Some(&b'%'), "{}", show(&h));
    assert_eq!(r3.cmd(&["GET", "a"]), b"_\r\n");
    // RESET drops the authentication.
    assert_eq!(r3.cmd(&["RESET"]), b"+RESET\r\n");
    assert_eq!(
        r3.cmd_str(&["GET", "a"]),
        "-NOAUTH Authentication required.\r\n"
    );

    let url = format!("redis://:s3cret@127.0.0.1:{}/", s.port);
    let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
    assert_eq!(q::<String>(&mut c, &["SET", "a", "1"]), "OK");
}

#[test]
fn auth_without_requirepass() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(
        q_err(&mut c, &["AUTH", "x"]),
        "ERR AUTH <password> called without any password configured for the default user. \
         Are you sure your configuration is correct?"
    );
    assert_eq!(
        q_err(&mut c, &["AUTH"]),
        "ERR wrong number of arguments for 'auth' command"
    );
}

#[test]
fn reset_restores_defaults() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    assert_eq!(r.cmd(&["SELECT", "3"]), b"+OK\r\n");
    assert_eq!(r.cmd(&["SET", "in3", "x"]), b"+OK\r\n");
    assert_eq!(r.cmd(&["CLIENT", "SETNAME", "me"]), b"+OK\r\n");
    assert_eq!(r.cmd(&["HELLO", "3"]).first(), Some(&b'%'));
    assert_eq!(r.cmd(&["RESET"]), b"+RESET\r\n");
    assert_eq!(r.cmd(&["GET", "in3"]), b"$-1\r\n", "back in db 0 and RESP2");
    assert_eq!(r.cmd(&["CLIENT", "GETNAME"]), b"$-1\r\n");
}

#[test]
fn client_id_name_list_info() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let id: i64 = q(&mut c, &["CLIENT", "ID"]);
    assert!(id > 0);
    assert_eq!(q::<Option<String>>(&mut c, &["CLIENT", "GETNAME"]), None);
    assert_eq!(
        q::<String>(&mut c, &["CLIENT", "SETNAME", "worker-1"]),
        "OK"
    );
    assert_eq!(q::<String>(&mut c, &["CLIENT", "GETNAME"]), "worker-1");
    assert_eq!(
        q_err(&mut c, &["CLIENT", "SETNAME", "a b"]),
        "ERR Client names cannot contain spaces, newlines or special characters."
    );
    let info: String = q(&mut c, &["CLIENT", "INFO"]);
    assert!(
        info.starts_with(&format!("id={id} addr=127.0.0.1:")),
        "{info}"
    );
    for field in [
        " laddr=",
        " fd=",
        " name=worker-1 ",
        " age=",
        " idle=",
        " flags=N ",
        " db=0 ",
        " cmd=client|info ",
        " user=default ",
        " resp=2",
    ] {
        assert!(info.contains(field), "{field:?} missing in {info}");
    }
    assert!(info.ends_with('\n'), "{info:?}");
    let other = s.conn();
    // The harness's readiness probe may take a moment to be unregistered.
    common::wait_until(Duration::from_secs(3), || {
        q::<String>(&mut c, &["CLIENT", "LIST"]).lines().count() == 2
    });
    let list: String = q(&mut c, &["CLIENT", "LIST"]);
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(list.contains(&format!("id={id} ")));
    let list: String = q(&mut c, &["CLIENT", "LIST", "ID", &id.to_string()]);
    assert_eq!(list.lines().count(), 1, "{list}");
    let list: String = q(&mut c, &["CLIENT", "LIST", "TYPE", "normal"]);
    assert_eq!(list.lines().count(), 2, "{list}");
    drop(other);
    assert_eq!(
        q_err(&mut c, &["CLIENT", "BOGUS"]),
        "ERR unknown subcommand 'BOGUS'. Try CLIENT HELP."
    );
}

#[test]
fn client_kill() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let mut victim = s.raw();
    let vid = String::from_utf8(victim.cmd(&["CLIENT", "ID"])).unwrap();
    let vid = vid.trim_start_matches(':').trim_end();
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "KILL", "ID", vid]), 1);
    assert!(victim.closed_within(Duration::from_secs(3)));
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "KILL", "ID", "999999"]), 0);

    let mut victim = s.raw();
    let addr = victim.stream.local_addr().unwrap().to_string();
    assert_eq!(victim.cmd(&["PING"]), b"+PONG\r\n");
    assert_eq!(q::<String>(&mut c, &["CLIENT", "KILL", &addr]), "OK");
    assert!(victim.closed_within(Duration::from_secs(3)));
    assert_eq!(
        q_err(&mut c, &["CLIENT", "KILL", "1.2.3.4:5"]),
        "ERR No such client"
    );
    let mut victim = s.raw();
    let addr = victim.stream.local_addr().unwrap().to_string();
    assert_eq!(victim.cmd(&["PING"]), b"+PONG\r\n");
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "KILL", "ADDR", &addr]), 1);
    assert!(victim.closed_within(Duration::from_secs(3)));
    // SKIPME yes (the default) spares the caller.
    let me = q::<i64>(&mut c, &["CLIENT", "ID"]).to_string();
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "KILL", "ID", &me]), 0);
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    assert_eq!(
        q_err(&mut c, &["CLIENT", "KILL", "ID", "x"]),
        "ERR client-id should be greater than 0"
    );
    assert_eq!(
        q_err(&mut c, &["CLIENT", "KILL", "BOGUS", "x"]),
        "ERR syntax error"
    );
}

#[test]
fn client_reply_on_off_skip() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    r.send(b"CLIENT REPLY OFF\r\nSET a 1\r\nGET a\r\nCLIENT REPLY ON\r\n");
    assert_eq!(r.read_reply(), b"+OK\r\n", "only REPLY ON answers");
    r.send(b"CLIENT REPLY SKIP\r\nSET b 2\r\nGET b\r\n");
    assert_eq!(r.read_reply(), b"$1\r\n2\r\n");
    assert_eq!(r.cmd(&["GET", "a"]), b"$1\r\n1\r\n");
    assert_eq!(
        r.cmd_str(&["CLIENT", "REPLY", "maybe"]),
        "-ERR syntax error\r\n"
    );
}

#[test]
fn client_no_evict_no_touch_setinfo() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["CLIENT", "NO-EVICT", "on"]), "OK");
    assert_eq!(q::<String>(&mut c, &["CLIENT", "NO-EVICT", "off"]), "OK");
    assert_eq!(
        q_err(&mut c, &["CLIENT", "NO-EVICT", "maybe"]),
        "ERR syntax error"
    );
    if against_redis() {
        // NO-TOUCH and SETINFO arrived in Redis 7.2; Flint accepts them already.
        return;
    }
    assert_eq!(q::<String>(&mut c, &["CLIENT", "NO-TOUCH", "on"]), "OK");
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v"]), "OK");
    assert_eq!(q::<String>(&mut c, &["CLIENT", "NO-TOUCH", "off"]), "OK");
    assert_eq!(
        q_err(&mut c, &["CLIENT", "NO-TOUCH", "maybe"]),
        "ERR syntax error"
    );
    assert_eq!(
        q::<String>(&mut c, &["CLIENT", "SETINFO", "LIB-NAME", "tests"]),
        "OK"
    );
    assert_eq!(
        q::<String>(&mut c, &["CLIENT", "SETINFO", "LIB-VER", "1.0"]),
        "OK"
    );
}

#[test]
fn client_pause_and_unpause() {
    let s = Server::start(&[]);
    let mut admin = s.conn();
    let mut w = s.conn();
    assert_eq!(
        q::<String>(&mut admin, &["CLIENT", "PAUSE", "300", "WRITE"]),
        "OK"
    );
    let t = Instant::now();
    assert_eq!(q::<Option<String>>(&mut w, &["GET", "k"]), None);
    assert!(
        t.elapsed() < Duration::from_millis(200),
        "reads are not paused by WRITE"
    );
    assert_eq!(q::<String>(&mut w, &["SET", "k", "v"]), "OK");
    assert!(
        t.elapsed() >= Duration::from_millis(200),
        "write not paused: {:?}",
        t.elapsed()
    );

    // ALL holds every command, reads included, until the pause ends.
    assert_eq!(q::<String>(&mut admin, &["CLIENT", "PAUSE", "300"]), "OK");
    let t = Instant::now();
    assert_eq!(q::<String>(&mut w, &["GET", "k"]), "v");
    assert!(
        t.elapsed() >= Duration::from_millis(200),
        "read not paused: {:?}",
        t.elapsed()
    );

    // UNPAUSE (not a write) releases a long WRITE pause early.
    assert_eq!(
        q::<String>(&mut admin, &["CLIENT", "PAUSE", "10000", "WRITE"]),
        "OK"
    );
    let port = s.port;
    let waiter = std::thread::spawn(move || {
        let mut r = common::Raw::connect(port);
        let t = Instant::now();
        let reply = r.cmd(&["SET", "k", "w"]);
        (reply, t.elapsed())
    });
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(q::<String>(&mut admin, &["CLIENT", "UNPAUSE"]), "OK");
    let (reply, waited) = waiter.join().unwrap();
    assert_eq!(reply, b"+OK\r\n");
    assert!(
        waited < Duration::from_secs(5),
        "UNPAUSE did not release: {waited:?}"
    );
    assert_eq!(
        q_err(&mut admin, &["CLIENT", "PAUSE", "x"]),
        "ERR timeout is not an integer or out of range"
    );
    assert_eq!(
        q_err(&mut admin, &["CLIENT", "PAUSE", "10", "BOGUS"]),
        "ERR CLIENT PAUSE mode must be WRITE or ALL"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_connection_basics() {
    let s = Server::start(&[]);
    let mut con = s.aconn().await;
    let pong: String = redis::cmd("PING").query_async(&mut con).await.unwrap();
    assert_eq!(pong, "PONG");
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg(5)
        .query_async(&mut con)
        .await
        .unwrap();
    let v: i64 = redis::cmd("INCRBY")
        .arg("k")
        .arg(5)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(v, 10);
}
