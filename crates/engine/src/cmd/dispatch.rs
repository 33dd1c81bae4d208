//! The one request path: look the command up, run the table-driven checks (arity, subcommand,
//! authentication), lock the shards of its keys, run the handler, then record what happened
//! (propagation, keyspace hit counters, command stats, slow log). Handlers never see a request
//! that failed these checks, and nothing about a command is checked twice.
//!
//! Between MULTI and EXEC a checked command is queued instead of run (`crate::multi`); a
//! rejected one also flags the transaction. [`Engine::call`] is the part after locking, shared
//! by the normal path and by EXEC (and scripts), which run commands against an exclusive
//! [`DbView`] under the engine gate.

use bytes::Bytes;
use flint_protocol::ReplyWriter;

use crate::cmd::{flags, Command, KeySpec};
use crate::ctx::{Action, Ctx, DbView};
use crate::engine::{unix_ms, Engine, SlowEntry};
use crate::error::Error;
use crate::session::{ReplyMode, Session};
use crate::stats::Stats;

/// Redis trims slow log arguments to this many, and each to this many bytes.
const SLOWLOG_MAX_ARGS: usize = 32;
const SLOWLOG_MAX_ARG_LEN: usize = 128;

impl Engine {
    /// Runs one command for `sess`, writing its reply into `out`. Returns what the connection
    /// must do besides sending the reply, if anything.
    ///
    /// IMPORTANT: callers that run commands from several threads at once must hold the engine
    /// gate shared around them ([`Engine::enter_batch`]), as the server's connections do;
    /// otherwise EXEC is not isolated from them.
    pub fn execute(
        &self,
        sess: &mut Session,
        args: &[&[u8]],
        out: &mut ReplyWriter,
    ) -> Option<Action> {
        let name = args.first()?;
        let mark = out.len();
        let action = self.execute_inner(sess, args, out, name);
        // CLIENT REPLY OFF/SKIP: the reply was written, now discard it.
        match sess.reply_mode {
            ReplyMode::On => {}
            ReplyMode::Off => out.truncate(mark),
            ReplyMode::SkipThis => {
                out.truncate(mark);
                sess.reply_mode = ReplyMode::On;
            }
            ReplyMode::Skip => sess.reply_mode = ReplyMode::SkipThis,
        }
        action
    }

    fn execute_inner(
        &self,
        sess: &mut Session,
        args: &[&[u8]],
        out: &mut ReplyWriter,
        name: &[u8],
    ) -> Option<Action> {
        Stats::add(&self.stats.total_commands_processed, 1);
        let checked = self.check(sess, args, name);
        let checked = checked.and_then(|c| crate::pubsub::check_context(sess, out.is_resp3(), c));
        let cmd = match checked {
            Ok(cmd) => cmd,
            Err(e) => {
                if name.eq_ignore_ascii_case(b"exec") {
                    // A rejected EXEC discards the transaction, as Redis's execCommandAbort.
                    self.exec_abort(sess, out, &e);
                    return None;
                }
                self.reject(out, &e);
                // Inside MULTI, a rejected command makes EXEC abort.
                sess.tx.flag_error();
                return None;
            }
        };
        if sess.tx.in_multi() && !crate::multi::runs_in_multi(cmd) {
            return self.queue_command(cmd, sess, args, out);
        }
        self.run(cmd, sess, args, out)
    }

    /// The table-driven checks, in Redis's order: the command exists (and its subcommand),
    /// arity, protected commands, authentication. Returns the command to run (the subcommand
    /// for a container) or the rejection to reply.
    fn check(&self, sess: &Session, args: &[&[u8]], name: &[u8]) -> Result<&Command, Error> {
        let Some(mut cmd) = self.commands.get(name) else {
            return Err(unknown_command(args));
        };
        if !cmd.subs.is_empty() && args.len() >= 2 {
            match cmd.sub(args[1]) {
                Some(s) => cmd = s,
                None => {
                    cmd.stats.reject();
                    return Err(Error::UnknownSubcommand(
                        String::from_utf8_lossy(&args[1][..args[1].len().min(128)]).into_owned(),
                        cmd.def.name.to_ascii_uppercase(),
                    ));
                }
            }
        }
        let arity = cmd.def.arity;
        let n = args.len() as i32;
        if (arity > 0 && n != arity) || (arity < 0 && n < -arity) {
            cmd.stats.reject();
            return Err(Error::WrongArity(cmd.full_name.clone()));
        }
        // Redis's protected commands (DEBUG; MODULE is not implemented), before authentication.
        if cmd.def.name == "debug" && !crate::server::debug_allowed(self, sess) {
            cmd.stats.reject();
            return Err(crate::server::debug_not_allowed());
        }
        if !sess.authenticated && !cmd.has(flags::NO_AUTH) {
            cmd.stats.reject();
            return Err(Error::NoAuth);
        }
        Ok(cmd)
    }

