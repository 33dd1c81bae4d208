//! Publish/subscribe: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their UNSUBSCRIBEs, PUBLISH,
//! SPUBLISH and PUBSUB, as Redis 7.0 (pubsub.c).
//!
//! Two halves. The [`PubSub`] registry maps channels, patterns and shard channels to the
//! [`Mailbox`]es of their subscribers; PUBLISH (and keyspace notifications, see
//! [`crate::notify`]) looks the receivers up there and drops one encoded frame into each
//! mailbox. The [`ClientSubs`] kept in a client's [`Session`] say what that client is subscribed
//! to (what UNSUBSCRIBE without arguments, RESET and disconnection undo) and hold its mailbox.
//!
//! Delivery is asynchronous: a mailbox is a queue of ready-made frames plus a waker that the
//! server's connection task listens to; the task writes the frames out between commands.
//! Frames are encoded once per PUBLISH and shared by every receiver (`Bytes`), as RESP2
//! arrays: a RESP3 connection swaps the leading `*` for `>` when it writes them
//! ([`Mailbox::drain_into`]), so a client that changes protocol gets the right framing. A
//! message to the publishing client itself goes straight into its reply, before the
//! command's own reply, as in Redis.
//!
//! Slow subscribers: a mailbox counts the bytes queued and not yet taken by its connection,
//! and applies the `pubsub` class of `client-output-buffer-limit` (hard limit: close at once;
//! soft limit: close when over it for longer than its seconds) by killing the client.
//!
//! Lock order: a shard lock (held by a command that notifies) may be held when the registry
//! lock is taken, never the other way round; mailbox locks are taken last and never held
//! while taking anything else.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use parking_lot::{Mutex, RwLock};

use crate::blocking::BlockWaker;
use crate::clients::ClientHandle;
use crate::cmd::{container, def, CommandDef, KeySpec};
use crate::ctx::Ctx;
use crate::engine::{unix_ms, Engine};
use crate::error::{Error, Result};
use crate::session::Session;
use crate::stats::Stats;
use crate::util::glob_match;
use crate::ReplyWriter;

/// The three kinds of subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// SUBSCRIBE: one channel.
    Channel,
    /// PSUBSCRIBE: every channel matching a glob pattern.
    Pattern,
    /// SSUBSCRIBE: one shard channel (a separate namespace).
    Shard,
}

impl Kind {
    fn subscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"subscribe",
            Kind::Pattern => b"psubscribe",
            Kind::Shard => b"ssubscribe",
        }
    }

    fn unsubscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"unsubscribe",
            Kind::Pattern => b"punsubscribe",
            Kind::Shard => b"sunsubscribe",
        }
    }
}

/// The `pubsub` class of `client-output-buffer-limit`: bytes and seconds, 0 for none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputLimits {
    /// Close the client as soon as this many bytes are queued.
    pub hard_bytes: u64,
    /// Close the client once over this many bytes for longer than `soft_secs`.
    pub soft_bytes: u64,
    /// See `soft_bytes`.
    pub soft_secs: u64,
}

impl Default for OutputLimits {
    /// Redis's defaults: 32mb hard, 8mb for 60 seconds soft.
    fn default() -> Self {
        OutputLimits {
            hard_bytes: 32 << 20,
            soft_bytes: 8 << 20,
            soft_secs: 60,
        }
    }
}

impl OutputLimits {
    /// The `pubsub` class of a `client-output-buffer-limit` value (`normal 0 0 0 slave ...
    /// pubsub 33554432 8388608 60`, sizes with units allowed); the defaults when absent or
    /// unreadable.
    pub fn from_config(value: &str) -> Self {
        let words: Vec<&str> = value.split_whitespace().collect();
        for w in words.chunks(4) {
            if let [class, hard, soft, secs] = w {
                if class.eq_ignore_ascii_case("pubsub") {
                    let (Some(hard), Some(soft), Ok(secs)) = (
                        crate::config::parse_memory(hard),
                        crate::config::parse_memory(soft),
                        secs.parse::<u64>(),
                    ) else {
                        break;
                    };
                    return OutputLimits {
                        hard_bytes: hard,
                        soft_bytes: soft,
                        soft_secs: secs,
                    };
                }
            }
        }
        OutputLimits::default()
    }
}

