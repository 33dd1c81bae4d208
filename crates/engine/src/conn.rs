//! Connection commands (Redis's networking.c and the connection group): PING, ECHO, QUIT,
//! SELECT, AUTH, HELLO, RESET and CLIENT with its subcommands.
//!
//! What other clients can see of a connection (name, protocol, flags, database, last command)
//! lives in its shared [`ClientHandle`]; what only the connection itself uses (reply mode,
//! authentication, no-evict, no-touch) lives in its [`crate::Session`]. Handlers that change
//! one of the mirrored settings change both.
//!
//! CLIENT LIST and CLIENT INFO print Redis 7.0's line field for field (7.0 has no `lib-name=`
//! or `lib-ver=`, which came with 7.2; CLIENT SETINFO, NO-TOUCH and KILL MAXAGE are accepted
//! as in later versions). Buffer sizes are the connection's last report, or the sizes of the
//! current request for the client asking.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use crate::clients::ClientHandle;
use crate::cmd::{container, def, CommandDef, KeySpec};
use crate::ctx::{Action, Ctx};
use crate::engine::{unix_ms, Engine};
use crate::error::{Error, Result};
use crate::server::reply_help;
use crate::session::ReplyMode;

/// The connection commands.
pub static COMMANDS: &[CommandDef] = &[
    def(
        "ping",
        -1,
        "fast",
        KeySpec::None,
        "@connection",
        "connection",
        "Ping the server",
        "1.0.0",
        ping,
    )
    .tips("request_policy:all_shards response_policy:all_succeeded")
    .complexity("O(1)"),
    def(
        "echo",
        2,
        "loading stale fast",
        KeySpec::None,
        "@connection",
        "connection",
        "Echo the given string",
        "1.0.0",
        echo,
    )
    .complexity("O(1)"),
    def(
        "quit",
        -1,
        "noscript loading stale fast no_auth allow_busy",
        KeySpec::None,
        "@connection",
        "connection",
        "Close the connection",
        "1.0.0",
        quit,
    )
    .complexity("O(1)"),
    def(
        "select",
        2,
        "loading stale fast",
        KeySpec::None,
        "@connection",
        "connection",
        "Change the selected database for the current connection",
        "1.0.0",
        select,
    )
    .complexity("O(1)"),
    def(
        "auth",
        -2,
        "noscript loading stale fast no_auth allow_busy",
        KeySpec::None,
        "@connection",
        "connection",
        "Authenticate to the server",
        "1.0.0",
        auth,
    )
    .complexity("O(N) where N is the number of passwords defined for the user")
    .history(&[("6.0.0", "Added ACL style (username and password).")]),
    def(
        "hello",
        -1,
        "noscript loading stale fast no_auth allow_busy",
        KeySpec::None,
        "@connection",
        "connection",
        "Handshake with Redis",
        "6.0.0",
        hello,
    )
    .complexity("O(1)")
    .history(&[("6.2.0", "`protover` made optional; when called without arguments the command reports the current connection's context.")]),
    def(
        "reset",
        1,
        "noscript loading stale fast no_auth allow_busy",
        KeySpec::None,
        "@connection",
        "connection",
        "Reset the connection",
        "6.2.0",
        reset,
    )
    .complexity("O(1)"),
    def(
        "client",
        -2,
        "",
        KeySpec::None,
        "",
        "connection",
        "A container for client connection commands",
        "2.4.0",
        container,
    )
    .complexity("Depends on subcommand.")
    .subcommands(CLIENT_SUBCOMMANDS),
];

/// CLIENT's subcommands.
static CLIENT_SUBCOMMANDS: &[CommandDef] = &[
    def(
        "id",
        2,
        "noscript loading stale",
        KeySpec::None,
        "@connection",
        "connection",
        "Returns the client ID for the current connection",
        "5.0.0",
        client_id,
    )
    .complexity("O(1)"),
    def(
        "setname",
        3,
        "noscript loading stale",
        KeySpec::None,
        "@connection",
        "connection",
        "Set the current connection name",
        "2.6.9",
        client_setname,
    )
    .complexity("O(1)"),
    def(
        "getname",
        2,
        "noscript loading stale",
        KeySpec::None,
        "@connection",
        "connection",
        "Get the current connection name",
        "2.6.9",
        client_getname,
    )
    .complexity("O(1)"),
    def(
        "list",
        -2,
        "admin noscript loading stale",
        KeySpec::None,
        "@connection",
        "connection",
        "Get the list of client connections",
        "2.4.0",
        client_list,
    )
    .tips("nondeterministic_output")
    .complexity("O(N) where N is the number of client connections")
    .history(&[("2.8.12", "Added unique client `id` field."), ("5.0.0", "Added optional `TYPE` filter."), ("6.0.0", "Added `user` field."), ("6.2.0", "Added `argv-mem`, `tot-mem`, `laddr` and `redir` fields and the optional `ID` filter."), ("7.0.0", "Added `resp`, `multi-mem`, `rbs` and `rbp` fields."), ("7.0.3", "Added `ssub` field.")]),
    def(
        "info",
        2,
        "noscript loading stale",
        KeySpec::None,
        "@connection",
        "connection",
        "Returns information about the current client connection.",
        "6.2.0",
        client_info,
    )
    .tips("nondeterministic_output")
    .complexity("O(1)"),
    def(
        "kill",
        -3,
        "admin noscript loading stale",
        KeySpec::None,
        "@connection",
        "connection",
        "Kill the connection of a client",
        "2.4.0",
        client_kill,
    )
    .complexity("O(N) where N is the number of client connections")
    .history(&[("2.8.12", "Added new filter format."), ("2.8.12", "`ID` option."), ("3.2.0", "Added `master` type in for `TYPE` option."), ("5.0.0", "Replaced `slave` `TYPE` with `replica`. `slave` still supported for backward compatibility."), ("6.2.0", "`LADDR` option.")]),
    def(
        "reply",
        3,
        "noscript loading stale",
        KeySpec::None,
        "@connection",
        "connection",
        "Instruct the server whether to reply to commands",
        "3.2.0",
        client_reply,
    )
    .complexity("O(1)"),
    def(
        "no-evict",
        3,
        "admin noscript loading stale",
        KeySpec::None,
        "@connection",
        "connection",
        "Set client eviction mode for the current connection",
        "7.0.0",
        client_no_evict,
    )
    .complexity("O(1)"),
    def(
        "no-touch",
        3,
        "noscript loading stale",
        KeySpec::None,
        "@connection",
        "connection",
        "Controls whether commands sent by the client will alter the LRU/LFU of the keys they access.",
        "7.2.0",
        client_no_touch,
    ),
    def(
        "setinfo",
        4,
        "noscript loading stale",
        KeySpec::None,
        "@connection",
        "connection",
        "Set client or connection specific info",
        "7.2.0",
        client_setinfo,
    ),
    def(
        "pause",
        -3,
        "admin noscript loading stale",
        KeySpec::None,
        "@connection",
        "connection",
        "Stop processing commands from clients for some time",
        "2.9.50",
        client_pause,
    )
    .complexity("O(1)")
    .history(&[("6.2.0", "`CLIENT PAUSE WRITE` mode added along with the `mode` option.")]),
    def(
        "unpause",
        2,
        "admin noscript loading stale",
        KeySpec::None,
        "@connection",
        "connection",
        "Resume processing of clients that were paused",
        "6.2.0",
        client_unpause,
    )
    .complexity("O(N) Where N is the number of paused clients"),
    def(
        "help",
        2,
        "loading stale",
        KeySpec::None,
        "@connection",
        "connection",
        "Show helpful text about the different subcommands",
        "5.0.0",
        client_help,
    )
    .complexity("O(1)"),
    def(
        "unblock",
        -3,
        "admin noscript loading stale",
        KeySpec::None,
        "@connection",
        "connection",
        "Unblock a client blocked in a blocking command from a different connection",
        "5.0.0",
        client_unblock,
    )
    .complexity("O(log N) where N is the number of client connections"),
];

