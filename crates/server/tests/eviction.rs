//! maxmemory end to end: each policy evicts the keys Redis would (cold before hot, soon-to-expire
//! first, never a key without TTL under a volatile policy), denyoom commands get Redis's OOM error
//! under noeviction while reads keep working, and used_memory stays near the limit under a flood.
//!
//! Limits are set relative to the server's own used_memory at start (plus a few MiB), so the
//! tests do not depend on the allocator's baseline. Run with FLINT_TEST_AGAINST_REDIS=1 they check
//! the same expectations against redis-server.

mod common;

use std::time::Duration;

use common::{q, q_err, Server};

const VALUE: usize = 200;

fn used_memory(c: &mut redis::Connection) -> u64 {
    let info: String = q(c, &["INFO", "memory"]);
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory in INFO")
}

fn evicted(c: &mut redis::Connection) -> u64 {
    let info: String = q(c, &["INFO", "stats"]);
    info.lines()
        .find_map(|l| l.strip_prefix("evicted_keys:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("evicted_keys in INFO")
}

/// Sets maxmemory to the current usage plus `extra` bytes and the given policy.
fn limit(c: &mut redis::Connection, extra: u64, policy: &str) -> u64 {
    let max = used_memory(c) + extra;
    let _: () = q(c, &["CONFIG", "SET", "maxmemory-policy", policy]);
    let _: () = q(c, &["CONFIG", "SET", "maxmemory", &max.to_string()]);
    max
}

/// Writes keys `prefix0..prefix{n}` in pipelined batches; with `ttl` each gets `EX ttl`.
/// Returns how many writes failed with OOM.
fn fill(c: &mut redis::Connection, prefix: &str, n: usize, ttl: Option<u64>) -> usize {
    let value = "x".repeat(VALUE);
    let mut ooms = 0;
    for start in (0..n).step_by(200) {
        let mut p = redis::pipe();
        for i in start..(start + 200).min(n) {
            let mut cmd = redis::cmd("SET");
            cmd.arg(format!("{prefix}{i}")).arg(&value);
            if let Some(t) = ttl {
                cmd.arg("EX").arg(t);
            }
            p.add_command(cmd);
        }
        let replies: Vec<redis::RedisResult<redis::Value>> = match p.query::<Vec<redis::Value>>(c) {
            Ok(v) => v.into_iter().map(Ok).collect(),
            Err(_) => {
                // A pipeline with an error reply: run the batch one by one to count.
                (start..(start + 200).min(n))
                    .map(|i| {
                        let mut cmd = redis::cmd("SET");
                        cmd.arg(format!("{prefix}{i}")).arg(&value);
                        if let Some(t) = ttl {
                            cmd.arg("EX").arg(t);
                        }
                        cmd.query::<redis::Value>(c)
                    })
                    .collect()
            }
        };
        ooms += replies
            .iter()
            .filter(|r| matches!(r, Err(e) if e.code() == Some("OOM")))
            .count();
    }
    ooms
}

fn count_present(c: &mut redis::Connection, prefix: &str, n: usize) -> usize {
    let keys: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    let mut present = 0;
    for chunk in keys.chunks(500) {
        let mut cmd = redis::cmd("EXISTS");
        for k in chunk {
            cmd.arg(k);
        }
        present += cmd.query::<usize>(c).expect("EXISTS");
    }
    present
}

/// Reads keys `prefix0..prefix{n}` with MGET (an access, unlike EXISTS).
fn touch(c: &mut redis::Connection, prefix: &str, n: usize) {
    for start in (0..n).step_by(500) {
        let mut cmd = redis::cmd("MGET");
        for i in start..(start + 500).min(n) {
            cmd.arg(format!("{prefix}{i}"));
        }
        let _: redis::Value = cmd.query(c).expect("MGET");
    }
}

#[test]
fn noeviction_refuses_writes_and_keeps_reads() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "keep", "v"]);
    limit(&mut c, 2 << 20, "noeviction");
    let ooms = fill(&mut c, "k", 40_000, None);
    assert!(ooms > 0, "writes past the limit must fail");
    assert_eq!(
        q_err(&mut c, &["SET", "another", "v"]),
        "OOM command not allowed when used memory > 'maxmemory'."
    );
    // Reads and deletions still work; nothing was evicted.
    assert_eq!(q::<String>(&mut c, &["GET", "keep"]), "v");
    assert_eq!(evicted(&mut c), 0);
    assert_eq!(q::<i64>(&mut c, &["DEL", "k0", "k1"]), 2);
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", "0"]);
    let _: () = q(&mut c, &["SET", "another", "v"]);
}

