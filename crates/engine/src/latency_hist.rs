//! Per-command latency histograms, as Redis 7.0's latency tracking (`latency-tracking yes`):
//! INFO latencystats gives percentiles (`latency-tracking-info-percentiles`), and LATENCY
//! HISTOGRAM the cumulative distribution at powers of two.
//!
//! Each thread records into its own histogram per command (one writer: a relaxed load and
//! store per call, no shared cache line), registered with the engine's [`LatencyHists`] so that
//! readers sum them. A histogram has a bucket per microsecond up to 32 us and, above, 16
//! buckets per power of two (about 6% apart), up to 2^42 us: 625 counters, allocated on a
//! command's first call on a thread.
//!
//! Redis keeps an HDR histogram with two significant digits; its percentiles and its
//! LATENCY HISTOGRAM bucket labels (1, 2, 4, 8, 16, 33, 66 ...) come from that layout. Flint's
//! percentiles are the upper end of the bucket the percentile falls in, and its labels are exact
//! powers of two (1, 2, 4, 8, 16, 32, 64 ...): the replies have Redis's shape, the numbers are
//! this server's timings either way.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

/// Latencies up to this many microseconds have a bucket each.
const EXACT: u64 = 32;
/// Buckets per power of two above [`EXACT`]: bucket `(lo, hi]` ranges end on powers of two,
/// so that LATENCY HISTOGRAM's counts at `2^k` are exact.
const SUB_BITS: u32 = 4;
/// Number of buckets: the exact ones, then 16 for each power of two up to 2^42 us.
pub const BUCKETS: usize = EXACT as usize + 1 + (41 - 5 + 1) * (1 << SUB_BITS);

/// The bucket of a latency of `us` microseconds.
#[inline]
pub fn bucket(us: u64) -> usize {
    if us <= EXACT {
        return us as usize;
    }
    let b = us - 1; // >= 32: buckets are (lo, hi]
    let e = 63 - b.leading_zeros(); // 5..
    let sub = (b >> (e - SUB_BITS)) & ((1 << SUB_BITS) - 1);
    let i = EXACT as usize + 1 + ((e - 5) << SUB_BITS) as usize + sub as usize;
    i.min(BUCKETS - 1)
}

/// The largest latency, in microseconds, that falls in bucket `i`.
pub fn bucket_top(i: usize) -> u64 {
    if i <= EXACT as usize {
        return i as u64;
    }
    let j = i - EXACT as usize - 1;
    let e = (j >> SUB_BITS) as u32 + 5;
    let sub = (j & ((1 << SUB_BITS) - 1)) as u64;
    ((1 << SUB_BITS) + sub + 1) << (e - SUB_BITS)
}

/// One thread's histogram of one command.
struct Hist {
    counts: Box<[AtomicU64]>,
}

impl Hist {
    fn new() -> Self {
        Hist {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// The histograms of one engine's commands (see the module docs).
pub struct LatencyHists {
    /// Unique per engine, so that a thread serving several engines (tests) keeps them apart.
    id: u64,
    /// Every thread's histograms, by command id.
    all: Mutex<Vec<(u32, Arc<Hist>)>>,
}

impl Default for LatencyHists {
    fn default() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        LatencyHists {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            all: Mutex::new(Vec::new()),
        }
    }
}

impl std::fmt::Debug for LatencyHists {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LatencyHists({} histograms)", self.all.lock().len())
    }
}

/// Engines a thread keeps histograms for (beyond, the oldest is forgotten: its counts stay in
/// its engine, and a later call starts a new histogram that readers add in).
const THREAD_ENGINES: usize = 4;

/// A thread's histograms of one engine, by command id.
type EngineHists = (u64, Vec<Option<Arc<Hist>>>);

thread_local! {
    /// This thread's histograms, per engine.
    static MINE: RefCell<Vec<EngineHists>> = const { RefCell::new(Vec::new()) };
}

impl LatencyHists {
    /// Records a call of command `cmd` (its id) that took `us` microseconds.
    #[inline]
    pub fn record(&self, cmd: u32, us: u64) {
        let _ = MINE.try_with(|mine| {
            let Ok(mut mine) = mine.try_borrow_mut() else {
                return;
            };
            let at = match mine.iter().position(|(id, _)| *id == self.id) {
                Some(at) => at,
                None => {
                    if mine.len() >= THREAD_ENGINES {
                        mine.remove(0);
                    }
                    mine.push((self.id, Vec::new()));
                    mine.len() - 1
                }
            };
            let Some((_, hists)) = mine.get_mut(at) else {
                return;
            };
            let i = cmd as usize;
            if hists.len() <= i {
                hists.resize(i + 1, None);
            }
            let Some(slot) = hists.get_mut(i) else {
                return;
            };
            let h = slot.get_or_insert_with(|| {
                let h = Arc::new(Hist::new());
                self.all.lock().push((cmd, Arc::clone(&h)));
                h
            });
            if let Some(c) = h.counts.get(bucket(us)) {
                // One writer per histogram: a load and a store, not a locked add.
                c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            }
        });
    }

