//! Set commands end to end: side-by-side scripts against redis-server 7.0 (every command, its
//! errors, RESP3 shapes, intset and hashtable forms past lowered thresholds), and `redis` crate
//! checks of what cannot be compared byte for byte (random picks, SSCAN over a growing set,
//! small string sets, which Flint keeps as listpacks as Redis 7.2 does where 7.0 says
//! `hashtable`).

mod common;

use std::collections::{HashMap, HashSet};

use common::{compare, q, q_err, Server};

#[test]
fn set_commands_compare() {
    compare(&[
        "SADD s 3 1 2",
        "SADD s 1 4",
        "SMEMBERS s",
        "SCARD s",
        "SISMEMBER s 1",
        "SISMEMBER s 9",
        "SISMEMBER s x",
        "SMISMEMBER s 1 9 x 4",
        "SISMEMBER nokey 1",
        "SMISMEMBER nokey 1 2",
        "SCARD nokey",
        "SMEMBERS nokey",
        "OBJECT ENCODING s",
        "TYPE s",
        // Integer widths and order.
        "SADD neg -5 100000 -3000000000 9223372036854775807 -9223372036854775808 0 32767 -32768",
        "SMEMBERS neg",
        "OBJECT ENCODING neg",
        "SISMEMBER neg -3000000000",
        "SISMEMBER neg 01",
        "SISMEMBER neg -0",
        "SREM neg 9223372036854775807 -9223372036854775808 7",
        "SMEMBERS neg",
        "SREM s 1 9",
        "SREM nokey 1",
        "SREM s 2 3 4",
        "EXISTS s",
        // SPOP: deterministic forms.
        "SPOP nokey",
        "SPOP nokey 2",
        "SPOP nokey 0",
        "SPOP nokey -1",
        "SPOP nokey x",
        "SADD p 1 2 3",
        "SPOP p 1 2",
        "SPOP p 0",
        "SPOP p -1",
        "SPOP p 3",
        "EXISTS p",
        "SADD p 5",
        "SPOP p",
        "EXISTS p",
        "SADD p 7 8 9",
        "SPOP p 100",
        "SADD p 7 8 9",
        "!type SPOP p",
        "!type SPOP p 1",
        "SCARD p",
        // SRANDMEMBER: deterministic forms.
        "SRANDMEMBER nokey",
        "SRANDMEMBER nokey 3",
        "SRANDMEMBER nokey -3",
        "SRANDMEMBER nokey 0",
        "SRANDMEMBER nokey x",
        "SADD r 1 2 3",
        "SRANDMEMBER r 3",
        "SRANDMEMBER r 10",
        "SRANDMEMBER r 0",
        "SRANDMEMBER r x",
        "SRANDMEMBER r 1 2",
        "SRANDMEMBER r -9223372036854775808",
        "SRANDMEMBER r 9223372036854775807",
        "!type SRANDMEMBER r",
        "!type SRANDMEMBER r -5",
        "!type SRANDMEMBER r 2",
        "SADD one 42",
        "SRANDMEMBER one",
        "SRANDMEMBER one -3",
        "SRANDMEMBER one 1",
        // SMOVE.
        "SET str x",
        "SADD a 1 2 3",
        "SMOVE nokey str 1",
        "SMOVE a str 1",
        "SMOVE str a 1",
        "SMOVE a a 1",
        "SMOVE a a 9",
        "SMOVE a b 9",
        "SMOVE a b 1",
        "SMEMBERS a",
        "SMEMBERS b",
        "OBJECT ENCODING b",
        "SMOVE a b 2",
        "SMOVE a b 3",
        "EXISTS a",
        "SMEMBERS b",
        "SMOVE b nokey2 x",
        // Algebra over intsets: replies in ascending order on both servers.
        "SADD x 1 2 3 4 5",
        "SADD y 2 3 4 100",
        "SADD z 3 4 5 -1",
        "SINTER x y z",
        "SINTER x",
        "SINTER x nokey",
        "SINTER nokey x",
        "SINTER x x",
        "SUNION x y z",
        "SUNION x nokey",
        "SUNION nokey",
        "SDIFF x y z",
        "SDIFF x y",
        "SDIFF x x",
        "SDIFF x nokey",
        "SDIFF nokey x",
        "SDIFF y x nokey",
        "SINTERCARD 3 x y z",
        "SINTERCARD 2 x y",
        "SINTERCARD 2 x y LIMIT 2",
        "SINTERCARD 2 x y LIMIT 0",
        "SINTERCARD 2 x y limit 100",
        "SINTERCARD 2 x nokey",
        "SINTERCARD 1 x",
        "SINTERCARD 0 x",
        "SINTERCARD -1 x",
        "SINTERCARD x x",
        "SINTERCARD 99999999999999999999 x",
        "SINTERCARD 3 x y",
        "SINTERCARD 1 x LIMIT",
        "SINTERCARD 1 x LIMIT -1",
        "SINTERCARD 1 x LIMIT x",
        "SINTERCARD 1 x FOO 1",
        "SINTERCARD 1 x LIMIT 1 LIMIT 2",
        "SINTERCARD 2 x str",
        "SINTERCARD 2 nokey str",
        // Store forms.
        "SINTERSTORE dst x y",
        "SMEMBERS dst",
        "OBJECT ENCODING dst",
        "SUNIONSTORE dst x y z",
        "SMEMBERS dst",
        "OBJECT ENCODING dst",
        "SDIFFSTORE dst x y",
        "SMEMBERS dst",
        "SET dst string",
        "EXPIRE dst 1000",
        "SINTERSTORE dst x z",
        "TTL dst",
        "TYPE dst",
        "SINTERSTORE dst x nokey",
        "EXISTS dst",
        "SUNIONSTORE dst nokey nokey2",
        "EXISTS dst",
        "SDIFFSTORE dst x x",
        "EXISTS dst",
        "SINTERSTORE nokey5 x nokey",
        "SUNIONSTORE x x y",
        "SMEMBERS x",
        "SDIFFSTORE x x y",
        "SMEMBERS x",
        "SINTERSTORE dst str x",
        "SINTERSTORE str x y",
        "TYPE str",
        "SET str x",
        // SSCAN over an intset: everything, cursor 0.
        "SSCAN y 0",
        "SSCAN y 77",
        "SSCAN y 0 MATCH 1*",
        "SSCAN y 0 COUNT 1",
        "SSCAN y 0 MATCH * COUNT 100",
        "SSCAN y x",
        "SSCAN y -1",
        "SSCAN nokey 0",
        "SSCAN nokey x",
        "SSCAN nokey 0 junk",
        "SSCAN y 0 junk",
        "SSCAN y 0 COUNT 0",
        "SSCAN y 0 COUNT x",
        "SSCAN y 0 MATCH",
        "SSCAN y 0 TYPE set",
        // Binary and string members (no OBJECT ENCODING: Redis 7.0 says hashtable).
        "SADD bin \"\\x00\\xff\" \"\" \"a b\"",
        "SCARD bin",
        "SISMEMBER bin \"\"",
        "SISMEMBER bin \"\\x00\\xff\"",
        "SMISMEMBER bin \"a b\" a",
        "!sort SMEMBERS bin",
        "SREM bin \"\"",
        "SCARD bin",
        "SADD mix 1 a 2 b",
        "!sort SMEMBERS mix",
        "!sort SINTER mix x y",
        "!sort SUNION mix bin",
        "!sort SDIFF mix x",
        "SINTERSTORE dst mix y",
        "SMEMBERS dst",
        "!sort SSCAN mix 0",
        "SSCAN mix 0 MATCH a",
        "!sort SRANDMEMBER mix 10",
        "SRANDMEMBER mix 0",
        // Writes keep the key's TTL.
        "SADD st 1 2 3 4",
        "EXPIRE st 1000",
        "SADD st 5 x",
        "SREM st 1",
        "SMOVE st st2 x",
        "SMOVE st2 st 2",
        "!type SPOP st",
        "TTL st",
        "TTL st2",
        // Generic commands over sets.
        "COPY neg negcopy",
        "SMEMBERS negcopy",
        "OBJECT ENCODING negcopy",
        "RENAME negcopy negcopy2",
        "TYPE negcopy2",
        "!sort SCAN 0 TYPE set COUNT 1000",
        "DEL negcopy2 neg",
        "EXISTS neg",
    ]);
}

