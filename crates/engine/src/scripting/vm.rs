//! One Lua 5.1 interpreter set up the way Redis 7.0 sets up its own: the base, table, string,
//! math and coroutine libraries, Redis's cjson, cmsgpack, bit and struct, the `redis` table,
//! Redis's `math.random`, and a sandbox (see `sandbox.lua`) where the globals and every
//! library are read-only and reading a missing global is an error.
//!
//! There are two kinds of VM, as in Redis: the EVAL VM (scripts are chunks named
//! `@user_script`; `KEYS`/`ARGV` are globals) and the functions VM (libraries are chunks named
//! `@user_function`, loaded with a restricted `redis` table holding `register_function`).
//!
//! Errors follow Redis: a Lua error goes through an error handler that turns it into a table
//! `{err=..., source=..., line=...}` (the position of the user's code that failed, skipping
//! the sandbox's own frames), and the reply is `-<err> script: <name>, on <source>:<line>.`.
//!
//! Rust callbacks never raise Lua errors themselves (mlua would wrap them in userdata). Every
//! function scripts can call that may fail is installed behind [`guard`], a C trampoline: the
//! implementation returns a marker and a message or value, and the trampoline raises it as a
//! C function would (a message prefixed with the caller's position, as luaL_error, or an error
//! table as is, as `redis.call`). Being a C function, the trampoline also keeps Lua from
//! eliminating the caller's frame on `return redis.call(...)`, so error positions are right.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use flint_protocol::ReplyWriter;
use mlua::{
    chunk::ChunkMode, ffi, Function, HookTriggers, LightUserData, Lua, LuaOptions, MultiValue,
    StdLib, Table, Value, VmState,
};

use super::calls::ScriptCalls;
use super::convert::{as_number, error_table, fmt_17g, lua_to_reply, reply_to_lua};
use super::rand::Rand48;
use super::RunState;
use crate::cmd::{flags, Command};
use crate::engine::Engine;

/// The sandbox chunk (see its header comment).
const SANDBOX: &str = include_str!("sandbox.lua");

/// Chunk name of the sandbox: frames from it are invisible in error positions.
const INTERNAL_SOURCE: &str = "=[flint]";

/// The Redis version scripts see (`redis.REDIS_VERSION`, `REDIS_VERSION_NUM`).
pub(crate) const REDIS_VERSION: &str = "7.0.15";
/// `REDIS_VERSION_NUM` for [`REDIS_VERSION`] (0x00MMmmpp).
pub(crate) const REDIS_VERSION_NUM: i64 = 0x0007_000f;

/// Globals a script may see (Redis's allow lists, as exposed by 7.0.15).
const EVAL_GLOBALS: &[&str] = &[
    "string",
    "cjson",
    "bit",
    "cmsgpack",
    "math",
    "table",
    "struct",
    "redis",
    "xpcall",
    "tostring",
    "setmetatable",
    "next",
    "assert",
    "tonumber",
    "rawequal",
    "collectgarbage",
    "getmetatable",
    "rawset",
    "pcall",
    "coroutine",
    "type",
    "_G",
    "select",
    "unpack",
    "gcinfo",
    "pairs",
    "rawget",
    "loadstring",
    "ipairs",
    "_VERSION",
    "load",
    "error",
];

/// Addresses used only as identities: the markers a guarded function returns first to ask the
/// trampoline to raise (with the caller's position, or the value as is).
static RAISE_POS: u8 = 0;
static RAISE_RAW: u8 = 0;

fn raise_pos_ptr() -> *mut c_void {
    std::ptr::addr_of!(RAISE_POS) as *mut c_void
}

fn raise_raw_ptr() -> *mut c_void {
    std::ptr::addr_of!(RAISE_RAW) as *mut c_void
}

/// The marker for "raise this message at the caller's position".
pub(crate) fn raise_marker() -> Value {
    Value::LightUserData(LightUserData(raise_pos_ptr()))
}

/// The marker for "raise this value as is".
fn raise_raw_marker() -> Value {
    Value::LightUserData(LightUserData(raise_raw_ptr()))
}

/// The C trampoline behind [`guard`]: calls upvalue 1 with the arguments and raises what it
/// asks to raise.
///
/// SAFETY: called by Lua as a C function. Nothing with a destructor lives in this frame, so
/// the longjmp of `lua_error` (or of an error inside `lua_call`) skips no Rust cleanup; the
/// stack has LUA_MINSTACK free slots on entry and we push at most two.
unsafe extern "C-unwind" fn guard_trampoline(state: *mut ffi::lua_State) -> c_int {
    let n = ffi::lua_gettop(state);
    ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
    ffi::lua_insert(state, 1);
    ffi::lua_call(state, n, ffi::LUA_MULTRET);
    let nres = ffi::lua_gettop(state);
    if nres >= 1 && ffi::lua_type(state, 1) == ffi::LUA_TLIGHTUSERDATA {
        let p = ffi::lua_touserdata(state, 1);
        if p == raise_pos_ptr() {
            ffi::lua_settop(state, 2);
            ffi::luaL_where(state, 1);
            ffi::lua_insert(state, 2);
            ffi::lua_concat(state, 2);
            ffi::lua_error(state);
        }
        if p == raise_raw_ptr() {
            ffi::lua_settop(state, 2);
            ffi::lua_error(state);
        }
    }
    nres
}

/// `f` behind the raising trampoline (see the module doc).
pub(crate) fn guard(lua: &Lua, f: Function) -> mlua::Result<Function> {
    // SAFETY: the closure pops the function argument and pushes one C closure.
    unsafe {
        lua.exec_raw::<Function>(f, |state| {
            ffi::lua_pushcclosure(state, guard_trampoline, 1);
        })
    }
}

/// A Rust function behind [`guard`].
pub(crate) fn guarded<F>(lua: &Lua, f: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, MultiValue) -> mlua::Result<MultiValue> + Send + 'static,
{
    guard(lua, lua.create_function(f)?)
}

