//! Flint's RESP codec: the incremental request parser and the reply writer.
//!
//! Sits at the very front of the request path: socket bytes go into [`Parser::parse`], which yields
//! one command (a `Vec<Bytes>` of arguments, zero-copy slices of the connection's read buffer) at a
//! time, or "need more bytes". Replies go the other way through [`ReplyWriter`], which encodes RESP2
//! or RESP3 straight into the connection's output buffer.
//!
//! This crate knows nothing of sockets or commands. Invariants: the parser never panics on any
//! input, never allocates more than its configured limits allow ahead of the bytes actually
//! received, and an incomplete frame is a normal outcome, not an error.

#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod parser;
mod writer;

pub use parser::{peek_request, Limits, Parser, Peek, ProtocolError};
pub use writer::{format_double, DoubleBuf, ReplyWriter};
