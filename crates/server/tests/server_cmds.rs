//! Server commands end to end: INFO, CONFIG (GET, SET, RESETSTAT, REWRITE), TIME, DBSIZE, SLOWLOG,
//! LATENCY, MONITOR, SHUTDOWN, DEBUG, COMMAND (COUNT, INFO, DOCS, LIST, GETKEYS), starting from a
//! config file, and graceful exit on SIGTERM.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{command, now_ms, q, q_err, show, temp_path, Redis, Reply, Server};
use redis::Value;

/// INFO output as `field -> value`, with the section headers it contained.
fn info(c: &mut redis::Connection, args: &[&str]) -> (Vec<String>, HashMap<String, String>) {
    let mut cmd = vec!["INFO"];
    cmd.extend_from_slice(args);
    let text: String = q(c, &cmd);
    let mut sections = Vec::new();
    let mut fields = HashMap::new();
    for line in text.split("\r\n") {
        if let Some(h) = line.strip_prefix("# ") {
            sections.push(h.to_string());
        } else if let Some((k, v)) = line.split_once(':') {
            fields.insert(k.to_string(), v.to_string());
        }
    }
    (sections, fields)
}

#[test]
fn info_sections_and_fields() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["SET", "a", "1", "EX", "100"]), "OK");
    assert_eq!(q::<String>(&mut c, &["SET", "b", "2"]), "OK");
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "1");
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "nope"]), None);
    let (sections, f) = info(&mut c, &[]);
    for sec in [
        "Server",
        "Clients",
        "Memory",
        "Stats",
        "Replication",
        "CPU",
        "Keyspace",
    ] {
        assert!(
            sections.iter().any(|x| x == sec),
            "section {sec} missing: {sections:?}"
        );
    }
    assert!(
        !sections.iter().any(|x| x == "Commandstats"),
        "commandstats is not a default section"
    );
    for field in [
        "redis_version",
        "process_id",
        "tcp_port",
        "uptime_in_seconds",
        "connected_clients",
        "used_memory",
        "used_memory_human",
        "maxmemory",
        "total_connections_received",
        "total_commands_processed",
        "instantaneous_ops_per_sec",
        "keyspace_hits",
        "keyspace_misses",
        "expired_keys",
        "evicted_keys",
        "used_cpu_sys",
        "used_cpu_user",
        "role",
        "connected_slaves",
    ] {
        assert!(f.contains_key(field), "INFO field {field} missing");
    }
    assert_eq!(f["tcp_port"], s.port.to_string());
    assert_eq!(f["process_id"], s.pid().to_string());
    assert_eq!(f["role"], "master");
    // The harness's readiness probe may take a moment to be unregistered.
    let one_client = common::wait_until(Duration::from_secs(3), || {
        info(&mut c, &["clients"]).1["connected_clients"] == "1"
    });
    assert!(one_client, "connected_clients: {}", f["connected_clients"]);
    assert_eq!(f["keyspace_hits"], "1");
    assert_eq!(f["keyspace_misses"], "1");
    assert!(
        f["db0"].starts_with("keys=2,expires=1,avg_ttl="),
        "{}",
        f["db0"]
    );

    let (sections, f) = info(&mut c, &["commandstats"]);
    assert_eq!(sections, vec!["Commandstats".to_string()]);
    assert!(
        f["cmdstat_set"].starts_with("calls=2,usec="),
        "{}",
        f["cmdstat_set"]
    );
    assert!(
        f["cmdstat_get"].contains(",rejected_calls=0,failed_calls=0"),
        "{}",
        f["cmdstat_get"]
    );
    let (sections, _) = info(&mut c, &["server", "clients"]);
    assert_eq!(sections, vec!["Server".to_string(), "Clients".to_string()]);
    let (sections, _) = info(&mut c, &["all"]);
    assert!(sections.iter().any(|x| x == "Commandstats"));
    let (sections, f) = info(&mut c, &["nosuchsection"]);
    assert!(sections.is_empty() && f.is_empty());
}

