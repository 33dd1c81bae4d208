//! maxmemory: eviction with every Redis policy, and the per-key access clock behind it.
//!
//! # Access clock
//! Each entry's 22-bit access clock holds, as in Redis, either an LRU clock (seconds, see
//! [`crate::engine::Engine::lru_clock`]) or, under an LFU policy, 14 bits of minutes since the
//! last decrement and an 8-bit logarithmic counter ([`Lfu`]). (Redis has 24 bits: 16 of
//! minutes. Flint's 48-byte entry shares one word between this clock and the expiry.) Reads and writes stamp it through
//! the [`crate::ctx::DbView`]; new keys start at the clock (LRU) or at counter 5 (LFU).
//!
//! # Eviction
//! Before every command, when `maxmemory` is set and the allocator says more is in use
//! ([`Engine::used_memory`]), [`Engine::free_memory`] evicts keys until memory is under the limit,
//! as Redis's `performEvictions`:
//! - random policies pick a random key of a random non-empty shard (of keys with a TTL for
//!   `volatile-random`);
//! - LRU, LFU and TTL policies sample `maxmemory-samples` keys per database into a pool of the
//!   16 best candidates kept across calls (highest idle time, lowest frequency, or soonest expiry)
//!   and evict the best one that still exists.
//!
//! A call works for at most the time `maxmemory-eviction-tenacity` allows (500 us at the default
//! 10); what is left is finished by the cron ([`Engine::evict_cron`]). A denyoom command is
//! refused with `-OOM ...` only when nothing could be evicted (noeviction, or no candidate key):
//! reads always work. Evicted keys are freed at once (so the next memory reading sees it), counted
//! in `evicted_keys` and propagated as DEL.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::config::{MemoryLimits, Policy};
use crate::engine::Engine;
use crate::keyspace::{shard_of, SHARDS};
use crate::small::SmallBytes;
use crate::stats::Stats;
use crate::value::Entry;

/// Candidates kept between eviction calls (Redis's EVPOOL_SIZE).
const POOL_SIZE: usize = 16;
/// A new key's LFU counter (Redis's LFU_INIT_VAL), so it is not evicted before it had a chance.
pub const LFU_INIT_VAL: u32 = 5;

/// Largest LFU minute clock (it wraps): the access field's bits above the 8-bit counter (Redis
/// has 16 bits of minutes; Flint's 22-bit field leaves 14, which wrap after 11 days).
pub const LFU_MINUTES_MAX: u32 = crate::value::CLOCK_MAX >> 8;

/// The LFU side of the access field: `(minutes & LFU_MINUTES_MAX) << 8 | counter`.
#[derive(Clone, Copy, Debug)]
pub struct Lfu {
    /// Now, in minutes (wrapping at [`LFU_MINUTES_MAX`]).
    pub now_min: u32,
    /// `lfu-log-factor`.
    pub log_factor: u32,
    /// `lfu-decay-time` in minutes (0: never decay).
    pub decay_time: u32,
}

impl Lfu {
    /// The wrapping minute clock at `now_ms`.
    #[inline]
    pub fn minutes(now_ms: u64) -> u32 {
        ((now_ms / 60_000) & LFU_MINUTES_MAX as u64) as u32
    }

    /// The LFU parameters at `now_ms`.
    pub fn new(now_ms: u64, limits: &MemoryLimits) -> Self {
        Lfu {
            now_min: Self::minutes(now_ms),
            log_factor: limits.lfu_log_factor,
            decay_time: limits.lfu_decay_time,
        }
    }

    /// The access field of a new key.
    #[inline]
    pub fn initial(&self) -> u32 {
        (self.now_min << 8) | LFU_INIT_VAL
    }

