//! Lua scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, FUNCTION, FCALL, FCALL_RO, with
//! Redis 7.0's semantics.
//!
//! Representation: [`Scripting`] (a field of the engine) owns two Lua 5.1 interpreters, created
//! on first use as in Redis: the EVAL VM with its script cache (SHA1 -> compiled chunk), and
//! the functions VM with its libraries ([`functions::Libraries`]). Both sit behind one mutex:
//! scripts run one at a time, and whoever holds the mutex is the running script. What other
//! clients may observe while a script runs (its name, whether it passed
//! `busy-reply-threshold`, whether it wrote, the kill flag) lives in [`RunState`], outside
//! the mutex.
//!
//! Modules: `vm` (an interpreter, its sandbox and the `redis` API), `convert` (Lua <-> RESP),
//! `calls` (the seam through which `redis.call` runs commands), `functions` (libraries, DUMP
//! payloads), `rand` (Redis's PRNG for `math.random`), and the libraries `bit`, `cjson`,
//! `cmsgpack`, `lstruct`.
//!
//! Busy scripts: a script past `busy-reply-threshold` (alias `lua-time-limit`) is "timed out":
//! [`Scripting::busy`] turns true and [`Scripting::busy_error`] gives the BUSY text other
//! clients must get (the connection-side check is the dispatcher's job: every command not
//! flagged `allow_busy` should be refused with that text while `busy()`). SCRIPT KILL /
//! FUNCTION KILL stop such a script unless it already wrote (UNKILLABLE). EVAL, FCALL and the
//! other commands needing an interpreter wait for the running script, or answer BUSY once it
//! timed out.
//!
//! Propagation: a script is replicated by its effects, never its text. The write commands it
//! runs are collected while it runs (see [`capture_propagation`], called by
//! [`Engine::propagate`]) and sent after it, wrapped in MULTI/EXEC when there is more than one;
//! `redis.set_repl(redis.REPL_NONE)` leaves out what follows.

mod bit;
pub mod calls;
mod cjson;
mod cmsgpack;
mod convert;
mod functions;
mod lstruct;
mod rand;
mod vm;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::{Mutex, MutexGuard};

use crate::clients::ClientHandle;
use crate::cmd::{def, BeginSearch, CommandDef, FindKeys, KeySpec, KeySpecDef};
use crate::ctx::Ctx;
use crate::engine::{unix_ms, Engine};
use crate::error::{Error, Result};

pub use calls::{ExecuteCalls, ScriptCalls};

use functions::{Libraries, RestorePolicy};
use vm::{Invocation, RunCtx, Vm};

/// Script flag `no-writes`.
pub const FLAG_NO_WRITES: u32 = 1 << 0;
/// Script flag `allow-oom`.
pub const FLAG_ALLOW_OOM: u32 = 1 << 1;
/// Script flag `allow-stale`.
pub const FLAG_ALLOW_STALE: u32 = 1 << 2;
/// Script flag `no-cluster`.
pub const FLAG_NO_CLUSTER: u32 = 1 << 3;
/// Script flag `allow-cross-slot-keys`.
pub const FLAG_ALLOW_CROSS_SLOT: u32 = 1 << 4;
/// An EVAL script without a shebang (Redis's compatibility mode: its flags are ignored).
const FLAG_EVAL_COMPAT: u32 = 1 << 8;

/// The script flags by name, in Redis's order (FUNCTION LIST shows them in this order).
pub(crate) const SCRIPT_FLAGS: &[(&str, u32)] = &[
    ("no-writes", FLAG_NO_WRITES),
    ("allow-oom", FLAG_ALLOW_OOM),
    ("allow-stale", FLAG_ALLOW_STALE),
    ("no-cluster", FLAG_NO_CLUSTER),
    ("allow-cross-slot-keys", FLAG_ALLOW_CROSS_SLOT),
];

/// How long FUNCTION LOAD may run a library's code (Redis's LOAD_TIMEOUT_MS).
const LOAD_TIMEOUT_MS: u64 = 500;

const BUSY_EVAL: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

/// Whether a script with `flags` is refused while used memory is over maxmemory, as a write
/// command is: one that declared flags (a shebang, or any function) unless it declared
/// `no-writes` or `allow-oom` (Redis's scriptFlagsToCmdFlags). A script without a shebang is
/// not refused: only its write calls are (see `RunCtx::oom`).
fn flags_deny_oom(flags: u32) -> bool {
    flags & (FLAG_EVAL_COMPAT | FLAG_NO_WRITES | FLAG_ALLOW_OOM) == 0
}

/// Whether the scripting command `args` (EVAL, EVALSHA, FCALL and their `_RO` forms) is to be
/// refused while used memory is over maxmemory ([`flags_deny_oom`] of the script it names);
/// false for any other command, and for a script not found (its own error comes later), as in
/// Redis. Called by the dispatcher before the command runs, only when memory is over.
pub(crate) fn denies_oom(engine: &Engine, cmd: &CommandDef, args: &[&[u8]]) -> bool {
    let Some(target) = args.get(1) else {
        return false;
    };
    let s = &engine.scripting;
    let flags = match cmd.name {
        "eval" | "eval_ro" => eval_shebang(target).ok().map(|(f, _)| f),
        "evalsha" | "evalsha_ro" => sha_key(target).and_then(|k| {
            let inner = s.lock().ok()?;
            Some(inner.eval.as_ref()?.scripts.get(&k)?.flags)
        }),
        "fcall" | "fcall_ro" => s
            .lock()
            .ok()
            .and_then(|inner| Some(inner.functions.as_ref()?.libs.function(target)?.flags)),
        _ => None,
    };
    flags.is_some_and(flags_deny_oom)
}

