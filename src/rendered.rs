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
/// one-row insert, a one-column update by key), kept in the table's static declaration;
/// one per dialect.
#[derive(Debug)]
pub(crate) struct KeyedShapes {
    pub(crate) get: [OnceLock<Rendered>; 2],
    pub(crate) delete: [OnceLock<Rendered>; 2],
    pub(crate) insert: [OnceLock<Rendered>; 2],
    /// An update by key of one column, per column (made on first use).
    pub(crate) update_one: OnceLock<Box<[[OnceLock<Rendered>; 2]]>>,
}

impl KeyedShapes {
    pub(crate) const fn new() -> Self {
        KeyedShapes {
            get: [OnceLock::new(), OnceLock::new()],
            delete: [OnceLock::new(), OnceLock::new()],
            insert: [OnceLock::new(), OnceLock::new()],
            update_one: OnceLock::new(),
        }
    }

    /// The slots of a one-column update by key of column `index` of a table of `columns`.
    pub(crate) fn update_one(&self, columns: usize, index: usize) -> Option<&[OnceLock<Rendered>; 2]> {
        self.update_one.get_or_init(|| (0..columns).map(|_| [OnceLock::new(), OnceLock::new()]).collect()).get(index)
    }
}
