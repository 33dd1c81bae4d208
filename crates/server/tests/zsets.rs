//! Sorted-set commands end to end: `compare` scripts replayed on Flint and on a real Redis 7.0
//! (RESP2 and RESP3, byte-identical replies; every command, option combination, error text and
//! both encodings, the skiplist one through `CONFIG SET zset-max-listpack-entries`), and a few
//! checks through the `redis` crate that do not need redis-server.

mod common;

use common::{compare, q, q_err, Server};

/// Runs `script` as is (small sets are listpacks) and again with every sorted set a skiplist
/// from its first member (`zset-max-listpack-entries 0`).
fn both(script: &[&str]) {
    compare(script);
    let mut big = vec!["CONFIG SET zset-max-listpack-entries 0"];
    big.extend_from_slice(script);
    compare(&big);
}

#[test]
fn zadd_options_and_errors() {
    both(&[
        "ZADD z 1 a 2 b 3 c",
        "ZADD z 1 a",
        "ZADD z CH 5 a 2 b 9 d",
        "ZRANGE z 0 -1 WITHSCORES",
        "ZADD z NX 100 a 7 e",
        "ZADD z XX 100 a 7 f",
        "ZADD z XX CH 101 a 7 f",
        "ZADD z GT CH 50 a 200 b",
        "ZADD z LT CH 50 a 1 b 0 g",
        "ZADD z GT XX CH 1000 a 5 nope",
        "ZRANGE z 0 -1 WITHSCORES",
        "ZADD z INCR 5 a",
        "ZADD z INCR NX 5 a",
        "ZADD z INCR XX 5 zz",
        "ZADD z INCR GT -5 a",
        "ZADD z INCR LT -5 a",
        "ZADD z INCR 5 newmember",
        "ZADD z NX XX 1 a",
        "ZADD z GT LT 1 a",
        "ZADD z NX GT 1 a",
        "ZADD z NX LT 1 a",
        "ZADD z INCR 1 a 2 b",
        "ZADD z 1 a x",
        "ZADD z nan a",
        "ZADD z 1 a nan b",
        "ZADD z abc a",
        "ZADD z \"\" a",
        "ZADD z \" 1\" a",
        "ZADD z 1e400 a",
        "ZADD z xx nx",
        "ZADD z incr",
        "ZADD z",
        "ZADD z 1",
        "ZADD z ch",
        "ZADD z inf a -inf b +inf c",
        "ZADD z 0x10 hex 1e3 exp -0 negzero .5 half 5. five",
        "ZRANGE z 0 -1 WITHSCORES",
        "ZSCORE z negzero",
        "ZINCRBY z inf a",
        "ZINCRBY z -inf a",
        "ZSCORE z a",
        "ZINCRBY z 1 newone",
        "ZINCRBY z nx a",
        "ZINCRBY z abc a",
        "ZINCRBY z nan a",
        "ZINCRBY z 1.5 five",
        "SET s x",
        "ZADD s 1 a",
        "ZADD s xx 1 a",
        "ZADD s nan a",
        "ZINCRBY s 1 a",
        "ZADD nokey XX 1 a",
        "ZADD nokey XX INCR 1 a",
        "EXISTS nokey",
        "ZADD new1 1 a 2 a",
        "ZSCORE new1 a",
        "ZADD new2 GT 2 a 1 a 3 b",
        "ZRANGE new2 0 -1 WITHSCORES",
        "ZADD new3 CH NX 1 a 2 a",
        "ZADD new4 INCR 5 a",
        "ZADD new5 LT CH 5 a 3 a 4 a",
        "ZRANGE new5 0 -1 WITHSCORES",
        "ZADD new6 XX CH 1 a",
        "EXISTS new6",
        "ZADD z NxX 1 a",
        "ZADD z \"nx\\x00junk\" 1 q",
        "ZCARD z",
        "ZCARD nokey",
        "ZCARD s",
        "TYPE z",
        "OBJECT ENCODING z",
    ]);
}

#[test]
fn zscore_zmscore_zrank_zrem() {
    both(&[
        "ZADD z 1 a 2 b 3 c 1.5 d 1e20 e -2.5e-10 f",
        "ZSCORE z a",
        "ZSCORE z d",
        "ZSCORE z e",
        "ZSCORE z f",
        "ZSCORE z nope",
        "ZSCORE nokey a",
        "ZMSCORE z a nope d",
        "ZMSCORE nokey a b",
        "ZRANK z a",
        "ZRANK z c",
        "ZRANK z nope",
        "ZRANK nokey a",
        "ZREVRANK z a",
        "ZREVRANK z e",
        "ZRANK z a WITHSCORE",
        "ZREVRANK z a withscore",
        "ZREM z a nope b",
        "ZREM z nope",
        "ZREM nokey a",
        "ZRANGE z 0 -1 WITHSCORES",
        "ZREM z c d e f",
        "EXISTS z",
        "SET s x",
        "ZSCORE s a",
        "ZMSCORE s a",
        "ZRANK s a",
        "ZREM s a",
        "ZADD n 1 1 2 2 3 10 4 -1 5 007",
        "ZRANGE n 0 -1 WITHSCORES",
        "ZSCORE n 10",
        "ZSCORE n 007",
        "ZSCORE n 7",
        "ZRANK n -1",
        "ZREM n 10 7",
        "ZRANGE n 0 -1",
    ]);
}