/// Library and function names: letters, digits and underscores, at least one.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// The script that is running, for FUNCTION STATS.
#[derive(Clone, Debug)]
pub struct RunningScript {
    /// The function's name, or the script's SHA1.
    pub name: String,
    /// The command that started it.
    pub command: Vec<Bytes>,
    /// When it started.
    pub started: Instant,
}

/// What other clients can see of the running script.
#[derive(Default)]
pub struct RunState {
    /// A script is running.
    pub(crate) running: AtomicBool,
    /// It ran past busy-reply-threshold: it is killable and other clients get BUSY.
    pub(crate) timed_out: AtomicBool,
    /// SCRIPT KILL / FUNCTION KILL asked it to stop.
    pub(crate) killed: AtomicBool,
    /// It ran a write command (then it cannot be killed).
    pub(crate) wrote: AtomicBool,
    /// It is an EVAL script (else a function).
    pub(crate) is_eval: AtomicBool,
    /// The running script's description, set by the time-limit hook when it times out.
    info: Mutex<Option<RunningScript>>,
}

/// A cached EVAL script.
struct Script {
    func: mlua::Function,
    flags: u32,
}

/// The EVAL interpreter and its script cache.
struct EvalVm {
    vm: Vm,
    /// By SHA1, in lowercase hex.
    scripts: HashMap<ShaKey, Script, foldhash::fast::RandomState>,
}

/// The functions interpreter and its libraries.
struct FunctionsVm {
    vm: Vm,
    libs: Libraries,
}

#[derive(Default)]
struct Inner {
    eval: Option<EvalVm>,
    functions: Option<FunctionsVm>,
    /// The handle of the scripts' client (not listed in CLIENT LIST).
    client: Option<Arc<ClientHandle>>,
}

/// The engine's scripting state (see the module doc).
pub struct Scripting {
    inner: Mutex<Inner>,
    state: Arc<RunState>,
    /// redisLrand48's state, shared by every script and function.
    rng: Arc<AtomicU64>,
    libraries: AtomicUsize,
    functions: AtomicUsize,
    /// The server's way to stop holding up other clients while a script runs long (see
    /// [`Scripting::set_escape_hook`]).
    escape_hook: std::sync::OnceLock<fn() -> bool>,
}

impl Default for Scripting {
    fn default() -> Self {
        Scripting {
            inner: Mutex::new(Inner::default()),
            state: Arc::new(RunState::default()),
            rng: Arc::new(AtomicU64::new(rand::Rand48::default().state())),
            libraries: AtomicUsize::new(0),
            functions: AtomicUsize::new(0),
            escape_hook: std::sync::OnceLock::new(),
        }
    }
}

impl Scripting {
    /// Installs what a script calls once it has run for a while (the time-limit hook's first
    /// tick, after 100k Lua instructions): scripts run on the thread of the command that
    /// started them, and the server uses this to hand that thread's other duties (other
    /// clients' connections) to another thread, so that SCRIPT KILL, FUNCTION KILL and
    /// SHUTDOWN NOSAVE can be served (and BUSY replied) while the script spins. It returns
    /// whether that was done; it is called again at the next tick if not. Without a hook
    /// nothing is done.
    pub fn set_escape_hook(&self, hook: fn() -> bool) {
        let _ = self.escape_hook.set(hook);
    }

    /// Calls the escape hook, if any; true when there is nothing left to do.
    pub(crate) fn escape(&self) -> bool {
        self.escape_hook.get().is_none_or(|h| h())
    }

    /// Whether a script is running and has passed `busy-reply-threshold`: other clients must
    /// then get [`Scripting::busy_error`] for every command not flagged `allow_busy`.
    pub fn busy(&self) -> bool {
        self.state.running.load(Ordering::Acquire) && self.state.timed_out.load(Ordering::Acquire)
    }

    /// The BUSY error text for the running script (`SCRIPT KILL` or `FUNCTION KILL` variant).
    pub fn busy_error(&self) -> &'static str {
        if self.state.is_eval.load(Ordering::Acquire) {
            BUSY_EVAL
        } else {
            BUSY_FUNCTION
        }
    }

    /// Whether any script is running (timed out or not).
    pub fn running(&self) -> bool {
        self.state.running.load(Ordering::Acquire)
    }

    /// The running script, once it has run past `busy-reply-threshold` (the time-limit hook
    /// describes it then, so that a run costs no copy of its command line); None before.
    pub fn running_script(&self) -> Option<RunningScript> {
        self.state.info.lock().clone()
    }

    /// Takes the interpreters, waiting for a running script; BUSY once it timed out.
    fn lock(&self) -> Result<MutexGuard<'_, Inner>> {
        loop {
            if let Some(g) = self.inner.try_lock_for(Duration::from_millis(2)) {
                return Ok(g);
            }
            if self.busy() {
                return Err(Error::msg(self.busy_error()));
            }
        }
    }

    /// Waits until no script runs or the running one timed out; true if one is running.
    fn wait_timed_out_or_idle(&self) -> bool {
        loop {
            if !self.running() {
                return false;
            }
            if self.state.timed_out.load(Ordering::Acquire) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

fn new_vm(s: &Scripting, functions_mode: bool) -> Result<Vm> {
    Vm::new(functions_mode, s.state.clone(), s.rng.clone())
        .map_err(|e| Error::msg(format!("ERR Lua initialization failed: {e}")))
}

fn eval_vm<'i>(s: &Scripting, inner: &'i mut Inner) -> Result<&'i mut EvalVm> {
    if inner.eval.is_none() {
        inner.eval = Some(EvalVm {
            vm: new_vm(s, false)?,
            scripts: HashMap::default(),
        });
    }
    inner
        .eval
        .as_mut()
        .ok_or_else(|| Error::msg("ERR Lua initialization failed"))
}

