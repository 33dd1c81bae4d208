//! Redis's `cmsgpack` (lua-cmsgpack 0.4.0), reimplemented against mlua with the same encoding
//! choices: integral numbers as the smallest MessagePack integer, other numbers as a float32
//! when exact else a float64, strings as fixstr/str8/str16/str32, a table as an array when its
//! keys are exactly 1..n (else a map, in Lua's iteration order), tables nested deeper than 16
//! as nil, and anything else as nil. Decoding supports the types lua-cmsgpack 0.4.0 supports
//! (bin and ext are "Bad data format in input.").

use mlua::{Lua, MultiValue, Table, Value};

use super::convert::as_number;
use super::vm::{arg_type, check_number, guarded, raise};

const MAX_NESTING: usize = 16;
/// Decoding deeper than this is refused (Redis would recurse on the C stack).
const MAX_DECODE_DEPTH: usize = 1000;

fn encode_int(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        if n <= 127 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_number(out: &mut Vec<u8>, d: f64) {
    // IS_INT64_EQUIVALENT, with x86's (int64_t) of out-of-range values (INT64_MIN).
    let as_int = super::convert::number_to_i64(d);
    if !d.is_infinite() && as_int as f64 == d {
        encode_int(out, as_int);
        return;
    }
    let f = d as f32;
    if f as f64 == d {
        out.push(0xca);
        out.extend_from_slice(&f.to_bits().to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&d.to_bits().to_be_bytes());
    }
}

fn encode_bytes(out: &mut Vec<u8>, s: &[u8]) {
    let len = s.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

fn header(out: &mut Vec<u8>, len: usize, fix: u8, b16: u8, b32: u8) {
    if len < 16 {
        out.push(fix | len as u8);
    } else if len <= 0xffff {
        out.push(b16);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(b32);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// table_is_an_array: keys exactly 1..n.
fn is_array(t: &Table) -> mlua::Result<bool> {
    let (mut count, mut max) = (0i64, 0i64);
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let Some(n) = as_number(&k) else {
            return Ok(false);
        };
        if n <= 0.0 || n.floor() != n || n > i32::MAX as f64 {
            return Ok(false);
        }
        max = max.max(n as i64);
        count += 1;
    }
    Ok(max == count)
}

fn encode(out: &mut Vec<u8>, v: &Value, level: usize) -> mlua::Result<()> {
    match v {
        Value::String(s) => encode_bytes(out, &s.as_bytes()),
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(_) | Value::Number(_) => encode_number(out, as_number(v).unwrap_or(0.0)),
        Value::Table(t) if level < MAX_NESTING => {
            if is_array(t)? {
                let len = t.raw_len();
                header(out, len, 0x90, 0xdc, 0xdd);
                for j in 1..=len {
                    let item: Value = t.raw_get(j)?;
                    encode(out, &item, level + 1)?;
                }
            } else {
                let pairs: Vec<(Value, Value)> =
                    t.pairs::<Value, Value>().collect::<mlua::Result<_>>()?;
                header(out, pairs.len(), 0x80, 0xde, 0xdf);
                for (k, item) in &pairs {
                    encode(out, k, level + 1)?;
                    encode(out, item, level + 1)?;
                }
            }
        }
        _ => out.push(0xc0),
    }
    Ok(())
}

enum DecodeError {
    Eof,
    BadFormat,
    Lua(mlua::Error),
}

impl From<mlua::Error> for DecodeError {
    fn from(e: mlua::Error) -> Self {
        DecodeError::Lua(e)
    }
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Eof)?;
        let b = self.data.get(self.pos..end).ok_or(DecodeError::Eof)?;
        self.pos = end;
        Ok(b)
    }

    fn be(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self.take(n)?.iter().fold(0u64, |a, &b| (a << 8) | b as u64))
    }
}

