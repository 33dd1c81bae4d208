//! Unit and property tests of the sorted-set module: commands through `Kit`, the B+ tree
//! against a `BTreeMap` model, and both encodings against each other and a model.

use super::range::{lex_bound, rank_span, score_bound};
use super::*;
use crate::testkit::{bulk, int, Kit};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn arr(items: &[&str]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for i in items {
        s.push_str(&bulk(i));
    }
    s
}

#[test]
fn basics_and_replies() {
    let mut k = Kit::new();
    assert_eq!(
        k.run(&["ZADD", "z", "1", "a", "2", "b", "1.5", "c"]),
        int(3)
    );
    assert_eq!(k.run(&["ZRANGE", "z", "0", "-1"]), arr(&["a", "c", "b"]));
    assert_eq!(
        k.run(&["ZRANGE", "z", "0", "0", "WITHSCORES"]),
        arr(&["a", "1"])
    );
    assert_eq!(k.run(&["ZSCORE", "z", "c"]), bulk("1.5"));
    assert_eq!(
        k.run(&["ZINCRBY", "z", "0.1", "a"]),
        bulk("1.1000000000000001")
    );
    assert_eq!(k.run(&["ZRANK", "z", "b"]), int(2));
    assert_eq!(k.run(&["ZREVRANK", "z", "b"]), int(0));
    assert_eq!(k.run(&["ZCARD", "z"]), int(3));
    assert_eq!(k.run(&["OBJECT", "ENCODING", "z"]), bulk("listpack"));
    assert_eq!(k.run(&["ZREM", "z", "a", "b", "c", "d"]), int(3));
    assert_eq!(k.run(&["EXISTS", "z"]), int(0));
    assert_eq!(
        k.run(&["ZADD", "z", "INCR", "nan", "a"]),
        "-ERR value is not a valid float\r\n"
    );
    k.run(&["ZADD", "z", "inf", "a"]);
    assert_eq!(
        k.run(&["ZINCRBY", "z", "-inf", "a"]),
        "-ERR resulting score is not a number (NaN)\r\n"
    );
    assert_eq!(k.run(&["ZSCORE", "z", "a"]), bulk("inf"));
    // RESP3 shapes.
    k.out.set_resp3(true);
    assert_eq!(k.run(&["ZSCORE", "z", "a"]), ",inf\r\n");
    assert_eq!(k.run(&["ZSCORE", "z", "nope"]), "_\r\n");
    assert_eq!(
        k.run(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]),
        "*1\r\n*2\r\n$1\r\na\r\n,inf\r\n"
    );
    assert_eq!(
        k.run(&["ZPOPMIN", "z", "1"]),
        "*1\r\n*2\r\n$1\r\na\r\n,inf\r\n"
    );
}