fn functions_vm<'i>(s: &Scripting, inner: &'i mut Inner) -> Result<&'i mut FunctionsVm> {
    if inner.functions.is_none() {
        inner.functions = Some(FunctionsVm {
            vm: new_vm(s, true)?,
            libs: Libraries::default(),
        });
    }
    inner
        .functions
        .as_mut()
        .ok_or_else(|| Error::msg("ERR Lua initialization failed"))
}

/// A script's SHA1 as 40 lowercase hex digits: the script cache's key.
type ShaKey = [u8; 40];

/// The cache key for a SHA1 as a client wrote it (any case); None if it cannot be one.
fn sha_key(sha: &[u8]) -> Option<ShaKey> {
    let mut k: ShaKey = sha.try_into().ok()?;
    k.make_ascii_lowercase();
    Some(k)
}

fn sha1_hex(body: &[u8]) -> String {
    sha1_smol::Sha1::from(body).digest().to_string()
}

/// Parses an EVAL script's shebang (`#!lua flags=a,b`): its flags and where the code starts.
fn eval_shebang(body: &[u8]) -> std::result::Result<(u32, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((FLAG_EVAL_COMPAT, 0));
    }
    let Some(nl) = body.iter().position(|&b| b == b'\n') else {
        return Err("Invalid script shebang".into());
    };
    let line = String::from_utf8_lossy(&body[..nl]).into_owned();
    let parts: Vec<&str> = line.split(' ').collect();
    if parts.first() != Some(&"#!lua") {
        return Err(format!(
            "Unexpected engine in script shebang: {}",
            parts.first().unwrap_or(&"")
        ));
    }
    let mut fl = 0;
    for p in &parts[1..] {
        if let Some(list) = p.strip_prefix("flags=") {
            if list.is_empty() {
                continue;
            }
            for f in list.split(',') {
                match SCRIPT_FLAGS.iter().find(|(n, _)| *n == f) {
                    Some((_, b)) => fl |= b,
                    None => return Err(format!("Unexpected flag in script shebang: {f}")),
                }
            }
        } else {
            return Err(format!("Unknown lua shebang option: {p}"));
        }
    }
    Ok((fl, nl))
}

// ---------------------------------------------------------------------------------------------
// Propagation capture

/// Effects of the running script, collected on its thread.
struct Capture {
    records: Vec<(usize, Vec<Bytes>)>,
    /// REPL_* flags (`redis.set_repl`): 0 drops what is propagated.
    flags: u8,
}

thread_local! {
    static CAPTURE: RefCell<Option<Capture>> = const { RefCell::new(None) };
}

/// Called by [`Engine::propagate`]: while a script runs on this thread, its effects are kept
/// (to be sent after it, in a MULTI/EXEC) instead of going out. Returns whether it took them.
pub(crate) fn capture_propagation(db: usize, args: &[&[u8]]) -> bool {
    CAPTURE.with(|c| {
        let mut c = c.borrow_mut();
        match c.as_mut() {
            Some(cap) => {
                if cap.flags != 0 {
                    cap.records
                        .push((db, args.iter().map(|a| Bytes::copy_from_slice(a)).collect()));
                }
                true
            }
            None => false,
        }
    })
}

/// `redis.set_repl`.
pub(crate) fn set_repl_flags(flags: u8) {
    CAPTURE.with(|c| {
        if let Some(cap) = c.borrow_mut().as_mut() {
            cap.flags = flags;
        }
    });
}

fn start_capture() {
    CAPTURE.with(|c| {
        *c.borrow_mut() = Some(Capture {
            records: Vec::new(),
            flags: 3,
        })
    });
}

fn finish_capture(engine: &Engine) {
    let Some(cap) = CAPTURE.with(|c| c.borrow_mut().take()) else {
        return;
    };
    if cap.records.is_empty() || !engine.propagating() {
        return;
    }
    let wrap = cap.records.len() > 1;
    let first_db = cap.records[0].0;
    if wrap {
        engine.propagate(first_db, &[b"MULTI"]);
    }
    let mut last_db = first_db;
    for (db, args) in &cap.records {
        let slices: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
        engine.propagate(*db, &slices);
        last_db = *db;
    }
    if wrap {
        engine.propagate(last_db, &[b"EXEC"]);
    }
}

// ---------------------------------------------------------------------------------------------
// Running

/// The scripts' client (not listed in CLIENT LIST), made on first use.
fn script_client(engine: &Engine, inner: &mut Inner) -> Arc<ClientHandle> {
    match &inner.client {
        Some(h) => h.clone(),
        None => {
            let h = engine
                .clients
                .register(None, None, unix_ms(), Box::new(|| {}));
            engine.clients.unregister(h.id);
            inner.client = Some(h.clone());
            h
        }
    }
}

