//! Glob-style pattern matching with the exact semantics of Redis 7.0's `stringmatchlen`
//! (used by `KEYS`, `SCAN ... MATCH`, `PSUBSCRIBE`, `CONFIG GET` and friends).
//!
//! Supported syntax: `*` (any run of bytes), `?` (exactly one byte), `[...]` classes with `^`
//! negation, `a-z` ranges (reversed ranges are swapped) and `\` escapes, and `\` escapes outside
//! classes. Quirks reproduced on purpose, all checked against a real redis-server 7.0:
//!
//! * Bytes are compared as C `char`, i.e. *signed*: in a range, bytes `0x80..=0xFF` sort before
//!   `0x00` (`[a-\xff]` is the range `-1..=97`).
//! * With `nocase`, only ASCII `A-Z` is folded; a range's ends are swapped (if reversed) *before*
//!   being folded, and an escaped byte inside a class is always compared case-sensitively.
//! * An unterminated class (`[abc` at the end of the pattern) acts as if it were closed there; a
//!   `-` right before the end, or a `]` right after a `-`, takes part in a range (`[a-]` is the
//!   unterminated range `]..=a`).
//! * Past the end of the pattern Redis reads the string's NUL terminator; this module reads a
//!   virtual `0` byte instead, so every out-of-bounds read becomes the same harmless comparison.
//! * The empty string is matched by no pattern at all (not even `**`); callers special-case the
//!   plain `*` pattern before calling, as Redis does.
//! * Protection against abusive patterns: recursion through `*` is capped at a nesting depth of
//!   1000 (deeper attempts count as "no match", even when a match exists), and once the rest of a
//!   pattern after a `*` failed at every position, longer matches of earlier `*`s are not tried.

/// Maximum `*` nesting depth explored before giving up (Redis: `nesting > 1000` fails).
const MAX_NESTING: u32 = 1000;

/// Returns whether `s` matches the glob `pattern`, exactly as Redis 7.0's
/// `stringmatchlen(pattern, s, nocase)` does (see the module documentation for the quirks).
///
/// Runs in time polynomial in the input sizes for any pattern and never panics.
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    let mut m = Matcher {
        pattern,
        s,
        nocase,
        skip_longer_matches: false,
    };
    m.run(0, 0, 0)
}

/// Shared state of one top-level match.
struct Matcher<'a> {
    pattern: &'a [u8],
    s: &'a [u8],
    nocase: bool,
    /// Set once the remainder after some `*` failed to match anywhere: no caller needs to try
    /// longer expansions of its own `*` then.
    skip_longer_matches: bool,
}

/// A byte as a C `char` on x86-64 (signed).
#[inline]
fn signed(b: u8) -> i32 {
    i32::from(b as i8)
}

/// C `tolower` in the "C" locale applied to a signed `char` value: only ASCII letters change.
#[inline]
fn lower(c: i32) -> i32 {
    if (i32::from(b'A')..=i32::from(b'Z')).contains(&c) {
        c + 32
    } else {
        c
    }
}