/// The same range script on a listpack and (after the limit is lowered) on a skiplist.
fn range_script(big: bool) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    if big {
        v.push("CONFIG SET zset-max-listpack-entries 4".into());
    }
    v.extend(
        [
            "ZADD z 1 a 2 b 3 c 4 d 5 e 6 f 7 g",
            "OBJECT ENCODING z",
            "ZRANGE z 0 -1",
            "ZRANGE z 0 -1 WITHSCORES",
            "ZRANGE z 2 4 withscores",
            "ZRANGE z -3 -1",
            "ZRANGE z -100 100",
            "ZRANGE z 5 2",
            "ZRANGE z 7 10",
            "ZRANGE z 0 0 REV",
            "ZRANGE z 1 3 REV WITHSCORES",
            "ZREVRANGE z 0 2 WITHSCORES",
            "ZREVRANGE z -2 -1",
            "ZRANGE z 2 5 BYSCORE",
            "ZRANGE z (2 (5 BYSCORE WITHSCORES",
            "ZRANGE z -inf +inf BYSCORE LIMIT 2 3",
            "ZRANGE z -inf +inf BYSCORE LIMIT 2 -1",
            "ZRANGE z -inf +inf BYSCORE LIMIT -1 3",
            "ZRANGE z -inf +inf BYSCORE LIMIT 0 0",
            "ZRANGE z -inf +inf BYSCORE LIMIT 7 1",
            "ZRANGE z -inf +inf BYSCORE LIMIT 6 5",
            "ZRANGE z 5 2 BYSCORE REV",
            "ZRANGE z (5 2 BYSCORE REV LIMIT 1 2 WITHSCORES",
            "ZRANGE z 2 5 BYSCORE REV",
            "ZRANGEBYSCORE z 3 +inf",
            "ZRANGEBYSCORE z (3 inf WITHSCORES LIMIT 1 2",
            "ZRANGEBYSCORE z -inf (1",
            "ZRANGEBYSCORE z 10 20",
            "ZRANGEBYSCORE z 3 3",
            "ZRANGEBYSCORE z (3 3",
            "ZRANGEBYSCORE z 5 1",
            "ZRANGEBYSCORE z \"\" 2",
            "ZRANGEBYSCORE z ( 2",
            "ZRANGEBYSCORE z \" 3\" 4",
            "ZRANGEBYSCORE z 0x2 1e400",
            "ZRANGEBYSCORE z -1e400 2.5",
            "ZRANGEBYSCORE z abc 1",
            "ZRANGEBYSCORE z 1 nan",
            "ZRANGEBYSCORE z (nan 1",
            "ZRANGEBYSCORE z \"3 \" 4",
            "ZREVRANGEBYSCORE z +inf -inf",
            "ZREVRANGEBYSCORE z 5 (2 WITHSCORES",
            "ZREVRANGEBYSCORE z 5 2 LIMIT 1 1",
            "ZREVRANGEBYSCORE z 2 5",
            "ZCOUNT z -inf +inf",
            "ZCOUNT z (1 (7",
            "ZCOUNT z 3 3",
            "ZCOUNT z 8 9",
            "ZCOUNT z 5 1",
            "ZCOUNT z x 1",
            "ZCOUNT nokey 1 2",
            "ZRANGESTORE dst z 0 -1",
            "ZRANGE dst 0 -1 WITHSCORES",
            "OBJECT ENCODING dst",
            "ZRANGESTORE dst z 1 2",
            "OBJECT ENCODING dst",
            "ZRANGESTORE dst z 2 5 BYSCORE REV LIMIT 0 3",
            "ZRANGE dst 0 -1 WITHSCORES",
            "ZRANGESTORE dst z 10 20 BYSCORE",
            "EXISTS dst",
            "ZRANGESTORE dst nokey 0 -1",
            "SET dst x",
            "ZRANGESTORE dst nokey 0 -1",
            "EXISTS dst",
            "ZRANGESTORE dst z 0 -1 WITHSCORES",
            "ZRANGESTORE z z 0 2",
            "ZRANGE z 0 -1 WITHSCORES",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    v
}

#[test]
fn ranges_listpack() {
    let s = range_script(false);
    compare(&s.iter().map(|x| x.as_str()).collect::<Vec<_>>());
}

#[test]
fn ranges_skiplist() {
    let s = range_script(true);
    compare(&s.iter().map(|x| x.as_str()).collect::<Vec<_>>());
}

/// Lex ranges (all scores equal), on a listpack and a skiplist.
fn lex_script(big: bool) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    if big {
        v.push("CONFIG SET zset-max-listpack-entries 2".into());
    }
    v.extend(
        [
            "ZADD l 0 a 0 b 0 c 0 d 0 e 0 f 0 g 0 10 0 9 0 \"\" 0 aa",
            "OBJECT ENCODING l",
            "ZRANGEBYLEX l - +",
            "ZRANGEBYLEX l [b [d",
            "ZRANGEBYLEX l (b (d",
            "ZRANGEBYLEX l [aa +",
            "ZRANGEBYLEX l - (a",
            "ZRANGEBYLEX l - [",
            "ZRANGEBYLEX l [ +",
            "ZRANGEBYLEX l ( (a",
            "ZRANGEBYLEX l + -",
            "ZRANGEBYLEX l [d [b",
            "ZRANGEBYLEX l [b [b",
            "ZRANGEBYLEX l (b [b",
            "ZRANGEBYLEX l - + LIMIT 2 3",
            "ZRANGEBYLEX l - + LIMIT -1 3",
            "ZRANGEBYLEX l - + LIMIT 3 -1",
            "ZRANGEBYLEX l a b",
            "ZRANGEBYLEX l [a +x",
            "ZRANGEBYLEX l \"\" +",
            "ZRANGEBYLEX l [a [b WITHSCORES",
            "ZREVRANGEBYLEX l + -",
            "ZREVRANGEBYLEX l [d [b",
            "ZREVRANGEBYLEX l [b [d",
            "ZREVRANGEBYLEX l + - LIMIT 1 2",
            "ZRANGE l [b [e BYLEX",
            "ZRANGE l [e [b BYLEX REV",
            "ZRANGE l [e [b BYLEX REV LIMIT 1 10",
            "ZRANGE l - + BYLEX WITHSCORES",
            "ZLEXCOUNT l - +",
            "ZLEXCOUNT l [b (e",
            "ZLEXCOUNT l (z +",
            "ZLEXCOUNT l + -",
            "ZLEXCOUNT l x y",
            "ZLEXCOUNT nokey - +",
            "ZRANGESTORE dl l [b [e BYLEX",
            "ZRANGE dl 0 -1 WITHSCORES",
            "ZREMRANGEBYLEX l [b (d",
            "ZREMRANGEBYLEX l (x +",
            "ZREMRANGEBYLEX l x +",
            "ZRANGE l 0 -1",
            "ZREMRANGEBYLEX l - +",
            "EXISTS l",
            "ZREMRANGEBYLEX nokey - +",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    v
}

#[test]
fn lex_listpack() {
    let s = lex_script(false);
    compare(&s.iter().map(|x| x.as_str()).collect::<Vec<_>>());
}

#[test]
fn lex_skiplist() {
    let s = lex_script(true);
    compare(&s.iter().map(|x| x.as_str()).collect::<Vec<_>>());
}

#[test]
fn zrange_option_errors() {
    both(&[
        "ZADD z 1 a 2 b 3 c",
        "ZRANGE z 0 -1 LIMIT 0 1",
        "ZRANGE z a b BYLEX WITHSCORES",
        "ZRANGE z x 1 WITHSCORES BYLEX",
        "ZRANGE z 0 1 REV REV",
        "ZRANGE z 0 1 BYSCORE BYLEX",
        "ZRANGE z 0 1 BYSCORE BYSCORE",
        "ZREVRANGE z 0 1 REV",
        "ZRANGE z 0 1 LIMIT x 1 foo",
        "ZRANGE z 0 1 foo LIMIT x 1",
        "ZRANGE z 0 1 LIMIT 1",
        "ZRANGE z 0 1 LIMIT 1 2 3",
        "ZRANGE z x 1",
        "ZRANGE z 0 y",
        "ZRANGE z 0 9223372036854775807",
        "ZRANGE z -9223372036854775808 -1",
        "ZRANGE z 0 1 BYSCORE LIMIT 0 1 LIMIT 1 1",
        "ZRANGE z (1 x BYSCORE",
        "ZRANGE z 0",
        "ZRANGEBYSCORE z 0 1 BYLEX",
        "ZRANGEBYSCORE z 0 1 REV",
        "ZRANGEBYLEX z - + WITHSCORES",
        "ZRANGEBYLEX z - + BYSCORE",
        "ZREVRANGE z 0 1 LIMIT 0 1",
        "ZRANGESTORE d z 0 -1 WITHSCORES",
        "ZRANGESTORE d z",
        "ZRANGE nokey 0 -1",
        "ZRANGE nokey 0 -1 LIMIT 0 1",
        "ZRANGE nokey x y",
        "SET s x",
        "ZRANGE s 0 -1",
        "ZRANGE s x y",
        "ZRANGESTORE d s 0 -1",
        "ZRANGEBYSCORE s 0 1",
        "ZRANGEBYLEX s - +",
        "ZRANGE z 0 -1 withscores WITHSCORES",
        "ZRANGE z 0 -1 \"withscores\\x00x\"",
    ]);
}

#[test]
fn zremrange_both_encodings() {
    compare(&[
        "ZADD z 1 a 2 b 3 c 4 d 5 e 6 f",
        "ZREMRANGEBYRANK z 1 2",
        "ZRANGE z 0 -1",
        "ZREMRANGEBYRANK z -1 -1",
        "ZREMRANGEBYRANK z 5 10",
        "ZREMRANGEBYRANK z 2 1",
        "ZREMRANGEBYRANK z x 1",
        "ZREMRANGEBYRANK z 0 y",
        "ZREMRANGEBYSCORE z (1 4",
        "ZREMRANGEBYSCORE z x 4",
        "ZREMRANGEBYSCORE z 10 20",
        "ZRANGE z 0 -1 WITHSCORES",
        "ZREMRANGEBYRANK z 0 -1",
        "EXISTS z",
        "ZREMRANGEBYRANK nokey 0 -1",
        "ZREMRANGEBYSCORE nokey 0 1",
        "SET s x",
        "ZREMRANGEBYRANK s 0 1",
        "ZREMRANGEBYSCORE s 0 1",
        "ZREMRANGEBYLEX s - +",
        "ZREMRANGEBYRANK s x 1",
        "CONFIG SET zset-max-listpack-entries 3",
        "ZADD big 1 a 2 b 3 c 4 d 5 e 6 f 7 g 8 h",
        "OBJECT ENCODING big",
        "ZREMRANGEBYRANK big 1 2",
        "ZREMRANGEBYSCORE big 5 (7",
        "ZRANGE big 0 -1 WITHSCORES",
        "OBJECT ENCODING big",
        "ZREMRANGEBYSCORE big -inf +inf",
        "EXISTS big",
    ]);
}

#[test]
fn set_operations() {
    both(&[
        "ZADD a 1 x 2 y 3 z",
        "ZADD b 10 y 20 z 30 w",
        "ZADD c 100 z",
        "ZUNION 2 a b",
        "ZUNION 2 a b WITHSCORES",
        "ZUNION 3 a b c WITHSCORES",
        "ZUNION 2 a b WEIGHTS 2 0.5 WITHSCORES",
        "ZUNION 2 a b AGGREGATE MIN WITHSCORES",
        "ZUNION 2 a b AGGREGATE max WITHSCORES",
        "ZUNION 2 a b WEIGHTS 1 -1 AGGREGATE SUM WITHSCORES",
        "ZUNION 3 a nokey b WITHSCORES",
        "ZUNION 1 nokey",
        "ZINTER 2 a b WITHSCORES",
        "ZINTER 3 a b c WITHSCORES",
        "ZINTER 2 a b AGGREGATE MAX WEIGHTS 3 2 WITHSCORES",
        "ZINTER 2 a nokey",
        "ZINTER 2 a a WITHSCORES",
        "ZDIFF 2 a b WITHSCORES",
        "ZDIFF 2 b a",
        "ZDIFF 3 b a c WITHSCORES",
        "ZDIFF 1 a",
        "ZDIFF 2 nokey a",
        "ZDIFF 2 a a",
        "ZINTERCARD 2 a b",
        "ZINTERCARD 2 a b LIMIT 1",
        "ZINTERCARD 2 a b LIMIT 0",
        "ZINTERCARD 1 a LIMIT 2",
        "ZINTERCARD 2 a nokey",
        "ZUNIONSTORE d 2 a b",
        "ZRANGE d 0 -1 WITHSCORES",
        "OBJECT ENCODING d",
        "ZINTERSTORE d 2 a b WEIGHTS 1 2",
        "ZRANGE d 0 -1 WITHSCORES",
        "ZDIFFSTORE d 2 a b",
        "ZRANGE d 0 -1 WITHSCORES",
        "ZINTERSTORE d 2 a nokey",
        "EXISTS d",
        "SET d x",
        "ZUNIONSTORE d 1 nokey",
        "EXISTS d",
        "ZUNIONSTORE a 2 a b",
        "ZRANGE a 0 -1 WITHSCORES",
        "ZADD inf 1 x",
        "ZADD inf2 inf x",
        "ZUNION 2 inf inf2 WEIGHTS 0 1 WITHSCORES",
        "ZUNION 2 inf2 inf2 WEIGHTS 1 -1 WITHSCORES",
        "ZINTER 2 inf2 inf2 WEIGHTS 1 -1 WITHSCORES",
        "ZINTER 2 inf2 inf WEIGHTS 0 1 AGGREGATE MIN WITHSCORES",
        "ZUNION 1 inf2 WEIGHTS 0 WITHSCORES",
    ]);
}

#[test]
fn set_operation_errors() {
    both(&[
        "ZADD a 1 x 2 y",
        "SET s x",
        "ZUNION 0 a",
        "ZUNION -1 a",
        "ZUNION x a",
        "ZUNIONSTORE d 0 a",
        "ZINTERCARD 0 a",
        "ZDIFF 0 a",
        "ZUNION 2 a",
        "ZUNION 3 a b",
        "ZINTERCARD 2 a",
        "ZUNION 1 a WEIGHTS x",
        "ZUNION 1 a WEIGHTS nan",
        "ZUNION 1 a WEIGHTS 1 2",
        "ZUNION 2 a a WEIGHTS 1",
        "ZUNION 1 a AGGREGATE foo",
        "ZUNION 1 a AGGREGATE",
        "ZUNION 1 a WITHSCORES WITHSCORES",
        "ZUNION 1 a LIMIT 1",
        "ZDIFF 1 a WEIGHTS 1",
        "ZDIFF 1 a AGGREGATE SUM",
        "ZINTER 1 a LIMIT 1",
        "ZINTERCARD 1 a LIMIT -1",
        "ZINTERCARD 1 a LIMIT x",
        "ZINTERCARD 1 a LIMIT",
        "ZINTERCARD 1 a WITHSCORES",
        "ZINTERCARD 1 a WEIGHTS 1",
        "ZUNIONSTORE d 1 a WITHSCORES",
        "ZUNION 2 a s",
        "ZUNION 2 a s WEIGHTS x",
        "ZUNION 2 a s foo",
        "ZINTER 2 s nokey",
        "ZDIFF 2 nokey s",
        "ZUNIONSTORE d 2 a s",
        "ZINTERCARD 2 a s",
        "ZUNION",
        "ZUNIONSTORE d",
        "ZUNIONSTORE d 1",
    ]);
}

#[test]
fn set_operations_big() {
    let mut script = vec!["CONFIG SET zset-max-listpack-entries 8".to_string()];
    let mut a = String::from("ZADD a");
    let mut b = String::from("ZADD b");
    for i in 0..40 {
        a.push_str(&format!(" {} m{i}", i as f64 * 1.5));
        if i % 3 == 0 {
            b.push_str(&format!(" {} m{i}", 100 - i));
        }
    }
    b.push_str(" 7 other");
    script.push(a);
    script.push(b);
    for line in [
        "OBJECT ENCODING a",
        "OBJECT ENCODING b",
        "ZUNION 2 a b WITHSCORES",
        "ZINTER 2 a b WITHSCORES",
        "ZDIFF 2 a b WITHSCORES",
        "ZINTERCARD 2 a b",
        "ZINTERCARD 2 a b LIMIT 5",
        "ZUNIONSTORE u 2 a b AGGREGATE MAX",
        "OBJECT ENCODING u",
        "ZINTERSTORE i 2 a b",
        "OBJECT ENCODING i",
        "ZRANGE i 0 -1 WITHSCORES",
        "ZDIFFSTORE df 2 b a",
        "OBJECT ENCODING df",
        "ZRANGE df 0 -1 WITHSCORES",
    ] {
        script.push(line.into());
    }
    compare(&script.iter().map(|x| x.as_str()).collect::<Vec<_>>());
}

#[test]
fn pops() {
    both(&[
        "ZADD z 1 a 2 b 3 c 4 d 5 e",
        "ZPOPMIN z",
        "ZPOPMAX z",
        "ZPOPMIN z 2",
        "ZPOPMIN z 0",
        "ZPOPMAX z 10",
        "EXISTS z",
        "ZPOPMIN z",
        "ZPOPMIN z 3",
        "ZPOPMIN z -1",
        "ZPOPMIN z x",
        "ZPOPMIN z 1 2",
        "ZADD z 1 a",
        "ZPOPMIN z -1",
        "ZPOPMAX z 0",
        "ZPOPMAX z 1",
        "SET s x",
        "ZPOPMIN s",
        "ZPOPMIN s 0",
        "ZADD a 1 x 2 y 3 z",
        "ZADD b 10 p",
        "ZMPOP 1 a MIN",
        "ZMPOP 2 nokey a MAX COUNT 5",
        "EXISTS a",
        "ZMPOP 2 nokey a MIN",
        "ZMPOP 2 b nokey MIN COUNT 1",
        "ZMPOP 1 nokey MIN",
        "ZMPOP 0 a MIN",
        "ZMPOP x a MIN",
        "ZMPOP -1 a MIN",
        "ZMPOP 1 a",
        "ZMPOP 1 a foo",
        "ZMPOP 1 a MIN COUNT 0",
        "ZMPOP 1 a MIN COUNT x",
        "ZMPOP 1 a MIN COUNT -1",
        "ZMPOP 1 a MIN COUNT 1 COUNT 1",
        "ZMPOP 1 a MIN COUNT",
        "ZMPOP 2 a MIN",
        "ZMPOP 9223372036854775807 a MIN",
        "ZMPOP 1 s MIN",
        "ZMPOP 2 nokey s MAX",
        "ZADD c 1 q",
        "ZMPOP 2 c s MAX",
        "ZMPOP 2 s c MAX",
        "CONFIG SET zset-max-listpack-entries 2",
        "ZADD big 1 a 2 b 3 c 4 d 5 e",
        "ZPOPMIN big 2",
        "ZPOPMAX big",
        "ZMPOP 1 big MAX COUNT 2",
        "EXISTS big",
    ]);
}

#[test]
fn zrandmember_deterministic_cases() {
    both(&[
        "ZADD z 1 a 2 b 3 c",
        "ZRANDMEMBER nokey",
        "ZRANDMEMBER nokey 5",
        "ZRANDMEMBER nokey -5 WITHSCORES",
        "ZRANDMEMBER z 0",
        "ZRANDMEMBER z 3",
        "ZRANDMEMBER z 10 WITHSCORES",
        "ZRANDMEMBER z 1 2",
        "ZRANDMEMBER z x",
        "ZRANDMEMBER z 1 WITHSCORES x",
        "ZRANDMEMBER z -9223372036854775808",
        "ZRANDMEMBER z -9223372036854775808 WITHSCORES",
        "ZRANDMEMBER z -9223372036854770000 WITHSCORES",
        "ZRANDMEMBER z 9223372036854770000 WITHSCORES",
        "!type ZRANDMEMBER z",
        "!type ZRANDMEMBER z -5",
        "!type ZRANDMEMBER z 2 WITHSCORES",
        "SET s x",
        "ZRANDMEMBER s",
        "ZRANDMEMBER s 1",
        "ZADD one 5 only",
        "ZRANDMEMBER one",
        "ZRANDMEMBER one -3 WITHSCORES",
        "ZRANDMEMBER one 1 WITHSCORES",
        "CONFIG SET zset-max-listpack-entries 1",
        "ZADD big 1 a 2 b 3 c",
        "ZRANDMEMBER big 3 WITHSCORES",
        "ZRANDMEMBER big 30",
        "!type ZRANDMEMBER big -2 WITHSCORES",
    ]);
}

#[test]
fn zscan_both_encodings() {
    compare(&[
        "ZADD z 1 a 2.5 b -0 c inf d 1e20 e 4611686018427387904 f 4611686018427387903 g",
        "ZSCAN z 0",
        "ZSCAN z 0 MATCH a*",
        "ZSCAN z 0 COUNT 1",
        "ZSCAN z x",
        "ZSCAN z 0 COUNT 0",
        "ZSCAN z 0 COUNT x",
        "ZSCAN z 0 TYPE zset",
        "ZSCAN z 0 MATCH",
        "ZSCAN nokey 0 foo",
        "ZSCAN nokey x",
        "SET s x",
        "ZSCAN s 0",
        "ZSCAN s 0 foo",
        "CONFIG SET zset-max-listpack-entries 2",
        "ZADD big 1 a 2.5 b -0 c inf d 1e20 e 4611686018427387904 f",
        "!sort ZSCAN big 0 COUNT 100",
        "!sort ZSCAN big 0 COUNT 100 MATCH [a-c]",
        "ZSCAN big 0 COUNT x",
    ]);
}

#[test]
fn encodings_and_conversions() {
    compare(&[
        "CONFIG SET zset-max-listpack-entries 4",
        "CONFIG SET zset-max-listpack-value 8",
        "ZADD z 1 a 2 b 3 c 4 d",
        "OBJECT ENCODING z",
        "ZADD z 5 e",
        "OBJECT ENCODING z",
        "ZREM z a b c d",
        "OBJECT ENCODING z",
        "ZADD v 1 short",
        "OBJECT ENCODING v",
        "ZADD v 2 waytoolongmember",
        "OBJECT ENCODING v",
        "ZADD w 1 waytoolongmember",
        "OBJECT ENCODING w",
        "ZINCRBY x 1 waytoolongmember",
        "OBJECT ENCODING x",
        "ZADD y 1 a 2 b",
        "ZADD y 3 a",
        "OBJECT ENCODING y",
        "ZUNIONSTORE u 2 z y",
        "OBJECT ENCODING u",
        "ZUNIONSTORE u 1 w",
        "OBJECT ENCODING u",
        "ZRANGESTORE r z 0 -1",
        "OBJECT ENCODING r",
        "ZADD many 1 a 2 b 3 c 4 d 5 e 6 f",
        "ZRANGESTORE r many 0 3",
        "OBJECT ENCODING r",
        "ZRANGESTORE r many 0 4",
        "OBJECT ENCODING r",
        "ZRANGESTORE r many -inf +inf BYSCORE LIMIT 0 5",
        "OBJECT ENCODING r",
        "CONFIG SET zset-max-listpack-entries 0",
        "ZADD zero 1 a",
        "OBJECT ENCODING zero",
        "ZRANGE zero 0 -1 WITHSCORES",
    ]);
}

#[test]
fn command_metadata() {
    let cmds = [
        "zadd",
        "zcard",
        "zcount",
        "zdiff",
        "zdiffstore",
        "zincrby",
        "zinter",
        "zintercard",
        "zinterstore",
        "zlexcount",
        "zmpop",
        "zmscore",
        "zpopmax",
        "zpopmin",
        "zrandmember",
        "zrange",
        "zrangebylex",
        "zrangebyscore",
        "zrangestore",
        "zrank",
        "zrem",
        "zremrangebylex",
        "zremrangebyrank",
        "zremrangebyscore",
        "zrevrange",
        "zrevrangebylex",
        "zrevrangebyscore",
        "zrevrank",
        "zscan",
        "zscore",
        "zunion",
        "zunionstore",
    ];
    let mut script: Vec<String> = Vec::new();
    for c in cmds {
        script.push(format!("COMMAND INFO {c}"));
    }
    for line in [
        "COMMAND GETKEYS ZUNIONSTORE d 2 a b WEIGHTS 1 2",
        "COMMAND GETKEYS ZUNION 2 a b",
        "COMMAND GETKEYS ZMPOP 2 a b MIN",
        "COMMAND GETKEYS ZMPOP 3 a b MIN",
        "COMMAND GETKEYS ZUNION 2x a b",
        "COMMAND GETKEYS ZINTERCARD 1 a LIMIT 5",
        "COMMAND GETKEYS ZRANGESTORE d s 0 1",
        "COMMAND GETKEYSANDFLAGS ZINTERSTORE d 2 a b",
        "COMMAND GETKEYSANDFLAGS ZMPOP 1 a MAX",
    ] {
        script.push(line.into());
    }
    compare(&script.iter().map(|x| x.as_str()).collect::<Vec<_>>());
}

#[test]
fn command_docs_fields() {
    // COMMAND DOCS `arguments` is not generated yet: compare the other fields through the
    // redis crate instead of byte for byte.
    let s = Server::start(&[]);
    let mut c = s.conn();
    let v: redis::Value = q(&mut c, &["COMMAND", "DOCS", "zrangebyscore"]);
    let text = format!("{v:?}");
    assert!(text.contains("deprecated"), "{text}");
    assert!(text.contains("1.0.5"), "{text}");
    assert_eq!(
        q_err(&mut c, &["ZADD", "z", "NX", "XX", "1", "a"]),
        "ERR XX and NX options at the same time are not compatible"
    );
}

#[test]
fn zscan_big_returns_every_member_once() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "zset-max-listpack-entries", "16"],
    );
    let mut args: Vec<String> = vec!["ZADD".into(), "z".into()];
    for i in 0..3000 {
        args.push(format!("{}", i % 17));
        args.push(format!("m{i}"));
    }
    let refs: Vec<&str> = args.iter().map(|a| a.as_str()).collect();
    assert_eq!(q::<i64>(&mut c, &refs), 3000);
    let mut seen = std::collections::HashMap::new();
    let mut cursor = "0".to_string();
    let mut extra = 0;
    loop {
        let (next, items): (String, Vec<String>) =
            q(&mut c, &["ZSCAN", "z", &cursor, "COUNT", "50"]);
        for pair in items.chunks(2) {
            *seen.entry(pair[0].clone()).or_insert(0) += 1;
            if let Some(i) = pair[0].strip_prefix('m') {
                let i: usize = i.parse().unwrap();
                assert_eq!(pair[1], format!("{}", i % 17));
            }
        }
        // Members added during the scan do not disturb it.
        let m = format!("extra{extra}");
        let _: i64 = q(&mut c, &["ZADD", "z", "5", &m]);
        extra += 1;
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    for i in 0..3000 {
        assert_eq!(seen.get(&format!("m{i}")), Some(&1), "m{i}");
    }
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "z"]),
        "skiplist"
    );
    // Removing every member deletes the key.
    assert_eq!(
        q::<i64>(&mut c, &["ZREMRANGEBYRANK", "z", "0", "-1"]),
        3000 + extra
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "z"]), 0);
    assert_eq!(q_err(&mut c, &["ZSCAN", "z", "abc"]), "ERR invalid cursor");
}