#[test]
fn config_get_set_resetstat() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "maxmemory"]),
        vec!["maxmemory", "0"]
    );
    let map: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "max*"]);
    for k in [
        "maxmemory",
        "maxclients",
        "maxmemory-policy",
        "maxmemory-samples",
    ] {
        assert!(
            map.contains_key(k),
            "{k} missing from CONFIG GET max*: {map:?}"
        );
    }
    let map: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "hz", "timeout"]);
    assert_eq!(map.len(), 2);
    assert_eq!(
        q::<String>(&mut c, &["CONFIG", "SET", "maxmemory", "10mb", "hz", "20"]),
        "OK"
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "maxmemory"]),
        vec!["maxmemory", "10485760"]
    );
    // An exact (non-glob) name is echoed as the client wrote it.
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "HZ"]),
        vec!["HZ", "20"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "nosuch"]),
        Vec::<String>::new()
    );
    assert_eq!(
        q_err(&mut c, &["CONFIG", "SET", "nope", "1"]),
        "ERR Unknown option or number of arguments for CONFIG SET - 'nope'"
    );
    assert_eq!(
        q_err(&mut c, &["CONFIG", "SET", "maxmemory", "abc"]),
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"
    );
    assert_eq!(
        q_err(&mut c, &["CONFIG", "SET", "hz", "5", "maxmemory", "abc"]),
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "hz"]),
        vec!["hz", "20"],
        "all or nothing"
    );
    assert_eq!(
        q_err(&mut c, &["CONFIG", "SET", "databases", "4"]),
        "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"
    );
    assert_eq!(
        q_err(&mut c, &["CONFIG", "SET", "hz"]),
        "ERR wrong number of arguments for 'config|set' command"
    );
    assert_eq!(
        q_err(&mut c, &["CONFIG", "BOGUS"]),
        "ERR unknown subcommand 'BOGUS'. Try CONFIG HELP."
    );
    for _ in 0..5 {
        assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    }
    assert_eq!(q::<String>(&mut c, &["CONFIG", "RESETSTAT"]), "OK");
    let (_, f) = info(&mut c, &["stats"]);
    let processed: u64 = f["total_commands_processed"].parse().unwrap();
    assert!(
        processed <= 2,
        "RESETSTAT left {processed} commands counted"
    );
}

#[test]
fn config_rewrite() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(
        q_err(&mut c, &["CONFIG", "REWRITE"]),
        "ERR The server is running without a config file"
    );
    let path = temp_path("rewrite.conf");
    std::fs::write(
        &path,
        "# my settings\nhz 15\nmaxmemory-policy allkeys-lru\n",
    )
    .unwrap();
    let s = Server::start(&[path.to_str().unwrap()]);
    let mut c = s.conn();
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "hz"]),
        vec!["hz", "15"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "maxmemory-policy"]),
        vec!["maxmemory-policy", "allkeys-lru"]
    );
    assert_eq!(
        q::<String>(&mut c, &["CONFIG", "SET", "hz", "25", "maxmemory", "5mb"]),
        "OK"
    );
    assert_eq!(q::<String>(&mut c, &["CONFIG", "REWRITE"]), "OK");
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(text.contains("# my settings"), "comments are kept:\n{text}");
    assert!(text.contains("hz 25"), "{text}");
    assert!(!text.contains("hz 15"), "{text}");
    assert!(text.contains("maxmemory "), "{text}");
    assert!(text.contains("maxmemory-policy allkeys-lru"), "{text}");
}

#[test]
fn bad_config_file_refuses_to_start() {
    if common::against_redis() {
        return;
    }
    let path = temp_path("bad.conf");
    std::fs::write(&path, "maxmemory lots\n").unwrap();
    let result = Server::try_start(&[path.to_str().unwrap()]);
    let _ = std::fs::remove_file(&path);
    let err = result.err().expect("started with a bad config file");
    assert!(err.contains("maxmemory"), "{err}");
}