/// One subscribed client's queue of messages, filled by publishers and drained by its
/// connection.
pub struct Mailbox {
    /// The subscribed client.
    pub client_id: u64,
    frames: Mutex<VecDeque<Bytes>>,
    queued_bytes: AtomicUsize,
    /// Unix ms since when the queue has been over the soft limit (0: it is not).
    soft_since_ms: AtomicU64,
    /// Set once the client was closed for falling behind: nothing more is queued.
    dead: AtomicBool,
    handle: Arc<ClientHandle>,
    waker: Option<BlockWaker>,
}

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox")
            .field("client_id", &self.client_id)
            .field("queued_bytes", &self.queued_bytes)
            .finish()
    }
}

impl Mailbox {
    /// Whether messages are waiting.
    #[inline]
    pub fn has_pending(&self) -> bool {
        self.queued_bytes.load(Ordering::Acquire) != 0
    }

    /// Bytes queued and not yet taken by the connection.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes.load(Ordering::Relaxed)
    }

    /// Moves every queued frame to the end of `out`, framed for `out`'s protocol (a push in
    /// RESP3, an array in RESP2).
    pub fn drain_into(&self, out: &mut ReplyWriter) {
        let frames: VecDeque<Bytes> = std::mem::take(&mut *self.frames.lock());
        let mut n = 0;
        for f in &frames {
            n += f.len();
            write_frame(out, f);
        }
        self.queued_bytes.fetch_sub(n, Ordering::AcqRel);
    }

    /// Queues one frame, applying the output limits; wakes the connection.
    fn deliver(&self, frame: &Bytes, limits: &OutputLimits) {
        if self.dead.load(Ordering::Relaxed) {
            return;
        }
        let total = {
            let mut q = self.frames.lock();
            q.push_back(frame.clone());
            self.queued_bytes.fetch_add(frame.len(), Ordering::AcqRel) + frame.len()
        } as u64;
        let over_hard = limits.hard_bytes > 0 && total > limits.hard_bytes;
        let over_soft = limits.soft_bytes > 0 && total > limits.soft_bytes;
        let mut close = over_hard;
        if over_soft && !close {
            let now = unix_ms();
            let since = self.soft_since_ms.load(Ordering::Relaxed);
            if since == 0 {
                self.soft_since_ms.store(now, Ordering::Relaxed);
            } else if now.saturating_sub(since) > limits.soft_secs.saturating_mul(1000) {
                close = true;
            }
        } else if !over_soft {
            self.soft_since_ms.store(0, Ordering::Relaxed);
        }
        if close {
            self.dead.store(true, Ordering::Relaxed);
            tracing::warn!(
                "Client id={} scheduled to be closed ASAP for overcoming of output buffer limits.",
                self.client_id
            );
            self.frames.lock().clear();
            self.handle.kill();
            return;
        }
        if let Some(w) = &self.waker {
            w.wake();
        }
    }
}

/// Writes a frame encoded as a RESP2 array, as a push in RESP3.
fn write_frame(out: &mut ReplyWriter, frame: &[u8]) {
    match frame.split_first() {
        Some((b'*', rest)) if out.is_resp3() => {
            out.raw(b">");
            out.raw(rest);
        }
        _ => out.raw(frame),
    }
}

/// Appends a bulk string to a frame under construction.
fn put_bulk(buf: &mut BytesMut, data: &[u8]) {
    buf.put_u8(b'$');
    buf.put_slice(itoa::Buffer::new().format(data.len()).as_bytes());
    buf.put_slice(b"\r\n");
    buf.put_slice(data);
    buf.put_slice(b"\r\n");
}