#[test]
fn big_set_ranks_and_ranges() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let mut args: Vec<String> = vec!["ZADD".into(), "z".into()];
    for i in 0..5000 {
        args.push(format!("{i}"));
        args.push(format!("m{i:05}"));
    }
    let refs: Vec<&str> = args.iter().map(|a| a.as_str()).collect();
    assert_eq!(q::<i64>(&mut c, &refs), 5000);
    assert_eq!(
        q::<String>(&mut c, &["OBJECT", "ENCODING", "z"]),
        "skiplist"
    );
    for i in [0, 1, 2499, 4998, 4999] {
        let m = format!("m{i:05}");
        assert_eq!(q::<i64>(&mut c, &["ZRANK", "z", &m]), i);
        assert_eq!(q::<i64>(&mut c, &["ZREVRANK", "z", &m]), 4999 - i);
    }
    let r: Vec<String> = q(&mut c, &["ZRANGE", "z", "1000", "1002"]);
    assert_eq!(r, vec!["m01000", "m01001", "m01002"]);
    let r: Vec<String> = q(
        &mut c,
        &["ZRANGE", "z", "(1000", "2000", "BYSCORE", "LIMIT", "5", "2"],
    );
    assert_eq!(r, vec!["m01006", "m01007"]);
    assert_eq!(q::<i64>(&mut c, &["ZCOUNT", "z", "100", "(200"]), 100);
    assert_eq!(
        q::<i64>(&mut c, &["ZREMRANGEBYSCORE", "z", "100", "(200"]),
        100
    );
    assert_eq!(q::<i64>(&mut c, &["ZCARD", "z"]), 4900);
    assert_eq!(q::<i64>(&mut c, &["ZRANK", "z", "m00200"]), 100);
    let popped: Vec<String> = q(&mut c, &["ZPOPMAX", "z", "2"]);
    assert_eq!(popped, vec!["m04999", "4999", "m04998", "4998"]);
}

