//! COMMAND DOCS `arguments`: one line per command (and `container|sub` subcommand) in a small
//! notation close to the one Redis's documentation uses, parsed once into the nested
//! [`Arg`] tree that COMMAND DOCS replies with.
//!
//! The notation, one argument after another, separated by spaces:
//!
//! - `name:type` — an argument of type `key`, `string`, `integer`, `double`, `pattern` or
//!   `unix-time`. The name runs to the last `:` (Redis has names like `ip:port`). A key is in
//!   key spec 0 unless it says otherwise: `destination:key#1`.
//! - `NX` — a pure token, named after the token in lowercase; `change=CH` names it otherwise,
//!   and `equal="="` quotes a token that is not an uppercase word.
//! - `EX seconds:integer` — an uppercase token directly before an argument is that argument's
//!   token (`name=TOKEN` never takes one, which is how a pure token followed by an argument
//!   is written).
//! - `name:(a | b | c)` — one of the alternatives; `name:{a b c}` — all of them, in order.
//!   Either may follow a token: `LIMIT offset_count:{offset:integer count:integer}`.
//! - `[arg]` — optional; `arg ...` — may repeat; `arg ...+` — may repeat, each time with its
//!   token (Redis's `multiple_token`).
//! - `@6.2.0` after an argument — the version that added it; `!2.8.12` — the version that
//!   deprecated it.
//!
//! An empty line means the command takes no arguments (COMMAND DOCS then has no `arguments`
//! field). A unit test checks that every command in the table has a line and that each parses.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The type of a documented argument, as COMMAND DOCS names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgType {
    /// A key name.
    Key,
    /// Any string.
    String,
    /// An integer.
    Integer,
    /// A floating-point number.
    Double,
    /// A glob-style pattern.
    Pattern,
    /// A Unix timestamp.
    UnixTime,
    /// A token alone, with no value.
    PureToken,
    /// Exactly one of the nested arguments.
    OneOf,
    /// The nested arguments, in order.
    Block,
}

impl ArgType {
    /// The name COMMAND DOCS uses.
    pub fn as_str(self) -> &'static str {
        match self {
            ArgType::Key => "key",
            ArgType::String => "string",
            ArgType::Integer => "integer",
            ArgType::Double => "double",
            ArgType::Pattern => "pattern",
            ArgType::UnixTime => "unix-time",
            ArgType::PureToken => "pure-token",
            ArgType::OneOf => "oneof",
            ArgType::Block => "block",
        }
    }

    fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "key" => ArgType::Key,
            "string" => ArgType::String,
            "integer" => ArgType::Integer,
            "double" => ArgType::Double,
            "pattern" => ArgType::Pattern,
            "unix-time" => ArgType::UnixTime,
            _ => return None,
        })
    }
}

/// One documented argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arg {
    /// Its name.
    pub name: String,
    /// Its type.
    pub kind: ArgType,
    /// For a key: the index of the key spec that finds it.
    pub key_spec_index: Option<u32>,
    /// The token that precedes it (or that it is, for a pure token).
    pub token: Option<&'static str>,
    /// The version that added it.
    pub since: Option<&'static str>,
    /// The version that deprecated it.
    pub deprecated_since: Option<&'static str>,
    /// May be left out.
    pub optional: bool,
    /// May repeat.
    pub multiple: bool,
    /// Repeats with its token each time.
    pub multiple_token: bool,
    /// Nested arguments of a oneof or block.
    pub args: Vec<Arg>,
}

impl Arg {
    /// The `flags` COMMAND DOCS lists, in Redis's order.
    pub fn flags(&self) -> impl Iterator<Item = &'static str> {
        [
            (self.optional, "optional"),
            (self.multiple, "multiple"),
            (self.multiple_token, "multiple_token"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, f)| f)
    }
}

/// The documented arguments of `full_name` (`set`, `config|get`); `None` for a command without
/// a line here, or an empty slice for one without arguments.
pub fn arguments(full_name: &str) -> Option<&'static [Arg]> {
    static PARSED: OnceLock<HashMap<&'static str, Vec<Arg>>> = OnceLock::new();
    PARSED
        .get_or_init(|| {
            DOCS.iter()
                // A line that does not parse is a bug the unit tests catch; at run time the
                // command is then shown without arguments rather than with wrong ones.
                .map(|(name, line)| (*name, parse(line).unwrap_or_default()))
                .collect()
        })
        .get(full_name)
        .map(Vec::as_slice)
}

