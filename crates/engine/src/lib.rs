//! Flint's engine: the keyspace and everything that changes it. Usable as an embedded library:
//! build an [`Engine`], give each client a [`Session`], and call [`Engine::execute`] with a
//! command's arguments and a [`ReplyWriter`]; call [`Engine::cron`] `hz` times a second for
//! active expiry.
//!
//! Layout: `keyspace` (databases, shards, segments), `value` (what a key holds), `ctx` (what a
//! handler sees, with the locks), `cmd` (the command table and the request path), one module
//! per command family (`types::string`, `keys`, `expire`, `conn`, `server`, `multi`), and
//! `config`, `clients`, `stats` for server state; `gate` lets EXEC run with nothing else
//! interleaved.

#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod blocking;
pub mod clients;
pub mod clock;
pub mod cmd;
pub mod config;
pub mod conn;
pub mod counter;
pub mod ctx;
pub mod engine;
pub mod error;
pub mod evict;
pub mod expire;
pub mod gate;
pub mod key;
pub mod keys;
pub mod keyspace;
pub mod latency_hist;
pub mod lazyfree;
pub mod lp;
pub mod memory;
pub mod multi;
pub mod notify;
pub(crate) mod pool;
pub mod pubsub;
pub mod scripting;
pub mod segtable;
pub mod server;
pub mod session;
pub mod small;
pub mod stats;
#[cfg(test)]
#[allow(clippy::expect_used, missing_docs)]
pub mod testkit;
pub mod types;
pub mod util;
pub mod value;

pub use ctx::{Action, Ctx};
pub use engine::{unix_ms, Engine, Propagate};
pub use error::{Error, Result};
pub use flint_protocol::ReplyWriter;
pub use session::Session;

/// Every module's command declarations, gathered into the table at start.
pub(crate) fn all_commands() -> Vec<&'static [cmd::CommandDef]> {
    vec![
        types::string::COMMANDS,
        types::hash::COMMANDS,
        types::list::COMMANDS,
        types::set::COMMANDS,
        types::zset::COMMANDS,
        conn::COMMANDS,
        keys::COMMANDS,
        expire::COMMANDS,
        server::COMMANDS,
        memory::COMMANDS,
        multi::COMMANDS,
        scripting::COMMANDS,
        pubsub::COMMANDS,
    ]
}
