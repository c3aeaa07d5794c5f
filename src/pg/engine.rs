//! The PostgreSQL adapter of `query::run`: one rendered statement at a time, in an open
//! transaction.

use std::collections::HashMap;
use std::sync::Arc;

use postgres::Statement;
use postgres::fallible_iterator::FallibleIterator as _;
use postgres::types::ToSql;

use crate::error::{Error, Result};
use crate::query::run::{Binds, Engine};
use crate::query::shape::{Dialect, Rendered};
use crate::value::Value;

use super::param::{Param, PgRow, convert};
use super::pool::prepared;

/// A unique violation (always within one tenant: keys lead with the tenant column) as
/// [`Error::Conflict`], like SQLite's; anything else as [`Error::Postgres`].
fn conflict_or(e: postgres::Error, table: &'static str) -> Error {
    if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) {
        Error::Conflict { table, source: Box::new(e) }
    } else {
        Error::Postgres(e)
    }
}

fn as_refs<'a>(params: &'a [Param<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

/// An open PostgreSQL transaction and its connection's prepared statements, as an
/// [`Engine`]: how a plan becomes statements is `query::run`, shared with SQLite.
pub(super) struct Pg<'a> {
    /// A connection inside a transaction that tenantry began (and ends).
    pub(super) tx: &'a mut postgres::Client,
    pub(super) cache: &'a mut HashMap<Arc<str>, Statement>,
}

impl Pg<'_> {
    /// The prepared statement and its parameters, the tenant's slot bound as a `uuid`.
    fn bound<'v>(
        &mut self,
        sql: &Rendered,
        binds: Binds<'v>,
        tenant: &'v Value,
    ) -> Result<(Statement, Vec<Param<'v>>)> {
        let stmt = prepared(self.tx, self.cache, &sql.sql)?;
        let ps = sql.slots.iter().map(|s| Param(binds.value(*s).unwrap_or(tenant))).collect();
        Ok((stmt, ps))
    }
}

impl Engine for Pg<'_> {
    const DIALECT: Dialect = Dialect::Postgres;
    type Row<'r> = PgRow;

    fn query<F>(&mut self, sql: &Rendered, binds: Binds<'_>, mut each: F) -> Result<()>
    where
        F: for<'r> FnMut(&PgRow) -> Result<bool>,
    {
        let tenant = binds.scope.first_param();
        let (stmt, ps) = self.bound(sql, binds, &tenant)?;
        // Streamed: rows past the last one wanted are neither collected nor converted.
        let mut rows = self.tx.query_raw(&stmt, as_refs(&ps)).map_err(Error::Postgres)?;
        while let Some(row) = rows.next().map_err(Error::Postgres)? {
            if !each(&convert(&row)?)? {
                break;
            }
        }
        Ok(())
    }

    fn write(&mut self, sql: &Rendered, binds: Binds<'_>, table: &'static str) -> Result<usize> {
        let tenant = binds.scope.first_param();
        let (stmt, ps) = self.bound(sql, binds, &tenant)?;
        Ok(self.tx.execute(&stmt, &as_refs(&ps)).map_err(|e| conflict_or(e, table))? as usize)
    }

    fn write_raw(&mut self, sql: &'static str, values: &[Value]) -> Result<usize> {
        let ps: Vec<Param<'_>> = values.iter().map(Param).collect();
        Ok(self.tx.execute(sql, &as_refs(&ps)).map_err(Error::Postgres)? as usize)
    }

    /// Every statement runs inside a transaction already: its writes commit together.
    fn atomically<R>(&mut self, f: impl FnOnce(&mut Self) -> Result<R>) -> Result<R> {
        f(self)
    }
}