/// A lexical element of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lex<'a> {
    Open(u8),
    Close(u8),
    Bar,
    Word(&'a str),
    Quoted(&'a str),
    Since(&'a str),
    Deprecated(&'a str),
    Multiple,
    MultipleToken,
}

fn lex(line: &'static str) -> Result<Vec<Lex<'static>>, String> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let is_word = |c: u8| !c.is_ascii_whitespace() && !b"[](){}|\"@!".contains(&c);
    while i < b.len() {
        let c = b[i];
        let start = i;
        i += 1;
        match c {
            b' ' => {}
            b'[' | b'(' | b'{' => out.push(Lex::Open(c)),
            b']' | b')' | b'}' => out.push(Lex::Close(c)),
            b'|' => out.push(Lex::Bar),
            b'"' => {
                let len = line[i..].find('"').ok_or("unterminated quote")?;
                out.push(Lex::Quoted(&line[i..i + len]));
                i += len + 1;
            }
            b'@' | b'!' => {
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                    i += 1;
                }
                let v = &line[start + 1..i];
                if v.is_empty() {
                    return Err(format!("version expected at {start}"));
                }
                out.push(if c == b'@' {
                    Lex::Since(v)
                } else {
                    Lex::Deprecated(v)
                });
            }
            _ => {
                while i < b.len() && (is_word(b[i]) || (b[i] == b'"' && b[i - 1] == b'=')) {
                    if b[i] == b'"' {
                        // `name="TOKEN"`: the quoted part belongs to the word.
                        let len = line[i + 1..].find('"').ok_or("unterminated quote")?;
                        i += len + 1;
                    }
                    i += 1;
                }
                out.push(match &line[start..i] {
                    "..." => Lex::Multiple,
                    "...+" => Lex::MultipleToken,
                    w => Lex::Word(w),
                });
            }
        }
    }
    Ok(out)
}

/// Whether `w` is a token written bare: an uppercase word.
fn is_bare_token(w: &str) -> bool {
    w.starts_with(|c: char| c.is_ascii_uppercase())
        && w.bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'-' || c == b'_')
}

struct Parser {
    lexes: Vec<Lex<'static>>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<Lex<'static>> {
        self.lexes.get(self.pos).copied()
    }

    fn next(&mut self) -> Result<Lex<'static>, String> {
        let l = self.peek().ok_or("unexpected end")?;
        self.pos += 1;
        Ok(l)
    }

    fn expect(&mut self, want: Lex<'static>) -> Result<(), String> {
        let got = self.next()?;
        if got == want {
            Ok(())
        } else {
            Err(format!("expected {want:?}, got {got:?}"))
        }
    }

    /// Arguments up to (not including) `end` (`None`: the end of the line).
    fn seq(&mut self, end: Option<Lex<'static>>) -> Result<Vec<Arg>, String> {
        let mut out = Vec::new();
        while self.peek() != end {
            out.push(self.item()?);
        }
        Ok(out)
    }

    /// One argument with its brackets and modifiers.
    fn item(&mut self) -> Result<Arg, String> {
        let mut arg = if self.peek() == Some(Lex::Open(b'[')) {
            self.pos += 1;
            let mut a = self.item()?;
            self.expect(Lex::Close(b']'))?;
            a.optional = true;
            a
        } else {
            self.core()?
        };
        loop {
            match self.peek() {
                Some(Lex::Multiple) => arg.multiple = true,
                Some(Lex::MultipleToken) => {
                    arg.multiple = true;
                    arg.multiple_token = true;
                }
                Some(Lex::Since(v)) => arg.since = Some(v),
                Some(Lex::Deprecated(v)) => arg.deprecated_since = Some(v),
                _ => return Ok(arg),
            }
            self.pos += 1;
        }
    }

    /// An argument without brackets or modifiers.
    fn core(&mut self) -> Result<Arg, String> {
        let token = match self.next()? {
            Lex::Quoted(t) => t,
            Lex::Word(w) if is_bare_token(w) => w,
            Lex::Word(w) => return self.named(w),
            l => return Err(format!("argument expected, got {l:?}")),
        };
        match self.peek() {
            Some(Lex::Word(w)) if !is_bare_token(w) && !w.contains('=') => {
                self.pos += 1;
                let mut a = self.named(w)?;
                a.token = Some(token);
                Ok(a)
            }
            _ => Ok(pure_token(token.to_ascii_lowercase(), token)),
        }
    }

    /// `name:type`, `name:(...)`, `name:{...}` or `name=TOKEN`.
    fn named(&mut self, w: &'static str) -> Result<Arg, String> {
        if let Some((name, token)) = w.split_once('=') {
            let token = token
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .unwrap_or(token);
            return Ok(pure_token(name.to_string(), token));
        }
        let (name, ty) = w
            .rsplit_once(':')
            .ok_or_else(|| format!("`{w}`: name:type expected"))?;
        let mut a = pure_token(name.to_string(), "");
        a.token = None;
        if ty.is_empty() {
            match self.next()? {
                Lex::Open(b'(') => {
                    a.kind = ArgType::OneOf;
                    loop {
                        a.args.push(self.item()?);
                        match self.next()? {
                            Lex::Bar => {}
                            Lex::Close(b')') => break,
                            l => return Err(format!("`|` or `)` expected in {name}, got {l:?}")),
                        }
                    }
                }
                Lex::Open(b'{') => {
                    a.kind = ArgType::Block;
                    a.args = self.seq(Some(Lex::Close(b'}')))?;
                    self.pos += 1;
                }
                l => return Err(format!("`(` or `{{` expected after {name}:, got {l:?}")),
            }
            return Ok(a);
        }
        let (ty, index) = match ty.split_once('#') {
            Some((ty, i)) => (
                ty,
                Some(i.parse().map_err(|_| format!("bad index in {w}"))?),
            ),
            None => (ty, None),
        };
        a.kind = ArgType::from_name(ty).ok_or_else(|| format!("`{w}`: unknown type"))?;
        if a.kind == ArgType::Key {
            a.key_spec_index = Some(index.unwrap_or(0));
        } else if index.is_some() {
            return Err(format!("`{w}`: only keys have a key spec index"));
        }
        Ok(a)
    }
}

