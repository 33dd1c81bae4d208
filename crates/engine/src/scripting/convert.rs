//! Conversions between Lua values and Redis replies, as Redis 7.0's script_lua.c does them.
//!
//! * [`lua_to_reply`] (luaReplyToRedisReply): a script's return value becomes the client's
//!   reply. Numbers are truncated to integers, `true` is `:1` (or `#t` after `setresp(3)`),
//!   `false` is null, a table is an error (`err` field), a status (`ok`), a RESP3 type
//!   (`double`, `big_number`, `verbatim_string`, `map`, `set`) or else an array that stops at
//!   the first nil.
//! * [`reply_to_lua`] (redisProtocolToLuaType): the RESP bytes a command wrote for the script's
//!   client become a Lua value, exactly as Redis parses its own client buffer.
//!
//! Both directions are bounded in depth ([`MAX_DEPTH`]) so a hostile script cannot overflow the
//! Rust stack with a deeply nested table.

use flint_protocol::ReplyWriter;
use mlua::{Lua, Table, Value};

/// Nesting beyond this is cut short with Redis's "reached lua stack limit" error.
pub(crate) const MAX_DEPTH: usize = 1000;

/// C's `(long long)d` on x86-64: out-of-range values and NaN become `i64::MIN`.
pub(crate) fn number_to_i64(d: f64) -> i64 {
    if d.is_nan() || !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&d) {
        i64::MIN
    } else {
        d as i64
    }
}

/// A Lua number (mlua shows integral numbers as `Integer`) as a double.
pub(crate) fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        _ => None,
    }
}

/// C's `%.17g` (how Redis turns a Lua number into a command argument, and doubles into
/// replies); NaN keeps its sign as glibc prints it.
pub(crate) fn fmt_17g(d: f64) -> String {
    if d.is_nan() {
        return if d.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    flint_protocol::format_double(d)
}

/// C's `%.{precision}g` (inf/nan spelled as glibc does).
pub(crate) fn fmt_g(d: f64, precision: usize) -> String {
    if d.is_nan() {
        return if d.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    String::from_utf8_lossy(flint_protocol::DoubleBuf::new().format_g(d, precision)).into_owned()
}

/// Writes a double reply as Redis's addReplyDouble.
fn write_double(out: &mut ReplyWriter, d: f64) {
    if d.is_nan() {
        let s = fmt_17g(d);
        if out.is_resp3() {
            out.raw(format!(",{s}\r\n").as_bytes());
        } else {
            out.bulk(s.as_bytes());
        }
    } else {
        out.double(d);
    }
}

fn sanitize(s: &[u8]) -> String {
    String::from_utf8_lossy(s).replace(['\r', '\n'], " ")
}

/// Writes the script's result `v` to `out` (the caller's protocol). `script_resp3` is the
/// protocol the script chose with `redis.setresp` (it decides how booleans are sent).
pub(crate) fn lua_to_reply(v: &Value, script_resp3: bool, out: &mut ReplyWriter, depth: usize) {
    if depth > MAX_DEPTH {
        out.error("ERR reached lua stack limit");
        return;
    }
    match v {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Boolean(b) => {
            if script_resp3 {
                out.boolean(*b);
            } else if *b {
                out.int(1);
            } else {
                out.null();
            }
        }
        Value::Integer(_) | Value::Number(_) => {
            out.int(number_to_i64(as_number(v).unwrap_or(0.0)));
        }
        Value::Table(t) => table_to_reply(t, script_resp3, out, depth),
        _ => out.null(),
    }
}

fn table_to_reply(t: &Table, script_resp3: bool, out: &mut ReplyWriter, depth: usize) {
    let field = |name: &str| t.raw_get::<Value>(name).unwrap_or(Value::Nil);
    if let Value::String(e) = field("err") {
        let text = sanitize(&e.as_bytes());
        // Redis sends "-<err>" as is: the text carries its own code.
        out.raw(b"-");
        out.raw(text.as_bytes());
        out.raw(b"\r\n");
        return;
    }
    if let Value::String(s) = field("ok") {
        out.simple(&sanitize(&s.as_bytes()));
        return;
    }
    let d = field("double");
    if let Some(n) = as_number(&d) {
        write_double(out, n);
        return;
    }
    if let Value::String(s) = field("big_number") {
        let text = sanitize(&s.as_bytes());
        if out.is_resp3() {
            out.raw(format!("({text}\r\n").as_bytes());
        } else {
            out.bulk(text.as_bytes());
        }
        return;
    }
    if let Value::Table(vt) = field("verbatim_string") {
        if let (Ok(Value::String(fmt)), Ok(Value::String(s))) =
            (vt.raw_get::<Value>("format"), vt.raw_get::<Value>("string"))
        {
            let s = s.as_bytes();
            if out.is_resp3() {
                let mut ext = [b'\0'; 3];
                for (d, c) in ext.iter_mut().zip(fmt.as_bytes().iter()) {
                    *d = *c;
                }
                out.raw(format!("={}\r\n", s.len() + 4).as_bytes());
                out.raw(&ext);
                out.raw(b":");
                out.raw(&s);
                out.raw(b"\r\n");
            } else {
                out.bulk(&s);
            }
            return;
        }
    }
    if let Value::Table(m) = field("map") {
        let pairs: Vec<(Value, Value)> = m.pairs::<Value, Value>().filter_map(|p| p.ok()).collect();
        out.map(pairs.len());
        for (k, v) in &pairs {
            lua_to_reply(k, script_resp3, out, depth + 1);
            lua_to_reply(v, script_resp3, out, depth + 1);
        }
        return;
    }
    if let Value::Table(s) = field("set") {
        let keys: Vec<Value> = s
            .pairs::<Value, Value>()
            .filter_map(|p| p.ok().map(|(k, _)| k))
            .collect();
        out.set(keys.len());
        for k in &keys {
            lua_to_reply(k, script_resp3, out, depth + 1);
        }
        return;
    }
    let mut items = Vec::new();
    let mut j = 1i64;
    loop {
        match t.raw_get::<Value>(j) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(v),
        }
        j += 1;
    }
    out.array(items.len());
    for v in &items {
        lua_to_reply(v, script_resp3, out, depth + 1);
    }
}

/// Builds `{err = "<CODE> <message>"}` from an error text that may start with `-` and a code
/// (Redis's luaPushErrorBuff): a text without a leading `-` gets the code `ERR`; trailing CR/LF
/// are trimmed.
pub(crate) fn error_table(lua: &Lua, text: &[u8]) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("err", lua.create_string(error_text(text))?)?;
    Ok(t)
}