/// Runs `func` on `vm` for the command in `ctx` (keys and arguments after numkeys).
#[allow(clippy::too_many_arguments)]
fn run_script(
    ctx: &mut Ctx<'_>,
    vm: &Vm,
    client: Arc<ClientHandle>,
    is_eval: bool,
    func: &mlua::Function,
    name: &str,
    read_only: bool,
    allow_oom: bool,
    numkeys: usize,
) {
    let engine = ctx.engine;
    let s = &engine.scripting;
    let threshold_ms = engine.config.settings().busy_reply_threshold_ms;
    let command: &[&[u8]] = ctx.args;
    let start = engine.clock.now();
    // Redis's script_oom: whether memory was over maxmemory when the script started (the
    // dispatcher already tried evicting for this command); its denyoom calls fail from that.
    let oom = !allow_oom && engine.over_maxmemory();
    {
        let st = &s.state;
        st.killed.store(false, Ordering::Release);
        st.wrote.store(false, Ordering::Release);
        st.timed_out.store(false, Ordering::Release);
        st.is_eval.store(is_eval, Ordering::Release);
        st.running.store(true, Ordering::Release);
    }
    let mut calls = ExecuteCalls::new(engine, client, ctx.sess.db, ctx.db.now_ms);
    let mut rctx = RunCtx {
        engine,
        calls: &mut calls,
        state: &s.state,
        read_only,
        oom,
        resp3: false,
        reply: flint_protocol::ReplyWriter::new(false),
        name,
        command,
        started: start,
        threshold_ms,
        escaped: false,
    };
    let inv = Invocation {
        func,
        keys: &command[3..3 + numkeys],
        args: &command[3 + numkeys..],
    };
    start_capture();
    vm.run(&inv, &mut rctx, ctx.out);
    finish_capture(engine);
    let st = &s.state;
    st.running.store(false, Ordering::Release);
    if st.timed_out.swap(false, Ordering::AcqRel) {
        // Only a script that timed out was described (see `Vm::install_hook`).
        *st.info.lock() = None;
    }
    st.killed.store(false, Ordering::Release);
}

