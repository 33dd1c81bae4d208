//! Generic key commands and databases end to end: DEL, UNLINK, EXISTS, TYPE, RENAME(NX), COPY,
//! KEYS, SCAN, RANDOMKEY, TOUCH, OBJECT, SELECT, SWAPDB, MOVE, FLUSHDB, FLUSHALL, DBSIZE.

mod common;

use std::collections::BTreeSet;

use common::{q, q_err, Server};

fn arity(cmd: &str) -> String {
    format!("ERR wrong number of arguments for '{cmd}' command")
}

#[test]
fn del_unlink_exists_touch() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(
        q::<String>(&mut c, &["MSET", "a", "1", "b", "2", "c", "3"]),
        "OK"
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "a", "a", "b", "nope"]), 3);
    assert_eq!(q::<i64>(&mut c, &["TOUCH", "a", "b", "nope"]), 2);
    assert_eq!(q::<i64>(&mut c, &["DEL", "a", "nope", "a"]), 1);
    assert_eq!(q::<i64>(&mut c, &["UNLINK", "b", "c"]), 2);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "a", "b", "c"]), 0);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    assert_eq!(q_err(&mut c, &["DEL"]), arity("del"));
    assert_eq!(q_err(&mut c, &["EXISTS"]), arity("exists"));
    assert_eq!(q_err(&mut c, &["TOUCH"]), arity("touch"));
}

#[test]
fn type_and_object() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["TYPE", "nope"]), "none");
    assert_eq!(q::<String>(&mut c, &["SET", "i", "12345"]), "OK");
    assert_eq!(q::<String>(&mut c, &["TYPE", "i"]), "string");
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "i"]), "int");
    assert_eq!(q::<String>(&mut c, &["SET", "e", "short text"]), "OK");
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "e"]), "embstr");
    let long = "x".repeat(45);
    assert_eq!(q::<String>(&mut c, &["SET", "r", &long]), "OK");
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "r"]), "raw");
    assert_eq!(q::<i64>(&mut c, &["APPEND", "e", "!"]), 11);
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "e"]), "raw");
    assert_eq!(
        q::<Option<String>>(&mut c, &["OBJECT", "ENCODING", "nope"]),
        None
    );
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "REFCOUNT", "e"]), 1);
    let idle: i64 = q(&mut c, &["OBJECT", "IDLETIME", "e"]);
    assert!((0..=2).contains(&idle), "{idle}");
    assert_eq!(
        q_err(&mut c, &["OBJECT", "FREQ", "e"]),
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. \
         Please note that when switching between policies at runtime LRU and LFU data will \
         take some time to adjust."
    );
    assert_eq!(
        q::<String>(
            &mut c,
            &["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]
        ),
        "OK"
    );
    let _: i64 = q(&mut c, &["OBJECT", "FREQ", "e"]);
    let help: Vec<String> = q(&mut c, &["OBJECT", "HELP"]);
    assert!(help[0].starts_with("OBJECT <subcommand>"), "{help:?}");
    assert_eq!(
        q_err(&mut c, &["OBJECT", "NOPE", "e"]),
        "ERR unknown subcommand 'NOPE'. Try OBJECT HELP."
    );
    assert_eq!(
        q_err(&mut c, &["OBJECT", "ENCODING"]),
        "ERR wrong number of arguments for 'object|encoding' command"
    );
}