/// A message frame: `[message, channel, payload]` or `[pmessage, pattern, channel, payload]`.
fn message_frame(word: &[u8], pattern: Option<&[u8]>, channel: &[u8], msg: &[u8]) -> Bytes {
    let mut buf = BytesMut::with_capacity(32 + channel.len() + msg.len());
    buf.put_slice(if pattern.is_some() {
        b"*4\r\n"
    } else {
        b"*3\r\n"
    });
    put_bulk(&mut buf, word);
    if let Some(p) = pattern {
        put_bulk(&mut buf, p);
    }
    put_bulk(&mut buf, channel);
    put_bulk(&mut buf, msg);
    buf.freeze()
}

/// Who receives what: channels, patterns and shard channels, each with its subscribers in
/// subscription order.
#[derive(Default)]
struct Registry {
    channels: HashMap<Bytes, Vec<Arc<Mailbox>>>,
    patterns: HashMap<Bytes, Vec<Arc<Mailbox>>>,
    shard: HashMap<Bytes, Vec<Arc<Mailbox>>>,
}

impl Registry {
    /// Channels, or shard channels when `shard`.
    fn channels(&self, shard: bool) -> &HashMap<Bytes, Vec<Arc<Mailbox>>> {
        if shard {
            &self.shard
        } else {
            &self.channels
        }
    }

    fn map(&mut self, kind: Kind) -> &mut HashMap<Bytes, Vec<Arc<Mailbox>>> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }
}

/// The server-wide pub/sub registry.
#[derive(Default)]
pub struct PubSub {
    reg: RwLock<Registry>,
    /// Whether anyone is subscribed to anything: PUBLISH to nobody takes no lock.
    any: AtomicUsize,
}

impl PubSub {
    fn add(&self, kind: Kind, name: &Bytes, mb: &Arc<Mailbox>, stats: &Stats) {
        let mut reg = self.reg.write();
        let map = reg.map(kind);
        map.entry(name.clone()).or_default().push(mb.clone());
        let n = map.len() as u64;
        self.any.fetch_add(1, Ordering::Release);
        gauge(kind, stats).store(n, Ordering::Relaxed);
    }

    fn remove(&self, kind: Kind, name: &[u8], client_id: u64, stats: &Stats) {
        let mut reg = self.reg.write();
        let map = reg.map(kind);
        if let Some(list) = map.get_mut(name) {
            let before = list.len();
            list.retain(|m| m.client_id != client_id);
            if list.len() < before {
                self.any.fetch_sub(1, Ordering::Release);
            }
            if list.is_empty() {
                map.remove(name);
            }
        }
        let n = map.len() as u64;
        gauge(kind, stats).store(n, Ordering::Relaxed);
    }

    /// Delivers `msg` on `channel` (a shard channel when `shard`) to every subscriber, and
    /// for a normal channel to every matching pattern; returns how many deliveries were made
    /// (a client subscribed both ways counts twice, as in Redis). A delivery to `own` (the
    /// publishing client) is written into `own`'s reply buffer at once instead of queued.
    pub fn publish(
        &self,
        shard: bool,
        channel: &[u8],
        msg: &[u8],
        limits: &OutputLimits,
        mut own: Option<(u64, &mut ReplyWriter)>,
    ) -> usize {
        if self.any.load(Ordering::Acquire) == 0 {
            return 0;
        }
        let mut deliver = |mb: &Arc<Mailbox>, frame: &Bytes| match &mut own {
            Some((id, out)) if *id == mb.client_id => write_frame(out, frame),
            _ => mb.deliver(frame, limits),
        };
        let reg = self.reg.read();
        let mut receivers = 0;
        let map = reg.channels(shard);
        if let Some(list) = map.get(channel) {
            let word: &[u8] = if shard { b"smessage" } else { b"message" };
            let frame = message_frame(word, None, channel, msg);
            for mb in list {
                deliver(mb, &frame);
            }
            receivers += list.len();
        }
        if !shard {
            for (pattern, list) in &reg.patterns {
                if !glob_match(pattern, channel, false) {
                    continue;
                }
                let frame = message_frame(b"pmessage", Some(pattern), channel, msg);
                for mb in list {
                    deliver(mb, &frame);
                }
                receivers += list.len();
            }
        }
        receivers
    }

