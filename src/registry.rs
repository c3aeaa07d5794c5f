//! The set of tables declared in this program, collected at link time from every
//! `#[derive(Table)]`: lifecycle operations (export, delete, merge a tenant) cover every
//! owned table without a hand-kept list.

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use crate::schema::TableInfo;

/// One declared table, submitted by the derive to the link-time registry.
#[doc(hidden)]
pub struct Registered(pub &'static TableInfo);

inventory::collect!(Registered);

/// Every table declared with `#[derive(Table)]` in this program, in no particular order.
///
/// ```
/// #[derive(tenantry::Table)]
/// #[table(name = "notes", owned)]
/// struct Note {
///     #[tenant]
///     user_id: tenantry::TenantId,
///     #[primary_key]
///     id: uuid::Uuid,
/// }
/// assert!(tenantry::tables().any(|t| t.name == "notes" && t.is_owned()));
/// ```
pub fn tables() -> impl Iterator<Item = &'static TableInfo> {
    inventory::iter::<Registered>.into_iter().map(|r| r.0)
}

/// The tables whose rows belong to a tenant.
pub fn owned_tables() -> impl Iterator<Item = &'static TableInfo> {
    tables().filter(|t| t.is_owned())
}

/// Whether `info` is one of the declarations in the registry (by address): statements
/// accept only those, so a hand-written `TableInfo` that skipped the registry, and with it
/// every check made on registered declarations, never reaches SQL.
pub(crate) fn is_registered(info: &'static TableInfo) -> bool {
    static REGISTERED: std::sync::OnceLock<rustc_hash::FxHashSet<usize>> = std::sync::OnceLock::new();
    REGISTERED
        .get_or_init(|| tables().map(|t| std::ptr::from_ref(t) as usize).collect())
        .contains(&(std::ptr::from_ref(info) as usize))
}

/// Checks every declaration before a database opens: each one is valid on its own (plain
/// identifiers, keys in range, not a name reserved for the library's own tables, see
/// [`check_declaration`](crate::schema::check_declaration)), and no SQL table is declared
/// twice (names compared without case, as SQLite does): a second declaration could put
/// the tenant column on another column.
pub(crate) fn check_registry() -> Result<()> {
    // The registry is fixed at link time: once it passed, it passes.
    static PASSED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    if PASSED.get().is_some() {
        return Ok(());
    }
    let mut seen: FxHashMap<String, &'static TableInfo> = FxHashMap::default();
    for info in tables() {
        crate::schema::check_declaration(info)?;
        if let Some(prev) = seen.insert(info.name.to_ascii_lowercase(), info)
            && !std::ptr::eq(prev, info)
        {
            return Err(Error::DuplicateTable { table: info.name });
        }
    }
    let _ = PASSED.set(());
    Ok(())
}
