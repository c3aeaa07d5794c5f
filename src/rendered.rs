//! SQL text with, for each `?` in it, the slot of the value it binds: what a statement
//! shape renders to once, and what every cache and engine passes around. A leaf module, so
//! declarations can keep their tables' by-key renderings without depending on the query
//! layer that makes them.

use std::sync::OnceLock;

/// Index of a bound parameter in a statement's parameter list. Slot 0 of a scoped
/// statement is always the tenant.
pub(crate) type Slot = u32;
pub(crate) const TENANT_SLOT: Slot = 0;

/// A rendered shape: SQL text plus, for each `?` in order, the slot it binds.
#[derive(Debug)]
pub(crate) struct Rendered {
    pub(crate) sql: String,
    pub(crate) slots: Vec<Slot>,
}

/// Per-table render slots for the shapes every owned table has (by-key get and delete, a
/// one-row insert), kept in the table's static declaration; one per dialect.
#[derive(Debug)]
pub(crate) struct KeyedShapes {
    pub(crate) get: [OnceLock<Rendered>; 2],
    pub(crate) delete: [OnceLock<Rendered>; 2],
    pub(crate) insert: [OnceLock<Rendered>; 2],
}

impl KeyedShapes {
    pub(crate) const fn new() -> Self {
        KeyedShapes {
            get: [OnceLock::new(), OnceLock::new()],
            delete: [OnceLock::new(), OnceLock::new()],
            insert: [OnceLock::new(), OnceLock::new()],
        }
    }
}
