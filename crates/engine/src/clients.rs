//! The client registry: every connected client's [`ClientHandle`], for CLIENT LIST/INFO/KILL,
//! INFO clients and maxclients. The server registers a client when it connects and removes it
//! when it goes; the engine only reads and flags handles.
//!
//! A handle mirrors what other clients may need to see of a connection (CLIENT LIST is run by
//! one client about all the others, which cannot reach their [`crate::Session`]s): flags as
//! Redis's one-letter codes, subscription counts, the queued MULTI length, the last command.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

/// Mutable, rarely changed details of a client.
#[derive(Debug, Default, Clone)]
pub struct ClientInfo {
    /// CLIENT SETNAME.
    pub name: Option<Bytes>,
    /// CLIENT SETINFO LIB-NAME.
    pub lib_name: Option<Bytes>,
    /// CLIENT SETINFO LIB-VER.
    pub lib_ver: Option<Bytes>,
    /// Protocol version (2 or 3).
    pub resp: u8,
    /// Flags shown in CLIENT LIST (`M` master, `O` monitor, `x` in MULTI...; see
    /// [`FLAG_ORDER`]). Change them with [`ClientHandle::set_flag`]; an `N` here is ignored.
    pub flags: String,
}

/// What the server does when the engine asks it to close a client.
pub type Waker = Box<dyn Fn() + Send + Sync>;

/// A client as the rest of the server sees it.
pub struct ClientHandle {
    /// Unique id, never reused.
    pub id: u64,
    /// Peer address.
    pub addr: Option<SocketAddr>,
    /// Local address.
    pub laddr: Option<SocketAddr>,
    /// Connection time, Unix ms.
    pub created_ms: u64,
    /// Last command time, Unix ms.
    pub last_ms: AtomicU64,
    /// Selected database.
    pub db: AtomicUsize,
    /// The last command run, as (command, subcommand or ""), for `cmd=` in CLIENT LIST
    /// (`("NULL", "")` before the first one).
    pub last_cmd: AtomicU32,
    /// Query buffer size and output buffer size, as last reported by the connection.
    pub qbuf: AtomicUsize,
    /// Output buffer bytes pending.
    pub omem: AtomicUsize,
    /// Rarely changed details.
    pub info: Mutex<ClientInfo>,
    /// Set when the client must be closed (CLIENT KILL, maxclients...).
    pub killed: AtomicBool,
    /// The socket's file descriptor (`fd=` in CLIENT LIST; -1 when there is none).
    pub fd: AtomicI64,
    /// Channels subscribed to (`sub=`), kept by the pub/sub commands.
    pub subs: AtomicUsize,
    /// Patterns subscribed to (`psub=`), kept by the pub/sub commands.
    pub psubs: AtomicUsize,
    /// Shard channels subscribed to (`ssub=`), kept by the pub/sub commands.
    pub ssubs: AtomicUsize,
    /// Commands queued in MULTI, or -1 outside MULTI (`multi=`), kept by MULTI/EXEC. The `x`
    /// flag shows while it is not -1.
    pub multi_len: AtomicI64,
    /// A key the client WATCHes was touched: its EXEC will fail (Redis's `CLIENT_DIRTY_CAS`,
    /// the `d` flag). Set by whoever touches the key, cleared by EXEC, DISCARD, UNWATCH, RESET.
    pub dirty_cas: AtomicBool,
    waker: Waker,
}

/// Redis's one-letter client flags in the order CLIENT LIST prints them: `O` monitor, `S`
/// replica, `M` master, `P` pub/sub, `x` in MULTI, `b` blocked, `t` tracking, `R` broken
/// redirect, `B` broadcast tracking, `d` dirty CAS, `c` close after reply, `u` unblocked, `A`
/// close asap, `U` unix socket, `r` readonly, `e` no-evict, `T` no-touch.
pub const FLAG_ORDER: &str = "OSMPxbtRBdcuAUreT";

impl std::fmt::Debug for ClientHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientHandle")
            .field("id", &self.id)
            .field("addr", &self.addr)
            .finish()
    }
}

impl ClientHandle {
    /// Marks the client for closing and wakes its connection.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        (self.waker)();
    }

    /// Whether the client was told to close.
    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }

    /// Sets or clears one of the one-letter flags of [`FLAG_ORDER`] (`N`, "no flags", is
    /// implied and never stored).
    pub fn set_flag(&self, flag: char, on: bool) {
        let mut info = self.info.lock();
        let had = info.flags.contains(flag);
        if on && !had {
            info.flags.push(flag);
        } else if !on && had {
            info.flags.retain(|c| c != flag);
        }
    }

    /// Whether flag `flag` is set.
    pub fn has_flag(&self, flag: char) -> bool {
        self.info.lock().flags.contains(flag)
    }

    /// The `flags=` field of CLIENT LIST: the set flags in Redis's order, or `N` when none.
    pub fn flags_string(&self) -> String {
        let info = self.info.lock();
        let multi = self.multi_len.load(Ordering::Relaxed) >= 0;
        let dirty = self.dirty_cas.load(Ordering::Relaxed);
        let s: String = FLAG_ORDER
            .chars()
            .filter(|&c| info.flags.contains(c) || (c == 'x' && multi) || (c == 'd' && dirty))
            .collect();
        if s.is_empty() {
            "N".into()
        } else {
            s
        }
    }

    /// The `cmd=` field of CLIENT LIST: `get`, `client|list`, or `NULL`.
    pub fn last_cmd_name<'t>(&self, table: &'t crate::cmd::Table) -> &'t str {
        table.name_of(self.last_cmd.load(Ordering::Relaxed))
    }

    /// Whether the client is a MONITOR.
    pub fn is_monitor(&self) -> bool {
        self.has_flag('O')
    }
}

/// All connected clients.
#[derive(Default)]
pub struct Clients {
    next_id: AtomicU64,
    map: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
}

impl Clients {
    /// Registers a new client and returns its handle.
    pub fn register(
        &self,
        addr: Option<SocketAddr>,
        laddr: Option<SocketAddr>,
        now_ms: u64,
        waker: Waker,
    ) -> Arc<ClientHandle> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let h = Arc::new(ClientHandle {
            id,
            addr,
            laddr,
            created_ms: now_ms,
            last_ms: AtomicU64::new(now_ms),
            db: AtomicUsize::new(0),
            last_cmd: AtomicU32::new(0),
            qbuf: AtomicUsize::new(0),
            omem: AtomicUsize::new(0),
            info: Mutex::new(ClientInfo {
                resp: 2,
                flags: "N".into(),
                ..Default::default()
            }),
            killed: AtomicBool::new(false),
            fd: AtomicI64::new(-1),
            subs: AtomicUsize::new(0),
            psubs: AtomicUsize::new(0),
            ssubs: AtomicUsize::new(0),
            multi_len: AtomicI64::new(-1),
            dirty_cas: AtomicBool::new(false),
            waker,
        });
        self.map.lock().insert(id, h.clone());
        h
    }

    /// Removes a client that disconnected.
    pub fn unregister(&self, id: u64) {
        self.map.lock().remove(&id);
    }

    /// Number of connected clients.
    pub fn len(&self) -> usize {
        self.map.lock().len()
    }

    /// Whether no client is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A snapshot of all clients, by id.
    pub fn all(&self) -> Vec<Arc<ClientHandle>> {
        self.map.lock().values().cloned().collect()
    }

    /// The client with `id`.
    pub fn get(&self, id: u64) -> Option<Arc<ClientHandle>> {
        self.map.lock().get(&id).cloned()
    }
}
