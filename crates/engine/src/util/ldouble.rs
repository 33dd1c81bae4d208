//! `long double` arithmetic for `INCRBYFLOAT` and `HINCRBYFLOAT`, bit-exact with Redis 7.0 on
//! x86-64 (where `long double` is the x87 80-bit extended format).
//!
//! Parsing follows Redis's `string2ld` (`strtold` plus Redis's acceptance rules and its
//! `MAX_LONG_DOUBLE_CHARS` = 5120 input limit), the sum is computed in `long double`, and the
//! result is rendered like `ld2string(..., LD_STR_HUMAN)`: `"%.17Lf"`, trailing zeros and a
//! trailing dot removed, `"-0"` turned into `"0"`. The C side lives in `csrc/ldouble.c`; Rust sees
//! each `long double` only as an opaque 16-byte [`LongDouble`].

use std::os::raw::{c_char, c_int};

extern "C" {
    fn flint_ld_parse(s: *const u8, len: usize, out: *mut u8) -> c_int;
    fn flint_ld_from_i64(v: i64, out: *mut u8);
    fn flint_ld_add(a: *const u8, b: *const u8, out: *mut u8);
    fn flint_ld_classify(a: *const u8) -> c_int;
    fn flint_ld_format_fixed17(a: *const u8, buf: *mut c_char, len: usize) -> c_int;
}

/// Redis's `MAX_LONG_DOUBLE_CHARS`: inputs of this many bytes or more are not valid floats, and
/// formatted results are produced in a buffer of this size.
pub const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

/// Size in bytes of the opaque storage of one C `long double`.
const LD_SIZE: usize = 16;

/// Errors of `INCRBYFLOAT` / `HINCRBYFLOAT`; [`FloatError::message`] gives Redis's exact reply
/// text (including the `ERR ` prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FloatError {
    /// The stored value (`INCRBYFLOAT`) or the increment (both commands) is not a valid float.
    #[error("ERR value is not a valid float")]
    NotFloat,
    /// `HINCRBYFLOAT`: the field's current value is not a valid float.
    #[error("ERR hash value is not a float")]
    HashValueNotFloat,
    /// `HINCRBYFLOAT`: the increment itself is infinite (checked before the key is looked up).
    #[error("ERR value is NaN or Infinity")]
    IncrNanOrInf,
    /// The sum is NaN or infinite; nothing must be stored.
    #[error("ERR increment would produce NaN or Infinity")]
    NanOrInf,
}

impl FloatError {
    /// Redis's exact error reply text for this error, `ERR ` prefix included.
    pub fn message(&self) -> &'static str {
        match self {
            FloatError::NotFloat => "ERR value is not a valid float",
            FloatError::HashValueNotFloat => "ERR hash value is not a float",
            FloatError::IncrNanOrInf => "ERR value is NaN or Infinity",
            FloatError::NanOrInf => "ERR increment would produce NaN or Infinity",
        }
    }
}

/// One C `long double`, stored opaquely; only `csrc/ldouble.c` interprets the bytes.
#[derive(Clone, Copy)]
#[repr(C, align(16))]
pub struct LongDouble {
    bytes: [u8; LD_SIZE],
}

impl std::fmt::Debug for LongDouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LongDouble")
            .field(&String::from_utf8_lossy(&self.to_human_string()))
            .finish()
    }
}

impl LongDouble {
    /// Zero.
    pub fn zero() -> LongDouble {
        LongDouble::from_i64(0)
    }

    /// The exact `long double` value of `v` (what Redis uses for integer-encoded strings).
    pub fn from_i64(v: i64) -> LongDouble {
        let mut out = LongDouble {
            bytes: [0; LD_SIZE],
        };
        // SAFETY: `out.bytes` is a writable buffer of LD_SIZE (16) bytes, the size the C side
        // writes (it static-asserts `sizeof(long double) <= 16`).
        unsafe { flint_ld_from_i64(v, out.bytes.as_mut_ptr()) };
        out
    }

