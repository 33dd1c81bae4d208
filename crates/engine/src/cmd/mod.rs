//! The command table: one declarative [`CommandDef`] per command (and subcommand), defined by the
//! module that implements it (`types::string::COMMANDS`, `keys::COMMANDS`, ...) and gathered here.
//! Arity checks, authentication, key locking, COMMAND INFO/DOCS/GETKEYS, command stats and
//! propagation all read this table; nothing about a command is written twice.
//!
//! Keys: [`CommandDef::keys`] alone says where a command's keys are (the dispatcher locks them,
//! GETKEYS lists them). Redis's key specs only add how each key is accessed: by default one
//! spec spanning `keys` with [`CommandDef::key_flags`]; commands whose keys differ (RENAME's
//! source and destination) list [`KeySpecDef`]s instead, and a table test checks that the
//! specs find exactly the keys `keys` finds. Tips and documentation fields (complexity,
//! history, deprecation) are optional `const` builder calls on [`def`]'s result.

pub mod args;
pub mod dispatch;

use std::collections::HashMap;

use smallvec::SmallVec;

use crate::ctx::Ctx;
use crate::error::Result;

/// A command handler.
pub type Handler = fn(&mut Ctx<'_>) -> Result<()>;

/// The actual key-spec flags of one command line, for a spec flagged `variable_flags`.
pub type KeyFlagsFn = fn(&[&[u8]]) -> &'static str;

/// Where a command's keys are in its arguments.
#[derive(Clone, Copy)]
pub enum KeySpec {
    /// No keys.
    None,
    /// Keys at `first..=last` (negative `last` counts from the end, -1 being the last argument),
    /// every `step` arguments.
    Range(i32, i32, i32),
    /// Keys found by a function of the arguments (commands with a numkeys argument).
    Custom(fn(&[&[u8]]) -> Vec<usize>),
}

/// One command or subcommand, as declared.
///
/// Modules build entries with [`def`] and refine them with the `const` builder methods below
/// (`def(...).key_flags("RW access update").tips("...")`); every field past `subcommands` is
/// optional metadata that COMMAND INFO and COMMAND DOCS report as Redis 7.0 does.
#[derive(Clone, Copy)]
pub struct CommandDef {
    /// Lowercase name (for a subcommand, just the subcommand's name).
    pub name: &'static str,
    /// Redis arity: positive means exactly, negative means at least `-arity` arguments
    /// (the command name counts).
    pub arity: i32,
    /// Space-separated flags: `write readonly denyoom admin pubsub noscript blocking loading stale
    /// skip_monitor skip_slowlog fast no_auth may_replicate no_propagate allow_busy no_multi
    /// no_mandatory_keys`.
    pub flags: &'static str,
    /// Key positions: what the dispatcher locks and COMMAND GETKEYS reports. The single source
    /// of where keys are; [`KeySpecDef`]s only describe how they are accessed (see
    /// [`CommandDef::key_specs`]).
    pub keys: KeySpec,
    /// Space-separated ACL categories beyond those implied by the flags (`@string @keyspace`).
    pub acl: &'static str,
    /// Command group (`string`, `generic`, `server`, `connection`...).
    pub group: &'static str,
    /// One-line summary, for COMMAND DOCS.
    pub summary: &'static str,
    /// Redis version that introduced it.
    pub since: &'static str,
    /// The handler (ignored for containers, which dispatch to subcommands).
    pub handler: Handler,
    /// Subcommands, for container commands like CONFIG or CLIENT.
    pub subcommands: &'static [CommandDef],
    /// Key-spec flags of the one key spec covering all of [`CommandDef::keys`], in Redis's
    /// words (`RO`/`RW`/`OW`/`RM`, `access update insert delete`, `not_key incomplete
    /// variable_flags`; see [`key_spec_flags`]). Ignored when `key_specs` is set.
    pub key_flags: &'static str,
    /// The `notes` of that key spec (empty: none).
    pub key_notes: &'static str,
    /// Several key specs with different flags (RENAME's source and destination...); when set,
    /// it replaces `key_flags`/`key_notes`. Together the specs must find exactly the keys
    /// [`CommandDef::keys`] finds (a table test checks it).
    pub key_specs: &'static [KeySpecDef],
    /// For a spec flagged `variable_flags`: the actual flags for one command line (SET's are
    /// `RW access update` with GET, `OW update` without), for COMMAND GETKEYSANDFLAGS.
    pub variable_key_flags: Option<KeyFlagsFn>,
    /// Space-separated command tips, in Redis's order (`request_policy:all_shards
    /// nondeterministic_output`...).
    pub tips: &'static str,
    /// COMMAND DOCS `complexity` (empty: not shown).
    pub complexity: &'static str,
    /// Space-separated COMMAND DOCS `doc_flags` (`deprecated`, `syscmd`).
    pub doc_flags: &'static str,
    /// COMMAND DOCS `deprecated_since` (empty: not shown).
    pub deprecated_since: &'static str,
    /// COMMAND DOCS `replaced_by` (empty: not shown).
    pub replaced_by: &'static str,
    /// COMMAND DOCS `history`: `(version, change)` pairs, oldest first.
    pub history: &'static [(&'static str, &'static str)],
}

impl CommandDef {
    /// Sets the flags of the single key spec covering [`CommandDef::keys`].
    pub const fn key_flags(mut self, flags: &'static str) -> Self {
        self.key_flags = flags;
        self
    }

    /// Sets the `notes` of the single key spec.
    pub const fn key_notes(mut self, notes: &'static str) -> Self {
        self.key_notes = notes;
        self
    }

    /// Declares several key specs (each with its own place and flags) instead of one.
    pub const fn key_specs(mut self, specs: &'static [KeySpecDef]) -> Self {
        self.key_specs = specs;
        self
    }

    /// Sets the function giving the actual key flags of a `variable_flags` key spec.
    pub const fn variable_key_flags(mut self, f: KeyFlagsFn) -> Self {
        self.variable_key_flags = Some(f);
        self
    }

    /// Sets the command tips.
    pub const fn tips(mut self, tips: &'static str) -> Self {
        self.tips = tips;
        self
    }

    /// Sets the documented complexity.
    pub const fn complexity(mut self, complexity: &'static str) -> Self {
        self.complexity = complexity;
        self
    }

    /// Sets the doc flags (`syscmd`; use [`CommandDef::deprecated`] for `deprecated`).
    pub const fn doc_flags(mut self, flags: &'static str) -> Self {
        self.doc_flags = flags;
        self
    }

    /// Marks the command deprecated since `since`, replaced by `replaced_by`.
    pub const fn deprecated(mut self, since: &'static str, replaced_by: &'static str) -> Self {
        self.doc_flags = "deprecated";
        self.deprecated_since = since;
        self.replaced_by = replaced_by;
        self
    }

    /// Sets the documented history.
    pub const fn history(mut self, history: &'static [(&'static str, &'static str)]) -> Self {
        self.history = history;
        self
    }

    /// Sets the subcommands (container commands).
    pub const fn subcommands(mut self, subs: &'static [CommandDef]) -> Self {
        self.subcommands = subs;
        self
    }

    /// The command's key specs as COMMAND INFO lists them: the declared `key_specs`, else one
    /// spec built from [`CommandDef::keys`] with `key_flags` (none for a command without keys).
    pub fn resolved_key_specs(&self) -> SmallVec<[KeySpecDef; 2]> {
        if !self.key_specs.is_empty() {
            return self.key_specs.iter().copied().collect();
        }
        let (begin, find) = match self.keys {
            KeySpec::None => return SmallVec::new(),
            KeySpec::Range(first, last, step) => (
                BeginSearch::Index(first),
                FindKeys::Range {
                    lastkey: if last < 0 { last } else { last - first },
                    keystep: step,
                    limit: 0,
                },
            ),
            KeySpec::Custom(_) => (BeginSearch::Unknown, FindKeys::Unknown),
        };
        let mut out = SmallVec::new();
        out.push(KeySpecDef {
            flags: self.key_flags,
            notes: self.key_notes,
            begin,
            find,
        });
        out
    }
}

/// Where a key spec starts looking for keys (Redis's `begin_search`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BeginSearch {
    /// At this argument index.
    Index(i32),
    /// After the last (`startfrom` < 0, searching backwards) or first occurrence of `keyword`,
    /// searching from argument `startfrom`.
    Keyword {
        /// The keyword, uppercase as Redis prints it.
        keyword: &'static str,
        /// Where the search starts (negative: from the end, searching backwards).
        startfrom: i32,
    },
    /// Only the command's own key-finding function knows.
    Unknown,
}

