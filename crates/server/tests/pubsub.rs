//! Pub/sub and keyspace notifications end to end: multi-connection transcripts replayed on Flint
//! and on redis-server in RESP2 and RESP3 and compared byte for byte (subscribe/unsubscribe
//! replies, messages, errors in subscribed mode, PUBSUB introspection, keyspace events of the
//! string and generic commands, lazy and active expiry), plus Flint-only checks: a real client's
//! pub/sub API, CLIENT LIST and INFO counters, eviction events, and the disconnection of a
//! subscriber that does not read.

mod common;

use std::time::Duration;

use common::{q, show, split_args, wait_until, Raw, Redis, Server};

/// How long to collect what each connection receives after a step.
const SETTLE: Duration = Duration::from_millis(30);

/// What one connection received: the bytes, and the same labelled by the step after which
/// they arrived (for failure messages; when exactly a message arrives is timing).
#[derive(Default)]
struct Received {
    bytes: Vec<u8>,
    labelled: String,
}

/// Replays `steps` on `server` with `conns` connections speaking RESP `proto`, and returns what
/// each connection received. A step is `<conn>: <command>` (redis-cli syntax) or `sleep <ms>`.
fn transcript(server: &Server, proto: u8, conns: usize, steps: &[&str]) -> Vec<Received> {
    let mut cs: Vec<Raw> = (0..conns)
        .map(|_| {
            let mut c = server.raw();
            if proto == 3 {
                let r = c.cmd(&["HELLO", "3"]);
                assert_eq!(r.first(), Some(&b'%'), "HELLO 3: {}", show(&r));
            }
            c
        })
        .collect();
    let mut log: Vec<Received> = (0..conns).map(|_| Received::default()).collect();
    for (n, step) in steps.iter().enumerate() {
        if let Some(ms) = step.strip_prefix("sleep ") {
            std::thread::sleep(Duration::from_millis(ms.parse().expect("sleep ms")));
        } else {
            let (who, cmd) = step.split_once(": ").expect("`<conn>: <command>`");
            let who: usize = who.parse().expect("connection number");
            let args = split_args(cmd);
            let argv: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            cs[who].send(&common::encode(&argv));
        }
        for (c, r) in cs.iter_mut().zip(log.iter_mut()) {
            let (got, closed) = c.read_until_close(SETTLE);
            if !got.is_empty() || closed {
                let end = if closed { " <closed>" } else { "" };
                r.labelled
                    .push_str(&format!("[{n}: {step}] {}{end}\n", show(&got)));
                r.bytes.extend_from_slice(&got);
            }
        }
    }
    log
}

/// Replays `steps` on Flint and redis-server, in RESP2 and RESP3, and requires each
/// connection to receive the same bytes. Skipped without redis-server.
fn compare_transcripts(conns: usize, steps: &[&str]) {
    if common::skip_without_redis() {
        return;
    }
    for proto in [2, 3] {
        let flint = Server::start(&[]);
        let redis = Redis::start_with(&[]).expect("redis-server");
        let want = transcript(&redis, proto, conns, steps);
        let got = transcript(&flint, proto, conns, steps);
        for (i, (w, g)) in want.iter().zip(&got).enumerate() {
            let first = w
                .labelled
                .lines()
                .zip(g.labelled.lines())
                .find(|(a, b)| a != b);
            assert!(
                w.bytes == g.bytes,
                "RESP{proto}, connection {i}, first difference:\nredis: {:?}\nflint: {:?}\n\
                 redis:\n{}\nflint:\n{}",
                first.map(|p| p.0),
                first.map(|p| p.1),
                w.labelled,
                g.labelled
            );
        }
    }
}