#[test]
fn rename_renamenx_copy() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["SET", "a", "1", "EX", "100"]), "OK");
    assert_eq!(q::<String>(&mut c, &["RENAME", "a", "b"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "a"]), 0);
    assert_eq!(q::<String>(&mut c, &["GET", "b"]), "1");
    assert_eq!(q::<i64>(&mut c, &["TTL", "b"]), 100, "RENAME keeps the TTL");
    assert_eq!(q::<String>(&mut c, &["RENAME", "b", "b"]), "OK");
    assert_eq!(q_err(&mut c, &["RENAME", "nope", "x"]), "ERR no such key");
    assert_eq!(q::<String>(&mut c, &["SET", "c", "3"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["RENAMENX", "b", "c"]), 0);
    assert_eq!(q::<i64>(&mut c, &["RENAMENX", "b", "d"]), 1);
    assert_eq!(q_err(&mut c, &["RENAMENX", "nope", "x"]), "ERR no such key");

    assert_eq!(q::<i64>(&mut c, &["COPY", "d", "e"]), 1);
    assert_eq!(q::<String>(&mut c, &["GET", "e"]), "1");
    assert_eq!(q::<i64>(&mut c, &["TTL", "e"]), 100, "COPY copies the TTL");
    assert_eq!(q::<i64>(&mut c, &["COPY", "d", "c"]), 0);
    assert_eq!(q::<i64>(&mut c, &["COPY", "d", "c", "REPLACE"]), 1);
    assert_eq!(q::<String>(&mut c, &["GET", "c"]), "1");
    assert_eq!(q::<i64>(&mut c, &["COPY", "nope", "z"]), 0);
    assert_eq!(q::<i64>(&mut c, &["COPY", "d", "d", "DB", "3"]), 1);
    assert_eq!(q::<String>(&mut c, &["SELECT", "3"]), "OK");
    assert_eq!(q::<String>(&mut c, &["GET", "d"]), "1");
    assert_eq!(q::<String>(&mut c, &["SELECT", "0"]), "OK");
    assert_eq!(
        q_err(&mut c, &["COPY", "d", "d"]),
        "ERR source and destination objects are the same"
    );
    assert_eq!(
        q_err(&mut c, &["COPY", "d", "x", "DB", "99"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        q_err(&mut c, &["COPY", "d", "x", "BOGUS"]),
        "ERR syntax error"
    );
    assert_eq!(q_err(&mut c, &["RENAME", "a"]), arity("rename"));
}

#[test]
fn keys_patterns() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    for k in [
        "hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h[a]llo", "other",
    ] {
        assert_eq!(q::<String>(&mut c, &["SET", k, "1"]), "OK");
    }
    let keys = |c: &mut redis::Connection, pat: &str| -> BTreeSet<String> {
        q::<Vec<String>>(c, &["KEYS", pat]).into_iter().collect()
    };
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(keys(&mut c, "*").len(), 8);
    assert_eq!(
        keys(&mut c, "h?llo"),
        set(&["hello", "hallo", "hxllo", "h*llo"])
    );
    assert_eq!(
        keys(&mut c, "h*llo"),
        set(&["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h[a]llo"])
    );
    assert_eq!(keys(&mut c, "h[ae]llo"), set(&["hello", "hallo"]));
    assert_eq!(keys(&mut c, "h[^e]llo"), set(&["hallo", "hxllo", "h*llo"]));
    assert_eq!(keys(&mut c, "h[a-b]llo"), set(&["hallo"]));
    assert_eq!(keys(&mut c, "h\\*llo"), set(&["h*llo"]));
    assert_eq!(keys(&mut c, "h\\[a\\]llo"), set(&["h[a]llo"]));
    assert_eq!(keys(&mut c, "nomatch*"), set(&[]));
    assert_eq!(q_err(&mut c, &["KEYS"]), arity("keys"));
}

#[test]
fn scan_match_count_type() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let mut want = BTreeSet::new();
    for i in 0..500 {
        let k = format!("key:{i}");
        assert_eq!(q::<String>(&mut c, &["SET", &k, "v"]), "OK");
        want.insert(k);
    }
    let mut seen = BTreeSet::new();
    let mut cursor = "0".to_string();
    loop {
        let (next, keys): (String, Vec<String>) = q(&mut c, &["SCAN", &cursor, "COUNT", "37"]);
        seen.extend(keys);
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen, want);

    let (_, keys): (String, Vec<String>) =
        q(&mut c, &["SCAN", "0", "MATCH", "key:1?", "COUNT", "10000"]);
    assert_eq!(keys.len(), 10);
    let (_, keys): (String, Vec<String>) =
        q(&mut c, &["SCAN", "0", "TYPE", "string", "COUNT", "10000"]);
    assert_eq!(keys.len(), 500);
    let (_, keys): (String, Vec<String>) =
        q(&mut c, &["SCAN", "0", "TYPE", "list", "COUNT", "10000"]);
    assert!(keys.is_empty());
    assert_eq!(q_err(&mut c, &["SCAN", "x"]), "ERR invalid cursor");
    assert_eq!(
        q_err(&mut c, &["SCAN", "0", "COUNT", "0"]),
        "ERR syntax error"
    );
    assert_eq!(
        q_err(&mut c, &["SCAN", "0", "COUNT", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(q_err(&mut c, &["SCAN", "0", "BOGUS"]), "ERR syntax error");
}

#[test]
fn scan_guarantee_while_the_table_grows() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let mut present = BTreeSet::new();
    for i in 0..200 {
        let k = format!("stable:{i}");
        assert_eq!(q::<String>(&mut c, &["SET", &k, "v"]), "OK");
        present.insert(k);
    }
    let mut seen = BTreeSet::new();
    let mut cursor = "0".to_string();
    let mut round = 0;
    loop {
        let (next, keys): (String, Vec<String>) = q(&mut c, &["SCAN", &cursor, "COUNT", "10"]);
        seen.extend(keys);
        // Grow the table between the first calls, then shrink it again, forcing resizes in both
        // directions during the iteration.
        if round < 20 {
            for j in 0..300 {
                let k = format!("extra:{round}:{j}");
                assert_eq!(q::<String>(&mut c, &["SET", &k, "v"]), "OK");
            }
        } else if round < 40 {
            let mut del = vec!["DEL".to_string()];
            del.extend((0..300).map(|j| format!("extra:{}:{j}", round - 20)));
            let del: Vec<&str> = del.iter().map(|s| s.as_str()).collect();
            assert_eq!(q::<i64>(&mut c, &del), 300);
        }
        round += 1;
        cursor = next;
        if cursor == "0" || round > 100_000 {
            break;
        }
    }
    let missing: Vec<_> = present.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "SCAN missed keys present throughout: {missing:?}"
    );
}

#[test]
fn randomkey() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<Option<String>>(&mut c, &["RANDOMKEY"]), None);
    assert_eq!(q::<String>(&mut c, &["MSET", "a", "1", "b", "2"]), "OK");
    for _ in 0..20 {
        let k: String = q(&mut c, &["RANDOMKEY"]);
        assert!(k == "a" || k == "b", "{k}");
    }
}