#[test]
fn set_errors_compare() {
    compare(&[
        "SET str x",
        "SADD s 1",
        "SADD str a",
        "SREM str a",
        "SMEMBERS str",
        "SISMEMBER str a",
        "SMISMEMBER str a",
        "SCARD str",
        "SPOP str",
        "SPOP str 2",
        "SPOP str -2",
        "SPOP str x",
        "SRANDMEMBER str",
        "SRANDMEMBER str 2",
        "SRANDMEMBER str x",
        "SINTER str",
        "SINTER nokey str",
        "SINTER s str",
        "SINTERSTORE dst nokey str",
        "SUNION s str",
        "SUNION str nokey",
        "SUNIONSTORE dst s str",
        "SDIFF nokey str",
        "SDIFF s str",
        "SDIFFSTORE dst s str",
        "EXISTS dst",
        "SSCAN str 0",
        "SSCAN str x",
        "SADD",
        "SADD s",
        "SREM s",
        "SMEMBERS",
        "SMEMBERS s x",
        "SISMEMBER s",
        "SISMEMBER s a b",
        "SMISMEMBER s",
        "SCARD",
        "SCARD s x",
        "SPOP",
        "SPOP s 1 2",
        "SRANDMEMBER",
        "SRANDMEMBER s 1 2",
        "SMOVE s d",
        "SMOVE s d m x",
        "SINTER",
        "SINTERCARD",
        "SINTERCARD 1",
        "SINTERSTORE dst",
        "SUNION",
        "SUNIONSTORE dst",
        "SDIFF",
        "SDIFFSTORE dst",
        "SSCAN s",
        "COMMAND INFO sadd srem smembers sismember smismember scard spop srandmember smove",
        "COMMAND INFO sinter sintercard sinterstore sunion sunionstore sdiff sdiffstore sscan",
        "COMMAND GETKEYS sintercard 2 a b LIMIT 1",
        "COMMAND GETKEYS sintercard 1 a",
        "COMMAND GETKEYS smove a b m",
        "COMMAND GETKEYS sunionstore d a b",
        "COMMAND GETKEYSANDFLAGS sinterstore d a b",
        "COMMAND GETKEYSANDFLAGS smove a b m",
    ]);
}