/// How a key spec finds its keys once started (Redis's `find_keys`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindKeys {
    /// Keys up to `lastkey` (relative to the start; negative counts from the end of the
    /// arguments), every `keystep`; `limit` > 1 stops at 1/limit of the remaining arguments.
    Range {
        /// Last key, relative to the start (-1: the last argument).
        lastkey: i32,
        /// Step between keys.
        keystep: i32,
        /// 0 or 1: no limit.
        limit: i32,
    },
    /// The argument at `keynumidx` (relative to the start) holds the number of keys, the first
    /// of which is at `firstkey` (relative to the start), every `keystep`.
    Keynum {
        /// Where the key count is, relative to the start.
        keynumidx: i32,
        /// Where the first key is, relative to the start.
        firstkey: i32,
        /// Step between keys.
        keystep: i32,
    },
    /// Only the command's own key-finding function knows.
    Unknown,
}

/// One Redis key spec: where a group of a command's keys is and how the command accesses them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySpecDef {
    /// Space-separated key-spec flags (see [`key_spec_flags`]).
    pub flags: &'static str,
    /// Free-text notes (empty: none).
    pub notes: &'static str,
    /// Where the search starts.
    pub begin: BeginSearch,
    /// How keys are found from there.
    pub find: FindKeys,
}

