//! Redis-exact low-level helpers shared by the commands: glob matching (`stringmatchlen`),
//! strict integer / double parsing (`string2ll`, `string2d`) and the `long double` arithmetic of
//! `INCRBYFLOAT` / `HINCRBYFLOAT` (`string2ld`, `ld2string`). All of them are total: they never
//! panic, whatever bytes they are given.

pub mod glob;
pub mod ldouble;
pub mod num;

pub use glob::glob_match;
pub use ldouble::{
    hincr_by_float, incr_by_float, parse_hincr_increment, FloatError, LongDouble,
    MAX_LONG_DOUBLE_CHARS,
};
pub use num::{parse_f64, parse_i64};

/// Asks the CPU to start loading the cache line at `p` (a hint: it never faults and never reads
/// into the program, so any address will do, even a dangling one).
#[inline(always)]
pub fn prefetch<T: ?Sized>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` is a hint that cannot fault or change memory, whatever the address.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
