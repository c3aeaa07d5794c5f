//! Async executors for tokio (feature `tokio`): [`Async`] runs each call of a [`SqliteDatabase`],
//! [`Layout`] or any other [`Executor`] on tokio's blocking pool, so a statement, and a
//! wait on SQLite's write lock, never blocks a runtime worker thread. The statements,
//! rules and errors are the sync ones; this is one implementation behind both.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> tenantry::Result<()> {
//! use tenantry::{Async, SqliteDatabase, Layout, Table, TenantId};
//! #[derive(Table, Debug)]
//! #[table(name = "async_doc_notes", owned)]
//! struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, body: String }
//!
//! let db = Async::new(Layout::shared(SqliteDatabase::open_in_memory()?)?);
//! let t = TenantId::generate();
//! db.execute(Note::insert(&t, NewNote { id: 1, body: "from a handler".into() })).await?;
//! assert_eq!(db.fetch_one(Note::get(&t, 1)).await?.body, "from a handler");
//! // Several statements, or a transaction, in one trip to the blocking pool:
//! let n = db.run(move |layout| {
//!     layout.tenant_database(&t)?.transaction(|tx| {
//!         tx.execute(Note::insert(&t, NewNote { id: 2, body: "two".into() }))?;
//!         tx.fetch_one(Note::select(&t).count())
//!     })
//! }).await?;
//! assert_eq!(n, 2);
//! # Ok(()) }
//! ```

use std::future::Future;

use crate::db::Executor;
use crate::error::Result;
use crate::query::{Execute, Fetch};

/// An executor [`Async`] can drive: SQLite's ([`SqliteDatabase`](crate::SqliteDatabase),
/// [`Layout`](crate::Layout)) on tokio's blocking pool, PostgreSQL's
/// ([`PgDatabase`](crate::PgDatabase), feature `postgres`) natively. Sealed: implemented
/// by tenantry's executors only.
pub trait AsyncExecutor: Executor + Clone + Send + Sync + 'static {
    #[doc(hidden)]
    fn __fetch_rows<Q>(&self, query: Q, limit: usize) -> impl Future<Output = Result<Vec<Q::Row>>> + Send
    where
        Q: Fetch + Send + Sync + 'static,
        Q::Row: Send + 'static,
    {
        hop(self.clone(), move |e| match limit {
            1 => Ok(e.fetch_optional(query)?.into_iter().collect()),
            _ => e.fetch_all(query),
        })
    }
    #[doc(hidden)]
    fn __execute<S: Execute + Send + Sync + 'static>(
        &self,
        statement: S,
    ) -> impl Future<Output = Result<usize>> + Send {
        hop(self.clone(), move |e| e.execute(statement))
    }
}

impl AsyncExecutor for crate::SqliteDatabase {}
impl AsyncExecutor for crate::Layout {}

#[cfg(feature = "postgres")]
impl AsyncExecutor for crate::PgDatabase {
    async fn __fetch_rows<Q>(&self, query: Q, limit: usize) -> Result<Vec<Q::Row>>
    where
        Q: Fetch + Send + Sync + 'static,
        Q::Row: Send + 'static,
    {
        self.on_runtime(self.fetch_rows(&query, limit)).await
    }
    async fn __execute<S: Execute + Send + Sync + 'static>(&self, statement: S) -> Result<usize> {
        self.on_runtime(self.execute_async(&statement)).await
    }
}

/// Runs `f` with `executor` on tokio's blocking pool; a panic in `f` is resumed here.
pub(crate) async fn hop<E: Send + 'static, R: Send + 'static>(
    executor: E,
    f: impl FnOnce(&E) -> Result<R> + Send + 'static,
) -> Result<R> {
    match tokio::task::spawn_blocking(move || f(&executor)).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(crate::Error::Internal { why: "the runtime shut down while a statement ran" }),
    }
}

/// An executor whose calls do not block a runtime worker thread: SQLite's run on tokio's
/// blocking pool, PostgreSQL's are natively async. Cheap to clone (it clones the
/// executor, which is a handle).
#[derive(Debug, Clone)]
pub struct Async<E> {
    inner: E,
}

impl<E: AsyncExecutor> Async<E> {
    /// Wraps a `SqliteDatabase`, a `Layout` or a `PgDatabase`.
    pub fn new(inner: E) -> Self {
        Async { inner }
    }

    /// The sync executor inside, for sync code.
    pub fn get_ref(&self) -> &E {
        &self.inner
    }

    /// Runs `f` with the executor on tokio's blocking pool: several statements, or a
    /// transaction, in one trip. A panic in `f` is resumed here.
    pub async fn run<R: Send + 'static>(&self, f: impl FnOnce(&E) -> Result<R> + Send + 'static) -> Result<R> {
        hop(self.inner.clone(), f).await
    }

    /// All rows of a query.
    pub async fn fetch_all<Q>(&self, query: Q) -> Result<Vec<Q::Row>>
    where
        Q: Fetch + Send + Sync + 'static,
        Q::Row: Send + 'static,
    {
        self.inner.__fetch_rows(query, usize::MAX).await
    }

    /// The first row of a query, or `None`.
    pub async fn fetch_optional<Q>(&self, query: Q) -> Result<Option<Q::Row>>
    where
        Q: Fetch + Send + Sync + 'static,
        Q::Row: Send + 'static,
    {
        Ok(self.inner.__fetch_rows(query, 1).await?.pop())
    }

    /// The first row of a query, or [`Error::NotFound`](crate::Error::NotFound).
    pub async fn fetch_one<Q>(&self, query: Q) -> Result<Q::Row>
    where
        Q: Fetch + Send + Sync + 'static,
        Q::Row: Send + 'static,
    {
        self.fetch_optional(query).await?.ok_or(crate::Error::NotFound)
    }

    /// Runs an insert, update, delete or raw statement; returns the rows changed.
    pub async fn execute<S: Execute + Send + Sync + 'static>(&self, statement: S) -> Result<usize> {
        self.inner.__execute(statement).await
    }
}

#[cfg(feature = "postgres")]
impl Async<crate::PgDatabase> {
    /// Begins a transaction for `tenant`: several statements, kept together by
    /// [`commit`](crate::AsyncPgTransaction::commit) or rolled back if it is dropped
    /// without one.
    pub async fn begin(&self, tenant: &crate::TenantId) -> Result<crate::AsyncPgTransaction> {
        crate::AsyncPgTransaction::begin(&self.inner, tenant).await
    }

    /// [`PgDatabase::check_rls`](crate::PgDatabase::check_rls), awaited.
    pub async fn check_rls(&self) -> Result<()> {
        self.inner.on_runtime(self.inner.check_rls_async()).await
    }
}