fn pure_token(name: String, token: &'static str) -> Arg {
    Arg {
        name,
        kind: ArgType::PureToken,
        key_spec_index: None,
        token: Some(token),
        since: None,
        deprecated_since: None,
        optional: false,
        multiple: false,
        multiple_token: false,
        args: Vec::new(),
    }
}

/// Parses one line of the notation.
pub fn parse(line: &'static str) -> Result<Vec<Arg>, String> {
    let mut p = Parser {
        lexes: lex(line)?,
        pos: 0,
    };
    let args = p.seq(None)?;
    Ok(args)
}

/// Every command's arguments by full name, in the notation above (left alone by rustfmt so
/// that each stays one syntax line).
#[rustfmt::skip]
static DOCS: &[(&str, &str)] = &[
    ("append", "key:key value:string"),
    ("auth", "[username:string]@6.0.0 password:string"),
    ("blmove", "source:key destination:key#1 wherefrom:(LEFT | RIGHT) whereto:(LEFT | RIGHT) \
        timeout:double"),
    ("blmpop", "timeout:double numkeys:integer key:key ... where:(LEFT | RIGHT) \
        [COUNT count:integer]"),
    ("blpop", "key:key ... timeout:double"),
    ("brpop", "key:key ... timeout:double"),
    ("brpoplpush", "source:key destination:key#1 timeout:double"),
    ("bzmpop", "timeout:double numkeys:integer key:key ... where:(MIN | MAX) \
        [COUNT count:integer]"),
    ("bzpopmax", "key:key ... timeout:double"),
    ("bzpopmin", "key:key ... timeout:double"),
    ("client", ""),
    ("client|getname", ""),
    ("client|help", ""),
    ("client|id", ""),
    ("client|info", ""),
    ("client|kill", "filter:(ip:port:string!2.8.12 | new-format:([ID client-id:integer]@2.8.12 | \
        [TYPE normal_master_slave_pubsub:(NORMAL | MASTER@3.2.0 | SLAVE | REPLICA@5.0.0 | \
        PUBSUB)]@2.8.12 | [USER username:string] | [ADDR ip:port:string] | \
        [LADDR ip:port:string]@6.2.0 | [SKIPME yes/no:string]) ...)"),
    ("client|list", "[TYPE normal_master_replica_pubsub:(NORMAL | MASTER | REPLICA | \
        PUBSUB)]@5.0.0 [ID id:{client-id:integer ...}]@6.2.0"),
    ("client|no-evict", "enabled:(ON | OFF)"),
    ("client|no-touch", "enabled:(ON | OFF)"),
    ("client|pause", "timeout:integer [mode:(WRITE | ALL)]@6.2.0"),
    ("client|reply", "on_off_skip:(ON | OFF | SKIP)"),
    ("client|setinfo", "attr:(LIB-NAME libname:string | LIB-VER libver:string)"),
    ("client|setname", "connection-name:string"),
    ("client|unblock", "client-id:integer [timeout_error:(TIMEOUT | ERROR)]"),
    ("client|unpause", ""),
    ("command", ""),
    ("command|count", ""),
    ("command|docs", "[command-name:string ...]"),
    ("command|getkeys", ""),
    ("command|getkeysandflags", ""),
    ("command|help", ""),
    ("command|info", "[command-name:string ...]"),
    ("command|list", "[FILTERBY filterby:(MODULE module-name:string | ACLCAT category:string | \
        PATTERN pattern:pattern)]"),
    ("config", ""),
    ("config|get", "parameter:{parameter:string} ..."),
    ("config|help", ""),
    ("config|resetstat", ""),
    ("config|rewrite", ""),
    ("config|set", "parameter_value:{parameter:string value:string} ..."),
    ("copy", "source:key destination:key#1 [DB destination-db:integer] [REPLACE]"),
    ("dbsize", ""),
    ("debug", ""),
    ("decr", "key:key"),
    ("decrby", "key:key decrement:integer"),
    ("del", "key:key ..."),
    ("discard", ""),
    ("echo", "message:string"),
    ("eval", "script:string numkeys:integer [key:key ...] [arg:string ...]"),
    ("eval_ro", "script:string numkeys:integer [key:key ...] [arg:string ...]"),
    ("evalsha", "sha1:string numkeys:integer [key:key ...] [arg:string ...]"),
    ("evalsha_ro", "sha1:string numkeys:integer [key:key ...] [arg:string ...]"),
    ("exec", ""),
    ("exists", "key:key ..."),
    ("expire", "key:key seconds:integer [condition:(NX | XX | GT | LT)]@7.0.0"),
    ("expireat", "key:key unix-time-seconds:unix-time [condition:(NX | XX | GT | LT)]@7.0.0"),
    ("expiretime", "key:key"),
    ("fcall", "function:string numkeys:integer [key:key ...] [arg:string ...]"),
    ("fcall_ro", "function:string numkeys:integer [key:key ...] [arg:string ...]"),
    ("flushall", "[async:(ASYNC@4.0.0 | SYNC@6.2.0)]"),
    ("flushdb", "[async:(ASYNC@4.0.0 | SYNC@6.2.0)]"),
    ("function", ""),
    ("function|delete", "library-name:string"),
    ("function|dump", ""),
    ("function|flush", "[async:(ASYNC | SYNC)]"),
    ("function|help", ""),
    ("function|kill", ""),
    ("function|list", "[LIBRARYNAME library-name-pattern:string] [WITHCODE]"),
    ("function|load", "[REPLACE] function-code:string"),
    ("function|restore", "serialized-value:string [policy:(FLUSH | APPEND | REPLACE)]"),
    ("function|stats", ""),
    ("get", "key:key"),
    ("getdel", "key:key"),
    ("getex", "key:key [expiration:(EX seconds:integer | PX milliseconds:integer | \
        EXAT unix-time-seconds:unix-time | PXAT unix-time-milliseconds:unix-time | PERSIST)]"),
    ("getrange", "key:key start:integer end:integer"),
    ("getset", "key:key value:string"),
    ("hdel", "key:key field:string ..."),
    ("hello", "[arguments:{protover:integer [AUTH username_password:{username:string \
        password:string}] [SETNAME clientname:string]}]"),
    ("hexists", "key:key field:string"),
    ("hget", "key:key field:string"),
    ("hgetall", "key:key"),
    ("hincrby", "key:key field:string increment:integer"),
    ("hincrbyfloat", "key:key field:string increment:double"),
    ("hkeys", "key:key"),
    ("hlen", "key:key"),
    ("hmget", "key:key field:string ..."),
    ("hmset", "key:key field_value:{field:string value:string} ..."),
    ("hrandfield", "key:key [options:{count:integer [WITHVALUES]}]"),
    ("hscan", "key:key cursor:integer [MATCH pattern:pattern] [COUNT count:integer]"),
    ("hset", "key:key field_value:{field:string value:string} ..."),
    ("hsetnx", "key:key field:string value:string"),
    ("hstrlen", "key:key field:string"),
    ("hvals", "key:key"),
    ("incr", "key:key"),
    ("incrby", "key:key increment:integer"),
    ("incrbyfloat", "key:key increment:double"),
    ("info", "[section:string ...]"),
    ("keys", "pattern:pattern"),
    ("latency", ""),
    ("latency|help", ""),
    ("latency|histogram", "[command:string ...]"),
    ("latency|history", "event:string"),
    ("latency|latest", ""),
    ("latency|reset", "[event:string ...]"),
    ("lcs", "key1:key key2:key [LEN] [IDX] [MINMATCHLEN len:integer] [WITHMATCHLEN]"),
    ("lindex", "key:key index:integer"),
    ("linsert", "key:key where:(BEFORE | AFTER) pivot:string element:string"),
    ("llen", "key:key"),
    ("lmove", "source:key destination:key#1 wherefrom:(LEFT | RIGHT) whereto:(LEFT | RIGHT)"),
    ("lmpop", "numkeys:integer key:key ... where:(LEFT | RIGHT) [COUNT count:integer]"),
    ("lpop", "key:key [count:integer]@6.2.0"),
    ("lpos", "key:key element:string [RANK rank:integer] [COUNT num-matches:integer] \
        [MAXLEN len:integer]"),
    ("lpush", "key:key element:string ..."),
    ("lpushx", "key:key element:string ..."),
    ("lrange", "key:key start:integer stop:integer"),
    ("lrem", "key:key count:integer element:string"),
    ("lset", "key:key index:integer element:string"),
    ("ltrim", "key:key start:integer stop:integer"),
    ("memory", ""),
    ("memory|doctor", ""),
    ("memory|help", ""),
    ("memory|malloc-stats", ""),
    ("memory|purge", ""),
    ("memory|stats", ""),
    ("memory|usage", "key:key [SAMPLES count:integer]"),
    ("mget", "key:key ..."),
    ("monitor", ""),
    ("move", "key:key db:integer"),
    ("mset", "key_value:{key:key value:string} ..."),
    ("msetnx", "key_value:{key:key value:string} ..."),
    ("multi", ""),
    ("object", ""),
    ("object|encoding", "key:key"),
    ("object|freq", "key:key"),
    ("object|help", ""),
    ("object|idletime", "key:key"),
    ("object|refcount", "key:key"),
    ("persist", "key:key"),
    ("pexpire", "key:key milliseconds:integer [condition:(NX | XX | GT | LT)]@7.0.0"),
    ("pexpireat", "key:key unix-time-milliseconds:unix-time [condition:(NX | XX | GT | LT)]@7.0.0"),
    ("pexpiretime", "key:key"),
    ("ping", "[message:string]"),
    ("psetex", "key:key milliseconds:integer value:string"),
    ("psubscribe", "pattern:{pattern:pattern} ..."),
    ("pttl", "key:key"),
    ("publish", "channel:string message:string"),
    ("pubsub", ""),
    ("pubsub|channels", "[pattern:pattern]"),
    ("pubsub|help", ""),
    ("pubsub|numpat", ""),
    ("pubsub|numsub", "[channel:string ...]"),
    ("pubsub|shardchannels", "[pattern:pattern]"),
    ("pubsub|shardnumsub", "[shardchannel:string ...]"),
    ("punsubscribe", "[pattern:pattern ...]"),
    ("quit", ""),
    ("randomkey", ""),
    ("rename", "key:key newkey:key#1"),
    ("renamenx", "key:key newkey:key#1"),
    ("reset", ""),
    ("rpop", "key:key [count:integer]@6.2.0"),
    ("rpoplpush", "source:key destination:key#1"),
    ("rpush", "key:key element:string ..."),
    ("rpushx", "key:key element:string ..."),
    ("sadd", "key:key member:string ..."),
    ("scan", "cursor:integer [MATCH pattern:pattern] [COUNT count:integer] \
        [TYPE type:string]@6.0.0"),
    ("scard", "key:key"),
    ("script", ""),
    ("script|debug", "mode:(YES | SYNC | NO)"),
    ("script|exists", "sha1:string ..."),
    ("script|flush", "[async:(ASYNC | SYNC)]@6.2.0"),
    ("script|help", ""),
    ("script|kill", ""),
    ("script|load", "script:string"),
    ("sdiff", "key:key ..."),
    ("sdiffstore", "destination:key key:key#1 ..."),
    ("select", "index:integer"),
    ("set", "key:key value:string [condition:(NX | XX)]@2.6.12 [GET]@6.2.0 \
        [expiration:(EX seconds:integer@2.6.12 | PX milliseconds:integer@2.6.12 | \
        EXAT unix-time-seconds:unix-time@6.2.0 | PXAT unix-time-milliseconds:unix-time@6.2.0 | \
        KEEPTTL@6.0.0)]"),
    ("setex", "key:key seconds:integer value:string"),
    ("setnx", "key:key value:string"),
    ("setrange", "key:key offset:integer value:string"),
    ("shutdown", "[nosave_save:(NOSAVE | SAVE)] [NOW]@7.0.0 [FORCE]@7.0.0 [ABORT]@7.0.0"),
    ("sinter", "key:key ..."),
    ("sintercard", "numkeys:integer key:key ... [LIMIT limit:integer]"),
    ("sinterstore", "destination:key key:key#1 ..."),
    ("sismember", "key:key member:string"),
    ("slowlog", ""),
    ("slowlog|get", "[count:integer]"),
    ("slowlog|help", ""),
    ("slowlog|len", ""),
    ("slowlog|reset", ""),
    ("smembers", "key:key"),
    ("smismember", "key:key member:string ..."),
    ("smove", "source:key destination:key#1 member:string"),
    ("spop", "key:key [count:integer]@3.2.0"),
    ("spublish", "shardchannel:string message:string"),
    ("srandmember", "key:key [count:integer]@2.6.0"),
    ("srem", "key:key member:string ..."),
    ("sscan", "key:key cursor:integer [MATCH pattern:pattern] [COUNT count:integer]"),
    ("ssubscribe", "shardchannel:string ..."),
    ("strlen", "key:key"),
    ("subscribe", "channel:string ..."),
    ("substr", "key:key start:integer end:integer"),
    ("sunion", "key:key ..."),
    ("sunionstore", "destination:key key:key#1 ..."),
    ("sunsubscribe", "[shardchannel:string ...]"),
    ("swapdb", "index1:integer index2:integer"),
    ("time", ""),
    ("touch", "key:key ..."),
    ("ttl", "key:key"),
    ("type", "key:key"),
    ("unlink", "key:key ..."),
    ("unsubscribe", "[channel:string ...]"),
    ("unwatch", ""),
    ("watch", "key:key ..."),
    ("zadd", "key:key [condition:(NX | XX)]@3.0.2 [comparison:(GT | LT)]@6.2.0 [change=CH]@3.0.2 \
        [increment=INCR]@3.0.2 score_member:{score:double member:string} ..."),
    ("zcard", "key:key"),
    ("zcount", "key:key min:double max:double"),
    ("zdiff", "numkeys:integer key:key ... [WITHSCORES]"),
    ("zdiffstore", "destination:key numkeys:integer key:key#1 ..."),
    ("zincrby", "key:key increment:integer member:string"),
    ("zinter", "numkeys:integer key:key ... [WEIGHTS weight:integer ...] \
        [AGGREGATE aggregate:(SUM | MIN | MAX)] [WITHSCORES]"),
    ("zintercard", "numkeys:integer key:key ... [LIMIT limit:integer]"),
    ("zinterstore", "destination:key numkeys:integer key:key#1 ... [WEIGHTS weight:integer ...] \
        [AGGREGATE aggregate:(SUM | MIN | MAX)]"),
    ("zlexcount", "key:key min:string max:string"),
    ("zmpop", "numkeys:integer key:key ... where:(MIN | MAX) [COUNT count:integer]"),
    ("zmscore", "key:key member:string ..."),
    ("zpopmax", "key:key [count:integer]"),
    ("zpopmin", "key:key [count:integer]"),
    ("zrandmember", "key:key [options:{count:integer [WITHSCORES]}]"),
    ("zrange", "key:key start:string stop:string [sortby:(BYSCORE | BYLEX)]@6.2.0 [REV]@6.2.0 \
        [LIMIT offset_count:{offset:integer count:integer}]@6.2.0 [WITHSCORES]"),
    ("zrangebylex", "key:key min:string max:string [LIMIT offset_count:{offset:integer \
        count:integer}]"),
    ("zrangebyscore", "key:key min:double max:double [WITHSCORES]@2.0.0 \
        [LIMIT offset_count:{offset:integer count:integer}]"),
    ("zrangestore", "dst:key src:key#1 min:string max:string [sortby:(BYSCORE | BYLEX)] [REV] \
        [LIMIT offset_count:{offset:integer count:integer}]"),
    ("zrank", "key:key member:string"),
    ("zrem", "key:key member:string ..."),
    ("zremrangebylex", "key:key min:string max:string"),
    ("zremrangebyrank", "key:key start:integer stop:integer"),
    ("zremrangebyscore", "key:key min:double max:double"),
    ("zrevrange", "key:key start:integer stop:integer [WITHSCORES]"),
    ("zrevrangebylex", "key:key max:string min:string [LIMIT offset_count:{offset:integer \
        count:integer}]"),
    ("zrevrangebyscore", "key:key max:double min:double [WITHSCORES] \
        [LIMIT offset_count:{offset:integer count:integer}]"),
    ("zrevrank", "key:key member:string"),
    ("zscan", "key:key cursor:integer [MATCH pattern:pattern] [COUNT count:integer]"),
    ("zscore", "key:key member:string"),
    ("zunion", "numkeys:integer key:key ... [WEIGHTS weight:integer ...] \
        [AGGREGATE aggregate:(SUM | MIN | MAX)] [WITHSCORES]"),
    ("zunionstore", "destination:key numkeys:integer key:key#1 ... [WEIGHTS weight:integer ...] \
        [AGGREGATE aggregate:(SUM | MIN | MAX)]"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_arguments_that_parse() {
        let t = crate::cmd::Table::new().unwrap();
        let mut names = Vec::new();
        for c in t.iter() {
            names.push(c.full_name.clone());
            names.extend(c.subs.values().map(|s| s.full_name.clone()));
        }
        for n in &names {
            assert!(DOCS.iter().any(|(d, _)| d == n), "{n}: no arguments line");
        }
        for (name, line) in DOCS {
            assert!(names.iter().any(|n| n == name), "{name}: not a command");
            parse(line).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let mut sorted: Vec<&str> = DOCS.iter().map(|(n, _)| *n).collect();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), DOCS.len(), "a command listed twice");
        assert_eq!(arguments("set").map(<[Arg]>::len), Some(5));
        assert_eq!(arguments("config|get").map(<[Arg]>::len), Some(1));
        assert_eq!(arguments("ping").map(|a| a[0].optional), Some(true));
        assert!(arguments("nosuch").is_none());
    }

    #[test]
    fn parses_the_notation() {
        let a = parse(
            "key:key [condition:(NX | XX)]@2.6.12 [change=CH] [GET pattern:pattern ...+] \
            dst:key#1 [LIMIT offset_count:{offset:integer count:integer}] \
            op:(equal=\"=\" | approximately=\"~\") ip:port:string!2.8.12 [empty=\"\"]",
        )
        .unwrap();
        assert_eq!(a.len(), 9);
        assert_eq!(
            (a[0].name.as_str(), a[0].kind, a[0].key_spec_index),
            ("key", ArgType::Key, Some(0))
        );
        assert_eq!(a[1].kind, ArgType::OneOf);
        assert_eq!(a[1].since, Some("2.6.12"));
        assert!(a[1].optional);
        assert_eq!(a[1].args[1].token, Some("XX"));
        assert_eq!(a[1].args[1].name, "xx");
        assert_eq!((a[2].name.as_str(), a[2].token), ("change", Some("CH")));
        assert_eq!(
            a[3].flags().collect::<Vec<_>>(),
            ["optional", "multiple", "multiple_token"]
        );
        assert_eq!((a[3].kind, a[3].token), (ArgType::Pattern, Some("GET")));
        assert_eq!(a[4].key_spec_index, Some(1));
        assert_eq!(
            (a[5].kind, a[5].token, a[5].args.len()),
            (ArgType::Block, Some("LIMIT"), 2)
        );
        assert_eq!(a[6].args[0].token, Some("="));
        assert_eq!(a[6].args[1].name, "approximately");
        assert_eq!(
            (a[7].name.as_str(), a[7].deprecated_since),
            ("ip:port", Some("2.8.12"))
        );
        assert!(parse("").unwrap().is_empty());
        for bad in [
            "key",
            "key:nope",
            "x:(A | B",
            "[A",
            "v:string#1",
            "x:{A",
            "@",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