    /// The counter of `field` after decay (Redis's `LFUDecrAndReturn`).
    #[inline]
    pub fn decayed(&self, field: u32) -> u32 {
        let last = (field >> 8) & LFU_MINUTES_MAX;
        let counter = field & 0xFF;
        let elapsed = if self.now_min >= last {
            self.now_min - last
        } else {
            LFU_MINUTES_MAX - last + self.now_min
        };
        let periods = elapsed.checked_div(self.decay_time).unwrap_or(0);
        counter.saturating_sub(periods)
    }

    /// The field after one access: decay, then a logarithmic increment (Redis's `LFULogIncr`:
    /// the more accesses already counted, the less likely the next one counts).
    #[inline]
    pub fn touch(&self, field: u32) -> u32 {
        let mut counter = self.decayed(field);
        if counter < 255 {
            let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
            let p = 1.0 / (base * self.log_factor as f64 + 1.0);
            if fast_random_f64() < p {
                counter += 1;
            }
        }
        (self.now_min << 8) | counter
    }
}

/// A cheap per-thread random number in [0, 1) (xorshift; eviction sampling and LFU increments
/// need speed, not quality).
fn fast_random_f64() -> f64 {
    (fast_random() >> 11) as f64 / (1u64 << 53) as f64
}

fn fast_random() -> u64 {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new(rand::random::<u64>() | 1);
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        x
    })
}

/// One eviction candidate.
#[derive(Clone, Debug)]
struct Candidate {
    /// Higher is a better victim.
    score: u64,
    db: usize,
    key: SmallBytes,
}

/// Eviction state shared by every thread.
#[derive(Default)]
pub struct Evictor {
    inner: Mutex<EvictState>,
}

#[derive(Default)]
struct EvictState {
    /// Best candidates, ascending by score.
    pool: Vec<Candidate>,
    /// Next database for the random policies (Redis rotates them).
    next_db: usize,
}

/// What a call to [`Engine::free_memory`] achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freed {
    /// Memory is under the limit (or there is none).
    Ok,
    /// Still over, but keys are being evicted; the command may run.
    Running,
    /// Over the limit and nothing can be evicted: denyoom commands must be refused.
    Fail,
}

/// How long one eviction call may work (Redis's `evictionTimeLimitUs`).
fn time_limit(tenacity: u32) -> Option<Duration> {
    if tenacity <= 10 {
        Some(Duration::from_micros(50 * tenacity.max(1) as u64))
    } else if tenacity < 100 {
        Some(Duration::from_micros(
            (500.0 * 1.15f64.powi(tenacity as i32 - 10)) as u64,
        ))
    } else {
        None
    }
}

/// Seconds since a key with LRU clock `lru` was used, at clock `now` (Redis's
/// `estimateObjectIdleTime`: the clock wraps at [`crate::value::CLOCK_MAX`]).
#[inline]
pub fn idle_seconds(now: u32, lru: u32) -> u32 {
    if now >= lru {
        now - lru
    } else {
        now + (crate::value::CLOCK_MAX - lru)
    }
}

/// The eviction score of an entry under `policy` (higher: evict first).
fn score(e: &Entry, policy: Policy, lru_now: u32, lfu: &Lfu) -> u64 {
    match policy {
        Policy::AllKeysLru | Policy::VolatileLru => idle_seconds(lru_now, e.lru()) as u64,
        Policy::AllKeysLfu | Policy::VolatileLfu => 255 - lfu.decayed(e.lru()) as u64,
        Policy::VolatileTtl => u64::MAX - e.expire_at(),
        _ => 0,
    }
}

impl Engine {
    /// Bytes in use as maxmemory counts them: the allocator's count, less the keyspace's free
    /// entry slots (reusable by the next key as freed memory is; without this, evicting keys
    /// whose value lives in their entry would free nothing).
    #[inline]
    pub fn used_memory(&self) -> u64 {
        match self.used_memory_probe.get() {
            Some(p) => crate::keyspace::in_use(p()),
            None => crate::engine::rss_bytes(),
        }
    }

