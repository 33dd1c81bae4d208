//! Unit tests of the list commands and of blocking, through the engine's request path.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use proptest::prelude::*;

use crate::blocking::{BlockTicket, BlockWaker};
use crate::testkit::{bulk, int, Kit};
use crate::Action;

const NIL: &str = "$-1\r\n";
const NIL_ARRAY: &str = "*-1\r\n";
const EMPTY: &str = "*0\r\n";
const OK: &str = "+OK\r\n";
const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";

fn arr(items: &[&str]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for i in items {
        s.push_str(&bulk(i));
    }
    s
}

/// Runs a command and returns its reply and action.
fn exec(k: &mut Kit, words: &[&str]) -> (String, Option<Action>) {
    let args: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
    let action = k.engine.execute(&mut k.sess, &args, &mut k.out);
    let text = String::from_utf8_lossy(&k.out.buffer()[..]).into_owned();
    k.out.buffer().clear();
    (text, action)
}

/// Runs a blocking command expected to block; returns its ticket.
fn block(k: &mut Kit, words: &[&str]) -> BlockTicket {
    match exec(k, words) {
        (text, Some(Action::Block(t))) if text.is_empty() => t,
        other => panic!("{words:?} did not block: {other:?}"),
    }
}

fn reply_of(k: &Kit, t: &BlockTicket) -> Option<String> {
    k.engine
        .block_take_reply(t)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

#[test]
fn push_pop_len_range() {
    let mut k = Kit::new();
    assert_eq!(k.run(&["LPUSH", "l", "a", "b", "c"]), int(3));
    assert_eq!(k.run(&["RPUSH", "l", "1", "2"]), int(5));
    assert_eq!(
        k.run(&["LRANGE", "l", "0", "-1"]),
        arr(&["c", "b", "a", "1", "2"])
    );
    assert_eq!(k.run(&["LLEN", "l"]), int(5));
    assert_eq!(k.run(&["LLEN", "nope"]), int(0));
    assert_eq!(k.run(&["LPOP", "l"]), bulk("c"));
    assert_eq!(k.run(&["RPOP", "l"]), bulk("2"));
    assert_eq!(k.run(&["LPOP", "l", "2"]), arr(&["b", "a"]));
    assert_eq!(k.run(&["RPOP", "l", "0"]), EMPTY);
    assert_eq!(k.run(&["RPOP", "l", "10"]), arr(&["1"]));
    assert_eq!(k.run(&["EXISTS", "l"]), int(0));
    assert_eq!(k.run(&["LPOP", "l"]), NIL);
    assert_eq!(k.run(&["LPOP", "l", "0"]), NIL_ARRAY);
    assert_eq!(k.run(&["LPOP", "l", "3"]), NIL_ARRAY);
    assert_eq!(
        k.run(&["LPOP", "l", "-1"]),
        "-ERR value is out of range, must be positive\r\n"
    );
    assert_eq!(
        k.run(&["LPOP", "l", "1", "2"]),
        "-ERR wrong number of arguments for 'lpop' command\r\n"
    );
    assert_eq!(k.run(&["LPUSHX", "l", "a"]), int(0));
    assert_eq!(k.run(&["RPUSH", "l", "a"]), int(1));
    assert_eq!(k.run(&["LPUSHX", "l", "b", "c"]), int(3));
    assert_eq!(k.run(&["RPUSHX", "l", "z"]), int(4));
    assert_eq!(k.run(&["OBJECT", "ENCODING", "l"]), bulk("quicklist"));
    assert_eq!(k.run(&["TYPE", "l"]), "+list\r\n");
    // RESP3 nulls.
    k.out.set_resp3(true);
    assert_eq!(k.run(&["LPOP", "nope", "1"]), "_\r\n");
    assert_eq!(k.run(&["LPOP", "nope"]), "_\r\n");
}

#[test]
fn index_set_insert_rem_trim() {
    let mut k = Kit::new();
    k.run(&["RPUSH", "l", "a", "b", "c", "b", "a"]);
    assert_eq!(k.run(&["LINDEX", "l", "0"]), bulk("a"));
    assert_eq!(k.run(&["LINDEX", "l", "-1"]), bulk("a"));
    assert_eq!(k.run(&["LINDEX", "l", "-5"]), bulk("a"));
    assert_eq!(k.run(&["LINDEX", "l", "5"]), NIL);
    assert_eq!(k.run(&["LINDEX", "l", "-6"]), NIL);
    assert_eq!(k.run(&["LINDEX", "l", "x"]), NOT_INT);
    assert_eq!(k.run(&["LINDEX", "nope", "x"]), NIL);
    assert_eq!(k.run(&["LSET", "l", "1", "B"]), OK);
    assert_eq!(
        k.run(&["LSET", "l", "9", "B"]),
        "-ERR index out of range\r\n"
    );
    assert_eq!(k.run(&["LSET", "nope", "x", "B"]), "-ERR no such key\r\n");
    assert_eq!(k.run(&["LSET", "l", "x", "B"]), NOT_INT);
    assert_eq!(k.run(&["LINSERT", "l", "BEFORE", "c", "X"]), int(6));
    assert_eq!(k.run(&["LINSERT", "l", "after", "c", "Y"]), int(7));
    assert_eq!(k.run(&["LINSERT", "l", "after", "zz", "Y"]), int(-1));
    assert_eq!(k.run(&["LINSERT", "nope", "after", "zz", "Y"]), int(0));
    assert_eq!(k.run(&["LINSERT", "l", "middle", "c", "Y"]), SYNTAX);
    assert_eq!(
        k.run(&["LRANGE", "l", "0", "-1"]),
        arr(&["a", "B", "X", "c", "Y", "b", "a"])
    );
    assert_eq!(k.run(&["LREM", "l", "-1", "a"]), int(1));
    assert_eq!(k.run(&["LREM", "l", "0", "zz"]), int(0));
    assert_eq!(k.run(&["LREM", "l", "x", "zz"]), NOT_INT);
    assert_eq!(k.run(&["LREM", "nope", "1", "a"]), int(0));
    assert_eq!(k.run(&["LTRIM", "l", "1", "-2"]), OK);
    assert_eq!(
        k.run(&["LRANGE", "l", "0", "-1"]),
        arr(&["B", "X", "c", "Y"])
    );
    assert_eq!(k.run(&["LRANGE", "l", "-100", "1"]), arr(&["B", "X"]));
    assert_eq!(k.run(&["LRANGE", "l", "2", "1"]), EMPTY);
    assert_eq!(k.run(&["LRANGE", "l", "4", "10"]), EMPTY);
    assert_eq!(k.run(&["LRANGE", "l", "x", "10"]), NOT_INT);
    assert_eq!(k.run(&["LRANGE", "nope", "0", "-1"]), EMPTY);
    assert_eq!(k.run(&["LTRIM", "l", "5", "10"]), OK);
    assert_eq!(k.run(&["EXISTS", "l"]), int(0));
    assert_eq!(k.run(&["LTRIM", "l", "x", "10"]), NOT_INT);
    k.run(&["RPUSH", "l", "a", "a"]);
    assert_eq!(k.run(&["LREM", "l", "0", "a"]), int(2));
    assert_eq!(k.run(&["EXISTS", "l"]), int(0));
}

#[test]
fn lpos_options() {
    let mut k = Kit::new();
    k.run(&["RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"]);
    assert_eq!(k.run(&["LPOS", "l", "c"]), int(2));
    assert_eq!(k.run(&["LPOS", "l", "c", "RANK", "2"]), int(6));
    assert_eq!(k.run(&["LPOS", "l", "c", "RANK", "-1"]), int(7));
    assert_eq!(
        k.run(&["LPOS", "l", "c", "COUNT", "0"]),
        "*3\r\n:2\r\n:6\r\n:7\r\n"
    );
    assert_eq!(
        k.run(&["LPOS", "l", "c", "COUNT", "2", "RANK", "-1"]),
        "*2\r\n:7\r\n:6\r\n"
    );
    assert_eq!(k.run(&["LPOS", "l", "c", "MAXLEN", "2"]), NIL);
    assert_eq!(
        k.run(&["LPOS", "l", "c", "COUNT", "1", "MAXLEN", "2"]),
        EMPTY
    );
    assert_eq!(k.run(&["LPOS", "l", "1"]), int(3));
    assert_eq!(
        k.run(&["LPOS", "l", "c", "RANK", "-9223372036854775808"]),
        int(7)
    );
    assert_eq!(k.run(&["LPOS", "nope", "c"]), NIL);
    assert_eq!(k.run(&["LPOS", "nope", "c", "COUNT", "1"]), EMPTY);
    assert_eq!(
        k.run(&["LPOS", "l", "c", "RANK", "0"]),
        "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n"
    );
    assert_eq!(
        k.run(&["LPOS", "l", "c", "COUNT", "-1"]),
        "-ERR COUNT can't be negative\r\n"
    );
    assert_eq!(
        k.run(&["LPOS", "l", "c", "MAXLEN", "x"]),
        "-ERR MAXLEN can't be negative\r\n"
    );
    assert_eq!(k.run(&["LPOS", "l", "c", "RANK"]), SYNTAX);
    assert_eq!(k.run(&["LPOS", "l", "c", "RANK", "x"]), NOT_INT);
}

#[test]
fn lmove_and_lmpop() {
    let mut k = Kit::new();
    k.run(&["RPUSH", "src", "a", "b", "c"]);
    assert_eq!(k.run(&["LMOVE", "src", "dst", "LEFT", "RIGHT"]), bulk("a"));
    assert_eq!(k.run(&["RPOPLPUSH", "src", "dst"]), bulk("c"));
    assert_eq!(k.run(&["LRANGE", "dst", "0", "-1"]), arr(&["c", "a"]));
    assert_eq!(k.run(&["LMOVE", "dst", "dst", "LEFT", "RIGHT"]), bulk("c"));
    assert_eq!(k.run(&["LRANGE", "dst", "0", "-1"]), arr(&["a", "c"]));
    assert_eq!(k.run(&["LMOVE", "src", "src", "LEFT", "LEFT"]), bulk("b"));
    assert_eq!(k.run(&["LMOVE", "src", "dst", "LEFT", "LEFT"]), bulk("b"));
    assert_eq!(k.run(&["EXISTS", "src"]), int(0));
    assert_eq!(k.run(&["LMOVE", "src", "dst", "LEFT", "LEFT"]), NIL);
    assert_eq!(k.run(&["LMOVE", "src", "dst", "UP", "LEFT"]), SYNTAX);
    k.run(&["SET", "str", "x"]);
    assert_eq!(k.run(&["LMOVE", "dst", "str", "LEFT", "LEFT"]), WRONGTYPE);
    assert_eq!(k.run(&["LMOVE", "str", "dst", "LEFT", "LEFT"]), WRONGTYPE);
    assert_eq!(k.run(&["LLEN", "dst"]), int(3));
    // LMPOP.
    assert_eq!(
        k.run(&["LMPOP", "2", "nope", "dst", "RIGHT", "COUNT", "2"]),
        "*2\r\n$3\r\ndst\r\n*2\r\n$1\r\nc\r\n$1\r\na\r\n"
    );
    assert_eq!(k.run(&["LMPOP", "1", "nope", "LEFT"]), NIL_ARRAY);
    assert_eq!(k.run(&["LMPOP", "2", "str", "dst", "LEFT"]), WRONGTYPE);
    let numkeys = "-ERR numkeys should be greater than 0\r\n";
    assert_eq!(k.run(&["LMPOP", "0", "a", "LEFT"]), numkeys);
    assert_eq!(k.run(&["LMPOP", "x", "a", "LEFT"]), numkeys);
    assert_eq!(k.run(&["LMPOP", "3", "a", "LEFT"]), SYNTAX);
    assert_eq!(
        k.run(&["LMPOP", "9223372036854775807", "a", "LEFT"]),
        SYNTAX
    );
    assert_eq!(k.run(&["LMPOP", "1", "a", "UP"]), SYNTAX);
    assert_eq!(
        k.run(&["LMPOP", "1", "a", "LEFT", "COUNT", "0"]),
        "-ERR count should be greater than 0\r\n"
    );
    assert_eq!(
        k.run(&["LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "1"]),
        SYNTAX
    );
}

#[test]
fn wrong_types() {
    let mut k = Kit::new();
    k.run(&["SET", "s", "x"]);
    for cmd in [
        &["LPUSH", "s", "a"][..],
        &["RPUSHX", "s", "a"],
        &["LPOP", "s"],
        &["RPOP", "s", "2"],
        &["LLEN", "s"],
        &["LRANGE", "s", "0", "1"],
        &["LINDEX", "s", "0"],
        &["LSET", "s", "0", "a"],
        &["LINSERT", "s", "BEFORE", "a", "b"],
        &["LREM", "s", "0", "a"],
        &["LTRIM", "s", "0", "1"],
        &["LPOS", "s", "a"],
        &["BLPOP", "s", "0"],
        &["BLMOVE", "s", "d", "LEFT", "LEFT", "0"],
    ] {
        assert_eq!(k.run(cmd), WRONGTYPE, "{cmd:?}");
    }
}

#[test]
fn propagated_forms() {
    let mut k = Kit::new();
    let rec = k.record();
    k.run(&["RPUSH", "l", "a", "b", "c", "d"]);
    k.run(&["BLPOP", "nope", "l", "0"]);
    k.run(&["BRPOP", "l", "0"]);
    k.run(&["BLMOVE", "l", "m", "left", "RIGHT", "0"]);
    k.run(&["BRPOPLPUSH", "m", "l", "0"]);
    k.run(&["LMPOP", "1", "l", "RIGHT", "COUNT", "5"]);
    k.run(&["RPUSH", "l", "x"]);
    k.run(&["BLMPOP", "0", "1", "l", "LEFT"]);
    k.run(&["LPOP", "nope"]);
    k.run(&["LTRIM", "nope", "0", "1"]);
    let want: Vec<Vec<String>> = [
        &["RPUSH", "l", "a", "b", "c", "d"][..],
        &["LPOP", "l"],
        &["RPOP", "l"],
        &["LMOVE", "l", "m", "left", "RIGHT"],
        &["RPOPLPUSH", "m", "l"],
        &["RPOP", "l", "2"],
        &["RPUSH", "l", "x"],
        &["LPOP", "l", "1"],
    ]
    .iter()
    .map(|r| r.iter().map(|w| w.to_string()).collect())
    .collect();
    assert_eq!(rec.take(), want);
}

#[test]
fn blocking_inside_exec_replies_at_once() {
    let mut k = Kit::new();
    k.sess.no_block = true;
    assert_eq!(exec(&mut k, &["BLPOP", "a", "0"]), (NIL_ARRAY.into(), None));
    assert_eq!(
        exec(&mut k, &["BLMOVE", "a", "b", "LEFT", "LEFT", "0"]),
        (NIL.into(), None)
    );
    assert_eq!(exec(&mut k, &["BRPOPLPUSH", "a", "b", "0"]).0, NIL);
    assert_eq!(
        exec(&mut k, &["BLMPOP", "0", "1", "a", "LEFT"]).0,
        NIL_ARRAY
    );
    assert_eq!(k.engine.blocking.blocked_clients(), 0);
}

#[test]
fn timeout_errors() {
    let mut k = Kit::new();
    let not_float = "-ERR timeout is not a float or out of range\r\n";
    let negative = "-ERR timeout is negative\r\n";
    assert_eq!(k.run(&["BLPOP", "a", "x"]), not_float);
    assert_eq!(k.run(&["BLPOP", "a", "-1"]), negative);
    assert_eq!(k.run(&["BRPOPLPUSH", "a", "b", "inf"]), negative);
    assert_eq!(k.run(&["BLMOVE", "a", "b", "LEFT", "UP", "x"]), SYNTAX);
    assert_eq!(k.run(&["BLMOVE", "a", "b", "LEFT", "LEFT", "x"]), not_float);
    // BLMPOP checks its other arguments before the timeout.
    assert_eq!(k.run(&["BLMPOP", "x", "1", "a", "UP"]), SYNTAX);
    assert_eq!(k.run(&["BLMPOP", "x", "1", "a", "LEFT"]), not_float);
}

#[test]
fn blocked_clients_are_served_in_fifo_order() {
    let engine = Kit::new().engine;
    let woken = Arc::new(AtomicUsize::new(0));
    let mut waiters: Vec<Kit> = (0..3)
        .map(|_| {
            let mut w = Kit::with_engine(engine.clone());
            let n = woken.clone();
            w.sess.block_waker = Some(BlockWaker::new(move || {
                n.fetch_add(1, Ordering::SeqCst);
            }));
            w
        })
        .collect();
    let tickets: Vec<BlockTicket> = waiters
        .iter_mut()
        .map(|w| block(w, &["BLPOP", "q", "0"]))
        .collect();
    assert_eq!(engine.blocking.blocked_clients(), 3);
    assert!(waiters[0].sess.handle.flags_string().contains('b'));
    let mut pusher = Kit::with_engine(engine.clone());
    let rec = pusher.record();
    assert_eq!(pusher.run(&["RPUSH", "q", "1", "2"]), int(2));
    assert_eq!(woken.load(Ordering::SeqCst), 2);
    assert_eq!(reply_of(&waiters[0], &tickets[0]), Some(arr(&["q", "1"])));
    assert_eq!(reply_of(&waiters[1], &tickets[1]), Some(arr(&["q", "2"])));
    assert_eq!(reply_of(&waiters[2], &tickets[2]), None);
    assert_eq!(pusher.run(&["EXISTS", "q"]), int(0));
    assert_eq!(engine.blocking.blocked_clients(), 1);
    assert_eq!(rec.lines(), ["RPUSH q 1 2", "LPOP q", "LPOP q"]);
    // The last one times out with the null array.
    assert_eq!(
        &engine.block_timed_out(&tickets[2])[..],
        NIL_ARRAY.as_bytes()
    );
    assert_eq!(engine.blocking.blocked_clients(), 0);
    assert!(!waiters[2].sess.handle.flags_string().contains('b'));
    // Nothing is left registered: a push stays in the list.
    pusher.run(&["RPUSH", "q", "3"]);
    assert_eq!(pusher.run(&["LLEN", "q"]), int(1));
}

#[test]
fn served_reply_wins_over_timeout_and_blmove_chains() {
    let engine = Kit::new().engine;
    let mut a = Kit::with_engine(engine.clone());
    let mut b = Kit::with_engine(engine.clone());
    // a waits on k1 and moves to k2; b waits on k2.
    let ta = block(&mut a, &["BLMOVE", "k1", "k2", "LEFT", "RIGHT", "0"]);
    let tb = block(&mut b, &["BRPOP", "k2", "0"]);
    let mut p = Kit::with_engine(engine.clone());
    p.run(&["LPUSH", "k1", "v"]);
    // Served meanwhile: the timeout path still delivers the element.
    assert_eq!(&engine.block_timed_out(&ta)[..], bulk("v").as_bytes());
    assert_eq!(reply_of(&b, &tb), Some(arr(&["k2", "v"])));
    assert_eq!(p.run(&["DBSIZE"]), int(0));
}

#[test]
fn wakes_on_rename_swapdb_and_not_on_other_types() {
    let engine = Kit::new().engine;
    let mut w = Kit::with_engine(engine.clone());
    let t = block(&mut w, &["BLPOP", "target", "0"]);
    let mut p = Kit::with_engine(engine.clone());
    // A string under the key leaves the waiter blocked.
    p.run(&["SET", "target", "x"]);
    assert_eq!(reply_of(&w, &t), None);
    p.run(&["DEL", "target"]);
    p.run(&["RPUSH", "src", "a"]);
    p.run(&["RENAME", "src", "target"]);
    assert_eq!(reply_of(&w, &t), Some(arr(&["target", "a"])));
    // SWAPDB brings a list in.
    let t = block(&mut w, &["BLPOP", "s", "0"]);
    p.run(&["SELECT", "1"]);
    p.run(&["RPUSH", "s", "from1"]);
    p.run(&["SWAPDB", "0", "1"]);
    assert_eq!(reply_of(&w, &t), Some(arr(&["s", "from1"])));
    // COPY and MOVE into a waited-on key.
    let t = block(&mut w, &["BRPOP", "c", "0"]);
    p.run(&["SELECT", "0"]);
    p.run(&["RPUSH", "orig", "1", "2"]);
    p.run(&["COPY", "orig", "c"]);
    assert_eq!(reply_of(&w, &t), Some(arr(&["c", "2"])));
}

#[test]
fn unblock_and_cancel() {
    let engine = Kit::new().engine;
    let mut w = Kit::with_engine(engine.clone());
    let mut c = Kit::with_engine(engine.clone());
    let id = w.sess.id.to_string();
    assert_eq!(c.run(&["CLIENT", "UNBLOCK", &id]), int(0));
    let t = block(&mut w, &["BLPOP", "x", "0"]);
    assert!(c.run(&["INFO", "clients"]).contains("blocked_clients:1"));
    assert_eq!(c.run(&["CLIENT", "UNBLOCK", &id, "TIMEOUT"]), int(1));
    assert_eq!(reply_of(&w, &t), Some(NIL_ARRAY.into()));
    let t = block(&mut w, &["BLMOVE", "x", "y", "LEFT", "LEFT", "1"]);
    assert!(c
        .run(&["INFO", "clients"])
        .contains("clients_in_timeout_table:1"));
    assert_eq!(c.run(&["CLIENT", "UNBLOCK", &id, "ERROR"]), int(1));
    assert_eq!(
        reply_of(&w, &t),
        Some("-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n".into())
    );
    assert_eq!(c.run(&["CLIENT", "UNBLOCK", &id, "ERROR"]), int(0));
    assert_eq!(
        c.run(&["CLIENT", "UNBLOCK", &id, "NOW"]),
        "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n"
    );
    assert_eq!(c.run(&["CLIENT", "UNBLOCK", "x"]), NOT_INT);
    // A client that goes away is removed.
    let _t = block(&mut w, &["BLPOP", "x", "0"]);
    engine.block_client_gone(w.sess.id);
    assert_eq!(engine.blocking.blocked_clients(), 0);
    c.run(&["RPUSH", "x", "1"]);
    assert_eq!(c.run(&["LLEN", "x"]), int(1));
    // RESP3 timeout reply.
    w.out.set_resp3(true);
    let t = block(&mut w, &["BLPOP", "y", "0"]);
    assert_eq!(&engine.block_timed_out(&t)[..], b"_\r\n");
}

#[test]
fn blmpop_served_with_count() {
    let engine = Kit::new().engine;
    let mut w = Kit::with_engine(engine.clone());
    let t = block(
        &mut w,
        &["BLMPOP", "0", "2", "a", "b", "RIGHT", "COUNT", "2"],
    );
    let mut p = Kit::with_engine(engine.clone());
    let rec = p.record();
    p.run(&["RPUSH", "b", "1", "2", "3"]);
    assert_eq!(
        reply_of(&w, &t),
        Some("*2\r\n$1\r\nb\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n".into())
    );
    assert_eq!(rec.lines(), ["RPUSH b 1 2 3", "RPOP b 2"]);
}

/// One step of the model-based property test.
#[derive(Clone, Debug)]
enum Op {
    Push(bool, Vec<u8>),
    Pop(bool, Option<u8>),
    Index(i64),
    Set(i64, Vec<u8>),
    Insert(bool, Vec<u8>, Vec<u8>),
    Rem(i64, Vec<u8>),
    Trim(i64, i64),
    Range(i64, i64),
}

fn elem() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"a".to_vec()),
        Just(b"b".to_vec()),
        Just(b"12".to_vec()),
        Just(b"-7".to_vec()),
        Just(vec![b'x'; 300]),
        Just(vec![b'y'; 5000]),
        prop::collection::vec(any::<u8>(), 0..20),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let idx = -12i64..12;
    prop_oneof![
        4 => (any::<bool>(), elem()).prop_map(|(l, e)| Op::Push(l, e)),
        2 => (any::<bool>(), prop::option::of(0u8..5)).prop_map(|(l, c)| Op::Pop(l, c)),
        1 => idx.clone().prop_map(Op::Index),
        1 => (idx.clone(), elem()).prop_map(|(i, e)| Op::Set(i, e)),
        1 => (any::<bool>(), elem(), elem()).prop_map(|(a, p, e)| Op::Insert(a, p, e)),
        1 => (-3i64..3, elem()).prop_map(|(c, e)| Op::Rem(c, e)),
        1 => (idx.clone(), idx.clone()).prop_map(|(s, e)| Op::Trim(s, e)),
        1 => (idx.clone(), idx).prop_map(|(s, e)| Op::Range(s, e)),
    ]
}

fn b(v: &[u8]) -> String {
    let mut s = format!("${}\r\n", v.len());
    s.push_str(&String::from_utf8_lossy(v));
    s.push_str("\r\n");
    s
}

fn barr(items: impl IntoIterator<Item = Vec<u8>>) -> String {
    let items: Vec<Vec<u8>> = items.into_iter().collect();
    let mut s = format!("*{}\r\n", items.len());
    for i in &items {
        s.push_str(&b(i));
    }
    s
}

fn range(len: usize, s: i64, e: i64) -> Option<(usize, usize)> {
    let n = len as i64;
    let s = if s < 0 { (n + s).max(0) } else { s };
    let e = if e < 0 { n + e } else { e.min(n - 1) };
    (s <= e && s < n).then_some((s as usize, e as usize))
}

fn index(len: usize, i: i64) -> Option<usize> {
    let i = if i < 0 { len as i64 + i } else { i };
    (0..len as i64).contains(&i).then_some(i as usize)
}

/// What the model replies to `op`, applying it.
fn model_step(m: &mut VecDeque<Vec<u8>>, op: &Op) -> String {
    match op {
        Op::Push(left, e) => {
            if *left {
                m.push_front(e.clone())
            } else {
                m.push_back(e.clone())
            }
            int(m.len() as i64)
        }
        Op::Pop(left, None) => {
            let v = if *left { m.pop_front() } else { m.pop_back() };
            v.map_or(NIL.to_string(), |v| b(&v))
        }
        Op::Pop(left, Some(c)) => {
            if m.is_empty() {
                return NIL_ARRAY.into();
            }
            let n = (*c as usize).min(m.len());
            let out: Vec<Vec<u8>> = (0..n)
                .filter_map(|_| if *left { m.pop_front() } else { m.pop_back() })
                .collect();
            barr(out)
        }
        Op::Index(i) => index(m.len(), *i).map_or(NIL.to_string(), |i| b(&m[i])),
        Op::Set(i, e) => {
            if m.is_empty() {
                return "-ERR no such key\r\n".into();
            }
            match index(m.len(), *i) {
                Some(i) => {
                    m[i] = e.clone();
                    OK.into()
                }
                None => "-ERR index out of range\r\n".into(),
            }
        }
        Op::Insert(after, pivot, e) => {
            if m.is_empty() {
                return int(0);
            }
            match m.iter().position(|x| x == pivot) {
                Some(p) => {
                    m.insert(p + usize::from(*after), e.clone());
                    int(m.len() as i64)
                }
                None => int(-1),
            }
        }
        Op::Rem(c, e) => {
            let mut left = if *c == 0 {
                usize::MAX
            } else {
                c.unsigned_abs() as usize
            };
            let mut removed = 0;
            if *c < 0 {
                let mut i = m.len();
                while i > 0 && left > 0 {
                    i -= 1;
                    if m[i] == *e {
                        m.remove(i);
                        left -= 1;
                        removed += 1;
                    }
                }
            } else {
                let mut i = 0;
                while i < m.len() && left > 0 {
                    if m[i] == *e {
                        m.remove(i);
                        left -= 1;
                        removed += 1;
                    } else {
                        i += 1;
                    }
                }
            }
            int(removed)
        }
        Op::Trim(s, e) => {
            match range(m.len(), *s, *e) {
                Some((s, e)) => {
                    m.truncate(e + 1);
                    m.drain(..s);
                }
                None => m.clear(),
            }
            OK.into()
        }
        Op::Range(s, e) => match range(m.len(), *s, *e) {
            Some((s, e)) => barr(m.range(s..=e).cloned()),
            None => EMPTY.into(),
        },
    }
}

fn op_args(op: &Op) -> Vec<Vec<u8>> {
    let w = |s: &str| s.as_bytes().to_vec();
    let n = |i: &i64| i.to_string().into_bytes();
    let side = |l: &bool, a: &str, b: &str| w(if *l { a } else { b });
    match op {
        Op::Push(l, e) => vec![side(l, "LPUSH", "RPUSH"), w("k"), e.clone()],
        Op::Pop(l, None) => vec![side(l, "LPOP", "RPOP"), w("k")],
        Op::Pop(l, Some(c)) => vec![side(l, "LPOP", "RPOP"), w("k"), c.to_string().into_bytes()],
        Op::Index(i) => vec![w("LINDEX"), w("k"), n(i)],
        Op::Set(i, e) => vec![w("LSET"), w("k"), n(i), e.clone()],
        Op::Insert(a, p, e) => vec![
            w("LINSERT"),
            w("k"),
            side(a, "AFTER", "BEFORE"),
            p.clone(),
            e.clone(),
        ],
        Op::Rem(c, e) => vec![w("LREM"), w("k"), n(c), e.clone()],
        Op::Trim(s, e) => vec![w("LTRIM"), w("k"), n(s), n(e)],
        Op::Range(s, e) => vec![w("LRANGE"), w("k"), n(s), n(e)],
    }
}

proptest! {
    #[test]
    fn list_commands_match_a_deque(
        fill in prop_oneof![Just(-2i64), Just(-1), Just(1), Just(3), Just(0)],
        ops in prop::collection::vec(op(), 1..80),
    ) {
        let mut k = Kit::new();
        k.run(&["CONFIG", "SET", "list-max-listpack-size", &fill.to_string()]);
        let mut model = VecDeque::new();
        for op in &ops {
            let want = model_step(&mut model, op);
            let args = op_args(op);
            let refs: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
            let got = k.run_bytes(&refs);
            prop_assert_eq!(got, want, "{:?}", op);
            let exists = k.run(&["EXISTS", "k"]);
            prop_assert_eq!(exists, int(i64::from(!model.is_empty())));
        }
    }
}