#[test]
fn time_and_dbsize() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let (secs, micros): (u64, u64) = q(&mut c, &["TIME"]);
    let now = now_ms() / 1000;
    assert!(secs.abs_diff(now) <= 1, "{secs} vs {now}");
    assert!(micros < 1_000_000);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    assert_eq!(q::<String>(&mut c, &["MSET", "a", "1", "b", "2"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 2);
    assert_eq!(
        q_err(&mut c, &["TIME", "x"]),
        "ERR wrong number of arguments for 'time' command"
    );
}

#[test]
fn slowlog() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(
        q::<String>(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]),
        "OK"
    );
    assert_eq!(q::<String>(&mut c, &["SLOWLOG", "RESET"]), "OK");
    assert_eq!(q::<String>(&mut c, &["SET", "slow", "value"]), "OK");
    let entries: Vec<Value> = q(&mut c, &["SLOWLOG", "GET", "1"]);
    assert_eq!(entries.len(), 1);
    let Value::Array(e) = &entries[0] else {
        panic!("{entries:?}")
    };
    assert_eq!(e.len(), 6, "{e:?}");
    assert!(matches!(e[0], Value::Int(_)), "{e:?}");
    assert!(
        matches!(e[1], Value::Int(t) if (t as u64).abs_diff(now_ms() / 1000) < 5),
        "{e:?}"
    );
    assert!(matches!(e[2], Value::Int(_)), "{e:?}");
    let args: Vec<String> = redis::from_redis_value(&e[3]).unwrap();
    assert_eq!(args, vec!["SET", "slow", "value"]);
    assert!(q::<i64>(&mut c, &["SLOWLOG", "LEN"]) >= 2);
    assert_eq!(
        q::<String>(
            &mut c,
            &["CONFIG", "SET", "slowlog-log-slower-than", "1000000"]
        ),
        "OK"
    );
    assert_eq!(q::<String>(&mut c, &["SLOWLOG", "RESET"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["SLOWLOG", "LEN"]), 0);
    assert_eq!(
        q::<Vec<Value>>(&mut c, &["SLOWLOG", "GET"]),
        Vec::<Value>::new()
    );
    assert_eq!(
        q_err(&mut c, &["SLOWLOG", "GET", "x"]),
        "ERR count should be greater than or equal to -1"
    );
    assert_eq!(
        q_err(&mut c, &["SLOWLOG", "BOGUS"]),
        "ERR unknown subcommand 'BOGUS'. Try SLOWLOG HELP."
    );
}

#[test]
fn latency_monitor() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(
        q::<String>(
            &mut c,
            &["CONFIG", "SET", "latency-monitor-threshold", "10"]
        ),
        "OK"
    );
    assert_eq!(q::<String>(&mut c, &["DEBUG", "SLEEP", "0.05"]), "OK");
    let latest: Vec<Value> = q(&mut c, &["LATENCY", "LATEST"]);
    let text = format!("{latest:?}");
    assert!(text.contains("command"), "{text}");
    let history: Vec<(i64, i64)> = q(&mut c, &["LATENCY", "HISTORY", "command"]);
    assert_eq!(history.len(), 1);
    assert!(history[0].1 >= 50, "{history:?}");
    assert_eq!(q::<i64>(&mut c, &["LATENCY", "RESET"]), 1);
    assert_eq!(
        q::<Vec<Value>>(&mut c, &["LATENCY", "LATEST"]),
        Vec::<Value>::new()
    );
    assert_eq!(
        q_err(&mut c, &["LATENCY", "BOGUS"]),
        "ERR unknown subcommand 'BOGUS'. Try LATENCY HELP."
    );
}

/// One command of LATENCY HISTOGRAM's reply: `(command, calls, [(up to us, calls so far)])`.
type CommandHistogram = (String, i64, Vec<(i64, i64)>);

/// LATENCY HISTOGRAM's reply.
fn histogram(c: &mut redis::Connection, args: &[&str]) -> Vec<CommandHistogram> {
    let mut cmd = vec!["LATENCY", "HISTOGRAM"];
    cmd.extend_from_slice(args);
    let flat: Vec<Value> = q(c, &cmd);
    let text = |v: &Value| match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("{other:?}"),
    };
    let int = |v: &Value| match v {
        Value::Int(n) => *n,
        other => panic!("{other:?}"),
    };
    flat.chunks(2)
        .map(|pair| {
            let Value::Array(fields) = &pair[1] else {
                panic!("{pair:?}")
            };
            assert_eq!(text(&fields[0]), "calls");
            assert_eq!(text(&fields[2]), "histogram_usec");
            let Value::Array(cdf) = &fields[3] else {
                panic!("{fields:?}")
            };
            let cdf = cdf.chunks(2).map(|b| (int(&b[0]), int(&b[1]))).collect();
            (text(&pair[0]), int(&fields[1]), cdf)
        })
        .collect()
}