impl KeySpecDef {
    /// One key at argument `index`.
    pub const fn index(index: i32, flags: &'static str) -> Self {
        Self::range(index, 0, 1, flags)
    }

    /// Keys from argument `first` to `lastkey` (relative to `first`; negative counts from the
    /// end) every `keystep`.
    pub const fn range(first: i32, lastkey: i32, keystep: i32, flags: &'static str) -> Self {
        KeySpecDef {
            flags,
            notes: "",
            begin: BeginSearch::Index(first),
            find: FindKeys::Range {
                lastkey,
                keystep,
                limit: 0,
            },
        }
    }

    /// The same spec with `notes`.
    pub const fn notes(mut self, notes: &'static str) -> Self {
        self.notes = notes;
        self
    }

    /// Positions of this spec's keys in `args` (a whole command line), as Redis's
    /// `getKeysUsingKeySpecs` finds them; `None` when the spec cannot say (`Unknown`).
    pub fn positions(&self, args: &[&[u8]]) -> Option<KeyPositions> {
        let argc = args.len() as i64;
        let start = match self.begin {
            BeginSearch::Index(i) => i as i64,
            BeginSearch::Keyword { keyword, startfrom } => {
                let sf = startfrom as i64;
                // Like Redis, the search stops short of `to` (a keyword in the last place
                // has no key after it).
                let (from, to, step) = if sf > 0 {
                    (sf, argc - 1, 1)
                } else {
                    (argc + sf, 1, -1)
                };
                let mut i = from;
                let mut found = None;
                while i != to && i >= 1 && i < argc {
                    let Some(a) = usize::try_from(i).ok().and_then(|i| args.get(i)) else {
                        break;
                    };
                    if a.eq_ignore_ascii_case(keyword.as_bytes()) {
                        found = Some(i + 1);
                        break;
                    }
                    i += step;
                }
                match found {
                    Some(f) => f,
                    None => return Some(KeyPositions::new()),
                }
            }
            BeginSearch::Unknown => return None,
        };
        let (first, last, step) = match self.find {
            FindKeys::Range {
                lastkey,
                keystep,
                limit,
            } => {
                let last = if lastkey >= 0 {
                    start + lastkey as i64
                } else if limit <= 1 {
                    argc + lastkey as i64
                } else {
                    start + ((argc - start) / limit as i64) + lastkey as i64
                };
                (start, last, keystep.max(1) as i64)
            }
            FindKeys::Keynum {
                keynumidx,
                firstkey,
                keystep,
            } => {
                let idx = start + keynumidx as i64;
                let n = usize::try_from(idx)
                    .ok()
                    .and_then(|i| args.get(i))
                    .and_then(|a| std::str::from_utf8(a).ok())
                    .and_then(|s| s.parse::<i64>().ok())
                    .unwrap_or(0)
                    .max(0);
                let step = keystep.max(1) as i64;
                let first = start + firstkey as i64;
                (first, first + (n - 1) * step, step)
            }
            FindKeys::Unknown => return None,
        };
        let mut out = KeyPositions::new();
        let mut i = first;
        while i <= last && i < argc {
            if i >= 1 {
                out.push(i as usize);
            }
            i += step;
        }
        Some(out)
    }
}