// CLIENT UNBLOCK client-id [TIMEOUT|ERROR]
fn client_unblock(ctx: &mut Ctx<'_>) -> Result<()> {
    if ctx.args.len() > 4 {
        return Err(crate::server::subcommand_syntax(ctx));
    }
    let mut error = false;
    if ctx.args.len() == 4 {
        if ctx.arg_is(3, "error") {
            error = true;
        } else if !ctx.arg_is(3, "timeout") {
            return Err(Error::msg(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ));
        }
    }
    let id = ctx.arg_i64(2)?;
    let unblocked = u64::try_from(id).is_ok_and(|id| ctx.engine.unblock_client(id, error));
    ctx.out.int(i64::from(unblocked));
    Ok(())
}

/// The protocol versions HELLO accepts.
const PROTOCOLS: std::ops::RangeInclusive<i64> = 2..=3;

const BAD_NAME: &str = "ERR Client names cannot contain spaces, newlines or special characters.";
const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
const AUTH_NOPASS: &str = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?";
const HELLO_NOAUTH: &str = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time";

// PING [message]
fn ping(ctx: &mut Ctx<'_>) -> Result<()> {
    if ctx.sess.pubsub.is_subscribed() && !ctx.out.is_resp3() && ctx.args.len() <= 2 {
        // A subscribed RESP2 client gets ["pong", message] (as pub/sub messages are arrays).
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(ctx.args.get(1).copied().unwrap_or_default());
        return Ok(());
    }
    match ctx.args.len() {
        1 => ctx.out.simple("PONG"),
        2 => ctx.out.bulk(ctx.args[1]),
        _ => return Err(Error::WrongArity("ping".into())),
    }
    Ok(())
}

// ECHO message
fn echo(ctx: &mut Ctx<'_>) -> Result<()> {
    ctx.out.bulk(ctx.args[1]);
    Ok(())
}

// QUIT
fn quit(ctx: &mut Ctx<'_>) -> Result<()> {
    ctx.out.ok();
    ctx.action = Some(Action::Close);
    Ok(())
}

// SELECT index
fn select(ctx: &mut Ctx<'_>) -> Result<()> {
    let i = ctx.arg_i64(1).map_err(|_| Error::NotInteger)?;
    if i < 0 || i as usize >= ctx.engine.keyspace.len() {
        return Err(Error::DbIndexOutOfRange);
    }
    ctx.sess.db = i as usize;
    ctx.sess.handle.db.store(i as usize, Ordering::Relaxed);
    ctx.out.ok();
    Ok(())
}

/// Whether `user`/`pass` authenticate: the only user is `default` (case-sensitive, as Redis
/// user names are), who needs `requirepass` when one is set and accepts anything otherwise.
fn credentials_ok(ctx: &Ctx<'_>, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    let required = ctx.engine.config.settings().requirepass.clone();
    required.is_empty() || constant_time_eq(required.as_bytes(), pass)
}

/// Compares without an early exit, so the time taken does not reveal how much of a password
/// guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, &x) in a.iter().enumerate() {
        diff |= (x ^ b.get(i).copied().unwrap_or(!x)) as usize;
    }
    diff == 0
}

// AUTH [username] password
fn auth(ctx: &mut Ctx<'_>) -> Result<()> {
    if ctx.args.len() > 3 {
        return Err(Error::Syntax);
    }
    let ok = if ctx.args.len() == 2 {
        if ctx.engine.config.settings().requirepass.is_empty() {
            return Err(Error::msg(AUTH_NOPASS));
        }
        credentials_ok(ctx, b"default", ctx.arg(1))
    } else {
        credentials_ok(ctx, ctx.arg(1), ctx.arg(2))
    };
    if !ok {
        return Err(Error::msg(WRONGPASS));
    }
    ctx.sess.authenticated = true;
    ctx.out.ok();
    Ok(())
}

