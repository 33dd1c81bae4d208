//! Hash commands end to end: side-by-side scripts against redis-server 7.0 (every command, its
//! errors, RESP3 shapes, listpack and hashtable forms past lowered thresholds), and `redis`
//! crate checks of what cannot be compared byte for byte (HSCAN over a growing hash, random
//! picks, memory use).

mod common;

use std::collections::{HashMap, HashSet};

use common::{compare, q, q_err, Redis, Server};

#[test]
fn hash_commands_compare() {
    compare(&[
        "HSET h f1 v1 f2 v2",
        "HSET h f1 v1",
        "HGET h f1",
        "HGET h nope",
        "HGET nokey f",
        "HMGET h f1 nope f2",
        "HMGET nokey a b",
        "HGETALL h",
        "HGETALL nokey",
        "HKEYS h",
        "HVALS h",
        "HKEYS nokey",
        "HVALS nokey",
        "HLEN h",
        "HLEN nokey",
        "HEXISTS h f1",
        "HEXISTS h nope",
        "HEXISTS nokey f",
        "HSTRLEN h f1",
        "HSTRLEN h nope",
        "HSTRLEN nokey f",
        "HSET h f1 changed f3 v3",
        "HGETALL h",
        "HSETNX h f1 x",
        "HSETNX h f4 x",
        "HSETNX nokey2 a b",
        "HGETALL nokey2",
        "HMSET h a 1 b 2",
        "HGETALL h",
        "HDEL h a nope b",
        "HDEL h a",
        "HDEL nokey a",
        "HGETALL h",
        "HSET one a 1",
        "HDEL one a",
        "EXISTS one",
        "TYPE h",
        "OBJECT ENCODING h",
        // Integers as fields and values (stored as integers in a listpack).
        "HSET ints 1 2 -3 4 100000 5 9223372036854775807 -9223372036854775808 01 x",
        "HGETALL ints",
        "HGET ints 1",
        "HGET ints 001",
        "HGET ints 01",
        "HSTRLEN ints -3",
        "HSTRLEN ints 9223372036854775807",
        "HEXISTS ints 100000",
        "HDEL ints 1 -3",
        "HKEYS ints",
        "HSET bin \"\\x00\\xff\" \"\\r\\n\" \"\" empty",
        "HGETALL bin",
        "HGET bin \"\"",
        // Counters.
        "HINCRBY c n 5",
        "HINCRBY c n -10",
        "HINCRBY c n x",
        "HINCRBY c n 1.5",
        "HINCRBY nokey3 n x",
        "HSET c s abc m 9223372036854775807 neg -9223372036854775808",
        "HINCRBY c s 1",
        "HINCRBY c m 1",
        "HINCRBY c neg -1",
        "HINCRBY c m 0",
        "HINCRBY c s 9223372036854775807",
        "HINCRBYFLOAT c fl 1.5",
        "HINCRBYFLOAT c fl 1e2",
        "HINCRBYFLOAT c fl 0.1",
        "HINCRBYFLOAT c fl -101.6",
        "HINCRBYFLOAT c n 1.5",
        "HINCRBYFLOAT c s 1",
        "HINCRBYFLOAT c s x",
        "HINCRBYFLOAT c fl inf",
        "HINCRBYFLOAT c fl -inf",
        "HINCRBYFLOAT c fl nan",
        "HINCRBYFLOAT c fl 1e5000",
        "HINCRBYFLOAT c fl \"\"",
        "HINCRBYFLOAT c fl \" 1\"",
        "HINCRBYFLOAT c fl 0x10",
        "HSET c huge 1e4932",
        "HINCRBYFLOAT c huge 1e4932",
        "HINCRBYFLOAT nokey4 f 1e400",
        "HGETALL c",
        "OBJECT ENCODING c",
        // Random fields: deterministic forms only.
        "HRANDFIELD nokey",
        "HRANDFIELD nokey 3",
        "HRANDFIELD nokey -3",
        "HRANDFIELD nokey 3 WITHVALUES",
        "HRANDFIELD nokey 0",
        "HRANDFIELD nokey x",
        "HRANDFIELD nokey 1 foo",
        "HRANDFIELD h 100",
        "HRANDFIELD h 100 WITHVALUES",
        "!type HRANDFIELD h 3 withvalues",
        "HRANDFIELD h 0",
        "HRANDFIELD h 0 WITHVALUES",
        "HRANDFIELD h x",
        "HRANDFIELD h x WITHVALUES",
        "HRANDFIELD h 1 x",
        "HRANDFIELD h 1 WITHVALUES x",
        "HRANDFIELD h 4611686018427387904 WITHVALUES",
        "HRANDFIELD h -4611686018427387904 WITHVALUES",
        "HRANDFIELD h -9223372036854775808",
        "HRANDFIELD h 9223372036854775807",
        "HRANDFIELD one",
        "HSET single only 1",
        "HRANDFIELD single",
        "HRANDFIELD single -3",
        "HRANDFIELD single -2 WITHVALUES",
        "HRANDFIELD single 1 WITHVALUES",
        "!type HRANDFIELD h",
        "!type HRANDFIELD h -5",
        "!type HRANDFIELD h 2 WITHVALUES",
        // HSCAN over a listpack: everything in one call, cursor 0.
        "HSCAN h 0",
        "HSCAN h 12345",
        "HSCAN h 0 MATCH f*",
        "HSCAN h 0 MATCH *3",
        "HSCAN h 0 MATCH * COUNT 1",
        "HSCAN h 0 COUNT 1",
        "HSCAN ints 0 MATCH 1*",
        "HSCAN h x",
        "HSCAN h -1",
        "HSCAN h 18446744073709551616",
        "HSCAN nokey 0",
        "HSCAN nokey x",
        "HSCAN nokey 0 junk",
        "HSCAN h 0 junk",
        "HSCAN h 0 COUNT 0",
        "HSCAN h 0 COUNT -1",
        "HSCAN h 0 COUNT x",
        "HSCAN h 0 MATCH",
        "HSCAN h 0 NOVALUES",
        "HSCAN h 0 TYPE hash",
        // Writes keep the key's TTL.
        "HSET t a 1 b 2",
        "EXPIRE t 1000",
        "HSET t c 3",
        "HINCRBY t n 1",
        "HINCRBYFLOAT t f 1.5",
        "HSETNX t g 1",
        "HDEL t a",
        "TTL t",
        // Generic commands over hashes.
        "COPY h hcopy",
        "HGETALL hcopy",
        "OBJECT ENCODING hcopy",
        "RENAME hcopy hcopy2",
        "TYPE hcopy2",
        "!sort SCAN 0 TYPE hash COUNT 1000",
        "DEL hcopy2 h",
        "EXISTS h",
    ]);
}