#[test]
fn score_edge_cases() {
    both(&[
        "ZADD z Infinity a -INF b +inf c",
        "ZADD z 1e309 d",
        "ZADD z -1e309 d",
        "ZADD z 1e-400 d",
        "ZADD z 4.9e-324 d",
        "ZADD z 0x1p3 e",
        "ZADD z \" 1\" f",
        "ZADD z \"1 \" f",
        "ZADD z 1. g .5 h -.5 i",
        "ZADD z 1e308 j",
        "ZINCRBY z 1e308 j",
        "ZINCRBY z 1e308 j",
        "ZADD z INCR -inf c",
        "ZINCRBY z -inf a",
        "ZRANGE z 0 -1 WITHSCORES",
        "ZRANGEBYSCORE z (inf +inf",
        "ZRANGEBYSCORE z inf +inf",
        "ZRANGEBYSCORE z -inf (-inf",
        "ZCOUNT z (-inf (+inf",
        "ZCOUNT z -inf +inf",
        "ZRANGE z 0 -1 BYSCORE WITHSCORES",
        "ZRANGE z (0 5 BYSCORE LIMIT 1 -5 WITHSCORES",
        "ZREMRANGEBYSCORE z (5 (5",
        "ZREMRANGEBYSCORE z 5 5",
        "ZADD w 0 x 1 y",
        "ZUNION 2 z w WEIGHTS 0 inf WITHSCORES",
        "ZINTER 2 z z WEIGHTS inf -inf WITHSCORES",
        "ZUNIONSTORE u 2 z w WEIGHTS inf 0 AGGREGATE MIN",
        "ZRANGE u 0 -1 WITHSCORES",
        "ZRANGESTORE r z -inf +inf BYSCORE LIMIT -1 5",
        "EXISTS r",
        "ZRANGESTORE r z +inf -inf BYSCORE REV LIMIT 1 2",
        "ZRANGE r 0 -1 WITHSCORES",
        "ZADD neg -0 a 0 b -0.0 c",
        "ZRANGE neg 0 -1 WITHSCORES",
        "ZSCORE neg a",
        "ZRANGEBYSCORE neg -0 0 WITHSCORES",
        "ZRANGEBYSCORE neg (-0 0",
    ]);
}