/// Redis's rule for client names (and SETINFO values): printable ASCII without spaces; the
/// empty string is allowed and clears the name.
fn valid_client_attr(v: &[u8]) -> bool {
    v.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

fn set_name(ctx: &mut Ctx<'_>, name: &Bytes) {
    ctx.sess.handle.info.lock().name = (!name.is_empty()).then(|| name.clone());
}

// HELLO [protover [AUTH username password] [SETNAME clientname]]
fn hello(ctx: &mut Ctx<'_>) -> Result<()> {
    let mut version = None;
    if ctx.args.len() >= 2 {
        let v = ctx
            .arg_i64(1)
            .map_err(|_| Error::msg("ERR Protocol version is not an integer or out of range"))?;
        if !PROTOCOLS.contains(&v) {
            return Err(Error::msg("NOPROTO unsupported protocol version"));
        }
        version = Some(v as u8);
    }
    let mut credentials = None;
    let mut name = None;
    let mut i = 2;
    while i < ctx.args.len() {
        let more = ctx.args.len() - 1 - i;
        if ctx.arg_is(i, "auth") && more >= 2 {
            credentials = Some((i + 1, i + 2));
            i += 3;
        } else if ctx.arg_is(i, "setname") && more >= 1 {
            name = Some(ctx.arg_bytes(i + 1));
            i += 2;
        } else {
            return Err(Error::msg(format!(
                "ERR Syntax error in HELLO option '{}'",
                ctx.arg_lossy(i)
            )));
        }
    }
    // As in Redis, a successful AUTH sticks even if SETNAME then fails.
    if let Some((u, p)) = credentials {
        if !credentials_ok(ctx, ctx.arg(u), ctx.arg(p)) {
            return Err(Error::msg(WRONGPASS));
        }
        ctx.sess.authenticated = true;
    }
    if !ctx.sess.authenticated {
        return Err(Error::msg(HELLO_NOAUTH));
    }
    if let Some(name) = name {
        if !valid_client_attr(&name) {
            return Err(Error::msg(BAD_NAME));
        }
        set_name(ctx, &name);
    }
    if let Some(v) = version {
        // IMPORTANT: switch before writing, so the reply itself is in the new protocol.
        ctx.out.set_resp3(v == 3);
        ctx.sess.handle.info.lock().resp = v;
        ctx.action = Some(Action::Protocol(v));
    }
    let proto = ctx.sess.handle.info.lock().resp;
    ctx.out.map(7);
    ctx.out.bulk(b"server");
    ctx.out.bulk(b"redis");
    ctx.out.bulk(b"version");
    ctx.out.bulk(crate::server::REDIS_VERSION.as_bytes());
    ctx.out.bulk(b"proto");
    ctx.out.int(proto as i64);
    ctx.out.bulk(b"id");
    ctx.out.int(ctx.sess.id as i64);
    ctx.out.bulk(b"mode");
    ctx.out.bulk(b"standalone");
    ctx.out.bulk(b"role");
    ctx.out.bulk(b"master");
    ctx.out.bulk(b"modules");
    ctx.out.array(0);
    Ok(())
}

// RESET
fn reset(ctx: &mut Ctx<'_>) -> Result<()> {
    // Ends MULTI and forgets WATCHed keys (Redis's discardTransaction).
    ctx.engine.discard_transaction(ctx.sess);
    ctx.engine.unsubscribe_all(ctx.sess);
    ctx.sess.db = 0;
    ctx.sess.handle.db.store(0, Ordering::Relaxed);
    ctx.sess.authenticated = ctx.engine.config.settings().requirepass.is_empty();
    ctx.sess.reply_mode = ReplyMode::On;
    ctx.sess.no_evict = false;
    ctx.sess.no_touch = false;
    {
        let mut info = ctx.sess.handle.info.lock();
        info.name = None;
        info.resp = 2;
        info.flags.retain(|c| c != 'e' && c != 'T');
    }
    ctx.out.set_resp3(false);
    ctx.action = Some(Action::Protocol(2));
    ctx.out.simple("RESET");
    Ok(())
}

// CLIENT ID
fn client_id(ctx: &mut Ctx<'_>) -> Result<()> {
    ctx.out.int(ctx.sess.id as i64);
    Ok(())
}

// CLIENT SETNAME connection-name
fn client_setname(ctx: &mut Ctx<'_>) -> Result<()> {
    let name = ctx.arg_bytes(2);
    if !valid_client_attr(&name) {
        return Err(Error::msg(BAD_NAME));
    }
    set_name(ctx, &name);
    ctx.out.ok();
    Ok(())
}

// CLIENT GETNAME
fn client_getname(ctx: &mut Ctx<'_>) -> Result<()> {
    match ctx.sess.name() {
        Some(n) => ctx.out.bulk(&n),
        None => ctx.out.null(),
    }
    Ok(())
}

/// A client type as CLIENT LIST TYPE and CLIENT KILL TYPE name it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Replica,
    PubSub,
    Master,
}

fn client_type_by_name(name: &[u8]) -> Option<ClientType> {
    let lower = name.to_ascii_lowercase();
    match &lower[..] {
        b"normal" => Some(ClientType::Normal),
        b"slave" | b"replica" => Some(ClientType::Replica),
        b"pubsub" => Some(ClientType::PubSub),
        b"master" => Some(ClientType::Master),
        _ => None,
    }
}

/// Redis's getClientType: monitors count as normal clients.
fn client_type(h: &ClientHandle) -> ClientType {
    if h.has_flag('M') {
        ClientType::Master
    } else if h.has_flag('S') {
        ClientType::Replica
    } else if h.has_flag('P') {
        ClientType::PubSub
    } else {
        ClientType::Normal
    }
}

fn unknown_type(ctx: &Ctx<'_>, i: usize) -> Error {
    Error::msg(format!("ERR Unknown client type '{}'", ctx.arg_lossy(i)))
}

fn addr_string(a: Option<SocketAddr>) -> String {
    a.map(|a| a.to_string()).unwrap_or_default()
}

/// Read buffer size reported for every client (the server's read chunk).
const READ_BUFFER: usize = 16 * 1024;
/// Rough fixed cost of a client's state, counted in `tot-mem`.
const CLIENT_OVERHEAD: usize = 4 * 1024;

/// One line of CLIENT LIST / CLIENT INFO (without the trailing newline), as Redis 7.0's
/// catClientInfoString. `current` holds the arguments of the command being run when `h` is
/// the client asking, which Redis counts in its query buffer and `argv-mem`.
pub fn client_info_line(
    engine: &Engine,
    h: &ClientHandle,
    now_ms: u64,
    current: Option<&[&[u8]]>,
) -> String {
    let (name, resp) = {
        let info = h.info.lock();
        let name = info
            .name
            .as_ref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        (name, info.resp)
    };
    let argv_mem: usize = current.map_or(0, |a| a.iter().map(|x| x.len()).sum());
    let qbuf = match current {
        Some(a) => {
            a.iter()
                .map(|x| x.len() + 5 + decimal_len(x.len()))
                .sum::<usize>()
                + 3
                + decimal_len(a.len())
        }
        None => h.qbuf.load(Ordering::Relaxed),
    };
    let omem = h.omem.load(Ordering::Relaxed);
    let tot_mem = CLIENT_OVERHEAD + READ_BUFFER + qbuf + argv_mem + omem;
    let events = if omem > 0 { "rw" } else { "r" };
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem=0 rbs={} rbp={} obl=0 oll=0 omem={} tot-mem={} events={} cmd={} user=default redir=-1 resp={}",
        h.id,
        addr_string(h.addr),
        addr_string(h.laddr),
        h.fd.load(Ordering::Relaxed),
        name,
        now_ms.saturating_sub(h.created_ms) / 1000,
        now_ms.saturating_sub(h.last_ms.load(Ordering::Relaxed)) / 1000,
        h.flags_string(),
        h.db.load(Ordering::Relaxed),
        h.subs.load(Ordering::Relaxed),
        h.psubs.load(Ordering::Relaxed),
        h.ssubs.load(Ordering::Relaxed),
        h.multi_len.load(Ordering::Relaxed),
        qbuf,
        READ_BUFFER.saturating_sub(qbuf),
        argv_mem,
        READ_BUFFER,
        qbuf,
        omem,
        tot_mem,
        events,
        h.last_cmd_name(&engine.commands),
        resp,
    )
}

