//! The SQLite engine adapter: one rendered statement on one rusqlite connection. How a
//! plan becomes statements is `query::run`, shared with PostgreSQL.

use rusqlite::{Connection, ErrorCode};

use crate::error::{Error, Result};
use crate::query::run::{Binds, Engine, audit};
use crate::query::shape::{Dialect, Rendered};
use crate::query::{Plan, PlanKind, Scope};
use crate::value::{AsciiText, Value, bind};

/// A rusqlite connection as an [`Engine`].
pub(crate) struct Sqlite<'c>(pub(crate) &'c Connection);

/// Binds each `?` to its slot's value; the tenant's slot binds its canonical text.
#[inline]
fn bind_all(stmt: &mut rusqlite::Statement<'_>, sql: &Rendered, binds: Binds<'_>) -> Result<()> {
    for (i, slot) in sql.slots.iter().enumerate() {
        match (binds.value(*slot), binds.scope) {
            (Some(value), _) => bind(stmt, i + 1, value)?,
            (None, Scope::Tenant(t)) => stmt.raw_bind_parameter(i + 1, AsciiText(t.text()))?,
            (None, Scope::Admin(_)) => stmt.raw_bind_parameter(i + 1, rusqlite::types::Null)?,
        }
    }
    Ok(())
}

pub(crate) fn map_write_error(e: rusqlite::Error, table: &'static str) -> Error {
    match e.sqlite_error() {
        Some(err)
            if err.code == ErrorCode::ConstraintViolation
                && matches!(
                    err.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY | rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                ) =>
        {
            Error::Conflict { table, source: Box::new(e) }
        }
        _ => Error::from(e),
    }
}

impl Engine for Sqlite<'_> {
    const DIALECT: Dialect = Dialect::Sqlite;
    type Row<'r> = rusqlite::Row<'r>;

    #[inline]
    fn query<F>(&mut self, sql: &Rendered, binds: Binds<'_>, mut each: F) -> Result<()>
    where
        F: for<'r> FnMut(&rusqlite::Row<'r>) -> Result<bool>,
    {
        let mut stmt = self.0.prepare_cached(&sql.sql)?;
        bind_all(&mut stmt, sql, binds)?;
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next()? {
            if !each(row)? {
                break;
            }
        }
        Ok(())
    }

    #[inline]
    fn write(&mut self, sql: &Rendered, binds: Binds<'_>, table: &'static str) -> Result<usize> {
        let mut stmt = self.0.prepare_cached(&sql.sql)?;
        bind_all(&mut stmt, sql, binds)?;
        stmt.raw_execute().map_err(|e| map_write_error(e, table))
    }

    fn write_raw(&mut self, sql: &'static str, values: &[Value]) -> Result<usize> {
        let mut stmt = self.0.prepare_cached(sql)?;
        for (i, v) in values.iter().enumerate() {
            bind(&mut stmt, i + 1, v)?;
        }
        Ok(stmt.raw_execute()?)
    }

    fn atomically<R>(&mut self, f: impl FnOnce(&mut Self) -> Result<R>) -> Result<R> {
        let conn = self.0;
        in_savepoint(conn, |_| f(self))
    }
}

/// Runs `f` inside a savepoint (a transaction of its own when none is open).
pub(crate) fn in_savepoint<R>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
    let outer = conn.is_autocommit();
    conn.execute_batch(if outer { "BEGIN IMMEDIATE" } else { "SAVEPOINT tenantry_chunk" })?;
    match f(conn) {
        Ok(v) => {
            conn.execute_batch(if outer { "COMMIT" } else { "RELEASE tenantry_chunk" })?;
            Ok(v)
        }
        Err(e) => {
            let undo = if outer { "ROLLBACK" } else { "ROLLBACK TO tenantry_chunk; RELEASE tenantry_chunk" };
            // The original error is what the caller needs; a failed rollback leaves the
            // connection in a transaction that the pool discards.
            let _ = conn.execute_batch(undo);
            Err(e)
        }
    }
}

/// Raw query through an admin capability.
pub(crate) fn query_raw<R>(
    conn: &Connection,
    plan: &Plan<'_>,
    mut f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<R>,
) -> Result<Vec<R>> {
    let PlanKind::Raw(sql, params) = &plan.kind else {
        return Err(Error::Internal { why: "a built statement went to fetch_raw" });
    };
    audit(plan.scope, sql);
    let mut stmt = conn.prepare_cached(sql)?;
    for (i, v) in params.iter().enumerate() {
        bind(&mut stmt, i + 1, v)?;
    }
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(f(row)?);
    }
    Ok(out)
}
