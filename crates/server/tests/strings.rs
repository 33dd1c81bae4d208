//! String commands end to end through the `redis` crate: every command of the string family,
//! its options, and its error replies (texts as redis-server 7.0 sends them).

mod common;

use std::time::Duration;

use common::{now_ms, q, q_err, Server};
use redis::Value;

const NOT_INT: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";

fn arity(cmd: &str) -> String {
    format!("ERR wrong number of arguments for '{cmd}' command")
}

#[test]
fn get_and_set() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "k"]), None);
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v"]), "OK");
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");
    assert_eq!(q::<String>(&mut c, &["SET", "k", ""]), "OK");
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "");
    assert_eq!(q_err(&mut c, &["GET"]), arity("get"));
    assert_eq!(q_err(&mut c, &["GET", "a", "b"]), arity("get"));
    assert_eq!(q_err(&mut c, &["SET", "k"]), arity("set"));
}

#[test]
fn set_nx_xx_get() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<Option<String>>(&mut c, &["SET", "k", "1", "XX"]), None);
    assert_eq!(
        q::<Option<String>>(&mut c, &["SET", "k", "1", "NX"]),
        Some("OK".into())
    );
    assert_eq!(q::<Option<String>>(&mut c, &["SET", "k", "2", "NX"]), None);
    assert_eq!(
        q::<Option<String>>(&mut c, &["SET", "k", "3", "XX"]),
        Some("OK".into())
    );
    assert_eq!(
        q::<Option<String>>(&mut c, &["SET", "k", "4", "GET"]),
        Some("3".into())
    );
    assert_eq!(
        q::<Option<String>>(&mut c, &["SET", "new", "x", "GET"]),
        None
    );
    assert_eq!(q::<String>(&mut c, &["GET", "new"]), "x");
    // NX with GET is allowed since 7.0: returns the old value and does not set.
    assert_eq!(
        q::<Option<String>>(&mut c, &["SET", "k", "5", "NX", "GET"]),
        Some("4".into())
    );
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "4");
    assert_eq!(
        q::<Option<String>>(&mut c, &["SET", "k", "6", "XX", "GET"]),
        Some("4".into())
    );
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "6");
    assert_eq!(q_err(&mut c, &["SET", "k", "v", "NX", "XX"]), SYNTAX);
    assert_eq!(q_err(&mut c, &["SET", "k", "v", "BOGUS"]), SYNTAX);
}

#[test]
fn set_expiry_options() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v", "EX", "100"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), 100);
    assert_eq!(
        q::<String>(&mut c, &["SET", "k", "v", "PX", "100000"]),
        "OK"
    );
    let pttl: i64 = q(&mut c, &["PTTL", "k"]);
    assert!((99_000..=100_000).contains(&pttl), "{pttl}");
    let at = (now_ms() / 1000 + 200).to_string();
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v", "EXAT", &at]), "OK");
    assert_eq!(q::<String>(&mut c, &["EXPIRETIME", "k"]), at);
    let pat = (now_ms() + 300_000).to_string();
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v", "PXAT", &pat]), "OK");
    assert_eq!(q::<String>(&mut c, &["PEXPIRETIME", "k"]), pat);
    assert_eq!(q::<String>(&mut c, &["SET", "k", "w", "KEEPTTL"]), "OK");
    assert_eq!(q::<String>(&mut c, &["PEXPIRETIME", "k"]), pat);
    assert_eq!(q::<String>(&mut c, &["SET", "k", "w"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), -1);

    let invalid = "ERR invalid expire time in 'set' command";
    assert_eq!(q_err(&mut c, &["SET", "k", "v", "EX", "0"]), invalid);
    assert_eq!(q_err(&mut c, &["SET", "k", "v", "PX", "-5"]), invalid);
    assert_eq!(
        q_err(&mut c, &["SET", "k", "v", "EX", "9223372036854775807"]),
        invalid
    );
    assert_eq!(q_err(&mut c, &["SET", "k", "v", "EX", "abc"]), NOT_INT);
    assert_eq!(q_err(&mut c, &["SET", "k", "v", "EX"]), SYNTAX);
    assert_eq!(
        q_err(&mut c, &["SET", "k", "v", "EX", "10", "PX", "10"]),
        SYNTAX
    );
    assert_eq!(
        q_err(&mut c, &["SET", "k", "v", "KEEPTTL", "EX", "10"]),
        SYNTAX
    );
    // A failed SET changes nothing.
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "w");
}