    /// Active channels (`shard`: shard channels) matching `pattern` (all if `None`).
    pub fn channels(&self, shard: bool, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let reg = self.reg.read();
        let map = reg.channels(shard);
        map.keys()
            .filter(|c| pattern.is_none_or(|p| glob_match(p, c, false)))
            .cloned()
            .collect()
    }

    /// Subscribers of `channel` (`shard`: of the shard channel), patterns not counted.
    pub fn numsub(&self, shard: bool, channel: &[u8]) -> usize {
        let reg = self.reg.read();
        let map = reg.channels(shard);
        map.get(channel).map_or(0, Vec::len)
    }

    /// Distinct patterns subscribed to (PUBSUB NUMPAT).
    pub fn numpat(&self) -> usize {
        self.reg.read().patterns.len()
    }
}

fn gauge(kind: Kind, stats: &Stats) -> &AtomicU64 {
    match kind {
        Kind::Channel => &stats.pubsub_channels,
        Kind::Pattern => &stats.pubsub_patterns,
        Kind::Shard => &stats.pubsubshard_channels,
    }
}

/// One client's subscriptions, kept in its [`Session`].
#[derive(Debug, Default)]
pub struct ClientSubs {
    channels: HashSet<Bytes>,
    /// In subscription order (PUNSUBSCRIBE without arguments replies in it, as Redis's list).
    patterns: Vec<Bytes>,
    shard: HashSet<Bytes>,
    mailbox: Option<Arc<Mailbox>>,
    /// Wakes the client's connection when a message is queued (supplied by the server).
    pub waker: Option<BlockWaker>,
}

impl ClientSubs {
    /// Channels plus patterns: the count SUBSCRIBE and PSUBSCRIBE replies carry.
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// Whether the client is in the subscribed state (any kind of subscription).
    #[inline]
    pub fn is_subscribed(&self) -> bool {
        self.mailbox.is_some()
    }

    /// The client's mailbox, while it is subscribed.
    pub fn mailbox(&self) -> Option<&Arc<Mailbox>> {
        self.mailbox.as_ref()
    }

    fn count_for(&self, kind: Kind) -> usize {
        match kind {
            Kind::Shard => self.shard.len(),
            _ => self.count(),
        }
    }

    fn has(&self, kind: Kind, name: &[u8]) -> bool {
        match kind {
            Kind::Channel => self.channels.contains(name),
            Kind::Pattern => self.patterns.iter().any(|p| p == name),
            Kind::Shard => self.shard.contains(name),
        }
    }

    fn insert(&mut self, kind: Kind, name: Bytes) {
        match kind {
            Kind::Channel => {
                self.channels.insert(name);
            }
            Kind::Pattern => self.patterns.push(name),
            Kind::Shard => {
                self.shard.insert(name);
            }
        }
    }

    fn take(&mut self, kind: Kind, name: &[u8]) -> bool {
        match kind {
            Kind::Channel => self.channels.remove(name),
            Kind::Pattern => match self.patterns.iter().position(|p| p == name) {
                Some(i) => {
                    self.patterns.remove(i);
                    true
                }
                None => false,
            },
            Kind::Shard => self.shard.remove(name),
        }
    }

    fn names(&self, kind: Kind) -> Vec<Bytes> {
        match kind {
            Kind::Channel => self.channels.iter().cloned().collect(),
            Kind::Pattern => self.patterns.clone(),
            Kind::Shard => self.shard.iter().cloned().collect(),
        }
    }
}

impl Engine {
    /// Publishes `msg` on `channel` to every subscriber (see [`PubSub::publish`]); returns the
    /// number of receivers.
    pub fn publish(&self, channel: &[u8], msg: &[u8]) -> usize {
        let limits = self.config.settings().pubsub_limits;
        self.pubsub.publish(false, channel, msg, &limits, None)
    }

