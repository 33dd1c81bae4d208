//! The engine gate: an engine-wide striped reader-writer lock that lets EXEC (and scripts) run
//! with nothing else interleaved, while ordinary commands keep locking only their keys' shards.
//!
//! Shared side. Everything that touches the keyspace holds the gate shared while it does: a
//! server connection around each batch of commands it runs synchronously (never across an
//! `.await`), the active-expiry cycle around each step. Entering is one uncontended atomic add
//! on the calling thread's own cache-line-padded stripe (the thread's stripe from
//! [`crate::counter::stripe`]) plus a load of the writer flag; leaving is one atomic subtract.
//! A stripe holds a count, not a flag, so threads sharing a stripe (more threads than
//! [`STRIPES`]) stay correct.
//!
//! Exclusive side. [`Gate::exclusive`] sets the writer flag (one writer at a time) and waits
//! until every stripe is idle, except for the caller's own shared hold when it has one (an
//! upgrade: EXEC runs inside its connection's batch). When two upgrades race, the loser gives
//! its shared hold back while it waits (else each would wait for the other forever) and takes
//! it again when its own exclusive section ends. While exclusive, nobody else holds any shard
//! lock, so a [`crate::ctx::DbView`] made with `DbView::exclusive` may lock shards lazily, in
//! any order.
//!
//! Protocol: `enter` increments the stripe, then checks the writer flag; `exclusive` sets the
//! flag, then reads the stripes. Both sides use sequentially consistent operations, so either
//! the entering thread sees the flag (and backs out) or the writer sees its increment (and
//! waits for it). A thread that cannot enter must not block a tokio worker: [`Gate::ready`] is
//! a future that resolves once no writer holds the gate (wakers are registered only after a
//! brief spin, and woken when the writer leaves).
//!
//! IMPORTANT: take the gate exclusively holding no shard lock (EXEC's key spec is empty; a
//! caller whose dispatcher locked keys must `DbView::unlock` first): a shared holder may be
//! waiting for that shard, and the writer waits for every shared holder.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

/// Number of stripes of the shared side (one per thread, as the statistics counters).
pub const STRIPES: usize = crate::counter::STRIPES;

const _: () = assert!(STRIPES <= 64, "Gate::used has one bit per stripe");

/// Spins before a waiting reader registers its waker, and before a waiting writer yields.
const SPINS: u32 = 64;

/// One stripe: how many shared holds threads mapped to it have.
#[repr(align(128))]
struct Stripe(AtomicUsize);

/// The writer flag and the wakers of readers waiting for it, on their own cache line.
#[repr(align(128))]
struct WriterSide {
    held: AtomicBool,
    has_waiters: AtomicBool,
    waiters: Mutex<Vec<Waker>>,
}

/// The engine-wide gate (see the module documentation).
pub struct Gate {
    stripes: Box<[Stripe]>,
    /// Bit `i` is set once stripe `i` was ever entered: the writer only waits on those (with one
    /// worker, one or two of the 64), a scan that scripts and EXEC pay on every run.
    used: std::sync::atomic::AtomicU64,
    writer: WriterSide,
}

/// A shared hold on the gate, taken by [`Gate::try_enter`] and given back with
/// [`Gate::leave`]. Not `Clone`: each hold is left exactly once.
#[derive(Debug, PartialEq, Eq)]
pub struct SharedHold {
    stripe: usize,
}

/// The gate held exclusively; released on drop.
#[must_use = "the gate is released when this is dropped"]
pub struct Exclusive<'a> {
    gate: &'a Gate,
    /// The stripe whose shared hold was given back while waiting, taken again on release.
    rejoin: Option<usize>,
}

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("writer", &self.writer.held.load(Ordering::Relaxed))
            .finish()
    }
}

/// Spin, then yield the thread: for the short waits of the exclusive side and of threads that
/// may block (the cron thread).
struct Backoff(u32);

impl Backoff {
    fn snooze(&mut self) {
        if self.0 < SPINS {
            self.0 += 1;
            std::hint::spin_loop();
        } else if self.0 < SPINS + 64 {
            self.0 += 1;
            std::thread::yield_now();
        } else {
            std::thread::sleep(std::time::Duration::from_micros(50));
        }
    }
}

impl Gate {
    /// An idle gate.
    pub fn new() -> Self {
        Gate {
            stripes: (0..STRIPES).map(|_| Stripe(AtomicUsize::new(0))).collect(),
            used: std::sync::atomic::AtomicU64::new(0),
            writer: WriterSide {
                held: AtomicBool::new(false),
                has_waiters: AtomicBool::new(false),
                waiters: Mutex::new(Vec::new()),
            },
        }
    }

