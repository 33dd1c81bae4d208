//! Strict number parsing with Redis 7.0 semantics: `string2ll` (integers, used wherever Redis
//! wants a `long long` argument or value) and `string2d` / `getDoubleFromObject` (doubles, used by
//! `ZADD`, `INCRBYFLOAT`-free float arguments, `ZRANGEBYSCORE` bounds after their prefix, ...).
//!
//! Doubles are parsed with the C library's `strtod` (through the shim in `csrc/ldouble.c`) so that
//! the accepted syntax (hex floats, `inf`/`infinity` in any case, optional `+`, `.5`, `5.`) and the
//! rounding are exactly those of redis-server linked against the same libc.

use std::os::raw::{c_char, c_int};

extern "C" {
    /// `strtod` on a NUL-terminated buffer holding `len` bytes before the NUL, with Redis's
    /// `string2d` acceptance rules; writes the value to `*out` and returns 1 on success, else 0.
    fn flint_string2d(s: *const c_char, len: usize, out: *mut f64) -> c_int;
}

/// Parses a signed 64-bit integer exactly like Redis's `string2ll`.
///
/// Accepts an optional `-` followed by decimal digits with no leading zero (the single string
/// `"0"` is the only number starting with `0`). Rejects the empty string, a leading `+`, any
/// whitespace, `"-0"`, leading zeros (`"01"`, `"00"`), strings of 21 or more bytes, and values
/// outside `i64`.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    // LONG_STR_SIZE in Redis is 21: longer inputs are rejected outright.
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    if negative {
        // -(i64::MIN) == 2^63 is the largest magnitude allowed.
        if v > i64::MIN.unsigned_abs() {
            return None;
        }
        Some(0i64.wrapping_sub_unsigned(v))
    } else {
        i64::try_from(v).ok()
    }
}