/// `(RAISE, message)`: what a wrapped Rust function returns to raise `message` at the
/// position of its caller (as luaL_error).
pub(crate) fn raise(lua: &Lua, message: &str) -> mlua::Result<MultiValue> {
    Ok(MultiValue::from_vec(vec![
        raise_marker(),
        Value::String(lua.create_string(message)?),
    ]))
}

/// Lua's type name of `v` (luaL_typename).
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        _ => "userdata",
    }
}

/// The type name of argument `n` (1-based), `no value` when absent.
pub(crate) fn arg_type(args: &MultiValue, n: usize) -> &'static str {
    match args.get(n - 1) {
        None => "no value",
        Some(v) => type_name(v),
    }
}

/// luaL_checknumber / luaL_checkint: argument `n` as a number (numeric strings convert), or
/// the error message.
pub(crate) fn check_number(
    lua: &Lua,
    args: &MultiValue,
    n: usize,
    fname: &str,
) -> Result<f64, String> {
    let v = args.get(n - 1).cloned().unwrap_or(Value::Nil);
    if let Some(d) = as_number(&v) {
        return Ok(d);
    }
    if let Value::String(_) = v {
        if let Ok(Some(d)) = lua.coerce_number(v) {
            return Ok(d);
        }
    }
    Err(format!(
        "bad argument #{n} to '{fname}' (number expected, got {})",
        arg_type(args, n)
    ))
}

/// Lua's `tostring` for the values an error can be (numbers as `%.14g`).
fn lua_tostring(lua: &Lua, v: &Value) -> String {
    match v {
        Value::Nil => "nil".into(),
        Value::Boolean(b) => b.to_string(),
        Value::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
        Value::Integer(_) | Value::Number(_) => lua
            .coerce_string(v.clone())
            .ok()
            .flatten()
            .map(|s| String::from_utf8_lossy(&s.as_bytes()).into_owned())
            .unwrap_or_default(),
        Value::Error(e) => e.to_string(),
        other => format!("{}: {:p}", type_name(other), other.to_pointer()),
    }
}

/// What a script run needs besides the VM.
///
/// The `redis` functions and the time-limit hook are installed once, when the VM is created;
/// they reach the run in progress through the VM's [`CtxSlot`].
pub(crate) struct RunCtx<'a> {
    /// The engine (command table).
    pub engine: &'a Engine,
    /// Where `redis.call` sends commands.
    pub calls: &'a mut dyn ScriptCalls,
    /// Shared run state (kill flag, whether the script wrote).
    pub state: &'a Arc<RunState>,
    /// Writes are refused (EVAL_RO, FCALL_RO, `no-writes`).
    pub read_only: bool,
    /// Memory was over maxmemory when the script started and it has no `allow-oom`: its
    /// denyoom calls fail with OOM until it wrote (Redis's scriptVerifyOOM: a script that
    /// already changed the dataset cannot be stopped half-way).
    pub oom: bool,
    /// The script client's protocol (`redis.setresp`).
    pub resp3: bool,
    /// Reused buffer for the replies of called commands.
    pub reply: ReplyWriter,
    /// Shown in errors and FUNCTION STATS: the SHA1 of an EVAL script, a function's name.
    pub name: &'a str,
    /// The command that started the script (FUNCTION STATS).
    pub command: &'a [&'a [u8]],
    /// When the script started, in ticks of the engine's clock (`Engine::clock`: cheaper to
    /// read than `Instant`, and read once per script run).
    pub started: u64,
    /// `busy-reply-threshold` in milliseconds (0: never busy).
    pub threshold_ms: u64,
    /// The time-limit hook has had the server free the script's thread from its other duties
    /// (see `Scripting::set_escape_hook`).
    pub escaped: bool,
}

/// Where the functions installed once per VM (`redis.call` and friends, the time-limit hook)
/// find the [`RunCtx`] of the run in progress: a pointer set by [`Vm::run`] for the length of
/// the Lua call, null otherwise.
#[derive(Default)]
pub(crate) struct CtxSlot {
    ptr: AtomicPtr<c_void>,
    /// A callback is using the context (a nested use is refused, as Redis refuses a
    /// recursive `redis.call`).
    in_use: AtomicBool,
}

/// Clears the slot's in-use flag when a callback is done with the context (even by unwinding).
struct SlotUse<'s>(&'s CtxSlot);

impl Drop for SlotUse<'_> {
    fn drop(&mut self) {
        self.0.in_use.store(false, Ordering::Release);
    }
}

/// Clears the slot's pointer when a run ends (even by unwinding).
struct SlotSet<'s>(&'s CtxSlot);

impl Drop for SlotSet<'_> {
    fn drop(&mut self) {
        self.0.ptr.store(std::ptr::null_mut(), Ordering::Release);
    }
}

impl CtxSlot {
    /// Runs `f` on the context of the run in progress; None when there is none or it is already
    /// in use.
    fn with<R>(&self, f: impl FnOnce(&mut RunCtx<'_>) -> R) -> Option<R> {
        if self.in_use.swap(true, Ordering::Acquire) {
            return None;
        }
        let _use = SlotUse(self);
        let p = self.ptr.load(Ordering::Acquire) as *mut RunCtx<'_>;
        if p.is_null() {
            return None;
        }
        // SAFETY: a non-null pointer was stored by `Vm::run` from a `&mut RunCtx` that it does
        // not touch until the Lua call returns and the pointer is cleared (`SlotSet`); callbacks
        // run on the thread of that call, during it, and `in_use` makes this the only reference
        // made from the pointer at a time. The reference cannot escape `f` (higher-ranked).
        Some(f(unsafe { &mut *p }))
    }
}

/// An EVAL script or a function to run.
pub(crate) struct Invocation<'k> {
    /// The compiled chunk or function.
    pub func: &'k Function,
    /// KEYS.
    pub keys: &'k [&'k [u8]],
    /// ARGV.
    pub args: &'k [&'k [u8]],
}