#[test]
fn inside_multi_exec() {
    // EXEC runs commands on a view that locks shards on first use: reading many keys at once
    // (ZUNION over 24 keys, past the view's linear search) must still see every one.
    let keys: Vec<String> = (0..24).map(|i| format!("k{i}")).collect();
    let mut script: Vec<String> = vec!["MULTI".into()];
    for (i, k) in keys.iter().enumerate() {
        script.push(format!("ZADD {k} {i} m{} {i} shared", i % 5));
    }
    script.push(format!(
        "ZUNION {} {} WITHSCORES",
        keys.len(),
        keys.join(" ")
    ));
    script.push(format!(
        "ZINTER {} {} WITHSCORES",
        keys.len(),
        keys.join(" ")
    ));
    script.push(format!("ZUNIONSTORE dst {} {}", keys.len(), keys.join(" ")));
    script.push("ZRANGE dst 0 -1 WITHSCORES".into());
    script.push("ZMPOP 3 nokey k3 k4 MAX COUNT 2".into());
    script.push("EXEC".into());
    script.push("WATCH dst".into());
    script.push("ZADD dst 1 fresh".into());
    script.push("MULTI".into());
    script.push("ZCARD dst".into());
    script.push("EXEC".into());
    compare(&script.iter().map(|x| x.as_str()).collect::<Vec<_>>());
}