fn decode(lua: &Lua, c: &mut Cursor<'_>, depth: usize) -> Result<Value, DecodeError> {
    if depth > MAX_DECODE_DEPTH {
        return Err(DecodeError::BadFormat);
    }
    let t = c.take(1)?[0];
    let string = |c: &mut Cursor<'_>, n: usize| -> Result<Value, DecodeError> {
        Ok(Value::String(lua.create_string(c.take(n)?)?))
    };
    let array = |c: &mut Cursor<'_>, n: u64| -> Result<Value, DecodeError> {
        let tbl = lua.create_table()?;
        for i in 0..n {
            let v = decode(lua, c, depth + 1)?;
            tbl.raw_set(i + 1, v)?;
        }
        Ok(Value::Table(tbl))
    };
    let map = |c: &mut Cursor<'_>, n: u64| -> Result<Value, DecodeError> {
        let tbl = lua.create_table()?;
        for _ in 0..n {
            let k = decode(lua, c, depth + 1)?;
            let v = decode(lua, c, depth + 1)?;
            if !matches!(k, Value::Nil) {
                tbl.raw_set(k, v)?;
            }
        }
        Ok(Value::Table(tbl))
    };
    Ok(match t {
        0x00..=0x7f => Value::Number(t as f64),
        0x80..=0x8f => map(c, (t & 0x0f) as u64)?,
        0x90..=0x9f => array(c, (t & 0x0f) as u64)?,
        0xa0..=0xbf => string(c, (t & 0x1f) as usize)?,
        0xc0 => Value::Nil,
        0xc2 => Value::Boolean(false),
        0xc3 => Value::Boolean(true),
        0xca => Value::Number(f32::from_bits(c.be(4)? as u32) as f64),
        0xcb => Value::Number(f64::from_bits(c.be(8)?)),
        0xcc => Value::Number(c.be(1)? as f64),
        0xcd => Value::Number(c.be(2)? as f64),
        0xce => Value::Number(c.be(4)? as f64),
        0xcf => Value::Number(c.be(8)? as f64),
        0xd0 => Value::Number(c.be(1)? as u8 as i8 as f64),
        0xd1 => Value::Number(c.be(2)? as u16 as i16 as f64),
        0xd2 => Value::Number(c.be(4)? as u32 as i32 as f64),
        0xd3 => Value::Number(c.be(8)? as i64 as f64),
        0xd9 => {
            let n = c.be(1)? as usize;
            string(c, n)?
        }
        0xda => {
            let n = c.be(2)? as usize;
            string(c, n)?
        }
        0xdb => {
            let n = c.be(4)? as usize;
            string(c, n)?
        }
        0xdc => {
            let n = c.be(2)?;
            array(c, n)?
        }
        0xdd => {
            let n = c.be(4)?;
            array(c, n)?
        }
        0xde => {
            let n = c.be(2)?;
            map(c, n)?
        }
        0xdf => {
            let n = c.be(4)?;
            map(c, n)?
        }
        0xe0..=0xff => Value::Number(t as i8 as f64),
        _ => return Err(DecodeError::BadFormat),
    })
}

/// mp_unpack_full: `limit` 0 and `offset` 0 decode everything without an offset result.
fn unpack_full(
    lua: &Lua,
    args: &MultiValue,
    fname: &str,
    limit: i64,
    offset: i64,
) -> mlua::Result<MultiValue> {
    let s = match args.front() {
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        Some(v @ (Value::Integer(_) | Value::Number(_))) => lua
            .coerce_string(v.clone())?
            .map(|s| s.as_bytes().to_vec())
            .unwrap_or_default(),
        _ => {
            return raise(
                lua,
                &format!(
                    "bad argument #1 to '{fname}' (string expected, got {})",
                    arg_type(args, 1)
                ),
            )
        }
    };
    let len = s.len() as i64;
    let decode_all = limit == 0 && offset == 0;
    if offset < 0 || limit < 0 {
        return raise(
            lua,
            &format!("Invalid request to unpack with offset of {offset} and limit of {len}."),
        );
    }
    if offset > len {
        return raise(
            lua,
            &format!("Start offset {offset} greater than input length {len}."),
        );
    }
    let limit = if decode_all { i64::MAX } else { limit };
    let mut c = Cursor {
        data: &s,
        pos: offset as usize,
    };
    let mut out = Vec::new();
    let mut cnt = 0;
    while c.pos < s.len() && cnt < limit {
        match decode(lua, &mut c, 0) {
            Ok(v) => out.push(v),
            Err(DecodeError::Eof) => return raise(lua, "Missing bytes in input."),
            Err(DecodeError::BadFormat) => return raise(lua, "Bad data format in input."),
            Err(DecodeError::Lua(e)) => return Err(e),
        }
        cnt += 1;
    }
    if !decode_all {
        let next = if c.pos == s.len() { -1 } else { c.pos as i64 };
        out.insert(0, Value::Integer(next));
    }
    Ok(MultiValue::from_vec(out))
}

fn int_arg(lua: &Lua, args: &MultiValue, n: usize, fname: &str, opt: bool) -> Result<i64, String> {
    if opt && matches!(args.get(n - 1), None | Some(Value::Nil)) {
        return Ok(0);
    }
    check_number(lua, args, n, fname).map(|d| d as i64)
}

/// The `cmsgpack` table.
pub(crate) fn open(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        guarded(lua, |lua, args: MultiValue| {
            if args.is_empty() {
                return raise(
                    lua,
                    "bad argument #0 to 'pack' (MessagePack pack needs input.)",
                );
            }
            let mut out = Vec::new();
            for v in args.iter() {
                encode(&mut out, v, 0)?;
            }
            Ok(MultiValue::from_vec(vec![Value::String(
                lua.create_string(&out)?,
            )]))
        })?,
    )?;
    t.raw_set(
        "unpack",
        guarded(lua, |lua, args: MultiValue| {
            unpack_full(lua, &args, "unpack", 0, 0)
        })?,
    )?;
    t.raw_set(
        "unpack_one",
        guarded(lua, |lua, args: MultiValue| {
            let offset = match int_arg(lua, &args, 2, "unpack_one", true) {
                Ok(v) => v,
                Err(e) => return raise(lua, &e),
            };
            unpack_full(lua, &args, "unpack_one", 1, offset)
        })?,
    )?;
    t.raw_set(
        "unpack_limit",
        guarded(lua, |lua, args: MultiValue| {
            let limit = match int_arg(lua, &args, 2, "unpack_limit", false) {
                Ok(v) => v,
                Err(e) => return raise(lua, &e),
            };
            let offset = match int_arg(lua, &args, 3, "unpack_limit", true) {
                Ok(v) => v,
                Err(e) => return raise(lua, &e),
            };
            unpack_full(lua, &args, "unpack_limit", limit, offset)
        })?,
    )?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}
