//! One module per data type, each holding its value representation and its commands.

pub mod hash;
pub mod list;
pub mod set;
pub mod string;
pub mod zset;
