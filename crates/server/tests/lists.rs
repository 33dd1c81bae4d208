//! List commands end to end: scripts replayed on Flint and redis-server (RESP2 and RESP3,
//! byte-identical replies, errors included), the command table's metadata, and a few checks
//! through a real client (large lists across many nodes, every node-size setting).

mod common;

use common::{compare, compare_with, q, q_err, Server};

#[test]
fn push_pop_and_lengths() {
    compare(&[
        "LPUSH l a b c",
        "RPUSH l 1 2 3",
        "LRANGE l 0 -1",
        "LLEN l",
        "LLEN nope",
        "LPUSHX nope a",
        "RPUSHX nope a b",
        "EXISTS nope",
        "LPUSHX l x y",
        "RPUSHX l z",
        "LRANGE l 0 -1",
        "LPOP l",
        "RPOP l",
        "LPOP l 2",
        "RPOP l 2",
        "LPOP l 0",
        "RPOP l 0",
        "LPOP l 100",
        "EXISTS l",
        "LPOP l",
        "RPOP l",
        "LPOP l 0",
        "LPOP l 5",
        "RPOP nope 1",
        "LPOP l -1",
        "LPOP l abc",
        "RPOP l 1 2",
        "LPOP",
        "LPUSH l",
        "RPUSH nums 0 1 -1 127 128 -129 32768 9223372036854775807 -9223372036854775808 9223372036854775808 01 +1 -0 \"\" \" \"",
        "LRANGE nums 0 -1",
        "RPOP nums 20",
        "OBJECT ENCODING nums",
        "RPUSH bin \"\\x00\\xff\\r\\n\" \"\"",
        "LRANGE bin 0 -1",
        "TYPE bin",
        "OBJECT ENCODING bin",
    ]);
}

#[test]
fn index_set_range_trim() {
    compare(&[
        "RPUSH l a b c d e f g",
        "LINDEX l 0",
        "LINDEX l -1",
        "LINDEX l 6",
        "LINDEX l 7",
        "LINDEX l -7",
        "LINDEX l -8",
        "LINDEX l x",
        "LINDEX l 1.5",
        "LINDEX nope x",
        "LINDEX nope 0",
        "LSET l 0 A",
        "LSET l -1 G",
        "LSET l 7 X",
        "LSET l -8 X",
        "LSET l x X",
        "LSET nope 0 X",
        "LSET nope x X",
        "LRANGE l 0 -1",
        "LRANGE l -3 -1",
        "LRANGE l -100 100",
        "LRANGE l 5 2",
        "LRANGE l 7 10",
        "LRANGE l -1 -3",
        "LRANGE l 0 0",
        "LRANGE l x 1",
        "LRANGE l 0 y",
        "LRANGE nope 0 -1",
        "LRANGE nope x -1",
        "LRANGE l -9223372036854775808 9223372036854775807",
        "LTRIM l 1 -2",
        "LRANGE l 0 -1",
        "LTRIM l -100 100",
        "LRANGE l 0 -1",
        "LTRIM l 0 0",
        "LRANGE l 0 -1",
        "LTRIM l 5 1",
        "EXISTS l",
        "LTRIM nope 0 1",
        "LTRIM l x 1",
        "LTRIM nope 0 y",
        "RPUSH l a b c",
        "LTRIM l 2 1",
        "EXISTS l",
    ]);
}

#[test]
fn insert_rem_pos() {
    compare(&[
        "RPUSH l a b c b a 1 2 1",
        "LINSERT l BEFORE b X",
        "LINSERT l after b Y",
        "LINSERT l AFTER 1 Z",
        "LINSERT l before nope Z",
        "LINSERT nope before a Z",
        "LINSERT l middle a Z",
        "LINSERT nope middle a Z",
        "LRANGE l 0 -1",
        "LREM l 1 b",
        "LREM l -1 1",
        "LREM l 0 a",
        "LREM l 0 nope",
        "LREM l x a",
        "LREM nope 0 a",
        "LRANGE l 0 -1",
        "DEL l",
        "RPUSH l a b c 1 2 3 c c",
        "LPOS l c",
        "LPOS l c RANK 2",
        "LPOS l c RANK -1",
        "LPOS l c RANK -2",
        "LPOS l c RANK 4",
        "LPOS l c COUNT 0",
        "LPOS l c COUNT 2",
        "LPOS l c COUNT 0 RANK -1",
        "LPOS l c COUNT 0 RANK 2",
        "LPOS l c MAXLEN 2",
        "LPOS l c MAXLEN 3",
        "LPOS l c COUNT 0 MAXLEN 7",
        "LPOS l c RANK -1 MAXLEN 1",
        "LPOS l 1",
        "LPOS l nope",
        "LPOS l nope COUNT 1",
        "LPOS nope c",
        "LPOS nope c COUNT 1",
        "LPOS l c RANK 0",
        "LPOS l c RANK x",
        "LPOS l c COUNT -1",
        "LPOS l c COUNT x",
        "LPOS l c MAXLEN -1",
        "LPOS l c MAXLEN x",
        "LPOS l c RANK",
        "LPOS l c FOO 1",
        "LPOS l c rank -9223372036854775808",
        "LPOS l c rank -9223372036854775808 count 2",
        "LPOS l c rank 9223372036854775807 count 2",
        "LPOS l c rank -9223372036854775807 count 0",
        "LPOS l c rank 9223372036854775807",
        "LPOS l c count 9223372036854775807 maxlen 9223372036854775807",
        "LPOS nope c RANK 0",
    ]);
}

