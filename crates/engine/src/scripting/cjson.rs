//! Redis's `cjson` (lua-cjson 2.1.0 as bundled with Redis), reimplemented against mlua with the
//! same output and error texts: numbers as `%.14g`, `/` escaped, a table is an array when all
//! its keys are positive integers (sparse arrays beyond ratio 2 and 10 items are an error),
//! `{}` encodes as `{}`, JSON null decodes to `cjson.null` (a NULL light userdata), depth limits
//! of 1000 both ways, and lua-cjson's "Expected ... but found ... at character N" errors.
//! Number parsing accepts what C's strtod accepts (hex, inf, nan), as lua-cjson's default
//! `decode_invalid_numbers` does.

use std::ffi::c_void;

use mlua::{LightUserData, Lua, MultiValue, Table, Value};

use super::convert::fmt_g;
use super::vm::{arg_type, guarded, raise, type_name};

const MAX_DEPTH: usize = 1000;

/// `cjson.null`.
pub(crate) fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut::<c_void>()))
}

fn encode_value(lua: &Lua, v: &Value, depth: usize, out: &mut Vec<u8>) -> Result<(), String> {
    match v {
        Value::String(s) => encode_string(&s.as_bytes(), out),
        Value::Integer(_) | Value::Number(_) => {
            let d = super::convert::as_number(v).unwrap_or(0.0);
            if !d.is_finite() {
                return Err("Cannot serialise number: must not be NaN or Inf".into());
            }
            out.extend_from_slice(fmt_g(d, 14).as_bytes());
        }
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Table(t) => {
            let depth = depth + 1;
            if depth > MAX_DEPTH {
                return Err(format!("Cannot serialise, excessive nesting ({depth})"));
            }
            encode_table(lua, t, depth, out)?;
        }
        other => {
            return Err(format!(
                "Cannot serialise {}: type not supported",
                type_name(other)
            ))
        }
    }
    Ok(())
}

/// lua_array_length: `Some(max)` for an array, `None` for an object.
fn array_length(t: &Table) -> Result<Option<usize>, String> {
    let (mut max, mut items) = (0f64, 0usize);
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair.map_err(|e| e.to_string())?;
        let k = match k {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => return Ok(None),
        };
        if k == 0.0 || k.floor() != k || k < 1.0 {
            return Ok(None);
        }
        if k > max {
            max = k;
        }
        items += 1;
    }
    if max > (items * 2) as f64 && max > 10.0 {
        return Err("Cannot serialise table: excessively sparse array".into());
    }
    Ok(Some(max as usize))
}

