//! Function libraries (FUNCTION LOAD/LIST/DUMP/RESTORE/DELETE, FCALL): the registry of loaded
//! libraries and their functions, the library metadata (`#!lua name=<lib>`), and the DUMP
//! payload.
//!
//! Invariants: library names are case-sensitive and unique; function names are unique across
//! all libraries, compared case-insensitively (Redis's functions dict ignores case); a library
//! always has at least one function.
//!
//! The DUMP payload is Redis's: for each library the RDB opcode `FUNCTION2` (245) and the
//! library code as an RDB string, then the RDB version (10, two bytes little-endian) and the
//! CRC64 (Jones, as Redis's crc64.c) of everything before, eight bytes little-endian. We write
//! strings uncompressed; RESTORE also reads Redis's integer- and LZF-encoded strings, so a
//! payload from Redis restores here.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;

use super::vm::{RegisteredFunction, Vm};

/// RDB_OPCODE_FUNCTION2.
const OPCODE_FUNCTION2: u8 = 245;
/// RDB_OPCODE_FUNCTION_PRE_GA.
const OPCODE_FUNCTION_PRE_GA: u8 = 246;
/// RDB_VERSION of Redis 7.0.
const RDB_VERSION: u16 = 10;

/// One function of a library.
pub(crate) struct FunctionInfo {
    /// The name as registered.
    pub name: String,
    /// The callback.
    pub func: mlua::Function,
    /// Its description.
    pub desc: Option<String>,
    /// Script flags.
    pub flags: u32,
}

/// A loaded library.
pub(crate) struct Library {
    /// The library's name.
    pub name: String,
    /// Its full code, shebang included (FUNCTION LIST WITHCODE, DUMP).
    pub code: Bytes,
    /// Its functions, in registration order.
    pub functions: Vec<FunctionInfo>,
}

/// Every loaded library.
#[derive(Default)]
pub(crate) struct Libraries {
    /// By name.
    pub libs: BTreeMap<String, Library>,
    /// Lowercase function name -> library name.
    index: HashMap<String, String>,
}

/// What the shebang line says.
struct Metadata {
    name: String,
    engine: String,
    /// The code after the shebang line, starting with its newline (so line numbers count the
    /// shebang line).
    code_start: usize,
}

/// Redis's sdssplitargs for the shebang line: words separated by spaces, with "..." (and
/// escapes) and '...' quoting anywhere in a word; `None` when quotes are unbalanced or a
/// closing quote is not followed by a space.
fn split_args(line: &[u8]) -> Option<Vec<String>> {
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut out = Vec::new();
    let mut p = 0;
    loop {
        while p < line.len() && line[p].is_ascii_whitespace() {
            p += 1;
        }
        if p >= line.len() {
            return Some(out);
        }
        let (mut inq, mut insq) = (false, false);
        let mut word = Vec::new();
        loop {
            let c = at(p);
            if inq {
                if c == b'\\'
                    && at(p + 1) == b'x'
                    && at(p + 2).is_ascii_hexdigit()
                    && at(p + 3).is_ascii_hexdigit()
                {
                    let hex = [at(p + 2), at(p + 3)];
                    let v = u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?;
                    word.push(v);
                    p += 3;
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    word.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        o => o,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !at(p + 1).is_ascii_whitespace() {
                        return None;
                    }
                    p += 1;
                    break;
                } else if c == 0 && p >= line.len() {
                    return None;
                } else {
                    word.push(c);
                }
            } else if insq {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    word.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !at(p + 1).is_ascii_whitespace() {
                        return None;
                    }
                    p += 1;
                    break;
                } else if c == 0 && p >= line.len() {
                    return None;
                } else {
                    word.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' => break,
                    0 if p >= line.len() => break,
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    _ => word.push(c),
                }
            }
            p += 1;
        }
        out.push(String::from_utf8_lossy(&word).into_owned());
    }
}

