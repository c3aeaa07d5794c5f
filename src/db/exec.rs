//! The SQLite engine adapter: one rendered statement on one rusqlite connection. How a
//! plan becomes statements is `query::run`, shared with PostgreSQL.

use std::cell::{RefCell, RefMut};

use rusqlite::{CachedStatement, Connection, ErrorCode};

use crate::error::{Error, Result};
use crate::query::run::{Binds, Engine, audit};
use crate::query::shape::{Dialect, Rendered};
use crate::query::{Plan, PlanKind, Scope};
use crate::value::{AsciiText, Param, bind};

/// A rusqlite connection as an [`Engine`], with the slot of a transaction that keeps its
/// last statement prepared (`None` outside one).
pub(crate) struct Sqlite<'s, 'c> {
    conn: &'c Connection,
    last: Option<&'s LastStatement<'c>>,
}

impl<'c> Sqlite<'_, 'c> {
    /// One statement at a time on `conn`, each from the connection's statement cache.
    pub(crate) fn new(conn: &'c Connection) -> Self {
        Sqlite { conn, last: None }
    }
}

impl<'s, 'c> Sqlite<'s, 'c> {
    /// Statements of one transaction: the last one stays prepared in `last`, so a loop
    /// that runs the same statement (a row-by-row insert) prepares it once.
    pub(crate) fn keeping(conn: &'c Connection, last: &'s LastStatement<'c>) -> Self {
        Sqlite { conn, last: Some(last) }
    }

    /// A prepared statement for `sql`: the transaction's last one when it has the same
    /// text, else one from the statement cache (which then becomes the last one).
    #[inline]
    fn prepare(&self, sql: &str) -> Result<Prepared<'s, 'c>> {
        // A statement run while the last one is in use (a nested call from a row
        // callback) takes the cache's path.
        let Some(mut held) = self.last.and_then(|l| l.0.try_borrow_mut().ok()) else {
            return Ok(Prepared::Cached(compile(self.conn, sql)?));
        };
        if held.as_ref().is_none_or(|(text, _)| **text != *sql) {
            // The statement it replaces goes back to the cache first.
            *held = None;
            *held = Some((sql.into(), compile(self.conn, sql)?));
        }
        RefMut::filter_map(held, |h| h.as_mut().map(|(_, stmt)| stmt))
            .map(Prepared::Held)
            .map_err(|_| Error::Internal { why: "a transaction's statement slot emptied while in use" })
    }
}

/// `sql` from the connection's statement cache, or compiled; a table it names that was
/// not there when the database opened is first checked against its declaration
/// ([`late`](super::late)), and on a mismatch the statement is thrown away, not cached.
#[inline(always)]
fn compile<'c>(conn: &'c Connection, sql: &str) -> Result<CachedStatement<'c>> {
    super::late::reset();
    let stmt = conn.prepare_cached(sql)?;
    if let Err(e) = super::late::check(conn) {
        stmt.discard();
        return Err(e);
    }
    Ok(stmt)
}

/// A transaction's last statement and its SQL text. Dropping it returns the statement to
/// the connection's cache.
#[derive(Default)]
pub(crate) struct LastStatement<'c>(RefCell<Option<(Box<str>, CachedStatement<'c>)>>);

impl LastStatement<'_> {
    /// Returns the statement to the connection's cache.
    pub(crate) fn clear(&self) {
        if let Ok(mut held) = self.0.try_borrow_mut() {
            *held = None;
        }
    }
}

enum Prepared<'s, 'c> {
    Held(RefMut<'s, CachedStatement<'c>>),
    Cached(CachedStatement<'c>),
}

impl<'c> std::ops::Deref for Prepared<'_, 'c> {
    type Target = rusqlite::Statement<'c>;
    #[inline]
    fn deref(&self) -> &Self::Target {
        match self {
            Prepared::Held(s) => s,
            Prepared::Cached(s) => s,
        }
    }
}

impl std::ops::DerefMut for Prepared<'_, '_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Prepared::Held(s) => s,
            Prepared::Cached(s) => s,
        }
    }
}

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

impl Engine for Sqlite<'_, '_> {
    const DIALECT: Dialect = Dialect::Sqlite;
    type Row<'r> = rusqlite::Row<'r>;

    #[inline]
    fn query<F>(&mut self, sql: &Rendered, binds: Binds<'_>, mut each: F) -> Result<()>
    where
        F: for<'r> FnMut(&rusqlite::Row<'r>) -> Result<bool>,
    {
        let mut stmt = self.prepare(&sql.sql)?;
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
        let mut stmt = self.prepare(&sql.sql)?;
        bind_all(&mut stmt, sql, binds)?;
        stmt.raw_execute().map_err(|e| map_write_error(e, table))
    }

    fn write_raw(&mut self, sql: &'static str, values: &[Param]) -> Result<usize> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        for (i, v) in values.iter().enumerate() {
            bind(&mut stmt, i + 1, v)?;
        }
        Ok(stmt.raw_execute()?)
    }

    fn atomically<R>(&mut self, f: impl FnOnce(&mut Self) -> Result<R>) -> Result<R> {
        let conn = self.conn;
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
