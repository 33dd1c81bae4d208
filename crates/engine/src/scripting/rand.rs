//! Redis's `redisLrand48` (rand.c): the 48-bit linear congruential generator of `lrand48`,
//! reimplemented so `math.random` returns the same sequence as Redis on every platform. As in
//! Redis 7.0 the state starts at lrand48's default (`0x1234ABCD330E`) when the server starts
//! and is shared by every script and function: it is *not* reseeded per script (Redis 7.0
//! replicates effects, so scripts need not be deterministic); `math.randomseed(n)` reseeds it.

const A: u64 = 0x5_DEEC_E66D;
const C: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;

/// `REDIS_LRAND48_MAX`.
pub(crate) const LRAND48_MAX: i64 = i32::MAX as i64;

/// The generator state.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rand48(u64);

impl Default for Rand48 {
    fn default() -> Self {
        Rand48(0x1234_ABCD_330E)
    }
}

impl Rand48 {
    /// The generator at a saved state.
    pub(crate) fn from_state(state: u64) -> Self {
        Rand48(state & MASK)
    }

    /// The state, to save.
    pub(crate) fn state(&self) -> u64 {
        self.0
    }

    /// `redisSrand48(seed)`.
    pub(crate) fn seed(&mut self, seed: i32) {
        self.0 = (((seed as u32 as u64) << 16) | 0x330E) & MASK;
    }

    /// `redisLrand48()`: the next value in `0..2^31`.
    pub(crate) fn next(&mut self) -> i64 {
        self.0 = (A.wrapping_mul(self.0).wrapping_add(C)) & MASK;
        (self.0 >> 17) as i64
    }

    /// What `math.random()` computes before scaling: a number in `[0, 1)`.
    pub(crate) fn next_unit(&mut self) -> f64 {
        (self.next() % LRAND48_MAX) as f64 / LRAND48_MAX as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_values_match_redis() {
        // A fresh Redis 7.0 answers `{tostring(math.random()),tostring(math.random())}` with
        // these; after `math.randomseed(0)`, with the second pair.
        let mut r = Rand48::default();
        assert_eq!(format!("{:.14}", r.next_unit()), "0.39646477363839");
        assert_eq!(format!("{:.14}", r.next_unit()), "0.84048536971234");
        r.seed(0);
        assert_eq!(format!("{:.14}", r.next_unit()), "0.17082803611217");
        assert_eq!(format!("{:.14}", r.next_unit()), "0.74990198051087");
    }
}
