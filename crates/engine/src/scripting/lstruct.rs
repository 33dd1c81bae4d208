//! Redis's `struct` library (Roberto Ierusalimschy's lua_struct.c, as bundled with Redis):
//! `struct.pack(fmt, ...)`, `struct.unpack(fmt, s [, pos])` and `struct.size(fmt)`, with the
//! same format language (`<`/`>`/`=` endianness, `!n` alignment, `b B h H l L T i[n] I[n] f d
//! x s c[n]`), sizes of an LP64 machine (`l`/`L`/`T` are 8 bytes, `i`/`I` 4 by default, at
//! most 32), native order little-endian, and the same error texts.

use mlua::{Lua, MultiValue, Table, Value};

use super::vm::{arg_type, check_number, guarded, raise};

const MAXINTSIZE: usize = 32;
const MAXALIGN: usize = 8;

#[derive(Clone, Copy)]
struct Header {
    big: bool,
    align: usize,
}

struct Fmt<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Fmt<'_> {
    fn next(&mut self) -> Option<u8> {
        let c = *self.s.get(self.pos)?;
        self.pos += 1;
        Some(c)
    }

    fn getnum(&mut self, default: usize) -> Result<usize, String> {
        if !self.s.get(self.pos).is_some_and(u8::is_ascii_digit) {
            return Ok(default);
        }
        let mut a: usize = 0;
        while let Some(d) = self.s.get(self.pos).filter(|c| c.is_ascii_digit()) {
            let d = (d - b'0') as usize;
            if a > (i32::MAX as usize) / 10 || a * 10 > i32::MAX as usize - d {
                return Err("integral size overflow".into());
            }
            a = a * 10 + d;
            self.pos += 1;
        }
        Ok(a)
    }

    /// optsize.
    fn optsize(&mut self, opt: u8) -> Result<usize, String> {
        Ok(match opt {
            b'B' | b'b' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'x' => 1,
            b'c' => self.getnum(1)?,
            b'i' | b'I' => {
                let sz = self.getnum(4)?;
                if sz > MAXINTSIZE {
                    return Err(format!(
                        "integral size {sz} is larger than limit of {MAXINTSIZE}"
                    ));
                }
                sz
            }
            _ => 0,
        })
    }
}

fn gettoalign(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size - (len & (size - 1))) & (size - 1)
}

/// An error: a message raised at the caller's position, or an argument error.
enum StructError {
    Msg(String),
    Arg(usize, String),
}

fn controloptions(f: &mut Fmt<'_>, opt: u8, h: &mut Header) -> Result<(), StructError> {
    match opt {
        b' ' => {}
        b'>' => h.big = true,
        b'<' | b'=' => h.big = false,
        b'!' => {
            let a = f.getnum(MAXALIGN).map_err(StructError::Msg)?;
            if !a.is_power_of_two() {
                return Err(StructError::Msg(format!(
                    "alignment {a} is not a power of 2"
                )));
            }
            h.align = a;
        }
        _ => {
            return Err(StructError::Arg(
                1,
                format!("invalid format option '{}'", opt as char),
            ))
        }
    }
    Ok(())
}

fn string_arg(lua: &Lua, args: &MultiValue, n: usize, fname: &str) -> Result<Vec<u8>, StructError> {
    match args.get(n - 1) {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(v @ (Value::Integer(_) | Value::Number(_))) => Ok(lua
            .coerce_string(v.clone())
            .ok()
            .flatten()
            .map(|s| s.as_bytes().to_vec())
            .unwrap_or_default()),
        _ => Err(StructError::Msg(format!(
            "bad argument #{n} to '{fname}' (string expected, got {})",
            arg_type(args, n)
        ))),
    }
}

