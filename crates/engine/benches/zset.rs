//! Sorted-set micro-benchmark: redis-benchmark's ZADD (`ZADD myzset <rand> element:<rand>`, a
//! random member out of `R` with a random score) on one big sorted set, without the network, so
//! that layouts of the set can be compared in isolation. Run pinned to one core:
//!
//! ```sh
//! taskset -c 0 cargo bench -p flint-engine --bench zset            # sizes 30k and 630k
//! SIZES="1000 30000" OPS=2000000 taskset -c 0 cargo bench -p flint-engine --bench zset
//! ```
//!
//! For each size it fills the set with that many members (random scores; timed: ZADDs that add
//! a member), then times `OPS` ZADDs of random members already there with random scores (ZADDs
//! that move a member), and prints nanoseconds per ZADD of each kind, the median of five runs
//! for moves.

use std::time::Instant;

use flint_engine::types::zset::BigZSet;

/// A small deterministic generator (xorshift64*), so runs compare the same work.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn member(buf: &mut Vec<u8>, n: u64) {
    use std::io::Write;
    buf.clear();
    let _ = write!(buf, "element:{n:012}");
}

fn env_list(name: &str, default: &str) -> Vec<u64> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_string())
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect()
}

fn main() {
    let sizes = env_list("SIZES", "30000 630000");
    let ops = env_list("OPS", "1000000")
        .first()
        .copied()
        .unwrap_or(1_000_000);
    let mut buf = Vec::new();
    for &size in &sizes {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ size);
        let mut z = BigZSet::new();
        let t = Instant::now();
        for n in 0..size {
            member(&mut buf, n);
            z.set(&buf, rng.below(1_000_000) as f64);
        }
        let add = t.elapsed().as_nanos() as f64 / size as f64;
        let mut runs = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            for _ in 0..ops {
                let m = rng.below(size);
                member(&mut buf, m);
                z.set(&buf, rng.below(1_000_000) as f64);
            }
            runs.push(t.elapsed().as_nanos() as f64 / ops as f64);
        }
        runs.sort_by(f64::total_cmp);
        println!(
            "size {size:>8}: add {add:.1} ns, move {:.1} ns per ZADD (runs {:.1}..{:.1}), {} bytes of heap",
            runs[2],
            runs[0],
            runs[4],
            z.heap_size()
        );
    }
}
