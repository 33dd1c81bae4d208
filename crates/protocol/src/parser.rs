//! The incremental request parser: multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) and inline
//! (`GET k\r\n`) requests, exactly as Redis's `processMultibulkBuffer` / `processInlineBuffer`.
//!
//! State survives between calls, so a request that arrives one byte at a time is parsed in linear
//! time: finished arguments are split off the front of the buffer as they complete, and a large
//! bulk is waited for without rescanning. Error texts match Redis byte for byte; after any
//! [`ProtocolError`] the connection must reply with it and close, as Redis does.

/// Limits on what a client may send, with Redis's names and defaults.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `proto-max-bulk-len`: the largest single argument (default 512 MiB).
    pub max_bulk_len: i64,
    /// The largest number of arguments in one multibulk request (Redis: `INT_MAX`; default here 1M*1024).
    pub max_multibulk_len: i64,
    /// The longest inline request line (Redis: `PROTO_INLINE_MAX_SIZE`, 64 KiB).
    pub max_inline_len: usize,
    /// Whether the client has authenticated; before that Redis caps multibulk at 10 and bulk at 16 KiB.
    pub authenticated: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_multibulk_len: i32::MAX as i64,
            max_inline_len: 64 * 1024,
            authenticated: true,
        }
    }
}

/// A malformed request. `Display` gives the reply text Redis sends before closing the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// `*` count not a number or too large.
    #[error("ERR Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// `$` length not a number or too large.
    #[error("ERR Protocol error: invalid bulk length")]
    InvalidBulkLength,
    /// Something other than `$` where a bulk string header belongs.
    #[error("ERR Protocol error: expected '$', got '{0}'")]
    ExpectedDollar(char),
    /// An inline request longer than the limit without a newline.
    #[error("ERR Protocol error: too big inline request")]
    TooBigInline,
    /// A multibulk header line longer than the limit without a newline.
    #[error("ERR Protocol error: too big mbulk count string")]
    TooBigMbulkCount,
    /// A bulk header line longer than the limit without a newline.
    #[error("ERR Protocol error: too big bulk count string")]
    TooBigBulkCount,
    /// Unbalanced quotes in an inline request.
    #[error("ERR Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    /// Unauthenticated client sent a large multibulk count.
    #[error("ERR Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulk,
    /// Unauthenticated client sent a large bulk.
    #[error("ERR Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulk,
}

/// Where the parser is inside the current request.
#[derive(Debug, Default, Clone, Copy)]
enum State {
    /// Between requests.
    #[default]
    Start,
    /// Inside a multibulk: `remaining` arguments still to read, the next one starting at `pos`
    /// (relative to the request's first byte); `bulk` is the length of an argument whose header
    /// has been read but whose body has not fully arrived.
    Multibulk {
        remaining: usize,
        pos: usize,
        bulk: Option<usize>,
    },
}

/// Incremental RESP request parser. One per connection.
///
/// It never copies or consumes: [`Parser::parse`] looks at the bytes of the next request, and on
/// success returns its length and records its arguments as ranges, read with [`Parser::args`].
/// The caller advances its buffer past whole requests only, so after "need more bytes" the next
/// call sees the same request start and resumes where it left off.
#[derive(Debug, Default)]
pub struct Parser {
    state: State,
    ranges: Vec<(usize, usize)>,
    limits: Limits,
    /// Inline requests own their (unescaped) arguments.
    inline: Vec<Vec<u8>>,
    is_inline: bool,
}

/// Lines of a multibulk header may not exceed this without a newline (Redis: 64 KiB).
const MAX_HEADER_LINE: usize = 64 * 1024;

/// Argument ranges are preallocated up to this many from the header; the rest grow as they arrive.
const MAX_PREALLOC_ARGS: usize = 1024;

impl Parser {
    /// A parser with the given limits.
    pub fn new(limits: Limits) -> Self {
        Parser {
            limits,
            ..Parser::default()
        }
    }

    /// Changes the limits (for example after AUTH succeeds, or CONFIG SET).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// How many more bytes the pending request needs at least, if a large bulk is pending; lets
    /// the reader size its next read for large values.
    pub fn pending_bulk(&self) -> Option<usize> {
        match self.state {
            State::Multibulk {
                bulk: Some(n), pos, ..
            } => Some(pos + n + 2),
            _ => None,
        }
    }