impl Matcher<'_> {
    /// Pattern byte at `i` as a signed char, or 0 past the end (Redis's NUL terminator).
    #[inline]
    fn p(&self, i: usize) -> i32 {
        self.pattern.get(i).map_or(0, |&b| signed(b))
    }

    /// String byte at `i` as a signed char, or 0 past the end.
    #[inline]
    fn c(&self, i: usize) -> i32 {
        self.s.get(i).map_or(0, |&b| signed(b))
    }

    /// Matches `pattern[pi..]` against `s[si..]`. `nesting` counts enclosing `*` expansions.
    fn run(&mut self, mut pi: usize, mut si: usize, nesting: u32) -> bool {
        if nesting > MAX_NESTING {
            return false;
        }
        let plen = self.pattern.len();
        let slen = self.s.len();
        const STAR: i32 = b'*' as i32;
        const QUESTION: i32 = b'?' as i32;
        const OPEN: i32 = b'[' as i32;
        const CLOSE: i32 = b']' as i32;
        const CARET: i32 = b'^' as i32;
        const DASH: i32 = b'-' as i32;
        const BACKSLASH: i32 = b'\\' as i32;

        while pi < plen && si < slen {
            match self.p(pi) {
                STAR => {
                    while pi < plen && self.p(pi + 1) == STAR {
                        pi += 1;
                    }
                    if plen - pi == 1 {
                        return true;
                    }
                    while si < slen {
                        if self.run(pi + 1, si, nesting + 1) {
                            return true;
                        }
                        if self.skip_longer_matches {
                            return false;
                        }
                        si += 1;
                    }
                    self.skip_longer_matches = true;
                    return false;
                }
                QUESTION => {
                    si += 1;
                }
                OPEN => {
                    pi += 1;
                    let not = self.p(pi) == CARET;
                    if not {
                        pi += 1;
                    }
                    let ch = self.c(si);
                    let mut matched = false;
                    loop {
                        let remaining = plen.saturating_sub(pi);
                        let pc = self.p(pi);
                        if pc == BACKSLASH && remaining >= 2 {
                            pi += 1;
                            if self.p(pi) == ch {
                                matched = true;
                            }
                        } else if pc == CLOSE {
                            break;
                        } else if remaining == 0 {
                            // Unterminated class: step back so the advance below ends the pattern.
                            pi = pi.saturating_sub(1);
                            break;
                        } else if remaining >= 3 && self.p(pi + 1) == DASH {
                            let (mut start, mut end, mut c) = (pc, self.p(pi + 2), ch);
                            if start > end {
                                std::mem::swap(&mut start, &mut end);
                            }
                            if self.nocase {
                                start = lower(start);
                                end = lower(end);
                                c = lower(c);
                            }
                            pi += 2;
                            if c >= start && c <= end {
                                matched = true;
                            }
                        } else if self.nocase {
                            if lower(pc) == lower(ch) {
                                matched = true;
                            }
                        } else if pc == ch {
                            matched = true;
                        }
                        pi += 1;
                    }
                    if not {
                        matched = !matched;
                    }
                    if !matched {
                        return false;
                    }
                    si += 1;
                }
                pc => {
                    let mut pc = pc;
                    if pc == BACKSLASH && plen - pi >= 2 {
                        pi += 1;
                        pc = self.p(pi);
                    }
                    let ch = self.c(si);
                    let equal = if self.nocase {
                        lower(pc) == lower(ch)
                    } else {
                        pc == ch
                    };
                    if !equal {
                        return false;
                    }
                    si += 1;
                }
            }
            pi += 1;
            if si >= slen {
                while self.p(pi) == STAR {
                    pi += 1;
                }
                break;
            }
        }
        pi >= plen && si >= slen
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    fn m(p: &[u8], s: &[u8]) -> bool {
        glob_match(p, s, false)
    }

    #[test]
    fn basics() {
        assert!(m(b"hello", b"hello"));
        assert!(!m(b"hello", b"hell"));
        assert!(!m(b"hell", b"hello"));
        assert!(m(b"h?llo", b"hallo"));
        assert!(!m(b"h?llo", b"hllo"));
        assert!(m(b"h*llo", b"hllo"));
        assert!(m(b"h*llo", b"heeeello"));
        assert!(m(b"h[ae]llo", b"hello"));
        assert!(m(b"h[ae]llo", b"hallo"));
        assert!(!m(b"h[ae]llo", b"hillo"));
        assert!(m(b"h[^e]llo", b"hallo"));
        assert!(!m(b"h[^e]llo", b"hello"));
        assert!(m(b"h[a-b]llo", b"hbllo"));
        assert!(!m(b"h[a-b]llo", b"hcllo"));
        assert!(m(b"*", b"anything"));
        assert!(m(b"a*", b"a"));
        assert!(m(b"a**", b"a"));
        assert!(m(b"*a*", b"bab"));
        assert!(!m(b"*a*", b"bbb"));
        assert!(m(b"*.txt", b"x.txt"));
    }

    #[test]
    fn escapes() {
        assert!(m(b"\\*", b"*"));
        assert!(!m(b"\\*", b"a"));
        assert!(m(b"a\\?", b"a?"));
        assert!(!m(b"a\\?", b"ab"));
        // A trailing lone backslash is a literal backslash.
        assert!(m(b"a\\", b"a\\"));
        // Escapes inside classes.
        assert!(m(b"[\\]]", b"]"));
        assert!(m(b"[\\-]", b"-"));
        assert!(!m(b"[\\-]", b"a"));
        assert!(m(b"[a\\-z]", b"-"));
        assert!(!m(b"[a\\-z]", b"b"));
        // Backslash as the last byte of an unterminated class is a literal.
        assert!(m(b"[\\", b"\\"));
    }

    // Every case below was checked with `KEYS` on redis-server 7.0.15.
    #[test]
    fn verified_against_redis_keys() {
        // Empty key: nothing matches it (KEYS * is special-cased by the caller).
        assert!(!m(b"**", b""));
        assert!(!m(b"?*", b""));
        assert!(!m(b"[", b""));
        // Unterminated classes.
        assert!(m(b"[abc", b"b"));
        assert!(!m(b"[abc", b"d"));
        assert!(!m(b"[", b"a"));
        assert!(m(b"[^", b"x"));
        assert!(!m(b"a[", b"a"));
        assert!(m(b"[a-", b"-"));
        assert!(m(b"[a-", b"a"));
        // `[a-]` is the unterminated range ']'..='a'.
        assert!(m(b"[a-]", b"_"));
        assert!(m(b"[a-]", b"]"));
        assert!(m(b"[a-]", b"`"));
        assert!(!m(b"[a-]", b"-"));
        assert!(!m(b"[a-]", b"b"));
        // `]` first in a class closes it: `[]` never matches, `[^]` matches any byte.
        assert!(!m(b"[]a]", b"a"));
        assert!(!m(b"[]a]", b"]"));
        assert!(!m(b"[]]", b"]"));
        assert!(m(b"[^]", b"a"));
        assert!(!m(b"[^]a", b"b"));
        assert!(m(b"x[^", b"xy"));
        // Reversed range.
        assert!(m(b"[z-a]", b"m"));
        assert!(!m(b"[z-a]", b"A"));
        // Signed chars: 0xff is -1, so [a-\xff] is -1..=97.
        assert!(m(b"[a-\xff]", b"0"));
        assert!(!m(b"[a-\xff]", b"b"));
        assert!(!m(b"[a-\xff]", b"\x80"));
        assert!(m(b"[\x80-\xff]", b"\x90"));
        assert!(!m(b"[\x80-\xff]", b"a"));
        // NUL bytes are ordinary bytes.
        assert!(m(b"a\x00?", b"a\x00b"));
        assert!(m(b"[\x00]", b"\x00"));
        assert!(m(b"*\x00", b"xy\x00"));
        // Star collapsing and trailing stars after the string is used up.
        assert!(m(b"a***", b"a"));
        assert!(m(b"a*?", b"ab"));
        assert!(!m(b"a*?", b"a"));
        assert!(m(b"*?*", b"a"));
        assert!(m(b"\\", b"\\"));
        assert!(!m(b"[\\]", b"\\"));
        assert!(m(b"[\\]", b"]"));
    }

    #[test]
    fn nocase() {
        // Verified with CONFIG GET (which matches with nocase=1) on redis-server 7.0.15.
        let name = b"maxmemory-policy";
        assert!(glob_match(b"MAXMEMORY-P[A-Z]*", name, true));
        assert!(!glob_match(b"MAXMEMORY-P[A-Z]*", name, false));
        // Swap happens before folding: [a-P] -> 'P'..='a' -> 'p'..='a' (empty).
        assert!(glob_match(b"maxmemory-[^a-P]olicy", name, true));
        // Escaped bytes in a class compare case-sensitively even with nocase.
        assert!(!glob_match(b"maxmemory-[\\P]olicy", name, true));
        assert!(glob_match(b"maxmemory-[P]olicy", name, true));
        assert!(!glob_match(b"maxmemory-[Z-a]olicy", name, true));
        assert!(glob_match(b"MaxMemory-\\Policy", name, true));
        assert!(glob_match(b"H?LLO", b"hello", true));
        // Only ASCII folds.
        assert!(!glob_match(b"\xc9", b"\xe9", true));
    }

    #[test]
    fn nesting_limit_matches_redis() {
        // Checked with KEYS on redis-server 7.0.15: up to 1001 nested stars still match.
        for (n, expect) in [
            (999, true),
            (1000, true),
            (1001, true),
            (1002, false),
            (1003, false),
        ] {
            let pat: Vec<u8> = b"a*".repeat(n);
            let key: Vec<u8> = b"a".repeat(n);
            assert_eq!(m(&pat, &key), expect, "a* x {n}");
        }
        for (n, expect) in [(999, true), (1000, true), (1001, false), (1002, false)] {
            let pat: Vec<u8> = b"*a".repeat(n);
            let key: Vec<u8> = b"a".repeat(n);
            assert_eq!(m(&pat, &key), expect, "*a x {n}");
        }
        let mut pat = b"*".repeat(5000);
        pat.extend_from_slice(b"x");
        let mut key = b"a".repeat(100);
        key.push(b'x');
        assert!(m(&pat, &key));
        assert!(!m(&b"*?".repeat(1200), &b"a".repeat(1200)));
    }

    #[test]
    fn no_exponential_blowup() {
        // Classic catastrophic-backtracking input: must finish quickly.
        let mut pat = b"a*".repeat(60);
        pat.push(b'b');
        let key = b"a".repeat(5000);
        let start = std::time::Instant::now();
        assert!(!m(&pat, &key));
        let mut pat2 = b"*a".repeat(500);
        pat2.push(b'b');
        assert!(!m(&pat2, &b"a".repeat(3000)));
        assert!(start.elapsed().as_secs() < 5);
    }

    #[test]
    fn never_panics_on_odd_patterns() {
        let pieces: [&[u8]; 10] = [
            b"[", b"]", b"^", b"-", b"\\", b"*", b"?", b"a", b"\xff", b"\x00",
        ];
        let strs: [&[u8]; 6] = [b"", b"a", b"]", b"\\", b"-a", b"\xff\x00"];
        for x in pieces {
            for y in pieces {
                for z in pieces {
                    let p = [x, y, z].concat();
                    for s in strs {
                        let _ = glob_match(&p, s, false);
                        let _ = glob_match(&p, s, true);
                    }
                }
            }
        }
    }
}
