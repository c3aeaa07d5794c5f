//! PostgreSQL backend (feature `postgres`): the same statements, rendered for PostgreSQL,
//! with row-level security as a second wall. Natively async on tokio-postgres (through
//! [`Async<PgDatabase>`](crate::Async)); the blocking methods run the same code.
//!
//! Every tenant-scoped statement runs in a transaction that first sets
//! `tenantry.tenant_id` with `SET LOCAL` (local to that transaction, never a
//! session `SET`), so a pooled connection cannot carry one tenant's setting into another's
//! work. `BEGIN; SET LOCAL ..`, the statement and `COMMIT` are sent together: one network
//! round trip per statement (see `pipeline`). The policies from
//! [`TableInfo::postgres_row_security`] then filter every row by it, even if a tenantry statement
//! lost its tenant predicate, and for hand-written SQL run inside such a transaction. They
//! do not stop code that sends arbitrary SQL as the application role from calling
//! `set_config` (or `SET`) itself. Cross-tenant statements ([`Admin`]) run only on a
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
mod conn;
mod migrate;
mod param;
mod pipeline;
mod transaction;

use std::future::Future;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::query::run::{select_step, write_steps};
use crate::query::shape::Dialect;
use crate::query::{Execute, Fetch, Scope};
use crate::schema::TableInfo;

use conn::{Conn, Pool, pool};
use pipeline::{End, Writes, begin_sql, one_trip};

pub use transaction::{AsyncPgTransaction, PgTransaction};

/// A PostgreSQL database: a pool for tenant-scoped work (through row-level security) and,
/// optionally, one for audited cross-tenant work. Cheap to clone (a handle).
///
/// Its methods block; from async code wrap it in [`Async`](crate::Async), whose calls are
/// natively async (no thread hop) and take the same statements. Connections live on a
/// runtime of tenantry's own (one thread, `tenantry-postgres`); the blocking methods wait
/// on it, so like `postgres::Client` they must not be called from inside an async task
/// (they panic there; use `Async`).
#[derive(Clone)]
pub struct PgDatabase {
    tenants: Pool,
    admin: Option<Pool>,
    /// Kept alive while any handle is; `handle` is how it is used.
    _runtime: Arc<Runtime>,
    handle: tokio::runtime::Handle,
}

impl std::fmt::Debug for PgDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgDatabase").finish_non_exhaustive()
    }
}

/// tenantry's own runtime for PostgreSQL (one worker thread): every connection's socket,
/// driver task and timer lives on it, whoever awaits the statements (a caller's runtime
/// of any flavour, or the blocking methods). A connection therefore never depends on a
/// caller's runtime still being driven. Shut down without waiting when the last handle
/// goes (a `PgDatabase` may be dropped inside an async task).
struct Runtime(Option<tokio::runtime::Runtime>);

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

pin_project_lite::pin_project! {
    /// A future polled with tenantry's PostgreSQL runtime entered, so the sockets, timers
    /// and tasks it makes belong to that runtime while the caller's executor polls it.
    pub(crate) struct OnRuntime<F> {
        handle: tokio::runtime::Handle,
        #[pin]
        work: F,
    }
}

impl<F: Future> Future for OnRuntime<F> {
    type Output = F::Output;
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<F::Output> {
        let this = self.project();
        let _entered = this.handle.enter();
        this.work.poll(cx)
    }
}

impl PgDatabase {
    /// Makes the tenant pool (at most `max` connections, each made when first needed)
    /// for the application's role, e.g. `postgres://app:secret@localhost/clips`.
    ///
    /// Like [`SqliteDatabase::open`](crate::SqliteDatabase::open), it first checks every declaration in
    /// the program (identifiers, reserved names, duplicates).
    pub fn connect(url: &str, max: u32) -> Result<Self> {
        crate::registry::check_registry()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tenantry-postgres")
            .enable_all()
            .build()
            .map_err(|e| Error::Io { what: "start the PostgreSQL runtime", source: e })?;
        let handle = runtime.handle().clone();
        Ok(PgDatabase { tenants: pool(url, max)?, admin: None, _runtime: Arc::new(Runtime(Some(runtime))), handle })
    }

