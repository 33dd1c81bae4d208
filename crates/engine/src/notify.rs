//! Keyspace notifications (Redis's notify.c): when `notify-keyspace-events` enables an event's
//! class, a change to a key publishes `__keyspace@<db>__:<key>` -> event (flag `K`) and
//! `__keyevent@<db>__:<event>` -> key (flag `E`) through [`crate::pubsub`].
//!
//! [`Engine::notify`] is the one entry point; handlers call it through [`Ctx::notify`] (one
//! line per call site), which also delivers a message for the client itself into its reply
//! and first notifies the keys the command found expired. Disabled (the default), a
//! notification costs one relaxed atomic load: the configured classes live in
//! [`crate::config::Config::keyspace_events`], kept up to date by CONFIG SET.
//!
//! Events of the keyspace's own work: Redis emits `expired` (lazy expiry), `keymiss` (a
//! `lookupKeyRead` that found nothing) and `new` (`dbAdd`) from inside its lookups and writes.
//! The [`DbView`] does those, and it has no reply writer, so it records them as [`Note`]s
//! (only for the enabled classes, [`owe`]); they go out before the command's next event
//! ([`Ctx::notify`]) or after the command ([`Engine::notify_pending`]), so they keep Redis's
//! order: `keymiss` or `new` before the command's own event.

use crate::ctx::{Ctx, DbView};
use crate::engine::Engine;
use crate::key::Key;

/// `K`: publish on `__keyspace@<db>__:<key>`.
pub const KEYSPACE: u32 = 1 << 0;
/// `E`: publish on `__keyevent@<db>__:<event>`.
pub const KEYEVENT: u32 = 1 << 1;
/// `g`: generic commands (DEL, EXPIRE, RENAME...).
pub const GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub const STRING: u32 = 1 << 3;
/// `l`: list commands.
pub const LIST: u32 = 1 << 4;
/// `s`: set commands.
pub const SET: u32 = 1 << 5;
/// `h`: hash commands.
pub const HASH: u32 = 1 << 6;
/// `z`: sorted set commands.
pub const ZSET: u32 = 1 << 7;
/// `x`: expired events.
pub const EXPIRED: u32 = 1 << 8;
/// `e`: evicted events.
pub const EVICTED: u32 = 1 << 9;
/// `t`: stream commands.
pub const STREAM: u32 = 1 << 10;
/// `m`: key misses.
pub const KEY_MISS: u32 = 1 << 11;
/// `d`: module key types.
pub const MODULE: u32 = 1 << 12;
/// `n`: new keys.
pub const NEW: u32 = 1 << 13;

/// The classes `A` stands for.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// A keyspace event owed by the keyspace's own work (see the module docs).
pub struct Note {
    event: &'static str,
    db: usize,
    key: Key,
}

/// Records `event` (of class `class`) on `key` of `db` in `notes` if `flags` enable the class.
/// A free function so a [`DbView`] can call it while it borrows one of its shards.
#[inline]
pub(crate) fn owe(
    notes: &mut Vec<Note>,
    flags: u32,
    class: u32,
    event: &'static str,
    db: usize,
    key: &[u8],
) {
    if flags & class != 0 {
        notes.push(Note {
            event,
            db,
            key: Key::new(key),
        });
    }
}

/// The bits of a `notify-keyspace-events` value (unknown characters are ignored: the config
/// validated them).
pub fn flags_from_str(value: &str) -> u32 {
    value.chars().fold(0, |acc, c| {
        acc | match c {
            'A' => ALL,
            'g' => GENERIC,
            '$' => STRING,
            'l' => LIST,
            's' => SET,
            'h' => HASH,
            'z' => ZSET,
            'x' => EXPIRED,
            'e' => EVICTED,
            't' => STREAM,
            'm' => KEY_MISS,
            'd' => MODULE,
            'n' => NEW,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            _ => 0,
        }
    })
}

impl Engine {
    /// Notifies `event` of class `class` on `key` of database `db`, if configured.
    #[inline]
    pub fn notify(&self, class: u32, event: &str, db: usize, key: &[u8]) {
        let flags = self.config.keyspace_events();
        if flags & class != 0 {
            self.notify_slow(flags, event, db, key, None);
        }
    }