/// Key-spec flags parsed from [`KeySpecDef::flags`] / [`CommandDef::key_flags`].
pub mod key_spec_flags {
    /// Read-only: reads the value without changing it.
    pub const RO: u32 = 1 << 0;
    /// Read-write: reads and changes the value.
    pub const RW: u32 = 1 << 1;
    /// Overwrite: replaces the value without reading it.
    pub const OW: u32 = 1 << 2;
    /// Remove: deletes the key.
    pub const RM: u32 = 1 << 3;
    /// Returns, copies or uses the user data.
    pub const ACCESS: u32 = 1 << 4;
    /// Updates the data (changes existing data).
    pub const UPDATE: u32 = 1 << 5;
    /// Adds data to the value without changing existing data.
    pub const INSERT: u32 = 1 << 6;
    /// Explicitly deletes some content from the value.
    pub const DELETE: u32 = 1 << 7;
    /// Not really a key (a channel name...).
    pub const NOT_KEY: u32 = 1 << 8;
    /// The spec may miss keys.
    pub const INCOMPLETE: u32 = 1 << 9;
    /// The flags depend on the arguments (see [`super::CommandDef::variable_key_flags`]).
    pub const VARIABLE_FLAGS: u32 = 1 << 10;

    /// Flag names in the order Redis prints them, paired with their bits.
    pub const NAMES: &[(&str, u32)] = &[
        ("RO", RO),
        ("RW", RW),
        ("OW", OW),
        ("RM", RM),
        ("access", ACCESS),
        ("update", UPDATE),
        ("insert", INSERT),
        ("delete", DELETE),
        ("not_key", NOT_KEY),
        ("incomplete", INCOMPLETE),
        ("variable_flags", VARIABLE_FLAGS),
    ];

    /// Parses a space-separated key-spec flag list.
    pub fn parse(s: &str) -> Result<u32, String> {
        let mut bits = 0;
        for word in s.split_whitespace() {
            match NAMES.iter().find(|(n, _)| *n == word) {
                Some((_, b)) => bits |= b,
                None => return Err(format!("unknown key-spec flag {word}")),
            }
        }
        Ok(bits)
    }

    /// The names of the flags in `bits`, in Redis's order.
    pub fn names(bits: u32) -> impl Iterator<Item = &'static str> {
        NAMES
            .iter()
            .filter(move |(_, b)| bits & b != 0)
            .map(|(n, _)| *n)
    }
}

