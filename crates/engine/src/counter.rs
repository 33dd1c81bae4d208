//! Striped counters: statistics that every command bumps, without every core writing the same
//! cache line.
//!
//! A plain `AtomicU64` bumped by every command on every core turns one cache line into the
//! busiest object in the server: each increment must steal the line from the core that did the
//! last one. A [`Striped`] counter keeps one cache-line-padded slot per stripe; a thread always
//! bumps the stripe it was assigned on first use, and readers (INFO, rare) sum the stripes.
//!
//! IMPORTANT: a bump is a relaxed load and store, not a locked read-modify-write (which costs
//! ~20 cycles each, several times per command). That is exact while each stripe has one
//! writer: threads get stripes round-robin, so it holds up to [`STRIPES`] threads; beyond, two
//! threads sharing a stripe may rarely lose an increment of a statistic, never anything else.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Number of stripes: enough that threads rarely share one.
pub const STRIPES: usize = 64;

static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);
/// Stripes released by threads that ended, reused before new ones.
static FREE_STRIPES: parking_lot::Mutex<Vec<usize>> = parking_lot::Mutex::new(Vec::new());

/// A thread's claim on a stripe, given back when the thread ends.
struct StripeClaim(usize);

impl StripeClaim {
    fn new() -> Self {
        let reused = FREE_STRIPES.lock().pop();
        StripeClaim(reused.unwrap_or_else(|| NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) % STRIPES))
    }
}

impl Drop for StripeClaim {
    fn drop(&mut self) {
        FREE_STRIPES.lock().push(self.0);
    }
}

thread_local! {
    static STRIPE: StripeClaim = StripeClaim::new();
}

/// The calling thread's stripe.
#[inline]
pub fn stripe() -> usize {
    STRIPE.try_with(|s| s.0).unwrap_or(0)
}

#[repr(align(64))]
struct Slot<const N: usize>([AtomicU64; N]);

/// `N` counters, striped by thread.
pub struct Striped<const N: usize> {
    slots: Box<[Slot<N>]>,
}

impl<const N: usize> Default for Striped<N> {
    fn default() -> Self {
        Striped {
            slots: (0..STRIPES)
                .map(|_| Slot(std::array::from_fn(|_| AtomicU64::new(0))))
                .collect(),
        }
    }
}

impl<const N: usize> std::fmt::Debug for Striped<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries((0..N).map(|i| self.get(i))).finish()
    }
}

impl<const N: usize> Striped<N> {
    /// Adds `n` to counter `i` (an index below `N`).
    #[inline]
    pub fn add(&self, i: usize, n: u64) {
        if let Some(slot) = self.slots.get(stripe()) {
            if let Some(c) = slot.0.get(i) {
                c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
            }
        }
    }

    /// The total of counter `i`.
    pub fn get(&self, i: usize) -> u64 {
        self.slots
            .iter()
            .map(|s| s.0.get(i).map_or(0, |c| c.load(Ordering::Relaxed)))
            .sum()
    }

    /// Sets every counter to zero.
    pub fn reset(&self) {
        for s in self.slots.iter() {
            for c in &s.0 {
                c.store(0, Ordering::Relaxed);
            }
        }
    }
}

/// One striped counter.
#[derive(Default, Debug)]
pub struct Counter(Striped<1>);

impl Counter {
    /// Adds `n`.
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.add(0, n);
    }

    /// The total.
    pub fn get(&self) -> u64 {
        self.0.get(0)
    }

    /// Sets it to zero.
    pub fn reset(&self) {
        self.0.reset();
    }
}

/// Anything INFO can read as a counter: a plain atomic (rarely bumped) or a striped one.
pub trait Count {
    /// Adds `n`.
    fn add_n(&self, n: u64);
    /// The current value.
    fn value(&self) -> u64;
    /// Sets it to zero.
    fn zero(&self);
}

impl Count for AtomicU64 {
    #[inline]
    fn add_n(&self, n: u64) {
        self.fetch_add(n, Ordering::Relaxed);
    }
    fn value(&self) -> u64 {
        self.load(Ordering::Relaxed)
    }
    fn zero(&self) {
        self.store(0, Ordering::Relaxed);
    }
}

impl Count for Counter {
    #[inline]
    fn add_n(&self, n: u64) {
        self.add(n);
    }
    fn value(&self) -> u64 {
        self.get()
    }
    fn zero(&self) {
        self.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_across_threads() {
        let c: std::sync::Arc<Striped<2>> = Default::default();
        let hs: Vec<_> = (0..8)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        c.add(0, 1);
                        c.add(1, 2);
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(c.get(0), 8000);
        assert_eq!(c.get(1), 16000);
        c.reset();
        assert_eq!(c.get(0), 0);
    }
}