#[test]
fn allkeys_random_holds_the_limit_under_a_flood() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let max = limit(&mut c, 4 << 20, "allkeys-random");
    assert_eq!(fill(&mut c, "k", 60_000, None), 0);
    let used = used_memory(&mut c);
    assert!(
        used <= max + max / 20,
        "used_memory {used} more than 5% over maxmemory {max}"
    );
    assert!(evicted(&mut c) > 10_000);
    let n: usize = q(&mut c, &["DBSIZE"]);
    assert!(n > 5_000 && n < 60_000, "{n}");
}

#[test]
fn allkeys_lru_evicts_cold_keys_first() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    fill(&mut c, "cold", 5_000, None);
    // The LRU clock has a resolution of one second, as in Redis.
    std::thread::sleep(Duration::from_millis(2_100));
    fill(&mut c, "hot", 5_000, None);
    limit(&mut c, 1 << 20, "allkeys-lru");
    for round in 0..10 {
        // Keep the hot keys hot (EXISTS does not count as an access; MGET does) while new keys
        // push the total over the limit.
        touch(&mut c, "hot", 5_000);
        fill(&mut c, &format!("new{round}_"), 1_000, None);
    }
    let cold = count_present(&mut c, "cold", 5_000);
    let hot = count_present(&mut c, "hot", 5_000);
    assert!(evicted(&mut c) >= 4_000);
    assert!(hot > 3_800, "hot keys kept: {hot}, cold keys kept: {cold}");
    assert!(cold < 1_500, "hot keys kept: {hot}, cold keys kept: {cold}");
}

#[test]
fn allkeys_lfu_keeps_frequently_used_keys() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"],
    );
    fill(&mut c, "rare", 5_000, None);
    fill(&mut c, "freq", 2_000, None);
    for _ in 0..20 {
        touch(&mut c, "freq", 2_000);
    }
    let freq: i64 = q(&mut c, &["OBJECT", "FREQ", "freq1"]);
    assert!(freq > 5, "OBJECT FREQ of a hot key: {freq}");
    limit(&mut c, 512 << 10, "allkeys-lfu");
    fill(&mut c, "new", 4_000, None);
    let rare = count_present(&mut c, "rare", 5_000);
    let frequent = count_present(&mut c, "freq", 2_000);
    assert!(
        frequent > 1_900,
        "frequent kept {frequent}, rare kept {rare}"
    );
    assert!(rare < 4_500, "frequent kept {frequent}, rare kept {rare}");
}

#[test]
fn volatile_ttl_evicts_soonest_expiring_and_spares_persistent_keys() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    fill(&mut c, "persist", 3_000, None);
    fill(&mut c, "soon", 3_000, Some(1_000));
    fill(&mut c, "late", 3_000, Some(100_000));
    limit(&mut c, 0, "volatile-ttl");
    fill(&mut c, "more", 1_500, None);
    let soon = count_present(&mut c, "soon", 3_000);
    let late = count_present(&mut c, "late", 3_000);
    assert_eq!(count_present(&mut c, "persist", 3_000), 3_000);
    assert!(soon < late, "soon kept {soon}, late kept {late}");
    // Once no key with a TTL is left, writes fail.
    let ooms = fill(&mut c, "flood", 20_000, None);
    assert!(ooms > 0);
    assert_eq!(count_present(&mut c, "persist", 3_000), 3_000);
    assert_eq!(count_present(&mut c, "late", 3_000), 0);
}

#[test]
fn volatile_lru_and_random_only_touch_keys_with_ttl() {
    for policy in ["volatile-lru", "volatile-random", "volatile-lfu"] {
        let s = Server::start(&[]);
        let mut c = s.conn();
        fill(&mut c, "persist", 2_000, None);
        fill(&mut c, "vol", 4_000, Some(100_000));
        limit(&mut c, 256 << 10, policy);
        fill(&mut c, "more", 2_000, None);
        assert_eq!(count_present(&mut c, "persist", 2_000), 2_000, "{policy}");
        assert!(count_present(&mut c, "vol", 4_000) < 4_000, "{policy}");
        assert!(evicted(&mut c) > 0, "{policy}");
    }
}

