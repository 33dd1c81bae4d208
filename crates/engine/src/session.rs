//! Per-connection state the engine needs: selected database, authentication, protocol version,
//! CLIENT settings, MULTI/WATCH state, and the shared [`ClientHandle`] that other connections
//! see in CLIENT LIST.

use std::sync::Arc;

use bytes::Bytes;

use crate::clients::ClientHandle;

/// CLIENT REPLY mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ReplyMode {
    /// Replies are sent.
    #[default]
    On,
    /// Replies are discarded.
    Off,
    /// The next command's reply is discarded.
    Skip,
    /// This command's reply is discarded (SKIP was just consumed).
    SkipThis,
}

/// One client's session.
#[derive(Debug)]
pub struct Session {
    /// Client id (CLIENT ID).
    pub id: u64,
    /// Selected database.
    pub db: usize,
    /// Whether the client may run commands (no requirepass, or AUTH succeeded).
    pub authenticated: bool,
    /// CLIENT REPLY mode.
    pub reply_mode: ReplyMode,
    /// CLIENT NO-EVICT.
    pub no_evict: bool,
    /// CLIENT NO-TOUCH: reads do not update keys' access clocks.
    pub no_touch: bool,
    /// The time commands see, in Unix ms, when frozen: a script's commands all see the time
    /// the script started, so no key expires half-way through it (as in Redis).
    pub frozen_now_ms: Option<u64>,
    /// Commands must not block (inside EXEC or a script): a blocking command with nothing to
    /// serve replies at once as if it had timed out.
    pub no_block: bool,
    /// Commands skip the maxmemory check (a script's commands: Redis checks maxmemory once,
    /// when the script starts, and the script's `redis.call` refuses writes from that; see
    /// `crate::scripting`).
    pub skip_oom_check: bool,
    /// Set while a blocked client's command is re-run to serve it: finding nothing, the
    /// command must neither reply nor block again (see `crate::blocking`).
    pub serving_blocked: bool,
    /// Wakes this client's connection when its blocked command was served (supplied by the
    /// server; without one a blocked client learns of it only at its deadline).
    pub block_waker: Option<crate::blocking::BlockWaker>,
    /// Keys made ready for blocked clients by commands run with `no_block` (inside EXEC or a
    /// script): served once the transaction or script is over, as Redis does.
    pub pending_ready: Vec<crate::blocking::Ready>,
    /// The handle other clients see.
    pub handle: Arc<ClientHandle>,
    /// MULTI/EXEC and WATCH state (see [`crate::multi`]).
    pub tx: crate::multi::TxState,
    /// Pub/sub subscriptions and the mailbox messages arrive in (see [`crate::pubsub`]).
    pub pubsub: crate::pubsub::ClientSubs,
    /// The connection's shared hold on the engine gate while it runs a batch (see
    /// `Engine::enter_batch`); EXEC upgrades it to exclusive.
    pub(crate) gate: Option<crate::gate::SharedHold>,
}

impl Session {
    /// A session for the client `handle`; `authenticated` when no password is required.
    pub fn new(handle: Arc<ClientHandle>, authenticated: bool) -> Self {
        Session {
            id: handle.id,
            db: 0,
            authenticated,
            reply_mode: ReplyMode::On,
            no_evict: false,
            no_touch: false,
            frozen_now_ms: None,
            no_block: false,
            skip_oom_check: false,
            serving_blocked: false,
            block_waker: None,
            pending_ready: Vec::new(),
            handle,
            tx: crate::multi::TxState::default(),
            pubsub: crate::pubsub::ClientSubs::default(),
            gate: None,
        }
    }

    /// The client name, if set.
    pub fn name(&self) -> Option<Bytes> {
        self.handle.info.lock().name.clone()
    }
}