    /// Drops every subscription of `sess` without replying (RESET, disconnection).
    pub fn unsubscribe_all(&self, sess: &mut Session) {
        if !sess.pubsub.is_subscribed() {
            return;
        }
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            for name in sess.pubsub.names(kind) {
                unsubscribe_one(self, sess, kind, &name);
            }
        }
        leave_subscribed_state(sess);
    }
}

/// Adds one subscription (if new) to the session and the registry.
fn subscribe_one(engine: &Engine, sess: &mut Session, kind: Kind, name: &[u8]) {
    if sess.pubsub.has(kind, name) {
        return;
    }
    let mb = match &sess.pubsub.mailbox {
        Some(mb) => mb.clone(),
        None => {
            let mb = Arc::new(Mailbox {
                client_id: sess.id,
                frames: Mutex::new(VecDeque::new()),
                queued_bytes: AtomicUsize::new(0),
                soft_since_ms: AtomicU64::new(0),
                dead: AtomicBool::new(false),
                handle: sess.handle.clone(),
                waker: sess.pubsub.waker.clone(),
            });
            sess.pubsub.mailbox = Some(mb.clone());
            sess.handle.set_flag('P', true);
            mb
        }
    };
    let name = Bytes::copy_from_slice(name);
    engine.pubsub.add(kind, &name, &mb, &engine.stats);
    sess.pubsub.insert(kind, name);
    counter(sess, kind).fetch_add(1, Ordering::Relaxed);
}

/// Removes one subscription; false if the session did not have it.
fn unsubscribe_one(engine: &Engine, sess: &mut Session, kind: Kind, name: &[u8]) -> bool {
    if !sess.pubsub.take(kind, name) {
        return false;
    }
    engine.pubsub.remove(kind, name, sess.id, &engine.stats);
    counter(sess, kind).fetch_sub(1, Ordering::Relaxed);
    true
}

fn counter(sess: &Session, kind: Kind) -> &AtomicUsize {
    match kind {
        Kind::Channel => &sess.handle.subs,
        Kind::Pattern => &sess.handle.psubs,
        Kind::Shard => &sess.handle.ssubs,
    }
}

/// After an unsubscription: a client left with no subscription at all leaves the subscribed
/// state (its mailbox goes; what it still held is dropped, as Redis has written nothing of it).
fn leave_subscribed_state(sess: &mut Session) {
    if sess.pubsub.count() == 0 && sess.pubsub.shard.is_empty() {
        sess.pubsub.mailbox = None;
        sess.handle.set_flag('P', false);
    }
}

/// `[subscribe|psubscribe|ssubscribe, name, count]`, or the unsubscribe form (a null name when
/// there was nothing to unsubscribe from).
fn reply_subscription(out: &mut ReplyWriter, word: &[u8], name: Option<&[u8]>, count: usize) {
    out.push(3);
    out.bulk(word);
    match name {
        Some(n) => out.bulk(n),
        None => out.null(),
    }
    out.int(count as i64);
}

fn subscribe_generic(ctx: &mut Ctx<'_>, kind: Kind) -> Result<()> {
    for i in 1..ctx.args.len() {
        let name = ctx.args[i];
        subscribe_one(ctx.engine, ctx.sess, kind, name);
        let count = ctx.sess.pubsub.count_for(kind);
        reply_subscription(ctx.out, kind.subscribe_word(), Some(name), count);
    }
    Ok(())
}