/// The `err` text of [`error_table`].
pub(crate) fn error_text(text: &[u8]) -> Vec<u8> {
    let (code, msg): (&[u8], &[u8]) = match text.strip_prefix(b"-") {
        Some(rest) => match rest.iter().position(|&b| b == b' ') {
            Some(sp) => (&rest[..sp], &rest[sp + 1..]),
            None => (b"ERR", rest),
        },
        None => (b"ERR", text),
    };
    let mut end = msg.len();
    while end > 0 && (msg[end - 1] == b'\r' || msg[end - 1] == b'\n') {
        end -= 1;
    }
    let mut start = 0;
    while start < end && (msg[start] == b'\r' || msg[start] == b'\n') {
        start += 1;
    }
    let mut out = Vec::with_capacity(code.len() + 1 + end - start);
    out.extend_from_slice(code);
    out.push(b' ');
    out.extend_from_slice(&msg[start..end]);
    out
}

/// A RESP parse position.
struct Cursor<'b> {
    buf: &'b [u8],
    pos: usize,
}

impl<'b> Cursor<'b> {
    fn line(&mut self) -> Option<(u8, &'b [u8])> {
        let t = *self.buf.get(self.pos)?;
        let start = self.pos + 1;
        let rel = self
            .buf
            .get(start..)?
            .windows(2)
            .position(|w| w == b"\r\n")?;
        self.pos = start + rel + 2;
        Some((t, &self.buf[start..start + rel]))
    }

    fn bytes(&mut self, n: usize) -> Option<&'b [u8]> {
        let b = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n + 2;
        Some(b)
    }
}

