//! The global allocator: mimalloc, wrapped to count the bytes the process has allocated and not
//! freed (INFO `used_memory`, and later what maxmemory enforces).
//!
//! Counting must not become a shared hot spot: every thread adds to its own cache-line-padded
//! slot (a thread may free what another allocated, so slots are signed and only their sum is
//! meaningful). The cost is one uncontended relaxed add per allocation.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use mimalloc::MiMalloc;

const SLOTS: usize = 16;

#[repr(align(64))]
struct Slot(AtomicI64);

static COUNTS: [Slot; SLOTS] = [const { Slot(AtomicI64::new(0)) }; SLOTS];
static NEXT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // Const-initialised and without a destructor, so it is usable at any point of a thread's
    // life, including inside the allocator during thread teardown.
    static SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

#[inline]
fn count(delta: i64) {
    let i = SLOT.with(|s| {
        let mut i = s.get();
        if i == usize::MAX {
            i = NEXT.fetch_add(1, Ordering::Relaxed) % SLOTS;
            s.set(i);
        }
        i
    });
    COUNTS[i % SLOTS].0.fetch_add(delta, Ordering::Relaxed);
}

/// Bytes allocated and not yet freed.
pub fn allocated() -> u64 {
    COUNTS
        .iter()
        .map(|s| s.0.load(Ordering::Relaxed))
        .sum::<i64>()
        .max(0) as u64
}

/// mimalloc, counting.
pub struct Counting;

// SAFETY: every method forwards to MiMalloc with the caller's arguments unchanged; the counting
// only reads the layout sizes.
unsafe impl GlobalAlloc for Counting {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { MiMalloc.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as i64);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { MiMalloc.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as i64);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by us, i.e. by MiMalloc, with `layout`.
        unsafe { MiMalloc.dealloc(ptr, layout) };
        count(-(layout.size() as i64));
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` was allocated by us with `layout`; forwarded unchanged.
        let p = unsafe { MiMalloc.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as i64 - layout.size() as i64);
        }
        p
    }
}