    /// Parses `s` like Redis's `string2ld`: whatever `strtold` accepts when it consumes the whole
    /// input (decimal, hex, `inf`/`infinity`, leading `+`, leading zeros), except the empty
    /// string, inputs of 5120 bytes or more, a leading whitespace byte, any NUL byte, NaN,
    /// overflow to infinity and underflow to zero. `None` when invalid.
    pub fn parse(s: &[u8]) -> Option<LongDouble> {
        if s.is_empty() || s.len() >= MAX_LONG_DOUBLE_CHARS {
            return None;
        }
        let mut out = LongDouble {
            bytes: [0; LD_SIZE],
        };
        // SAFETY: `s` is valid for reads of `s.len()` bytes (< 5120, which the C side also checks
        // against its own 5120-byte stack buffer before copying); `out.bytes` is a writable
        // 16-byte buffer, the size the C side writes.
        let ok = unsafe { flint_ld_parse(s.as_ptr(), s.len(), out.bytes.as_mut_ptr()) };
        (ok == 1).then_some(out)
    }

    /// `self + other`, computed in `long double` precision.
    pub fn add(&self, other: &LongDouble) -> LongDouble {
        let mut out = LongDouble {
            bytes: [0; LD_SIZE],
        };
        // SAFETY: both inputs are 16-byte buffers holding values written by the C side, and
        // `out.bytes` is a writable 16-byte buffer; the C side copies through memcpy, so no
        // alignment is assumed.
        unsafe {
            flint_ld_add(
                self.bytes.as_ptr(),
                other.bytes.as_ptr(),
                out.bytes.as_mut_ptr(),
            )
        };
        out
    }

    /// 0 finite, 1 +inf, 2 -inf, 3 NaN.
    fn classify(&self) -> c_int {
        // SAFETY: `self.bytes` is a readable 16-byte buffer holding a value written by C.
        unsafe { flint_ld_classify(self.bytes.as_ptr()) }
    }

    /// Whether the value is neither infinite nor NaN.
    pub fn is_finite(&self) -> bool {
        self.classify() == 0
    }

    /// Formats like Redis's `ld2string(buf, MAX_LONG_DOUBLE_CHARS, value, LD_STR_HUMAN)`:
    /// `"%.17Lf"`, then trailing zeros after the dot and a trailing dot are removed, and `"-0"`
    /// becomes `"0"`; infinities are `"inf"` / `"-inf"` and NaN is `"nan"`. (If the text did not
    /// fit in 5120 bytes Redis would produce an empty string; no finite `long double` is that
    /// long, but that outcome is mirrored anyway.)
    pub fn to_human_string(&self) -> Vec<u8> {
        match self.classify() {
            1 => return b"inf".to_vec(),
            2 => return b"-inf".to_vec(),
            3 => return b"nan".to_vec(),
            _ => {}
        }
        let mut buf = vec![0u8; MAX_LONG_DOUBLE_CHARS];
        // SAFETY: `buf` is a writable buffer of exactly `buf.len()` bytes and that length is what
        // is passed, so snprintf writes at most that many bytes (NUL included); `self.bytes` is
        // a readable 16-byte buffer holding a value written by C.
        let n = unsafe {
            flint_ld_format_fixed17(
                self.bytes.as_ptr(),
                buf.as_mut_ptr().cast::<c_char>(),
                buf.len(),
            )
        };
        // Negative means an output error; >= len means truncated. Redis returns "" for both.
        let Ok(n) = usize::try_from(n) else {
            return Vec::new();
        };
        if n >= buf.len() {
            return Vec::new();
        }
        buf.truncate(n);
        if buf.contains(&b'.') {
            while buf.last() == Some(&b'0') {
                buf.pop();
            }
            if buf.last() == Some(&b'.') {
                buf.pop();
            }
        }
        if buf == b"-0" {
            buf.clear();
            buf.push(b'0');
        }
        buf
    }
}

/// `INCRBYFLOAT`: adds `incr` to `current` (the stored string; `None` when the key is missing,
/// which counts as 0) in `long double` precision and returns the new value formatted as Redis
/// stores and replies it.
///
/// Errors: [`FloatError::NotFloat`] when either string is not a valid float (see
/// [`LongDouble::parse`]), [`FloatError::NanOrInf`] when the sum is NaN or infinite (so
/// `INCRBYFLOAT k inf` fails with that message, as in Redis). The caller checks the key type
/// (`WRONGTYPE`) first.
pub fn incr_by_float(current: Option<&[u8]>, incr: &[u8]) -> Result<Vec<u8>, FloatError> {
    let value = match current {
        Some(cur) => LongDouble::parse(cur).ok_or(FloatError::NotFloat)?,
        None => LongDouble::zero(),
    };
    let incr = LongDouble::parse(incr).ok_or(FloatError::NotFloat)?;
    let sum = value.add(&incr);
    if !sum.is_finite() {
        return Err(FloatError::NanOrInf);
    }
    Ok(sum.to_human_string())
}

