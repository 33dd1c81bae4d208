//! Error replies. Every error a command can return is a variant here, and its `Display` is the
//! exact text Redis 7.0 sends (without the leading `-`). Handlers return `Err(Error::...)`; the
//! dispatcher writes it. Nothing is sent to the client before a handler has validated its input.

use std::borrow::Cow;

/// Convenience alias for handler results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error reply.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `ERR syntax error`
    #[error("ERR syntax error")]
    Syntax,
    /// `WRONGTYPE ...`
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    /// `ERR value is not an integer or out of range`
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    /// `ERR value is not a valid float`
    #[error("ERR value is not a valid float")]
    NotFloat,
    /// `ERR increment or decrement would overflow`
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    /// `ERR no such key`
    #[error("ERR no such key")]
    NoSuchKey,
    /// `ERR DB index is out of range`
    #[error("ERR DB index is out of range")]
    DbIndexOutOfRange,
    /// `ERR invalid expire time in '<cmd>' command`
    #[error("ERR invalid expire time in '{0}' command")]
    InvalidExpire(String),
    /// `ERR wrong number of arguments for '<cmd>' command`
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(String),
    /// `ERR unknown subcommand '<sub>'. Try <CMD> HELP.`
    #[error("ERR unknown subcommand '{0}'. Try {1} HELP.")]
    UnknownSubcommand(String, String),
    /// `ERR string exceeds maximum allowed size (proto-max-bulk-len)`
    #[error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")]
    StringTooLong,
    /// `NOAUTH Authentication required.`
    #[error("NOAUTH Authentication required.")]
    NoAuth,
    /// `ERR value is out of range, must be positive`
    #[error("ERR value is out of range, must be positive")]
    NotPositive,
    /// `OOM command not allowed when used memory > 'maxmemory'.`
    #[error("OOM command not allowed when used memory > 'maxmemory'.")]
    Oom,
    /// Any other error, already in Redis's words (code included).
    #[error("{0}")]
    Other(Cow<'static, str>),
}

impl Error {
    /// An error with a fixed or formatted text, code included (`ERR ...`).
    pub fn msg(text: impl Into<Cow<'static, str>>) -> Self {
        Error::Other(text.into())
    }
}