    /// Installs the cheap "bytes allocated" probe eviction reads before commands.
    pub fn set_used_memory_probe(&self, probe: fn() -> u64) {
        let _ = self.used_memory_probe.set(probe);
    }

    /// Whether memory is still over `maxmemory` after trying to evict (false when there is no
    /// limit): what refuses a write with OOM, as Redis's `performEvictions() == EVICT_FAIL`.
    #[inline]
    pub fn over_maxmemory(&self) -> bool {
        self.config.maxmemory() > 0 && self.free_memory() == Freed::Fail
    }

    /// Evicts keys until memory is under `maxmemory`, for at most the tenacity's time.
    pub fn free_memory(&self) -> Freed {
        let limits = self.config.memory();
        if limits.maxmemory == 0 || self.used_memory() <= limits.maxmemory {
            return Freed::Ok;
        }
        if limits.policy == Policy::NoEviction {
            return Freed::Fail;
        }
        let mut state = self.evictor.inner.lock();
        let start = Instant::now();
        let budget = time_limit(limits.tenacity);
        let mut evicted = 0u64;
        loop {
            if self.used_memory() <= limits.maxmemory {
                return Freed::Ok;
            }
            if !self.evict_one(&mut state, &limits) {
                return Freed::Fail;
            }
            evicted += 1;
            if evicted.is_multiple_of(16) && budget.is_some_and(|b| start.elapsed() >= b) {
                return Freed::Running;
            }
        }
    }

    /// Called from the cron: keeps evicting while over the limit (a call that ran out of time
    /// leaves the rest here, as Redis's eviction time proc does).
    pub fn evict_cron(&self) {
        if self.config.maxmemory() > 0 {
            // Outside any command: hold the gate like one, so no EXEC or script sees a key
            // vanish half-way.
            let hold = self.gate.enter_blocking();
            let _ = self.free_memory();
            self.gate.leave(hold);
        }
    }

    /// Evicts one key. False when there is no candidate at all.
    fn evict_one(&self, state: &mut EvictState, limits: &MemoryLimits) -> bool {
        let policy = limits.policy;
        let victim = match policy {
            Policy::AllKeysRandom | Policy::VolatileRandom => {
                self.random_victim(state, policy.is_volatile())
            }
            _ => self.pool_victim(state, limits),
        };
        let Some((db, key)) = victim else {
            return false;
        };
        let hash = self.keyspace.hasher.hash(key.as_slice());
        let Some(d) = self.keyspace.db(db) else {
            return true;
        };
        let mut shard = d.shard(shard_of(hash)).lock();
        let removed = shard.remove(hash, key.as_slice());
        if removed.is_some() && self.keyspace.watches.active() {
            // Under the shard lock, as every other change a WATCH must see.
            self.keyspace.watches.touch(db, key.as_slice(), hash, false);
        }
        drop(shard);
        if let Some(e) = removed {
            Stats::add(&self.stats.evicted_keys, 1);
            self.notify(crate::notify::EVICTED, "evicted", db, key.as_slice());
            if self.propagating() {
                self.propagate(db, &[b"DEL", key.as_slice()]);
            }
            // Freed here, not on the lazyfree thread: the next memory reading must see it.
            drop(e);
        }
        true
    }

    fn random_victim(&self, state: &mut EvictState, volatile: bool) -> Option<(usize, SmallBytes)> {
        let ndb = self.keyspace.len();
        for _ in 0..ndb {
            let db = state.next_db % ndb;
            state.next_db = state.next_db.wrapping_add(1);
            let Some(d) = self.keyspace.db(db) else {
                continue;
            };
            let start = fast_random() as usize;
            for i in 0..SHARDS {
                let shard = d.shard((start + i) % SHARDS).lock();
                let mut found = None;
                shard.sample(fast_random(), 1, volatile, |e| {
                    found = Some(SmallBytes::new(e.key()))
                });
                if let Some(k) = found {
                    return Some((db, k));
                }
            }
        }
        None
    }