fn unsubscribe_generic(ctx: &mut Ctx<'_>, kind: Kind) -> Result<()> {
    let word = kind.unsubscribe_word();
    if ctx.args.len() > 1 {
        for i in 1..ctx.args.len() {
            let name = ctx.args[i];
            unsubscribe_one(ctx.engine, ctx.sess, kind, name);
            let count = ctx.sess.pubsub.count_for(kind);
            reply_subscription(ctx.out, word, Some(name), count);
        }
    } else {
        let names = ctx.sess.pubsub.names(kind);
        for name in &names {
            unsubscribe_one(ctx.engine, ctx.sess, kind, name);
            let count = ctx.sess.pubsub.count_for(kind);
            reply_subscription(ctx.out, word, Some(name), count);
        }
        if names.is_empty() {
            let count = ctx.sess.pubsub.count_for(kind);
            reply_subscription(ctx.out, word, None, count);
        }
    }
    leave_subscribed_state(ctx.sess);
    Ok(())
}

// SUBSCRIBE channel [channel ...]
fn subscribe(ctx: &mut Ctx<'_>) -> Result<()> {
    subscribe_generic(ctx, Kind::Channel)
}

// PSUBSCRIBE pattern [pattern ...]
fn psubscribe(ctx: &mut Ctx<'_>) -> Result<()> {
    subscribe_generic(ctx, Kind::Pattern)
}

// SSUBSCRIBE shardchannel [shardchannel ...]
fn ssubscribe(ctx: &mut Ctx<'_>) -> Result<()> {
    subscribe_generic(ctx, Kind::Shard)
}

// UNSUBSCRIBE [channel [channel ...]]
fn unsubscribe(ctx: &mut Ctx<'_>) -> Result<()> {
    unsubscribe_generic(ctx, Kind::Channel)
}

// PUNSUBSCRIBE [pattern [pattern ...]]
fn punsubscribe(ctx: &mut Ctx<'_>) -> Result<()> {
    unsubscribe_generic(ctx, Kind::Pattern)
}

// SUNSUBSCRIBE [shardchannel [shardchannel ...]]
fn sunsubscribe(ctx: &mut Ctx<'_>) -> Result<()> {
    unsubscribe_generic(ctx, Kind::Shard)
}

fn publish_generic(ctx: &mut Ctx<'_>, shard: bool) -> Result<()> {
    let limits = ctx.engine.config.settings().pubsub_limits;
    // Only a subscribed session is its own receiver (a script's session shares its caller's
    // id but writes into the script's reply).
    let own = ctx
        .sess
        .pubsub
        .is_subscribed()
        .then_some((ctx.sess.id, &mut *ctx.out));
    let n = ctx
        .engine
        .pubsub
        .publish(shard, ctx.args[1], ctx.args[2], &limits, own);
    ctx.out.int(n as i64);
    Ok(())
}

// PUBLISH channel message
fn publish(ctx: &mut Ctx<'_>) -> Result<()> {
    publish_generic(ctx, false)
}

// SPUBLISH shardchannel message
fn spublish(ctx: &mut Ctx<'_>) -> Result<()> {
    publish_generic(ctx, true)
}

fn channels_generic(ctx: &mut Ctx<'_>, shard: bool) -> Result<()> {
    if ctx.args.len() > 3 {
        return Err(crate::server::subcommand_syntax(ctx));
    }
    let pattern = ctx.args.get(2).copied();
    let list = ctx.engine.pubsub.channels(shard, pattern);
    ctx.out.array(list.len());
    for c in &list {
        ctx.out.bulk(c);
    }
    Ok(())
}

fn numsub_generic(ctx: &mut Ctx<'_>, shard: bool) -> Result<()> {
    let names = &ctx.args[2..];
    ctx.out.array(names.len() * 2);
    for name in names {
        ctx.out.bulk(name);
        ctx.out.int(ctx.engine.pubsub.numsub(shard, name) as i64);
    }
    Ok(())
}

// PUBSUB CHANNELS [pattern]
fn pubsub_channels(ctx: &mut Ctx<'_>) -> Result<()> {
    channels_generic(ctx, false)
}

// PUBSUB SHARDCHANNELS [pattern]
fn pubsub_shardchannels(ctx: &mut Ctx<'_>) -> Result<()> {
    channels_generic(ctx, true)
}