/// A function a library registered during FUNCTION LOAD.
pub(crate) struct RegisteredFunction {
    /// Its name as given.
    pub name: String,
    /// The callback.
    pub func: Function,
    /// Description, if any.
    pub desc: Option<String>,
    /// Script flags (see `super::SCRIPT_FLAGS`).
    pub flags: u32,
}

/// One interpreter.
pub(crate) struct Vm {
    pub(crate) lua: Lua,
    helpers: Table,
    handler: Function,
    /// The real globals table (scripts see a read-only proxy of it): KEYS and ARGV go here.
    real_g: Table,
    load_redis: Option<Table>,
    state: Arc<RunState>,
    slot: Arc<CtxSlot>,
    /// EVAL VM: the registry slots of the KEYS and ARGV tables, reused from run to run.
    eval_lists: Option<(c_int, c_int)>,
    /// [`run_entry`] as a Lua function.
    entry: Function,
}

fn set_fn<F>(lua: &Lua, t: &Table, name: &str, f: F) -> mlua::Result<()>
where
    F: Fn(&Lua, MultiValue) -> mlua::Result<MultiValue> + Send + 'static,
{
    t.raw_set(name, guarded(lua, f)?)
}

/// What a guarded function returns to raise a Redis error table (`ERR <text>`).
fn raise_table(lua: &Lua, text: &str) -> mlua::Result<MultiValue> {
    Ok(MultiValue::from_vec(vec![
        raise_raw_marker(),
        Value::Table(error_table(lua, text.as_bytes())?),
    ]))
}

fn no_values() -> mlua::Result<MultiValue> {
    Ok(MultiValue::new())
}

/// redis.log levels, as Redis's LL_* values.
fn log_line(level: i64, text: &str) {
    match level {
        0 | 1 => tracing::debug!("{text}"),
        2 => tracing::info!("{text}"),
        _ => tracing::warn!("{text}"),
    }
}

impl Vm {
    /// A new interpreter; `functions_mode` builds the functions VM. `rng` is the state of the
    /// PRNG shared by every VM; `state` the run state (SCRIPT KILL).
    pub(crate) fn new(
        functions_mode: bool,
        state: Arc<RunState>,
        rng: Arc<AtomicU64>,
    ) -> mlua::Result<Vm> {
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH,
            LuaOptions::new(),
        )?;
        let g = lua.globals();
        let killed_state = state.clone();
        let is_killed =
            lua.create_function(move |_, ()| Ok(killed_state.killed.load(Ordering::Acquire)))?;
        let helpers: Table = lua
            .load(SANDBOX)
            .set_name(INTERNAL_SOURCE)
            .set_mode(ChunkMode::Text)
            .call((g.clone(), raise_marker(), raise_raw_marker(), is_killed))?;
        let builtins: Table = helpers.get("builtins")?;
        for pair in builtins.pairs::<String, Function>() {
            let (name, f) = pair?;
            g.raw_set(name, guard(&lua, f)?)?;
        }
        let tbl: Table = g.raw_get("table")?;
        let table_builtins: Table = helpers.get("table_builtins")?;
        for pair in table_builtins.pairs::<String, Function>() {
            let (name, f) = pair?;
            tbl.raw_set(name, guard(&lua, f)?)?;
        }

        // Redis's libraries.
        g.raw_set("bit", super::bit::open(&lua)?)?;
        g.raw_set("cjson", super::cjson::open(&lua)?)?;
        g.raw_set("cmsgpack", super::cmsgpack::open(&lua)?)?;
        g.raw_set("struct", super::lstruct::open(&lua)?)?;

        // math.random / math.randomseed on Redis's PRNG.
        let math: Table = g.raw_get("math")?;
        let r = rng.clone();
        set_fn(&lua, &math, "random", move |lua, args| {
            let mut rand = Rand48::from_state(r.load(Ordering::Relaxed));
            let x = rand.next_unit();
            r.store(rand.state(), Ordering::Relaxed);
            let int = |n: usize| -> Result<i64, String> {
                check_number(lua, &args, n, "random").map(|d| (d as i64) as i32 as i64)
            };
            let v = match args.len() {
                0 => x,
                1 => {
                    let u = match int(1) {
                        Ok(u) => u,
                        Err(e) => return raise(lua, &e),
                    };
                    if u < 1 {
                        return raise(lua, "bad argument #1 to 'random' (interval is empty)");
                    }
                    (x * u as f64).floor() + 1.0
                }
                2 => {
                    let l = match int(1) {
                        Ok(v) => v,
                        Err(e) => return raise(lua, &e),
                    };
                    let u = match int(2) {
                        Ok(v) => v,
                        Err(e) => return raise(lua, &e),
                    };
                    if l > u {
                        return raise(lua, "bad argument #2 to 'random' (interval is empty)");
                    }
                    (x * (u - l + 1) as f64).floor() + l as f64
                }
                _ => return raise(lua, "wrong number of arguments"),
            };
            Ok(MultiValue::from_vec(vec![Value::Number(v)]))
        })?;
        let r = rng;
        set_fn(
            &lua,
            &math,
            "randomseed",
            move |lua, args| match check_number(lua, &args, 1, "randomseed") {
                Ok(d) => {
                    let mut rand = Rand48::default();
                    rand.seed((d as i64) as i32);
                    r.store(rand.state(), Ordering::Relaxed);
                    no_values()
                }
                Err(e) => raise(lua, &e),
            },
        )?;

