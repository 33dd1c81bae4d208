//! Expiry end to end: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with NX/XX/GT/LT, PERSIST, TTL, PTTL,
//! EXPIRETIME, PEXPIRETIME; lazy expiry on access and the active cycle for keys nobody reads.
//! Short TTLs (100 ms) and short waits keep the file fast.

mod common;

use std::time::{Duration, Instant};

use common::{now_ms, q, q_err, wait_until, Server};

#[test]
fn expire_ttl_persist() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), -2);
    assert_eq!(q::<i64>(&mut c, &["PTTL", "k"]), -2);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "10"]), 0);
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), -1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRETIME", "k"]), -1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRETIME", "nope"]), -2);
    assert_eq!(q::<i64>(&mut c, &["PEXPIRETIME", "nope"]), -2);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "100"]), 1);
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), 100);
    assert_eq!(q::<i64>(&mut c, &["PEXPIRE", "k", "50000"]), 1);
    let pttl: i64 = q(&mut c, &["PTTL", "k"]);
    assert!((49_000..=50_000).contains(&pttl), "{pttl}");
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "k"]), 1);
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "k"]), 0);
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "nope"]), 0);
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), -1);

    let at = now_ms() / 1000 + 1000;
    assert_eq!(q::<i64>(&mut c, &["EXPIREAT", "k", &at.to_string()]), 1);
    assert_eq!(q::<u64>(&mut c, &["EXPIRETIME", "k"]), at);
    assert_eq!(q::<u64>(&mut c, &["PEXPIRETIME", "k"]), at * 1000);
    let pat = now_ms() + 2_000_000;
    assert_eq!(q::<i64>(&mut c, &["PEXPIREAT", "k", &pat.to_string()]), 1);
    assert_eq!(q::<u64>(&mut c, &["PEXPIRETIME", "k"]), pat);
    assert_eq!(
        q::<u64>(&mut c, &["EXPIRETIME", "k"]),
        (pat + 500) / 1000,
        "rounded"
    );

    // A time in the past deletes the key at once.
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "-1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "k"]), 0);
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["EXPIREAT", "k", "1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "k"]), 0);
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["PEXPIRE", "k", "0"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "k"]), 0);
}

#[test]
fn expire_nx_xx_gt_lt() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "100", "XX"]), 0);
    assert_eq!(
        q::<i64>(&mut c, &["EXPIRE", "k", "100", "GT"]),
        0,
        "no TTL counts as infinite"
    );
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "100", "LT"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "200", "NX"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "200", "XX"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "100", "GT"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "300", "GT"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "400", "LT"]), 0);
    assert_eq!(q::<i64>(&mut c, &["PEXPIRE", "k", "100000", "LT"]), 1);
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), 100);
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "k"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "100", "NX"]), 1);
    let far = (now_ms() / 1000 + 5000).to_string();
    assert_eq!(q::<i64>(&mut c, &["EXPIREAT", "k", &far, "GT", "XX"]), 1);
    assert_eq!(
        q_err(&mut c, &["EXPIRE", "k", "100", "NX", "XX"]),
        "ERR NX and XX, GT or LT options at the same time are not compatible"
    );
    assert_eq!(
        q_err(&mut c, &["EXPIRE", "k", "100", "GT", "LT"]),
        "ERR GT and LT options at the same time are not compatible"
    );
    assert_eq!(
        q_err(&mut c, &["EXPIRE", "k", "100", "BOGUS"]),
        "ERR Unsupported option BOGUS"
    );
    assert_eq!(
        q_err(&mut c, &["EXPIRE", "k", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        q_err(&mut c, &["EXPIRE", "k", "9223372036854775807"]),
        "ERR invalid expire time in 'expire' command"
    );
    assert_eq!(
        q_err(&mut c, &["EXPIREAT", "k", "9223372036854775807"]),
        "ERR invalid expire time in 'expireat' command"
    );
    assert_eq!(
        q_err(&mut c, &["EXPIRE", "k"]),
        "ERR wrong number of arguments for 'expire' command"
    );
}

#[test]
fn lazy_expiry_on_access() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(
        q::<String>(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]),
        "OK"
    );
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v", "PX", "100"]), "OK");
    assert_eq!(q::<String>(&mut c, &["SET", "k2", "v", "PX", "100"]), "OK");
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");
    std::thread::sleep(Duration::from_millis(150));
    // The active cycle is off: the keys are still counted until something touches them.
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 2);
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "k"]), None);
    assert_eq!(q::<i64>(&mut c, &["TTL", "k2"]), -2);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    assert_eq!(
        q::<String>(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]),
        "OK"
    );
}