/// Flags parsed from [`CommandDef::flags`].
pub mod flags {
    /// May modify the keyspace.
    pub const WRITE: u32 = 1 << 0;
    /// Never modifies the keyspace.
    pub const READONLY: u32 = 1 << 1;
    /// May grow memory: refused when over maxmemory.
    pub const DENYOOM: u32 = 1 << 2;
    /// Administrative.
    pub const ADMIN: u32 = 1 << 3;
    /// Pub/sub.
    pub const PUBSUB: u32 = 1 << 4;
    /// Not allowed from scripts.
    pub const NOSCRIPT: u32 = 1 << 5;
    /// May block.
    pub const BLOCKING: u32 = 1 << 6;
    /// Allowed while loading.
    pub const LOADING: u32 = 1 << 7;
    /// Allowed on a stale replica.
    pub const STALE: u32 = 1 << 8;
    /// Not shown to MONITOR.
    pub const SKIP_MONITOR: u32 = 1 << 9;
    /// Not recorded in the slow log.
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    /// O(1) or O(log N).
    pub const FAST: u32 = 1 << 11;
    /// Allowed before authentication.
    pub const NO_AUTH: u32 = 1 << 12;
    /// May replicate even though not a write.
    pub const MAY_REPLICATE: u32 = 1 << 13;
    /// Never propagated.
    pub const NO_PROPAGATE: u32 = 1 << 14;
    /// Allowed while a script is busy.
    pub const ALLOW_BUSY: u32 = 1 << 15;
    /// Not allowed inside MULTI.
    pub const NO_MULTI: u32 = 1 << 16;
    /// May be called without any key even though it declares key specs (EVAL, FCALL).
    pub const NO_MANDATORY_KEYS: u32 = 1 << 17;

    /// Flag names in Redis's COMMAND INFO spelling, paired with their bits.
    pub const NAMES: &[(&str, u32)] = &[
        ("write", WRITE),
        ("readonly", READONLY),
        ("denyoom", DENYOOM),
        ("admin", ADMIN),
        ("pubsub", PUBSUB),
        ("noscript", NOSCRIPT),
        ("blocking", BLOCKING),
        ("loading", LOADING),
        ("stale", STALE),
        ("skip_monitor", SKIP_MONITOR),
        ("skip_slowlog", SKIP_SLOWLOG),
        ("fast", FAST),
        ("no_auth", NO_AUTH),
        ("may_replicate", MAY_REPLICATE),
        ("no_propagate", NO_PROPAGATE),
        ("allow_busy", ALLOW_BUSY),
        ("no_multi", NO_MULTI),
        ("no_mandatory_keys", NO_MANDATORY_KEYS),
    ];

    /// Parses a space-separated flag list; unknown names are a bug caught by the table tests.
    pub fn parse(s: &str) -> Result<u32, String> {
        let mut bits = 0;
        for word in s.split_whitespace() {
            match NAMES.iter().find(|(n, _)| *n == word) {
                Some((_, b)) => bits |= b,
                None => return Err(format!("unknown command flag {word}")),
            }
        }
        Ok(bits)
    }
}

/// Per-command counters (INFO commandstats), striped by thread so that a popular command
/// run on every core does not make its counters the hottest cache line in the server.
#[derive(Default, Debug)]
pub struct CmdStats(crate::counter::Striped<4>);

impl CmdStats {
    const CALLS: usize = 0;
    const USEC: usize = 1;
    const REJECTED: usize = 2;
    const FAILED: usize = 3;

    /// Counts a call that ran, taking `usec` microseconds.
    #[inline]
    pub fn call(&self, usec: u64) {
        self.0.add(Self::CALLS, 1);
        self.0.add(Self::USEC, usec);
    }

    /// Counts a call rejected before running (arity, auth...).
    #[inline]
    pub fn reject(&self) {
        self.0.add(Self::REJECTED, 1);
    }