// PUBSUB NUMSUB [channel [channel ...]]
fn pubsub_numsub(ctx: &mut Ctx<'_>) -> Result<()> {
    numsub_generic(ctx, false)
}

// PUBSUB SHARDNUMSUB [shardchannel [shardchannel ...]]
fn pubsub_shardnumsub(ctx: &mut Ctx<'_>) -> Result<()> {
    numsub_generic(ctx, true)
}

// PUBSUB NUMPAT
fn pubsub_numpat(ctx: &mut Ctx<'_>) -> Result<()> {
    ctx.out.int(ctx.engine.pubsub.numpat() as i64);
    Ok(())
}

// PUBSUB HELP
fn pubsub_help(ctx: &mut Ctx<'_>) -> Result<()> {
    crate::server::reply_help(
        ctx,
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
    Ok(())
}

/// The commands a RESP2 client may run while subscribed.
const ALLOWED_WHILE_SUBSCRIBED: &[&str] = &[
    "ping",
    "subscribe",
    "ssubscribe",
    "unsubscribe",
    "sunsubscribe",
    "psubscribe",
    "punsubscribe",
    "quit",
    "reset",
];

/// The dispatcher's check for a subscribed RESP2 client: only the commands of
/// [`ALLOWED_WHILE_SUBSCRIBED`] may run (RESP3 has no such limit, its messages being pushes).
#[inline]
pub fn check_context<'c>(
    sess: &Session,
    resp3: bool,
    cmd: &'c crate::cmd::Command,
) -> Result<&'c crate::cmd::Command> {
    if !sess.pubsub.is_subscribed() || resp3 {
        return Ok(cmd);
    }
    if ALLOWED_WHILE_SUBSCRIBED.contains(&cmd.full_name.as_str()) {
        return Ok(cmd);
    }
    cmd.stats.reject();
    Err(Error::msg(format!(
        "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
        cmd.full_name
    )))
}

const SHARD_SPEC: &[crate::cmd::KeySpecDef] = &[crate::cmd::KeySpecDef::range(1, -1, 1, "not_key")];
const SHARD_SPEC_ONE: &[crate::cmd::KeySpecDef] =
    &[crate::cmd::KeySpecDef::range(1, 0, 1, "not_key")];

/// The pub/sub commands.
pub static COMMANDS: &[CommandDef] = &[
    def(
        "subscribe",
        -2,
        "pubsub noscript loading stale",
        KeySpec::None,
        "@pubsub",
        "pubsub",
        "Listen for messages published to the given channels",
        "2.0.0",
        subscribe,
    )
    .complexity("O(N) where N is the number of channels to subscribe to."),
    def(
        "psubscribe",
        -2,
        "pubsub noscript loading stale",
        KeySpec::None,
        "@pubsub",
        "pubsub",
        "Listen for messages published to channels matching the given patterns",
        "2.0.0",
        psubscribe,
    )
    .complexity("O(N) where N is the number of patterns the client is already subscribed to."),
    def(
        "ssubscribe",
        -2,
        "pubsub noscript loading stale",
        crate::cmd::keys(1, -1, 1),
        "@pubsub",
        "pubsub",
        "Listen for messages published to the given shard channels",
        "7.0.0",
        ssubscribe,
    )
    .key_specs(SHARD_SPEC)
    .complexity("O(N) where N is the number of shard channels to subscribe to."),
    def(
        "unsubscribe",
        -1,
        "pubsub noscript loading stale",
        KeySpec::None,
        "@pubsub",
        "pubsub",
        "Stop listening for messages posted to the given channels",
        "2.0.0",
        unsubscribe,
    )
    .complexity("O(N) where N is the number of clients already subscribed to a channel."),
    def(
        "punsubscribe",
        -1,
        "pubsub noscript loading stale",
        KeySpec::None,
        "@pubsub",
        "pubsub",
        "Stop listening for messages posted to channels matching the given patterns",
        "2.0.0",
        punsubscribe,
    )
    .complexity("O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client)."),
    def(
        "sunsubscribe",
        -1,
        "pubsub noscript loading stale",
        crate::cmd::keys(1, -1, 1),
        "@pubsub",
        "pubsub",
        "Stop listening for messages posted to the given shard channels",
        "7.0.0",
        sunsubscribe,
    )
    .key_specs(SHARD_SPEC)
    .complexity("O(N) where N is the number of clients already subscribed to a shard channel."),
    def(
        "publish",
        3,
        "pubsub loading stale fast",
        KeySpec::None,
        "@pubsub",
        "pubsub",
        "Post a message to a channel",
        "2.0.0",
        publish,
    )
    .complexity("O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client)."),
    def(
        "spublish",
        3,
        "pubsub loading stale fast",
        crate::cmd::keys(1, 1, 1),
        "@pubsub",
        "pubsub",
        "Post a message to a shard channel",
        "7.0.0",
        spublish,
    )
    .key_specs(SHARD_SPEC_ONE)
    .complexity("O(N) where N is the number of clients subscribed to the receiving shard channel."),
    def(
        "pubsub",
        -2,
        "",
        KeySpec::None,
        "",
        "pubsub",
        "A container for Pub/Sub commands",
        "2.8.0",
        container,
    )
    .complexity("Depends on subcommand.")
    .subcommands(PUBSUB_SUBCOMMANDS),
];