#[test]
fn hash_errors_compare() {
    compare(&[
        "SET str x",
        "HSET str a 1",
        "HSETNX str a 1",
        "HMSET str a 1",
        "HGET str a",
        "HMGET str a",
        "HGETALL str",
        "HKEYS str",
        "HVALS str",
        "HDEL str a",
        "HLEN str",
        "HEXISTS str a",
        "HSTRLEN str a",
        "HINCRBY str a 1",
        "HINCRBY str a x",
        "HINCRBYFLOAT str a 1",
        "HINCRBYFLOAT str a x",
        "HINCRBYFLOAT str a inf",
        "HRANDFIELD str",
        "HRANDFIELD str 1",
        "HRANDFIELD str x",
        "HSCAN str 0",
        "HSCAN str x",
        "HSET",
        "HSET h",
        "HSET h a",
        "HSET h a 1 b",
        "HMSET h a",
        "HMSET h a 1 b",
        "HSETNX h a",
        "HSETNX h a b c",
        "HGET h",
        "HGET h a b",
        "HMGET h",
        "HGETALL",
        "HGETALL h x",
        "HKEYS",
        "HVALS h x",
        "HDEL h",
        "HLEN",
        "HEXISTS h",
        "HSTRLEN h",
        "HINCRBY h a",
        "HINCRBYFLOAT h a",
        "HRANDFIELD",
        "HSCAN h",
        "EXISTS h",
        "COMMAND INFO hset hsetnx hmset hget hmget hgetall hdel hlen",
        "COMMAND INFO hexists hkeys hvals hstrlen hincrby hincrbyfloat hrandfield hscan",
        "COMMAND GETKEYS hset k f v",
        "COMMAND GETKEYS hscan k 0",
    ]);
}

