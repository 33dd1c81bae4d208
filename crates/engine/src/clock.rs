//! A cheap monotonic clock for timing commands.
//!
//! Every command is timed (INFO commandstats, the slow log, the latency monitor). On virtual
//! machines `clock_gettime` costs tens of nanoseconds; measured with `perf` on this project's
//! machines, two calls per command were 9% of the server's CPU at pipeline 16. Like Redis's
//! `getMonotonicUs`, this reads the CPU's time-stamp counter when it is invariant (constant and
//! non-stop, so it ticks at one rate on every core), calibrated once against `Instant` at start;
//! elsewhere it falls back to `Instant`.
//!
//! The only unsafe code is the `rdtsc` intrinsic, which has no preconditions on x86-64.

use std::time::{Duration, Instant};

/// A monotonic tick source.
#[derive(Debug, Clone)]
pub struct Clock {
    base: Instant,
    /// Ticks per microsecond when the TSC is used; `None` when ticks are `Instant` nanoseconds.
    tsc_per_us: Option<f64>,
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn rdtsc() -> u64 {
    // SAFETY: `_rdtsc` only reads the time-stamp counter; it has no preconditions on x86-64.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(target_arch = "x86_64")]
fn invariant_tsc() -> bool {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|s| {
            s.lines()
                .find(|l| l.starts_with("flags"))
                .is_some_and(|l| l.contains(" constant_tsc") && l.contains(" nonstop_tsc"))
        })
        .unwrap_or(false)
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    /// The process's clock, calibrated on first use (about 10 ms when the TSC is usable).
    pub fn new() -> Self {
        static CALIBRATED: std::sync::OnceLock<Clock> = std::sync::OnceLock::new();
        CALIBRATED.get_or_init(Self::calibrate).clone()
    }

    fn calibrate() -> Self {
        let base = Instant::now();
        #[cfg(target_arch = "x86_64")]
        {
            if invariant_tsc() {
                let (t0, c0) = (Instant::now(), rdtsc());
                std::thread::sleep(Duration::from_millis(10));
                let (t1, c1) = (Instant::now(), rdtsc());
                let us = t1.duration_since(t0).as_secs_f64() * 1e6;
                let ticks = c1.wrapping_sub(c0) as f64;
                if us > 0.0 && ticks > us {
                    return Clock {
                        base,
                        tsc_per_us: Some(ticks / us),
                    };
                }
            }
        }
        Clock {
            base,
            tsc_per_us: None,
        }
    }

    /// The current tick.
    #[inline]
    pub fn now(&self) -> u64 {
        #[cfg(target_arch = "x86_64")]
        {
            if self.tsc_per_us.is_some() {
                return rdtsc();
            }
        }
        self.base.elapsed().as_nanos() as u64
    }

    /// Microseconds from tick `start` to tick `end`.
    #[inline]
    pub fn micros(&self, start: u64, end: u64) -> u64 {
        let ticks = end.saturating_sub(start);
        match self.tsc_per_us {
            Some(per_us) => (ticks as f64 / per_us) as u64,
            None => ticks / 1000,
        }
    }

    /// Whether the TSC is used.
    pub fn is_tsc(&self) -> bool {
        self.tsc_per_us.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_sleep() {
        let c = Clock::new();
        let a = c.now();
        std::thread::sleep(Duration::from_millis(20));
        let us = c.micros(a, c.now());
        assert!(
            (15_000..200_000).contains(&us),
            "{us} us (tsc: {})",
            c.is_tsc()
        );
    }
}