fn pack(lua: &Lua, args: &MultiValue) -> Result<Vec<u8>, StructError> {
    let fmt = string_arg(lua, args, 1, "pack")?;
    let mut f = Fmt { s: &fmt, pos: 0 };
    let mut h = Header {
        big: false,
        align: 1,
    };
    let mut arg = 2;
    let mut out = Vec::new();
    let mut total = 0usize;
    while let Some(opt) = f.next() {
        let mut size = f.optsize(opt).map_err(StructError::Msg)?;
        let toalign = gettoalign(total, &h, opt, size);
        total += toalign;
        out.extend(std::iter::repeat_n(0u8, toalign));
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = check_number(lua, args, arg, "pack").map_err(StructError::Msg)?;
                arg += 1;
                let mut value: u64 = if n < 0.0 {
                    super::convert::number_to_i64(n) as u64
                } else if n >= 18_446_744_073_709_551_616.0 {
                    0
                } else {
                    n as u64
                };
                let mut buf = vec![0u8; size];
                for i in 0..size {
                    let idx = if h.big { size - 1 - i } else { i };
                    buf[idx] = (value & 0xff) as u8;
                    value >>= 8;
                }
                out.extend_from_slice(&buf);
            }
            b'x' => out.push(0),
            b'f' => {
                let n = check_number(lua, args, arg, "pack").map_err(StructError::Msg)?;
                arg += 1;
                let b = (n as f32).to_bits();
                out.extend_from_slice(&if h.big {
                    b.to_be_bytes()
                } else {
                    b.to_le_bytes()
                });
            }
            b'd' => {
                let n = check_number(lua, args, arg, "pack").map_err(StructError::Msg)?;
                arg += 1;
                let b = n.to_bits();
                out.extend_from_slice(&if h.big {
                    b.to_be_bytes()
                } else {
                    b.to_le_bytes()
                });
            }
            b'c' | b's' => {
                let s = string_arg(lua, args, arg, "pack")?;
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    // luaL_argcheck names the argument after this one, as lua_struct.c does.
                    return Err(StructError::Arg(arg, "string too short".into()));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                    size += 1;
                }
            }
            _ => controloptions(&mut f, opt, &mut h)?,
        }
        total += size;
    }
    Ok(out)
}

fn unpack(lua: &Lua, args: &MultiValue) -> Result<Vec<Value>, StructError> {
    let fmt = string_arg(lua, args, 1, "unpack")?;
    let data = string_arg(lua, args, 2, "unpack")?;
    let ld = data.len();
    let pos = match args.get(2) {
        None | Some(Value::Nil) => 1i64,
        Some(_) => check_number(lua, args, 3, "unpack").map_err(StructError::Msg)? as i64,
    };
    if pos <= 0 {
        return Err(StructError::Arg(3, "offset must be 1 or greater".into()));
    }
    let mut pos = (pos - 1) as usize;
    let mut f = Fmt { s: &fmt, pos: 0 };
    let mut h = Header {
        big: false,
        align: 1,
    };
    let mut out: Vec<Value> = Vec::new();
    let too_short = || StructError::Arg(2, "data string too short".into());
    while let Some(opt) = f.next() {
        let mut size = f.optsize(opt).map_err(StructError::Msg)?;
        pos += gettoalign(pos, &h, opt, size);
        if size > ld || pos > ld - size {
            return Err(too_short());
        }
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let bytes = &data[pos..pos + size];
                let mut l: u64 = 0;
                for i in 0..size {
                    let b = if h.big { bytes[i] } else { bytes[size - 1 - i] };
                    l = (l << 8) | b as u64;
                }
                let v = if opt.is_ascii_lowercase() {
                    let mask = (!0u64)
                        .checked_shl((size * 8).saturating_sub(1) as u32)
                        .unwrap_or(0);
                    if l & mask != 0 {
                        l |= mask;
                    }
                    l as i64 as f64
                } else {
                    l as f64
                };
                out.push(Value::Number(v));
            }
            b'x' => {}
            b'f' => {
                let mut b = [0u8; 4];
                b.copy_from_slice(&data[pos..pos + 4]);
                let bits = if h.big {
                    u32::from_be_bytes(b)
                } else {
                    u32::from_le_bytes(b)
                };
                out.push(Value::Number(f32::from_bits(bits) as f64));
            }
            b'd' => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[pos..pos + 8]);
                let bits = if h.big {
                    u64::from_be_bytes(b)
                } else {
                    u64::from_le_bytes(b)
                };
                out.push(Value::Number(f64::from_bits(bits)));
            }
            b'c' => {
                if size == 0 {
                    let prev = match out.last() {
                        Some(v @ (Value::Number(_) | Value::Integer(_))) => {
                            super::convert::as_number(v)
                        }
                        _ => None,
                    };
                    let Some(n) = prev else {
                        return Err(StructError::Msg("format 'c0' needs a previous size".into()));
                    };
                    out.pop();
                    size = if n > 0.0 { n as usize } else { 0 };
                    if size > ld || pos > ld - size {
                        return Err(too_short());
                    }
                }
                out.push(Value::String(
                    lua.create_string(&data[pos..pos + size])
                        .map_err(|e| StructError::Msg(e.to_string()))?,
                ));
            }
            b's' => {
                let Some(e) = data[pos..].iter().position(|&b| b == 0) else {
                    return Err(StructError::Msg("unfinished string in data".into()));
                };
                size = e + 1;
                out.push(Value::String(
                    lua.create_string(&data[pos..pos + e])
                        .map_err(|e| StructError::Msg(e.to_string()))?,
                ));
            }
            _ => controloptions(&mut f, opt, &mut h)?,
        }
        pos += size;
    }
    out.push(Value::Integer(pos as i64 + 1));
    Ok(out)
}

