//! LuaBitOp (`bit`), as bundled with Redis: 32-bit operations on Lua numbers. A number is
//! converted to 32 bits the way LuaBitOp does on doubles (adding 2^52+2^51 and taking the low
//! word: round to nearest, modulo 2^32); results are signed 32-bit numbers.

use mlua::{Lua, MultiValue, Table, Value};

use super::vm::{arg_type, guarded, raise};

/// LuaBitOp's `barg`: argument `n` (1-based) as 32 bits, or the error message.
fn barg(lua: &Lua, args: &MultiValue, n: usize, fname: &str) -> Result<u32, String> {
    let v = args.get(n - 1).cloned().unwrap_or(Value::Nil);
    let num = match &v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(d) => Some(*d),
        Value::String(_) => lua.coerce_number(v.clone()).ok().flatten(),
        _ => None,
    };
    let b = (num.unwrap_or(0.0) + 6_755_399_441_055_744.0).to_bits() as u32;
    if b == 0 && num.is_none() {
        return Err(format!(
            "bad argument #{n} to '{fname}' (number expected, got {})",
            arg_type(args, n)
        ));
    }
    Ok(b)
}

fn ret(b: u32) -> mlua::Result<MultiValue> {
    Ok(MultiValue::from_vec(vec![Value::Number(b as i32 as f64)]))
}

fn add(
    lua: &Lua,
    t: &Table,
    name: &'static str,
    f: fn(&Lua, &MultiValue, &'static str) -> Result<u32, String>,
) -> mlua::Result<()> {
    let g = guarded(lua, move |lua, args: MultiValue| {
        match f(lua, &args, name) {
            Ok(b) => ret(b),
            Err(e) => raise(lua, &e),
        }
    })?;
    t.raw_set(name, g)
}

fn fold(
    lua: &Lua,
    args: &MultiValue,
    name: &'static str,
    op: fn(u32, u32) -> u32,
) -> Result<u32, String> {
    let mut b = barg(lua, args, 1, name)?;
    for i in (2..=args.len()).rev() {
        b = op(b, barg(lua, args, i, name)?);
    }
    Ok(b)
}

fn shift(
    lua: &Lua,
    args: &MultiValue,
    name: &'static str,
    op: fn(u32, u32) -> u32,
) -> Result<u32, String> {
    let b = barg(lua, args, 1, name)?;
    let n = barg(lua, args, 2, name)? & 31;
    Ok(op(b, n))
}

/// The `bit` table.
pub(crate) fn open(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    add(lua, &t, "tobit", |l, a, n| barg(l, a, 1, n))?;
    add(lua, &t, "bnot", |l, a, n| barg(l, a, 1, n).map(|b| !b))?;
    add(lua, &t, "band", |l, a, n| fold(l, a, n, |x, y| x & y))?;
    add(lua, &t, "bor", |l, a, n| fold(l, a, n, |x, y| x | y))?;
    add(lua, &t, "bxor", |l, a, n| fold(l, a, n, |x, y| x ^ y))?;
    add(lua, &t, "lshift", |l, a, n| shift(l, a, n, |b, s| b << s))?;
    add(lua, &t, "rshift", |l, a, n| shift(l, a, n, |b, s| b >> s))?;
    add(lua, &t, "arshift", |l, a, n| {
        shift(l, a, n, |b, s| ((b as i32) >> s) as u32)
    })?;
    add(lua, &t, "rol", |l, a, n| {
        shift(l, a, n, |b, s| b.rotate_left(s))
    })?;
    add(lua, &t, "ror", |l, a, n| {
        shift(l, a, n, |b, s| b.rotate_right(s))
    })?;
    add(lua, &t, "bswap", |l, a, n| {
        barg(l, a, 1, n).map(u32::swap_bytes)
    })?;
    let tohex = guarded(lua, |lua, args: MultiValue| {
        let mut b = match barg(lua, &args, 1, "tohex") {
            Ok(b) => b,
            Err(e) => return raise(lua, &e),
        };
        let mut n: i32 = if args.len() < 2 {
            8
        } else {
            match barg(lua, &args, 2, "tohex") {
                Ok(v) => v as i32,
                Err(e) => return raise(lua, &e),
            }
        };
        let mut digits = b"0123456789abcdef";
        if n < 0 {
            n = n.saturating_neg();
            digits = b"0123456789ABCDEF";
        }
        let n = n.min(8) as usize;
        let mut buf = [0u8; 8];
        for i in (0..n).rev() {
            buf[i] = digits[(b & 15) as usize];
            b >>= 4;
        }
        Ok(MultiValue::from_vec(vec![Value::String(
            lua.create_string(&buf[..n])?,
        )]))
    })?;
    t.raw_set("tohex", tohex)?;
    Ok(t)
}
