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
