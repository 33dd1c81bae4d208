//! Placeholder.

use mlua::{Lua, Table};

/// The library table.
pub(crate) fn open(lua: &Lua) -> mlua::Result<Table> {
    lua.create_table()
}