    /// Enters shared on stripe `stripe` unless a writer holds the gate.
    #[inline]
    fn try_enter_on(&self, stripe: usize) -> bool {
        let Some(s) = self.stripes.get(stripe) else {
            return false;
        };
        // Mark the stripe used before the increment. An acquire load that sees the bit
        // synchronises with the SeqCst `fetch_or` that set it, so that set precedes this
        // enter's flag check in the total order, hence the writer's read of `used` after it
        // sets the flag (bits are never cleared).
        let bit = 1u64 << (stripe % 64);
        if self.used.load(Ordering::Acquire) & bit == 0 {
            self.used.fetch_or(bit, Ordering::SeqCst);
        }
        s.0.fetch_add(1, Ordering::SeqCst);
        if !self.writer.held.load(Ordering::SeqCst) {
            return true;
        }
        s.0.fetch_sub(1, Ordering::Release);
        false
    }

    /// Enters shared on the calling thread's stripe, unless a writer holds the gate (then
    /// await [`Gate::ready`] and try again).
    #[inline]
    pub fn try_enter(&self) -> Option<SharedHold> {
        let stripe = crate::counter::stripe() % STRIPES;
        self.try_enter_on(stripe).then_some(SharedHold { stripe })
    }

    /// Enters shared, blocking the thread while a writer holds the gate. For threads that may
    /// block (the cron thread), never for a connection's async task.
    pub fn enter_blocking(&self) -> SharedHold {
        let mut backoff = Backoff(0);
        loop {
            if let Some(h) = self.try_enter() {
                return h;
            }
            while self.writer.held.load(Ordering::Acquire) {
                backoff.snooze();
            }
        }
    }

    /// Gives a shared hold back.
    #[inline]
    pub fn leave(&self, hold: SharedHold) {
        if let Some(s) = self.stripes.get(hold.stripe) {
            s.0.fetch_sub(1, Ordering::Release);
        }
    }

    /// Whether a writer holds (or is waiting to hold) the gate.
    pub fn is_exclusive(&self) -> bool {
        self.writer.held.load(Ordering::Acquire)
    }

    /// Resolves once no writer holds the gate (possibly spuriously: try entering again).
    pub fn ready(&self) -> Ready<'_> {
        Ready {
            gate: self,
            spun: false,
        }
    }

    /// Takes the gate exclusively, blocking until every other shared hold is gone. `held` is
    /// the caller's own shared hold, if it has one (it stays counted, and is the caller's again
    /// when the returned guard is dropped).
    pub fn exclusive(&self, held: Option<&SharedHold>) -> Exclusive<'_> {
        let mut own = held.map(|h| h.stripe);
        let mut rejoin = None;
        let mut backoff = Backoff(0);
        while self
            .writer
            .held
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            // Another writer: let it finish, without our shared hold in its way.
            if let Some(s) = own.take() {
                if let Some(st) = self.stripes.get(s) {
                    st.0.fetch_sub(1, Ordering::Release);
                }
                rejoin = Some(s);
            }
            while self.writer.held.load(Ordering::Acquire) {
                backoff.snooze();
            }
        }
        let used = self.used.load(Ordering::SeqCst);
        for (i, s) in self.stripes.iter().enumerate() {
            if used & (1u64 << (i % 64)) == 0 {
                continue;
            }
            let expect = usize::from(own == Some(i));
            let mut backoff = Backoff(0);
            while s.0.load(Ordering::SeqCst) != expect {
                backoff.snooze();
            }
        }
        Exclusive { gate: self, rejoin }
    }

    fn release_exclusive(&self) {
        self.writer.held.store(false, Ordering::SeqCst);
        if self.writer.has_waiters.load(Ordering::SeqCst) {
            let woken = {
                let mut w = self.writer.waiters.lock();
                self.writer.has_waiters.store(false, Ordering::Relaxed);
                std::mem::take(&mut *w)
            };
            for w in woken {
                w.wake();
            }
        }
    }
}

impl Drop for Exclusive<'_> {
    fn drop(&mut self) {
        self.gate.release_exclusive();
        if let Some(stripe) = self.rejoin.take() {
            // Take back the shared hold given up while another writer went first.
            let mut backoff = Backoff(0);
            while !self.gate.try_enter_on(stripe) {
                backoff.snooze();
            }
        }
    }
}

/// Future returned by [`Gate::ready`].
pub struct Ready<'a> {
    gate: &'a Gate,
    spun: bool,
}