    /// The arguments of the request last returned by [`Parser::parse`], given the bytes of that
    /// request (`&buf[..len]`).
    #[inline]
    pub fn args<'b>(&'b self, request: &'b [u8]) -> impl Iterator<Item = &'b [u8]> + 'b {
        let inline = self.is_inline.then(|| self.inline.iter().map(|v| &v[..]));
        let ranges = (!self.is_inline).then(|| {
            self.ranges
                .iter()
                .map(move |&(a, b)| request.get(a..b).unwrap_or(&[]))
        });
        inline
            .into_iter()
            .flatten()
            .chain(ranges.into_iter().flatten())
    }

    /// Number of arguments of the request last returned.
    pub fn argc(&self) -> usize {
        if self.is_inline {
            self.inline.len()
        } else {
            self.ranges.len()
        }
    }

    /// Looks at the request at the front of `buf`.
    ///
    /// Returns `Ok(None)` when more bytes are needed, `Ok(Some(len))` when the first `len` bytes
    /// are a whole request (its arguments then come from [`Parser::args`]; zero arguments for a
    /// blank line or `*0`, which callers skip), or the protocol error to report before closing.
    pub fn parse(&mut self, buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
        loop {
            match self.state {
                State::Start => {
                    let Some(&first) = buf.first() else {
                        return Ok(None);
                    };
                    if first != b'*' {
                        return self.parse_inline(buf);
                    }
                    self.is_inline = false;
                    let Some(line_end) = find_crlf(buf, 1) else {
                        if buf.len() > MAX_HEADER_LINE {
                            return Err(ProtocolError::TooBigMbulkCount);
                        }
                        return Ok(None);
                    };
                    let count = match parse_len(&buf[1..line_end]) {
                        Some(n) if n <= self.limits.max_multibulk_len => n,
                        _ => return Err(ProtocolError::InvalidMultibulkLength),
                    };
                    if !self.limits.authenticated && count > 10 {
                        return Err(ProtocolError::UnauthenticatedMultibulk);
                    }
                    self.ranges.clear();
                    if count <= 0 {
                        // `*0` and `*-1` are empty requests: skipped, as Redis does.
                        return Ok(Some(line_end + 2));
                    }
                    let count = count as usize;
                    self.ranges.reserve(count.min(MAX_PREALLOC_ARGS));
                    self.state = State::Multibulk {
                        remaining: count,
                        pos: line_end + 2,
                        bulk: None,
                    };
                }
                State::Multibulk {
                    remaining,
                    pos,
                    bulk,
                } => {
                    if remaining == 0 {
                        self.state = State::Start;
                        return Ok(Some(pos));
                    }
                    let (len, body) = match bulk {
                        Some(len) => (len, pos),
                        None => {
                            let rest = buf.get(pos..).unwrap_or(&[]);
                            let Some(&first) = rest.first() else {
                                return Ok(None);
                            };
                            if first != b'$' {
                                return Err(ProtocolError::ExpectedDollar(first as char));
                            }
                            let Some(line_end) = find_crlf(rest, 1) else {
                                if rest.len() > MAX_HEADER_LINE {
                                    return Err(ProtocolError::TooBigBulkCount);
                                }
                                return Ok(None);
                            };
                            let len = match parse_len(&rest[1..line_end]) {
                                Some(n) if n >= 0 && n <= self.limits.max_bulk_len => n as usize,
                                _ => return Err(ProtocolError::InvalidBulkLength),
                            };
                            if !self.limits.authenticated && len > 16384 {
                                return Err(ProtocolError::UnauthenticatedBulk);
                            }
                            let body = pos + line_end + 2;
                            self.state = State::Multibulk {
                                remaining,
                                pos: body,
                                bulk: Some(len),
                            };
                            (len, body)
                        }
                    };
                    if buf.len() < body + len + 2 {
                        return Ok(None);
                    }
                    self.ranges.push((body, body + len));
                    // Redis does not check the trailing CRLF of a bulk; it skips two bytes.
                    self.state = State::Multibulk {
                        remaining: remaining - 1,
                        pos: body + len + 2,
                        bulk: None,
                    };
                }
            }
        }
    }

    fn parse_inline(&mut self, buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
        let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
            if buf.len() > self.limits.max_inline_len {
                return Err(ProtocolError::TooBigInline);
            }
            return Ok(None);
        };
        let mut end = nl;
        if end > 0 && buf[end - 1] == b'\r' {
            end -= 1;
        }
        self.inline = split_args(&buf[..end]).ok_or(ProtocolError::UnbalancedQuotes)?;
        self.is_inline = true;
        Ok(Some(nl + 1))
    }
}