/// Past the listpack limits (lowered with CONFIG SET, which both servers accept): conversions
/// and every command over the hashtable form. Replies whose order is the table's are sorted.
#[test]
fn big_hashes_compare() {
    let mut script: Vec<String> = [
        "CONFIG SET hash-max-listpack-entries 4",
        "CONFIG SET hash-max-listpack-value 8",
        "HSET b f1 1 f2 2 f3 3 f4 4",
        "OBJECT ENCODING b",
        "HSET b f5 5",
        "OBJECT ENCODING b",
        "!sort HGETALL b",
        "!sort HKEYS b",
        "!sort HVALS b",
        "HLEN b",
        "HDEL b f1 f2 f3 f4",
        "OBJECT ENCODING b",
        "HGETALL b",
        "HDEL b f5",
        "EXISTS b",
        "HSET long a 123456789",
        "OBJECT ENCODING long",
        "HSET longf abcdefghi 1",
        "OBJECT ENCODING longf",
        "HSET ok abcdefgh 12345678",
        "OBJECT ENCODING ok",
        "HSET i a 99999999",
        "HINCRBY i a 1",
        "OBJECT ENCODING i",
        "HSET fl a 1",
        "HINCRBYFLOAT fl a 0.1234567",
        "OBJECT ENCODING fl",
        "HINCRBYFLOAT fl a 0.00000001",
        "OBJECT ENCODING fl",
        "HSETNX nx a 123456789",
        "OBJECT ENCODING nx",
        "HSET mixed a 1 b 123456789",
        "OBJECT ENCODING mixed",
        "!sort HGETALL mixed",
        "CONFIG SET hash-max-listpack-entries 0",
        "HSET z a 1",
        "OBJECT ENCODING z",
        "CONFIG SET hash-max-listpack-entries 128",
        "CONFIG SET hash-max-listpack-value 64",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut big = String::from("HSET big");
    for i in 0..300 {
        big.push_str(&format!(" f{i} v{i}"));
    }
    script.push(big);
    script.extend(
        [
            "OBJECT ENCODING big",
            "HLEN big",
            "HGET big f7",
            "HGET big nope",
            "HMGET big f1 nope f299",
            "HSTRLEN big f123",
            "HEXISTS big f200",
            "HSET big f1 new f300 v300",
            "HGET big f1",
            "HSETNX big f2 x",
            "HSETNX big f301 x",
            "HINCRBY big cnt 7",
            "HINCRBYFLOAT big flt 2.5",
            "HDEL big f0 f1 nope",
            "HLEN big",
            "!sort HGETALL big",
            "!sort HKEYS big",
            "!sort HVALS big",
            "!sort HRANDFIELD big 1000",
            "!sort HSCAN big 0 COUNT 10000",
            "!sort HSCAN big 0 MATCH f1* COUNT 10000",
            "HRANDFIELD big 0",
            "!type HRANDFIELD big",
            "!type HRANDFIELD big 5",
            "!type HRANDFIELD big -5 WITHVALUES",
            "!type HRANDFIELD big 1000 WITHVALUES",
            "HSCAN big x",
            "HSCAN big 0 COUNT 0",
            "HSCAN big 0 TYPE hash",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    let lines: Vec<&str> = script.iter().map(String::as_str).collect();
    compare(&lines);
}

#[test]
fn hscan_returns_every_field_once_while_the_hash_grows() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let mut cmd = redis::cmd("HSET");
    cmd.arg("h");
    for i in 0..3000 {
        cmd.arg(format!("f{i}")).arg(i);
    }
    let _: i64 = cmd.query(&mut c).unwrap();
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "h"]),
        "hashtable"
    );
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut cursor = "0".to_string();
    let mut extra = 0;
    let mut calls = 0;
    loop {
        let (next, items): (String, Vec<String>) =
            q(&mut c, &["HSCAN", "h", &cursor, "COUNT", "50"]);
        calls += 1;
        for pair in items.chunks(2) {
            *seen.entry(pair[0].clone()).or_default() += 1;
            if pair[0].starts_with('f') {
                assert_eq!(pair[0][1..], pair[1][..], "value of {}", pair[0]);
            }
        }
        for _ in 0..20 {
            let f = format!("g{extra}");
            let _: i64 = q(&mut c, &["HSET", "h", &f, "x"]);
            extra += 1;
        }
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert!(calls > 10, "{calls} calls");
    // Exactly once (Redis only promises at least once).
    let once = !common::against_redis();
    for i in 0..3000 {
        let n = seen.get(&format!("f{i}")).copied().unwrap_or(0);
        assert!(n == 1 || (!once && n > 1), "f{i} seen {n} times");
    }
    assert!(!once || seen.values().all(|&n| n == 1));
}

