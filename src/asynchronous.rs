//! Async executors for tokio (feature `tokio`): [`Async`] runs each call of a [`Database`],
//! [`Layout`] or any other [`Executor`] on tokio's blocking pool, so a statement, and a
//! wait on SQLite's write lock, never blocks a runtime worker thread. The statements,
//! rules and errors are the sync ones; this is one implementation behind both.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> tenantry::Result<()> {
//! use tenantry::{Async, Database, Layout, Table, TenantId};
//! #[derive(Table, Debug)]
//! #[table(name = "async_doc_notes", owned)]
//! struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, body: String }
//!
//! let db = Async::new(Layout::shared(Database::open_in_memory()?)?);
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

use crate::db::Executor;
use crate::error::Result;
use crate::query::{Execute, Fetch};

/// An executor whose calls run on tokio's blocking pool. Cheap to clone (it clones the
/// executor, which for `Database` and `Layout` is a handle).
#[derive(Debug, Clone)]
pub struct Async<E> {
    inner: E,
}

impl<E: Executor + Clone + Send + Sync + 'static> Async<E> {
    /// Wraps a `Database`, a `Layout` or another executor.
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
        let inner = self.inner.clone();
        match tokio::task::spawn_blocking(move || f(&inner)).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(crate::Error::Internal { why: "the runtime shut down while a statement ran" }),
        }
    }

    /// All rows of a query.
    pub async fn fetch_all<Q>(&self, query: Q) -> Result<Vec<Q::Row>>
    where
        Q: Fetch + Send + 'static,
        Q::Row: Send + 'static,
    {
        self.run(move |e| e.fetch_all(query)).await
    }

    /// The first row of a query, or `None`.
    pub async fn fetch_optional<Q>(&self, query: Q) -> Result<Option<Q::Row>>
    where
        Q: Fetch + Send + 'static,
        Q::Row: Send + 'static,
    {
        self.run(move |e| e.fetch_optional(query)).await
    }

    /// The first row of a query, or [`Error::NotFound`](crate::Error::NotFound).
    pub async fn fetch_one<Q>(&self, query: Q) -> Result<Q::Row>
    where
        Q: Fetch + Send + 'static,
        Q::Row: Send + 'static,
    {
        self.run(move |e| e.fetch_one(query)).await
    }

    /// Runs an insert, update, delete or raw statement; returns the rows changed.
    pub async fn execute<S: Execute + Send + 'static>(&self, statement: S) -> Result<usize> {
        self.run(move |e| e.execute(statement)).await
    }
}
