//! Connection commands: PING, ECHO, QUIT, SELECT, AUTH, HELLO, RESET and CLIENT.

use crate::cmd::{def, CommandDef, KeySpec};
use crate::ctx::{Action, Ctx};
use crate::error::{Error, Result};

/// The connection commands.
pub static COMMANDS: &[CommandDef] = &[
    def(
        "ping",
        -1,
        "fast",
        KeySpec::None,
        "@connection",
        "connection",
        "Returns the server's liveliness response.",
        "1.0.0",
        ping,
    ),
    def(
        "echo",
        2,
        "fast",
        KeySpec::None,
        "@connection",
        "connection",
        "Returns the given string.",
        "1.0.0",
        echo,
    ),
    def(
        "quit",
        -1,
        "allow_busy no_auth fast",
        KeySpec::None,
        "@connection",
        "connection",
        "Closes the connection.",
        "1.0.0",
        quit,
    ),
    def(
        "select",
        2,
        "loading stale fast",
        KeySpec::None,
        "@connection",
        "connection",
        "Changes the selected database.",
        "1.0.0",
        select,
    ),
];

// PING [message]
fn ping(ctx: &mut Ctx<'_>) -> Result<()> {
    match ctx.args.len() {
        1 => ctx.out.simple("PONG"),
        2 => ctx.out.bulk(&ctx.args[1]),
        _ => return Err(Error::WrongArity("ping".into())),
    }
    Ok(())
}

// ECHO message
fn echo(ctx: &mut Ctx<'_>) -> Result<()> {
    ctx.out.bulk(&ctx.args[1]);
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
    ctx.sess
        .handle
        .db
        .store(i as usize, std::sync::atomic::Ordering::Relaxed);
    ctx.out.ok();
    Ok(())
}