fn decimal_len(n: usize) -> usize {
    itoa::Buffer::new().format(n).len()
}

// CLIENT LIST [TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]]
fn client_list(ctx: &mut Ctx<'_>) -> Result<()> {
    let now = unix_ms();
    let me = ctx.sess.id;
    let line = |h: &ClientHandle| {
        let current = (h.id == me).then_some(ctx.args);
        client_info_line(ctx.engine, h, now, current)
    };
    let mut text = String::new();
    if ctx.args.len() == 4 && ctx.arg_is(2, "type") {
        let Some(t) = client_type_by_name(ctx.arg(3)) else {
            return Err(unknown_type(ctx, 3));
        };
        for h in ctx.engine.clients.all() {
            if client_type(&h) == t {
                text.push_str(&line(&h));
                text.push('\n');
            }
        }
    } else if ctx.args.len() > 3 && ctx.arg_is(2, "id") {
        let mut ids = Vec::with_capacity(ctx.args.len() - 3);
        for i in 3..ctx.args.len() {
            ids.push(
                ctx.arg_i64(i)
                    .map_err(|_| Error::msg("ERR Invalid client ID"))?,
            );
        }
        for id in ids {
            if let Some(h) = u64::try_from(id)
                .ok()
                .and_then(|id| ctx.engine.clients.get(id))
            {
                text.push_str(&line(&h));
                text.push('\n');
            }
        }
    } else if ctx.args.len() != 2 {
        return Err(Error::Syntax);
    } else {
        for h in ctx.engine.clients.all() {
            text.push_str(&line(&h));
            text.push('\n');
        }
    }
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

// CLIENT INFO
fn client_info(ctx: &mut Ctx<'_>) -> Result<()> {
    let mut text = client_info_line(ctx.engine, &ctx.sess.handle, unix_ms(), Some(ctx.args));
    text.push('\n');
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

/// CLIENT KILL's filters; every one given must match.
#[derive(Default)]
struct KillFilter {
    id: Option<u64>,
    kind: Option<ClientType>,
    addr: Option<String>,
    laddr: Option<String>,
    max_age_s: Option<i64>,
    skip_me: bool,
}

impl KillFilter {
    fn matches(&self, h: &ClientHandle, now_ms: u64) -> bool {
        self.id.is_none_or(|id| h.id == id)
            && self.kind.is_none_or(|t| client_type(h) == t)
            && self.addr.as_ref().is_none_or(|a| *a == addr_string(h.addr))
            && self
                .laddr
                .as_ref()
                .is_none_or(|a| *a == addr_string(h.laddr))
            && self
                .max_age_s
                .is_none_or(|m| (now_ms.saturating_sub(h.created_ms) / 1000) as i64 >= m)
    }
}

fn parse_kill_filter(ctx: &Ctx<'_>) -> Result<KillFilter> {
    let mut f = KillFilter {
        skip_me: true,
        ..KillFilter::default()
    };
    if !ctx.args.len().is_multiple_of(2) {
        return Err(Error::Syntax);
    }
    for i in (2..ctx.args.len()).step_by(2) {
        let v = i + 1;
        if ctx.arg_is(i, "id") {
            let id = ctx.arg_i64(v).ok().filter(|&id| id > 0);
            let id = id.ok_or_else(|| Error::msg("ERR client-id should be greater than 0"))?;
            f.id = Some(id as u64);
        } else if ctx.arg_is(i, "type") {
            f.kind = Some(client_type_by_name(ctx.arg(v)).ok_or_else(|| unknown_type(ctx, v))?);
        } else if ctx.arg_is(i, "addr") {
            f.addr = Some(ctx.arg_lossy(v));
        } else if ctx.arg_is(i, "laddr") {
            f.laddr = Some(ctx.arg_lossy(v));
        } else if ctx.arg_is(i, "user") {
            if ctx.arg(v) != b"default" {
                return Err(Error::msg(format!(
                    "ERR No such user '{}'",
                    ctx.arg_lossy(v)
                )));
            }
        } else if ctx.arg_is(i, "skipme") {
            f.skip_me = if ctx.arg_is(v, "yes") {
                true
            } else if ctx.arg_is(v, "no") {
                false
            } else {
                return Err(Error::Syntax);
            };
        } else if ctx.arg_is(i, "maxage") {
            f.max_age_s = Some(ctx.arg_i64(v).map_err(|_| Error::Syntax)?);
        } else {
            return Err(Error::Syntax);
        }
    }
    Ok(f)
}

// CLIENT KILL ip:port | CLIENT KILL [ID client-id] [TYPE NORMAL|MASTER|SLAVE|REPLICA|PUBSUB] [USER username] [ADDR ip:port] [LADDR ip:port] [SKIPME YES|NO] [MAXAGE maxage] ...
fn client_kill(ctx: &mut Ctx<'_>) -> Result<()> {
    let me = ctx.sess.id;
    if ctx.args.len() == 3 {
        // The old form: one address, an error when nobody is there.
        let addr = ctx.arg_lossy(2);
        let victim = ctx
            .engine
            .clients
            .all()
            .into_iter()
            .find(|h| addr_string(h.addr) == addr)
            .ok_or_else(|| Error::msg("ERR No such client"))?;
        ctx.out.ok();
        if victim.id == me {
            ctx.action = Some(Action::Close);
        } else {
            victim.kill();
        }
        return Ok(());
    }
    let filter = parse_kill_filter(ctx)?;
    let now = unix_ms();
    let mut killed = 0;
    let mut close_me = false;
    for h in ctx.engine.clients.all() {
        if !filter.matches(&h, now) || (filter.skip_me && h.id == me) {
            continue;
        }
        killed += 1;
        if h.id == me {
            close_me = true;
        } else {
            h.kill();
        }
    }
    ctx.out.int(killed);
    if close_me {
        // The reply goes out first, then the connection closes.
        ctx.action = Some(Action::Close);
    }
    Ok(())
}

// CLIENT REPLY ON|OFF|SKIP
fn client_reply(ctx: &mut Ctx<'_>) -> Result<()> {
    // Only ON answers: OFF and SKIP are silent in Redis.
    if ctx.arg_is(2, "on") {
        ctx.sess.reply_mode = ReplyMode::On;
        ctx.out.ok();
    } else if ctx.arg_is(2, "off") {
        ctx.sess.reply_mode = ReplyMode::Off;
    } else if ctx.arg_is(2, "skip") {
        if ctx.sess.reply_mode != ReplyMode::Off {
            ctx.sess.reply_mode = ReplyMode::Skip;
        }
    } else {
        return Err(Error::Syntax);
    }
    Ok(())
}

/// Parses ON/OFF, the argument of NO-EVICT and NO-TOUCH.
fn on_off(ctx: &Ctx<'_>, i: usize) -> Result<bool> {
    if ctx.arg_is(i, "on") {
        Ok(true)
    } else if ctx.arg_is(i, "off") {
        Ok(false)
    } else {
        Err(Error::Syntax)
    }
}

// CLIENT NO-EVICT ON|OFF
fn client_no_evict(ctx: &mut Ctx<'_>) -> Result<()> {
    let on = on_off(ctx, 2)?;
    ctx.sess.no_evict = on;
    ctx.sess.handle.set_flag('e', on);
    ctx.out.ok();
    Ok(())
}

// CLIENT NO-TOUCH ON|OFF
fn client_no_touch(ctx: &mut Ctx<'_>) -> Result<()> {
    let on = on_off(ctx, 2)?;
    ctx.sess.no_touch = on;
    ctx.sess.handle.set_flag('T', on);
    ctx.out.ok();
    Ok(())
}

// CLIENT SETINFO LIB-NAME libname | CLIENT SETINFO LIB-VER libver
fn client_setinfo(ctx: &mut Ctx<'_>) -> Result<()> {
    let is_name = ctx.arg_is(2, "lib-name");
    if !is_name && !ctx.arg_is(2, "lib-ver") {
        return Err(Error::msg(format!(
            "ERR Unrecognized option '{}'",
            ctx.arg_lossy(2)
        )));
    }
    let value = ctx.arg_bytes(3);
    if !valid_client_attr(&value) {
        return Err(Error::msg(format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            ctx.arg_lossy(2)
        )));
    }
    let value = (!value.is_empty()).then_some(value);
    let mut info = ctx.sess.handle.info.lock();
    if is_name {
        info.lib_name = value;
    } else {
        info.lib_ver = value;
    }
    drop(info);
    ctx.out.ok();
    Ok(())
}

// CLIENT PAUSE timeout [WRITE|ALL]
fn client_pause(ctx: &mut Ctx<'_>) -> Result<()> {
    if ctx.args.len() > 4 {
        return Err(crate::server::subcommand_syntax(ctx));
    }
    let mut writes_only = false;
    if ctx.args.len() == 4 {
        if ctx.arg_is(3, "write") {
            writes_only = true;
        } else if !ctx.arg_is(3, "all") {
            return Err(Error::msg("ERR CLIENT PAUSE mode must be WRITE or ALL"));
        }
    }
    let timeout = ctx
        .arg_i64(2)
        .map_err(|_| Error::msg("ERR timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(Error::msg("ERR timeout is negative"));
    }
    let now = unix_ms();
    let end = now
        .checked_add(timeout as u64)
        .filter(|&e| e <= i64::MAX as u64)
        .ok_or_else(|| Error::msg("ERR timeout is out of range"))?;
    let engine = ctx.engine;
    // A pause already running is extended, never shortened, and ALL wins over WRITE.
    let current = engine.pause_until_ms.load(Ordering::Acquire);
    if current > now {
        let all_already = !engine.pause_writes_only.load(Ordering::Acquire);
        engine
            .pause_writes_only
            .store(writes_only && !all_already, Ordering::Release);
        engine.pause_until_ms.fetch_max(end, Ordering::AcqRel);
    } else {
        engine
            .pause_writes_only
            .store(writes_only, Ordering::Release);
        engine.pause_until_ms.store(end, Ordering::Release);
    }
    ctx.out.ok();
    Ok(())
}

// CLIENT UNPAUSE
fn client_unpause(ctx: &mut Ctx<'_>) -> Result<()> {
    ctx.engine.pause_until_ms.store(0, Ordering::Release);
    ctx.out.ok();
    Ok(())
}

// CLIENT HELP
fn client_help(ctx: &mut Ctx<'_>) -> Result<()> {
    reply_help(
        ctx,
        &[
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "    * ID <client-id>",
            "      Kill connections by client id.",
            "    * MAXAGE <maxage>",
            "      Kill connections older than the specified age.",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "SETINFO <option> <value>",
            "    Set client meta attr. Options are:",
            "    * LIB-NAME: the client lib name.",
            "    * LIB-VER: the client lib version.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Will not touch LRU/LFU stats when this mode is on.",
        ],
    );
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::atomic::Ordering;

    use crate::testkit::Kit;

    fn kit_with_password(pass: &str) -> Kit {
        let k = Kit::new();
        k.engine.config.set("requirepass", pass, false).unwrap();
        let mut k = Kit::with_engine(k.engine.clone());
        k.sess.authenticated = false;
        k
    }

    #[test]
    fn ping_echo_select_quit() {
        let mut k = Kit::new();
        assert_eq!(k.run(&["PING"]), "+PONG\r\n");
        assert_eq!(k.run(&["PING", "hi"]), "$2\r\nhi\r\n");
        assert_eq!(
            k.run(&["PING", "a", "b"]),
            "-ERR wrong number of arguments for 'ping' command\r\n"
        );
        assert_eq!(
            k.run(&["ECHO"]),
            "-ERR wrong number of arguments for 'echo' command\r\n"
        );
        assert_eq!(k.run(&["ECHO", "x"]), "$1\r\nx\r\n");
        assert_eq!(
            k.run(&["SELECT", "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            k.run(&["SELECT", "16"]),
            "-ERR DB index is out of range\r\n"
        );
        assert_eq!(
            k.run(&["SELECT", "-1"]),
            "-ERR DB index is out of range\r\n"
        );
        assert_eq!(k.run(&["SELECT", "3"]), "+OK\r\n");
        assert_eq!(k.sess.db, 3);
        assert_eq!(k.sess.handle.db.load(Ordering::Relaxed), 3);
        assert_eq!(k.run(&["QUIT", "x"]), "+OK\r\n");
    }

    #[test]
    fn auth_without_password() {
        let mut k = Kit::new();
        assert_eq!(
            k.run(&["AUTH", "x"]),
            "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
        );
        assert_eq!(k.run(&["AUTH", "default", "x"]), "+OK\r\n");
        assert_eq!(
            k.run(&["AUTH", "a", "b"]),
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        );
        assert_eq!(k.run(&["AUTH", "a", "b", "c"]), "-ERR syntax error\r\n");
        assert_eq!(
            k.run(&["AUTH"]),
            "-ERR wrong number of arguments for 'auth' command\r\n"
        );
    }

    #[test]
    fn auth_with_password() {
        let mut k = kit_with_password("sec");
        assert_eq!(k.run(&["PING"]), "-NOAUTH Authentication required.\r\n");
        assert_eq!(
            k.run(&["AUTH", "bad"]),
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        );
        assert_eq!(
            k.run(&["AUTH", "Default", "sec"]),
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        );
        assert_eq!(
            k.run(&["CLIENT", "ID"]),
            "-NOAUTH Authentication required.\r\n"
        );
        assert_eq!(k.run(&["AUTH", "sec"]), "+OK\r\n");
        assert_eq!(k.run(&["PING"]), "+PONG\r\n");
        assert_eq!(k.run(&["RESET"]), "+RESET\r\n");
        assert_eq!(k.run(&["PING"]), "-NOAUTH Authentication required.\r\n");
        assert_eq!(k.run(&["AUTH", "default", "sec"]), "+OK\r\n");
        assert_eq!(k.run(&["PING"]), "+PONG\r\n");
    }

    #[test]
    fn hello_requires_auth() {
        let mut k = kit_with_password("sec");
        let noauth = "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n";
        assert_eq!(k.run(&["HELLO", "3"]), noauth);
        assert_eq!(k.run(&["HELLO"]), noauth);
        assert_eq!(
            k.run(&["HELLO", "2", "AUTH", "default", "bad"]),
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        );
        // AUTH succeeds even though SETNAME then fails.
        assert_eq!(
            k.run(&["HELLO", "2", "AUTH", "default", "sec", "SETNAME", "a b"]),
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
        );
        assert_eq!(k.run(&["CLIENT", "GETNAME"]), "$-1\r\n");
    }

    #[test]
    fn hello_replies_and_switches_protocol() {
        let mut k = Kit::new();
        let id = k.sess.id;
        assert_eq!(
            k.run(&["HELLO", "4"]),
            "-NOPROTO unsupported protocol version\r\n"
        );
        assert_eq!(
            k.run(&["HELLO", "1"]),
            "-NOPROTO unsupported protocol version\r\n"
        );
        assert_eq!(
            k.run(&["HELLO", "x"]),
            "-ERR Protocol version is not an integer or out of range\r\n"
        );
        assert_eq!(
            k.run(&["HELLO", "2", "AUTH", "default"]),
            "-ERR Syntax error in HELLO option 'AUTH'\r\n"
        );
        assert_eq!(
            k.run(&["HELLO", "2", "SETNAME"]),
            "-ERR Syntax error in HELLO option 'SETNAME'\r\n"
        );
        assert_eq!(
            k.run(&["HELLO", "2", "foo"]),
            "-ERR Syntax error in HELLO option 'foo'\r\n"
        );
        let r3 = k.run(&["HELLO", "3", "AUTH", "default", "x"]);
        assert_eq!(
            r3,
            format!(
                "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
            )
        );
        assert!(k.out.is_resp3());
        assert_eq!(k.sess.handle.info.lock().resp, 3);
        // Without a version the protocol stays.
        assert!(k.run(&["HELLO"]).starts_with("%7\r\n"));
        assert!(k
            .run(&["HELLO", "2", "SETNAME", "nm"])
            .starts_with("*14\r\n"));
        assert!(!k.out.is_resp3());
        assert_eq!(k.run(&["CLIENT", "GETNAME"]), "$2\r\nnm\r\n");
        // An empty name clears it.
        k.run(&["HELLO", "3", "SETNAME", ""]);
        assert_eq!(k.run(&["CLIENT", "GETNAME"]), "_\r\n");
    }

    #[test]
    fn reset_restores_defaults() {
        let mut k = Kit::new();
        k.run(&["HELLO", "3", "SETNAME", "x"]);
        k.run(&["SELECT", "2"]);
        k.run(&["CLIENT", "NO-EVICT", "on"]);
        k.run(&["CLIENT", "NO-TOUCH", "on"]);
        assert_eq!(k.run(&["RESET"]), "+RESET\r\n");
        assert!(!k.out.is_resp3());
        assert_eq!(k.sess.db, 0);
        assert!(!k.sess.no_evict && !k.sess.no_touch);
        assert_eq!(k.sess.handle.flags_string(), "N");
        assert_eq!(k.run(&["CLIENT", "GETNAME"]), "$-1\r\n");
        k.run(&["CLIENT", "REPLY", "OFF"]);
        assert_eq!(k.run(&["RESET"]), "+RESET\r\n");
        assert_eq!(k.run(&["PING"]), "+PONG\r\n");
    }

    #[test]
    fn client_names() {
        let mut k = Kit::new();
        let bad = "-ERR Client names cannot contain spaces, newlines or special characters.\r\n";
        assert_eq!(k.run(&["CLIENT", "SETNAME", "a b"]), bad);
        assert_eq!(k.run(&["CLIENT", "SETNAME", "é"]), bad);
        assert_eq!(k.run(&["CLIENT", "SETNAME", "a\nb"]), bad);
        assert_eq!(k.run(&["CLIENT", "SETNAME", "a\\nb"]), "+OK\r\n");
        assert_eq!(k.run(&["CLIENT", "SETNAME", ""]), "+OK\r\n");
        assert_eq!(k.run(&["CLIENT", "GETNAME"]), "$-1\r\n");
        assert_eq!(k.run(&["CLIENT", "SETNAME", "x"]), "+OK\r\n");
        assert_eq!(k.run(&["CLIENT", "GETNAME"]), "$1\r\nx\r\n");
        assert_eq!(
            k.run(&["CLIENT", "SETNAME"]),
            "-ERR wrong number of arguments for 'client|setname' command\r\n"
        );
        assert_eq!(
            k.run(&["CLIENT", "foo"]),
            "-ERR unknown subcommand 'foo'. Try CLIENT HELP.\r\n"
        );
        assert_eq!(
            k.run(&["CLIENT"]),
            "-ERR wrong number of arguments for 'client' command\r\n"
        );
        let id = k.sess.id;
        assert_eq!(k.run(&["CLIENT", "ID"]), format!(":{id}\r\n"));
    }

    #[test]
    fn client_list_and_info_format() {
        let mut k = Kit::new();
        let mut other = Kit::with_engine(k.engine.clone());
        other.run(&["CLIENT", "SETNAME", "bob"]);
        other.run(&["SELECT", "4"]);
        let list = k.run(&["CLIENT", "LIST"]);
        let body: Vec<&str> = list.split("\r\n").collect();
        assert!(body[0].starts_with('$'));
        let lines: Vec<&str> = body[1].split('\n').filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 2);
        let fields: Vec<&str> = lines[0]
            .split(' ')
            .map(|f| f.split('=').next().unwrap())
            .collect();
        assert_eq!(
            fields,
            [
                "id",
                "addr",
                "laddr",
                "fd",
                "name",
                "age",
                "idle",
                "flags",
                "db",
                "sub",
                "psub",
                "ssub",
                "multi",
                "qbuf",
                "qbuf-free",
                "argv-mem",
                "multi-mem",
                "rbs",
                "rbp",
                "obl",
                "oll",
                "omem",
                "tot-mem",
                "events",
                "cmd",
                "user",
                "redir",
                "resp"
            ]
        );
        assert!(lines[0].contains(" argv-mem=10 "));
        assert!(lines[0].ends_with(" user=default redir=-1 resp=2"));
        assert!(lines[1].contains(" name=bob "));
        assert!(lines[1].contains(" db=4 "));
        assert!(lines[1].contains(" flags=N "));
        assert!(lines[1].contains(" multi=-1 "));
        let info = k.run(&["CLIENT", "INFO"]);
        assert!(info.ends_with("resp=2\n\r\n"));
        k.run(&["HELLO", "3"]);
        assert!(k.run(&["CLIENT", "INFO"]).starts_with('='));
    }

    #[test]
    fn last_command_names() {
        let k = Kit::new();
        let e = &k.engine;
        assert_eq!(k.sess.handle.last_cmd_name(&e.commands), "NULL");
        let client = e.commands.get(b"client").unwrap();
        e.note_command(&client.subs["list"], &k.sess);
        assert_eq!(k.sess.handle.last_cmd_name(&e.commands), "client|list");
        e.note_command(e.commands.get(b"select").unwrap(), &k.sess);
        let line = super::client_info_line(e, &k.sess.handle, crate::unix_ms(), None);
        assert!(line.contains(" cmd=select "), "{line}");
    }

    #[test]
    fn client_list_filters() {
        let mut k = Kit::new();
        let other = Kit::with_engine(k.engine.clone());
        let oid = other.sess.id.to_string();
        assert_eq!(
            k.run(&["CLIENT", "LIST", "TYPE", "foo"]),
            "-ERR Unknown client type 'foo'\r\n"
        );
        assert_eq!(k.run(&["CLIENT", "LIST", "TYPE"]), "-ERR syntax error\r\n");
        assert_eq!(k.run(&["CLIENT", "LIST", "ID"]), "-ERR syntax error\r\n");
        assert_eq!(k.run(&["CLIENT", "LIST", "foo"]), "-ERR syntax error\r\n");
        assert_eq!(
            k.run(&["CLIENT", "LIST", "TYPE", "normal", "ID", "1"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            k.run(&["CLIENT", "LIST", "ID", "x"]),
            "-ERR Invalid client ID\r\n"
        );
        assert_eq!(k.run(&["CLIENT", "LIST", "ID", "0"]), "$0\r\n\r\n");
        assert_eq!(k.run(&["CLIENT", "LIST", "ID", "-1"]), "$0\r\n\r\n");
        for t in ["pubsub", "master", "replica", "slave"] {
            assert_eq!(k.run(&["CLIENT", "LIST", "TYPE", t]), "$0\r\n\r\n");
        }
        let r = k.run(&["CLIENT", "LIST", "ID", &oid, "999"]);
        assert!(r.contains(&format!("id={oid} ")));
        assert_eq!(r.matches("id=").count(), 1);
        assert_eq!(
            k.run(&["CLIENT", "LIST", "TYPE", "NORMAL"])
                .matches("id=")
                .count(),
            2
        );
        other.sess.handle.set_flag('P', true);
        assert_eq!(
            k.run(&["CLIENT", "LIST", "TYPE", "pubsub"])
                .matches("id=")
                .count(),
            1
        );
    }

    #[test]
    fn client_kill_errors() {
        let mut k = Kit::new();
        assert_eq!(
            k.run(&["CLIENT", "KILL", "1.2.3.4:5"]),
            "-ERR No such client\r\n"
        );
        assert_eq!(k.run(&["CLIENT", "KILL", "ID", "999"]), ":0\r\n");
        let gt0 = "-ERR client-id should be greater than 0\r\n";
        assert_eq!(k.run(&["CLIENT", "KILL", "ID", "x"]), gt0);
        assert_eq!(k.run(&["CLIENT", "KILL", "ID", "0"]), gt0);
        assert_eq!(k.run(&["CLIENT", "KILL", "ID", "-5"]), gt0);
        assert_eq!(k.run(&["CLIENT", "KILL", "ADDR", "1.2.3.4:5"]), ":0\r\n");
        assert_eq!(k.run(&["CLIENT", "KILL", "LADDR", "1.2.3.4:5"]), ":0\r\n");
        assert_eq!(
            k.run(&["CLIENT", "KILL", "SKIPME", "maybe"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(k.run(&["CLIENT", "KILL", "SKIPME", "yes"]), ":0\r\n");
        assert_eq!(
            k.run(&["CLIENT", "KILL", "TYPE", "foo"]),
            "-ERR Unknown client type 'foo'\r\n"
        );
        assert_eq!(k.run(&["CLIENT", "KILL", "TYPE", "pubsub"]), ":0\r\n");
        assert_eq!(
            k.run(&["CLIENT", "KILL", "USER", "nouser"]),
            "-ERR No such user 'nouser'\r\n"
        );
        assert_eq!(
            k.run(&["CLIENT", "KILL", "USER", "default", "SKIPME", "yes"]),
            ":0\r\n"
        );
        assert_eq!(k.run(&["CLIENT", "KILL", "ID"]), "-ERR No such client\r\n");
        assert_eq!(
            k.run(&["CLIENT", "KILL", "ID", "1", "ID"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            k.run(&["CLIENT", "KILL", "foo", "bar"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            k.run(&["CLIENT", "KILL"]),
            "-ERR wrong number of arguments for 'client|kill' command\r\n"
        );
    }

    #[test]
    fn client_kill_others_and_self() {
        let mut k = Kit::new();
        let other = Kit::with_engine(k.engine.clone());
        let oid = other.sess.id.to_string();
        let me = k.sess.id.to_string();
        assert_eq!(k.run(&["CLIENT", "KILL", "ID", &oid]), ":1\r\n");
        assert!(other.sess.handle.is_killed());
        // Oneself is skipped by default.
        assert_eq!(k.run(&["CLIENT", "KILL", "ID", &me]), ":0\r\n");
        let args: Vec<&[u8]> = ["CLIENT", "KILL", "ID", &me, "SKIPME", "no"]
            .iter()
            .map(|s| s.as_bytes())
            .collect();
        let action = k.engine.execute(&mut k.sess, &args, &mut k.out);
        assert_eq!(action, Some(crate::Action::Close));
        assert_eq!(&k.out.buffer()[..], b":1\r\n");
        assert!(!k.sess.handle.is_killed());
    }

    #[test]
    fn client_reply_modes() {
        let mut k = Kit::new();
        assert_eq!(k.run(&["CLIENT", "REPLY", "foo"]), "-ERR syntax error\r\n");
        assert_eq!(
            k.run(&["CLIENT", "REPLY"]),
            "-ERR wrong number of arguments for 'client|reply' command\r\n"
        );
        assert_eq!(k.run(&["CLIENT", "REPLY", "SKIP"]), "");
        assert_eq!(k.run(&["PING"]), "");
        assert_eq!(k.run(&["PING"]), "+PONG\r\n");
        assert_eq!(k.run(&["CLIENT", "REPLY", "OFF"]), "");
        assert_eq!(k.run(&["PING"]), "");
        assert_eq!(k.run(&["CLIENT", "REPLY", "SKIP"]), "");
        assert_eq!(k.run(&["PING"]), "");
        assert_eq!(k.run(&["CLIENT", "REPLY", "ON"]), "+OK\r\n");
        assert_eq!(k.run(&["PING"]), "+PONG\r\n");
    }

    #[test]
    fn no_evict_no_touch_setinfo() {
        let mut k = Kit::new();
        assert_eq!(
            k.run(&["CLIENT", "NO-EVICT", "maybe"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(k.run(&["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
        assert!(k.sess.no_evict);
        assert_eq!(k.run(&["CLIENT", "NO-TOUCH", "ON"]), "+OK\r\n");
        assert!(k.sess.no_touch);
        assert_eq!(k.sess.handle.flags_string(), "eT");
        assert_eq!(k.run(&["CLIENT", "NO-EVICT", "OFF"]), "+OK\r\n");
        assert_eq!(k.sess.handle.flags_string(), "T");
        assert_eq!(
            k.run(&["CLIENT", "SETINFO", "lib-name", "redis-py"]),
            "+OK\r\n"
        );
        assert_eq!(k.run(&["CLIENT", "SETINFO", "LIB-VER", "5.0"]), "+OK\r\n");
        assert_eq!(
            k.sess.handle.info.lock().lib_name.as_deref(),
            Some(&b"redis-py"[..])
        );
        assert_eq!(
            k.run(&["CLIENT", "SETINFO", "lib-name", "a b"]),
            "-ERR lib-name cannot contain spaces, newlines or special characters.\r\n"
        );
        assert_eq!(
            k.run(&["CLIENT", "SETINFO", "foo", "x"]),
            "-ERR Unrecognized option 'foo'\r\n"
        );
    }

    #[test]
    fn client_pause_and_unpause() {
        let mut k = Kit::new();
        assert_eq!(
            k.run(&["CLIENT", "PAUSE", "x"]),
            "-ERR timeout is not an integer or out of range\r\n"
        );
        assert_eq!(
            k.run(&["CLIENT", "PAUSE", "-1"]),
            "-ERR timeout is negative\r\n"
        );
        assert_eq!(
            k.run(&["CLIENT", "PAUSE", "10", "foo"]),
            "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n"
        );
        assert_eq!(
            k.run(&["CLIENT", "PAUSE", "10", "ALL", "x"]),
            "-ERR unknown subcommand or wrong number of arguments for 'PAUSE'. Try CLIENT HELP.\r\n"
        );
        assert_eq!(
            k.run(&["CLIENT", "PAUSE", "99999999999999999999"]),
            "-ERR timeout is not an integer or out of range\r\n"
        );
        assert_eq!(k.run(&["CLIENT", "PAUSE", "100000", "WRITE"]), "+OK\r\n");
        let e = &k.engine;
        assert!(e.pause_until_ms.load(Ordering::Relaxed) > crate::unix_ms());
        assert!(e.pause_writes_only.load(Ordering::Relaxed));
        // A shorter ALL pause keeps the end time but pauses everything.
        let end = e.pause_until_ms.load(Ordering::Relaxed);
        assert_eq!(k.run(&["CLIENT", "PAUSE", "10", "ALL"]), "+OK\r\n");
        assert_eq!(k.engine.pause_until_ms.load(Ordering::Relaxed), end);
        assert!(!k.engine.pause_writes_only.load(Ordering::Relaxed));
        assert_eq!(k.run(&["CLIENT", "UNPAUSE"]), "+OK\r\n");
        assert_eq!(k.engine.pause_until_ms.load(Ordering::Relaxed), 0);
        assert_eq!(
            k.run(&["CLIENT", "UNPAUSE", "x"]),
            "-ERR wrong number of arguments for 'client|unpause' command\r\n"
        );
    }

    #[test]
    fn client_help_shape() {
        let mut k = Kit::new();
        let r = k.run(&["client", "help"]);
        assert!(r.contains("+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"));
        assert!(r.ends_with("+HELP\r\n+    Prints this help.\r\n"));
    }
}