/// Position of the `\r` of the first CRLF at or after `from`.
fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < buf.len() {
        let p = buf[i..].iter().position(|&b| b == b'\r')? + i;
        if p + 1 < buf.len() {
            if buf[p + 1] == b'\n' {
                return Some(p);
            }
            i = p + 1;
        } else {
            return None;
        }
    }
    None
}

/// Parses a header length as Redis's `string2ll`: optional `-`, digits, no `+`, no spaces.
fn parse_len(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first()? {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((d - b'0') as i64)?;
    }
    Some(if neg { -v } else { v })
}

/// Splits an inline request line the way Redis's `sdssplitargs` does: whitespace separates
/// arguments, double quotes allow `\n`, `\xHH` and other escapes, single quotes allow `\'`.
/// A closing quote must be followed by whitespace or the end. `None` means unbalanced quotes.
pub(crate) fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && is_space(line[i]) {
            i += 1;
        }
        if i >= n {
            return Some(args);
        }
        let mut cur = Vec::new();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            if in_dq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && line[i + 2].is_ascii_hexdigit()
                    && line[i + 3].is_ascii_hexdigit()
                {
                    cur.push(hex(line[i + 2]) * 16 + hex(line[i + 3]));
                    i += 3;
                } else if c == b'\\' && i + 1 < n {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else if in_sq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        i += 1;
                        break;
                    }
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    c => cur.push(c),
                }
            }
            i += 1;
        }
        args.push(cur);
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c)
}

fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut p = Parser::default();
        let mut pos = 0;
        let mut out = Vec::new();
        while let Some(len) = p.parse(&input[pos..])? {
            let req = &input[pos..pos + len];
            out.push(p.args(req).map(|a| a.to_vec()).collect());
            pos += len;
        }
        Ok(out)
    }

    fn v(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn multibulk_and_inline() {
        let r = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\nset a \"b c\"\n").unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[0], v(&["GET", "k"]));
        assert_eq!(r[1], v(&["PING"]));
        assert_eq!(r[2], v(&["set", "a", "b c"]));
    }

    #[test]
    fn byte_at_a_time() {
        let input = b"*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$0\r\n\r\n";
        let mut p = Parser::default();
        let mut got = None;
        for n in 1..=input.len() {
            if let Some(len) = p.parse(&input[..n]).unwrap() {
                assert_eq!(len, input.len());
                got = Some(
                    p.args(&input[..len])
                        .map(|a| a.to_vec())
                        .collect::<Vec<_>>(),
                );
            }
        }
        assert_eq!(got.unwrap(), v(&["SET", "hello", ""]));
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse_all(b"*x\r\n"),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        assert_eq!(
            parse_all(b"*1\r\n+a\r\n"),
            Err(ProtocolError::ExpectedDollar('+'))
        );
        assert_eq!(
            parse_all(b"*1\r\n$-5\r\n"),
            Err(ProtocolError::InvalidBulkLength)
        );
        assert_eq!(
            parse_all(b"*1\r\n$999999999999\r\n"),
            Err(ProtocolError::InvalidBulkLength)
        );
        assert_eq!(
            parse_all(b"set \"a\n"),
            Err(ProtocolError::UnbalancedQuotes)
        );
        assert_eq!(
            parse_all(b"set \"a\"b\n"),
            Err(ProtocolError::UnbalancedQuotes)
        );
        assert_eq!(
            ProtocolError::ExpectedDollar('+').to_string(),
            "ERR Protocol error: expected '$', got '+'"
        );
    }

    #[test]
    fn inline_escapes() {
        let r = parse_all(b"set k \"\\x41\\n\" 'it\\'s'\r\n").unwrap();
        assert_eq!(r[0][2], b"A\n".to_vec());
        assert_eq!(r[0][3], b"it's".to_vec());
    }

    #[test]
    fn empty_requests() {
        let r = parse_all(b"\r\n*0\r\n").unwrap();
        assert_eq!(r, vec![Vec::<Vec<u8>>::new(), Vec::new()]);
    }

    #[test]
    fn huge_declared_lengths_allocate_nothing() {
        let mut p = Parser::default();
        assert_eq!(p.parse(b"*2147483647\r\n$536870912\r\nab").unwrap(), None);
        assert!(p.ranges.capacity() <= MAX_PREALLOC_ARGS);
    }

    #[test]
    fn never_panics_on_garbage() {
        let mut seed = 0x2545F4914F6CDD1Du64;
        for _ in 0..20000 {
            let mut v = Vec::new();
            let len = (seed % 40) as usize;
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                v.push(b"*$\r\n0123-x\"' \\"[(seed % 14) as usize]);
            }
            let _ = parse_all(&v);
        }
    }
}