impl Future for Ready<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let w = &self.gate.writer;
        if !self.spun {
            // Exclusive sections are usually a few microseconds: spin briefly before paying
            // for a waker.
            self.spun = true;
            for _ in 0..SPINS {
                if !w.held.load(Ordering::Acquire) {
                    return Poll::Ready(());
                }
                std::hint::spin_loop();
            }
        }
        if !w.held.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        {
            let mut waiters = w.waiters.lock();
            if !waiters.iter().any(|x| x.will_wake(cx.waker())) {
                waiters.push(cx.waker().clone());
            }
            w.has_waiters.store(true, Ordering::SeqCst);
        }
        // The writer may have left between the first check and the registration.
        if !w.held.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn shared_holds_coexist_and_block_nothing() {
        let g = Gate::new();
        let a = g.try_enter().unwrap();
        let b = g.try_enter().unwrap();
        g.leave(a);
        g.leave(b);
        assert!(!g.is_exclusive());
        // With every hold gone, exclusive is immediate.
        let x = g.exclusive(None);
        assert!(g.try_enter().is_none());
        drop(x);
        g.leave(g.try_enter().unwrap());
    }

    #[test]
    fn upgrade_keeps_own_hold() {
        let g = Gate::new();
        let h = g.try_enter().unwrap();
        {
            let _x = g.exclusive(Some(&h));
            assert!(g.is_exclusive());
        }
        // Still held shared: another exclusive from another thread must wait for us.
        let g = Arc::new(g);
        let done = Arc::new(AtomicBool::new(false));
        let t = {
            let (g, done) = (g.clone(), done.clone());
            std::thread::spawn(move || {
                let _x = g.exclusive(None);
                done.store(true, Ordering::SeqCst);
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(!done.load(Ordering::SeqCst));
        g.leave(h);
        t.join().unwrap();
        assert!(done.load(Ordering::SeqCst));
    }

    #[test]
    fn exclusive_excludes_shared() {
        // Readers increment two counters in their section, a writer checks they are equal and
        // that no reader is inside; every reader retries until it gets in.
        let g = Arc::new(Gate::new());
        let inside = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let (g, inside, stop) = (g.clone(), inside.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut n = 0u64;
                    // Until the writers are done, and in any case until this reader got in once
                    // (under load the writers may finish before a reader thread even ran).
                    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
                    while !stop.load(Ordering::Relaxed)
                        || (n == 0 && std::time::Instant::now() < deadline)
                    {
                        let h = g.enter_blocking();
                        inside.fetch_add(1, Ordering::SeqCst);
                        std::hint::spin_loop();
                        inside.fetch_sub(1, Ordering::SeqCst);
                        g.leave(h);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let (g, inside) = (g.clone(), inside.clone());
                std::thread::spawn(move || {
                    for _ in 0..300 {
                        let _x = g.exclusive(None);
                        assert_eq!(inside.load(Ordering::SeqCst), 0);
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        for r in readers {
            assert!(r.join().unwrap() > 0);
        }
    }

    #[test]
    fn racing_upgrades_do_not_deadlock() {
        // Two threads each hold shared and upgrade, many times: the loser of each race gives
        // its hold back and takes it again after.
        let g = Arc::new(Gate::new());
        let counter = Arc::new(AtomicU64::new(0));
        let ts: Vec<_> = (0..3)
            .map(|_| {
                let (g, counter) = (g.clone(), counter.clone());
                std::thread::spawn(move || {
                    for _ in 0..500 {
                        let h = g.enter_blocking();
                        {
                            let _x = g.exclusive(Some(&h));
                            // Non-atomic read-modify-write: exact only under exclusion.
                            let v = counter.load(Ordering::Relaxed);
                            counter.store(v + 1, Ordering::Relaxed);
                        }
                        g.leave(h);
                    }
                })
            })
            .collect();
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(counter.load(Ordering::Relaxed), 1500);
        // Every hold was given back.
        drop(g.exclusive(None));
    }

    #[test]
    fn ready_future_wakes_when_writer_leaves() {
        use std::task::Wake;
        struct Flag(AtomicBool);
        impl Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let g = Gate::new();
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let x = g.exclusive(None);
        let mut fut = g.ready();
        assert!(Pin::new(&mut fut).poll(&mut cx).is_pending());
        assert!(!flag.0.load(Ordering::SeqCst));
        drop(x);
        assert!(flag.0.load(Ordering::SeqCst));
        assert!(Pin::new(&mut fut).poll(&mut cx).is_ready());
    }
}