#[test]
fn subscribe_publish_unsubscribe_like_redis() {
    compare_transcripts(
        2,
        &[
            "0: SUBSCRIBE",
            "0: SUBSCRIBE a b",
            "0: PSUBSCRIBE x*",
            "0: SUBSCRIBE a",
            "1: PUBLISH a hello",
            "1: PUBLISH xyz hi",
            "1: PUBLISH b \"\"",
            "1: PUBLISH nobody m",
            "1: PUBLISH a",
            "0: GET k",
            "0: CLIENT GETNAME",
            "0: PING",
            "0: PING m",
            "0: PING a b",
            "1: PUBSUB NUMSUB a b z",
            "1: PUBSUB NUMSUB",
            "1: PUBSUB NUMPAT",
            "1: PUBSUB NUMPAT x",
            "1: PUBSUB CHANNELS a*",
            "1: PUBSUB CHANNELS z*",
            "1: PUBSUB CHANNELS a b",
            "1: PUBSUB HELP",
            "1: PUBSUB foo",
            "1: PUBSUB",
            "0: UNSUBSCRIBE a",
            "0: UNSUBSCRIBE nosuch",
            "0: PUNSUBSCRIBE",
            "0: UNSUBSCRIBE",
            "0: UNSUBSCRIBE",
            "0: PUNSUBSCRIBE",
            "0: GET k",
            "0: PING",
            "0: SSUBSCRIBE s",
            "1: SPUBLISH s m",
            "1: PUBLISH s m",
            "1: PUBSUB SHARDCHANNELS",
            "1: PUBSUB SHARDNUMSUB s t",
            "0: UNSUBSCRIBE",
            "0: SUNSUBSCRIBE",
            "0: SUNSUBSCRIBE",
            "0: SUBSCRIBE c",
            "0: RESET",
            "1: PUBLISH c x",
            "1: PUBSUB NUMSUB c",
            "0: PSUBSCRIBE p? q[ab]",
            "1: PUBLISH pa 1",
            "1: PUBLISH qa 2",
            "1: PUBLISH qc 3",
            "1: PUBSUB NUMPAT",
            "0: PUNSUBSCRIBE p?",
            "0: QUIT",
            "sleep 50",
            "1: PUBSUB NUMPAT",
            "1: PUBLISH pa 3",
        ],
    );
}

#[test]
fn subscribed_connection_errors_and_self_delivery_like_redis() {
    compare_transcripts(
        2,
        &[
            "0: SUBSCRIBE me",
            "0: SET k v",
            "0: PUBLISH me hi",
            "0: MULTI",
            "0: NOSUCHCOMMAND x",
            "0: SUBSCRIBE",
            "1: PUBLISH me there",
            "0: PING",
            "0: UNSUBSCRIBE me",
            "0: GET k",
        ],
    );
}

#[test]
fn keyspace_events_like_redis() {
    compare_transcripts(
        2,
        &[
            "1: CONFIG SET notify-keyspace-events KEA",
            "1: CONFIG GET notify-keyspace-events",
            "0: PSUBSCRIBE __key*__:*",
            "1: SET k v",
            "1: SET k v2 EX 100",
            "1: SET k v3 GET",
            "1: SET k v4 KEEPTTL",
            "1: EXPIRE k 200",
            "1: PERSIST k",
            "1: PERSIST k",
            "1: APPEND k x",
            "1: SETRANGE k 1 yy",
            "1: SETRANGE k 1 \"\"",
            "1: INCR n",
            "1: INCRBY n 5",
            "1: DECR n",
            "1: INCR k",
            "1: INCRBYFLOAT f 1.5",
            "1: MSET m1 1 m2 2",
            "1: MSETNX m1 1 m9 2",
            "1: RENAME m1 m3",
            "1: RENAME m3 m3",
            "1: RENAMENX m3 m2",
            "1: COPY m3 m4",
            "1: COPY m3 m4 DB 2",
            "1: MOVE m4 1",
            "1: DEL m2 m3 nosuch",
            "1: UNLINK m9",
            "1: GETDEL k",
            "1: SET g v",
            "1: GETEX g EX 100",
            "1: GETEX g PERSIST",
            "1: GETEX g PXAT 1",
            "1: SET g v",
            "1: EXPIRE g -1",
            "1: SETEX s 100 v",
            "1: SETNX s v2",
            "1: GETSET s v3",
            "1: EXPIRE nosuch 10",
            "1: DEBUG SET-ACTIVE-EXPIRE 0",
            "1: SET e v PX 20",
            "sleep 100",
            "1: GET e",
            "1: SET e3 v PX 20",
            "sleep 100",
            "1: SET e3 v",
            "1: DEBUG SET-ACTIVE-EXPIRE 1",
            "1: SET e2 v PX 20",
            "sleep 500",
            "1: CONFIG SET notify-keyspace-events Ex",
            "1: CONFIG GET notify-keyspace-events",
            "1: SET q v",
            "1: DEBUG SET-ACTIVE-EXPIRE 0",
            "1: SET q2 v PX 1",
            "sleep 50",
            "1: GET q2",
            "1: CONFIG SET notify-keyspace-events K$",
            "1: SET q v",
            "1: DEL q",
            "1: CONFIG SET notify-keyspace-events \"\"",
            "1: SET q v",
            "0: SET self v",
        ],
    );
}