#[test]
fn select_swapdb_move() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["SET", "k", "db0"]), "OK");
    assert_eq!(q::<String>(&mut c, &["SELECT", "1"]), "OK");
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "k"]), None);
    assert_eq!(q::<String>(&mut c, &["SET", "k", "db1"]), "OK");
    assert_eq!(q::<String>(&mut c, &["SWAPDB", "0", "1"]), "OK");
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "db0");
    assert_eq!(q::<String>(&mut c, &["SELECT", "0"]), "OK");
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "db1");
    assert_eq!(
        q_err(&mut c, &["SELECT", "16"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        q_err(&mut c, &["SELECT", "-1"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        q_err(&mut c, &["SELECT", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        q_err(&mut c, &["SWAPDB", "0", "16"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        q_err(&mut c, &["SWAPDB", "0", "x"]),
        "ERR invalid second DB index"
    );
    assert_eq!(
        q_err(&mut c, &["SWAPDB", "x", "0"]),
        "ERR invalid first DB index"
    );

    assert_eq!(q::<i64>(&mut c, &["MOVE", "k", "2"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "k"]), 0);
    assert_eq!(q::<i64>(&mut c, &["MOVE", "k", "2"]), 0);
    assert_eq!(q::<String>(&mut c, &["SET", "k", "again"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["MOVE", "k", "2"]), 0, "target exists");
    assert_eq!(
        q_err(&mut c, &["MOVE", "k", "0"]),
        "ERR source and destination objects are the same"
    );
    assert_eq!(
        q_err(&mut c, &["MOVE", "k", "99"]),
        "ERR DB index is out of range"
    );
}

#[test]
fn flushdb_flushall_dbsize() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["MSET", "a", "1", "b", "2"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 2);
    assert_eq!(q::<String>(&mut c, &["SELECT", "5"]), "OK");
    assert_eq!(q::<String>(&mut c, &["SET", "c", "3"]), "OK");
    assert_eq!(q::<String>(&mut c, &["FLUSHDB"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    assert_eq!(q::<String>(&mut c, &["SET", "c", "3"]), "OK");
    assert_eq!(q::<String>(&mut c, &["FLUSHDB", "ASYNC"]), "OK");
    assert_eq!(q::<String>(&mut c, &["FLUSHDB", "SYNC"]), "OK");
    assert_eq!(q::<String>(&mut c, &["SELECT", "0"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 2);
    assert_eq!(q::<String>(&mut c, &["FLUSHALL", "ASYNC"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    assert_eq!(q::<String>(&mut c, &["SET", "a", "1"]), "OK");
    assert_eq!(q::<String>(&mut c, &["FLUSHALL", "SYNC"]), "OK");
    assert_eq!(q::<String>(&mut c, &["FLUSHALL"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    assert_eq!(q_err(&mut c, &["FLUSHALL", "BOGUS"]), "ERR syntax error");
    assert_eq!(q_err(&mut c, &["FLUSHDB", "BOGUS"]), "ERR syntax error");
    assert_eq!(q_err(&mut c, &["DBSIZE", "x"]), arity("dbsize"));
}

#[test]
fn multi_key_commands_are_atomic_across_threads() {
    // Many clients MSET the same keys to one value each; MGET must never see a mix.
    let s = Server::start(&[]);
    let keys: Vec<String> = (0..16).map(|i| format!("atomic:{i}")).collect();
    std::thread::scope(|scope| {
        for w in 0..4 {
            let keys = keys.clone();
            let s = &s;
            scope.spawn(move || {
                let mut c = s.conn();
                for round in 0..200 {
                    let v = format!("{w}-{round}");
                    let mut args = vec!["MSET".to_string()];
                    for k in &keys {
                        args.push(k.clone());
                        args.push(v.clone());
                    }
                    let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
                    let _: String = q(&mut c, &args);
                }
            });
        }
        let keys = keys.clone();
        let s = &s;
        scope.spawn(move || {
            let mut c = s.conn();
            for _ in 0..400 {
                let mut args = vec!["MGET"];
                args.extend(keys.iter().map(|s| s.as_str()));
                let vals: Vec<Option<String>> = q(&mut c, &args);
                let first = &vals[0];
                assert!(vals.iter().all(|v| v == first), "torn MSET seen: {vals:?}");
            }
        });
    });
}