fn parse_len(s: &[u8]) -> i64 {
    std::str::from_utf8(s)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Converts one RESP reply (what a command wrote for the script) into a Lua value. The second
/// result is true when the reply is an error (redis.call raises it).
pub(crate) fn reply_to_lua(lua: &Lua, reply: &[u8]) -> mlua::Result<(Value, bool)> {
    let is_err = reply.first() == Some(&b'-');
    let mut c = Cursor { buf: reply, pos: 0 };
    let v = parse_value(lua, &mut c, 0)?.unwrap_or(Value::Nil);
    Ok((v, is_err))
}

fn parse_value(lua: &Lua, c: &mut Cursor<'_>, depth: usize) -> mlua::Result<Option<Value>> {
    let Some((t, line)) = c.line() else {
        return Ok(None);
    };
    if depth > MAX_DEPTH {
        return Ok(Some(Value::Nil));
    }
    let v = match t {
        b':' => Value::Number(parse_len(line) as f64),
        b'$' => {
            let n = parse_len(line);
            if n < 0 {
                Value::Boolean(false)
            } else {
                match c.bytes(n as usize) {
                    Some(b) => Value::String(lua.create_string(b)?),
                    None => return Ok(None),
                }
            }
        }
        b'+' => {
            let t = lua.create_table()?;
            t.raw_set("ok", lua.create_string(line)?)?;
            Value::Table(t)
        }
        b'-' => {
            let mut text = Vec::with_capacity(line.len() + 1);
            text.push(b'-');
            text.extend_from_slice(line);
            let t = error_table(lua, &text)?;
            t.raw_set("ignore_error_stats_update", true)?;
            Value::Table(t)
        }
        b'*' | b'>' => {
            let n = parse_len(line);
            if n < 0 {
                Value::Boolean(false)
            } else {
                let t = lua.create_table()?;
                for i in 0..n {
                    let v = parse_value(lua, c, depth + 1)?.unwrap_or(Value::Nil);
                    t.raw_set(i + 1, v)?;
                }
                Value::Table(t)
            }
        }
        b'%' => {
            let inner = lua.create_table()?;
            for _ in 0..parse_len(line).max(0) {
                let k = parse_value(lua, c, depth + 1)?.unwrap_or(Value::Nil);
                let v = parse_value(lua, c, depth + 1)?.unwrap_or(Value::Nil);
                if !matches!(k, Value::Nil) {
                    inner.raw_set(k, v)?;
                }
            }
            let t = lua.create_table()?;
            t.raw_set("map", inner)?;
            Value::Table(t)
        }
        b'~' => {
            let inner = lua.create_table()?;
            for _ in 0..parse_len(line).max(0) {
                let k = parse_value(lua, c, depth + 1)?.unwrap_or(Value::Nil);
                if !matches!(k, Value::Nil) {
                    inner.raw_set(k, true)?;
                }
            }
            let t = lua.create_table()?;
            t.raw_set("set", inner)?;
            Value::Table(t)
        }
        b'|' => {
            // Attributes are skipped; the reply they describe follows.
            for _ in 0..parse_len(line).max(0) * 2 {
                parse_value(lua, c, depth + 1)?;
            }
            return parse_value(lua, c, depth);
        }
        b'_' => Value::Nil,
        b'#' => Value::Boolean(line == b"t"),
        b',' => {
            let d = std::str::from_utf8(line)
                .ok()
                .and_then(|s| s.parse::<f64>().ok())
                .unwrap_or(0.0);
            let t = lua.create_table()?;
            t.raw_set("double", d)?;
            Value::Table(t)
        }
        b'(' => {
            let t = lua.create_table()?;
            t.raw_set("big_number", lua.create_string(line)?)?;
            Value::Table(t)
        }
        b'=' => {
            let n = parse_len(line).max(0) as usize;
            let Some(b) = c.bytes(n) else {
                return Ok(None);
            };
            let (fmt, s) = if b.len() >= 4 {
                (&b[..3], &b[4..])
            } else {
                (b, &b[..0])
            };
            let inner = lua.create_table()?;
            inner.raw_set("string", lua.create_string(s)?)?;
            inner.raw_set("format", lua.create_string(fmt)?)?;
            let t = lua.create_table()?;
            t.raw_set("verbatim_string", inner)?;
            Value::Table(t)
        }
        _ => Value::Nil,
    };
    Ok(Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_like_redis() {
        assert_eq!(error_text(b"-WRONGTYPE bad"), b"WRONGTYPE bad");
        assert_eq!(error_text(b"-NOCODE"), b"ERR NOCODE");
        assert_eq!(error_text(b"plain message"), b"ERR plain message");
        assert_eq!(error_text(b"-ERR x\r\n"), b"ERR x");
    }

    #[test]
    fn numbers_truncate_like_c() {
        assert_eq!(number_to_i64(3.99), 3);
        assert_eq!(number_to_i64(-3.99), -3);
        assert_eq!(number_to_i64(1e30), i64::MIN);
        assert_eq!(number_to_i64(f64::NAN), i64::MIN);
        assert_eq!(fmt_17g(0.1), "0.10000000000000001");
        assert_eq!(fmt_17g(1e20), "1e+20");
    }
}