#[test]
fn setnx_setex_psetex() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["SETNX", "k", "a"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SETNX", "k", "b"]), 0);
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "a");
    assert_eq!(q::<String>(&mut c, &["SETEX", "k", "50", "x"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), 50);
    assert_eq!(q::<String>(&mut c, &["PSETEX", "k", "50000", "y"]), "OK");
    assert!(q::<i64>(&mut c, &["PTTL", "k"]) > 49_000);
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "y");
    assert_eq!(
        q_err(&mut c, &["SETEX", "k", "0", "x"]),
        "ERR invalid expire time in 'setex' command"
    );
    assert_eq!(
        q_err(&mut c, &["PSETEX", "k", "-1", "x"]),
        "ERR invalid expire time in 'psetex' command"
    );
    assert_eq!(q_err(&mut c, &["SETEX", "k", "x", "v"]), NOT_INT);
    assert_eq!(q_err(&mut c, &["SETEX", "k", "10"]), arity("setex"));
    assert_eq!(q_err(&mut c, &["SETNX", "k"]), arity("setnx"));
}

#[test]
fn getset_getdel_getex() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<Option<String>>(&mut c, &["GETSET", "k", "1"]), None);
    assert_eq!(
        q::<Option<String>>(&mut c, &["GETSET", "k", "2"]),
        Some("1".into())
    );
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v", "EX", "100"]), "OK");
    assert_eq!(q::<String>(&mut c, &["GETSET", "k", "w"]), "v");
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), -1, "GETSET clears the TTL");

    assert_eq!(
        q::<Option<String>>(&mut c, &["GETDEL", "k"]),
        Some("w".into())
    );
    assert_eq!(q::<Option<String>>(&mut c, &["GETDEL", "k"]), None);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "k"]), 0);

    assert_eq!(q::<Option<String>>(&mut c, &["GETEX", "k"]), None);
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v"]), "OK");
    assert_eq!(q::<String>(&mut c, &["GETEX", "k", "EX", "100"]), "v");
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), 100);
    assert_eq!(q::<String>(&mut c, &["GETEX", "k", "PX", "200000"]), "v");
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), 200);
    let at = (now_ms() / 1000 + 300).to_string();
    assert_eq!(q::<String>(&mut c, &["GETEX", "k", "EXAT", &at]), "v");
    assert_eq!(q::<String>(&mut c, &["EXPIRETIME", "k"]), at);
    let pat = (now_ms() + 400_000).to_string();
    assert_eq!(q::<String>(&mut c, &["GETEX", "k", "PXAT", &pat]), "v");
    assert_eq!(q::<String>(&mut c, &["PEXPIRETIME", "k"]), pat);
    assert_eq!(q::<String>(&mut c, &["GETEX", "k"]), "v");
    assert_eq!(q::<String>(&mut c, &["PEXPIRETIME", "k"]), pat);
    assert_eq!(q::<String>(&mut c, &["GETEX", "k", "PERSIST"]), "v");
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), -1);
    assert_eq!(
        q_err(&mut c, &["GETEX", "k", "EX", "0"]),
        "ERR invalid expire time in 'getex' command"
    );
    assert_eq!(q_err(&mut c, &["GETEX", "k", "EX", "1", "PX", "1"]), SYNTAX);
    assert_eq!(q_err(&mut c, &["GETEX", "k", "PERSIST", "EX", "1"]), SYNTAX);
    assert_eq!(q_err(&mut c, &["GETEX", "k", "EX"]), SYNTAX);
    assert_eq!(q_err(&mut c, &["GETEX", "k", "EX", "x"]), NOT_INT);
    assert_eq!(q_err(&mut c, &["GETDEL"]), arity("getdel"));
}