fn extract_metadata(code: &[u8]) -> Result<Metadata, String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let Some(nl) = code.iter().position(|&b| b == b'\n') else {
        return Err("Invalid library metadata".into());
    };
    let parts = match split_args(&code[..nl]) {
        Some(p) if !p.is_empty() => p,
        _ => return Err("Invalid library metadata".into()),
    };
    let engine = parts[0].get(2..).unwrap_or("").to_string();
    let mut name = None;
    for part in &parts[1..] {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case("name=") {
            if name.is_some() {
                return Err(
                    "Invalid metadata value, name argument was given multiple times".into(),
                );
            }
            name = Some(part[5..].to_string());
            continue;
        }
        return Err(format!("Invalid metadata value given: {part}"));
    }
    let name = name.ok_or("Library name was not given")?;
    Ok(Metadata {
        name,
        engine,
        code_start: nl,
    })
}

impl Libraries {
    /// Number of libraries.
    pub(crate) fn lib_count(&self) -> usize {
        self.libs.len()
    }

    /// Number of functions.
    pub(crate) fn function_count(&self) -> usize {
        self.index.len()
    }

    /// The function named `name` (any case).
    pub(crate) fn function(&self, name: &[u8]) -> Option<&FunctionInfo> {
        let key = String::from_utf8_lossy(name).to_lowercase();
        let lib = self.libs.get(self.index.get(&key)?)?;
        lib.functions.iter().find(|f| f.name.to_lowercase() == key)
    }

    fn unlink(&mut self, name: &str) -> Option<Library> {
        let lib = self.libs.remove(name)?;
        for f in &lib.functions {
            self.index.remove(&f.name.to_lowercase());
        }
        Some(lib)
    }

    fn link(&mut self, lib: Library) {
        for f in &lib.functions {
            self.index.insert(f.name.to_lowercase(), lib.name.clone());
        }
        self.libs.insert(lib.name.clone(), lib);
    }

    /// Compiles `code` into a library (metadata, engine, the functions it registers) without
    /// adding it anywhere.
    fn build(vm: &Vm, code: &[u8], timeout_ms: u64) -> Result<Library, String> {
        let md = extract_metadata(code)?;
        if !super::valid_name(&md.name) {
            return Err("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".into());
        }
        if !md.engine.eq_ignore_ascii_case("lua") {
            return Err(format!("Engine '{}' not found", md.engine));
        }
        let fns = vm.load_library(&code[md.code_start..], timeout_ms)?;
        let functions = fns
            .into_iter()
            .map(|f: RegisteredFunction| FunctionInfo {
                name: f.name,
                func: f.func,
                desc: f.desc,
                flags: f.flags,
            })
            .collect();
        Ok(Library {
            name: md.name,
            code: Bytes::copy_from_slice(code),
            functions,
        })
    }

    /// FUNCTION LOAD: returns the library's name.
    pub(crate) fn load(
        &mut self,
        vm: &Vm,
        code: &[u8],
        replace: bool,
        timeout_ms: u64,
    ) -> Result<String, String> {
        let md = extract_metadata(code)?;
        if !super::valid_name(&md.name) {
            return Err("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".into());
        }
        if !md.engine.eq_ignore_ascii_case("lua") {
            return Err(format!("Engine '{}' not found", md.engine));
        }
        if self.libs.contains_key(&md.name) && !replace {
            return Err(format!("Library '{}' already exists", md.name));
        }
        let lib = Self::build(vm, code, timeout_ms)?;
        self.add(lib, true)
    }

    /// Adds a compiled library, replacing one of the same name if `replace`.
    fn add(&mut self, lib: Library, replace: bool) -> Result<String, String> {
        if lib.functions.is_empty() {
            return Err("No functions registered".into());
        }
        if !replace && self.libs.contains_key(&lib.name) {
            return Err(format!("Library '{}' already exists", lib.name));
        }
        let old = self.unlink(&lib.name);
        if let Some(f) = lib
            .functions
            .iter()
            .find(|f| self.index.contains_key(&f.name.to_lowercase()))
        {
            let err = format!("Function {} already exists", f.name);
            if let Some(old) = old {
                self.link(old);
            }
            return Err(err);
        }
        let name = lib.name.clone();
        self.link(lib);
        Ok(name)
    }

    /// FUNCTION DELETE.
    pub(crate) fn delete(&mut self, name: &[u8]) -> bool {
        let name = String::from_utf8_lossy(name).into_owned();
        self.unlink(&name).is_some()
    }

