//! Hash commands and the big-hash representation (placeholder until the hash module lands).

use crate::cmd::CommandDef;

/// A hash past the listpack limits.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct BigHash;

impl BigHash {
    /// Number of fields.
    pub fn len(&self) -> usize {
        0
    }
    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        true
    }
    /// Heap bytes owned.
    pub fn heap_size(&self) -> usize {
        0
    }
}

/// The hash commands.
pub static COMMANDS: &[CommandDef] = &[];
