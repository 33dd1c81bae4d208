//! Property test: random sequences of string and key commands run against Flint and against a
//! simple in-test model of Redis's semantics; raw replies must match. When redis-server is
//! installed the same sequences run there too, which keeps the model honest.
//!
//! Each case uses its own key prefix, so cases share one server without flushing between them.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use common::{encode, show, Raw, Redis, Server};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Values chosen to hit Redis's integer-parsing corners.
const VALUES: &[&str] = &[
    "",
    "0",
    "1",
    "-5",
    "10",
    "abc",
    "x y",
    "007",
    " 1",
    "-0",
    "+3",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999",
];
const KEYS: &[&str] = &["a", "b", "c"];

#[derive(Clone, Debug)]
enum Op {
    Set(usize, usize),
    SetNx(usize, usize),
    GetSet(usize, usize),
    Get(usize),
    GetDel(usize),
    Del(Vec<usize>),
    Exists(Vec<usize>),
    Append(usize, usize),
    Strlen(usize),
    IncrBy(usize, i64),
    DecrBy(usize, i64),
    GetRange(usize, i64, i64),
    SetRange(usize, i64, usize),
    MSet(Vec<(usize, usize)>),
    MGet(Vec<usize>),
    Rename(usize, usize),
    RenameNx(usize, usize),
    Type(usize),
}

fn key() -> impl Strategy<Value = usize> {
    0..KEYS.len()
}

fn value() -> impl Strategy<Value = usize> {
    0..VALUES.len()
}

fn amount() -> impl Strategy<Value = i64> {
    prop_oneof![
        -3i64..4,
        Just(i64::MAX),
        Just(i64::MIN + 1),
        Just(1_000_000_000_000i64)
    ]
}

fn index() -> impl Strategy<Value = i64> {
    prop_oneof![-25i64..25, Just(i64::MAX), Just(i64::MIN)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (key(), value()).prop_map(|(k, v)| Op::Set(k, v)),
        (key(), value()).prop_map(|(k, v)| Op::SetNx(k, v)),
        (key(), value()).prop_map(|(k, v)| Op::GetSet(k, v)),
        key().prop_map(Op::Get),
        key().prop_map(Op::GetDel),
        prop::collection::vec(key(), 1..4).prop_map(Op::Del),
        prop::collection::vec(key(), 1..4).prop_map(Op::Exists),
        (key(), value()).prop_map(|(k, v)| Op::Append(k, v)),
        key().prop_map(Op::Strlen),
        (key(), amount()).prop_map(|(k, n)| Op::IncrBy(k, n)),
        (key(), amount()).prop_map(|(k, n)| Op::DecrBy(k, n)),
        (key(), index(), index()).prop_map(|(k, s, e)| Op::GetRange(k, s, e)),
        (key(), -1i64..12, value()).prop_map(|(k, o, v)| Op::SetRange(k, o, v)),
        prop::collection::vec((key(), value()), 1..4).prop_map(Op::MSet),
        prop::collection::vec(key(), 1..4).prop_map(Op::MGet),
        (key(), key()).prop_map(|(a, b)| Op::Rename(a, b)),
        (key(), key()).prop_map(|(a, b)| Op::RenameNx(a, b)),
        key().prop_map(Op::Type),
    ]
}

/// The in-test model: the keyspace as plain byte strings.
#[derive(Default)]
struct Model {
    data: HashMap<Vec<u8>, Vec<u8>>,
}

const NOT_INT: &[u8] = b"-ERR value is not an integer or out of range\r\n";
const OVERFLOW: &[u8] = b"-ERR increment or decrement would overflow\r\n";

fn bulk(v: Option<&[u8]>) -> Vec<u8> {
    match v {
        None => b"$-1\r\n".to_vec(),
        Some(v) => {
            let mut out = format!("${}\r\n", v.len()).into_bytes();
            out.extend_from_slice(v);
            out.extend_from_slice(b"\r\n");
            out
        }
    }
}

fn int(n: i64) -> Vec<u8> {
    format!(":{n}\r\n").into_bytes()
}

/// Redis's string2ll: no sign but '-', no spaces, no leading zeros, no "-0".
fn parse_ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let digits = s.strip_prefix(b"-").unwrap_or(s);
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse::<i64>().ok()
}