    /// Every command with recorded calls, by id: its counts per bucket, summed over threads.
    pub fn snapshot(&self) -> BTreeMap<u32, Vec<u64>> {
        let mut out: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
        for (cmd, h) in self.all.lock().iter() {
            let sum = out.entry(*cmd).or_insert_with(|| vec![0; BUCKETS]);
            for (s, c) in sum.iter_mut().zip(h.counts.iter()) {
                *s += c.load(Ordering::Relaxed);
            }
        }
        out.retain(|_, counts| counts.iter().any(|&c| c > 0));
        out
    }

    /// CONFIG RESETSTAT: every count back to zero (a call finishing at that moment on another
    /// thread may survive, as with the other statistics).
    pub fn reset(&self) {
        for (_, h) in self.all.lock().iter() {
            for c in h.counts.iter() {
                c.store(0, Ordering::Relaxed);
            }
        }
    }
}

/// The latency (upper end of its bucket, in microseconds) at percentile `p` (0 to 100) of
/// `counts`: Redis's `hdr_value_at_percentile` on this layout. 0 when empty.
pub fn percentile(counts: &[u64], p: f64) -> u64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0;
    }
    let want = ((p / 100.0 * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (i, &c) in counts.iter().enumerate() {
        seen += c;
        if seen >= want {
            return bucket_top(i);
        }
    }
    bucket_top(BUCKETS - 1)
}

/// The cumulative distribution at powers of two (LATENCY HISTOGRAM's `histogram_usec`): for
/// each power of two `2^k` us from 1 on, the number of calls that took at most that long,
/// listed only where it grew, until every call is counted.
pub fn cumulative(counts: &[u64]) -> Vec<(u64, u64)> {
    let total: u64 = counts.iter().sum();
    let mut out = Vec::new();
    let (mut seen, mut last, mut i) = (0u64, 0u64, 0usize);
    let mut top = 1u64;
    while last < total {
        while i < counts.len() && bucket_top(i) <= top {
            seen += counts[i];
            i += 1;
        }
        if seen > last {
            out.push((top, seen));
            last = seen;
        }
        if i >= counts.len() {
            break;
        }
        top = top.saturating_mul(2);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_in_order() {
        let mut prev_top = None;
        for i in 0..BUCKETS {
            let top = bucket_top(i);
            if let Some(p) = prev_top {
                assert!(top > p, "bucket {i}");
                assert_eq!(bucket(p + 1), i, "first value of bucket {i}");
            }
            assert_eq!(bucket(top), i, "last value of bucket {i}");
            prev_top = Some(top);
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
        // Ranges end on powers of two.
        for k in 5..40 {
            assert_eq!(bucket_top(bucket(1u64 << k)), 1 << k);
            assert_eq!(bucket((1u64 << k) + 1), bucket(1u64 << k) + 1);
        }
        // Within about 6% above 32 us.
        for us in [33u64, 100, 1000, 12345, 1 << 30] {
            let top = bucket_top(bucket(us));
            assert!(
                top >= us && (top - us) as f64 <= us as f64 / 16.0,
                "{us} -> {top}"
            );
        }
    }

    #[test]
    fn percentiles_and_cumulative_counts() {
        let h = LatencyHists::default();
        for us in [0, 1, 1, 2, 3, 5, 9, 100, 1000, 1000] {
            h.record(7, us);
        }
        h.record(3, 40);
        let snap = h.snapshot();
        assert_eq!(snap.len(), 2);
        let counts = &snap[&7];
        assert_eq!(percentile(counts, 0.0), 0);
        assert_eq!(percentile(counts, 50.0), 3);
        assert_eq!(percentile(counts, 100.0), bucket_top(bucket(1000)));
        assert_eq!(
            cumulative(counts),
            [
                (1, 3),
                (2, 4),
                (4, 5),
                (8, 6),
                (16, 7),
                (128, 8),
                (1024, 10)
            ]
        );
        // Another thread's calls add in.
        std::thread::scope(|s| {
            s.spawn(|| h.record(7, 1));
        });
        let snap = h.snapshot();
        assert_eq!(snap[&7].iter().sum::<u64>(), 11);
        h.reset();
        assert!(h.snapshot().is_empty());
    }
}
