//! Set commands and the set representations (placeholder until the hash module lands).

use crate::cmd::CommandDef;

/// A set past the small-set limits.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct BigSet;

impl BigSet {
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

/// The set commands.
pub static COMMANDS: &[CommandDef] = &[];

/// A small set of integers.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct IntSet(Box<[u8]>);

impl IntSet {
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
        self.0.len()
    }
}