#[test]
fn random_fields_are_fields() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    for (key, n) in [("small", 10), ("big", 500)] {
        let mut cmd = redis::cmd("HSET");
        cmd.arg(key);
        for i in 0..n {
            cmd.arg(format!("f{i}")).arg(format!("{i}"));
        }
        let _: i64 = cmd.query(&mut c).unwrap();
        let all: HashMap<String, String> = q(&mut c, &["HGETALL", key]);
        assert_eq!(all.len(), n);
        for count in [1, 3, n / 2, n - 1] {
            let got: Vec<String> = q(&mut c, &["HRANDFIELD", key, &count.to_string()]);
            let distinct: HashSet<&String> = got.iter().collect();
            assert_eq!((got.len(), distinct.len()), (count, count), "{key} {count}");
            assert!(got.iter().all(|f| all.contains_key(f)));
        }
        let got: Vec<String> = q(&mut c, &["HRANDFIELD", key, "-1000", "WITHVALUES"]);
        assert_eq!(got.len(), 2000);
        for pair in got.chunks(2) {
            assert_eq!(all.get(&pair[0]), Some(&pair[1]));
        }
        let one: String = q(&mut c, &["HRANDFIELD", key]);
        assert!(all.contains_key(&one));
    }
    if common::against_redis() {
        // Redis would try to build that reply (and exhaust its memory).
        return;
    }
    assert_eq!(
        q_err(&mut c, &["HRANDFIELD", "big", "-5000000000"]),
        "ERR count is too large for a reply (at most 16777216 elements with repetitions)"
    );
}

/// 100k hashes of 10 small fields take no more memory than in redis-server.
#[test]
fn small_hashes_memory_is_at_most_redis() {
    if common::skip_without_redis() || common::against_redis() {
        return;
    }
    let flint = Server::start(&[]);
    let redis = Redis::start().expect("redis-server");
    let fill = |s: &Server| {
        let mut c = s.conn();
        let before = s.rss_kb();
        for chunk in 0..100 {
            let mut pipe = redis::pipe();
            for i in 0..1000 {
                let mut cmd = redis::cmd("HSET");
                cmd.arg(format!("user:{}", chunk * 1000 + i));
                for f in 0..10 {
                    cmd.arg(format!("field{f}")).arg(format!("value{f}"));
                }
                pipe.add_command(cmd).ignore();
            }
            let _: () = pipe.query(&mut c).unwrap();
        }
        let enc: String = q(&mut c, &["OBJECT", "ENCODING", "user:5"]);
        assert_eq!(enc, "listpack");
        s.rss_kb().saturating_sub(before)
    };
    let (f, r) = (fill(&flint), fill(&redis));
    println!("100k hashes x 10 fields: flint +{f} KiB, redis +{r} KiB");
    assert!(f <= r, "flint +{f} KiB > redis +{r} KiB");
}
