//! One module per data type, each holding its value representation and its commands.

pub mod string;