/// INFO latencystats, CONFIG SET of its percentiles and LATENCY HISTOGRAM, on Flint and (where
/// installed) on redis-server: the same commands listed, the same calls, the same shapes and
/// the same errors; the timings themselves differ.
#[test]
fn latency_histograms_like_redis() {
    let flint = Server::start(&[]);
    let redis = Redis::start();
    let mut results = Vec::new();
    for s in std::iter::once(&flint).chain(redis.as_ref()) {
        let mut c = s.conn();
        for i in 0..3 {
            let _: () = q(&mut c, &["SET", &format!("k{i}"), "v"]);
        }
        let _: Option<String> = q(&mut c, &["GET", "k0"]);
        let _: Vec<String> = q(&mut c, &["CONFIG", "GET", "maxmemory"]);
        let h = histogram(&mut c, &["set", "GET", "nosuch", "config", "set"]);
        let names: Vec<&str> = h.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(names, ["set", "get", "config|get", "set"]);
        let calls: Vec<i64> = h.iter().map(|x| x.1).collect();
        assert_eq!(calls, [3, 1, 1, 3]);
        for (name, calls, cdf) in &h {
            assert!(!cdf.is_empty(), "{name}");
            assert!(
                cdf.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1),
                "{cdf:?}"
            );
            assert_eq!(cdf.last().unwrap().1, *calls, "{name}");
            if s.port == flint.port {
                assert!(
                    cdf.iter().all(|b| b.0 > 0 && (b.0 & (b.0 - 1)) == 0),
                    "{cdf:?}"
                );
            }
        }
        // INFO latencystats: a line per command with the configured percentiles.
        let (_, fields) = info(&mut c, &["latencystats"]);
        let set = &fields["latency_percentiles_usec_set"];
        let parts: Vec<&str> = set.split(',').collect();
        assert_eq!(parts.len(), 3, "{set}");
        for (part, label) in parts.iter().zip(["p50=", "p99=", "p99.9="]) {
            let v = part.strip_prefix(label).unwrap_or_else(|| panic!("{set}"));
            assert!(
                v.parse::<f64>().is_ok() && v.split('.').nth(1).map(str::len) == Some(3),
                "{set}"
            );
        }
        // The percentiles setting: values as Redis reads and prints them, errors as its.
        let mut seen = Vec::new();
        for v in [
            "50.0 99",
            "1e1",
            " 50  99 ",
            "-1",
            "50,99",
            "nan",
            "inf",
            "0x10",
            "50.123456789",
            "100 0",
            "",
        ] {
            let r = match command(&["CONFIG", "SET", "latency-tracking-info-percentiles", v])
                .query::<Value>(&mut c)
            {
                Ok(_) => q::<Vec<String>>(
                    &mut c,
                    &["CONFIG", "GET", "latency-tracking-info-percentiles"],
                )[1]
                .clone(),
                Err(e) => common::error_text(&e),
            };
            seen.push(r);
        }
        let (_, fields) = info(&mut c, &["latencystats"]);
        assert_eq!(fields["latency_percentiles_usec_set"], "");
        // Off: nothing more is recorded; RESETSTAT forgets everything.
        let _: () = q(&mut c, &["CONFIG", "SET", "latency-tracking", "no"]);
        let _: () = q(&mut c, &["CONFIG", "RESETSTAT"]);
        let _: Option<String> = q(&mut c, &["GET", "k0"]);
        assert!(histogram(&mut c, &[]).is_empty());
        results.push(seen);
    }
    if let [f, r] = &results[..] {
        assert_eq!(f, r);
    }
}

#[test]
fn monitor_streams_commands() {
    let s = Server::start(&[]);
    let mut m = s.raw();
    assert_eq!(m.cmd(&["MONITOR"]), b"+OK\r\n");
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["SET", "foo", "bar baz"]), "OK");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let line = m.read_reply();
        let text = show(&line);
        assert!(line.first() == Some(&b'+'), "{text}");
        if text.contains("\"SET\" \"foo\" \"bar baz\"") {
            assert!(text.contains(" [0 127.0.0.1:"), "{text}");
            break;
        }
        assert!(Instant::now() < deadline, "SET never showed up in MONITOR");
    }
}