    /// The command `args` names, resolved to its subcommand, without any check (for commands
    /// that were checked when they were queued).
    pub(crate) fn resolve(&self, args: &[&[u8]]) -> Option<&Command> {
        let cmd = self.commands.get(args.first()?)?;
        if !cmd.subs.is_empty() && args.len() >= 2 {
            return cmd.sub(args[1]);
        }
        Some(cmd)
    }

    /// Runs a command that passed the checks: locks its keys' shards, then [`Engine::call`].
    fn run(
        &self,
        cmd: &Command,
        sess: &mut Session,
        args: &[&[u8]],
        out: &mut ReplyWriter,
    ) -> Option<Action> {
        // A script's flags may make EVAL/FCALL deny OOM like a write command (Redis's
        // evalGetCommandFlags), looked up only when memory is over the limit.
        if !sess.skip_oom_check
            && self.over_maxmemory()
            && (cmd.has(flags::DENYOOM)
                || crate::scripting::denies_oom(self, cmd.def, args)
                || (cmd.def.name == "exec" && sess.tx.queued_denies_oom()))
        {
            cmd.stats.reject();
            if cmd.def.name == "exec" {
                // EXEC refused discards its transaction, as Redis's execCommandAbort.
                self.exec_abort(sess, out, &Error::Oom);
            } else {
                self.reject(out, &Error::Oom);
            }
            return None;
        }
        let start = self.clock.now();
        let now_ms = sess.frozen_now_ms.unwrap_or_else(unix_ms);
        let lru = (!sess.no_touch).then(|| Engine::lru_clock(now_ms));
        let mut view = DbView::new(&self.keyspace, sess.db, now_ms, lru);
        match cmd.def.keys {
            // The common case, one key at argv[1]: no position list, no sort.
            KeySpec::Range(1, 1, _) if args.len() > 1 => view.lock_key(sess.db, args[1]),
            KeySpec::None => {}
            _ => {
                let positions = cmd.key_positions(args);
                if !positions.is_empty() {
                    view.lock_keys(sess.db, positions.iter().map(|&i| args[i]));
                }
            }
        }
        self.note_command(cmd, sess);
        self.call(cmd, sess, args, out, view, start)
    }

