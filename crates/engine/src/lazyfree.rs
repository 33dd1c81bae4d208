//! Freeing big values off the request path (UNLINK, FLUSHALL ASYNC, lazyfree-lazy-* settings),
//! as Redis's lazyfree background thread does.
//!
//! One long-lived thread drops what it is sent. The queue is bounded: when it is full the caller
//! drops the value itself, so a flood of UNLINKs slows the flooder instead of queueing without
//! limit or spawning threads.

use std::any::Any;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::OnceLock;

/// Values waiting to be freed, at most.
const QUEUE: usize = 1024;

type Garbage = Box<dyn Any + Send>;

fn queue() -> Option<&'static SyncSender<Garbage>> {
    static TX: OnceLock<Option<SyncSender<Garbage>>> = OnceLock::new();
    TX.get_or_init(|| {
        let (tx, rx) = sync_channel::<Garbage>(QUEUE);
        std::thread::Builder::new()
            .name("flint-lazyfree".into())
            .spawn(move || {
                for garbage in rx {
                    drop(garbage);
                }
            })
            .ok()
            .map(|_| tx)
    })
    .as_ref()
}

/// Drops `garbage` on the lazyfree thread, or right here if its queue is full (or it could not
/// be started).
pub fn free_later<T: Send + 'static>(garbage: T) {
    let Some(tx) = queue() else { return };
    match tx.try_send(Box::new(garbage)) {
        Ok(()) => {}
        Err(TrySendError::Full(g) | TrySendError::Disconnected(g)) => drop(g),
    }
}

/// Collections with more members than this are freed on the lazyfree thread (Redis's
/// `LAZYFREE_THRESHOLD`); smaller values cost less to free than to hand over.
pub const MEMBERS_THRESHOLD: usize = 64;
/// Strings bigger than this many heap bytes are freed on the lazyfree thread.
pub const BYTES_THRESHOLD: usize = 64 * 1024;

/// Drops a value removed from the keyspace: here if it is small, on the lazyfree thread if it is
/// a big collection or a big string, so that deleting or expiring a key of millions of members
/// never stalls the clients served by this thread.
#[inline]
pub fn drop_value(v: crate::value::Value) {
    if v.members() > MEMBERS_THRESHOLD || v.heap_size() > BYTES_THRESHOLD {
        free_later(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    struct Counted(Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn everything_sent_is_freed() {
        let n = Arc::new(AtomicUsize::new(0));
        for _ in 0..5000 {
            free_later(Counted(n.clone()));
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while n.load(Ordering::SeqCst) < 5000 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(n.load(Ordering::SeqCst), 5000);
    }
}