impl Model {
    fn incr(&mut self, k: Vec<u8>, by: i64) -> Vec<u8> {
        let cur = match self.data.get(&k) {
            None => 0,
            Some(v) => match parse_ll(v) {
                Some(n) => n,
                None => return NOT_INT.to_vec(),
            },
        };
        match cur.checked_add(by) {
            Some(n) => {
                self.data.insert(k, n.to_string().into_bytes());
                int(n)
            }
            None => OVERFLOW.to_vec(),
        }
    }

    /// Applies `op` (keys already prefixed in `k`) and returns Redis's RESP2 reply.
    fn apply(&mut self, op: &Op, k: &dyn Fn(usize) -> Vec<u8>) -> Vec<u8> {
        let val = |i: usize| VALUES[i].as_bytes().to_vec();
        match op {
            Op::Set(a, v) => {
                self.data.insert(k(*a), val(*v));
                b"+OK\r\n".to_vec()
            }
            Op::SetNx(a, v) => match self.data.entry(k(*a)) {
                std::collections::hash_map::Entry::Occupied(_) => int(0),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(val(*v));
                    int(1)
                }
            },
            Op::GetSet(a, v) => bulk(self.data.insert(k(*a), val(*v)).as_deref()),
            Op::Get(a) => bulk(self.data.get(&k(*a)).map(|v| v.as_slice())),
            Op::GetDel(a) => bulk(self.data.remove(&k(*a)).as_deref()),
            Op::Del(ks) => {
                let mut n = 0;
                for a in ks {
                    n += self.data.remove(&k(*a)).is_some() as i64;
                }
                int(n)
            }
            Op::Exists(ks) => int(ks
                .iter()
                .filter(|a| self.data.contains_key(&k(**a)))
                .count() as i64),
            Op::Append(a, v) => {
                let e = self.data.entry(k(*a)).or_default();
                e.extend_from_slice(VALUES[*v].as_bytes());
                int(e.len() as i64)
            }
            Op::Strlen(a) => int(self.data.get(&k(*a)).map_or(0, |v| v.len()) as i64),
            Op::IncrBy(a, n) => self.incr(k(*a), *n),
            Op::DecrBy(a, n) => self.incr(k(*a), -*n),
            Op::GetRange(a, start, end) => {
                let Some(v) = self.data.get(&k(*a)) else {
                    return bulk(Some(b""));
                };
                let (mut s, mut e) = (*start, *end);
                if s < 0 && e < 0 && s > e {
                    return bulk(Some(b""));
                }
                let len = v.len() as i64;
                if s < 0 {
                    s += len;
                }
                if e < 0 {
                    e += len;
                }
                s = s.max(0);
                e = e.max(0);
                if e >= len {
                    e = len - 1;
                }
                if s > e || len == 0 {
                    return bulk(Some(b""));
                }
                bulk(Some(&v[s as usize..=e as usize]))
            }
            Op::SetRange(a, off, v) => {
                if *off < 0 {
                    return b"-ERR offset is out of range\r\n".to_vec();
                }
                let add = VALUES[*v].as_bytes();
                let key = k(*a);
                match self.data.get_mut(&key) {
                    None if add.is_empty() => int(0),
                    Some(cur) if add.is_empty() => int(cur.len() as i64),
                    cur => {
                        let mut buf = cur.map(std::mem::take).unwrap_or_default();
                        let need = *off as usize + add.len();
                        if buf.len() < need {
                            buf.resize(need, 0);
                        }
                        buf[*off as usize..need].copy_from_slice(add);
                        let n = buf.len() as i64;
                        self.data.insert(key, buf);
                        int(n)
                    }
                }
            }
            Op::MSet(pairs) => {
                for (a, v) in pairs {
                    self.data.insert(k(*a), val(*v));
                }
                b"+OK\r\n".to_vec()
            }
            Op::MGet(ks) => {
                let mut out = format!("*{}\r\n", ks.len()).into_bytes();
                for a in ks {
                    out.extend(bulk(self.data.get(&k(*a)).map(|v| v.as_slice())));
                }
                out
            }
            Op::Rename(a, b) => match self.data.remove(&k(*a)) {
                None => b"-ERR no such key\r\n".to_vec(),
                Some(v) => {
                    self.data.insert(k(*b), v);
                    b"+OK\r\n".to_vec()
                }
            },
            Op::RenameNx(a, b) => {
                if !self.data.contains_key(&k(*a)) {
                    return b"-ERR no such key\r\n".to_vec();
                }
                if self.data.contains_key(&k(*b)) {
                    return int(0);
                }
                let v = self.data.remove(&k(*a)).unwrap_or_default();
                self.data.insert(k(*b), v);
                int(1)
            }
            Op::Type(a) => {
                if self.data.contains_key(&k(*a)) {
                    b"+string\r\n".to_vec()
                } else {
                    b"+none\r\n".to_vec()
                }
            }
        }
    }
}

