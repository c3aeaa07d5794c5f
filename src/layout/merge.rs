//! Merging one tenant's rows into another's (an anonymous visitor logging in to an
//! existing account), wherever each tenant's rows live.

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::layout::moves::rows_of;
use crate::tablesql;
use crate::tenant::TenantId;

/// What a merge did with one table's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableMerge {
    /// The table.
    pub table: &'static str,
    /// Rows that became the target tenant's.
    pub moved: usize,
    /// Rows of the source tenant whose key (primary or unique) the target already had:
    /// the target's row is kept and the source's is discarded.
    pub conflicting: usize,
}

impl Layout {
    /// Moves every owned row of `from` to `into`, in every table, from wherever `from`'s
    /// rows live (the shared database, its own file, or both in layout C) to wherever
    /// `into`'s live, then deletes `from` (what is left of its rows, and its file).
    ///
    /// **Conflicts**: a row of `from` whose primary key or a unique key `into` already
    /// holds is discarded; `into`'s row is kept. Each is counted in
    /// [`TableMerge::conflicting`].
    ///
    /// Holding both tokens is the authority to merge: the caller acts for both tenants
    /// (the auth layer calls this when an anonymous visitor logs in). Crash-safe and
    /// resumable: each database that receives rows is written in one transaction before
    /// anything of `from` is removed, so a merge killed at any point leaves every row in
    /// `from`, in `into`, or in both; running it again moves what is left (a row already
    /// copied meets itself and counts as a conflict) and then deletes `from`.
    ///
    /// ```
    /// # fn main() -> tenantry::Result<()> {
    /// use tenantry::{SqliteDatabase, Layout, Table, TenantId};
    /// #[derive(Table, Debug)]
    /// #[table(name = "merge_doc_notes", owned)]
    /// struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, body: String }
    ///
    /// let layout = Layout::shared(SqliteDatabase::open_in_memory()?)?;
    /// let (visitor, account) = (TenantId::generate(), TenantId::generate());
    /// layout.execute(Note::insert(&visitor, NewNote { id: 1, body: "draft".into() }))?;
    /// layout.execute(Note::insert(&visitor, NewNote { id: 2, body: "visitor's".into() }))?;
    /// layout.execute(Note::insert(&account, NewNote { id: 2, body: "account's".into() }))?;
    ///
    /// let report = layout.merge_tenant(&visitor, &account)?;
    /// assert_eq!((report[0].moved, report[0].conflicting), (1, 1));
    /// assert_eq!(layout.fetch_one(Note::get(&account, 2))?.body, "account's");
    /// assert!(layout.fetch_all(Note::select(&visitor))?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn merge_tenant(&self, from: &TenantId, into: &TenantId) -> Result<Vec<TableMerge>> {
        if from == into {
            return Ok(Vec::new());
        }
        // Neither tenant moves or is deleted meanwhile, in this process or another; locks
        // are taken in one order, so two merges cannot wait on each other.
        let (first, second) = if from < into { (from, into) } else { (into, from) };
        let locks = [self.tenant_lock(first), self.tenant_lock(second)];
        let _guards: Vec<_> = locks.iter().map(|l| l.write().unwrap_or_else(|p| p.into_inner())).collect();
        let _held = (self.move_lock(first)?, self.move_lock(second)?);
        // A file a killed merge or deletion left retired comes back first: with the locks
        // held, nothing else is working on it.
        self.restore_retired_locked(from)?;
        self.restore_retired_locked(into)?;

        let mut report = Vec::new();
        for info in crate::owned_tables() {
            let Some(col) = info.tenant_column() else { continue };
            let Some(source) = self.database_for(info, from, false)? else { continue };
            let target =
                self.database_for(info, into, true)?.ok_or(Error::Internal { why: "no database to merge into" })?;
            let (moved, conflicting) = if source.same_as(&target) {
                // One database: the rows change hands in place, in one transaction.
                target.write(|c| {
                    if !tablesql::table_exists(c, info.name)? {
                        return Ok((0, 0));
                    }
                    let moved = c.execute(&tablesql::reown_rows(info, col), [into.to_string(), from.to_string()])?;
                    let left: i64 =
                        c.query_row(&tablesql::count_tenant_rows(info, col), [from.to_string()], |r| r.get(0))?;
                    Ok((moved, usize::try_from(left).unwrap_or(usize::MAX)))
                })?
            } else {
                // Two databases: copied into the target in one transaction; the source rows
                // go with `from` below.
                let rows = source.with_conn(|c| rows_of(c, info, info.name, from))?;
                if rows.is_empty() {
                    continue;
                }
                let tenant = info.tenant.ok_or(Error::NotOwned { table: info.name })?;
                target.write(|c| {
                    let mut stmt = c.prepare(&tablesql::insert_row_or_ignore(info))?;
                    let mut moved = 0;
                    for mut row in rows.iter().cloned() {
                        row[tenant] = rusqlite::types::Value::Text(into.to_string());
                        moved += stmt.execute(rusqlite::params_from_iter(row.iter()))?;
                    }
                    Ok((moved, rows.len() - moved))
                })?
            };
            if moved + conflicting > 0 {
                report.push(TableMerge { table: info.name, moved, conflicting });
            }
        }
        // The job queue's rows (in the shared database) follow too.
        let jobs = self.shared_database().write(|c| tablesql::reown_tenant_jobs(c, from, into))?;
        if jobs > 0 {
            report.push(TableMerge { table: "tenantry_jobs", moved: jobs, conflicting: 0 });
        }
        self.delete_tenant_locked(from)?;
        Ok(report)
    }
}