/// A quick look at the multibulk request at the front of `buf`, without the parser: its length
/// and, if it has two arguments or more, its first two (a command name and, for most commands,
/// its first key). For lookahead only
/// (warming the cache for a pipelined command before its turn): anything unusual (an inline
/// request, a request not wholly in `buf`, a malformed header) gives `None`, and the request is
/// then parsed and judged properly when its turn comes.
pub fn peek_request(buf: &[u8]) -> Option<Peek<'_>> {
    if buf.first() != Some(&b'*') {
        return None;
    }
    let (argc, mut pos) = peek_number(buf, 1)?;
    let mut first: &[u8] = &[];
    let mut second = None;
    for i in 0..argc {
        if buf.get(pos) != Some(&b'$') {
            return None;
        }
        let (len, start) = peek_number(buf, pos + 1)?;
        let end = start.checked_add(len)?;
        if buf.get(end..end + 2)? != b"\r\n" {
            return None;
        }
        if i == 0 {
            first = buf.get(start..end)?;
        } else if i == 1 {
            second = Some((first, buf.get(start..end)?));
        }
        pos = end + 2;
    }
    Some(Peek {
        len: pos,
        name_and_key: second,
    })
}

/// What [`peek_request`] saw of a whole request.
#[derive(Debug, PartialEq, Eq)]
pub struct Peek<'a> {
    /// The request's length in bytes.
    pub len: usize,
    /// Its first two arguments (a command name and, for most commands, a key), if it has two.
    pub name_and_key: Option<(&'a [u8], &'a [u8])>,
}

/// A length followed by CRLF at `buf[at..]`, read as the parser reads header lengths
/// ([`parse_len`]): the length (negative ones refused: lookahead never needs `*-1` or `$-1`)
/// and where the next line starts. Looks no further than a length's longest line.
fn peek_number(buf: &[u8], at: usize) -> Option<(usize, usize)> {
    let line = buf.get(..buf.len().min(at.saturating_add(22)))?;
    let cr = find_crlf(line, at)?;
    let n = parse_len(buf.get(at..cr)?)?;
    Some((usize::try_from(n).ok()?, cr + 2))
}

#[cfg(test)]
mod peek_tests {
    use super::peek_request;

    #[test]
    fn peeks_whole_requests_only() {
        let peek = |b: &'static [u8]| peek_request(b).map(|p| (p.name_and_key, p.len));
        let req = b"*3\r\n$3\r\nSET\r\n$5\r\nkey:1\r\n$1\r\nv\r\n*1\r\n$4\r\nPING\r\n";
        assert_eq!(peek(req), Some((Some((&b"SET"[..], &b"key:1"[..])), 31)));
        assert_eq!(peek(&req[31..]), Some((None, 14)));
        for cut in 0..31 {
            assert_eq!(peek(&req[..cut]), None, "cut at {cut}");
        }
        assert_eq!(peek(b"GET k\r\n"), None);
        assert_eq!(peek(b"*2\r\n$3\r\nGET\r\n$99999999999999999999\r\n"), None);
        assert_eq!(peek(b"*2\r\n$3\r\nGET\r\n$1\r\nkX\n"), None);
        assert_eq!(peek(b"*-1\r\n"), None);
        assert_eq!(peek(b"*0\r\n"), Some((None, 4)));
    }
}