#[test]
fn list_and_hash_keyspace_events_like_redis() {
    compare_transcripts(
        2,
        &[
            "1: CONFIG SET notify-keyspace-events KElhg",
            "0: PSUBSCRIBE __key*__:*",
            "1: LPUSH l a b c",
            "1: RPUSH l d",
            "1: LPUSHX nolist x",
            "1: RPUSHX l e",
            "1: LSET l 0 z",
            "1: LINSERT l BEFORE z y",
            "1: LINSERT l BEFORE nosuch y",
            "1: LREM l 1 y",
            "1: LREM l 1 nosuch",
            "1: LPOP l",
            "1: RPOP l 2",
            "1: LPOP l 0",
            "1: LTRIM l 0 0",
            "1: RPUSH l2 1 2",
            "1: LMOVE l2 l3 LEFT RIGHT",
            "1: RPOPLPUSH l2 l3",
            "1: LMOVE l3 l3 LEFT RIGHT",
            "1: LMPOP 2 nosuch l3 RIGHT COUNT 5",
            "1: RPUSH l4 x",
            "1: BLPOP l4 0",
            "1: RPUSH l5 x y",
            "1: LTRIM l5 5 6",
            "1: HSET h a 1 b 2",
            "1: HSET h a 1",
            "1: HSETNX h a 1",
            "1: HSETNX h c 1",
            "1: HSETNX h2 c 1",
            "1: HINCRBY h n 5",
            "1: HINCRBYFLOAT h f 1.5",
            "1: HMSET h x 1",
            "1: HDEL h nosuch",
            "1: HDEL h a b",
            "1: HDEL h2 c",
        ],
    );
}

/// Every set write command, with and without an effect: `srem`/`spop` then `del` when the set
/// empties, SMOVE's `srem` (and `del`) then `sadd`, the STORE forms' event or `del`. SPOP's
/// choice is random, so partial pops run in scripts that reply only a count.
#[test]
fn set_keyspace_events_like_redis() {
    compare_transcripts(
        2,
        &[
            "1: CONFIG SET notify-keyspace-events KEA",
            "0: PSUBSCRIBE __key*__:*",
            "1: SADD s a b c",
            "1: SADD s a",
            "1: SADD s d",
            "1: SREM s nosuch",
            "1: SREM s a b",
            "1: SREM s c d x",
            "1: SREM s x",
            "1: SADD s a b c d",
            "1: EVAL \"return #{redis.call('spop', KEYS[1])}\" 1 s",
            "1: SPOP s 0",
            "1: EVAL \"return #redis.call('spop', KEYS[1], 2)\" 1 s",
            "1: EVAL \"return #redis.call('spop', KEYS[1], 5)\" 1 s",
            "1: SPOP s",
            "1: SPOP s 1",
            "1: SADD one x",
            "1: SPOP one",
            "1: SADD t a b c",
            "1: SMOVE t u a",
            "1: SMOVE t u nosuch",
            "1: SMOVE t t b",
            "1: SADD u b",
            "1: SMOVE t u b",
            "1: SMOVE t u c",
            "1: SMOVE nosuch u c",
            "1: SADD a 1 2 3",
            "1: SADD b 2 3 4",
            "1: SINTERSTORE d a b",
            "1: SINTERSTORE d a nosuch",
            "1: SINTERSTORE d a b",
            "1: SUNIONSTORE d a b",
            "1: SDIFFSTORE d a b",
            "1: SDIFFSTORE d a a",
            "1: SUNIONSTORE d nosuch nosuch2",
            "1: SINTERSTORE a a",
            "1: SMOVE a b 1",
            "1: SET str v",
            "1: SADD str x",
            "1: SINTERSTORE str2 str",
        ],
    );
}