        // The redis table (per-run functions such as call are installed by `run`).
        let redis = lua.create_table()?;
        Self::register_common(&lua, &redis)?;
        set_fn(&lua, &redis, "sha1hex", |lua, args| {
            if args.len() != 1 {
                return raise_table(lua, "wrong number of arguments");
            }
            let data: Vec<u8> = match &args[0] {
                Value::String(s) => s.as_bytes().to_vec(),
                v @ (Value::Integer(_) | Value::Number(_)) => lua_tostring(lua, v).into_bytes(),
                _ => Vec::new(),
            };
            let hex = sha1_smol::Sha1::from(&data).digest().to_string();
            Ok(MultiValue::from_vec(vec![Value::String(
                lua.create_string(hex)?,
            )]))
        })?;
        set_fn(&lua, &redis, "error_reply", |lua, args| {
            let t = match (args.len(), args.front()) {
                (1, Some(Value::String(s))) => {
                    let s = s.as_bytes();
                    let mut text = Vec::with_capacity(s.len() + 1);
                    if s.first() != Some(&b'-') {
                        text.push(b'-');
                    }
                    text.extend_from_slice(&s);
                    error_table(lua, &text)?
                }
                _ => error_table(lua, b"wrong number or type of arguments")?,
            };
            Ok(MultiValue::from_vec(vec![Value::Table(t)]))
        })?;
        set_fn(&lua, &redis, "status_reply", |lua, args| {
            let t = match (args.len(), args.front()) {
                (1, Some(Value::String(s))) => {
                    let t = lua.create_table()?;
                    t.raw_set("ok", s.clone())?;
                    t
                }
                _ => error_table(lua, b"wrong number or type of arguments")?,
            };
            Ok(MultiValue::from_vec(vec![Value::Table(t)]))
        })?;
        for (name, v) in [
            ("REPL_NONE", 0),
            ("REPL_AOF", 1),
            ("REPL_SLAVE", 2),
            ("REPL_REPLICA", 2),
            ("REPL_ALL", 3),
        ] {
            redis.raw_set(name, v)?;
        }
        if !functions_mode {
            redis.raw_set(
                "breakpoint",
                lua.create_function(|_, _: MultiValue| Ok(false))?,
            )?;
            redis.raw_set("debug", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
            redis.raw_set(
                "replicate_commands",
                lua.create_function(|_, _: MultiValue| Ok(true))?,
            )?;
        }
        let slot = Arc::new(CtxSlot::default());
        Self::register_run_api(&lua, &redis, &slot)?;
        g.raw_set("redis", redis)?;

        // The error handler (Rust, so it can see the stack without the debug library).
        let st = state.clone();
        let handler = lua.create_function(move |lua, err: Value| {
            let t = match err {
                Value::Table(t) => t,
                Value::Error(_) if st.killed.load(Ordering::Acquire) => {
                    error_table(lua, b"Script killed by user with SCRIPT KILL...")?
                }
                other => {
                    let t = lua.create_table()?;
                    let msg = format!("ERR {}", lua_tostring(lua, &other));
                    t.raw_set("err", lua.create_string(msg)?)?;
                    t
                }
            };
            if let Some((source, line)) = error_position(lua) {
                t.set("source", source)?;
                t.set("line", line)?;
            }
            Ok(t)
        })?;
        if !functions_mode {
            g.raw_set("__redis__err__handler", handler.clone())?;
        }

        // Only Redis's globals stay.
        let mut drop_keys = Vec::new();
        for pair in g.pairs::<Value, Value>() {
            let (k, _) = pair?;
            let keep = match &k {
                Value::String(s) => {
                    let s = s.as_bytes();
                    EVAL_GLOBALS.iter().any(|n| n.as_bytes() == &s[..])
                        || &s[..] == b"__redis__err__handler"
                }
                _ => false,
            };
            if !keep {
                drop_keys.push(k);
            }
        }
        for k in drop_keys {
            g.raw_set(k, Value::Nil)?;
        }

        // FUNCTION LOAD's restricted redis table.
        let load_redis = if functions_mode {
            let t = lua.create_table()?;
            Self::register_common(&lua, &t)?;
            Some(t)
        } else {
            None
        };
        // EVAL's KEYS and ARGV: two tables kept in the registry (refilled by each run).
        let eval_lists = if functions_mode {
            None
        } else {
            let (k, a) = (lua.create_table()?, lua.create_table()?);
            g.raw_set("KEYS", &k)?;
            g.raw_set("ARGV", &a)?;
            // SAFETY: pops the two tables pushed as arguments into registry references.
            let refs: (c_int, c_int) = unsafe {
                lua.exec_raw((k, a), |state| {
                    let a = ffi::luaL_ref(state, ffi::LUA_REGISTRYINDEX);
                    let k = ffi::luaL_ref(state, ffi::LUA_REGISTRYINDEX);
                    ffi::lua_pushinteger(state, k as ffi::lua_Integer);
                    ffi::lua_pushinteger(state, a as ffi::lua_Integer);
                })?
            };
            Some(refs)
        };
        // SAFETY: run_entry follows the lua_CFunction protocol (see its comment).
        let entry = unsafe { lua.create_c_function(run_entry)? };
        let seal: Function = helpers.get("seal")?;
        let sealed: Table = seal.call(load_redis.clone())?;
        lua.set_globals(sealed)?;
        let vm = Vm {
            lua,
            helpers,
            handler,
            real_g: g,
            load_redis,
            state,
            slot,
            eval_lists,
            entry,
        };
        vm.install_hook();
        Ok(vm)
    }