#[test]
fn mget_mset_msetnx() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["MSET", "a", "1", "b", "2"]), "OK");
    assert_eq!(
        q::<Vec<Option<String>>>(&mut c, &["MGET", "a", "nope", "b"]),
        vec![Some("1".into()), None, Some("2".into())]
    );
    assert_eq!(q::<String>(&mut c, &["MSET", "a", "x", "a", "y"]), "OK");
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "y");
    assert_eq!(q::<i64>(&mut c, &["MSETNX", "c", "3", "a", "z"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "c"]), 0);
    assert_eq!(q::<i64>(&mut c, &["MSETNX", "c", "3", "d", "4"]), 1);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["MGET", "c", "d"]),
        vec!["3".to_string(), "4".to_string()]
    );
    assert_eq!(q_err(&mut c, &["MSET", "a", "1", "b"]), arity("mset"));
    assert_eq!(q_err(&mut c, &["MSET"]), arity("mset"));
    assert_eq!(q_err(&mut c, &["MSETNX", "a"]), arity("msetnx"));
    assert_eq!(q_err(&mut c, &["MGET"]), arity("mget"));
}

#[test]
fn append_and_strlen() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "k"]), 0);
    assert_eq!(q::<i64>(&mut c, &["APPEND", "k", "hello"]), 5);
    assert_eq!(q::<i64>(&mut c, &["APPEND", "k", " world"]), 11);
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "hello world");
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "k"]), 11);
    assert_eq!(q::<String>(&mut c, &["SET", "n", "12345"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "n"]), 5);
    assert_eq!(q::<i64>(&mut c, &["APPEND", "n", "6"]), 6);
    assert_eq!(q::<i64>(&mut c, &["INCR", "n"]), 123457);
    assert_eq!(q_err(&mut c, &["APPEND", "k"]), arity("append"));
    assert_eq!(q_err(&mut c, &["STRLEN"]), arity("strlen"));
}

#[test]
fn getrange_substr_setrange() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["SET", "k", "Hello World"]), "OK");
    assert_eq!(q::<String>(&mut c, &["GETRANGE", "k", "0", "4"]), "Hello");
    assert_eq!(q::<String>(&mut c, &["GETRANGE", "k", "-5", "-1"]), "World");
    assert_eq!(
        q::<String>(&mut c, &["GETRANGE", "k", "0", "-1"]),
        "Hello World"
    );
    assert_eq!(q::<String>(&mut c, &["GETRANGE", "k", "5", "2"]), "");
    assert_eq!(
        q::<String>(&mut c, &["GETRANGE", "k", "-100", "100"]),
        "Hello World"
    );
    assert_eq!(q::<String>(&mut c, &["GETRANGE", "missing", "0", "-1"]), "");
    assert_eq!(q::<String>(&mut c, &["SUBSTR", "k", "6", "100"]), "World");
    assert_eq!(q_err(&mut c, &["GETRANGE", "k", "a", "1"]), NOT_INT);

    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "k", "6", "Redis"]), 11);
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "Hello Redis");
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "pad", "3", "x"]), 4);
    assert_eq!(q::<Vec<u8>>(&mut c, &["GET", "pad"]), b"\0\0\0x".to_vec());
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "empty", "5", ""]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "empty"]), 0);
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "k", "0", ""]), 11);
    assert_eq!(
        q_err(&mut c, &["SETRANGE", "k", "-1", "x"]),
        "ERR offset is out of range"
    );
    assert_eq!(
        q_err(&mut c, &["SETRANGE", "k", "536870911", "xx"]),
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    );
    assert_eq!(q_err(&mut c, &["SETRANGE", "k", "x", "y"]), NOT_INT);
}

#[test]
fn incr_decr_family() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["INCR", "n"]), 1);
    assert_eq!(q::<i64>(&mut c, &["INCRBY", "n", "41"]), 42);
    assert_eq!(q::<i64>(&mut c, &["DECR", "n"]), 41);
    assert_eq!(q::<i64>(&mut c, &["DECRBY", "n", "-9"]), 50);
    assert_eq!(q::<i64>(&mut c, &["DECRBY", "fresh", "5"]), -5);
    assert_eq!(
        q::<String>(&mut c, &["SET", "n", "9223372036854775806"]),
        "OK"
    );
    assert_eq!(q::<i64>(&mut c, &["INCR", "n"]), i64::MAX);
    let overflow = "ERR increment or decrement would overflow";
    assert_eq!(q_err(&mut c, &["INCR", "n"]), overflow);
    assert_eq!(
        q::<String>(&mut c, &["SET", "m", "-9223372036854775808"]),
        "OK"
    );
    assert_eq!(q_err(&mut c, &["DECR", "m"]), overflow);
    assert_eq!(
        q_err(&mut c, &["DECRBY", "zero", "-9223372036854775808"]),
        "ERR decrement would overflow"
    );
    assert_eq!(q_err(&mut c, &["INCRBY", "n", "x"]), NOT_INT);
    for bad in [
        "abc",
        " 1",
        "1 ",
        "01",
        "+1",
        "1.5",
        "",
        "99999999999999999999",
    ] {
        assert_eq!(q::<String>(&mut c, &["SET", "s", bad]), "OK");
        assert_eq!(q_err(&mut c, &["INCR", "s"]), NOT_INT, "value {bad:?}");
    }
    assert_eq!(q::<String>(&mut c, &["SET", "s", "-0"]), "OK");
    assert_eq!(q_err(&mut c, &["INCR", "s"]), NOT_INT);
    assert_eq!(q_err(&mut c, &["INCR"]), arity("incr"));
    assert_eq!(q_err(&mut c, &["INCRBY", "n"]), arity("incrby"));
}

