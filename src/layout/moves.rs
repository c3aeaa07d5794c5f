//! Moving a tenant between the shared database (layout A) and its own file (layout B).
//!
//! Where a tenant's per-tenant tables live is one row in the shared database. Every read
//! and write goes where that row says, so the move's single point of no return is the
//! transaction that changes it:
//!
//! - **into its own file**: copy the rows into the file (clearing any copy a killed run
//!   left), verify counts and checksums against the source, then in one shared-database
//!   transaction set the location and delete the source rows;
//! - **into the shared database**: retire the file (its tables renamed in one transaction,
//!   the rows kept), then in one shared-database transaction clear any leftover, copy the
//!   rows in, verify them, and set the location; then remove the file.
//!
//! Retiring comes first because other processes serve a tenant from a file they hold open
//! without reading its location per statement: on a retired file their statements fail,
//! and they re-read the location. A move holds a lock file beside the tenant's database
//! from start to end, so a process that meets a retired file can tell a running move
//! (refused with `Error::TenantMoving`) from a killed one (undone on the spot).
//!
//! Killed at any point, the tenant is fully readable from exactly one place, and running
//! the move again completes it.

use rusqlite::Connection;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::schema::TableInfo;
use crate::tablesql;
use crate::tenant::TenantId;

/// Where a tenant's per-tenant tables live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Location {
    /// In its own database file (the default in layouts B and C).
    OwnFile,
    /// In the shared database, beside other tenants (layout A for this tenant).
    Shared,
}

pub(crate) const LOCATIONS_DDL: &str = "CREATE TABLE IF NOT EXISTS tenantry_tenant_locations (
    tenant TEXT PRIMARY KEY,
    location TEXT NOT NULL CHECK (location IN ('own', 'shared'))
);
CREATE TABLE IF NOT EXISTS tenantry_tenant_files (
    tenant TEXT PRIMARY KEY
)";

/// Records that a tenant's own file was created (and so must exist from now on).
pub(crate) const RECORD_FILE: &str = "INSERT OR IGNORE INTO tenantry_tenant_files (tenant) VALUES (?1)";
/// Whether a tenant's own file was created.
pub(crate) const FILE_RECORDED: &str = "SELECT EXISTS (SELECT 1 FROM tenantry_tenant_files WHERE tenant = ?1)";
/// Forgets a tenant's own file (moved into the shared database, or deleted).
pub(crate) const FORGET_FILE: &str = "DELETE FROM tenantry_tenant_files WHERE tenant = ?1";

/// Every row of `tenant` in `info`, as text, in primary-key order (for copying and for
/// the checksum).
fn rows(conn: &Connection, info: &TableInfo, tenant: &TenantId) -> Result<Vec<Vec<rusqlite::types::Value>>> {
    rows_of(conn, info, info.name, tenant)
}