#[test]
fn debug_subcommands() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let t = Instant::now();
    assert_eq!(q::<String>(&mut c, &["DEBUG", "SLEEP", "0.1"]), "OK");
    assert!(t.elapsed() >= Duration::from_millis(100));
    assert_eq!(q::<String>(&mut c, &["DEBUG", "SLEEP", "0"]), "OK");
    assert_eq!(q::<String>(&mut c, &["SET", "n", "42"]), "OK");
    let obj: String = q(&mut c, &["DEBUG", "OBJECT", "n"]);
    assert!(obj.starts_with("Value at:"), "{obj}");
    assert!(obj.contains(" encoding:int "), "{obj}");
    assert_eq!(
        q_err(&mut c, &["DEBUG", "OBJECT", "nope"]),
        "ERR no such key"
    );
    assert_eq!(
        q::<String>(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]),
        "OK"
    );
    assert_eq!(
        q::<String>(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]),
        "OK"
    );
}

/// A DEBUG that `enable-debug-command` refuses is rejected before it runs, as Redis rejects its
/// protected commands: after the arity check, before authentication, counted as a rejected
/// call, and inside MULTI it aborts the transaction.
#[test]
fn refused_debug_is_a_rejected_call_like_redis() {
    let flint = Server::start(&["--requirepass", "pw", "--enable-debug-command", "no"]);
    let redis = Redis::start_with(&[
        "--requirepass".into(),
        "pw".into(),
        "--enable-debug-command".into(),
        "no".into(),
    ]);
    let mut transcripts = Vec::new();
    for s in std::iter::once(&flint).chain(redis.as_ref()) {
        let mut r = s.raw();
        let mut t: Vec<String> = [
            &["DEBUG", "SLEEP", "0"][..],
            &["DEBUG"],
            &["AUTH", "pw"],
            &["DEBUG", "SLEEP", "0"],
            &["MULTI"],
            &["DEBUG", "SLEEP", "0"],
            &["EXEC"],
        ]
        .iter()
        .map(|args| r.cmd_str(args))
        .collect();
        let stats = r.cmd_str(&["INFO", "commandstats"]);
        let line = stats
            .lines()
            .find(|l| l.starts_with("cmdstat_debug:"))
            .unwrap_or_else(|| panic!("{stats}"));
        // The counts, without the timings.
        let counts: Vec<&str> = line
            .split([':', ','])
            .filter(|f| f.starts_with("calls=") || f.contains("_calls="))
            .collect();
        t.push(counts.join(","));
        transcripts.push(t);
    }
    assert!(
        transcripts[0][0].starts_with("-ERR DEBUG command not allowed."),
        "{:?}",
        transcripts[0]
    );
    assert_eq!(transcripts[0][7], "calls=0,rejected_calls=4,failed_calls=0");
    if let [f, r] = &transcripts[..] {
        assert_eq!(f, r);
    }
}

#[test]
fn command_introspection() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let count: i64 = q(&mut c, &["COMMAND", "COUNT"]);
    assert!(count >= 60, "{count}");
    let all: Vec<Value> = q(&mut c, &["COMMAND"]);
    assert_eq!(all.len() as i64, count);
    let info: Vec<Value> = q(&mut c, &["COMMAND", "INFO", "get", "nosuch"]);
    assert_eq!(info.len(), 2);
    assert_eq!(info[1], Value::Nil);
    let Value::Array(get) = &info[0] else {
        panic!("{info:?}")
    };
    assert_eq!(get[0], Value::BulkString(b"get".to_vec()));
    assert_eq!(get[1], Value::Int(2));
    assert_eq!(&get[3..6], &[Value::Int(1), Value::Int(1), Value::Int(1)]);
    let names: Vec<String> = q(&mut c, &["COMMAND", "LIST"]);
    // COMMAND LIST names subcommands too (`config|get`...).
    assert!(names.len() as i64 >= count, "{} < {count}", names.len());
    for n in [
        "get",
        "set",
        "incrbyfloat",
        "scan",
        "client",
        "config",
        "expiretime",
    ] {
        assert!(
            names.iter().any(|x| x == n),
            "{n} missing from COMMAND LIST"
        );
    }
    let mut names: Vec<String> = q(&mut c, &["COMMAND", "LIST", "FILTERBY", "PATTERN", "getr*"]);
    names.sort();
    assert_eq!(names, vec!["getrange"]);
    // COMMAND DOCS (all of it is compared with Redis in `command_docs_match_redis`).
    let docs: Value = q(&mut c, &["COMMAND", "DOCS", "get"]);
    let text = format!("{docs:?}");
    for f in [
        "summary",
        "Get the value of a key",
        "since",
        "1.0.0",
        "group",
        "string",
        "complexity",
        "O(1)",
    ] {
        assert!(text.contains(f), "{f} missing in COMMAND DOCS get: {text}");
    }
    let docs: Value = q(&mut c, &["COMMAND", "DOCS", "getset"]);
    let text = format!("{docs:?}");
    for f in [
        "doc_flags",
        "deprecated",
        "deprecated_since",
        "6.2.0",
        "replaced_by",
    ] {
        assert!(
            text.contains(f),
            "{f} missing in COMMAND DOCS getset: {text}"
        );
    }
    assert_eq!(
        q::<Vec<String>>(&mut c, &["COMMAND", "GETKEYS", "GET", "a"]),
        vec!["a"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"]),
        vec!["a", "b"]
    );
    assert_eq!(
        q_err(&mut c, &["COMMAND", "GETKEYS", "PING", "x"]),
        "ERR The command has no key arguments"
    );
    assert_eq!(
        q_err(&mut c, &["COMMAND", "GETKEYS", "SET", "a"]),
        "ERR Invalid number of arguments specified for command"
    );
    assert_eq!(
        q_err(&mut c, &["COMMAND", "GETKEYS", "NOSUCH", "a"]),
        "ERR Invalid command specified"
    );
}