/// Past the intset limit (lowered with CONFIG SET): integer sets become hashtables on both
/// servers, results of the store forms and SPOP's rebuilt remainder take the encoding of their
/// size, and every command works over the hashtable form.
#[test]
fn big_sets_compare() {
    let mut script: Vec<String> = [
        "CONFIG SET set-max-intset-entries 4",
        "SADD i 1 2 3 4",
        "OBJECT ENCODING i",
        "SADD i 5",
        "OBJECT ENCODING i",
        "!sort SMEMBERS i",
        "SREM i 1 2 3 4",
        "OBJECT ENCODING i",
        "SMEMBERS i",
        "SADD j 1 2 3 4 5 6 7 8 9 10",
        "OBJECT ENCODING j",
        "SADD k 5 6 7 8 9 10 11 12",
        "SINTERSTORE dst j k",
        "OBJECT ENCODING dst",
        "!sort SMEMBERS dst",
        "SINTERSTORE dst j i",
        "OBJECT ENCODING dst",
        "SMEMBERS dst",
        "SDIFFSTORE dst j k",
        "OBJECT ENCODING dst",
        "SMEMBERS dst",
        "SUNIONSTORE dst j k",
        "OBJECT ENCODING dst",
        "SCARD dst",
        "!sort SUNION j k",
        "!sort SINTER j k",
        "SINTER j i",
        "!sort SDIFF k j",
        "SINTERCARD 2 j k",
        "SINTERCARD 2 j k LIMIT 3",
        "SISMEMBER j 7",
        "SISMEMBER j 70",
        "SMISMEMBER j 1 70",
        "!sort SRANDMEMBER j 100",
        "!type SRANDMEMBER j 3",
        "!type SRANDMEMBER j -30",
        "!sort SSCAN j 0 COUNT 1000",
        "!sort SSCAN j 0 MATCH 1* COUNT 1000",
        "SSCAN j x",
        // SPOP taking most of a big set rebuilds the rest as an intset (Redis 7.0 too).
        "!type SPOP j 9",
        "SCARD j",
        "OBJECT ENCODING j",
        "SMOVE k fresh 5",
        "SMOVE k fresh 6",
        "OBJECT ENCODING fresh",
        "!type SPOP k 2",
        "SCARD k",
        "OBJECT ENCODING k",
        "!type SPOP k 100",
        "EXISTS k",
        "CONFIG SET set-max-intset-entries 0",
        "SADD zero 1",
        "OBJECT ENCODING zero",
        "CONFIG SET set-max-intset-entries 512",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut big = String::from("SADD big");
    for i in 0..1000 {
        big.push_str(&format!(" {i}"));
    }
    script.push(big);
    let mut strs = String::from("SADD strs");
    for i in 0..300 {
        strs.push_str(&format!(" m{i}"));
    }
    script.push(strs);
    script.extend(
        [
            "OBJECT ENCODING big",
            "OBJECT ENCODING strs",
            "SCARD big",
            "SISMEMBER big 999",
            "SREM big 0 1 2",
            "SCARD big",
            "!sort SMEMBERS strs",
            "SINTER big strs",
            "SINTERCARD 2 big big",
            "SINTERCARD 2 big big LIMIT 10",
            "!sort SUNION big",
            "SUNIONSTORE dst big strs",
            "SCARD dst",
            "SDIFFSTORE dst big strs",
            "SCARD dst",
            "OBJECT ENCODING dst",
            "SREM big 500",
            "SDIFFSTORE dst big dst",
            "SCARD dst",
            "!sort SSCAN strs 0 COUNT 100000",
            // Most of 997 popped: the rest is rebuilt as an intset.
            "!type SPOP big 900",
            "SCARD big",
            "OBJECT ENCODING big",
            "!type SPOP big 1000",
            "EXISTS big",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    let lines: Vec<&str> = script.iter().map(String::as_str).collect();
    compare(&lines);
}

/// Small string sets are listpacks in Flint (as in Redis 7.2), hashtables in Redis 7.0.
#[test]
fn small_string_sets_are_listpacks() {
    if common::against_redis() {
        // Redis 7.0 keeps these as hashtables.
        return;
    }
    let s = Server::start(&[]);
    let mut c = s.conn();
    let enc = |c: &mut redis::Connection, k: &str| q::<String>(c, &["OBJECT", "ENCODING", k]);
    assert_eq!(q::<i64>(&mut c, &["SADD", "s", "1", "2"]), 2);
    assert_eq!(enc(&mut c, "s"), "intset");
    assert_eq!(q::<i64>(&mut c, &["SADD", "s", "a"]), 1);
    assert_eq!(enc(&mut c, "s"), "listpack");
    assert_eq!(q::<i64>(&mut c, &["SADD", "t", "x"]), 1);
    assert_eq!(enc(&mut c, "t"), "listpack");
    let long = "x".repeat(65);
    assert_eq!(q::<i64>(&mut c, &["SADD", "t", &long]), 1);
    assert_eq!(enc(&mut c, "t"), "hashtable");
    for i in 0..128 {
        let _: i64 = q(&mut c, &["SADD", "u", &format!("m{i}")]);
    }
    assert_eq!(enc(&mut c, "u"), "listpack");
    let _: i64 = q(&mut c, &["SADD", "u", "one-more"]);
    assert_eq!(enc(&mut c, "u"), "hashtable");
    let members: HashSet<String> = q(&mut c, &["SMEMBERS", "u"]);
    assert_eq!(members.len(), 129);
    // The listpack keeps insertion order.
    let _: i64 = q(&mut c, &["SADD", "order", "c", "a", "b"]);
    let members: Vec<String> = q(&mut c, &["SMEMBERS", "order"]);
    assert_eq!(members, ["c", "a", "b"]);
}

#[test]
fn sscan_returns_every_member_once_while_the_set_grows() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let mut cmd = redis::cmd("SADD");
    cmd.arg("s");
    for i in 0..3000 {
        cmd.arg(format!("m{i}"));
    }
    let _: i64 = cmd.query(&mut c).unwrap();
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "s"]),
        "hashtable"
    );
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut cursor = "0".to_string();
    let mut extra = 0;
    loop {
        let (next, items): (String, Vec<String>) =
            q(&mut c, &["SSCAN", "s", &cursor, "COUNT", "40"]);
        for m in items {
            *seen.entry(m).or_default() += 1;
        }
        for _ in 0..15 {
            let _: i64 = q(&mut c, &["SADD", "s", &format!("n{extra}")]);
            extra += 1;
        }
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    // Exactly once (Redis only promises at least once).
    let once = !common::against_redis();
    for i in 0..3000 {
        let n = seen.get(&format!("m{i}")).copied().unwrap_or(0);
        assert!(n == 1 || (!once && n > 1), "m{i} seen {n} times");
    }
    assert!(!once || seen.values().all(|&n| n == 1));
}