/// [`rows`] from the table named `table` (a retired file's renamed table), if it exists.
pub(super) fn rows_of(
    conn: &Connection,
    info: &TableInfo,
    table: &str,
    tenant: &TenantId,
) -> Result<Vec<Vec<rusqlite::types::Value>>> {
    let Some(col) = info.tenant_column() else { return Ok(Vec::new()) };
    if !tablesql::table_exists(conn, table)? {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(&tablesql::select_tenant_rows(info, table, col))?;
    let mut out = Vec::new();
    let mut q = stmt.query([tenant.to_string()])?;
    while let Some(row) = q.next()? {
        out.push(
            (0..info.columns.len())
                .map(|i| row.get::<_, rusqlite::types::Value>(i))
                .collect::<rusqlite::Result<_>>()?,
        );
    }
    Ok(out)
}

/// Count and SHA-256 of rows, over the values themselves: each value as a type tag, its
/// length where it has one, and its bytes (integers and reals as their 8 little-endian
/// bytes, so `-0.0`, `NaN` payloads and large integers are compared exactly).
fn checksum(rows: &[Vec<rusqlite::types::Value>]) -> (usize, Vec<u8>) {
    use rusqlite::types::Value as V;
    let mut h = Sha256::new();
    for row in rows {
        h.update((row.len() as u64).to_le_bytes());
        for v in row {
            match v {
                V::Null => h.update([0u8]),
                V::Integer(i) => {
                    h.update([1u8]);
                    h.update(i.to_le_bytes());
                }
                V::Real(r) => {
                    h.update([2u8]);
                    h.update(r.to_bits().to_le_bytes());
                }
                V::Text(t) => {
                    h.update([3u8]);
                    h.update((t.len() as u64).to_le_bytes());
                    h.update(t.as_bytes());
                }
                V::Blob(b) => {
                    h.update([4u8]);
                    h.update((b.len() as u64).to_le_bytes());
                    h.update(b);
                }
            }
        }
    }
    (rows.len(), h.finalize().to_vec())
}

fn insert_rows(conn: &Connection, info: &TableInfo, rows: &[Vec<rusqlite::types::Value>]) -> Result<()> {
    let mut stmt = conn.prepare(&tablesql::insert_row(info))?;
    for row in rows {
        stmt.execute(rusqlite::params_from_iter(row.iter()))?;
    }
    Ok(())
}

fn clear(conn: &Connection, info: &TableInfo, tenant: &TenantId) -> Result<usize> {
    let Some(col) = info.tenant_column() else { return Ok(0) };
    Ok(conn.execute(&tablesql::delete_tenant_rows(info, col), [tenant.to_string()])?)
}

fn location_text(location: Location) -> &'static str {
    match location {
        Location::OwnFile => "own",
        Location::Shared => "shared",
    }
}

/// Removes a tenant's location row (when the tenant is deleted).
pub(crate) const FORGET_LOCATION: &str = "DELETE FROM tenantry_tenant_locations WHERE tenant = ?1";

fn set_location(conn: &Connection, tenant: &TenantId, to: Location) -> Result<()> {
    conn.execute(
        "INSERT INTO tenantry_tenant_locations (tenant, location) VALUES (?1, ?2)
         ON CONFLICT (tenant) DO UPDATE SET location = excluded.location",
        (tenant.to_string(), location_text(to)),
    )?;
    Ok(())
}

impl Layout {
    /// Where `tenant`'s per-tenant tables live now. A tenant with no location row lives in
    /// its own file, unless the shared database holds rows of it in per-tenant tables (a
    /// database first used as layout A), in which case it lives there.
    ///
    /// The answer is checked against the shared database's `data_version` (read on a
    /// connection of its own: one cheap step, no query of the locations table), so a move by
    /// another process is seen here. Statements of a tenant whose file is open skip even
    /// that: a move out retires the file first, which their next statement meets.
    pub fn location(&self, tenant: &TenantId) -> Result<Location> {
        self.placement(tenant).map(|(location, _)| location)
    }

    /// [`location`](Layout::location), and whether it was just read from the shared
    /// database (`true`) rather than the cache: a fresh answer also re-checks the tenant's
    /// open file handle.
    pub(crate) fn placement(&self, tenant: &TenantId) -> Result<(Location, bool)> {
        if self.inner.tenants.is_none() {
            return Ok((Location::Shared, false));
        }
        let (cached, version) = self.inner.locations.get(tenant)?;
        if let Some(location) = cached {
            return Ok((location, false));
        }
        let location = self.lookup_location(tenant)?;
        self.inner.locations.remember(tenant, location, version);
        Ok((location, true))
    }