/// Puts the `subcommands` of every COMMAND DOCS entry in name order (Redis lists them in the
/// order of its randomly seeded hash table), keeping only those named in `keep` (the
/// subcommands both servers have).
fn sort_subcommands(r: &mut Reply, keep: &[String]) {
    if let Reply::Agg(_, children) = r {
        let mut i = 0;
        while i < children.len() {
            let is_subs = children[i] == Reply::Scalar(b"$11\r\nsubcommands\r\n".to_vec());
            if is_subs && i + 1 < children.len() {
                if let Reply::Agg(header, subs) = &mut children[i + 1] {
                    let mut pairs: Vec<Vec<Reply>> = subs
                        .chunks(2)
                        .filter(|p| {
                            keep.iter().any(|d| {
                                p[0] == Reply::Scalar(format!("${}\r\n{d}\r\n", d.len()).into())
                            })
                        })
                        .map(|p| p.to_vec())
                        .collect();
                    pairs.sort();
                    // The header counts elements (RESP2 array) or pairs (RESP3 map).
                    let n = if header[0] == b'%' {
                        pairs.len()
                    } else {
                        2 * pairs.len()
                    };
                    *header = format!("{}{n}\r\n", header[0] as char).into_bytes();
                    *subs = pairs.into_iter().flatten().collect();
                }
            }
            sort_subcommands(&mut children[i], keep);
            i += 1;
        }
    }
}