#[test]
fn incrbyfloat() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "f", "10.5"]), "10.5");
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "f", "0.1"]), "10.6");
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "f", "-5"]), "5.6");
    assert_eq!(q::<String>(&mut c, &["SET", "f", "5.0e3"]), "OK");
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "f", "2.0e2"]), "5200");
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "i", "3"]), "3");
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "i", "1e-3"]), "3.001");
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v", "EX", "100"]), "OK");
    assert_eq!(q::<String>(&mut c, &["SET", "k", "1"]), "OK");
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "k", "1"]), "2");
    assert_eq!(
        q_err(&mut c, &["INCRBYFLOAT", "f", "abc"]),
        "ERR value is not a valid float"
    );
    assert_eq!(q::<String>(&mut c, &["SET", "s", "text"]), "OK");
    assert_eq!(
        q_err(&mut c, &["INCRBYFLOAT", "s", "1"]),
        "ERR value is not a valid float"
    );
    // Redis computes in long double: 1.7e308 * 2 is still finite.
    assert_eq!(q::<String>(&mut c, &["SET", "big", "1.7e308"]), "OK");
    let sum: String = q(&mut c, &["INCRBYFLOAT", "big", "1.7e308"]);
    assert!(
        sum.starts_with("34000000000000000000") && sum.len() == 309,
        "{sum}"
    );
    assert_eq!(
        q_err(&mut c, &["INCRBYFLOAT", "f", "inf"]),
        "ERR increment would produce NaN or Infinity"
    );
    assert_eq!(q_err(&mut c, &["INCRBYFLOAT", "f"]), arity("incrbyfloat"));
}

#[test]
fn lcs() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(
        q::<String>(&mut c, &["MSET", "k1", "ohmytext", "k2", "mynewtext"]),
        "OK"
    );
    assert_eq!(q::<String>(&mut c, &["LCS", "k1", "k2"]), "mytext");
    assert_eq!(q::<i64>(&mut c, &["LCS", "k1", "k2", "LEN"]), 6);
    assert_eq!(q::<String>(&mut c, &["LCS", "k1", "missing"]), "");
    let idx: Value = q(
        &mut c,
        &["LCS", "k1", "k2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"],
    );
    assert_eq!(
        format!("{idx:?}"),
        format!(
            "{:?}",
            Value::Array(vec![
                Value::BulkString(b"matches".to_vec()),
                Value::Array(vec![Value::Array(vec![
                    Value::Array(vec![Value::Int(4), Value::Int(7)]),
                    Value::Array(vec![Value::Int(5), Value::Int(8)]),
                    Value::Int(4),
                ])]),
                Value::BulkString(b"len".to_vec()),
                Value::Int(6),
            ])
        )
    );
    assert_eq!(
        q_err(&mut c, &["LCS", "k1", "k2", "LEN", "IDX"]),
        "ERR If you want both the length and indexes, please just use IDX."
    );
    assert_eq!(q_err(&mut c, &["LCS", "k1", "k2", "BOGUS"]), SYNTAX);
    assert_eq!(q_err(&mut c, &["LCS", "k1"]), arity("lcs"));
}

#[test]
fn set_replaces_any_ttl_and_values_survive_reconnect() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v", "PX", "100"]), "OK");
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v2"]), "OK");
    std::thread::sleep(Duration::from_millis(150));
    drop(c);
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v2");
}