/// Loads `n` keys `SET key:<10 digits> value-<10 digits>` (with `EX 100000` if `ttl`) in
/// pipelined batches and returns the growth of used_memory per key.
fn bytes_per_key(server: &Server, n: usize, ttl: bool) -> f64 {
    let mut c = server.conn();
    let before = used_memory(&mut c);
    for start in (0..n).step_by(10_000) {
        let mut p = redis::pipe();
        for i in start..(start + 10_000).min(n) {
            let cmd = p
                .cmd("SET")
                .arg(format!("key:{i:010}"))
                .arg(format!("value-{i:010}"));
            if ttl {
                cmd.arg("EX").arg(100_000);
            }
            cmd.ignore();
        }
        let _: () = p.query(&mut c).expect("pipeline");
    }
    (used_memory(&mut c) - before) as f64 / n as f64
}

/// Issue 4's figure as a regression test: bytes of used_memory per short string key, a TTL on
/// each costing almost nothing more, and (where redis-server is installed) at most 60% of
/// Redis's figure for the same keys. scripts/bench.sh memory measures the same in RSS at 1M keys.
#[test]
fn short_string_keys_cost_at_most_60_percent_of_redis() {
    const N: usize = 300_000;
    let flint = Server::start(&[]);
    let plain = bytes_per_key(&flint, N, false);
    let _: () = q(&mut flint.conn(), &["FLUSHALL", "SYNC"]);
    let flint = Server::start(&[]);
    let with_ttl = bytes_per_key(&flint, N, true);
    eprintln!("flint: {plain:.1} bytes per key, {with_ttl:.1} with a TTL");
    // 48-byte entry, a 4-byte slot in a table of 44-87% load, slab and directory slack.
    assert!(plain < 66.0, "{plain:.1} bytes per key");
    assert!(
        with_ttl < plain + 2.0,
        "{with_ttl:.1} vs {plain:.1} bytes per key"
    );
    if let Some(redis) = common::Redis::start() {
        let theirs = bytes_per_key(&redis, N, false);
        eprintln!("redis: {theirs:.1} bytes per key");
        assert!(
            plain <= 0.6 * theirs,
            "flint {plain:.1} vs redis {theirs:.1} bytes per key"
        );
    } else {
        eprintln!("skipped the comparison with redis-server: not installed");
    }
}

fn info_field(c: &mut redis::Connection, name: &str) -> u64 {
    let info: String = q(c, &["INFO", "memory"]);
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in INFO"))
}

/// Deleting most keys gives the memory back to the allocator: the cron compacts each shard's
/// entry slab (moving the last chunk's entries down and freeing the chunk). Checked on the
/// allocator's own count (`allocator_allocated`, which includes free slab slots), not RSS,
/// which depends on when the allocator returns pages to the system.
#[test]
fn memory_comes_back_after_mass_deletion() {
    const N: usize = 300_000;
    let flint = Server::start(&[]);
    let mut c = flint.conn();
    let empty = info_field(&mut c, "allocator_allocated");
    bytes_per_key(&flint, N, false);
    let full = info_field(&mut c, "allocator_allocated");
    for start in (0..N).step_by(10_000) {
        let mut p = redis::pipe();
        for i in (start..start + 10_000).filter(|i| i % 10 != 0) {
            p.cmd("DEL").arg(format!("key:{i:010}")).ignore();
        }
        let _: () = p.query(&mut c).expect("pipeline");
    }
    // Entries are 48 of the ~60 bytes a key costs; the tables keep their buckets. With 90% of
    // the keys gone and the slab compacted, well under half of the growth remains.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut now = full;
    while std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        now = info_field(&mut c, "allocator_allocated");
        if (now - empty) * 2 < full - empty {
            break;
        }
    }
    assert!(
        (now - empty) * 2 < full - empty,
        "allocated: empty {empty}, full {full}, after deleting 90% {now}"
    );
    let kept: usize = q(&mut c, &["DBSIZE"]);
    assert_eq!(kept, N / 10);
    let v: String = q(&mut c, &["GET", "key:0000012340"]);
    assert_eq!(v, "value-0000012340");
}