    /// The `redis` functions that act on the run in progress (`call`, `pcall`, `setresp`,
    /// `set_repl`, `acl_check_cmd`): installed once, they find the run through `slot`.
    fn register_run_api(lua: &Lua, redis: &Table, slot: &Arc<CtxSlot>) -> mlua::Result<()> {
        let sl = slot.clone();
        set_fn(lua, redis, "call", move |lua, a| {
            redis_call(lua, &sl, a, true)
        })?;
        let sl = slot.clone();
        set_fn(lua, redis, "pcall", move |lua, a| {
            redis_call(lua, &sl, a, false)
        })?;
        let sl = slot.clone();
        set_fn(lua, redis, "setresp", move |lua, a| {
            if a.len() != 1 {
                return raise_table(lua, "redis.setresp() requires one argument.");
            }
            let n = number_arg(lua, &a[0]) as i64 as i32;
            if n != 2 && n != 3 {
                return raise_table(lua, "RESP version must be 2 or 3.");
            }
            sl.with(|c| c.resp3 = n == 3);
            no_values()
        })?;
        set_fn(lua, redis, "set_repl", |lua, a| {
            if a.len() != 1 {
                return raise_table(lua, "redis.set_repl() requires two arguments.");
            }
            let n = number_arg(lua, &a[0]) as i64 as i32;
            if n & !3 != 0 {
                return raise_table(
                    lua,
                    "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                );
            }
            super::set_repl_flags(n as u8);
            no_values()
        })?;
        let sl = slot.clone();
        set_fn(lua, redis, "acl_check_cmd", move |lua, a| {
            let argv = match script_argv(lua, &a) {
                Ok(v) => v,
                Err(t) => return Ok(MultiValue::from_vec(vec![raise_raw_marker(), t])),
            };
            let found = sl
                .with(|c| lookup(c.engine, &argv).is_some())
                .unwrap_or(false);
            if !found {
                return raise_table(lua, "Invalid command passed to redis.acl_check_cmd()");
            }
            Ok(MultiValue::from_vec(vec![Value::Boolean(true)]))
        })
    }

    /// redis.log, the LOG_* levels and the version fields (present at load time too).
    fn register_common(lua: &Lua, redis: &Table) -> mlua::Result<()> {
        set_fn(lua, redis, "log", |lua, args| {
            if args.len() < 2 {
                return raise_table(lua, "redis.log() requires two arguments or more.");
            }
            let level = match &args[0] {
                v @ (Value::Integer(_) | Value::Number(_)) => as_number(v),
                v @ Value::String(_) => lua.coerce_number(v.clone()).ok().flatten(),
                _ => None,
            };
            let Some(level) = level else {
                return raise_table(lua, "First argument must be a number (log level).");
            };
            let level = level as i64;
            if !(0..=3).contains(&level) {
                return raise_table(lua, "Invalid debug level.");
            }
            let mut text = String::new();
            for (i, v) in args.iter().enumerate().skip(1) {
                if matches!(v, Value::String(_) | Value::Integer(_) | Value::Number(_)) {
                    if i != 1 {
                        text.push(' ');
                    }
                    text.push_str(&lua_tostring(lua, v));
                }
            }
            log_line(level, &text);
            no_values()
        })?;
        for (name, v) in [
            ("LOG_DEBUG", 0),
            ("LOG_VERBOSE", 1),
            ("LOG_NOTICE", 2),
            ("LOG_WARNING", 3),
        ] {
            redis.raw_set(name, v)?;
        }
        redis.raw_set("REDIS_VERSION_NUM", REDIS_VERSION_NUM)?;
        redis.raw_set("REDIS_VERSION", REDIS_VERSION)?;
        Ok(())
    }

    /// Compiles an EVAL script body (after its shebang line, if any).
    pub(crate) fn compile_eval(&self, code: &[u8]) -> Result<Function, String> {
        self.lua
            .load(code)
            .set_name("@user_script")
            .set_mode(ChunkMode::Text)
            .into_function()
            .map_err(|e| {
                format!(
                    "ERR Error compiling script (new function): {}",
                    syntax_message(&e)
                )
            })
    }

    /// Runs a script or function and writes its reply (or error) to `out`.
    ///
    /// The hot path of EVALSHA: one protected call into Lua that builds KEYS and ARGV, sets
    /// them (EVAL) or passes them (functions) and calls the function under the error handler;
    /// nothing is created per run but those two tables.
    pub(crate) fn run(&self, inv: &Invocation<'_>, ctx: &mut RunCtx<'_>, out: &mut ReplyWriter) {
        let p: *mut RunCtx<'_> = ctx;
        self.slot.ptr.store(p.cast(), Ordering::Release);
        let set = SlotSet(&self.slot);
        let r = self.call(inv);
        drop(set);
        match r {
            Ok((true, v)) => lua_to_reply(&v, ctx.resp3, out, 0),
            Ok((false, v)) => write_script_error(&self.lua, &v, ctx.name, out),
            Err(e) => out.error(&format!(
                "ERR Error running script {}, {:.100}",
                ctx.name,
                e.to_string()
            )),
        }
    }

    /// The protected call of [`Vm::run`]: whether the function returned, and its first result
    /// or the error object made by the handler. Goes through the VM's `entry` C function (see
    /// [`run_entry`]): calling a function made once allocates nothing, where `exec_raw` would
    /// make two C closures per run.
    fn call(&self, inv: &Invocation<'_>) -> mlua::Result<(bool, Value)> {
        let run = RunArgs {
            keys: inv.keys,
            args: inv.args,
            lists: self.eval_lists,
        };
        let p = std::ptr::addr_of!(run) as *mut c_void;
        self.entry
            .call::<(bool, Value)>((&self.handler, inv.func, &self.real_g, LightUserData(p)))
    }

    /// Installs the instruction-count hook that frees the script's thread from its other duties
    /// (`Scripting::escape`, from the first tick), notices a script past `busy-reply-threshold`
    /// (it becomes killable and other clients get BUSY) and stops it after SCRIPT KILL. It
    /// stays installed (FUNCTION LOAD swaps in its own hook and puts this one back), so a run
    /// only stores its start time and threshold in its [`RunCtx`], as Redis arms its check.
    fn install_hook(&self) {
        let shared = self.state.clone();
        let slot = self.slot.clone();
        let _ = self.lua.set_hook(
            HookTriggers::new().every_nth_instruction(100_000),
            move |_lua, _dbg| {
                // A script that got here runs long: first stop holding up other clients.
                let _ = slot.with(|c| {
                    if !c.escaped {
                        c.escaped = c.engine.scripting.escape();
                    }
                });
                if shared.timed_out.load(Ordering::Acquire) {
                    if shared.killed.load(Ordering::Acquire) {
                        return Err(mlua::Error::runtime(
                            "Script killed by user with SCRIPT KILL...",
                        ));
                    }
                    return Ok(VmState::Continue);
                }
                let _ = slot.with(|c| {
                    if c.threshold_ms == 0 {
                        return;
                    }
                    let clock = &c.engine.clock;
                    let elapsed = clock.micros(c.started, clock.now()) / 1000;
                    if elapsed < c.threshold_ms {
                        return;
                    }
                    tracing::warn!(
                        "Slow script detected: still in execution after {elapsed} milliseconds. \
                         You can try killing the script using the {} command.",
                        if shared.is_eval.load(Ordering::Relaxed) {
                            "SCRIPT KILL"
                        } else {
                            "FUNCTION KILL"
                        }
                    );
                    // IMPORTANT: the running script's description first, then `timed_out`:
                    // FUNCTION STATS reads it once it sees the script timed out.
                    *shared.info.lock() = Some(super::RunningScript {
                        name: c.name.to_string(),
                        command: c
                            .command
                            .iter()
                            .map(|a| bytes::Bytes::copy_from_slice(a))
                            .collect(),
                        started: Instant::now()
                            .checked_sub(std::time::Duration::from_millis(elapsed))
                            .unwrap_or_else(Instant::now),
                    });
                    shared.timed_out.store(true, Ordering::Release);
                });
                Ok(VmState::Continue)
            },
        );
    }

    /// FUNCTION LOAD: runs a library's code (already stripped of its shebang line) with the
    /// restricted globals, collecting what it registers. Errors are Redis's texts (without the
    /// `ERR ` the caller adds).
    pub(crate) fn load_library(
        &self,
        code: &[u8],
        timeout_ms: u64,
    ) -> Result<Vec<RegisteredFunction>, String> {
        let lua = &self.lua;
        let func = lua
            .load(code)
            .set_name("@user_function")
            .set_mode(ChunkMode::Text)
            .into_function()
            .map_err(|e| format!("Error compiling function: {}", syntax_message(&e)))?;
        let Some(load_redis) = &self.load_redis else {
            return Err("No functions registered".into());
        };
        let registered: RefCell<Vec<RegisteredFunction>> = RefCell::new(Vec::new());
        let result = lua.scope(|scope| {
            let reg = scope.create_function(|lua, a: MultiValue| {
                match register_function_args(lua, &a) {
                    Ok(f) => {
                        let mut r = registered.borrow_mut();
                        if r.iter().any(|x| x.name == f.name) {
                            return raise_table(lua, "Function already exists in the library");
                        }
                        r.push(f);
                        no_values()
                    }
                    Err(msg) => raise_table(lua, &msg),
                }
            })?;
            load_redis.raw_set("register_function", guard(lua, reg)?)?;
            let set_mode: Function = self.helpers.get("set_load_mode")?;
            set_mode.call::<()>(true)?;
            let start = Instant::now();
            if timeout_ms > 0 {
                let _ = lua.set_hook(
                    HookTriggers::new().every_nth_instruction(100_000),
                    move |_lua, _dbg| {
                        if start.elapsed().as_millis() as u64 > timeout_ms {
                            return Err(mlua::Error::runtime("FUNCTION LOAD timeout"));
                        }
                        Ok(VmState::Continue)
                    },
                );
            }
            let runner: Function = self.helpers.get("run")?;
            let identity = lua.create_function(|_, v: Value| Ok(v))?;
            let r: mlua::Result<(bool, Value)> = runner.call((func, identity));
            lua.remove_hook();
            self.install_hook();
            set_mode.call::<()>(false)?;
            load_redis.raw_set("register_function", Value::Nil)?;
            let (ok, err) = r?;
            if ok {
                return Ok(Ok(()));
            }
            let msg = match &err {
                Value::Table(t) => match t.get::<Value>("err") {
                    Ok(Value::String(s)) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
                    Ok(v @ (Value::Integer(_) | Value::Number(_))) => lua_tostring(lua, &v),
                    _ => "ERR unknown error".into(),
                },
                Value::Error(_) => "ERR FUNCTION LOAD timeout".into(),
                other => format!("ERR {}", lua_tostring(lua, other)),
            };
            Ok(Err(format!("Error registering functions: {msg}")))
        });
        match result {
            Ok(Ok(())) => Ok(registered.into_inner()),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(format!("Error registering functions: ERR {e}")),
        }
    }
}

/// What [`run_entry`] needs from Rust, passed as a light userdata.
struct RunArgs<'k> {
    keys: &'k [&'k [u8]],
    args: &'k [&'k [u8]],
    /// EVAL: the registry slots of KEYS and ARGV; functions: none (fresh tables are passed).
    lists: Option<(c_int, c_int)>,
}