    /// FUNCTION DUMP's payload.
    pub(crate) fn dump(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for lib in self.libs.values() {
            out.push(OPCODE_FUNCTION2);
            rdb_save_len(&mut out, lib.code.len() as u64);
            out.extend_from_slice(&lib.code);
        }
        out.extend_from_slice(&RDB_VERSION.to_le_bytes());
        let crc = crc64(0, &out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// FUNCTION RESTORE with the given policy (`flush`, `append`, `replace`). On error nothing
    /// changes. Returns the replaced registry when the policy is FLUSH (for the caller to drop).
    pub(crate) fn restore(
        &mut self,
        vm: &Vm,
        payload: &[u8],
        policy: RestorePolicy,
    ) -> Result<(), String> {
        if !verify_payload(payload) {
            return Err("DUMP payload version or checksum are wrong".into());
        }
        let body = &payload[..payload.len() - 10];
        let mut pos = 0;
        let mut fresh = Libraries::default();
        while pos < body.len() {
            let t = body[pos];
            pos += 1;
            if t == OPCODE_FUNCTION_PRE_GA {
                return Err("Pre-GA function format not supported".into());
            }
            if t != OPCODE_FUNCTION2 {
                return Err("given type is not a function".into());
            }
            let Some((code, used)) = rdb_load_string(&body[pos..]) else {
                return Err("failed loading the given functions payload".into());
            };
            pos += used;
            let lib = Self::build(vm, &code, 0)?;
            fresh.add(lib, false)?;
        }
        match policy {
            RestorePolicy::Flush => {
                *self = fresh;
                Ok(())
            }
            RestorePolicy::Append | RestorePolicy::Replace => {
                let replace = policy == RestorePolicy::Replace;
                let mut old = Vec::new();
                for name in fresh.libs.keys() {
                    if self.libs.contains_key(name) {
                        if !replace {
                            for lib in old {
                                self.link(lib);
                            }
                            return Err(format!("Library {name} already exists"));
                        }
                        if let Some(lib) = self.unlink(name) {
                            old.push(lib);
                        }
                    }
                }
                let clash = fresh
                    .libs
                    .values()
                    .flat_map(|l| l.functions.iter())
                    .find(|f| self.index.contains_key(&f.name.to_lowercase()))
                    .map(|f| f.name.clone());
                if let Some(f) = clash {
                    for lib in old {
                        self.link(lib);
                    }
                    return Err(format!("Function {f} already exists"));
                }
                for (_, lib) in std::mem::take(&mut fresh.libs) {
                    self.link(lib);
                }
                Ok(())
            }
        }
    }
}

/// FUNCTION RESTORE's policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RestorePolicy {
    /// Replace everything.
    Flush,
    /// Add; a library that exists is an error.
    Append,
    /// Add, replacing libraries of the same name.
    Replace,
}

/// Redis's verifyDumpPayload: at least the 10-byte footer, a version we can read, and a
/// matching CRC64.
fn verify_payload(p: &[u8]) -> bool {
    if p.len() < 10 {
        return false;
    }
    let footer = &p[p.len() - 10..];
    let ver = u16::from_le_bytes([footer[0], footer[1]]);
    if ver > RDB_VERSION {
        return false;
    }
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&footer[2..]);
    crc64(0, &p[..p.len() - 8]) == u64::from_le_bytes(crc)
}

