//! The client registry: every connected client's [`ClientHandle`], for CLIENT LIST/INFO/KILL,
//! INFO clients and maxclients. The server registers a client when it connects and removes it
//! when it goes; the engine only reads and flags handles.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
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
    /// Flags shown in CLIENT LIST (`N` normal, `M` master, `O` monitor, `x` in MULTI...).
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
    /// Index of the last command in the command table (for `cmd=` in CLIENT LIST).
    pub last_cmd: Mutex<&'static str>,
    /// Query buffer size and output buffer size, as last reported by the connection.
    pub qbuf: AtomicUsize,
    /// Output buffer bytes pending.
    pub omem: AtomicUsize,
    /// Rarely changed details.
    pub info: Mutex<ClientInfo>,
    /// Set when the client must be closed (CLIENT KILL, maxclients...).
    pub killed: AtomicBool,
    waker: Waker,
}

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
            last_cmd: Mutex::new("NULL"),
            qbuf: AtomicUsize::new(0),
            omem: AtomicUsize::new(0),
            info: Mutex::new(ClientInfo {
                resp: 2,
                flags: "N".into(),
                ..Default::default()
            }),
            killed: AtomicBool::new(false),
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