/// The C function through which [`Vm::call`] runs a script: arguments (handler, function,
/// real globals, `*const RunArgs`); builds KEYS and ARGV, sets them as globals (EVAL) or
/// passes them (functions), calls the function under the handler and returns ok and its
/// first result or the error object.
///
/// SAFETY: called by Lua (through mlua's protected `Function::call`) only from `Vm::call`,
/// whose `RunArgs` outlives the call. Nothing here has a destructor, so a Lua error (out of
/// memory) longjmps past no Rust cleanup; it uses at most six slots past its four arguments
/// (LUA_MINSTACK is 20).
unsafe extern "C-unwind" fn run_entry(state: *mut ffi::lua_State) -> c_int {
    let run = ffi::lua_touserdata(state, 4) as *const RunArgs<'_>;
    ffi::lua_settop(state, 3);
    if run.is_null() {
        return 0;
    }
    let run = &*run;
    // 1 handler, 2 function, 3 real globals
    let nargs = match run.lists {
        Some((kref, aref)) => {
            set_eval_list(state, c"KEYS", kref, run.keys);
            set_eval_list(state, c"ARGV", aref, run.args);
            ffi::lua_settop(state, 2);
            0
        }
        None => {
            push_list(state, run.keys, false);
            push_list(state, run.args, false);
            ffi::lua_remove(state, 3);
            2
        }
    };
    let status = ffi::lua_pcall(state, nargs, 1, 1);
    ffi::lua_pushboolean(state, (status == 0) as c_int);
    ffi::lua_replace(state, 1);
    2
}

/// A list (KEYS or ARGV) that has held more entries than this is replaced by a new table
/// rather than cleared (clearing walks the table's whole allocation).
const LIST_REUSE_MAX: usize = 64;