/// COMMAND DOCS of every command and subcommand Flint has is byte for byte Redis 7.0's
/// (`arguments` included), in RESP2 and RESP3.
#[test]
fn command_docs_match_redis() {
    if common::skip_without_redis() || common::against_redis() {
        return;
    }
    let flint = Server::start(&[]);
    let redis = Redis::start().expect("redis-server");
    let mut c = flint.conn();
    let names: Vec<String> = q(&mut c, &["COMMAND", "LIST"]);
    let redis_names: Vec<String> = q(&mut redis.conn(), &["COMMAND", "LIST"]);
    // Commands Redis 7.0 lacks (CLIENT SETINFO and NO-TOUCH came in 7.2) cannot be compared;
    // containers are compared on the subcommands both servers have.
    let (names, newer): (Vec<String>, Vec<String>) =
        names.into_iter().partition(|n| redis_names.contains(n));
    println!("not in Redis 7.0, not compared: {newer:?}");
    let mut mismatches = Vec::new();
    for proto in ["2", "3"] {
        let mut f = flint.raw();
        let mut r = redis.raw();
        f.cmd(&["HELLO", proto]);
        r.cmd(&["HELLO", proto]);
        for name in &names {
            let mut ours = Reply::parse(&f.cmd(&["COMMAND", "DOCS", name]));
            let mut theirs = Reply::parse(&r.cmd(&["COMMAND", "DOCS", name]));
            sort_subcommands(&mut ours, &names);
            sort_subcommands(&mut theirs, &names);
            if ours != theirs {
                mismatches.push(format!(
                    "RESP{proto} {name}:\n  flint: {}\n  redis: {}",
                    show(&ours.encode()),
                    show(&theirs.encode())
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches of {} commands:\n{}",
        mismatches.len(),
        names.len(),
        mismatches.join("\n")
    );
}

#[test]
fn shutdown_command_exits_cleanly() {
    let mut s = Server::start(&[]);
    let mut r = s.raw();
    r.send(b"SHUTDOWN NOSAVE\r\n");
    let (got, closed) = r.read_until_close(Duration::from_secs(5));
    assert!(closed, "connection still open; got {}", show(&got));
    assert_eq!(
        s.wait_exit(Duration::from_secs(5)),
        Some(0),
        "log:\n{}",
        s.log()
    );
}

#[test]
fn sigterm_exits_cleanly() {
    let mut s = Server::start(&[]);
    let _idle = s.raw();
    s.signal("TERM");
    assert_eq!(
        s.wait_exit(Duration::from_secs(5)),
        Some(0),
        "log:\n{}",
        s.log()
    );
}

/// `disable-thp yes` (the default, as Redis) turns transparent huge pages off for the process;
/// `--disable-thp no` leaves them to the system. Read from /proc (kernels that report it).
#[test]
fn disable_thp_is_applied_at_start() {
    let thp = |s: &Server| {
        std::fs::read_to_string(format!("/proc/{}/status", s.pid()))
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("THP_enabled:").map(|v| v.trim().to_string()))
    };
    let default = Server::start(&[]);
    let Some(on_default) = thp(&default) else {
        eprintln!("skipped: this kernel does not report THP_enabled");
        return;
    };
    assert_eq!(on_default, "0");
    let c: Vec<String> = q(&mut default.conn(), &["CONFIG", "GET", "disable-thp"]);
    assert_eq!(c, ["disable-thp", "yes"]);
    let allowed = Server::start(&["--disable-thp", "no"]);
    assert_eq!(thp(&allowed).as_deref(), Some("1"));
}

/// CONFIG SET port and bind move the listening sockets at once, as in Redis: the old port stops
/// accepting, connections already open stay, and a port or address that cannot be bound is
/// refused with Redis's error while the server keeps listening where it was.
#[test]
fn config_set_port_and_bind_move_the_listener() {
    let s = Server::start(&[]);
    let mut a = common::Raw::connect(s.port);
    let new_port = common::free_port();
    assert_eq!(
        a.cmd_str(&["CONFIG", "SET", "port", &new_port.to_string()]),
        "+OK\r\n"
    );
    let refused = |port: u16| {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    assert!(refused(s.port), "the old port still accepts");
    let mut b = common::Raw::connect(new_port);
    assert_eq!(b.cmd_str(&["PING"]), "+PONG\r\n");
    assert_eq!(
        a.cmd_str(&["PING"]),
        "+PONG\r\n",
        "an open connection was dropped"
    );
    assert!(b
        .cmd_str(&["INFO", "server"])
        .contains(&format!("tcp_port:{new_port}\r\n")));

    // A port in use: refused, and the server still listens on the current one.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    assert_eq!(
        b.cmd_str(&["CONFIG", "SET", "port", &taken_port.to_string()]),
        "-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.\r\n"
    );
    assert_eq!(
        common::Raw::connect(new_port).cmd_str(&["PING"]),
        "+PONG\r\n"
    );
    assert_eq!(
        b.cmd_str(&["CONFIG", "GET", "port"]),
        format!(
            "*2\r\n$4\r\nport\r\n${}\r\n{new_port}\r\n",
            new_port.to_string().len()
        )
    );

    // A new bind at the same port, then one that cannot be bound.
    assert_eq!(
        b.cmd_str(&["CONFIG", "SET", "bind", "127.0.0.1"]),
        "+OK\r\n"
    );
    assert_eq!(
        common::Raw::connect(new_port).cmd_str(&["PING"]),
        "+PONG\r\n"
    );
    assert_eq!(
        b.cmd_str(&["CONFIG", "SET", "bind", "192.0.2.1"]),
        "-ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.\r\n"
    );
    assert_eq!(
        common::Raw::connect(new_port).cmd_str(&["PING"]),
        "+PONG\r\n"
    );
    assert_eq!(
        b.cmd_str(&["CONFIG", "GET", "bind"]),
        "*2\r\n$4\r\nbind\r\n$9\r\n127.0.0.1\r\n"
    );
    drop(taken);
}