#[test]
fn conversion_and_never_back() {
    let mut k = Kit::new();
    k.run(&["CONFIG", "SET", "zset-max-listpack-entries", "3"]);
    k.run(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(k.run(&["OBJECT", "ENCODING", "z"]), bulk("listpack"));
    k.run(&["ZADD", "z", "4", "d"]);
    assert_eq!(k.run(&["OBJECT", "ENCODING", "z"]), bulk("skiplist"));
    k.run(&["ZREM", "z", "a", "b", "c"]);
    assert_eq!(k.run(&["OBJECT", "ENCODING", "z"]), bulk("skiplist"));
    assert_eq!(k.run(&["ZRANGE", "z", "0", "-1"]), arr(&["d"]));
    // A long member converts at once.
    k.run(&["CONFIG", "SET", "zset-max-listpack-value", "4"]);
    k.run(&["ZADD", "y", "1", "abcd"]);
    assert_eq!(k.run(&["OBJECT", "ENCODING", "y"]), bulk("listpack"));
    k.run(&["ZADD", "y", "1", "abcde"]);
    assert_eq!(k.run(&["OBJECT", "ENCODING", "y"]), bulk("skiplist"));
    k.run(&["ZADD", "x", "1", "abcde"]);
    assert_eq!(k.run(&["OBJECT", "ENCODING", "x"]), bulk("skiplist"));
    // A small STORE result is a listpack again.
    k.run(&["ZRANGESTORE", "w", "z", "0", "-1"]);
    assert_eq!(k.run(&["OBJECT", "ENCODING", "w"]), bulk("listpack"));
}

#[test]
fn propagation_and_dirty() {
    let mut k = Kit::new();
    let rec = k.record();
    k.run(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    k.run(&["ZADD", "z", "NX", "5", "a"]);
    k.run(&["ZREM", "z", "nope"]);
    k.run(&["ZMPOP", "2", "nokey", "z", "MIN", "COUNT", "10"]);
    k.run(&["ZPOPMIN", "z"]);
    k.run(&["ZADD", "y", "1", "a", "2", "b", "3", "c"]);
    k.run(&["BZPOPMAX", "nokey", "y", "0"]);
    k.run(&["BZMPOP", "0", "1", "y", "MIN", "COUNT", "5"]);
    assert_eq!(
        rec.lines(),
        vec![
            "ZADD z 1 a 2 b 3 c",
            "ZPOPMIN z 3",
            "ZADD y 1 a 2 b 3 c",
            "ZPOPMAX y",
            "ZPOPMIN y 2"
        ]
    );
    let dirty = k.engine.stats.dirty.get();
    k.run(&["ZADD", "q", "1", "a", "2", "b"]);
    k.run(&["ZADD", "q", "CH", "5", "a", "3", "c", "2", "b"]);
    k.run(&["ZREMRANGEBYSCORE", "q", "-inf", "+inf"]);
    let after = k.engine.stats.dirty.get();
    assert_eq!(after - dirty, 2 + 2 + 3);
}

#[test]
fn pop_first_core() {
    let mut k = Kit::new();
    k.run(&["ZADD", "b", "1", "x", "2", "y"]);
    k.run(&["SET", "s", "v"]);
    let engine = k.engine.clone();
    let ks = &engine.keyspace;
    let mut db = DbView::new(ks, 0, crate::unix_ms(), None);
    db.lock_all();
    let p = pop_first(&mut db, &[b"a", b"b"], true, 5).unwrap().unwrap();
    assert_eq!(p.key_index, 1);
    assert_eq!(p.items, vec![(b"y".to_vec(), 2.0), (b"x".to_vec(), 1.0)]);
    assert_eq!(p.len_before, 2);
    assert!(db.get(b"b").is_none());
    assert_eq!(pop_first(&mut db, &[b"a", b"b"], true, 1).unwrap(), None);
    assert_eq!(
        pop_first(&mut db, &[b"a", b"s"], true, 1),
        Err(Error::WrongType)
    );
    db.unlock();
    let mut out = ReplyWriter::new(false);
    reply_popped(&mut out, Some(b"k"), &p.items, false);
    assert_eq!(
        &out.buffer()[..],
        b"*5\r\n$1\r\nk\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nx\r\n$1\r\n1\r\n"
    );
}

#[test]
fn keyspace_hits_and_misses_as_redis() {
    let mut k = Kit::new();
    k.run(&["ZADD", "a", "1", "x"]);
    let stats = |k: &Kit| {
        (
            k.engine.stats.keyspace_hits.get(),
            k.engine.stats.keyspace_misses.get(),
        )
    };
    let base = stats(&k);
    let delta = |k: &Kit| {
        let (h, m) = stats(k);
        (h - base.0, m - base.1)
    };
    k.run(&["ZUNIONSTORE", "d", "2", "a", "nokey"]);
    assert_eq!(delta(&k), (1, 1));
    k.run(&["ZRANGESTORE", "d2", "nokey", "0", "-1"]);
    k.run(&["ZRANGESTORE", "d2", "a", "0", "-1"]);
    assert_eq!(delta(&k), (2, 2));
    // Writes that look keys up for writing count nothing.
    k.run(&["ZADD", "a", "2", "y"]);
    k.run(&["ZPOPMIN", "a"]);
    k.run(&["ZREM", "a", "zz"]);
    k.run(&["ZMPOP", "2", "nokey", "a", "MIN"]);
    assert_eq!(delta(&k), (2, 2));
    k.run(&["ZUNION", "2", "a", "nokey"]);
    k.run(&["ZINTERCARD", "1", "nokey"]);
    assert_eq!(delta(&k), (2, 5));
}

#[test]
fn long_members_in_a_big_zset() {
    let mut z = BigZSet::new();
    let long = |i: u32| format!("a-member-longer-than-twenty-two-bytes-{i}").into_bytes();
    for i in 0..300 {
        z.insert_new(&long(i), f64::from(i % 7));
    }
    z.check();
    let before = z.heap_size();
    for i in 0..150 {
        assert!(z.remove(&long(i)).is_some());
    }
    z.check();
    assert!(z.heap_size() < before);
    assert_eq!(z.score(&long(200)), Some(f64::from(200 % 7)));
}

#[test]
fn key_functions_follow_redis_getkeys() {
    let w = |s: &str| {
        s.split(' ')
            .map(|x| x.as_bytes().to_vec())
            .collect::<Vec<_>>()
    };
    let keys = |f: fn(&[&[u8]]) -> Vec<usize>, line: &str| {
        let words = w(line);
        let refs: Vec<&[u8]> = words.iter().map(|x| x.as_slice()).collect();
        f(&refs)
    };
    assert_eq!(keys(numkeys_at_1, "zunion 2 a b WEIGHTS 1 2"), vec![2, 3]);
    assert_eq!(keys(numkeys_at_1, "zunion 2x a b"), vec![2, 3]);
    assert_eq!(keys(numkeys_at_1, "zunion 5 a"), Vec::<usize>::new());
    assert_eq!(keys(numkeys_at_1, "zunion 0 a"), Vec::<usize>::new());
    assert_eq!(keys(numkeys_at_1, "zunion -1 a"), Vec::<usize>::new());
    assert_eq!(
        keys(numkeys_at_1, "zunion 99999999999 a"),
        Vec::<usize>::new()
    );
    assert_eq!(keys(dst_and_numkeys_at_2, "zunionstore d 1 a"), vec![1, 3]);
    assert_eq!(
        keys(dst_and_numkeys_at_2, "zunionstore d 5 a"),
        Vec::<usize>::new()
    );
    assert_eq!(keys(zmpop_keys, "zmpop 3 a b MIN"), vec![2, 3, 4]);
    assert_eq!(keys(zmpop_keys, "zmpop 2x a b MIN"), Vec::<usize>::new());
    assert_eq!(keys(zmpop_keys, "zmpop 1 a MIN COUNT 2"), vec![2]);
    assert_eq!(atoi(b"  -12ab"), -12);
    assert_eq!(atoi(b"+7"), 7);
    assert_eq!(atoi(b"x"), 0);
}

#[test]
fn range_parsing() {
    assert_eq!(score_bound(b"(1.5"), Some((1.5, true)));
    assert_eq!(score_bound(b""), Some((0.0, false)));
    assert_eq!(score_bound(b"("), Some((0.0, true)));
    assert_eq!(score_bound(b" 2"), Some((2.0, false)));
    assert_eq!(score_bound(b"2 "), None);
    assert_eq!(score_bound(b"1e400"), Some((f64::INFINITY, false)));
    assert_eq!(score_bound(b"-inf"), Some((f64::NEG_INFINITY, false)));
    assert_eq!(score_bound(b"nan"), None);
    assert_eq!(score_bound(b"3\0junk"), Some((3.0, false)));
    assert_eq!(lex_bound(b"-"), Some(LexBound::Min));
    assert_eq!(lex_bound(b"+"), Some(LexBound::Max));
    assert_eq!(lex_bound(b"+x"), None);
    assert_eq!(lex_bound(b""), None);
    assert_eq!(lex_bound(b"["), Some(LexBound::Incl(vec![])));
    assert_eq!(lex_bound(b"(ab"), Some(LexBound::Excl(b"ab".to_vec())));
    assert_eq!(rank_span(5, 0, -1), Some((0, 5)));
    assert_eq!(rank_span(5, -100, 1), Some((0, 2)));
    assert_eq!(rank_span(5, 3, 2), None);
    assert_eq!(rank_span(5, 5, 9), None);
    assert_eq!(rank_span(5, i64::MIN, i64::MAX), Some((0, 5)));
}

#[test]
fn hostile_counts_do_not_allocate() {
    let mut k = Kit::new();
    k.run(&["ZADD", "z", "1", "a"]);
    assert_eq!(
        k.run(&["ZRANDMEMBER", "z", "-9223372036854775807"]),
        "-ERR value is out of range\r\n"
    );
    assert_eq!(
        k.run(&["ZRANDMEMBER", "z", "9223372036854775807"]),
        arr(&["a"])
    );
    assert_eq!(
        k.run(&["ZPOPMIN", "z", "9223372036854775807"]),
        arr(&["a", "1"])
    );
    k.run(&["ZADD", "z", "1", "a"]);
    assert_eq!(
        k.run(&["ZMPOP", "1", "z", "MIN", "COUNT", "9223372036854775807"]),
        "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(
        k.run(&["ZRANGE", "z", "-9223372036854775808", "9223372036854775807"]),
        "*0\r\n"
    );
    assert_eq!(
        k.run(&["ZUNION", "9223372036854775807", "z"]),
        "-ERR syntax error\r\n"
    );
}

// --- the B+ tree against a model ---------------------------------------------------

type Model = BTreeMap<(OrdF64, Vec<u8>), ()>;

/// An f64 ordered as the tree orders scores (NaN never occurs).
#[derive(Clone, Copy, Debug, PartialEq)]
struct OrdF64(f64);
impl Eq for OrdF64 {}
impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for OrdF64 {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0
            .partial_cmp(&o.0)
            .unwrap_or(std::cmp::Ordering::Equal)
    }
}

#[derive(Clone, Debug)]
enum SlOp {
    Set(u8, i8),
    Remove(u8),
    RemoveRanks(u8, u8),
    RemoveScores(i8, i8, bool, bool),
    RemoveLex(u8, u8),
}

fn sl_op() -> impl Strategy<Value = SlOp> {
    prop_oneof![
        6 => (0u8..60, -8i8..8).prop_map(|(m, s)| SlOp::Set(m, s)),
        2 => (0u8..60).prop_map(SlOp::Remove),
        1 => (0u8..70, 0u8..70).prop_map(|(a, b)| SlOp::RemoveRanks(a, b)),
        1 => (-9i8..9, -9i8..9, any::<bool>(), any::<bool>())
            .prop_map(|(a, b, x, y)| SlOp::RemoveScores(a, b, x, y)),
        1 => (0u8..60, 0u8..60).prop_map(|(a, b)| SlOp::RemoveLex(a, b)),
    ]
}

fn member(m: u8) -> Vec<u8> {
    format!("m{m:02}").into_bytes()
}

fn model_list(model: &Model) -> Vec<(Vec<u8>, f64)> {
    model.keys().map(|(s, m)| (m.clone(), s.0)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn big_zset_matches_model(ops in prop::collection::vec(sl_op(), 1..200)) {
        let mut z = BigZSet::new();
        let mut model: Model = BTreeMap::new();
        let mut scores: std::collections::HashMap<Vec<u8>, f64> = Default::default();
        for op in &ops {
            match *op {
                SlOp::Set(m, s) => {
                    let (m, s) = (member(m), f64::from(s) / 2.0);
                    if let Some(old) = scores.insert(m.clone(), s) {
                        model.remove(&(OrdF64(old), m.clone()));
                    }
                    model.insert((OrdF64(s), m.clone()), ());
                    z.set(&m, s);
                }
                SlOp::Remove(m) => {
                    let m = member(m);
                    let got = z.remove(&m);
                    let want = scores.remove(&m);
                    if let Some(s) = want {
                        model.remove(&(OrdF64(s), m));
                    }
                    prop_assert_eq!(got, want);
                }
                SlOp::RemoveRanks(a, b) => {
                    let (a, b) = (usize::from(a), usize::from(b));
                    let keys: Vec<_> = model.keys().cloned().collect();
                    let want = if a <= b && a < keys.len() { b.min(keys.len() - 1) - a + 1 } else { 0 };
                    if want > 0 {
                        for k in &keys[a..a + want] {
                            model.remove(k);
                            scores.remove(&k.1);
                        }
                    }
                    prop_assert_eq!(z.remove_range_by_rank(a, b), want);
                }
                SlOp::RemoveScores(a, b, x, y) => {
                    let r = ScoreRange { min: f64::from(a) / 2.0, max: f64::from(b) / 2.0, minex: x, maxex: y };
                    let gone: Vec<_> = model.keys().filter(|k| r.gte_min(k.0 .0) && r.lte_max(k.0 .0)).cloned().collect();
                    for k in &gone {
                        model.remove(k);
                        scores.remove(&k.1);
                    }
                    prop_assert_eq!(z.remove_range_by_score(&r), gone.len());
                }
                SlOp::RemoveLex(a, b) => {
                    // Lex ranges assume equal scores: use them on a copy with all scores 0.
                    let mut same = BigZSet::new();
                    for (m, _) in z.iter() {
                        same.insert_new(m, 0.0);
                    }
                    let r = LexRange { min: LexBound::Incl(member(a)), max: LexBound::Excl(member(b)) };
                    let want = z.iter().filter(|(m, _)| r.gte_min(m) && r.lte_max(m)).count();
                    let first = same.first_in_lex(&r).map(|x| x.1);
                    let last = same.last_in_lex(&r).map(|x| x.1);
                    match (first, last) {
                        (Some(f), Some(l)) => prop_assert_eq!(l + 1 - f, want),
                        _ => prop_assert_eq!(want, 0),
                    }
                    prop_assert_eq!(same.remove_range_by_lex(&r), want);
                    same.check();
                }
            }
        }
        z.check();
        let got: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
        let want = model_list(&model);
        prop_assert_eq!(&got, &want);
        for (r, (m, _)) in want.iter().enumerate() {
            let x = z.find(m).unwrap();
            prop_assert_eq!(z.rank_of(x), r);
            prop_assert_eq!(z.at_rank(r).map(|p| z.id_at(p)), Some(x));
        }
        // Score range ends against the model, for a few ranges.
        for (a, b, x, y) in [(-8, 8, false, false), (-2, 3, true, false), (0, 0, false, false), (1, 1, true, true), (5, -5, false, false)] {
            let r = ScoreRange { min: f64::from(a) / 2.0, max: f64::from(b) / 2.0, minex: x, maxex: y };
            let inside: Vec<usize> = want.iter().enumerate().filter(|(_, e)| r.gte_min(e.1) && r.lte_max(e.1)).map(|(i, _)| i).collect();
            prop_assert_eq!(z.first_in_score(&r).map(|p| p.1), inside.first().copied());
            prop_assert_eq!(z.last_in_score(&r).map(|p| p.1), inside.last().copied());
        }
    }
}

// --- the commands: both encodings agree, and match a model -----------------------------

#[derive(Clone, Debug)]
enum Cmd {
    Add(Vec<(i8, u8)>, u8),
    Incr(i8, u8),
    Rem(Vec<u8>),
    RemRank(i8, i8),
    RemScore(i8, i8),
    Pop(bool, u8),
    Range(i8, i8, bool),
    ByScore(i8, i8, bool, i8, i8),
    Count(i8, i8),
    Rank(u8, bool),
    Score(u8),
    SetOp(u8),
    LexAdd(u8),
    Lex(u8, u8, bool, i8, i8),
    LexRem(u8, u8),
    Rand,
    Store(i8, i8),
}

fn cmd() -> impl Strategy<Value = Cmd> {
    let pairs = prop::collection::vec((-6i8..6, 0u8..12), 1..4);
    prop_oneof![
        6 => (pairs, 0u8..8).prop_map(|(p, f)| Cmd::Add(p, f)),
        2 => (-6i8..6, 0u8..12).prop_map(|(s, m)| Cmd::Incr(s, m)),
        2 => prop::collection::vec(0u8..12, 1..3).prop_map(Cmd::Rem),
        1 => (-8i8..8, -8i8..8).prop_map(|(a, b)| Cmd::RemRank(a, b)),
        1 => (-7i8..7, -7i8..7).prop_map(|(a, b)| Cmd::RemScore(a, b)),
        1 => (any::<bool>(), 0u8..4).prop_map(|(m, n)| Cmd::Pop(m, n)),
        2 => (-8i8..8, -8i8..8, any::<bool>()).prop_map(|(a, b, r)| Cmd::Range(a, b, r)),
        2 => (-7i8..7, -7i8..7, any::<bool>(), -2i8..4, -2i8..5).prop_map(|(a, b, r, o, l)| Cmd::ByScore(a, b, r, o, l)),
        1 => (-7i8..7, -7i8..7).prop_map(|(a, b)| Cmd::Count(a, b)),
        1 => (0u8..12, any::<bool>()).prop_map(|(m, r)| Cmd::Rank(m, r)),
        1 => (0u8..12).prop_map(Cmd::Score),
        1 => (0u8..7).prop_map(Cmd::SetOp),
        2 => (0u8..12).prop_map(Cmd::LexAdd),
        1 => (0u8..13, 0u8..13, any::<bool>(), -1i8..3, -1i8..4).prop_map(|(a, b, r, o, l)| Cmd::Lex(a, b, r, o, l)),
        1 => (0u8..13, 0u8..13).prop_map(|(a, b)| Cmd::LexRem(a, b)),
        1 => Just(Cmd::Rand),
        1 => (-8i8..8, -8i8..8).prop_map(|(a, b)| Cmd::Store(a, b)),
    ]
}

fn mname(m: u8) -> String {
    // Integers and strings, so both listpack member forms appear.
    match m % 3 {
        0 => format!("{}", m),
        1 => format!("m{m}"),
        _ => format!("-{m}"),
    }
}

fn lexbound(b: u8) -> String {
    match b {
        0 => "-".into(),
        12 => "+".into(),
        b if b % 2 == 0 => format!("[{}", mname(b)),
        b => format!("({}", mname(b)),
    }
}

fn half(x: i8) -> String {
    format!("{}", f64::from(x) / 2.0)
}

fn words(c: &Cmd) -> Vec<Vec<String>> {
    let s = |x: &str| x.to_string();
    match c {
        Cmd::Add(pairs, f) => {
            let mut w = vec![s("ZADD"), s("z")];
            match f {
                1 => w.push(s("NX")),
                2 => w.push(s("XX")),
                3 => w.push(s("GT")),
                4 => w.extend([s("LT"), s("CH")]),
                5 => w.push(s("CH")),
                _ => {}
            }
            for (sc, m) in pairs {
                w.push(half(*sc));
                w.push(mname(*m));
            }
            vec![w]
        }
        Cmd::Incr(sc, m) => vec![vec![s("ZINCRBY"), s("z"), half(*sc), mname(*m)]],
        Cmd::Rem(ms) => {
            let mut w = vec![s("ZREM"), s("z")];
            w.extend(ms.iter().map(|m| mname(*m)));
            vec![w]
        }
        Cmd::RemRank(a, b) => vec![vec![
            s("ZREMRANGEBYRANK"),
            s("z"),
            a.to_string(),
            b.to_string(),
        ]],
        Cmd::RemScore(a, b) => vec![vec![
            s("ZREMRANGEBYSCORE"),
            s("z"),
            format!("({}", half(*a)),
            half(*b),
        ]],
        Cmd::Pop(max, n) => {
            let mut w = vec![s(if *max { "ZPOPMAX" } else { "ZPOPMIN" }), s("z")];
            if *n > 0 {
                w.push((n - 1).to_string());
            }
            vec![w]
        }
        Cmd::Range(a, b, rev) => {
            let mut w = vec![
                s("ZRANGE"),
                s("z"),
                a.to_string(),
                b.to_string(),
                s("WITHSCORES"),
            ];
            if *rev {
                w.push(s("REV"));
            }
            vec![w]
        }
        Cmd::ByScore(a, b, rev, o, l) => {
            let mut w = vec![
                s("ZRANGE"),
                s("z"),
                half(*a),
                format!("({}", half(*b)),
                s("BYSCORE"),
                s("WITHSCORES"),
                s("LIMIT"),
                o.to_string(),
                l.to_string(),
            ];
            if *rev {
                w.push(s("REV"));
            }
            vec![w]
        }
        Cmd::Count(a, b) => vec![vec![s("ZCOUNT"), s("z"), half(*a), half(*b)]],
        Cmd::Rank(m, rev) => vec![vec![
            s(if *rev { "ZREVRANK" } else { "ZRANK" }),
            s("z"),
            mname(*m),
        ]],
        Cmd::Score(m) => vec![
            vec![s("ZSCORE"), s("z"), mname(*m)],
            vec![s("ZMSCORE"), s("z"), mname(*m), s("m1"), s("0")],
            vec![s("ZCARD"), s("z")],
        ],
        Cmd::SetOp(op) => {
            let w = match op {
                0 => "ZUNION 2 z l WITHSCORES",
                1 => "ZINTER 2 z l WEIGHTS 2 3 WITHSCORES",
                2 => "ZDIFF 2 z l WITHSCORES",
                3 => "ZINTERCARD 2 z l",
                4 => "ZUNION 2 l z AGGREGATE MIN WITHSCORES",
                5 => "ZUNIONSTORE u 2 z l AGGREGATE MAX",
                _ => "ZRANGE u 0 -1 WITHSCORES",
            };
            vec![w.split(' ').map(s).collect()]
        }
        Cmd::LexAdd(m) => vec![vec![s("ZADD"), s("l"), s("0"), mname(*m)]],
        Cmd::Lex(a, b, rev, o, l) => {
            let (lo, hi) = (lexbound(*a), lexbound(*b));
            let mut w = if *rev {
                vec![s("ZREVRANGEBYLEX"), s("l"), hi.clone(), lo.clone()]
            } else {
                vec![s("ZRANGEBYLEX"), s("l"), lo.clone(), hi.clone()]
            };
            w.extend([s("LIMIT"), o.to_string(), l.to_string()]);
            vec![w, vec![s("ZLEXCOUNT"), s("l"), lo, hi]]
        }
        Cmd::LexRem(a, b) => vec![vec![
            s("ZREMRANGEBYLEX"),
            s("l"),
            lexbound(*a),
            lexbound(*b),
        ]],
        Cmd::Rand => vec![vec![s("ZRANDMEMBER"), s("z"), s("100"), s("WITHSCORES")]],
        Cmd::Store(a, b) => vec![
            vec![
                s("ZRANGESTORE"),
                s("d"),
                s("z"),
                a.to_string(),
                b.to_string(),
                s("REV"),
            ],
            vec![s("ZRANGE"), s("d"), s("0"), s("-1"), s("WITHSCORES")],
        ],
    }
}

/// Applies the writes of `c` to a model of key `z` (member -> score).
fn model_step(model: &mut BTreeMap<String, f64>, c: &Cmd) {
    let sorted = |m: &BTreeMap<String, f64>| {
        let mut v: Vec<(String, f64)> = m.iter().map(|(k, v)| (k.clone(), *v)).collect();
        v.sort_by(|a, b| {
            a.1.partial_cmp(&b.1)
                .unwrap()
                .then(a.0.as_bytes().cmp(b.0.as_bytes()))
        });
        v
    };
    match c {
        Cmd::Add(pairs, f) => {
            for (sc, m) in pairs {
                let (sc, m) = (f64::from(*sc) / 2.0, mname(*m));
                let cur = model.get(&m).copied();
                let ok = match (f, cur) {
                    (1, Some(_)) | (2, None) => false,
                    (3, Some(c)) => sc > c,
                    (4, Some(c)) => sc < c,
                    _ => true,
                };
                if ok {
                    model.insert(m, sc);
                }
            }
        }
        Cmd::Incr(sc, m) => *model.entry(mname(*m)).or_insert(0.0) += f64::from(*sc) / 2.0,
        Cmd::Rem(ms) => {
            for m in ms {
                model.remove(&mname(*m));
            }
        }
        Cmd::RemRank(a, b) => {
            let v = sorted(model);
            if let Some((start, n)) = rank_span(v.len(), i64::from(*a), i64::from(*b)) {
                for (m, _) in &v[start..start + n] {
                    model.remove(m);
                }
            }
        }
        Cmd::RemScore(a, b) => {
            let (lo, hi) = (f64::from(*a) / 2.0, f64::from(*b) / 2.0);
            model.retain(|_, s| !(*s > lo && *s <= hi));
        }
        Cmd::Pop(max, n) => {
            let v = sorted(model);
            let n = if *n == 0 { 1 } else { usize::from(n - 1) };
            let take: Vec<_> = if *max {
                v.iter().rev().take(n).collect()
            } else {
                v.iter().take(n).collect()
            };
            for (m, _) in take {
                model.remove(m);
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn encodings_agree_and_match_model(cmds in prop::collection::vec(cmd(), 1..80), limit in 0usize..6) {
        let mut lp = Kit::new();
        let mut sl = Kit::new();
        lp.run(&["CONFIG", "SET", "zset-max-listpack-entries", &limit.to_string()]);
        sl.run(&["CONFIG", "SET", "zset-max-listpack-entries", "0"]);
        let mut model = BTreeMap::new();
        for c in &cmds {
            for w in words(c) {
                let refs: Vec<&str> = w.iter().map(|x| x.as_str()).collect();
                let a = lp.run(&refs);
                let b = sl.run(&refs);
                prop_assert_eq!(&a, &b, "{:?}", w);
            }
            model_step(&mut model, c);
        }
        let mut want: Vec<(String, f64)> = model.into_iter().collect();
        want.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap().then(a.0.as_bytes().cmp(b.0.as_bytes())));
        let mut expect = format!("*{}\r\n", want.len() * 2);
        for (m, s) in &want {
            expect.push_str(&bulk(m));
            expect.push_str(&bulk(&flint_protocol::format_double(*s)));
        }
        prop_assert_eq!(sl.run(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]), expect);
        for k in [&mut lp, &mut sl] {
            let enc = k.run(&["OBJECT", "ENCODING", "z"]);
            prop_assert!(enc == bulk("listpack") || enc == bulk("skiplist") || enc == "$-1\r\n");
        }
    }
}