    /// Reads the location from the shared database (recording it on first sight).
    fn lookup_location(&self, tenant: &TenantId) -> Result<Location> {
        let per_tenant: Vec<&'static TableInfo> = crate::owned_tables().filter(|t| self.is_per_tenant(t)).collect();
        self.shared_database().with_conn(|conn| {
            use rusqlite::OptionalExtension as _;
            let stored: Option<String> = conn
                .prepare_cached("SELECT location FROM tenantry_tenant_locations WHERE tenant = ?1")?
                .query_row([tenant.to_string()], |r| r.get(0))
                .optional()?;
            match stored.as_deref() {
                Some("shared") => return Ok(Location::Shared),
                Some(_) => return Ok(Location::OwnFile),
                None => {}
            }
            let mut found = Location::OwnFile;
            for info in per_tenant {
                let Some(col) = info.tenant_column() else { continue };
                if conn
                    .prepare_cached(&tablesql::tenant_has_rows(info, col))?
                    .query_row([tenant.to_string()], |r| r.get::<_, bool>(0))?
                {
                    found = Location::Shared;
                    break;
                }
            }
            // Recorded, so later statements take one lookup. The answer follows from the
            // data, so two processes recording it at once agree; a move overwrites it.
            conn.prepare_cached("INSERT OR IGNORE INTO tenantry_tenant_locations (tenant, location) VALUES (?1, ?2)")?
                .execute((tenant.to_string(), location_text(found)))?;
            Ok(found)
        })
    }

    /// Moves `tenant`'s per-tenant tables to `to`, copying every row, verifying counts and
    /// checksums, then removing the source. Safe to interrupt at any point and to run
    /// again; running it when the tenant is already there only clears leftovers.
    pub fn move_tenant(&self, tenant: &TenantId, to: Location) -> Result<()> {
        let Some(tenants) = &self.inner.tenants else {
            return Err(Error::NoTenantDatabases);
        };
        let tables: Vec<&'static TableInfo> = crate::owned_tables().filter(|t| self.is_per_tenant(t)).collect();
        // No statement of this tenant runs in this process while it moves (statements take
        // the same lock for reading). Other processes must not write to the tenant meanwhile.
        let lock = self.tenant_lock(tenant);
        let _moving = lock.write().unwrap_or_else(|p| p.into_inner());
        // Nor does a move or deletion of it in another process.
        let _held = tenants.move_lock(tenant, true)?;
        // Read afresh, and forgotten again once moved, whatever the outcome.
        self.inner.locations.forget(tenant);
        let _forget = ForgetOnDrop(self, *tenant);
        let from = self.location(tenant)?;
        match (from, to) {
            (Location::Shared, Location::OwnFile) => {
                let file = tenants.get(tenant, true, true, self.shared_database())?;
                // A file left retired by an earlier move out is brought back into use; any
                // rows of it are replaced by the copy below.
                file.write(|c| tablesql::restore(c, &tables))?;
                let source: Vec<_> = self
                    .shared_database()
                    .with_conn(|c| tables.iter().map(|t| rows(c, t, tenant)).collect::<Result<Vec<_>>>())?;
                // Any copy a killed run left in the file is replaced.
                file.write(|c| {
                    for (info, rows) in tables.iter().zip(&source) {
                        clear(c, info, tenant)?;
                        insert_rows(c, info, rows)?;
                    }
                    Ok(())
                })?;
                let copied: Vec<_> =
                    file.with_conn(|c| tables.iter().map(|t| rows(c, t, tenant)).collect::<Result<Vec<_>>>())?;
                if source.iter().map(|r| checksum(r)).ne(copied.iter().map(|r| checksum(r))) {
                    return Err(Error::MoveMismatch);
                }
                // The point of no return: switch and remove the source in one transaction.
                self.shared_database().write(|c| {
                    set_location(c, tenant, Location::OwnFile)?;
                    for info in &tables {
                        clear(c, info, tenant)?;
                    }
                    Ok(())
                })?;
            }
            (Location::OwnFile, Location::Shared) => {
                let file = match tenants.path(tenant).exists() {
                    true => Some(tenants.get(tenant, true, true, self.shared_database())?),
                    false => None,
                };
                let source: Vec<_> = match &file {
                    Some(file) => {
                        // First the file is retired (its tables renamed, the rows kept), so
                        // from here on a statement any process runs on it fails instead of
                        // reading or writing rows that are leaving: other processes skip the
                        // location check while they hold the file open, and see moves this way.
                        file.write(|c| tablesql::retire(c, &tables))?;
                        file.with_conn(|c| {
                            tables
                                .iter()
                                .map(|t| rows_of(c, t, &tablesql::retired_name(t), tenant))
                                .collect::<Result<Vec<_>>>()
                        })?
                    }
                    None => tables.iter().map(|_| Vec::new()).collect(),
                };
                let switched = self.shared_database().write(|c| {
                    for (info, rows) in tables.iter().zip(&source) {
                        clear(c, info, tenant)?;
                        insert_rows(c, info, rows)?;
                    }
                    let copied = tables.iter().map(|t| rows(c, t, tenant)).collect::<Result<Vec<_>>>()?;
                    if source.iter().map(|r| checksum(r)).ne(copied.iter().map(|r| checksum(r))) {
                        return Err(Error::MoveMismatch);
                    }
                    // The file is about to go: it is no longer one that must exist.
                    c.execute(FORGET_FILE, [tenant.to_string()])?;
                    set_location(c, tenant, Location::Shared)
                });
                if let Err(e) = switched {
                    // Not switched: the file is still the tenant's, so it comes back into use.
                    // (If this fails too, the file stays retired and a rerun finishes.)
                    if let Some(file) = &file {
                        let _ = file.write(|c| tablesql::restore(c, &tables));
                    }
                    return Err(e);
                }
                drop(file);
                self.remove_file(tenant)?;
            }
            (Location::Shared, Location::Shared) => {
                // A killed run may have left the file behind.
                self.remove_file(tenant)?;
            }
            (Location::OwnFile, Location::OwnFile) => {
                // Nothing to move. (The switch commits in the same transaction as the copy or
                // the delete, so a killed move leaves no rows behind in the shared database;
                // rows found there for a tenant with no location row make it `Shared`.) A
                // move out that was killed after retiring the file is undone.
                if tenants.path(tenant).exists() {
                    tenants
                        .get(tenant, true, true, self.shared_database())?
                        .write(|c| tablesql::restore(c, &tables))?;
                }
            }
        }
        Ok(())
    }