/// Every sorted set write command: `zadd`/`zincr` only when something changed, removals then
/// `del` when the set empties, pops (blocking ones served later too), the STORE forms.
#[test]
fn zset_keyspace_events_like_redis() {
    compare_transcripts(
        3,
        &[
            "1: CONFIG SET notify-keyspace-events KEA",
            "0: PSUBSCRIBE __key*__:*",
            "1: ZADD z 1 a 2 b 3 c",
            "1: ZADD z 1 a",
            "1: ZADD z 5 a",
            "1: ZADD z NX 9 a",
            "1: ZADD z XX 9 nosuch",
            "1: ZADD z XX CH 1 a",
            "1: ZADD z INCR 2 a",
            "1: ZADD z INCR 0 a",
            "1: ZADD z GT INCR 1 a",
            "1: ZADD z LT 100 a",
            "1: ZADD z 1 a 2 x nan y",
            "1: ZADD nz XX 1 a",
            "1: ZINCRBY z 1 b",
            "1: ZINCRBY z2 1 b",
            "1: ZINCRBY z inf b",
            "1: ZINCRBY z -inf b",
            "1: ZREM z nosuch",
            "1: ZREM z a",
            "1: ZREM z2 b nosuch",
            "1: ZREMRANGEBYRANK z 0 0",
            "1: ZREMRANGEBYRANK z 5 6",
            "1: ZREMRANGEBYRANK z 0 -1",
            "1: ZADD z 1 a 2 b 3 c 4 d",
            "1: ZREMRANGEBYSCORE z 1 1",
            "1: ZREMRANGEBYSCORE z 100 200",
            "1: ZREMRANGEBYLEX z [b [b",
            "1: ZREMRANGEBYLEX z - +",
            "1: ZADD z 1 a 2 b 3 c 4 d",
            "1: ZPOPMIN z",
            "1: ZPOPMAX z",
            "1: ZPOPMIN z 0",
            "1: ZPOPMAX z 5",
            "1: ZPOPMIN z",
            "1: ZADD z 1 a 2 b",
            "1: ZMPOP 2 nosuch z MIN",
            "1: ZMPOP 1 z MAX COUNT 5",
            "1: ZMPOP 1 nosuch MAX",
            "1: ZADD z 1 a 2 b",
            "1: BZPOPMIN z 0",
            "1: BZPOPMAX z 0",
            "1: BZMPOP 0 1 nosuch MIN",
            "2: BZPOPMIN bz 0",
            "1: ZADD bz 1 a 2 b",
            "2: BZMPOP 0 1 bz2 MAX COUNT 3",
            "1: ZADD bz2 1 a 2 b",
            "2: BZPOPMAX bz3 0",
            "1: MULTI",
            "1: ZADD bz3 1 a",
            "1: ZADD bz3 2 b",
            "1: EXEC",
            "1: ZADD z1 1 a 2 b",
            "1: ZADD z2 2 b 3 c",
            "1: ZUNIONSTORE d 2 z1 z2",
            "1: ZINTERSTORE d 2 z1 z2",
            "1: ZDIFFSTORE d 2 z1 z2",
            "1: ZDIFFSTORE d 2 z1 z1",
            "1: ZINTERSTORE d 2 z1 nosuch",
            "1: ZUNIONSTORE d 1 z1",
            "1: ZRANGESTORE d z1 0 -1",
            "1: ZRANGESTORE d z1 5 6",
            "1: ZRANGESTORE d nosuch 0 -1",
            "1: ZRANGESTORE d z1 0 0 REV",
            "1: ZRANGESTORE d z1 (1 +inf BYSCORE",
            "1: ZUNIONSTORE d 1 nosuch",
            "1: ZUNIONSTORE z1 2 z1 z2",
        ],
    );
}

