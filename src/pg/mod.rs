//! PostgreSQL backend (feature `postgres`): the same statements, rendered for PostgreSQL,
//! with row-level security as a second wall.
//!
//! Every tenant-scoped statement runs in a transaction that first sets
//! `tenantry.tenant_id` with `SET LOCAL` (local to that transaction, never a
//! session `SET`), so a pooled connection cannot carry one tenant's setting into another's
//! work. The policies from [`TableInfo::rls_postgres`] then filter every row by it, even if
//! a tenantry statement lost its tenant predicate, and for hand-written SQL run inside such
//! a transaction. They do not stop code that sends arbitrary SQL as the application role
//! from calling `set_config` (or `SET`) itself. Cross-tenant statements ([`Admin`]) run only on a
//! separately configured connection ([`PgDatabase::with_admin`]).
//!
//! Role setup the application needs (see the README): an owner role that runs the DDL and
//! owns the database, a login role for the application granted only `SELECT, INSERT,
//! UPDATE, DELETE` (not a superuser, no `BYPASSRLS` or `CREATEROLE`, owning nothing), and,
//! for admin work, a separate role with `BYPASSRLS` (under `FORCE` the owner sees no row).
//! [`PgDatabase::check_rls`] fails loudly when the application role could get past the
//! policies.
//!
//! [`Admin`]: crate::Admin

mod check;
mod engine;
mod param;
mod pool;
mod transaction;

use std::collections::HashMap;
use std::sync::Arc;

use postgres::Statement;

use crate::error::{Error, Result};
use crate::query::run;
use crate::query::{Execute, Fetch, Scope};
use crate::schema::TableInfo;

use engine::Pg;
use pool::{PgConn, Pool, forget_stale, pool};

pub use transaction::PgTransaction;

/// A PostgreSQL database: a pool for tenant-scoped work (through row-level security) and,
/// optionally, one for audited cross-tenant work.
#[derive(Clone)]
pub struct PgDatabase {
    tenants: Pool,
    admin: Option<Pool>,
}

impl std::fmt::Debug for PgDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgDatabase").finish_non_exhaustive()
    }
}

impl PgDatabase {
    /// Connects the tenant pool (at most `max` connections) with the application's role,
    /// e.g. `postgres://app:secret@localhost/clips`.
    ///
    /// Like [`Database::open`](crate::Database::open), it first checks every declaration in
    /// the program (identifiers, reserved names, duplicates).
    pub fn connect(url: &str, max: u32) -> Result<Self> {
        crate::registry::check_registry()?;
        Ok(PgDatabase { tenants: pool(url, max)?, admin: None })
    }

    /// Adds the connection used for [`Admin`](crate::Admin) statements: a role with
    /// `BYPASSRLS` (or the owner), configured explicitly.
    pub fn with_admin(mut self, url: &str, max: u32) -> Result<Self> {
        self.admin = Some(pool(url, max)?);
        Ok(self)
    }

    /// Runs `f` in a transaction on the pool `scope` calls for, with the tenant set for
    /// that transaction only. `BEGIN` and `SET LOCAL tenantry.tenant_id` go to the server
    /// in one simple query (one round trip, not two), then the statement, then `COMMIT`:
    /// three round trips where `BEGIN`, `set_config(..)`, the statement and `COMMIT`
    /// took four. The tenant's value is the token's canonical text (hex digits and
    /// hyphens), never user input. `SET LOCAL` is what Citus forwards to its workers (with
    /// `citus.propagate_set_commands = 'local'`); it does not forward `set_config`.
    fn transaction_in<R>(
        &self,
        scope: &Scope,
        f: impl FnOnce(&mut postgres::Client, &mut HashMap<Arc<str>, Statement>) -> Result<R>,
    ) -> Result<R> {
        let pool = match scope {
            Scope::Tenant(_) => &self.tenants,
            Scope::Admin(_) => self.admin.as_ref().ok_or(Error::NoAdminConnection)?,
        };
        let mut conn = pool.get().map_err(|source| Error::PostgresPool { source })?;
        let PgConn { client, statements } = &mut *conn;
        let begin = match scope {
            Scope::Tenant(t) => {
                let mut buf = [0u8; 36];
                format!("BEGIN; SET LOCAL tenantry.tenant_id = '{}'", t.id.encode(&mut buf))
            }
            Scope::Admin(_) => String::from("BEGIN"),
        };
        client.batch_execute(&begin).map_err(Error::Postgres)?;
        // Rolled back on any way out but the commit below, a panic in `f` included: the
        // connection goes back to the pool only outside a transaction.
        let mut open = Open { client, committed: false };
        let out = match f(open.client, statements) {
            Ok(out) => out,
            Err(e) => {
                forget_stale(statements, &e);
                return Err(e);
            }
        };
        open.client.batch_execute("COMMIT").map_err(Error::Postgres)?;
        open.committed = true;
        Ok(out)
    }

    /// All rows of a query.
    pub fn fetch_all<Q: Fetch>(&self, query: Q) -> Result<Vec<Q::Row>> {
        let plan = query.__plan();
        self.transaction_in(plan.scope, |tx, cache| run::fetch_all(&mut Pg { tx, cache }, &query))
    }

    /// The first row of a query, or `None`; the rest of the result is not read.
    pub fn fetch_optional<Q: Fetch>(&self, query: Q) -> Result<Option<Q::Row>> {
        let plan = query.__plan();
        self.transaction_in(plan.scope, |tx, cache| run::fetch_optional(&mut Pg { tx, cache }, &query))
    }

    /// The first row of a query, or [`Error::NotFound`].
    pub fn fetch_one<Q: Fetch>(&self, query: Q) -> Result<Q::Row> {
        self.fetch_optional(query)?.ok_or(Error::NotFound)
    }

    /// Runs an insert, update, delete or raw statement (raw SQL in PostgreSQL's dialect,
    /// `$1`-style parameters); returns the rows changed.
    pub fn execute<E: Execute>(&self, statement: E) -> Result<usize> {
        let plan = statement.__plan();
        self.transaction_in(plan.scope, |tx, cache| run::execute(&mut Pg { tx, cache }, &plan))
    }
}

/// A transaction tenantry began on `client`: rolled back on drop unless committed.
struct Open<'a> {
    client: &'a mut postgres::Client,
    committed: bool,
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        if !self.committed {
            // Nothing to report to; a connection that cannot roll back is closed, and the
            // pool does not hand out a closed connection.
            let _ = self.client.batch_execute("ROLLBACK");
        }
    }
}

/// The PostgreSQL schema for `tables`: DDL, then row-level security for owned ones. Run
/// it as the owner role; then grant the application role `SELECT, INSERT, UPDATE, DELETE`.
pub fn schema_postgres(tables: &[&'static TableInfo]) -> Vec<String> {
    tables.iter().flat_map(|t| t.ddl_postgres().into_iter().chain(t.rls_postgres())).collect()
}

impl crate::query::sealed::Executor for PgDatabase {}
impl crate::Executor for PgDatabase {
    fn fetch_all<Q: Fetch>(&self, query: Q) -> Result<Vec<Q::Row>> {
        PgDatabase::fetch_all(self, query)
    }
    fn fetch_optional<Q: Fetch>(&self, query: Q) -> Result<Option<Q::Row>> {
        PgDatabase::fetch_optional(self, query)
    }
    fn execute<E: Execute>(&self, statement: E) -> Result<usize> {
        PgDatabase::execute(self, statement)
    }
}