    fn pool_victim(
        &self,
        state: &mut EvictState,
        limits: &MemoryLimits,
    ) -> Option<(usize, SmallBytes)> {
        let volatile = limits.policy.is_volatile();
        let now_ms = crate::engine::unix_ms();
        let lru_now = Engine::lru_clock(now_ms);
        let lfu = Lfu::new(now_ms, limits);
        loop {
            // Refill: `samples` keys from each database that has candidates.
            for (db, d) in self.keyspace.dbs().iter().enumerate() {
                let start = fast_random() as usize;
                let mut sampled = 0;
                for i in 0..SHARDS {
                    if sampled >= limits.samples {
                        break;
                    }
                    let shard = d.shard((start + i) % SHARDS).lock();
                    let want = limits.samples - sampled;
                    shard.sample(fast_random(), want, volatile, |e| {
                        sampled += 1;
                        let s = score(e, limits.policy, lru_now, &lfu);
                        pool_insert(&mut state.pool, s, db, e.key());
                    });
                }
            }
            // Best first; skip candidates that are gone (or lost their TTL).
            let mut any = false;
            while let Some(c) = state.pool.pop() {
                any = true;
                let hash = self.keyspace.hasher.hash(c.key.as_slice());
                let Some(d) = self.keyspace.db(c.db) else {
                    continue;
                };
                let shard = d.shard(shard_of(hash)).lock();
                let ok = shard
                    .get(hash, c.key.as_slice())
                    .is_some_and(|e| !volatile || e.has_expire());
                if ok {
                    return Some((c.db, c.key));
                }
            }
            if !any {
                return None;
            }
        }
    }
}

/// Inserts a candidate into the pool (ascending by score, at most [`POOL_SIZE`]), unless it is
/// worse than every candidate of a full pool or already there.
fn pool_insert(pool: &mut Vec<Candidate>, score: u64, db: usize, key: &[u8]) {
    if pool.iter().any(|c| c.db == db && c.key.as_slice() == key) {
        return;
    }
    if pool.len() >= POOL_SIZE {
        if pool.first().is_some_and(|c| c.score >= score) {
            return;
        }
        pool.remove(0);
    }
    let at = pool.partition_point(|c| c.score < score);
    pool.insert(
        at,
        Candidate {
            score,
            db,
            key: SmallBytes::new(key),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lfu_counter_grows_logarithmically_and_decays() {
        let lfu = Lfu {
            now_min: 100,
            log_factor: 10,
            decay_time: 1,
        };
        let mut f = lfu.initial();
        for _ in 0..1000 {
            f = lfu.touch(f);
        }
        let c = f & 0xFF;
        assert!(c > 10 && c < 40, "{c}");
        let later = Lfu {
            now_min: 105,
            ..lfu
        };
        assert_eq!(later.decayed(f), c - 5);
        let never = Lfu {
            decay_time: 0,
            ..later
        };
        assert_eq!(never.decayed(f), c);
    }

    #[test]
    fn pool_keeps_the_best_candidates() {
        let mut pool = Vec::new();
        for i in 0..40u64 {
            pool_insert(&mut pool, i * 7 % 41, 0, format!("k{i}").as_bytes());
        }
        assert_eq!(pool.len(), POOL_SIZE);
        assert!(pool.windows(2).all(|w| w[0].score <= w[1].score));
        assert_eq!(pool.last().map(|c| c.score), Some(40));
        pool_insert(&mut pool, 1000, 0, b"k0");
        assert_eq!(pool.iter().filter(|c| c.key.as_slice() == b"k0").count(), 1);
    }

    #[test]
    fn time_limits_follow_tenacity() {
        assert_eq!(time_limit(10), Some(Duration::from_micros(500)));
        assert_eq!(time_limit(1), Some(Duration::from_micros(50)));
        assert!(time_limit(50).is_some_and(|d| d > Duration::from_millis(100)));
        assert_eq!(time_limit(100), None);
    }
}
