//! Owned tables that did not exist when a database opened, held to their declarations
//! the first time a statement naming them is compiled on a connection of that database.
//!
//! At open, every owned table that exists is compared with its declaration
//! ([`verify_live`](crate::tablesql::verify_live)). A table created later, by another
//! process's migrations say, would otherwise never be: a declaration naming another
//! column as its tenant could then write rows into another tenant's account. So the
//! connection's authorizer, which SQLite calls only while it compiles a statement, notes
//! which of the database's unchecked tables the statement names, and the engine checks
//! those before the statement runs, throwing the statement away if one does not match
//! (so its next use compiles, and is checked, again). A statement from the connection's
//! cache was compiled, and so checked, before. Once every table is checked, the
//! authorizer reads one flag.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use crate::error::Result;
use crate::schema::TableInfo;

/// One database's owned tables not checked yet.
#[derive(Default)]
pub(crate) struct LateTables {
    /// Whether `pending` has any: all the authorizer reads once every table is checked.
    any: AtomicBool,
    pending: Mutex<Vec<&'static TableInfo>>,
}

impl LateTables {
    /// Records the owned tables `conn`'s database does not have yet (after the open-time
    /// check of those it has).
    pub(crate) fn missing_from(&self, conn: &Connection) -> Result<()> {
        let mut missing = Vec::new();
        for info in crate::registry::owned_tables() {
            if !crate::tablesql::table_exists(conn, info.name)? {
                missing.push(info);
            }
        }
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        self.any.store(!missing.is_empty(), Ordering::Release);
        *pending = missing;
        Ok(())
    }

    /// From the authorizer: a statement being compiled names `table`.
    pub(crate) fn named(self: &Arc<Self>, table: &str) {
        if !self.any.load(Ordering::Acquire) {
            return;
        }
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        // SQLite finds a table whatever the case of its name.
        let Some(info) = pending.iter().find(|i| i.name.eq_ignore_ascii_case(table)).copied() else { return };
        drop(pending);
        NAMED.with_borrow_mut(|named| {
            if !named.iter().any(|(_, i)| std::ptr::eq(*i, info)) {
                named.push((Arc::clone(self), info));
            }
        });
        ANY_NAMED.set(true);
    }

    /// `info`'s table exists and matches its declaration.
    pub(crate) fn checked(&self, info: &'static TableInfo) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.retain(|i| !std::ptr::eq(*i, info));
        self.any.store(!pending.is_empty(), Ordering::Release);
    }
}

thread_local! {
    /// Unchecked tables named by the statements compiled on this thread since `reset`.
    static NAMED: RefCell<Vec<(Arc<LateTables>, &'static TableInfo)>> = const { RefCell::new(Vec::new()) };
    /// Whether `NAMED` has any (one read on the engine's path).
    static ANY_NAMED: Cell<bool> = const { Cell::new(false) };
}

/// Forgets what statements compiled earlier on this thread named (raw SQL, another
/// database's): called before the engine compiles one.
#[inline]
pub(crate) fn reset() {
    if ANY_NAMED.get() {
        forget_named();
    }
}

#[cold]
fn forget_named() {
    NAMED.with_borrow_mut(Vec::clear);
    ANY_NAMED.set(false);
}

/// Checks against their declarations the unchecked tables that the statement just
/// compiled on `conn` names.
#[inline]
pub(crate) fn check(conn: &Connection) -> Result<()> {
    if ANY_NAMED.get() { check_named(conn) } else { Ok(()) }
}

#[cold]
fn check_named(conn: &Connection) -> Result<()> {
    let named = NAMED.take();
    ANY_NAMED.set(false);
    for (late, info) in named {
        crate::tablesql::verify_table(conn, info)?;
        late.checked(info);
    }
    Ok(())
}