    pub(crate) fn remove_file(&self, tenant: &TenantId) -> Result<()> {
        let (Some(tenants), Some(path)) = (&self.inner.tenants, self.tenant_path(tenant)) else { return Ok(()) };
        tenants.close(tenant);
        // The log files first: a database file without them is whole, while log files
        // without their database (left by a removal killed half-way) would be removed by
        // the rerun all the same.
        for suffix in ["-wal", "-shm", ""] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            if file.exists() {
                std::fs::remove_file(&file)
                    .map_err(|source| Error::Io { what: "remove a tenant's database file", source })?;
            }
        }
        Ok(())
    }
}

/// Drops a tenant's cached location when a move or a delete ends, however it ends.
pub(crate) struct ForgetOnDrop<'a>(pub(crate) &'a Layout, pub(crate) TenantId);

impl Drop for ForgetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.inner.locations.forget(&self.1);
    }
}

#[cfg(test)]
mod tests {
    use super::checksum;
    use rusqlite::types::Value as V;

    #[test]
    fn checksums_tell_apart_values_that_print_alike_or_run_together() {
        let one = |row: Vec<V>| checksum(&[row]).1;
        let distinct = [
            one(vec![V::Text("a".into()), V::Text("bc".into())]),
            one(vec![V::Text("ab".into()), V::Text("c".into())]),
            one(vec![V::Integer(1)]),
            one(vec![V::Real(1.0)]),
            one(vec![V::Text("1".into())]),
            one(vec![V::Blob(b"1".to_vec())]),
            one(vec![V::Real(0.0)]),
            one(vec![V::Real(-0.0)]),
            one(vec![V::Null]),
            one(vec![]),
        ];
        for (i, a) in distinct.iter().enumerate() {
            for b in &distinct[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(one(vec![V::Real(f64::NAN)]), one(vec![V::Real(f64::NAN)]));
        // Row boundaries count: two rows of one value differ from one row of two.
        assert_ne!(
            checksum(&[vec![V::Integer(1)], vec![V::Integer(2)]]).1,
            checksum(&[vec![V::Integer(1), V::Integer(2)]]).1
        );
    }
}