/// The increment checks `HINCRBYFLOAT` performs before it even looks the key up (so they win over
/// `WRONGTYPE`): [`FloatError::NotFloat`] if `incr` is not a valid float,
/// [`FloatError::IncrNanOrInf`] if it is infinite. Returns the parsed increment.
pub fn parse_hincr_increment(incr: &[u8]) -> Result<LongDouble, FloatError> {
    let incr = LongDouble::parse(incr).ok_or(FloatError::NotFloat)?;
    if !incr.is_finite() {
        return Err(FloatError::IncrNanOrInf);
    }
    Ok(incr)
}

/// `HINCRBYFLOAT`: adds `incr` to the field's `current` value (`None` when the field or the key
/// is missing, which counts as 0) and returns the new value formatted as Redis stores it.
///
/// Errors, in Redis's order: [`FloatError::NotFloat`] / [`FloatError::IncrNanOrInf`] for a bad
/// increment (see [`parse_hincr_increment`]; a caller that must report `WRONGTYPE` should call
/// that first, then check the type, then call this), [`FloatError::HashValueNotFloat`] when the
/// current value is not a valid float, [`FloatError::NanOrInf`] when the sum is NaN or infinite.
pub fn hincr_by_float(current: Option<&[u8]>, incr: &[u8]) -> Result<Vec<u8>, FloatError> {
    let incr = parse_hincr_increment(incr)?;
    let value = match current {
        Some(cur) => LongDouble::parse(cur).ok_or(FloatError::HashValueNotFloat)?,
        None => LongDouble::zero(),
    };
    let sum = value.add(&incr);
    if !sum.is_finite() {
        return Err(FloatError::NanOrInf);
    }
    Ok(sum.to_human_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (current value, increment, expected outcome).
    type Case<'a, T> = (Option<&'a [u8]>, &'a [u8], T);

    fn ok(cur: Option<&[u8]>, incr: &[u8]) -> String {
        match incr_by_float(cur, incr) {
            Ok(v) => String::from_utf8_lossy(&v).into_owned(),
            Err(e) => panic!("unexpected error {e:?} for {cur:?} + {incr:?}"),
        }
    }

    fn err(cur: Option<&[u8]>, incr: &[u8]) -> FloatError {
        match incr_by_float(cur, incr) {
            Ok(v) => panic!("unexpected ok {:?}", String::from_utf8_lossy(&v)),
            Err(e) => e,
        }
    }

    // Expected outputs observed from redis-server 7.0.15 (SET k <cur>; INCRBYFLOAT k <incr>).
    #[test]
    fn incrbyfloat_matches_redis() {
        let cases: &[Case<&str>] = &[
            (Some(b"10.5"), b"0.1", "10.6"),
            (Some(b"10.5"), b"5.0e3", "5010.5"),
            (None, b"1.5", "1.5"),
            (None, b"0", "0"),
            (None, b"-0", "0"),
            (Some(b"0x10"), b"1", "17"),
            (Some(b"1"), b"0x10", "17"),
            (Some(b"1"), b"0X10", "17"),
            (Some(b"0x1p3"), b"0", "8"),
            (Some(b"1"), b"-0x1.8p1", "-2"),
            (Some(b"1"), b"+1", "2"),
            (Some(b"1"), b"01", "2"),
            (Some(b"1"), b".5", "1.5"),
            (Some(b"1"), b"5.", "6"),
            (Some(b"0"), b"-0", "0"),
            (Some(b"-0"), b"0", "0"),
            (Some(b"-0"), b"-0", "0"),
            (Some(b"0"), b"-0.000000000000000000001", "0"),
            (Some(b"3.0000000000000000001"), b"0", "3"),
            (Some(b"0.1"), b"0.2", "0.3"),
            (Some(b"1"), b"-1", "0"),
            (Some(b"100"), b"1e20", "100000000000000000096"),
            (Some(b"1e17"), b"1", "100000000000000001"),
            (Some(b"1e18"), b"1", "1000000000000000001"),
            (Some(b"9223372036854775807"), b"1", "9223372036854775808"),
            (Some(b"-9223372036854775808"), b"-1", "-9223372036854775809"),
            (Some(b"12345678901234567"), b"0.5", "12345678901234567.5"),
            (Some(b"1"), b"1e-4940", "1"),
            (Some(b"0"), b"1e-4940", "0"),
            (Some(b"0"), b"3e-4951", "0"),
            (Some(b"1e-4950"), b"0", "0"),
            (Some(b"0e-5000"), b"0", "0"),
            (Some(b"0"), b"1e-20", "0"),
            (Some(b"0"), b"1.5e-17", "0.00000000000000002"),
            (Some(b"0"), b"-1e-18", "0"),
            (Some(b"0"), b"5e-18", "0"),
            (Some(b"0"), b"-5e-18", "0"),
            (Some(b"0"), b"6e-18", "0.00000000000000001"),
            (Some(b"1e1000"), b"-1e1000", "0"),
            (
                Some(b"0"),
                b"123456789012345678901234567890",
                "123456789012345678899921813504",
            ),
            (Some(b"0"), b"0.30000000000000000001", "0.3"),
        ];
        for &(cur, incr, want) in cases {
            assert_eq!(ok(cur, incr), want, "{cur:?} + {incr:?}");
        }
    }

    #[test]
    fn incrbyfloat_large_results_match_redis() {
        // 1e308 + 1e308 (309 digits).
        let v = ok(Some(b"1e308"), b"1e308");
        assert_eq!(v.len(), 309);
        assert!(v.starts_with("199999999999999999993371759311"));
        assert!(!v.contains('.'));
        let v = ok(Some(b"1e4932"), b"0");
        assert_eq!(v.len(), 4933);
        assert!(v.starts_with("100000000000000000000601894938"));
        // Largest finite long double, both signs.
        let max = b"1.18973149535723176502e+4932";
        let v = ok(Some(max), b"0");
        assert_eq!(v.len(), 4933);
        assert!(v.starts_with("118973149535723176502126385303"));
        let v = ok(Some(b"-1.18973149535723176502e+4932"), b"0");
        assert_eq!(v.len(), 4934);
        assert!(v.starts_with("-11897314953572317650212638530"));
        let v = ok(Some(b"5"), b"1e1000");
        assert_eq!(v.len(), 1000);
        assert!(v.starts_with("999999999999999999973107317669"));
        let v = ok(Some(b"0"), b"1e400");
        assert_eq!(v.len(), 401);
        assert!(v.starts_with("100000000000000000002818806839"));
        let v = ok(Some(b"0"), b"1.7976931348623157e308");
        assert_eq!(v.len(), 309);
        assert!(v.starts_with("179769313486231569995921046774"));
    }

    #[test]
    fn incrbyfloat_errors_match_redis() {
        use FloatError::*;
        let nul_cur: &[u8] = b"1\x00abc";
        let cases: &[Case<FloatError>] = &[
            (Some(b"  1"), b"1", NotFloat),
            (Some(b"1"), b"  1", NotFloat),
            (Some(b"1 "), b"1", NotFloat),
            (Some(b"1.5"), b"\t1", NotFloat),
            (Some(b"1.5"), b"\n1", NotFloat),
            (Some(b"1.5"), b"1\n", NotFloat),
            (Some(b"1"), b"nan", NotFloat),
            (Some(b"1"), b"NaN", NotFloat),
            (Some(b"1"), b"nan(123)", NotFloat),
            (Some(b"1"), b"1e", NotFloat),
            (Some(b"1"), b".", NotFloat),
            (Some(b"1"), b"", NotFloat),
            (Some(b""), b"1", NotFloat),
            (Some(nul_cur), b"1", NotFloat),
            (Some(b"1"), b"2\x00x", NotFloat),
            (Some(b"\x001"), b"1", NotFloat),
            (Some(b"abc"), b"xyz", NotFloat),
            (Some(b"1e4933"), b"0", NotFloat),
            (Some(b"1e-5000"), b"0", NotFloat),
            (Some(b"0"), b"1e-4951", NotFloat),
            (Some(b"inf"), b"1", NanOrInf),
            (Some(b"1"), b"inf", NanOrInf),
            (Some(b"1"), b"-inf", NanOrInf),
            (Some(b"1"), b"+inf", NanOrInf),
            (Some(b"1"), b"INF", NanOrInf),
            (Some(b"1"), b"infinity", NanOrInf),
            (
                Some(b"1.18973149535723176502e+4932"),
                b"1.18973149535723176502e+4932",
                NanOrInf,
            ),
        ];
        for &(cur, incr, want) in cases {
            assert_eq!(err(cur, incr), want, "{cur:?} + {incr:?}");
        }
    }

    #[test]
    fn input_length_limit_matches_redis() {
        // 5119 bytes is the longest accepted input; 5120 is rejected.
        let mut s = b"0.".to_vec();
        s.extend_from_slice(&b"1".repeat(5117));
        assert_eq!(s.len(), 5119);
        assert_eq!(ok(Some(b"1"), &s), "1.11111111111111111");
        s.push(b'1');
        assert_eq!(err(Some(b"1"), &s), FloatError::NotFloat);
        let mut s = b"0.".to_vec();
        s.extend_from_slice(&b"1".repeat(6000));
        assert_eq!(err(Some(b"1"), &s), FloatError::NotFloat);
        // 5119 ones overflow the long double range.
        assert_eq!(err(Some(b"1"), &b"1".repeat(5119)), FloatError::NotFloat);
        assert_eq!(err(Some(&b"1".repeat(100_000)), b"1"), FloatError::NotFloat);
    }

    // Observed from redis-server 7.0.15 with HSET h f <cur>; HINCRBYFLOAT h f <incr>.
    #[test]
    fn hincrbyfloat_matches_redis() {
        use FloatError::*;
        let h = |cur: Option<&[u8]>, incr: &[u8]| hincr_by_float(cur, incr);
        assert_eq!(h(None, b"1.5"), Ok(b"1.5".to_vec()));
        assert_eq!(h(Some(b"10.5"), b"0.1"), Ok(b"10.6".to_vec()));
        assert_eq!(h(Some(b"-0"), b"0"), Ok(b"0".to_vec()));
        assert_eq!(h(Some(b"1"), b"0x10"), Ok(b"17".to_vec()));
        assert_eq!(h(Some(b"abc"), b"1"), Err(HashValueNotFloat));
        assert_eq!(h(Some(b"abc"), b"x"), Err(NotFloat));
        assert_eq!(h(Some(b"abc"), b"inf"), Err(IncrNanOrInf));
        assert_eq!(h(Some(b"1"), b"inf"), Err(IncrNanOrInf));
        assert_eq!(h(Some(b"1"), b"nan"), Err(NotFloat));
        assert_eq!(h(Some(b"inf"), b"1"), Err(NanOrInf));
        assert_eq!(h(Some(b"1e4932"), b"1e4932"), Err(NanOrInf));
        assert_eq!(h(Some(b"1\x00"), b"1"), Err(HashValueNotFloat));
        assert_eq!(h(Some(b"1"), b"1\x00"), Err(NotFloat));
        assert_eq!(h(Some(b" 1"), b"1"), Err(HashValueNotFloat));
        assert_eq!(h(Some(b"1"), b""), Err(NotFloat));
        assert_eq!(h(Some(b""), b"1"), Err(HashValueNotFloat));
        assert!(parse_hincr_increment(b"-inf").is_err());
        assert!(parse_hincr_increment(b"2.5").is_ok());
    }

    #[test]
    fn messages_are_redis_texts() {
        assert_eq!(
            FloatError::NotFloat.message(),
            "ERR value is not a valid float"
        );
        assert_eq!(
            FloatError::HashValueNotFloat.message(),
            "ERR hash value is not a float"
        );
        assert_eq!(
            FloatError::IncrNanOrInf.message(),
            "ERR value is NaN or Infinity"
        );
        assert_eq!(
            FloatError::NanOrInf.message(),
            "ERR increment would produce NaN or Infinity"
        );
        for e in [
            FloatError::NotFloat,
            FloatError::HashValueNotFloat,
            FloatError::IncrNanOrInf,
            FloatError::NanOrInf,
        ] {
            assert_eq!(e.to_string(), e.message());
        }
    }

    #[test]
    fn long_double_helpers() {
        assert_eq!(LongDouble::zero().to_human_string(), b"0");
        assert_eq!(
            LongDouble::from_i64(i64::MIN).to_human_string(),
            b"-9223372036854775808"
        );
        let inf = LongDouble::parse(b"inf");
        assert!(inf.is_some_and(|v| !v.is_finite() && v.to_human_string() == b"inf"));
        let ninf = LongDouble::parse(b"-infinity");
        assert!(ninf.is_some_and(|v| v.to_human_string() == b"-inf"));
        let nan = inf.zip(ninf).map(|(a, b)| a.add(&b));
        assert!(nan.is_some_and(|v| !v.is_finite() && v.to_human_string() == b"nan"));
        // 0.1 in long double keeps more digits than a double would.
        let tenth = LongDouble::parse(b"0.1");
        assert!(tenth.is_some_and(|v| v.to_human_string() == b"0.1"));
        assert!(format!("{:?}", LongDouble::from_i64(7)).contains('7'));
    }
}