/// Parses a double exactly like Redis 7.0's `string2d` (what `getDoubleFromObject` uses).
///
/// Accepts whatever `strtod` accepts when it consumes the whole input: decimal and hex forms,
/// exponents, a leading `+` or `-`, `inf` / `infinity` (any case, either sign). Rejects the empty
/// string, a leading whitespace byte, trailing bytes (including any NUL byte), `nan` in any form,
/// and out-of-range values: overflow to ±infinity and underflow to zero are errors, while an
/// underflow to a nonzero subnormal is accepted. `"-0"` yields `-0.0`.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    // Fast path: integers of at most 2^53 in magnitude convert exactly, as strtod would.
    if let Some(i) = parse_i64(s) {
        if i.unsigned_abs() <= 1u64 << 53 {
            return Some(i as f64);
        }
    }
    // strtod stops at the first NUL byte, so such input can never be consumed whole.
    if s.contains(&0) {
        return None;
    }
    let mut stack = [0u8; 128];
    let mut heap;
    let buf: &mut [u8] = if s.len() < stack.len() {
        &mut stack
    } else {
        heap = vec![0u8; s.len() + 1];
        &mut heap
    };
    let dst = buf.get_mut(..s.len())?;
    dst.copy_from_slice(s);
    // The byte after the copy is 0: buf is zero-initialised and strictly longer than s.
    if buf.get(s.len()) != Some(&0) {
        return None;
    }
    let mut out = 0.0f64;
    // SAFETY: `buf` is a live, writable buffer of more than `s.len()` bytes whose byte at index
    // `s.len()` is NUL and which contains no other NUL before it, so `strtod` reads only inside
    // it; `out` is a valid, aligned `f64` that the callee only writes.
    let ok = unsafe { flint_string2d(buf.as_ptr().cast::<c_char>(), s.len(), &mut out) };
    if ok == 1 {
        Some(out)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Every expectation here was checked against redis-server 7.0.15 (`INCRBY` for integers,
    // `ZADD` + `ZSCORE` for doubles).
    #[test]
    fn parse_i64_like_string2ll() {
        assert_eq!(parse_i64(b"1"), Some(1));
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"99"), Some(99));
        assert_eq!(parse_i64(b"-99"), Some(-99));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b"+1"[..],
            b"01",
            b"-0",
            b"00",
            b"-01",
            b"-",
            b"",
            b" 1",
            b"1 ",
            b"1\x00",
            b"1.0",
            b"1e3",
            b"0x10",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"18446744073709551616",
            b"-18446744073709551615",
            b"99999999999999999999",
            b"000000000000000000001",
            b"123456789012345678901",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn parse_f64_accepts_like_redis() {
        let ok: &[(&[u8], f64)] = &[
            (b"1", 1.0),
            (b"1.5", 1.5),
            (b"-1.5", -1.5),
            (b"0x10", 16.0),
            (b".5", 0.5),
            (b"5.", 5.0),
            (b"+1", 1.0),
            (b"01", 1.0),
            (b"0e-400", 0.0),
            (b"0e999999", 0.0),
            (b"1e0000000000000000000001", 10.0),
            (b"1e-5", 1e-5),
            (b"0.1", 0.1),
            (b"123456789012345678901234567890", 1.2345678901234568e29),
            (b"9007199254740993", 9007199254740992.0),
            (b"1.7976931348623157e308", f64::MAX),
            (b"1.7976931348623158e308", f64::MAX),
            (b"2.2250738585072011e-308", 2.225_073_858_507_201e-308),
            (b"1e-310", 1e-310),
        ];
        for &(s, v) in ok {
            assert_eq!(parse_f64(s), Some(v), "{:?}", String::from_utf8_lossy(s));
        }
        let min_sub = f64::from_bits(1);
        for s in [
            &b"5e-324"[..],
            b"3e-324",
            b"4.9e-324",
            b"2.4703282292062328e-324",
            b"0x1p-1074",
        ] {
            assert_eq!(
                parse_f64(s),
                Some(min_sub),
                "{:?}",
                String::from_utf8_lossy(s)
            );
        }
        for s in [&b"inf"[..], b"+inf", b"infinity", b"INF"] {
            assert_eq!(parse_f64(s), Some(f64::INFINITY));
        }
        for s in [&b"-inf"[..], b"-Infinity"] {
            assert_eq!(parse_f64(s), Some(f64::NEG_INFINITY));
        }
        let neg_zero = parse_f64(b"-0");
        assert_eq!(neg_zero.map(f64::to_bits), Some((-0.0f64).to_bits()));
    }

    #[test]
    fn parse_f64_rejects_like_redis() {
        let long_int = b"1".repeat(400);
        let mut tiny = b"0.".to_vec();
        tiny.extend_from_slice(&b"0".repeat(400));
        tiny.push(b'1');
        let bad: Vec<&[u8]> = vec![
            b"",
            b"infin",
            b"nan",
            b"-nan",
            b"NAN",
            b"nan(123)",
            b"1e400",
            b"-1e400",
            b"1e-400",
            b"-1e-400",
            b"2e-324",
            b"2.4703282292062327e-324",
            b"0x1p-1080",
            b"0x1p1024",
            b"1.7976931348623159e308",
            b" 1",
            b"\t1",
            b"1 ",
            b"1\x00",
            b"\x00",
            b"\x001",
            b"1e",
            b"1e+",
            b".",
            b"-",
            b"e5",
            b"1_0",
            b"1,5",
            &long_int,
            &tiny,
        ];
        for s in bad {
            assert_eq!(parse_f64(s), None, "{:?}", String::from_utf8_lossy(s));
        }
    }

    #[test]
    fn parse_f64_long_inputs() {
        // Long but valid: goes through the heap buffer.
        let mut s = b"0.".to_vec();
        s.extend_from_slice(&b"5".repeat(1000));
        let v = parse_f64(&s);
        assert!(v.is_some_and(|v| (v - 0.5555555555555556).abs() < 1e-15));
        let mut s = b"1".to_vec();
        s.extend_from_slice(&b"0".repeat(127));
        assert_eq!(s.len(), 128);
        assert_eq!(parse_f64(&s), Some(1e127));
    }
}