#[test]
fn blocking_pops_without_blocking() {
    both(&[
        "ZADD z 1 a 2 b 3 c 4 d 5 e 6 f",
        "BZPOPMIN z 0",
        "BZPOPMAX z 0",
        "BZPOPMIN nokey z 0.5",
        "BZMPOP 0 1 z MIN",
        "BZMPOP 0 2 nokey z MAX COUNT 5",
        "EXISTS z",
        "BZPOPMIN z x",
        "BZPOPMIN z -1",
        "BZPOPMIN z",
        "BZPOPMIN nokey 0.01",
        "BZMPOP 0.01 1 nokey MIN",
        "SET s x",
        "BZPOPMIN s 0",
        "BZPOPMIN nokey s z 0",
        "BZMPOP 0 2 nokey s MIN",
        "BZMPOP x 1 z min",
        "BZMPOP 1 0 a min",
        "BZMPOP -1 1 a foo",
        "BZMPOP -1 1 a min",
        "BZMPOP 0.01 1 a min count 0",
        "BZMPOP 0.01 1 a min count 1 count 1",
        "BZMPOP 0",
        "MULTI",
        "BZPOPMIN nokey 0",
        "BZMPOP 0 1 nokey MAX",
        "ZADD m 5 x",
        "BZPOPMAX m 0",
        "EXEC",
        "COMMAND INFO bzpopmin bzpopmax bzmpop",
        "COMMAND GETKEYS BZMPOP 0 2 a b MIN",
        "COMMAND GETKEYS BZPOPMIN a b 0",
    ]);
}