#[test]
fn random_members_are_members() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    for (key, n, prefix) in [("ints", 300, ""), ("lp", 50, "m"), ("big", 2000, "m")] {
        let mut cmd = redis::cmd("SADD");
        cmd.arg(key);
        for i in 0..n {
            cmd.arg(format!("{prefix}{i}"));
        }
        let _: i64 = cmd.query(&mut c).unwrap();
        let all: HashSet<String> = q(&mut c, &["SMEMBERS", key]);
        assert_eq!(all.len(), n);
        for count in [1, 3, n / 2, n - 1] {
            let got: Vec<String> = q(&mut c, &["SRANDMEMBER", key, &count.to_string()]);
            let distinct: HashSet<&String> = got.iter().collect();
            assert_eq!((got.len(), distinct.len()), (count, count), "{key} {count}");
            assert!(got.iter().all(|m| all.contains(m)));
        }
        let got: Vec<String> = q(&mut c, &["SRANDMEMBER", key, "-5000"]);
        assert_eq!(got.len(), 5000);
        assert!(got.iter().all(|m| all.contains(m)));
        // Every member comes up eventually.
        let got: HashSet<String> = q(&mut c, &["SRANDMEMBER", key, &format!("-{}", n * 40)]);
        assert_eq!(got.len(), n, "{key}");
        // SPOP with a count: distinct members, removed.
        let popped: Vec<String> = q(&mut c, &["SPOP", key, "7"]);
        let distinct: HashSet<&String> = popped.iter().collect();
        assert_eq!(distinct.len(), 7);
        for m in &popped {
            assert!(all.contains(m));
            assert_eq!(q::<i64>(&mut c, &["SISMEMBER", key, m]), 0);
        }
        assert_eq!(q::<usize>(&mut c, &["SCARD", key]), n - 7);
        let rest: Vec<String> = q(&mut c, &["SPOP", key, &(n - 8).to_string()]);
        assert_eq!(rest.len(), n - 8);
        assert_eq!(q::<usize>(&mut c, &["SCARD", key]), 1);
    }
    if common::against_redis() {
        // Redis would try to build that reply (and exhaust its memory).
        return;
    }
    assert_eq!(
        q_err(&mut c, &["SRANDMEMBER", "ints", "-5000000000"]),
        "ERR count is too large for a reply (at most 16777216 elements with repetitions)"
    );
}