    /// Counts a call that ran and returned an error.
    #[inline]
    pub fn fail(&self) {
        self.0.add(Self::FAILED, 1);
    }

    /// Calls that ran.
    pub fn calls(&self) -> u64 {
        self.0.get(Self::CALLS)
    }

    /// Total microseconds spent.
    pub fn usec(&self) -> u64 {
        self.0.get(Self::USEC)
    }

    /// Calls rejected before running.
    pub fn rejected(&self) -> u64 {
        self.0.get(Self::REJECTED)
    }

    /// Calls that ran and failed.
    pub fn failed(&self) -> u64 {
        self.0.get(Self::FAILED)
    }

    /// Clears the counters (CONFIG RESETSTAT).
    pub fn reset(&self) {
        self.0.reset();
    }
}

/// A command ready to run: its declaration, parsed flags, full name and stats.
pub struct Command {
    /// The declaration.
    pub def: &'static CommandDef,
    /// Parsed flags.
    pub flags: u32,
    /// `get`, or `config|get` for a subcommand.
    pub full_name: String,
    /// Counters.
    pub stats: CmdStats,
    /// Subcommands by lowercase name.
    pub subs: HashMap<&'static str, Command>,
    /// Index of `full_name` in the table's name list (what CLIENT LIST's `cmd=` shows); 0 is
    /// reserved for "no command yet".
    pub id: u32,
}

/// `name` lowercased into `buf` without allocating; `None` if it is longer than `buf` (no
/// command or subcommand name is) or not UTF-8.
#[inline]
fn lowercase_in<'b>(buf: &'b mut [u8; 32], name: &[u8]) -> Option<&'b str> {
    let lower = buf.get_mut(..name.len())?;
    for (d, s) in lower.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    std::str::from_utf8(lower).ok()
}

impl Command {
    /// The subcommand named `name` (any case).
    #[inline]
    pub fn sub(&self, name: &[u8]) -> Option<&Command> {
        let mut buf = [0u8; 32];
        self.subs.get(lowercase_in(&mut buf, name)?)
    }

    fn new(
        def: &'static CommandDef,
        parent: Option<&str>,
        names: &mut Vec<String>,
    ) -> std::result::Result<Self, String> {
        let full_name = match parent {
            Some(p) => format!("{p}|{}", def.name),
            None => def.name.to_string(),
        };
        let id = names.len() as u32;
        names.push(full_name.clone());
        for spec in def.resolved_key_specs() {
            key_spec_flags::parse(spec.flags).map_err(|e| format!("{full_name}: {e}"))?;
        }
        let mut subs = HashMap::new();
        for s in def.subcommands {
            subs.insert(s.name, Command::new(s, Some(def.name), names)?);
        }
        Ok(Command {
            def,
            flags: flags::parse(def.flags)?,
            full_name,
            stats: CmdStats::default(),
            subs,
            id,
        })
    }

    /// Whether the command has flag `f`.
    #[inline]
    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    /// Positions of the keys in `args`.
    #[inline]
    pub fn key_positions(&self, args: &[&[u8]]) -> KeyPositions {
        key_positions(self.def.keys, args)
    }
}

/// Key positions of one command; inline for the usual few keys.
pub type KeyPositions = SmallVec<[usize; 4]>;

/// Positions of the keys in `args` for a key spec.
pub fn key_positions(spec: KeySpec, args: &[&[u8]]) -> KeyPositions {
    match spec {
        KeySpec::None => KeyPositions::new(),
        KeySpec::Range(first, last, step) => {
            let n = args.len() as i32;
            let last = if last < 0 { n + last } else { last.min(n - 1) };
            let step = step.max(1);
            let mut out = KeyPositions::new();
            let mut i = first;
            while i <= last && i < n && i > 0 {
                out.push(i as usize);
                i += step;
            }
            out
        }
        KeySpec::Custom(f) => f(args).into_iter().filter(|&i| i < args.len()).collect(),
    }
}