#[test]
fn expired_keys_are_gone_for_every_command() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    for k in ["a", "b", "c", "d", "n"] {
        assert_eq!(q::<String>(&mut c, &["SET", k, "1", "PX", "100"]), "OK");
    }
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "a"]), 0);
    assert_eq!(
        q::<Vec<Option<String>>>(&mut c, &["MGET", "b", "c"]),
        vec![None, None]
    );
    assert_eq!(
        q::<i64>(&mut c, &["INCR", "n"]),
        1,
        "INCR starts from zero again"
    );
    assert_eq!(q::<i64>(&mut c, &["TTL", "n"]), -1);
    assert_eq!(q::<i64>(&mut c, &["SETNX", "d", "x"]), 1);
    assert_eq!(q::<Vec<String>>(&mut c, &["KEYS", "*"]).len(), 2);
    assert_eq!(q_err(&mut c, &["RENAME", "a", "z"]), "ERR no such key");
}

#[test]
fn active_expiry_removes_unread_keys() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let mut pipe = redis::pipe();
    for i in 0..10_000 {
        pipe.cmd("SET")
            .arg(format!("ttl:{i}"))
            .arg("v")
            .arg("PX")
            .arg(100)
            .ignore();
    }
    pipe.cmd("SET").arg("keeper").arg("v").ignore();
    let _: () = pipe.query(&mut c).unwrap();
    let start = Instant::now();
    let gone = wait_until(Duration::from_secs(2), || {
        q::<i64>(&mut c, &["DBSIZE"]) == 1
    });
    let left: i64 = q(&mut c, &["DBSIZE"]);
    assert!(gone, "{} keys left after {:?}", left - 1, start.elapsed());
    println!(
        "10k keys with PX 100 gone {:?} after the last SET",
        start.elapsed()
    );
    assert_eq!(q::<String>(&mut c, &["GET", "keeper"]), "v");
}

#[test]
fn ttl_survives_rename_and_is_cleared_by_overwrites() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v", "EX", "100"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["APPEND", "k", "x"]), 2);
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), 100, "APPEND keeps the TTL");
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "k", "0", "y"]), 2);
    assert_eq!(
        q::<i64>(&mut c, &["TTL", "k"]),
        100,
        "SETRANGE keeps the TTL"
    );
    assert_eq!(q::<String>(&mut c, &["SET", "n", "1", "EX", "100"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["INCR", "n"]), 2);
    assert_eq!(q::<i64>(&mut c, &["TTL", "n"]), 100, "INCR keeps the TTL");
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "n", "1.5"]), "3.5");
    assert_eq!(
        q::<i64>(&mut c, &["TTL", "n"]),
        100,
        "INCRBYFLOAT keeps the TTL"
    );
    assert_eq!(q::<String>(&mut c, &["MSET", "n", "1"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["TTL", "n"]), -1, "MSET clears the TTL");
}

#[test]
fn default_ttl_applies_to_keys_written_without_one() {
    if common::against_redis() {
        return; // default-ttl and no_ttl are Flint's own.
    }
    let s = Server::start(&["--default-ttl", "100"]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "k", "v"]);
    let ttl: i64 = q(&mut c, &["TTL", "k"]);
    assert!((99..=100).contains(&ttl), "{ttl}");
    // An explicit expiry wins; PERSIST is an explicit choice and sticks.
    let _: () = q(&mut c, &["SET", "e", "v", "EX", "5"]);
    assert_eq!(q::<i64>(&mut c, &["TTL", "e"]), 5);
    assert_eq!(q::<i64>(&mut c, &["INCR", "counter"]), 1);
    assert!(q::<i64>(&mut c, &["TTL", "counter"]) > 0);
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "k"]), 1);
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), -1);
    let info: String = q(&mut c, &["INFO", "keyspace"]);
    assert!(
        info.contains("db0:keys=3,expires=2,avg_ttl=0,no_ttl=1"),
        "{info}"
    );
    // Off at runtime: new keys have no TTL again.
    let _: () = q(&mut c, &["CONFIG", "SET", "default-ttl", "0"]);
    let _: () = q(&mut c, &["SET", "plain", "v"]);
    assert_eq!(q::<i64>(&mut c, &["TTL", "plain"]), -1);
}