/// The command `op` sends, with keys prefixed by `k`.
fn argv(op: &Op, k: &dyn Fn(usize) -> Vec<u8>) -> Vec<Vec<u8>> {
    let w = |s: &str| s.as_bytes().to_vec();
    let val = |i: usize| VALUES[i].as_bytes().to_vec();
    match op {
        Op::Set(a, v) => vec![w("SET"), k(*a), val(*v)],
        Op::SetNx(a, v) => vec![w("SETNX"), k(*a), val(*v)],
        Op::GetSet(a, v) => vec![w("GETSET"), k(*a), val(*v)],
        Op::Get(a) => vec![w("GET"), k(*a)],
        Op::GetDel(a) => vec![w("GETDEL"), k(*a)],
        Op::Del(ks) => std::iter::once(w("DEL"))
            .chain(ks.iter().map(|a| k(*a)))
            .collect(),
        Op::Exists(ks) => std::iter::once(w("EXISTS"))
            .chain(ks.iter().map(|a| k(*a)))
            .collect(),
        Op::Append(a, v) => vec![w("APPEND"), k(*a), val(*v)],
        Op::Strlen(a) => vec![w("STRLEN"), k(*a)],
        Op::IncrBy(a, n) => vec![w("INCRBY"), k(*a), n.to_string().into_bytes()],
        Op::DecrBy(a, n) => vec![w("DECRBY"), k(*a), n.to_string().into_bytes()],
        Op::GetRange(a, s, e) => vec![
            w("GETRANGE"),
            k(*a),
            s.to_string().into_bytes(),
            e.to_string().into_bytes(),
        ],
        Op::SetRange(a, o, v) => vec![w("SETRANGE"), k(*a), o.to_string().into_bytes(), val(*v)],
        Op::MSet(pairs) => {
            let mut out = vec![w("MSET")];
            for (a, v) in pairs {
                out.push(k(*a));
                out.push(val(*v));
            }
            out
        }
        Op::MGet(ks) => std::iter::once(w("MGET"))
            .chain(ks.iter().map(|a| k(*a)))
            .collect(),
        Op::Rename(a, b) => vec![w("RENAME"), k(*a), k(*b)],
        Op::RenameNx(a, b) => vec![w("RENAMENX"), k(*a), k(*b)],
        Op::Type(a) => vec![w("TYPE"), k(*a)],
    }
}

fn send(c: &mut Raw, args: &[Vec<u8>]) -> Vec<u8> {
    let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
    c.send(&encode(&refs));
    c.read_reply()
}

#[test]
fn string_and_key_commands_match_the_model() {
    let flint = Server::start(&[]);
    let redis = Redis::start();
    if redis.is_none() {
        println!("note: redis-server not installed; comparing with the model only");
    }
    let fc = RefCell::new(flint.raw());
    let rc = RefCell::new(redis.as_ref().map(|r| r.raw()));
    let case = Cell::new(0u64);
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&prop::collection::vec(op(), 1..40), |ops| {
        case.set(case.get() + 1);
        let prefix = format!("case{}:", case.get());
        let k = |i: usize| format!("{prefix}{}", KEYS[i]).into_bytes();
        let mut model = Model::default();
        for (n, op) in ops.iter().enumerate() {
            let args = argv(op, &k);
            let want = model.apply(op, &k);
            if let Some(r) = rc.borrow_mut().as_mut() {
                let real = send(r, &args);
                if real != want {
                    return Err(TestCaseError::fail(format!(
                        "MODEL BUG at op {n} {op:?}: redis {} model {}",
                        show(&real),
                        show(&want)
                    )));
                }
            }
            let got = send(&mut fc.borrow_mut(), &args);
            if got != want {
                return Err(TestCaseError::fail(format!(
                    "op {n} {op:?}: flint {} expected {}",
                    show(&got),
                    show(&want)
                )));
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
