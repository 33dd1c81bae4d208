//! How `redis.call` reaches the keyspace: the one narrow seam between the Lua side and the
//! command machinery.
//!
//! The Lua side does everything Redis's `scriptCall` does before running a command (lookup,
//! arity, `noscript`, read-only scripts refusing writes) and then hands the already-checked
//! command line to a [`ScriptCalls`]; the reply bytes it writes are converted back to Lua.
//!
//! [`ExecuteCalls`] runs each command through [`Engine::execute`] with a script session (no
//! blocking, the caller's database; SELECT inside the script moves only the script's session).
//! Atomicity does not come from here: the whole script runs inside
//! [`Engine::with_exclusive`] (see `run_script`), so while it runs no other client's command
//! does, and each call simply locks its own keys' shards, uncontended.

use std::sync::Arc;

use flint_protocol::ReplyWriter;

use crate::clients::ClientHandle;
use crate::cmd::Command;
use crate::engine::Engine;
use crate::session::Session;

/// Runs the commands a script calls.
pub trait ScriptCalls {
    /// Runs `args` (a command line that passed the script checks; `cmd` is its table entry)
    /// as the script's client and writes the reply to `out`.
    fn call(&mut self, cmd: &Command, args: &[&[u8]], out: &mut ReplyWriter);
}

/// [`ScriptCalls`] through [`Engine::execute`] (each command locks its own keys; the script as
/// a whole holds the engine gate exclusively).
pub struct ExecuteCalls<'e> {
    engine: &'e Engine,
    sess: Session,
}

impl<'e> ExecuteCalls<'e> {
    /// A script client on `db`, for a script run by the client `caller`, whose command started
    /// at `now_ms`.
    pub fn new(engine: &'e Engine, handle: Arc<ClientHandle>, db: usize, now_ms: u64) -> Self {
        let mut sess = Session::new(handle, true);
        sess.db = db;
        sess.no_block = true;
        sess.skip_oom_check = true;
        // Time stands still for the script's commands: keys expire as of its start.
        sess.frozen_now_ms = Some(now_ms);
        ExecuteCalls { engine, sess }
    }
}

impl ScriptCalls for ExecuteCalls<'_> {
    fn call(&mut self, _cmd: &Command, args: &[&[u8]], out: &mut ReplyWriter) {
        let _ = self.engine.execute(&mut self.sess, args, out);
    }
}