/// Parses numkeys (argument 2) against the argument count, as EVAL does.
fn numkeys(ctx: &Ctx<'_>, bad: &'static str) -> Result<usize> {
    let n = crate::util::parse_i64(ctx.arg(2)).ok_or(Error::msg(bad))?;
    if n > ctx.args.len() as i64 - 3 {
        return Err(Error::msg(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    if n < 0 {
        return Err(Error::msg("ERR Number of keys can't be negative"));
    }
    Ok(n as usize)
}

/// Compiles and caches an EVAL script body; returns its SHA1.
fn load_script(s: &Scripting, inner: &mut Inner, body: &[u8]) -> Result<String> {
    let sha = sha1_hex(body);
    let key = sha_key(sha.as_bytes()).ok_or_else(|| Error::msg("ERR bad SHA1"))?;
    let ev = eval_vm(s, inner)?;
    if ev.scripts.contains_key(&key) {
        return Ok(sha);
    }
    let (flags, start) = eval_shebang(body).map_err(|e| Error::msg(format!("ERR {e}")))?;
    let func = ev.vm.compile_eval(&body[start..]).map_err(Error::msg)?;
    ev.scripts.insert(key, Script { func, flags });
    Ok(sha)
}

/// Runs a script command atomically: with the engine gate held exclusively (nothing else runs;
/// other clients wait, or get BUSY once the script has run past busy-reply-threshold), each
/// command the script calls locking its own keys (see `calls`).
///
/// IMPORTANT: lock order. The gate is taken before the interpreter's mutex, and nobody holding
/// that mutex ever waits for the gate: SCRIPT/FUNCTION subcommands take the mutex briefly under
/// their batch's shared hold, which an exclusive taker waits out.
fn atomically(ctx: &mut Ctx<'_>, f: impl FnOnce(&mut Ctx<'_>) -> Result<()>) -> Result<()> {
    ctx.db.unlock();
    let engine = ctx.engine;
    let g = engine.begin_exclusive(ctx.sess);
    let r = f(ctx);
    engine.end_exclusive(ctx.sess, g);
    r
}

fn eval_generic(ctx: &mut Ctx<'_>, by_sha: bool, ro: bool) -> Result<()> {
    let nk = numkeys(ctx, "ERR value is not an integer or out of range")?;
    atomically(ctx, |ctx| eval_locked(ctx, by_sha, ro, nk))
}

fn eval_locked(ctx: &mut Ctx<'_>, by_sha: bool, ro: bool, nk: usize) -> Result<()> {
    let s = &ctx.engine.scripting;
    let mut inner = s.lock()?;
    let key = if by_sha {
        sha_key(ctx.arg(1))
    } else {
        let sha = load_script(s, &mut inner, ctx.arg(1))?;
        sha_key(sha.as_bytes())
    };
    let client = script_client(ctx.engine, &mut inner);
    let Some((ev, sc)) = key.and_then(|k| {
        let ev = inner.eval.as_ref()?;
        Some((ev, ev.scripts.get(&k)?))
    }) else {
        return Err(Error::msg("NOSCRIPT No matching script. Please use EVAL."));
    };
    let flags = sc.flags;
    let compat = flags & FLAG_EVAL_COMPAT != 0;
    if !compat && flags & FLAG_NO_WRITES == 0 && ro {
        return Err(Error::msg(
            "ERR Can not execute a script with write flag using *_ro command.",
        ));
    }
    let read_only = ro || (!compat && flags & FLAG_NO_WRITES != 0);
    let name = key
        .as_ref()
        .and_then(|k| std::str::from_utf8(k).ok())
        .unwrap_or("");
    let allow_oom = !compat && flags & FLAG_ALLOW_OOM != 0;
    run_script(
        ctx, &ev.vm, client, true, &sc.func, name, read_only, allow_oom, nk,
    );
    Ok(())
}

fn eval(ctx: &mut Ctx<'_>) -> Result<()> {
    eval_generic(ctx, false, false)
}

fn evalsha(ctx: &mut Ctx<'_>) -> Result<()> {
    eval_generic(ctx, true, false)
}

fn eval_ro(ctx: &mut Ctx<'_>) -> Result<()> {
    eval_generic(ctx, false, true)
}

fn evalsha_ro(ctx: &mut Ctx<'_>) -> Result<()> {
    eval_generic(ctx, true, true)
}

fn fcall_generic(ctx: &mut Ctx<'_>, ro: bool) -> Result<()> {
    atomically(ctx, |ctx| fcall_locked(ctx, ro))
}

fn fcall_locked(ctx: &mut Ctx<'_>, ro: bool) -> Result<()> {
    let s = &ctx.engine.scripting;
    let mut inner = s.lock()?;
    let client = script_client(ctx.engine, &mut inner);
    let fv = functions_vm(s, &mut inner)?;
    let Some(f) = fv.libs.function(ctx.arg(1)) else {
        return Err(Error::msg("ERR Function not found"));
    };
    let nk = numkeys(ctx, "ERR Bad number of keys provided")?;
    if f.flags & FLAG_NO_WRITES == 0 && ro {
        return Err(Error::msg(
            "ERR Can not execute a script with write flag using *_ro command.",
        ));
    }
    let read_only = ro || f.flags & FLAG_NO_WRITES != 0;
    let allow_oom = f.flags & FLAG_ALLOW_OOM != 0;
    run_script(
        ctx, &fv.vm, client, false, &f.func, &f.name, read_only, allow_oom, nk,
    );
    Ok(())
}

fn fcall(ctx: &mut Ctx<'_>) -> Result<()> {
    fcall_generic(ctx, false)
}

fn fcall_ro(ctx: &mut Ctx<'_>) -> Result<()> {
    fcall_generic(ctx, true)
}

// ---------------------------------------------------------------------------------------------
// SCRIPT

fn script_load(ctx: &mut Ctx<'_>) -> Result<()> {
    let s = &ctx.engine.scripting;
    let mut inner = s.lock()?;
    let sha = load_script(s, &mut inner, ctx.arg(2))?;
    ctx.out.bulk(sha.as_bytes());
    Ok(())
}

fn script_exists(ctx: &mut Ctx<'_>) -> Result<()> {
    let s = &ctx.engine.scripting;
    let inner = s.lock()?;
    ctx.out.array(ctx.args.len() - 2);
    for a in &ctx.args[2..] {
        let found = sha_key(a).is_some_and(|k| {
            inner
                .eval
                .as_ref()
                .is_some_and(|e| e.scripts.contains_key(&k))
        });
        ctx.out.int(found as i64);
    }
    Ok(())
}

fn script_flush(ctx: &mut Ctx<'_>) -> Result<()> {
    let ok = match ctx.args.len() {
        2 => true,
        3 => ctx.arg_is(2, "sync") || ctx.arg_is(2, "async"),
        _ => false,
    };
    if !ok {
        return Err(Error::msg(
            "ERR SCRIPT FLUSH only support SYNC|ASYNC option",
        ));
    }
    let s = &ctx.engine.scripting;
    let old = s.lock()?.eval.take();
    drop(old);
    ctx.out.ok();
    Ok(())
}

/// SCRIPT KILL / FUNCTION KILL.
fn kill(ctx: &mut Ctx<'_>, eval_cmd: bool) -> Result<()> {
    let s = &ctx.engine.scripting;
    if !s.wait_timed_out_or_idle() {
        return Err(Error::msg("NOTBUSY No scripts in execution right now."));
    }
    let st = &s.state;
    if st.wrote.load(Ordering::Acquire) {
        return Err(Error::msg("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."));
    }
    let is_eval = st.is_eval.load(Ordering::Acquire);
    if eval_cmd && !is_eval {
        return Err(Error::msg(BUSY_FUNCTION));
    }
    if !eval_cmd && is_eval {
        return Err(Error::msg(BUSY_EVAL));
    }
    st.killed.store(true, Ordering::Release);
    ctx.out.ok();
    Ok(())
}

fn script_kill(ctx: &mut Ctx<'_>) -> Result<()> {
    kill(ctx, true)
}

fn script_debug(ctx: &mut Ctx<'_>) -> Result<()> {
    if ctx.arg_is(2, "no") {
        ctx.out.ok();
        return Ok(());
    }
    if ctx.arg_is(2, "yes") || ctx.arg_is(2, "sync") {
        return Err(Error::msg(
            "ERR SCRIPT DEBUG is not supported: Flint has no Lua debugger",
        ));
    }
    Err(Error::msg("ERR Use SCRIPT DEBUG YES/SYNC/NO"))
}

fn script_help(ctx: &mut Ctx<'_>) -> Result<()> {
    crate::server::reply_help(
        ctx,
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// FUNCTION

fn update_counts(s: &Scripting, libs: &Libraries) {
    s.libraries.store(libs.lib_count(), Ordering::Release);
    s.functions.store(libs.function_count(), Ordering::Release);
}

fn function_load(ctx: &mut Ctx<'_>) -> Result<()> {
    let mut replace = false;
    let mut pos = 2;
    while pos < ctx.args.len() - 1 {
        if ctx.arg_is(pos, "replace") {
            replace = true;
            pos += 1;
            continue;
        }
        return Err(Error::msg(format!(
            "ERR Unknown option given: {}",
            ctx.arg_lossy(pos)
        )));
    }
    let code = ctx.arg(pos);
    let s = &ctx.engine.scripting;
    let mut inner = s.lock()?;
    let fv = functions_vm(s, &mut inner)?;
    let name = fv
        .libs
        .load(&fv.vm, code, replace, LOAD_TIMEOUT_MS)
        .map_err(|e| Error::msg(format!("ERR {e}")))?;
    update_counts(s, &fv.libs);
    ctx.db.dirty += 1;
    ctx.out.bulk(name.as_bytes());
    Ok(())
}

fn function_delete(ctx: &mut Ctx<'_>) -> Result<()> {
    let s = &ctx.engine.scripting;
    let mut inner = s.lock()?;
    let fv = functions_vm(s, &mut inner)?;
    if !fv.libs.delete(ctx.arg(2)) {
        return Err(Error::msg("ERR Library not found"));
    }
    update_counts(s, &fv.libs);
    ctx.db.dirty += 1;
    ctx.out.ok();
    Ok(())
}

fn function_flush(ctx: &mut Ctx<'_>) -> Result<()> {
    let ok = match ctx.args.len() {
        2 => true,
        3 => ctx.arg_is(2, "sync") || ctx.arg_is(2, "async"),
        _ => return Err(crate::server::subcommand_syntax(ctx)),
    };
    if !ok {
        return Err(Error::msg(
            "ERR FUNCTION FLUSH only supports SYNC|ASYNC option",
        ));
    }
    let s = &ctx.engine.scripting;
    let old = s.lock()?.functions.take();
    drop(old);
    s.libraries.store(0, Ordering::Release);
    s.functions.store(0, Ordering::Release);
    ctx.db.dirty += 1;
    ctx.out.ok();
    Ok(())
}

fn function_list(ctx: &mut Ctx<'_>) -> Result<()> {
    let mut with_code = false;
    let mut pattern: Option<Vec<u8>> = None;
    let mut i = 2;
    while i < ctx.args.len() {
        if !with_code && ctx.arg_is(i, "withcode") {
            with_code = true;
            i += 1;
            continue;
        }
        if pattern.is_none() && ctx.arg_is(i, "libraryname") {
            if i >= ctx.args.len() - 1 {
                return Err(Error::msg("ERR library name argument was not given"));
            }
            pattern = Some(ctx.arg(i + 1).to_vec());
            i += 2;
            continue;
        }
        return Err(Error::msg(format!(
            "ERR Unknown argument {}",
            ctx.arg_lossy(i)
        )));
    }
    let s = &ctx.engine.scripting;
    let mut inner = s.lock()?;
    let fv = functions_vm(s, &mut inner)?;
    let libs: Vec<_> = fv
        .libs
        .libs
        .values()
        .filter(|l| {
            pattern
                .as_ref()
                .is_none_or(|p| crate::util::glob::glob_match(p, l.name.as_bytes(), true))
        })
        .collect();
    let out = &mut *ctx.out;
    out.array(libs.len());
    for lib in libs {
        out.map(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(lib.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(lib.functions.len());
        for f in &lib.functions {
            out.map(3);
            out.bulk(b"name");
            out.bulk(f.name.as_bytes());
            out.bulk(b"description");
            match &f.desc {
                Some(d) => out.bulk(d.as_bytes()),
                None => out.null(),
            }
            out.bulk(b"flags");
            let names: Vec<&str> = SCRIPT_FLAGS
                .iter()
                .filter(|(_, b)| f.flags & b != 0)
                .map(|(n, _)| *n)
                .collect();
            out.set(names.len());
            for n in names {
                out.simple(n);
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&lib.code);
        }
    }
    Ok(())
}

fn function_dump(ctx: &mut Ctx<'_>) -> Result<()> {
    let s = &ctx.engine.scripting;
    let mut inner = s.lock()?;
    let fv = functions_vm(s, &mut inner)?;
    let payload = fv.libs.dump();
    ctx.out.bulk(&payload);
    Ok(())
}

fn function_restore(ctx: &mut Ctx<'_>) -> Result<()> {
    if ctx.args.len() > 4 {
        return Err(crate::server::subcommand_syntax(ctx));
    }
    let policy = if ctx.args.len() == 4 {
        if ctx.arg_is(3, "append") {
            RestorePolicy::Append
        } else if ctx.arg_is(3, "replace") {
            RestorePolicy::Replace
        } else if ctx.arg_is(3, "flush") {
            RestorePolicy::Flush
        } else {
            return Err(Error::msg(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ));
        }
    } else {
        RestorePolicy::Append
    };
    let s = &ctx.engine.scripting;
    let mut inner = s.lock()?;
    let fv = functions_vm(s, &mut inner)?;
    fv.libs
        .restore(&fv.vm, ctx.arg(2), policy)
        .map_err(|e| Error::msg(format!("ERR {e}")))?;
    update_counts(s, &fv.libs);
    ctx.db.dirty += 1;
    ctx.out.ok();
    Ok(())
}

fn function_kill(ctx: &mut Ctx<'_>) -> Result<()> {
    kill(ctx, false)
}

fn function_stats(ctx: &mut Ctx<'_>) -> Result<()> {
    let s = &ctx.engine.scripting;
    let running = s.wait_timed_out_or_idle();
    if running && s.state.is_eval.load(Ordering::Acquire) {
        return Err(Error::msg(BUSY_EVAL));
    }
    let info = if running { s.running_script() } else { None };
    let out = &mut *ctx.out;
    out.map(2);
    out.bulk(b"running_script");
    match info {
        None => out.null(),
        Some(r) => {
            out.map(3);
            out.bulk(b"name");
            out.bulk(r.name.as_bytes());
            out.bulk(b"command");
            out.array(r.command.len());
            for a in &r.command {
                out.bulk(a);
            }
            out.bulk(b"duration_ms");
            out.int(r.started.elapsed().as_millis() as i64);
        }
    }
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(s.libraries.load(Ordering::Acquire) as i64);
    out.bulk(b"functions_count");
    out.int(s.functions.load(Ordering::Acquire) as i64);
    Ok(())
}

fn function_help(ctx: &mut Ctx<'_>) -> Result<()> {
    crate::server::reply_help(
        ctx,
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The command table

/// The keys of EVAL/FCALL: `numkeys` (argument 2) keys after it; none when numkeys is bad
/// (the handler then replies the error).
fn numkeys_keys(args: &[&[u8]]) -> Vec<usize> {
    let Some(n) = args.get(2).and_then(|a| crate::util::parse_i64(a)) else {
        return Vec::new();
    };
    if n <= 0 || n > args.len() as i64 - 3 {
        return Vec::new();
    }
    (3..3 + n as usize).collect()
}

const NUMKEYS_FIND: FindKeys = FindKeys::Keynum {
    keynumidx: 0,
    firstkey: 1,
    keystep: 1,
};

const RW_SPEC: &[KeySpecDef] = &[KeySpecDef {
    flags: "RW access update",
    notes: "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE",
    begin: BeginSearch::Index(2),
    find: NUMKEYS_FIND,
}];
const RW_SPEC_NO_NOTES: &[KeySpecDef] = &[KeySpecDef {
    flags: "RW access update",
    notes: "",
    begin: BeginSearch::Index(2),
    find: NUMKEYS_FIND,
}];
const RO_SPEC: &[KeySpecDef] = &[KeySpecDef {
    flags: "RO access",
    notes: "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS",
    begin: BeginSearch::Index(2),
    find: NUMKEYS_FIND,
}];
const RO_SPEC_NO_NOTES: &[KeySpecDef] = &[KeySpecDef {
    flags: "RO access",
    notes: "",
    begin: BeginSearch::Index(2),
    find: NUMKEYS_FIND,
}];

const EVAL_FLAGS: &str = "noscript stale skip_monitor no_mandatory_keys";
const EVAL_RO_FLAGS: &str = "readonly noscript stale skip_monitor no_mandatory_keys";

static SCRIPT_SUBCOMMANDS: &[CommandDef] = &[
    def(
        "debug",
        3,
        "noscript",
        KeySpec::None,
        "@scripting",
        "scripting",
        "Set the debug mode for executed scripts.",
        "3.2.0",
        script_debug,
    )
    .complexity("O(1)"),
    def(
        "help",
        2,
        "loading stale",
        KeySpec::None,
        "@scripting",
        "scripting",
        "Show helpful text about the different subcommands",
        "5.0.0",
        script_help,
    )
    .complexity("O(1)"),
    def(
        "flush",
        -2,
        "noscript",
        KeySpec::None,
        "@scripting",
        "scripting",
        "Remove all the scripts from the script cache.",
        "2.6.0",
        script_flush,
    )
    .complexity("O(N) with N being the number of scripts in cache")
    .tips("request_policy:all_nodes response_policy:all_succeeded")
    .history(&[(
        "6.2.0",
        "Added the `ASYNC` and `SYNC` flushing mode modifiers.",
    )]),
    def(
        "kill",
        2,
        "noscript allow_busy",
        KeySpec::None,
        "@scripting",
        "scripting",
        "Kill the script currently in execution.",
        "2.6.0",
        script_kill,
    )
    .complexity("O(1)")
    .tips("request_policy:all_shards response_policy:one_succeeded"),
    def(
        "exists",
        -3,
        "noscript",
        KeySpec::None,
        "@scripting",
        "scripting",
        "Check existence of scripts in the script cache.",
        "2.6.0",
        script_exists,
    )
    .complexity("O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).")
    .tips("request_policy:all_shards response_policy:agg_logical_and"),
    def(
        "load",
        3,
        "noscript stale",
        KeySpec::None,
        "@scripting",
        "scripting",
        "Load the specified Lua script into the script cache.",
        "2.6.0",
        script_load,
    )
    .complexity("O(N) with N being the length in bytes of the script body.")
    .tips("request_policy:all_nodes response_policy:all_succeeded"),
];

static FUNCTION_SUBCOMMANDS: &[CommandDef] = &[
    def(
        "kill",
        2,
        "noscript allow_busy",
        KeySpec::None,
        "@scripting",
        "scripting",
        "Kill the function currently in execution.",
        "7.0.0",
        function_kill,
    )
    .complexity("O(1)")
    .tips("request_policy:all_shards response_policy:one_succeeded"),
    def(
        "restore",
        -3,
        "write denyoom noscript",
        KeySpec::None,
        "@scripting",
        "scripting",
        "Restore all the functions on the given payload",
        "7.0.0",
        function_restore,
    )
    .complexity("O(N) where N is the number of functions on the payload")
    .tips("request_policy:all_shards response_policy:all_succeeded"),
    def(
        "delete",
        3,
        "write noscript",
        KeySpec::None,
        "@scripting",
        "scripting",
        "Delete a function by name",
        "7.0.0",
        function_delete,
    )
    .complexity("O(1)")
    .tips("request_policy:all_shards response_policy:all_succeeded"),
    def(
        "list",
        -2,
        "noscript",
        KeySpec::None,
        "@scripting",
        "scripting",
        "List information about all the functions",
        "7.0.0",
        function_list,
    )
    .complexity("O(N) where N is the number of functions")
    .tips("nondeterministic_output_order"),
    def(
        "load",
        -3,
        "write denyoom noscript",
        KeySpec::None,
        "@scripting",
        "scripting",
        "Create a function with the given arguments (name, code, description)",
        "7.0.0",
        function_load,
    )
    .complexity("O(1) (considering compilation time is redundant)")
    .tips("request_policy:all_shards response_policy:all_succeeded"),
    def(
        "dump",
        2,
        "noscript",
        KeySpec::None,
        "@scripting",
        "scripting",
        "Dump all functions into a serialized binary payload",
        "7.0.0",
        function_dump,
    )
    .complexity("O(N) where N is the number of functions"),
    def(
        "flush",
        -2,
        "write noscript",
        KeySpec::None,
        "@scripting",
        "scripting",
        "Deleting all functions",
        "7.0.0",
        function_flush,
    )
    .complexity("O(N) where N is the number of functions deleted")
    .tips("request_policy:all_shards response_policy:all_succeeded"),
    def(
        "help",
        2,
        "loading stale",
        KeySpec::None,
        "@scripting",
        "scripting",
        "Show helpful text about the different subcommands",
        "7.0.0",
        function_help,
    )
    .complexity("O(1)"),
    def(
        "stats",
        2,
        "noscript allow_busy",
        KeySpec::None,
        "@scripting",
        "scripting",
        "Return information about the function currently running (name, description, duration)",
        "7.0.0",
        function_stats,
    )
    .complexity("O(1)")
    .tips("nondeterministic_output request_policy:all_shards response_policy:special"),
];

/// The scripting commands.
pub static COMMANDS: &[CommandDef] = &[
    def(
        "eval",
        -3,
        EVAL_FLAGS,
        KeySpec::Custom(numkeys_keys),
        "@scripting",
        "scripting",
        "Execute a Lua script server side",
        "2.6.0",
        eval,
    )
    .key_specs(RW_SPEC)
    .complexity("Depends on the script that is executed."),
    def(
        "evalsha",
        -3,
        EVAL_FLAGS,
        KeySpec::Custom(numkeys_keys),
        "@scripting",
        "scripting",
        "Execute a Lua script server side",
        "2.6.0",
        evalsha,
    )
    .key_specs(RW_SPEC_NO_NOTES)
    .complexity("Depends on the script that is executed."),
    def(
        "eval_ro",
        -3,
        EVAL_RO_FLAGS,
        KeySpec::Custom(numkeys_keys),
        "@scripting",
        "scripting",
        "Execute a read-only Lua script server side",
        "7.0.0",
        eval_ro,
    )
    .key_specs(RO_SPEC)
    .complexity("Depends on the script that is executed."),
    def(
        "evalsha_ro",
        -3,
        EVAL_RO_FLAGS,
        KeySpec::Custom(numkeys_keys),
        "@scripting",
        "scripting",
        "Execute a read-only Lua script server side",
        "7.0.0",
        evalsha_ro,
    )
    .key_specs(RO_SPEC_NO_NOTES)
    .complexity("Depends on the script that is executed."),
    def(
        "fcall",
        -3,
        EVAL_FLAGS,
        KeySpec::Custom(numkeys_keys),
        "@scripting",
        "scripting",
        "Invoke a function",
        "7.0.0",
        fcall,
    )
    .key_specs(RW_SPEC)
    .complexity("Depends on the function that is executed."),
    def(
        "fcall_ro",
        -3,
        EVAL_RO_FLAGS,
        KeySpec::Custom(numkeys_keys),
        "@scripting",
        "scripting",
        "Invoke a read-only function",
        "7.0.0",
        fcall_ro,
    )
    .key_specs(RO_SPEC)
    .complexity("Depends on the function that is executed."),
    def(
        "script",
        -2,
        "",
        KeySpec::None,
        "",
        "scripting",
        "A container for Lua scripts management commands",
        "2.6.0",
        crate::cmd::container,
    )
    .complexity("Depends on subcommand.")
    .subcommands(SCRIPT_SUBCOMMANDS),
    def(
        "function",
        -2,
        "",
        KeySpec::None,
        "",
        "scripting",
        "A container for function commands",
        "7.0.0",
        crate::cmd::container,
    )
    .complexity("Depends on subcommand.")
    .subcommands(FUNCTION_SUBCOMMANDS),
];

#[cfg(test)]
mod tests;

impl Engine {
    /// Whether the command `args` may run while a script is busy (flag `allow_busy`: SCRIPT
    /// KILL, FUNCTION KILL, SHUTDOWN, MULTI, AUTH...). None of these needs the engine gate.
    pub fn allows_busy(&self, args: &[&[u8]]) -> bool {
        self.resolve(args)
            .is_some_and(|c| c.has(crate::cmd::flags::ALLOW_BUSY))
    }

    /// Replies the BUSY error of the running script (and counts it as Redis does).
    pub fn reply_busy(&self, out: &mut flint_protocol::ReplyWriter) {
        let text = self.scripting.busy_error();
        self.stats.record_error(text);
        out.error(text);
    }
}
