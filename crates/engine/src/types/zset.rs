//! Sorted-set commands and the skip list (placeholder until the hash module lands).

use crate::cmd::CommandDef;

/// A sorted set past the listpack limits.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct BigZSet;

impl BigZSet {
    /// Number of members.
    pub fn len(&self) -> usize {
        0
    }
    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        true
    }
    /// Heap bytes owned.
    pub fn heap_size(&self) -> usize {
        0
    }
}

/// The sorted-set commands.
pub static COMMANDS: &[CommandDef] = &[];