#[test]
fn blocking_pops_are_served() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let url = s.url();
    let waiter = std::thread::spawn(move || {
        let mut w = redis::Client::open(url.as_str())
            .unwrap()
            .get_connection()
            .unwrap();
        let first: (String, String, String) = q(&mut w, &["BZPOPMIN", "nokey", "z", "5"]);
        let second: (String, Vec<(String, String)>) = q(
            &mut w,
            &["BZMPOP", "5", "2", "nokey", "y", "MAX", "COUNT", "2"],
        );
        (first, second)
    });
    // Wait until the waiter is blocked, then feed it.
    assert!(common::wait_until(
        std::time::Duration::from_secs(5),
        || { q::<String>(&mut c, &["INFO", "clients"]).contains("blocked_clients:1") }
    ));
    assert_eq!(q::<i64>(&mut c, &["ZADD", "z", "2", "b", "1", "a"]), 2);
    assert!(common::wait_until(
        std::time::Duration::from_secs(5),
        || { q::<String>(&mut c, &["INFO", "clients"]).contains("blocked_clients:1") }
    ));
    assert_eq!(
        q::<i64>(&mut c, &["ZADD", "y", "1", "p", "2", "q", "3", "r"]),
        3
    );
    let (first, second) = waiter.join().unwrap();
    assert_eq!(first, ("z".into(), "a".into(), "1".into()));
    assert_eq!(
        second,
        (
            "y".into(),
            vec![("r".into(), "3".into()), ("q".into(), "2".into())]
        )
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "z", "0", "-1"]),
        vec!["b"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "y", "0", "-1"]),
        vec!["p"]
    );
}

#[test]
fn set_inputs_count_as_score_one() {
    common::compare(&[
        "SADD ints 1 2 3",
        "SADD strs a b c",
        "ZADD z 5 a 7 2",
        "ZUNION 3 ints strs z WITHSCORES",
        "ZINTER 2 z strs WITHSCORES",
        "ZINTER 2 z ints WEIGHTS 2 3 AGGREGATE MAX WITHSCORES",
        "ZDIFF 2 strs z WITHSCORES",
        "ZUNIONSTORE dst 2 ints strs",
        "ZRANGE dst 0 -1 WITHSCORES",
        "ZINTERCARD 2 strs z",
        "SET str x",
        "ZUNION 2 z str",
    ]);
}
