//! List commands and the quicklist (placeholder until the hash module lands).

use crate::cmd::CommandDef;

/// A list.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct QuickList;

impl QuickList {
    /// Number of elements.
    pub fn len(&self) -> usize {
        0
    }
    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        true
    }
    /// Heap bytes owned.
    pub fn heap_size(&self) -> usize {
        0
    }
}

/// The list commands.
pub static COMMANDS: &[CommandDef] = &[];
