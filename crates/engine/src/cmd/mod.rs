//! The command table: one declarative [`CommandDef`] per command (and subcommand), defined by the
//! module that implements it (`types::string::COMMANDS`, `keys::COMMANDS`, ...) and gathered here.
//! Arity checks, authentication, key locking, COMMAND INFO/DOCS/GETKEYS, command stats and
//! propagation all read this table; nothing about a command is written twice.

pub mod dispatch;

use std::collections::HashMap;

use smallvec::SmallVec;

use crate::ctx::Ctx;
use crate::error::Result;

/// A command handler.
pub type Handler = fn(&mut Ctx<'_>) -> Result<()>;

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
pub struct CommandDef {
    /// Lowercase name (for a subcommand, just the subcommand's name).
    pub name: &'static str,
    /// Redis arity: positive means exactly, negative means at least `-arity` arguments
    /// (the command name counts).
    pub arity: i32,
    /// Space-separated flags: `write readonly denyoom admin pubsub noscript blocking loading stale
    /// skip_monitor skip_slowlog fast no_auth may_replicate no_propagate allow_busy`.
    pub flags: &'static str,
    /// Key positions.
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
}

impl Command {
    fn new(def: &'static CommandDef, parent: Option<&str>) -> std::result::Result<Self, String> {
        let full_name = match parent {
            Some(p) => format!("{p}|{}", def.name),
            None => def.name.to_string(),
        };
        let mut subs = HashMap::new();
        for s in def.subcommands {
            subs.insert(s.name, Command::new(s, Some(def.name))?);
        }
        Ok(Command {
            def,
            flags: flags::parse(def.flags)?,
            full_name,
            stats: CmdStats::default(),
            subs,
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
}

impl Table {
    /// Builds the table from every module's declarations.
    pub fn new() -> std::result::Result<Self, String> {
        let mut map = HashMap::with_hasher(foldhash::fast::RandomState::default());
        for group in crate::all_commands() {
            for def in group.iter() {
                let c = Command::new(def, None)?;
                if map.insert(def.name, c).is_some() {
                    return Err(format!("command {} declared twice", def.name));
                }
            }
        }
        Ok(Table { map })
    }

    /// The command named `name` (any case).
    #[inline]
    pub fn get(&self, name: &[u8]) -> Option<&Command> {
        let mut buf = [0u8; 32];
        let lower = buf.get_mut(..name.len())?;
        for (d, s) in lower.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
        }
        let lower = std::str::from_utf8(lower).ok()?;
        self.map.get(lower)
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
}