fn encode_table(lua: &Lua, t: &Table, depth: usize, out: &mut Vec<u8>) -> Result<(), String> {
    match array_length(t)? {
        Some(len) if len > 0 => {
            out.push(b'[');
            for i in 1..=len {
                if i > 1 {
                    out.push(b',');
                }
                let v: Value = t.raw_get(i).map_err(|e| e.to_string())?;
                encode_value(lua, &v, depth, out)?;
            }
            out.push(b']');
        }
        _ => {
            out.push(b'{');
            let mut first = true;
            for pair in t.pairs::<Value, Value>() {
                let (k, v) = pair.map_err(|e| e.to_string())?;
                if !first {
                    out.push(b',');
                }
                first = false;
                match &k {
                    Value::Integer(_) | Value::Number(_) => {
                        out.push(b'"');
                        let d = super::convert::as_number(&k).unwrap_or(0.0);
                        if !d.is_finite() {
                            return Err("Cannot serialise number: must not be NaN or Inf".into());
                        }
                        out.extend_from_slice(fmt_g(d, 14).as_bytes());
                        out.extend_from_slice(b"\":");
                    }
                    Value::String(s) => {
                        encode_string(&s.as_bytes(), out);
                        out.push(b':');
                    }
                    other => {
                        return Err(format!(
                            "Cannot serialise {}: table key must be a number or string",
                            type_name(other)
                        ))
                    }
                }
                encode_value(lua, &v, depth, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn encode_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            8 => out.extend_from_slice(b"\\b"),
            12 => out.extend_from_slice(b"\\f"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            _ => out.push(c),
        }
    }
    out.push(b'"');
}

/// Token kinds, named as lua-cjson names them in errors.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str,
    Num,
    Bool,
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Tok {
    fn name(self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str => "T_STRING",
            Tok::Num => "T_NUMBER",
            Tok::Bool => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(e) => e,
        }
    }
}

struct Token {
    kind: Tok,
    index: usize,
    string: Vec<u8>,
    number: f64,
    boolean: bool,
}

struct Parser<'a> {
    data: &'a [u8],
    pos: usize,
    depth: usize,
}

/// C's strtod on a prefix of `s`: the value and the bytes used (0: no number).
pub(crate) fn strtod(s: &[u8]) -> (f64, usize) {
    let mut i = 0;
    let neg = match s.first() {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let sign = if neg { -1.0 } else { 1.0 };
    let rest = &s[i..];
    let lower = |n: usize| -> Vec<u8> {
        rest.iter()
            .take(n)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    if lower(8) == b"infinity" {
        return (sign * f64::INFINITY, i + 8);
    }
    if lower(3) == b"inf" {
        return (sign * f64::INFINITY, i + 3);
    }
    if lower(3) == b"nan" {
        let mut j = i + 3;
        if s.get(j) == Some(&b'(') {
            if let Some(close) = s[j..].iter().position(|&c| c == b')') {
                if s[j + 1..j + close]
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    j += close + 1;
                }
            }
        }
        return (f64::NAN.copysign(sign), j);
    }
    if rest.len() >= 2 && rest[0] == b'0' && (rest[1] | 0x20) == b'x' {
        let mut j = i + 2;
        let mut v = 0f64;
        let mut digits = 0;
        while let Some(d) = s.get(j).and_then(|c| (*c as char).to_digit(16)) {
            v = v * 16.0 + d as f64;
            j += 1;
            digits += 1;
        }
        let mut scale = 0i32;
        if s.get(j) == Some(&b'.') {
            let mut k = j + 1;
            while let Some(d) = s.get(k).and_then(|c| (*c as char).to_digit(16)) {
                v = v * 16.0 + d as f64;
                scale -= 4;
                k += 1;
                digits += 1;
            }
            if digits > 0 {
                j = k;
            }
        }
        if digits == 0 {
            // "0x" alone: strtod parses the "0".
            return (0.0 * sign, i + 1);
        }
        if matches!(s.get(j), Some(b'p' | b'P')) {
            let (e, used) = parse_exp(&s[j + 1..]);
            if used > 0 {
                scale += e;
                j += 1 + used;
            }
        }
        return (sign * v * 2f64.powi(scale), j);
    }
    let mut j = i;
    let mut digits = 0;
    while s.get(j).is_some_and(u8::is_ascii_digit) {
        j += 1;
        digits += 1;
    }
    if s.get(j) == Some(&b'.') {
        let mut k = j + 1;
        while s.get(k).is_some_and(u8::is_ascii_digit) {
            k += 1;
            digits += 1;
        }
        j = k;
    }
    if digits == 0 {
        return (0.0, 0);
    }
    if matches!(s.get(j), Some(b'e' | b'E')) {
        let (_, used) = parse_exp(&s[j + 1..]);
        if used > 0 {
            j += 1 + used;
        }
    }
    let text = std::str::from_utf8(&s[..j]).unwrap_or("0");
    (text.parse::<f64>().unwrap_or(0.0), j)
}

fn parse_exp(s: &[u8]) -> (i32, usize) {
    let mut i = 0;
    let neg = match s.first() {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let start = i;
    let mut v: i32 = 0;
    while let Some(c) = s.get(i).filter(|c| c.is_ascii_digit()) {
        v = v.saturating_mul(10).saturating_add((c - b'0') as i32);
        i += 1;
    }
    if i == start {
        return (0, 0);
    }
    (if neg { -v } else { v }, i)
}

fn hex4(s: &[u8]) -> Option<u32> {
    let h = s.get(..4)?;
    let mut v = 0;
    for &c in h {
        v = v * 16 + (c as char).to_digit(16)?;
    }
    Some(v)
}

impl Parser<'_> {
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn next_token(&mut self) -> Token {
        while matches!(self.at(self.pos), b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        let mut t = Token {
            kind: Tok::End,
            index: self.pos,
            string: Vec::new(),
            number: 0.0,
            boolean: false,
        };
        let ch = self.at(self.pos);
        let single = match ch {
            0 => return t,
            b'{' => Some(Tok::ObjBegin),
            b'}' => Some(Tok::ObjEnd),
            b'[' => Some(Tok::ArrBegin),
            b']' => Some(Tok::ArrEnd),
            b',' => Some(Tok::Comma),
            b':' => Some(Tok::Colon),
            _ => None,
        };
        if let Some(k) = single {
            self.pos += 1;
            t.kind = k;
            return t;
        }
        let rest = &self.data[self.pos..];
        let is_invalid_number = |p: &[u8]| -> bool {
            let mut i = 0;
            if p.first() == Some(&b'+') {
                return true;
            }
            if p.first() == Some(&b'-') {
                i = 1;
            }
            let c = p.get(i).copied().unwrap_or(0);
            if c == b'0' {
                let c2 = p.get(i + 1).copied().unwrap_or(0);
                return (c2 | 0x20) == b'x' || c2.is_ascii_digit();
            } else if c <= b'9' {
                return false;
            }
            let l: Vec<u8> = p[i..]
                .iter()
                .take(3)
                .map(|c| c.to_ascii_lowercase())
                .collect();
            l == b"inf" || l == b"nan"
        };
        match ch {
            b'"' => self.string_token(&mut t),
            b'-' | b'0'..=b'9' => self.number_token(&mut t),
            b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'+' => {
                if rest.starts_with(b"true") {
                    t.kind = Tok::Bool;
                    t.boolean = true;
                    self.pos += 4;
                } else if rest.starts_with(b"false") {
                    t.kind = Tok::Bool;
                    self.pos += 5;
                } else if rest.starts_with(b"null") {
                    t.kind = Tok::Null;
                    self.pos += 4;
                } else if is_invalid_number(rest) {
                    self.number_token(&mut t);
                } else {
                    t.kind = Tok::Error("invalid token");
                }
            }
            _ => t.kind = Tok::Error("invalid token"),
        }
        t
    }

    fn number_token(&mut self, t: &mut Token) {
        let (v, used) = strtod(&self.data[self.pos..]);
        if used == 0 {
            t.kind = Tok::Error("invalid number");
            t.index = self.pos;
            return;
        }
        t.kind = Tok::Num;
        t.number = v;
        self.pos += used;
    }

    fn string_token(&mut self, t: &mut Token) {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let ch = self.at(self.pos);
            if ch == b'"' {
                break;
            }
            if ch == 0 {
                t.kind = Tok::Error("unexpected end of string");
                t.index = self.pos;
                return;
            }
            if ch == b'\\' {
                let esc = match self.at(self.pos + 1) {
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'/' => b'/',
                    b'b' => 8,
                    b'f' => 12,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'u' => {
                        if self.unicode_escape(&mut out) {
                            continue;
                        }
                        t.kind = Tok::Error("invalid unicode escape code");
                        t.index = self.pos;
                        return;
                    }
                    _ => {
                        t.kind = Tok::Error("invalid escape code");
                        t.index = self.pos;
                        return;
                    }
                };
                out.push(esc);
                self.pos += 2;
                continue;
            }
            out.push(ch);
            self.pos += 1;
        }
        self.pos += 1;
        t.kind = Tok::Str;
        t.string = out;
    }

    fn unicode_escape(&mut self, out: &mut Vec<u8>) -> bool {
        let p = self.pos;
        let Some(mut cp) = hex4(self.data.get(p + 2..).unwrap_or(&[])) else {
            return false;
        };
        let mut len = 6;
        if cp & 0xF800 == 0xD800 {
            if cp & 0x400 != 0 {
                return false;
            }
            if self.at(p + 6) != b'\\' || self.at(p + 7) != b'u' {
                return false;
            }
            let Some(low) = hex4(self.data.get(p + 8..).unwrap_or(&[])) else {
                return false;
            };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        let Some(c) = char::from_u32(cp) else {
            return false;
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        self.pos += len;
        true
    }

    fn expected(&self, what: &str, t: &Token) -> String {
        format!(
            "Expected {what} but found {} at character {}",
            t.kind.name(),
            t.index + 1
        )
    }

    fn descend(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!(
                "Found too many nested data structures ({}) at character {}",
                self.depth, self.pos
            ));
        }
        Ok(())
    }

    fn value(&mut self, lua: &Lua, t: Token) -> Result<Value, String> {
        let map = |e: mlua::Error| e.to_string();
        Ok(match t.kind {
            Tok::Str => Value::String(lua.create_string(&t.string).map_err(map)?),
            Tok::Num => Value::Number(t.number),
            Tok::Bool => Value::Boolean(t.boolean),
            Tok::Null => null(),
            Tok::ObjBegin => {
                self.descend()?;
                let table = lua.create_table().map_err(map)?;
                let mut tok = self.next_token();
                if tok.kind != Tok::ObjEnd {
                    loop {
                        if tok.kind != Tok::Str {
                            return Err(self.expected("object key string", &tok));
                        }
                        let key = lua.create_string(&tok.string).map_err(map)?;
                        let colon = self.next_token();
                        if colon.kind != Tok::Colon {
                            return Err(self.expected("colon", &colon));
                        }
                        let vt = self.next_token();
                        let v = self.value(lua, vt)?;
                        table.raw_set(key, v).map_err(map)?;
                        tok = self.next_token();
                        if tok.kind == Tok::ObjEnd {
                            break;
                        }
                        if tok.kind != Tok::Comma {
                            return Err(self.expected("comma or object end", &tok));
                        }
                        tok = self.next_token();
                    }
                }
                self.depth -= 1;
                Value::Table(table)
            }
            Tok::ArrBegin => {
                self.descend()?;
                let table = lua.create_table().map_err(map)?;
                let mut tok = self.next_token();
                if tok.kind != Tok::ArrEnd {
                    let mut i = 1i64;
                    loop {
                        let v = self.value(lua, tok)?;
                        table.raw_set(i, v).map_err(map)?;
                        i += 1;
                        tok = self.next_token();
                        if tok.kind == Tok::ArrEnd {
                            break;
                        }
                        if tok.kind != Tok::Comma {
                            return Err(self.expected("comma or array end", &tok));
                        }
                        tok = self.next_token();
                    }
                }
                self.depth -= 1;
                Value::Table(table)
            }
            _ => return Err(self.expected("value", &t)),
        })
    }
}

fn decode(lua: &Lua, s: &[u8]) -> Result<Value, String> {
    let mut p = Parser {
        data: s,
        pos: 0,
        depth: 0,
    };
    let t = p.next_token();
    let v = p.value(lua, t)?;
    let end = p.next_token();
    if end.kind != Tok::End {
        return Err(p.expected("the end", &end));
    }
    Ok(v)
}

fn one(v: Value) -> mlua::Result<MultiValue> {
    Ok(MultiValue::from_vec(vec![v]))
}

/// The `cjson` table.
pub(crate) fn open(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "encode",
        guarded(lua, |lua, args: MultiValue| {
            if args.len() != 1 {
                return raise(lua, "bad argument #1 to 'encode' (expected 1 argument)");
            }
            let mut out = Vec::new();
            match encode_value(lua, &args[0], 0, &mut out) {
                Ok(()) => one(Value::String(lua.create_string(&out)?)),
                Err(e) => raise(lua, &e),
            }
        })?,
    )?;
    t.raw_set(
        "decode",
        guarded(lua, |lua, args: MultiValue| {
            if args.len() != 1 {
                return raise(lua, "bad argument #1 to 'decode' (expected 1 argument)");
            }
            let s = match &args[0] {
                Value::String(s) => s.as_bytes().to_vec(),
                v @ (Value::Integer(_) | Value::Number(_)) => lua
                    .coerce_string(v.clone())?
                    .map(|s| s.as_bytes().to_vec())
                    .unwrap_or_default(),
                _ => {
                    return raise(
                        lua,
                        &format!(
                            "bad argument #1 to 'decode' (string expected, got {})",
                            arg_type(&args, 1)
                        ),
                    )
                }
            };
            match decode(lua, &s) {
                Ok(v) => one(v),
                Err(e) => raise(lua, &e),
            }
        })?,
    )?;
    // The configuration functions report lua-cjson's defaults (changing them is not supported).
    let constant = |vals: Vec<Value>| {
        guarded(lua, move |_, _: MultiValue| {
            Ok(MultiValue::from_vec(vals.clone()))
        })
    };
    t.raw_set("encode_max_depth", constant(vec![Value::Integer(1000)])?)?;
    t.raw_set("decode_max_depth", constant(vec![Value::Integer(1000)])?)?;
    t.raw_set(
        "encode_number_precision",
        constant(vec![Value::Integer(14)])?,
    )?;
    t.raw_set(
        "encode_sparse_array",
        constant(vec![
            Value::Boolean(false),
            Value::Integer(2),
            Value::Integer(10),
        ])?,
    )?;
    t.raw_set("encode_keep_buffer", constant(vec![Value::Boolean(true)])?)?;
    t.raw_set(
        "encode_invalid_numbers",
        constant(vec![Value::Boolean(false)])?,
    )?;
    t.raw_set(
        "decode_invalid_numbers",
        constant(vec![Value::Boolean(true)])?,
    )?;
    let self_ref = t.clone();
    let _ = self_ref;
    t.raw_set("new", lua.create_function(|lua, _: MultiValue| open(lua))?)?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    t.raw_set("null", null())?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtod_like_c() {
        assert_eq!(strtod(b"12abc"), (12.0, 2));
        assert_eq!(strtod(b"0x10"), (16.0, 4));
        assert_eq!(strtod(b"-"), (0.0, 0));
        assert_eq!(strtod(b"1e400").0, f64::INFINITY);
        assert_eq!(strtod(b"Infinity"), (f64::INFINITY, 8));
        assert!(strtod(b"nan").0.is_nan());
        assert_eq!(strtod(b"1.5e3,"), (1500.0, 5));
        assert_eq!(strtod(b"1e"), (1.0, 1));
        assert_eq!(strtod(b".5"), (0.5, 2));
    }
}