/// Pushes a table holding `items` as a sequence; into the table on top of the stack (which it
/// first empties) when `reuse`, else into a new one. Returns how many entries it removed.
///
/// SAFETY (callers): in protected mode, two free stack slots past the table.
unsafe fn push_list(state: *mut ffi::lua_State, items: &[&[u8]], reuse: bool) -> usize {
    let mut removed = 0;
    if reuse {
        ffi::lua_pushnil(state);
        ffi::lua_setmetatable(state, -2);
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, -2) != 0 {
            // Clearing fields during a traversal is allowed (lua_next's contract).
            ffi::lua_pop(state, 1);
            ffi::lua_pushvalue(state, -1);
            ffi::lua_pushnil(state);
            ffi::lua_rawset(state, -4);
            removed += 1;
        }
    } else {
        ffi::lua_createtable(state, items.len().min(c_int::MAX as usize) as c_int, 0);
    }
    for (i, item) in items.iter().enumerate() {
        ffi::lua_pushlstring(state, item.as_ptr().cast(), item.len());
        // A command line has far fewer than 2^31 arguments (the query buffer limit).
        ffi::lua_rawseti(state, -2, i as ffi::lua_Integer + 1);
    }
    removed
}

/// Sets the EVAL global `name` (KEYS or ARGV) to `items`: the table kept at `reg` in the
/// registry is emptied and refilled (no script can keep a reference to it past its run: the
/// globals are read-only), or replaced when it had grown. The real globals table is at 3.
///
/// SAFETY (callers): in protected mode, six free stack slots.
unsafe fn set_eval_list(
    state: *mut ffi::lua_State,
    name: &std::ffi::CStr,
    reg: c_int,
    items: &[&[u8]],
) {
    let top = ffi::lua_gettop(state);
    ffi::lua_rawgeti(state, ffi::LUA_REGISTRYINDEX, reg as ffi::lua_Integer);
    if push_list(state, items, true) > LIST_REUSE_MAX {
        ffi::lua_pop(state, 1);
        push_list(state, items, false);
        ffi::lua_pushvalue(state, -1);
        ffi::lua_rawseti(state, ffi::LUA_REGISTRYINDEX, reg as ffi::lua_Integer);
        ffi::lua_pushstring(state, name.as_ptr());
        ffi::lua_pushvalue(state, -2);
        ffi::lua_rawset(state, 3);
    }
    ffi::lua_settop(state, top);
}

/// The message of a compile error, as Lua printed it.
fn syntax_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// `lua_tonumber` (0 for what is not a number).
fn number_arg(lua: &Lua, v: &Value) -> f64 {
    match v {
        Value::Integer(_) | Value::Number(_) => as_number(v).unwrap_or(0.0),
        Value::String(_) => lua.coerce_number(v.clone()).ok().flatten().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Where the error being handled happened, from inside the error handler: the first frame
/// from the user's code (Redis looks at the failing function, or its caller if that is a C
/// function; sandbox frames are skipped so the positions are the same).
fn error_position(lua: &Lua) -> Option<(String, i64)> {
    let mut level = 1;
    let mut first = true;
    loop {
        let frame = lua.inspect_stack(level, |d| {
            let s = d.source();
            (
                s.what,
                s.source.map(|x| x.into_owned()).unwrap_or_default(),
                d.current_line().map(|l| l as i64).unwrap_or(-1),
            )
        })?;
        level += 1;
        let (what, source, line) = frame;
        if what == "C" && first {
            first = false;
            continue;
        }
        first = false;
        if source == INTERNAL_SOURCE || what == "C" {
            continue;
        }
        return Some((source, line));
    }
}

/// Writes the error reply of a failed script: `-<err> script: <name>, on <source>:<line>.`
fn write_script_error(lua: &Lua, err: &Value, name: &str, out: &mut ReplyWriter) {
    let Value::Table(t) = err else {
        let msg = match err {
            Value::String(_) | Value::Integer(_) | Value::Number(_) => lua_tostring(lua, err),
            _ => "execution failure".into(),
        };
        out.error(&format!("ERR Error running script {name}, {msg:.100}"));
        return;
    };
    let field = |k: &str| -> Option<String> {
        match t.get::<Value>(k).ok()? {
            v @ (Value::String(_) | Value::Integer(_) | Value::Number(_)) => {
                Some(lua_tostring(lua, &v))
            }
            _ => None,
        }
    };
    let msg = field("err").unwrap_or_else(|| "ERR unknown error".into());
    let mut text = msg;
    if let (Some(source), Some(line)) = (field("source"), field("line")) {
        text.push_str(&format!(" script: {name}, on {source}:{line}."));
    }
    out.error(&text);
}

/// Converts redis.call's arguments (luaArgsToRedisArgv): strings as they are, numbers as
/// `%.17g`; anything else is the error table to raise.
fn script_argv(lua: &Lua, a: &MultiValue) -> Result<Vec<Vec<u8>>, Value> {
    let err = |text: &str| {
        error_table(lua, text.as_bytes())
            .map(Value::Table)
            .unwrap_or(Value::Nil)
    };
    if a.is_empty() {
        return Err(err(
            "Please specify at least one argument for this redis lib call",
        ));
    }
    let mut argv = Vec::with_capacity(a.len());
    for v in a.iter() {
        match v {
            Value::String(s) => argv.push(s.as_bytes().to_vec()),
            Value::Integer(_) | Value::Number(_) => {
                argv.push(fmt_17g(as_number(v).unwrap_or(0.0)).into_bytes())
            }
            _ => {
                return Err(err(
                    "Lua redis lib command arguments must be strings or integers",
                ))
            }
        }
    }
    Ok(argv)
}

/// The command `argv` names (a container's subcommand when there is one), as Redis's
/// lookupCommand.
fn lookup<'e>(engine: &'e Engine, argv: &[Vec<u8>]) -> Option<&'e Command> {
    let cmd = engine.commands.get(argv.first()?)?;
    if cmd.subs.is_empty() || argv.len() == 1 {
        return Some(cmd);
    }
    cmd.sub(&argv[1])
}