/// The `n` class (`new` when a key is created, before the command's own event, even when
/// RENAME or COPY replaces a key) and the `m` class (`keymiss` for the lookups Redis makes
/// with `lookupKeyRead`, read commands and some writes' sources, after a lazy `expired`).
#[test]
fn new_and_keymiss_events_like_redis() {
    compare_transcripts(
        2,
        &[
            "1: CONFIG SET notify-keyspace-events KEAnm",
            "0: PSUBSCRIBE __key*__:*",
            "1: GET nosuch",
            "1: SET k v",
            "1: GET k",
            "1: MGET a k b",
            "1: STRLEN nosuch",
            "1: GETRANGE nosuch 0 1",
            "1: SUBSTR nosuch 0 1",
            "1: GETEX nosuch",
            "1: GETDEL nosuch",
            "1: EXISTS nosuch k nosuch",
            "1: TYPE nosuch",
            "1: TTL nosuch",
            "1: PTTL nosuch",
            "1: EXPIRETIME nosuch",
            "1: PEXPIRETIME nosuch",
            "1: OBJECT ENCODING nosuch",
            "1: MEMORY USAGE nosuch",
            "1: TOUCH nosuch k",
            "1: LCS nosuch nosuch2",
            "1: LLEN nosuch",
            "1: LRANGE nosuch 0 1",
            "1: LINDEX nosuch 0",
            "1: LPOS nosuch a",
            "1: HGET nosuch a",
            "1: HGETALL nosuch",
            "1: HMGET nosuch a",
            "1: HEXISTS nosuch a",
            "1: HLEN nosuch",
            "1: HSTRLEN nosuch a",
            "1: HRANDFIELD nosuch",
            "1: HSCAN nosuch 0",
            "1: HKEYS nosuch",
            "1: HVALS nosuch",
            "1: SISMEMBER nosuch a",
            "1: SMISMEMBER nosuch a",
            "1: SMEMBERS nosuch",
            "1: SCARD nosuch",
            "1: SRANDMEMBER nosuch",
            "1: SSCAN nosuch 0",
            "1: SINTER nosuch k2",
            "1: SINTERCARD 2 nosuch nosuch2",
            "1: SUNION nosuch nosuch2",
            "1: SDIFF nosuch nosuch2",
            "1: ZRANGE nosuch 0 -1",
            "1: ZRANGEBYSCORE nosuch 0 1",
            "1: ZREVRANGE nosuch 0 1",
            "1: ZRANGEBYLEX nosuch - +",
            "1: ZSCORE nosuch a",
            "1: ZMSCORE nosuch a",
            "1: ZRANK nosuch a",
            "1: ZREVRANK nosuch a",
            "1: ZCARD nosuch",
            "1: ZCOUNT nosuch 0 1",
            "1: ZLEXCOUNT nosuch - +",
            "1: ZRANDMEMBER nosuch",
            "1: ZSCAN nosuch 0",
            "1: ZUNION 2 nosuch nosuch2",
            "1: ZINTER 2 nosuch nosuch2",
            "1: ZDIFF 2 nosuch nosuch2",
            "1: ZINTERCARD 2 nosuch nosuch2",
            "1: DEL nosuch",
            "1: EXPIRE nosuch 10",
            "1: PERSIST nosuch",
            "1: RENAME nosuch x",
            "1: COPY nosuch x",
            "1: MOVE nosuch 1",
            "1: LPUSHX nosuch a",
            "1: LPOP nosuch",
            "1: LMPOP 1 nosuch LEFT",
            "1: LMOVE nosuch x LEFT LEFT",
            "1: LREM nosuch 0 a",
            "1: HDEL nosuch a",
            "1: SREM nosuch a",
            "1: SPOP nosuch",
            "1: SMOVE nosuch s a",
            "1: ZREM nosuch a",
            "1: ZPOPMIN nosuch",
            "1: ZMPOP 1 nosuch MIN",
            "1: ZREMRANGEBYRANK nosuch 0 1",
            "1: SETRANGE n2 0 x",
            "1: SETRANGE n3 0 \"\"",
            "1: INCR i",
            "1: INCRBYFLOAT f 1",
            "1: APPEND ap x",
            "1: LPUSH l a",
            "1: RPUSH l b",
            "1: LMOVE l l9 LEFT RIGHT",
            "1: HSET h a 1",
            "1: HSETNX hn a 1",
            "1: HINCRBY h2 a 1",
            "1: HINCRBYFLOAT h3 a 1",
            "1: SADD s a",
            "1: SMOVE s s2 a",
            "1: ZADD z 1 a",
            "1: ZINCRBY z2 1 a",
            "1: MSET m1 1 m2 2 m1 3",
            "1: MSETNX m3 1 m4 2",
            "1: SETNX sn 1",
            "1: SETEX se 100 1",
            "1: PSETEX pse 100000 1",
            "1: GETSET gs 1",
            "1: GETSET gs 2",
            "1: SET k4 v GET",
            "1: SET k5 v NX GET",
            "1: SET k5 v XX GET",
            "1: SET k6 v XX",
            "1: GETDEL k5",
            "1: GETEX k4 PERSIST",
            "1: SINTERSTORE d s2 nosuch",
            "1: SUNIONSTORE d nosuch s2",
            "1: SDIFFSTORE d nosuch s2",
            "1: ZUNIONSTORE zd 2 nosuch z",
            "1: ZINTERSTORE zd 2 z nosuch",
            "1: ZDIFFSTORE zd 2 nosuch z",
            "1: ZRANGESTORE zd nosuch 0 -1",
            "1: ZRANGESTORE zd z 0 -1",
            "1: RENAME k k2",
            "1: SET k3 v",
            "1: RENAME k2 k3",
            "1: RENAMENX k3 k9",
            "1: COPY k9 k4",
            "1: COPY k9 k4 REPLACE",
            "1: COPY k9 k5 DB 1",
            "1: MOVE k4 2",
            "1: DEBUG SET-ACTIVE-EXPIRE 0",
            "1: SET e1 v PX 20",
            "1: SET e2 v PX 20",
            "1: SADD e3 a",
            "1: PEXPIRE e3 20",
            "1: SET e4 1 PX 20",
            "1: SET e5 v PX 20",
            "1: RPUSH e6 a",
            "1: PEXPIRE e6 20",
            "sleep 100",
            "1: GET e1",
            "1: SET e2 v",
            "1: SADD e3 b",
            "1: INCR e4",
            "1: EXISTS e5",
            "1: LPUSHX e6 x",
        ],
    );
}