    #[cold]
    #[inline(never)]
    fn notify_slow(
        &self,
        flags: u32,
        event: &str,
        db: usize,
        key: &[u8],
        mut own: Option<(u64, &mut crate::ReplyWriter)>,
    ) {
        let limits = self.config.settings().pubsub_limits;
        let dbs = itoa::Buffer::new().format(db).to_owned();
        if flags & KEYSPACE != 0 {
            let mut chan = Vec::with_capacity(16 + dbs.len() + key.len());
            chan.extend_from_slice(b"__keyspace@");
            chan.extend_from_slice(dbs.as_bytes());
            chan.extend_from_slice(b"__:");
            chan.extend_from_slice(key);
            let own = own.as_mut().map(|(id, out)| (*id, &mut **out));
            self.pubsub
                .publish(false, &chan, event.as_bytes(), &limits, own);
        }
        if flags & KEYEVENT != 0 {
            let mut chan = Vec::with_capacity(16 + dbs.len() + event.len());
            chan.extend_from_slice(b"__keyevent@");
            chan.extend_from_slice(dbs.as_bytes());
            chan.extend_from_slice(b"__:");
            chan.extend_from_slice(event.as_bytes());
            self.pubsub.publish(false, &chan, key, &limits, own);
        }
    }

    /// Sends the events `db` still owes (the dispatcher calls it once a command is over).
    pub(crate) fn notify_pending(&self, db: &DbView<'_>) {
        if db.notes.is_empty() {
            return;
        }
        let flags = self.config.keyspace_events();
        for n in &db.notes {
            self.notify_slow(flags, n.event, n.db, n.key.as_slice(), None);
        }
    }
}

impl Ctx<'_> {
    /// Notifies `event` of class `class` on `key` of the selected database (see
    /// [`Ctx::notify_in`]).
    #[inline]
    pub fn notify(&mut self, class: u32, event: &str, key: &[u8]) {
        self.notify_in(class, event, self.db.db, key);
    }

    /// Notifies `event` of class `class` on `key` of database `db`, if configured: the events
    /// the keyspace owes first (see the module docs), then this one; a message to this client
    /// itself goes into its reply.
    #[inline]
    pub fn notify_in(&mut self, class: u32, event: &str, db: usize, key: &[u8]) {
        let flags = self.engine.config.keyspace_events();
        if flags & class != 0 || !self.db.notes.is_empty() {
            self.notify_in_slow(flags, class, event, db, key);
        }
    }

    /// The events of a removal from the collection at `key` (of the selected database):
    /// `event` (of `class`), then `del` if the removal emptied the collection, which deleted
    /// it. Redis's commands emit both, in this order.
    pub fn notify_removal(&mut self, class: u32, event: &str, key: &[u8], emptied: bool) {
        self.notify(class, event, key);
        if emptied {
            self.notify(GENERIC, "del", key);
        }
    }

    #[cold]
    #[inline(never)]
    fn notify_in_slow(&mut self, flags: u32, class: u32, event: &str, db: usize, key: &[u8]) {
        // Only a subscribed session is its own receiver (see `pubsub::publish_generic`); an
        // id no client has otherwise.
        let id = if self.sess.pubsub.is_subscribed() {
            self.sess.id
        } else {
            0
        };
        for n in std::mem::take(&mut self.db.notes) {
            self.engine.notify_slow(
                flags,
                n.event,
                n.db,
                n.key.as_slice(),
                Some((id, &mut *self.out)),
            );
        }
        if flags & class != 0 {
            self.engine
                .notify_slow(flags, event, db, key, Some((id, &mut *self.out)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_follow_redis_letters() {
        assert_eq!(flags_from_str(""), 0);
        assert_eq!(flags_from_str("KEA"), KEYSPACE | KEYEVENT | ALL);
        assert_eq!(flags_from_str("Ex"), KEYEVENT | EXPIRED);
        assert_eq!(flags_from_str("Kg$"), KEYSPACE | GENERIC | STRING);
        assert_eq!(flags_from_str("An") & NEW, NEW);
        assert_eq!(flags_from_str("m"), KEY_MISS);
    }
}