/// redis.call / redis.pcall: returns the converted reply and whether to raise it.
fn redis_call(lua: &Lua, slot: &CtxSlot, a: MultiValue, raise: bool) -> mlua::Result<MultiValue> {
    let done = |v: Value, is_err: bool| -> mlua::Result<MultiValue> {
        if raise && is_err {
            Ok(MultiValue::from_vec(vec![raise_raw_marker(), v]))
        } else {
            Ok(MultiValue::from_vec(vec![v]))
        }
    };
    let argv = match script_argv(lua, &a) {
        Ok(v) => v,
        Err(t) => return done(t, true),
    };
    let ran = slot.with(
        |ctx| -> std::result::Result<bytes::Bytes, Cow<'static, str>> {
            let engine = ctx.engine;
            let Some(cmd) = lookup(engine, &argv) else {
                return Err("Unknown Redis command called from script".into());
            };
            let n = argv.len() as i32;
            let arity = cmd.def.arity;
            if (arity > 0 && arity != n) || n < -arity {
                return Err("Wrong number of args calling Redis command from script".into());
            }
            if cmd.has(flags::NOSCRIPT) {
                return Err("This Redis command is not allowed from script".into());
            }
            if ctx.read_only && cmd.has(flags::WRITE | flags::MAY_REPLICATE) {
                return Err("Write commands are not allowed from read-only scripts.".into());
            }
            if ctx.oom && cmd.has(flags::DENYOOM) && !ctx.state.wrote.load(Ordering::Acquire) {
                return Err(format!("-{}", crate::error::Error::Oom).into());
            }
            if cmd.has(flags::WRITE) {
                ctx.state.wrote.store(true, Ordering::Release);
            }
            let resp3 = ctx.resp3;
            ctx.reply.set_resp3(resp3);
            ctx.reply.buffer().clear();
            let slices: Vec<&[u8]> = argv.iter().map(|v| v.as_slice()).collect();
            let RunCtx { calls, reply, .. } = ctx;
            calls.call(cmd, &slices, reply);
            Ok(reply.buffer().split().freeze())
        },
    );
    match ran {
        None => done(
            Value::Table(error_table(
                lua,
                b"luaRedisGenericCommand() recursive call detected. Are you doing funny stuff with Lua debug hooks?",
            )?),
            false,
        ),
        Some(Err(text)) => {
            let t = error_table(lua, text.as_bytes())?;
            t.raw_set("ignore_error_stats_update", true)?;
            done(Value::Table(t), true)
        }
        Some(Ok(bytes)) => {
            let (v, is_err) = reply_to_lua(lua, &bytes)?;
            done(v, is_err)
        }
    }
}

/// Reads redis.register_function's arguments (positional or a table of named ones).
fn register_function_args(lua: &Lua, a: &MultiValue) -> Result<RegisteredFunction, String> {
    let _ = lua;
    let string_of = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(String::from_utf8_lossy(&s.as_bytes()).into_owned()),
            Value::Integer(_) | Value::Number(_) => Some(lua_tostring(lua, v)),
            _ => None,
        }
    };
    match a.len() {
        1 => {
            let Value::Table(t) = &a[0] else {
                return Err("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).".into());
            };
            let mut name = None;
            let mut desc = None;
            let mut func = None;
            let mut fl = 0u32;
            for pair in t.pairs::<Value, Value>() {
                let (k, v) = pair.map_err(|e| e.to_string())?;
                let Some(key) = string_of(&k) else {
                    return Err(
                        "named argument key given to redis.register_function is not a string"
                            .into(),
                    );
                };
                match key.to_ascii_lowercase().as_str() {
                    "function_name" => {
                        name = Some(string_of(&v).ok_or(
                            "function_name argument given to redis.register_function must be a string",
                        )?);
                    }
                    "description" => {
                        desc = Some(string_of(&v).ok_or(
                            "description argument given to redis.register_function must be a string",
                        )?);
                    }
                    "callback" => {
                        let Value::Function(f) = v else {
                            return Err("callback argument given to redis.register_function must be a function".into());
                        };
                        func = Some(f);
                    }
                    "flags" => {
                        let Value::Table(ft) = v else {
                            return Err("flags argument to redis.register_function must be a table representing function flags".into());
                        };
                        fl = read_flags(lua, &ft).ok_or("unknown flag given")?;
                    }
                    _ => return Err("unknown argument given to redis.register_function".into()),
                }
            }
            let name = name.ok_or("redis.register_function must get a function name argument")?;
            let func = func.ok_or("redis.register_function must get a callback argument")?;
            check_function_name(&name)?;
            Ok(RegisteredFunction {
                name,
                func,
                desc,
                flags: fl,
            })
        }
        2 => {
            let name = string_of(&a[0])
                .ok_or("first argument to redis.register_function must be a string")?;
            let Value::Function(f) = &a[1] else {
                return Err("second argument to redis.register_function must be a function".into());
            };
            check_function_name(&name)?;
            Ok(RegisteredFunction {
                name,
                func: f.clone(),
                desc: None,
                flags: 0,
            })
        }
        _ => Err("wrong number of arguments to redis.register_function".into()),
    }
}

fn check_function_name(name: &str) -> Result<(), String> {
    if super::valid_name(name) {
        Ok(())
    } else {
        // Redis 7.0 says "Library names" here too.
        Err("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".into())
    }
}

/// The flags array of register_function (case-insensitive names).
fn read_flags(lua: &Lua, t: &Table) -> Option<u32> {
    let mut bits = 0;
    let mut j = 1i64;
    loop {
        let v: Value = t.get(j).ok()?;
        match v {
            Value::Nil => break,
            Value::String(_) | Value::Integer(_) | Value::Number(_) => {
                let s = lua_tostring(lua, &v);
                let (_, bit) = super::SCRIPT_FLAGS
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(&s))?;
                bits |= bit;
            }
            _ => return None,
        }
        j += 1;
    }
    Some(bits)
}