/// Events inside MULTI/EXEC and scripts come in command order, each command's `new`/`keymiss`
/// before its own event.
#[test]
fn keyspace_events_inside_exec_and_scripts_like_redis() {
    compare_transcripts(
        2,
        &[
            "1: CONFIG SET notify-keyspace-events KEAnm",
            "0: PSUBSCRIBE __key*__:*",
            "1: MULTI",
            "1: SADD s a",
            "1: GET nosuch",
            "1: ZADD z 1 a",
            "1: SREM s a",
            "1: ZPOPMIN z",
            "1: SET k v",
            "1: SMOVE nosuch s a",
            "1: EXEC",
            "1: EVAL \"redis.call('sadd', 's', 'a', 'b') redis.call('get', 'nosuch') redis.call('zadd', 'z', 1, 'a') redis.call('srem', 's', 'a', 'b') redis.call('zrem', 'z', 'a') return redis.call('sinterstore', 'd', 's')\" 0",
            "1: EVAL \"redis.call('set', 'k', 'v') return redis.call('rename', 'k', 'k2')\" 0",
        ],
    );
}

/// The keyevent stream (`event key` per event, database 0) that `cmds` cause on a fresh Flint
/// with `notify-keyspace-events` set to `flags`. A marker PUBLISH on the subscribed pattern
/// ends the stream, so nothing is read by timing.
fn keyevents(flags: &str, cmds: &[&str]) -> Vec<String> {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["CONFIG", "SET", "notify-keyspace-events", flags]);
    let mut sub_con = s.conn();
    let mut sub = sub_con.as_pubsub();
    sub.psubscribe("__keyevent@0__:*").unwrap();
    for cmd in cmds {
        let args = split_args(cmd);
        let mut r = redis::cmd(std::str::from_utf8(&args[0]).unwrap());
        for a in &args[1..] {
            r.arg(a.as_slice());
        }
        // Errors are part of some steps; only the events matter here.
        let _: redis::RedisResult<redis::Value> = r.query(&mut c);
    }
    let _: i64 = q(&mut c, &["PUBLISH", "__keyevent@0__:end", "end"]);
    sub.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut events = Vec::new();
    loop {
        let m = sub.get_message().unwrap();
        let event = m
            .get_channel_name()
            .trim_start_matches("__keyevent@0__:")
            .to_string();
        if event == "end" {
            return events;
        }
        events.push(format!("{event} {}", m.get_payload::<String>().unwrap()));
    }
}

/// Set and sorted set events, `new` and `keymiss`, checked without redis-server (the
/// expectations were taken from Redis 7.0).
#[test]
fn set_zset_new_and_keymiss_events() {
    let got = keyevents(
        "Esz",
        &[
            "SADD s a b",
            "SADD s a",
            "SREM s a",
            "SMOVE s t b",
            "SADD a 1 2",
            "SINTERSTORE d a a",
            "SINTERSTORE d a nosuch",
            "ZADD z 1 a 2 b",
            "ZADD z 1 a",
            "ZINCRBY z 1 a",
            "ZPOPMIN z",
            "ZREM z b",
        ],
    );
    assert_eq!(
        got,
        [
            "sadd s",
            "srem s",
            "srem s",
            "sadd t",
            "sadd a",
            "sinterstore d",
            "zadd z",
            "zincr z",
            "zpopmin z",
            "zrem z",
        ]
    );
    let got = keyevents(
        "Egsznm",
        &[
            "GET nosuch",
            "SET k v",
            "SET k w",
            "SADD s a",
            "SREM s a",
            "SINTERSTORE d s nosuch",
            "SMOVE nosuch s a",
            "EXISTS k nosuch",
            "RENAME k s",
        ],
    );
    assert_eq!(
        got,
        [
            "keymiss nosuch",
            "new k",
            "new s",
            "sadd s",
            "srem s",
            "del s",
            "keymiss s",
            "keymiss nosuch",
            "keymiss nosuch",
            "new s",
            "rename_from k",
            "rename_to s",
        ]
    );
}

#[test]
fn messages_to_self_inside_exec_and_scripts_like_redis() {
    compare_transcripts(
        2,
        &[
            "0: SUBSCRIBE me",
            "0: MULTI",
            "0: PUBLISH me x",
            "0: SET k v",
            "0: EXEC",
            "0: EVAL \"return redis.call('publish', 'me', 'y')\" 0",
            "0: EVAL \"return redis.call('subscribe', 'me')\" 0",
            "0: BLPOP list 0",
            "1: PUBLISH me blocked",
            "1: RPUSH list a",
            "1: EVAL \"return redis.call('publish', 'me', 'z')\" 0",
            "0: PING",
            "1: PUBLISH me w",
        ],
    );
}