/// The whole command table.
pub struct Table {
    map: HashMap<&'static str, Command, foldhash::fast::RandomState>,
    /// Full names by command id (`NULL` first).
    names: Vec<String>,
}

impl Table {
    /// Builds the table from every module's declarations.
    pub fn new() -> std::result::Result<Self, String> {
        let mut map = HashMap::with_hasher(foldhash::fast::RandomState::default());
        let mut names = vec!["NULL".to_string()];
        for group in crate::all_commands() {
            for def in group.iter() {
                let c = Command::new(def, None, &mut names)?;
                if map.insert(def.name, c).is_some() {
                    return Err(format!("command {} declared twice", def.name));
                }
            }
        }
        Ok(Table { map, names })
    }

    /// The full name (`get`, `client|list`) of the command with `id`, `NULL` for none.
    pub fn name_of(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("NULL", |n| n.as_str())
    }

    /// The command named `name` (any case).
    #[inline]
    pub fn get(&self, name: &[u8]) -> Option<&Command> {
        let mut buf = [0u8; 32];
        self.map.get(lowercase_in(&mut buf, name)?)
    }

    /// Every top-level command.
    pub fn iter(&self) -> impl Iterator<Item = &Command> {
        self.map.values()
    }

    /// Number of top-level commands.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Builds a [`CommandDef`] without subcommands; the usual way modules declare commands.
#[allow(clippy::too_many_arguments)]
pub const fn def(
    name: &'static str,
    arity: i32,
    flags: &'static str,
    keys: KeySpec,
    acl: &'static str,
    group: &'static str,
    summary: &'static str,
    since: &'static str,
    handler: Handler,
) -> CommandDef {
    CommandDef {
        name,
        arity,
        flags,
        keys,
        acl,
        group,
        summary,
        since,
        handler,
        subcommands: &[],
        key_flags: "",
        key_notes: "",
        key_specs: &[],
        variable_key_flags: None,
        tips: "",
        complexity: "",
        doc_flags: "",
        deprecated_since: "",
        replaced_by: "",
        history: &[],
    }
}

/// Keys at `first..=last` every `step`.
pub const fn keys(first: i32, last: i32, step: i32) -> KeySpec {
    KeySpec::Range(first, last, step)
}

/// The handler of a container command called without a known subcommand.
pub fn container(_ctx: &mut Ctx<'_>) -> Result<()> {
    Err(crate::error::Error::Syntax)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_invariants() {
        let t = Table::new().unwrap();
        assert!(!t.is_empty());
        for c in t.iter() {
            assert_eq!(c.def.name, c.def.name.to_ascii_lowercase());
            assert!(c.def.arity != 0, "{}", c.def.name);
            assert!(
                !(c.has(flags::WRITE) && c.has(flags::READONLY)),
                "{}",
                c.def.name
            );
            if let KeySpec::Range(first, _, step) = c.def.keys {
                assert!(first >= 1 && step >= 1, "{}", c.def.name);
            }
            for s in c.subs.values() {
                assert!(s.def.arity != 0, "{}", s.full_name);
            }
        }
        assert!(t.get(b"GeT").is_some());
    }

    /// Every command and subcommand, with its full name.
    fn all_defs(t: &Table) -> Vec<(String, &'static CommandDef)> {
        let mut out = Vec::new();
        for c in t.iter() {
            out.push((c.full_name.clone(), c.def));
            for s in c.subs.values() {
                out.push((s.full_name.clone(), s.def));
            }
        }
        out
    }

    #[test]
    fn key_specs_are_declared_and_agree_with_key_positions() {
        let t = Table::new().unwrap();
        for (name, d) in all_defs(&t) {
            let specs = d.resolved_key_specs();
            assert!(
                d.key_specs.is_empty() || (d.key_flags.is_empty() && d.key_notes.is_empty()),
                "{name}: key_flags and key_specs are exclusive"
            );
            for spec in &specs {
                let bits = key_spec_flags::parse(spec.flags).unwrap();
                // Exactly one of RO/RW/OW/RM, as Redis requires, except for channels
                // (SPUBLISH, SSUBSCRIBE), which are flagged `not_key` alone.
                let access = bits
                    & (key_spec_flags::RO
                        | key_spec_flags::RW
                        | key_spec_flags::OW
                        | key_spec_flags::RM);
                let want = u32::from(bits != key_spec_flags::NOT_KEY);
                assert_eq!(
                    access.count_ones(),
                    want,
                    "{name}: key flags `{}`",
                    spec.flags
                );
                assert_eq!(
                    bits & key_spec_flags::VARIABLE_FLAGS != 0,
                    d.variable_key_flags.is_some(),
                    "{name}: variable_flags needs variable_key_flags and vice versa"
                );
            }
            if matches!(d.keys, KeySpec::Custom(_)) {
                continue;
            }
            // The specs find exactly the keys `keys` finds, for every argument count.
            let words: Vec<Vec<u8>> = (0..12).map(|i| format!("a{i}").into_bytes()).collect();
            for n in 1..words.len() {
                let args: Vec<&[u8]> = words[..n].iter().map(|w| w.as_slice()).collect();
                let mut from_specs: Vec<usize> = specs
                    .iter()
                    .flat_map(|s| s.positions(&args).unwrap())
                    .collect();
                from_specs.sort_unstable();
                from_specs.dedup();
                let expected: Vec<usize> = key_positions(d.keys, &args).into_iter().collect();
                assert_eq!(from_specs, expected, "{name} with {n} arguments");
            }
        }
    }

    #[test]
    fn key_spec_positions_follow_redis() {
        let args: Vec<&[u8]> = vec![b"cmd", b"x", b"STREAMS", b"k1", b"k2", b"0", b"0"];
        // XREAD-like: keys after STREAMS, half of what remains.
        let spec = KeySpecDef {
            flags: "RO access",
            notes: "",
            begin: BeginSearch::Keyword {
                keyword: "STREAMS",
                startfrom: 1,
            },
            find: FindKeys::Range {
                lastkey: -1,
                keystep: 1,
                limit: 2,
            },
        };
        assert_eq!(spec.positions(&args).unwrap().as_slice(), &[3, 4]);
        // Keyword missing: no keys.
        let none: Vec<&[u8]> = vec![b"cmd", b"x"];
        assert!(spec.positions(&none).unwrap().is_empty());
        // ZUNIONSTORE-like: numkeys at 2, keys after it.
        let args: Vec<&[u8]> = vec![b"zunionstore", b"dst", b"2", b"a", b"b", b"WEIGHTS"];
        let spec = KeySpecDef {
            flags: "RO access",
            notes: "",
            begin: BeginSearch::Index(2),
            find: FindKeys::Keynum {
                keynumidx: 0,
                firstkey: 1,
                keystep: 1,
            },
        };
        assert_eq!(spec.positions(&args).unwrap().as_slice(), &[3, 4]);
        let unknown = KeySpecDef {
            begin: BeginSearch::Unknown,
            ..spec
        };
        assert!(unknown.positions(&args).is_none());
        assert_eq!(
            KeySpecDef::range(1, -1, 2, "OW update")
                .positions(&[b"mset", b"a", b"1", b"b", b"2"])
                .unwrap()
                .as_slice(),
            &[1, 3]
        );
    }

    #[test]
    fn key_spec_flags_parse_and_print_in_redis_order() {
        let bits = key_spec_flags::parse("update RW access").unwrap();
        assert_eq!(
            key_spec_flags::names(bits).collect::<Vec<_>>(),
            ["RW", "access", "update"]
        );
        assert!(key_spec_flags::parse("RW bogus").is_err());
    }
}