#[test]
fn move_and_mpop() {
    compare(&[
        "RPUSH src a b c d",
        "LMOVE src dst LEFT RIGHT",
        "LMOVE src dst right left",
        "LRANGE dst 0 -1",
        "RPOPLPUSH src dst",
        "LMOVE dst dst LEFT RIGHT",
        "LRANGE dst 0 -1",
        "RPOPLPUSH src src",
        "LRANGE src 0 -1",
        "RPOPLPUSH src dst",
        "EXISTS src",
        "LMOVE src dst LEFT LEFT",
        "RPOPLPUSH src dst",
        "LMOVE src dst UP LEFT",
        "LMOVE src dst LEFT DOWN",
        "SET str x",
        "LMOVE dst str LEFT LEFT",
        "LMOVE str dst LEFT LEFT",
        "RPOPLPUSH nope str",
        "LRANGE dst 0 -1",
        "LMPOP 2 nope dst LEFT",
        "LMPOP 2 nope dst RIGHT COUNT 2",
        "LMPOP 1 dst LEFT COUNT 10",
        "LMPOP 1 dst LEFT",
        "LMPOP 2 str dst LEFT",
        "RPUSH l2 1",
        "LMPOP 2 l2 str LEFT",
        "LMPOP 0 a LEFT",
        "LMPOP -1 a LEFT",
        "LMPOP x a LEFT",
        "LMPOP 3 a LEFT",
        "LMPOP 2 a LEFT",
        "LMPOP 9223372036854775807 a LEFT",
        "LMPOP 1 a UP",
        "LMPOP 1 a LEFT COUNT",
        "LMPOP 1 a LEFT COUNT 0",
        "LMPOP 1 a LEFT COUNT -1",
        "LMPOP 1 a LEFT COUNT x",
        "LMPOP 1 a LEFT COUNT 1 COUNT 1",
        "LMPOP 1 a LEFT FOO",
        "LMPOP 1 a",
    ]);
}

#[test]
fn wrong_type_and_arity() {
    compare(&[
        "SET s x",
        "LPUSH s a",
        "RPUSH s a",
        "LPUSHX s a",
        "RPUSHX s a",
        "LPOP s",
        "RPOP s 1",
        "LPOP s 0",
        "LLEN s",
        "LRANGE s 0 1",
        "LRANGE s x 1",
        "LINDEX s 0",
        "LINDEX s x",
        "LSET s 0 a",
        "LSET s x a",
        "LINSERT s BEFORE a b",
        "LINSERT s MIDDLE a b",
        "LREM s 0 a",
        "LREM s x a",
        "LTRIM s 0 1",
        "LPOS s a",
        "LPOS s a RANK 0",
        "LMOVE s d LEFT LEFT",
        "LMPOP 1 s LEFT",
        "BLPOP s 0",
        "BRPOP nope s 0",
        "BLMOVE s d LEFT LEFT 0",
        "BRPOPLPUSH s d 0",
        "BLMPOP 0 1 s LEFT",
        "LLEN",
        "LRANGE l 0",
        "LINDEX l",
        "LSET l 0",
        "LINSERT l BEFORE a",
        "LREM l 0",
        "LTRIM l 0",
        "LPOS l",
        "LMOVE a b LEFT",
        "RPOPLPUSH a",
        "BLPOP a",
        "BRPOP a",
        "BLMOVE a b LEFT LEFT",
        "BRPOPLPUSH a b",
        "BLMPOP 0 1 a",
    ]);
}