static PUBSUB_SUBCOMMANDS: &[CommandDef] = &[
    def(
        "channels",
        -2,
        "pubsub loading stale",
        KeySpec::None,
        "@pubsub",
        "pubsub",
        "List active channels",
        "2.8.0",
        pubsub_channels,
    )
    .complexity("O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)"),
    def(
        "help",
        2,
        "loading stale",
        KeySpec::None,
        "",
        "pubsub",
        "Show helpful text about the different subcommands",
        "6.2.0",
        pubsub_help,
    )
    .complexity("O(1)"),
    def(
        "numpat",
        2,
        "pubsub loading stale",
        KeySpec::None,
        "@pubsub",
        "pubsub",
        "Get the count of unique patterns pattern subscriptions",
        "2.8.0",
        pubsub_numpat,
    )
    .complexity("O(1)"),
    def(
        "numsub",
        -2,
        "pubsub loading stale",
        KeySpec::None,
        "@pubsub",
        "pubsub",
        "Get the count of subscribers for channels",
        "2.8.0",
        pubsub_numsub,
    )
    .complexity("O(N) for the NUMSUB subcommand, where N is the number of requested channels"),
    def(
        "shardchannels",
        -2,
        "pubsub loading stale",
        KeySpec::None,
        "@pubsub",
        "pubsub",
        "List active shard channels",
        "7.0.0",
        pubsub_shardchannels,
    )
    .complexity("O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels)."),
    def(
        "shardnumsub",
        -2,
        "pubsub loading stale",
        KeySpec::None,
        "@pubsub",
        "pubsub",
        "Get the count of subscribers for shard channels",
        "7.0.0",
        pubsub_shardnumsub,
    )
    .complexity("O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_limits_read_the_pubsub_class() {
        assert_eq!(
            OutputLimits::from_config(
                "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
            ),
            OutputLimits::default()
        );
        assert_eq!(
            OutputLimits::from_config("pubsub 1mb 0 0"),
            OutputLimits {
                hard_bytes: 1 << 20,
                soft_bytes: 0,
                soft_secs: 0
            }
        );
        assert_eq!(OutputLimits::from_config(""), OutputLimits::default());
    }

    #[test]
    fn frames_switch_to_push_in_resp3() {
        let f = message_frame(b"message", None, b"ch", b"hi");
        assert_eq!(&f[..], b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
        let mut out = ReplyWriter::new(true);
        write_frame(&mut out, &f);
        assert_eq!(
            &out.buffer()[..],
            b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"
        );
        let p = message_frame(b"pmessage", Some(b"c*"), b"ch", b"");
        assert_eq!(
            &p[..],
            b"*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$0\r\n\r\n"
        );
    }
}