    /// Runs a checked command against `view`, which holds (or, for an exclusive view, will
    /// take) the shards the command needs: the handler, then what is recorded after every
    /// command (error reply and stats, propagation, command stats, latency, MONITOR, slow
    /// log). The one way a command runs, from a client (through [`Engine::execute`]) or from
    /// EXEC (and scripts), which pass a [`DbView::exclusive`] with the transaction's fixed
    /// time. `start` is the [`crate::clock::Clock`] reading the command's duration counts from.
    pub(crate) fn call<'a>(
        &'a self,
        cmd: &'a Command,
        sess: &'a mut Session,
        args: &'a [&'a [u8]],
        out: &'a mut ReplyWriter,
        mut view: DbView<'a>,
        start: u64,
    ) -> Option<Action> {
        let now_ms = view.now_ms;
        view.count_reads = cmd.has(flags::READONLY);
        self.apply_view_settings(&mut view);
        let mut ctx = Ctx {
            engine: self,
            cmd,
            sess,
            args,
            out,
            db: view,
            action: None,
            rewrite: None,
        };
        let result = (cmd.def.handler)(&mut ctx);
        let Ctx {
            mut db,
            action,
            rewrite,
            sess,
            out,
            ..
        } = ctx;
        db.unlock();
        if let Err(e) = &result {
            let text = e.to_string();
            out.error(&text);
            self.stats.record_error(&text);
            cmd.stats.fail();
        }
        self.after(cmd, sess, args, &db, rewrite);
        let elapsed_us = self.clock.micros(start, self.clock.now());
        cmd.stats.call(elapsed_us);
        if self.config.latency_tracking() {
            self.latency_hists.record(cmd.id, elapsed_us);
        }
        self.after_command(cmd, sess, args, elapsed_us);
        self.maybe_slowlog(cmd, sess, args, elapsed_us, now_ms);
        if !db.ready.is_empty() || !sess.pending_ready.is_empty() {
            // Keys created where clients are blocked: serve them now that nothing is locked,
            // or for a command inside EXEC (or a script), once the whole of it has run.
            sess.pending_ready.append(&mut db.ready);
            if !sess.no_block {
                self.serve_ready(std::mem::take(&mut sess.pending_ready));
            }
        }
        action
    }

    /// What every command's view takes from the configuration: `default-ttl`, the keyspace
    /// event classes, and under an LFU policy the counter that replaces the LRU clock (new keys
    /// start at the initial count, reads bump it; see evict.rs). A view made for CLIENT NO-TOUCH (`lru` None) stays so.
    pub(crate) fn apply_view_settings(&self, view: &mut DbView<'_>) {
        view.default_ttl_ms = self.config.default_ttl_ms();
        view.notify = self.config.keyspace_events();
        if view.lru.is_some() && self.config.lfu_policy() {
            let lfu = crate::evict::Lfu::new(view.now_ms, &self.config.memory());
            view.lru = Some(lfu.initial());
            view.lfu = Some(lfu);
        }
    }

    /// Counters and propagation after a command ran.
    pub(crate) fn after(
        &self,
        cmd: &Command,
        sess: &mut Session,
        args: &[&[u8]],
        db: &DbView<'_>,
        rewrite: Option<Vec<Vec<Bytes>>>,
    ) {
        Stats::add(&self.stats.keyspace_hits, db.hits);
        Stats::add(&self.stats.keyspace_misses, db.misses);
        Stats::add(&self.stats.expired_keys, db.expired.len() as u64);
        self.notify_pending(db);
        Stats::add(&self.stats.dirty, db.dirty);
        if !self.propagating() {
            return;
        }
        for (d, key) in &db.expired {
            self.propagate_for(sess, *d, &[b"DEL", key.as_slice()]);
        }
        if db.dirty == 0 || cmd.has(flags::NO_PROPAGATE) {
            return;
        }
        let selected = sess.db;
        match rewrite {
            Some(records) => {
                for r in records {
                    let slices: Vec<&[u8]> = r.iter().map(|b| &b[..]).collect();
                    self.propagate_for(sess, selected, &slices);
                }
            }
            None => self.propagate_for(sess, selected, args),
        }
        for (d, key, at) in &db.defaulted {
            let at = itoa::Buffer::new().format(*at).as_bytes().to_vec();
            self.propagate_for(sess, *d, &[b"PEXPIREAT", key.as_slice(), &at]);
        }
    }

    fn maybe_slowlog(
        &self,
        cmd: &Command,
        sess: &Session,
        args: &[&[u8]],
        elapsed_us: u64,
        now_ms: u64,
    ) {
        if cmd.has(flags::SKIP_SLOWLOG) {
            return;
        }
        let threshold = self.config.slowlog_slower_than_us();
        if threshold < 0 || elapsed_us < threshold as u64 {
            return;
        }
        let settings = self.config.settings();
        let mut trimmed: Vec<Bytes> = Vec::with_capacity(args.len().min(SLOWLOG_MAX_ARGS));
        for (i, a) in args.iter().enumerate() {
            if i == SLOWLOG_MAX_ARGS - 1 && args.len() > SLOWLOG_MAX_ARGS {
                let more = args.len() - SLOWLOG_MAX_ARGS + 1;
                trimmed.push(Bytes::from(format!("... ({more} more arguments)")));
                break;
            }
            if a.len() > SLOWLOG_MAX_ARG_LEN {
                let more = a.len() - SLOWLOG_MAX_ARG_LEN;
                let mut v = a[..SLOWLOG_MAX_ARG_LEN].to_vec();
                v.extend_from_slice(format!("... ({more} more bytes)").as_bytes());
                trimmed.push(Bytes::from(v));
            } else {
                trimmed.push(Bytes::copy_from_slice(a));
            }
        }
        let entry = SlowEntry {
            id: self
                .slowlog
                .next_id
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            time_s: now_ms / 1000,
            duration_us: elapsed_us,
            args: trimmed,
            addr: sess.handle.addr.map(|a| a.to_string()).unwrap_or_default(),
            name: sess.name().unwrap_or_default(),
        };
        let mut log = self.slowlog.entries.lock();
        log.push_front(entry);
        log.truncate(settings.slowlog_max_len);
    }

    /// Replies a command's rejection (and counts the error).
    pub(crate) fn reject(&self, out: &mut ReplyWriter, e: &Error) {
        let text = e.to_string();
        self.stats.record_error(&text);
        out.error(&text);
    }
}

/// Redis's text for an unknown command: the name and the first arguments, up to 128 bytes.
fn unknown_command(args: &[&[u8]]) -> Error {
    let name = String::from_utf8_lossy(&args[0][..args[0].len().min(128)]).into_owned();
    let mut rest = String::new();
    for a in &args[1..] {
        if rest.len() >= 128 {
            break;
        }
        let room = 128 - rest.len();
        let text = String::from_utf8_lossy(&a[..a.len().min(room)]).into_owned();
        rest.push('\'');
        rest.push_str(&text);
        rest.push_str("' ");
    }
    Error::msg(format!(
        "ERR unknown command '{name}', with args beginning with: {rest}"
    ))
}