#[test]
fn blocking_forms_that_do_not_block() {
    compare(&[
        "RPUSH l a b c d e",
        "BLPOP nope l 0",
        "BRPOP l nope 0",
        "BLPOP nope 0.01",
        "BRPOP nope 0.01",
        "BLMOVE l dst LEFT RIGHT 0",
        "BRPOPLPUSH l dst 0",
        "LRANGE dst 0 -1",
        "BLMOVE nope dst LEFT RIGHT 0.01",
        "BRPOPLPUSH nope dst 0.01",
        "BLMPOP 0 2 nope l RIGHT COUNT 5",
        "BLMPOP 0.01 2 nope l LEFT",
        "EXISTS l",
        "BLPOP nope x",
        "BLPOP nope -1",
        "BLPOP nope inf",
        "BLPOP nope nan",
        "BLPOP nope 1e400",
        "BLPOP nope \" 1\"",
        "BLPOP nope \"\"",
        "BRPOPLPUSH nope dst -0.5",
        "BLMOVE nope dst LEFT UP 0",
        "BLMOVE nope dst LEFT LEFT x",
        "BLMPOP x 1 a LEFT",
        "BLMPOP -1 1 a LEFT",
        "BLMPOP x 0 a LEFT",
        "BLMPOP x 1 a UP",
        "BLMPOP x 1 a LEFT COUNT 0",
        "BLMPOP 0 2 a LEFT",
    ]);
}

#[test]
fn node_sizes_do_not_change_replies() {
    for size in ["-5", "-1", "1", "3", "0"] {
        compare_with(
            &["--list-max-listpack-size", size],
            &[
                "RPUSH l a b c d e f g h i j k l m n o p q r s t u v w x y z",
                "LINSERT l BEFORE m M",
                "LINSERT l AFTER a A",
                "LSET l 10 \"a much longer element than before, to overflow small nodes\"",
                "LREM l 0 c",
                "LRANGE l 0 -1",
                "LINDEX l 13",
                "LPOS l z",
                "LTRIM l 2 -3",
                "LRANGE l 0 -1",
                "OBJECT ENCODING l",
                "CONFIG GET list-max-listpack-size",
            ],
        );
    }
}

#[test]
fn command_metadata() {
    compare(&[
        "COMMAND INFO lpush rpush lpushx rpushx lpop rpop llen",
        "COMMAND INFO lrange lindex lset linsert lrem ltrim lpos",
        "COMMAND INFO lmove rpoplpush lmpop",
        "COMMAND INFO blpop brpop blmove brpoplpush blmpop",
        "COMMAND INFO client|unblock",
        "COMMAND GETKEYS LMOVE a b LEFT LEFT",
        "COMMAND GETKEYS LMPOP 2 a b LEFT",
        "COMMAND GETKEYS BLMPOP 0 2 a b LEFT COUNT 3",
        "COMMAND GETKEYS BLPOP a b c 0",
        "COMMAND GETKEYSANDFLAGS LMOVE a b LEFT LEFT",
        "COMMAND GETKEYSANDFLAGS BLMPOP 0 1 a LEFT",
    ]);
}

#[test]
fn big_lists_through_a_client() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let n = 20_000;
    let items: Vec<String> = (0..n).map(|i| format!("item-{i}")).collect();
    for chunk in items.chunks(1000) {
        let mut cmd = redis::cmd("RPUSH");
        cmd.arg("big");
        for i in chunk {
            cmd.arg(i);
        }
        let _: i64 = cmd.query(&mut c).unwrap();
    }
    assert_eq!(q::<i64>(&mut c, &["LLEN", "big"]), n as i64);
    assert_eq!(
        q::<String>(&mut c, &["LINDEX", "big", "12345"]),
        "item-12345"
    );
    assert_eq!(
        q::<String>(&mut c, &["LINDEX", "big", "-2"]),
        format!("item-{}", n - 2)
    );
    let mid: Vec<String> = q(&mut c, &["LRANGE", "big", "9990", "10009"]);
    assert_eq!(mid, items[9990..10010].to_vec());
    assert_eq!(q::<i64>(&mut c, &["LPOS", "big", "item-19999"]), 19999);
    assert_eq!(
        q::<i64>(&mut c, &["LINSERT", "big", "AFTER", "item-5000", "new"]),
        n as i64 + 1
    );
    assert_eq!(q::<String>(&mut c, &["LINDEX", "big", "5001"]), "new");
    assert_eq!(q::<i64>(&mut c, &["LREM", "big", "0", "new"]), 1);
    let _: () = q(&mut c, &["LTRIM", "big", "100", "-101"]);
    assert_eq!(q::<i64>(&mut c, &["LLEN", "big"]), n as i64 - 200);
    assert_eq!(q::<String>(&mut c, &["LPOP", "big"]), "item-100");
    assert_eq!(
        q::<String>(&mut c, &["RPOP", "big"]),
        format!("item-{}", n - 101)
    );
    assert_eq!(
        q_err(&mut c, &["LSET", "big", "100000", "x"]),
        "ERR index out of range"
    );
    // A 1 MB element gets a node of its own and reads back intact.
    let huge = "h".repeat(1 << 20);
    let _: i64 = q(&mut c, &["LPUSH", "big", &huge]);
    assert_eq!(q::<String>(&mut c, &["LPOP", "big"]), huge);
}