fn size(lua: &Lua, args: &MultiValue) -> Result<i64, StructError> {
    let fmt = string_arg(lua, args, 1, "size")?;
    let mut f = Fmt { s: &fmt, pos: 0 };
    let mut h = Header {
        big: false,
        align: 1,
    };
    let mut pos = 0usize;
    while let Some(opt) = f.next() {
        let size = f.optsize(opt).map_err(StructError::Msg)?;
        pos += gettoalign(pos, &h, opt, size);
        if opt == b's' {
            return Err(StructError::Arg(1, "option 's' has no fixed size".into()));
        } else if opt == b'c' && size == 0 {
            return Err(StructError::Arg(1, "option 'c0' has no fixed size".into()));
        }
        if !opt.is_ascii_alphanumeric() {
            controloptions(&mut f, opt, &mut h)?;
        }
        pos += size;
    }
    Ok(pos as i64)
}

fn raise_err(lua: &Lua, fname: &str, e: StructError) -> mlua::Result<MultiValue> {
    match e {
        StructError::Msg(m) => raise(lua, &m),
        StructError::Arg(n, m) => raise(lua, &format!("bad argument #{n} to '{fname}' ({m})")),
    }
}

/// The `struct` table.
pub(crate) fn open(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        guarded(lua, |lua, args: MultiValue| match pack(lua, &args) {
            Ok(b) => Ok(MultiValue::from_vec(vec![Value::String(
                lua.create_string(&b)?,
            )])),
            Err(e) => raise_err(lua, "pack", e),
        })?,
    )?;
    t.raw_set(
        "unpack",
        guarded(lua, |lua, args: MultiValue| match unpack(lua, &args) {
            Ok(v) => Ok(MultiValue::from_vec(v)),
            Err(e) => raise_err(lua, "unpack", e),
        })?,
    )?;
    t.raw_set(
        "size",
        guarded(lua, |lua, args: MultiValue| match size(lua, &args) {
            Ok(n) => Ok(MultiValue::from_vec(vec![Value::Integer(n)])),
            Err(e) => raise_err(lua, "size", e),
        })?,
    )?;
    Ok(t)
}
