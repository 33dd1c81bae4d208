//! String commands (Redis's t_string.c): GET, SET and its variants, counters, ranges.

use crate::cmd::{def, keys, CommandDef};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::value::Value;

/// The string commands.
pub static COMMANDS: &[CommandDef] = &[
    def("get", 2, "readonly fast", keys(1, 1, 1), "@read @string", "string", "Returns the string value of a key.", "1.0.0", get),
    def("set", -3, "write denyoom", keys(1, 1, 1), "@write @string", "string", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", "1.0.0", set),
];

// GET key
fn get(ctx: &mut Ctx<'_>) -> Result<()> {
    match ctx.db.get(ctx.args[1].as_ref()) {
        None => ctx.out.null(),
        Some(v) => match v.as_str_bytes() {
            Some(b) => ctx.out.bulk(&b),
            None => return Err(Error::WrongType),
        },
    }
    Ok(())
}

// SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]
fn set(ctx: &mut Ctx<'_>) -> Result<()> {
    let key = ctx.args[1].clone();
    ctx.db.set(&key, Value::string(&ctx.args[2]), 0);
    ctx.out.ok();
    Ok(())
}