#[test]
fn own_keyspace_events_precede_the_reply_in_resp3() {
    compare_transcripts(
        1,
        &[
            "0: CONFIG SET notify-keyspace-events KE$g",
            "0: SUBSCRIBE __keyspace@0__:k __keyevent@0__:del",
            "0: SET k v",
            "0: DEL k",
            "0: UNSUBSCRIBE __keyspace@0__:k",
            "0: UNSUBSCRIBE",
            "0: SET k v",
        ],
    );
}

/// A read's own `keymiss` events reach a RESP3 subscriber before the read's reply, as in Redis
/// (in RESP2 the reads are refused in subscribed mode, also as in Redis). Not MGET: Redis
/// writes each key's push between the elements of the array reply, Flint before the array.
#[test]
fn own_keymiss_events_precede_the_reply_in_resp3() {
    compare_transcripts(
        1,
        &[
            "0: CONFIG SET notify-keyspace-events KEm",
            "0: SUBSCRIBE __keyevent@0__:keymiss __keyspace@0__:nosuch",
            "0: GET nosuch",
            "0: EXISTS nosuch",
            "0: HGET nosuch f",
            "0: ZSCORE nosuch m",
        ],
    );
}

/// The `redis` crate's pub/sub API against Flint: messages, patterns, payloads.
#[test]
fn real_client_receives_messages() {
    let s = Server::start(&[]);
    let mut sub_con = s.conn();
    let mut publisher = s.conn();
    let mut sub = sub_con.as_pubsub();
    sub.subscribe("news").unwrap();
    sub.psubscribe("sport.*").unwrap();
    sub.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let n: i64 = q(&mut publisher, &["PUBLISH", "news", "hello"]);
    assert_eq!(n, 1);
    let n: i64 = q(&mut publisher, &["PUBLISH", "sport.tennis", "ace"]);
    assert_eq!(n, 1);
    let m = sub.get_message().unwrap();
    assert_eq!(m.get_channel_name(), "news");
    assert_eq!(m.get_payload::<String>().unwrap(), "hello");
    let m = sub.get_message().unwrap();
    assert_eq!(m.get_channel_name(), "sport.tennis");
    assert_eq!(m.get_pattern::<String>().unwrap(), "sport.*");
    assert_eq!(m.get_payload::<String>().unwrap(), "ace");
    // A binary payload arrives intact.
    let payload: Vec<u8> = (0..=255u8).collect();
    let n: i64 = redis::cmd("PUBLISH")
        .arg("news")
        .arg(&payload)
        .query(&mut publisher)
        .unwrap();
    assert_eq!(n, 1);
    let m = sub.get_message().unwrap();
    assert_eq!(m.get_payload::<Vec<u8>>().unwrap(), payload);
    // A client reached through a channel and a pattern counts (and receives) twice.
    sub.psubscribe("new?").unwrap();
    let n: i64 = q(&mut publisher, &["PUBLISH", "news", "twice"]);
    assert_eq!(n, 2);
    let first = sub.get_message().unwrap();
    let second = sub.get_message().unwrap();
    assert_eq!(first.get_payload::<String>().unwrap(), "twice");
    assert_eq!(second.get_payload::<String>().unwrap(), "twice");
    sub.unsubscribe("news").unwrap();
    sub.punsubscribe("sport.*").unwrap();
    sub.punsubscribe("new?").unwrap();
    drop(sub);
    let n: i64 = q(&mut publisher, &["PUBLISH", "news", "again"]);
    assert_eq!(n, 0);
}

fn info_field(r: &mut Raw, section: &str, field: &str) -> String {
    let text = r.cmd_str(&["INFO", section]);
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {field} in {text}"))
}