    /// Adds the connection used for [`Admin`](crate::Admin) statements: a role with
    /// `BYPASSRLS` (or the owner), configured explicitly.
    pub fn with_admin(mut self, url: &str, max: u32) -> Result<Self> {
        self.admin = Some(pool(url, max)?);
        Ok(self)
    }

    /// Runs `work` to completion, blocking this thread.
    fn block<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        self.handle.block_on(work)
    }

    /// `work`, polled with tenantry's PostgreSQL runtime entered (see [`Runtime`]).
    pub(crate) fn on_runtime<F: Future>(&self, work: F) -> OnRuntime<F> {
        OnRuntime { handle: self.handle.clone(), work }
    }

    /// The pool `scope` calls for.
    fn pool(&self, scope: &Scope) -> Result<&Pool> {
        match scope {
            Scope::Tenant(_) => Ok(&self.tenants),
            Scope::Admin(_) => self.admin.as_ref().ok_or(Error::NoAdminConnection),
        }
    }

    /// At most `limit` rows of `query`, in one round trip (once its statement is prepared
    /// on the connection).
    pub(crate) async fn fetch_rows<Q: Fetch + ?Sized>(&self, query: &Q, limit: usize) -> Result<Vec<Q::Row>> {
        let plan = query.__plan();
        let (sql, binds) = select_step(&plan, Dialect::Postgres)?;
        let tenant = plan.scope.tenant_param();
        let conn = Conn::take(self.pool(plan.scope)?).await?;
        let (statement, params) = pipeline::select(&conn, &sql, binds, &tenant).await?;
        let work = pipeline::query(&conn, &statement, &params, limit, |row| query.__decode(row));
        one_trip(&conn, Some(&begin_sql(plan.scope)), work, End::Commit).await
    }

    /// Runs a writing statement (every chunk of an insert) in one round trip.
    pub(crate) async fn execute_async<E: Execute + ?Sized>(&self, statement: &E) -> Result<usize> {
        let plan = statement.__plan();
        let steps = write_steps(&plan, Dialect::Postgres)?;
        let tenant = plan.scope.tenant_param();
        let conn = Conn::take(self.pool(plan.scope)?).await?;
        let writes = Writes::prepare(&conn, &steps, &tenant).await?;
        one_trip(&conn, Some(&begin_sql(plan.scope)), writes.run(&conn), End::Commit).await
    }

    /// All rows of a query.
    pub fn fetch_all<Q: Fetch>(&self, query: Q) -> Result<Vec<Q::Row>> {
        self.block(self.fetch_rows(&query, usize::MAX))
    }

    /// The first row of a query, or `None`; the rest of the result is not converted.
    pub fn fetch_optional<Q: Fetch>(&self, query: Q) -> Result<Option<Q::Row>> {
        Ok(self.block(self.fetch_rows(&query, 1))?.pop())
    }

    /// The first row of a query, or [`Error::NotFound`].
    pub fn fetch_one<Q: Fetch>(&self, query: Q) -> Result<Q::Row> {
        self.fetch_optional(query)?.ok_or(Error::NotFound)
    }

    /// Runs an insert, update, delete or raw statement (raw SQL in PostgreSQL's dialect,
    /// `$1`-style parameters); returns the rows changed.
    pub fn execute<E: Execute>(&self, statement: E) -> Result<usize> {
        self.block(self.execute_async(&statement))
    }
}

/// The PostgreSQL schema for `tables`: DDL, then row-level security for owned ones. Run
/// it as the owner role; then grant the application role `SELECT, INSERT, UPDATE, DELETE`.
pub fn postgres_schema(tables: &[&'static TableInfo]) -> Vec<String> {
    tables.iter().flat_map(|t| t.postgres_ddl().into_iter().chain(t.postgres_row_security())).collect()
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