/// rdbSaveLen.
fn rdb_save_len(out: &mut Vec<u8>, len: u64) {
    if len < 64 {
        out.push(len as u8);
    } else if len < 16384 {
        out.push(0x40 | (len >> 8) as u8);
        out.push(len as u8);
    } else if len <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// rdbLoadLen: `(len, is_encoded, bytes used)`.
fn rdb_load_len(p: &[u8]) -> Option<(u64, bool, usize)> {
    let b = *p.first()?;
    match b >> 6 {
        0 => Some(((b & 0x3f) as u64, false, 1)),
        1 => Some(((((b & 0x3f) as u64) << 8) | *p.get(1)? as u64, false, 2)),
        2 => match b {
            0x80 => {
                let mut v = [0u8; 4];
                v.copy_from_slice(p.get(1..5)?);
                Some((u32::from_be_bytes(v) as u64, false, 5))
            }
            0x81 => {
                let mut v = [0u8; 8];
                v.copy_from_slice(p.get(1..9)?);
                Some((u64::from_be_bytes(v), false, 9))
            }
            _ => None,
        },
        _ => Some(((b & 0x3f) as u64, true, 1)),
    }
}

/// rdbGenericLoadStringObject: a string in any RDB encoding; `(bytes, bytes used)`.
fn rdb_load_string(p: &[u8]) -> Option<(Vec<u8>, usize)> {
    let (len, encoded, mut used) = rdb_load_len(p)?;
    if !encoded {
        let len = usize::try_from(len).ok()?;
        let s = p.get(used..used.checked_add(len)?)?;
        return Some((s.to_vec(), used + len));
    }
    match len {
        0 => Some(((*p.get(used)? as i8).to_string().into_bytes(), used + 1)),
        1 => {
            let v = i16::from_le_bytes([*p.get(used)?, *p.get(used + 1)?]);
            Some((v.to_string().into_bytes(), used + 2))
        }
        2 => {
            let mut v = [0u8; 4];
            v.copy_from_slice(p.get(used..used + 4)?);
            Some((i32::from_le_bytes(v).to_string().into_bytes(), used + 4))
        }
        3 => {
            let (clen, _, u1) = rdb_load_len(p.get(used..)?)?;
            used += u1;
            let (ulen, _, u2) = rdb_load_len(p.get(used..)?)?;
            used += u2;
            let clen = usize::try_from(clen).ok()?;
            let ulen = usize::try_from(ulen).ok()?;
            // A hostile length cannot make us allocate more than the payload could expand to.
            if ulen > clen.saturating_mul(256).saturating_add(64) {
                return None;
            }
            let data = p.get(used..used.checked_add(clen)?)?;
            let out = lzf_decompress(data, ulen)?;
            Some((out, used + clen))
        }
        _ => None,
    }
}

/// LZF decompression (liblzf's lzf_decompress); `None` on corrupt input or a size mismatch.
fn lzf_decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(out_len);
    let mut i = 0;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            let n = ctrl + 1;
            out.extend_from_slice(input.get(i..i + n)?);
            i += n;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(i)? as usize;
                i += 1;
            }
            let back = ((ctrl & 0x1f) << 8) + *input.get(i)? as usize + 1;
            i += 1;
            let start = out.len().checked_sub(back)?;
            for k in 0..len + 2 {
                let b = out[start + k];
                out.push(b);
            }
        }
        if out.len() > out_len {
            return None;
        }
    }
    (out.len() == out_len).then_some(out)
}

/// Redis's crc64 (Jones polynomial, reflected), as used by DUMP payloads.
pub(crate) fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    static TABLE: std::sync::OnceLock<[u64; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        const POLY: u64 = 0x95ac_9329_ac4b_c9b5;
        let mut t = [0u64; 256];
        for (i, slot) in t.iter_mut().enumerate() {
            let mut c = i as u64;
            for _ in 0..8 {
                c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            }
            *slot = c;
        }
        t
    });
    for &b in data {
        crc = table[((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_matches_redis() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn metadata() {
        let md = extract_metadata(b"#!lua name=mylib\nreturn 1").unwrap();
        assert_eq!((md.name.as_str(), md.engine.as_str()), ("mylib", "lua"));
        assert_eq!(md.code_start, 16);
        assert!(extract_metadata(b"return 1").is_err());
        assert_eq!(
            extract_metadata(b"#!lua\nx").err().unwrap(),
            "Library name was not given"
        );
        assert_eq!(
            extract_metadata(b"#!lua name=\"x\nx").err().unwrap(),
            "Invalid library metadata"
        );
    }

    #[test]
    fn rdb_strings_roundtrip() {
        for len in [0usize, 5, 63, 64, 16383, 16384, 70000] {
            let s = vec![b'x'; len];
            let mut out = Vec::new();
            rdb_save_len(&mut out, len as u64);
            out.extend_from_slice(&s);
            let (back, used) = rdb_load_string(&out).unwrap();
            assert_eq!((back, used), (s, out.len()));
        }
        // An LZF string as Redis writes it: "aaaaaaaaaaaaaaaaaaaaaaaaa" (25 bytes).
        let lzf = [0xc3, 0x05, 0x19, 0x00, b'a', 0xe0, 0x0f, 0x00];
        let (back, _) = rdb_load_string(&lzf).unwrap();
        assert_eq!(back, vec![b'a'; 25]);
    }
}