#[test]
fn client_list_and_info_show_subscriptions() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    let mut sub = s.raw();
    let id = sub.cmd_str(&["CLIENT", "ID"]);
    let id = id.trim_start_matches(':').trim().to_string();
    sub.send(&common::encode_str(&["SUBSCRIBE", "a", "b"]));
    sub.read_replies(2);
    sub.cmd(&["PSUBSCRIBE", "p*"]);
    sub.cmd(&["SSUBSCRIBE", "s"]);
    let list = admin.cmd_str(&["CLIENT", "LIST", "ID", &id]);
    assert!(
        list.contains(" flags=P ") && list.contains(" sub=2 psub=1 ssub=1 "),
        "{list}"
    );
    let pubsub_list = admin.cmd_str(&["CLIENT", "LIST", "TYPE", "pubsub"]);
    assert!(pubsub_list.contains(&format!("id={id} ")), "{pubsub_list}");
    assert_eq!(info_field(&mut admin, "stats", "pubsub_channels"), "2");
    assert_eq!(info_field(&mut admin, "stats", "pubsub_patterns"), "1");
    assert_eq!(info_field(&mut admin, "stats", "pubsubshard_channels"), "1");
    // RESET drops everything.
    assert_eq!(sub.cmd_str(&["RESET"]), "+RESET\r\n");
    let list = admin.cmd_str(&["CLIENT", "LIST", "ID", &id]);
    assert!(
        list.contains(" flags=N ") && list.contains(" sub=0 psub=0 ssub=0 "),
        "{list}"
    );
    assert_eq!(info_field(&mut admin, "stats", "pubsub_channels"), "0");
    assert_eq!(info_field(&mut admin, "stats", "pubsub_patterns"), "0");
    assert_eq!(info_field(&mut admin, "stats", "pubsubshard_channels"), "0");
    // A subscriber that disconnects is forgotten.
    sub.cmd(&["SUBSCRIBE", "gone"]);
    drop(sub);
    assert!(wait_until(Duration::from_secs(5), || admin
        .cmd_str(&["PUBSUB", "NUMSUB", "gone"])
        .ends_with(":0\r\n")));
    assert_eq!(admin.cmd_str(&["PUBLISH", "gone", "x"]), ":0\r\n");
}

/// Evicting a key under maxmemory publishes `evicted`.
#[test]
fn eviction_emits_evicted_events() {
    let s = Server::start(&[]);
    let mut admin = s.conn();
    let mut sub = s.raw();
    let _: () = q(
        &mut admin,
        &["CONFIG", "SET", "notify-keyspace-events", "Ee"],
    );
    sub.cmd(&["SUBSCRIBE", "__keyevent@0__:evicted"]);
    let used: u64 = info_num(&mut admin, "used_memory");
    let _: () = q(
        &mut admin,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-random"],
    );
    let _: () = q(
        &mut admin,
        &[
            "CONFIG",
            "SET",
            "maxmemory",
            &(used + (1 << 20)).to_string(),
        ],
    );
    let value = "x".repeat(200);
    for start in (0..20_000).step_by(500) {
        let mut p = redis::pipe();
        for i in start..start + 500 {
            p.cmd("SET").arg(format!("key:{i}")).arg(&value).ignore();
        }
        let _: () = p.query(&mut admin).unwrap();
    }
    let evicted: u64 = info_num(&mut admin, "evicted_keys");
    assert!(evicted > 0, "nothing evicted");
    let _: () = q(&mut admin, &["CONFIG", "SET", "maxmemory", "0"]);
    let msg = sub
        .try_read_reply(Duration::from_secs(5))
        .expect("an evicted event");
    let text = String::from_utf8_lossy(&msg).into_owned();
    assert!(
        text.starts_with("*3\r\n$7\r\nmessage\r\n$22\r\n__keyevent@0__:evicted\r\n")
            && text.contains("key:"),
        "{text}"
    );
}

fn info_num(c: &mut redis::Connection, field: &str) -> u64 {
    let info: String = q(c, &["INFO"]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in INFO"))
}

/// A subscriber that stops reading is disconnected once its queue passes the pubsub class's
/// hard limit; the publisher and other clients are unaffected.
#[test]
fn slow_subscriber_is_disconnected_at_the_hard_limit() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    assert_eq!(
        admin.cmd_str(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 1048576 0 0"
        ]),
        "+OK\r\n"
    );
    let mut slow = s.raw();
    slow.cmd(&["SUBSCRIBE", "firehose"]);
    let big = "y".repeat(256 * 1024);
    // Far more than socket buffers plus the limit; the subscriber never reads meanwhile.
    for _ in 0..200 {
        admin.cmd(&["PUBLISH", "firehose", &big]);
        if admin
            .cmd_str(&["PUBSUB", "NUMSUB", "firehose"])
            .ends_with(":0\r\n")
        {
            break;
        }
    }
    assert!(
        wait_until(Duration::from_secs(5), || admin
            .cmd_str(&["PUBSUB", "NUMSUB", "firehose"])
            .ends_with(":0\r\n")),
        "the slow subscriber is still subscribed"
    );
    assert!(slow.closed_within(Duration::from_secs(10)));
    assert_eq!(admin.cmd_str(&["PING"]), "+PONG\r\n");
}
