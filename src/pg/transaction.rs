//! Several statements of one tenant in one PostgreSQL transaction: [`AsyncPgTransaction`]
//! (a guard: commit it, or it is rolled back) and the blocking [`PgTransaction`] on top of
//! it.

use std::sync::atomic::Ordering::Relaxed;

use crate::TenantId;
use crate::error::{Error, Result};
use crate::query::run::{select_step, write_steps};
use crate::query::shape::Dialect;
use crate::query::{Execute, Fetch, Plan, Scope};

use super::PgDatabase;
use super::conn::Conn;
use super::pipeline::{self, End, Writes, begin_sql, one_trip};

/// Several statements of one tenant in one PostgreSQL transaction, from
/// [`Async::begin`](crate::Async::begin). [`commit`](Self::commit) keeps them; dropped
/// without it (an early return, a panic, a cancelled request), the transaction is rolled
/// back, and its connection goes back to the pool only after that.
///
/// A statement for another tenant, or a cross-tenant one, is refused: the transaction's
/// row-level-security setting is this tenant's. `BEGIN` goes out with the first
/// statement, in the same round trip.
///
/// PostgreSQL aborts a transaction at its first failed statement. If a statement inside
/// failed after it was sent (a conflict, say, or a value that could not be sent in the
/// second chunk of an insert, or a cancelled call) and the caller carried on,
/// [`commit`](Self::commit) keeps nothing and returns [`Error::TransactionAborted`]: never
/// `Ok` for work that was rolled back, or kept in part. Errors found before anything is
/// sent (a statement for another tenant) leave the transaction usable. (SQLite undoes
/// only the failed statement; to keep going after an error on both engines, use a new
/// transaction.)
pub struct AsyncPgTransaction {
    conn: Conn,
    db: PgDatabase,
    scope: Scope,
    tenant: TenantId,
    /// `BEGIN` has been sent.
    begun: bool,
    /// A statement failed (or was cancelled) after it reached for the server: the
    /// transaction may be aborted, or hold part of a statement's work. Set before each
    /// statement's first request, cleared when it succeeds.
    aborted: bool,
}

impl std::fmt::Debug for AsyncPgTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncPgTransaction").field("tenant", &self.tenant).finish_non_exhaustive()
    }
}

impl AsyncPgTransaction {
    pub(crate) async fn begin(db: &PgDatabase, tenant: &TenantId) -> Result<Self> {
        let conn = db.on_runtime(Conn::take(&db.tenants)).await?;
        Ok(AsyncPgTransaction {
            conn,
            db: db.clone(),
            scope: Scope::tenant(tenant),
            tenant: *tenant,
            begun: false,
            aborted: false,
        })
    }

    fn check(&self, plan: &Plan<'_>) -> Result<()> {
        match plan.tenant() {
            Some(t) if *t == self.tenant => Ok(()),
            _ => Err(Error::ForeignStatement),
        }
    }

    /// The `BEGIN` to send with this statement: only with the first.
    fn begin_once(&mut self) -> Option<String> {
        (!std::mem::replace(&mut self.begun, true)).then(|| begin_sql(&self.scope))
    }

    /// Runs one statement's `work` (its prepare and requests, with the `BEGIN` if it is
    /// the first) with the transaction marked as failed until the work has succeeded: an
    /// error or a cancellation leaves the mark, and [`commit`](Self::commit) then keeps
    /// nothing. (A multi-chunk insert may fail with some chunks sent; a prepare may fail
    /// on the server.)
    async fn guarded<T>(&mut self, work: impl AsyncFnOnce(&Conn, Option<&str>) -> Result<T>) -> Result<T> {
        let begin = self.begin_once();
        let before = std::mem::replace(&mut self.aborted, true);
        let out = self.db.on_runtime(work(&self.conn, begin.as_deref())).await;
        if out.is_ok() {
            self.aborted = before;
        }
        out
    }

    async fn rows<Q: Fetch + ?Sized>(&mut self, query: &Q, limit: usize) -> Result<Vec<Q::Row>> {
        let plan = query.__plan();
        self.check(&plan)?;
        let (sql, binds) = select_step(&plan, Dialect::Postgres)?;
        let tenant = plan.scope.tenant_param();
        self.guarded(async |conn, begin| {
            let (statement, params) = pipeline::select(conn, &sql, binds, &tenant).await?;
            let work = pipeline::query(conn, &statement, &params, limit, |row| query.__decode(row));
            one_trip(conn, begin, work, End::Open).await
        })
        .await
    }

    /// All rows of a query.
    pub async fn fetch_all<Q: Fetch>(&mut self, query: Q) -> Result<Vec<Q::Row>> {
        self.rows(&query, usize::MAX).await
    }

    /// The first row of a query, or `None`.
    pub async fn fetch_optional<Q: Fetch>(&mut self, query: Q) -> Result<Option<Q::Row>> {
        Ok(self.rows(&query, 1).await?.pop())
    }

    /// The first row of a query, or [`Error::NotFound`].
    pub async fn fetch_one<Q: Fetch>(&mut self, query: Q) -> Result<Q::Row> {
        self.fetch_optional(query).await?.ok_or(Error::NotFound)
    }

    /// Runs an insert, update or delete of this tenant; returns the rows changed.
    pub async fn execute<E: Execute>(&mut self, statement: E) -> Result<usize> {
        let plan = statement.__plan();
        self.check(&plan)?;
        let steps = write_steps(&plan, Dialect::Postgres)?;
        let tenant = plan.scope.tenant_param();
        self.guarded(async |conn, begin| {
            let writes = Writes::prepare(conn, &steps, &tenant).await?;
            one_trip(conn, begin, writes.run(conn), End::Open).await
        })
        .await
    }

    /// Ends the transaction with `sql` (`COMMIT` or `ROLLBACK`), if it began.
    async fn end(&mut self, sql: &str) -> Result<()> {
        if !self.begun {
            return Ok(());
        }
        let client = self.conn.client();
        self.db.on_runtime(client.batch_execute(sql)).await.map_err(Error::Postgres)?;
        self.conn.open.store(false, Relaxed);
        Ok(())
    }

    /// Commits: every statement's work is kept. [`Error::TransactionAborted`] if a
    /// statement failed (or was cancelled) after it was sent: then nothing is kept.
    pub async fn commit(mut self) -> Result<()> {
        if self.aborted {
            self.end("ROLLBACK").await?;
            return Err(Error::TransactionAborted);
        }
        self.end("COMMIT").await
    }

    /// Rolls back: nothing of the transaction is kept.
    pub async fn rollback(mut self) -> Result<()> {
        self.end("ROLLBACK").await
    }
}

/// Several statements of one tenant in one PostgreSQL transaction (see
/// [`PgDatabase::transaction`]); the blocking face of [`AsyncPgTransaction`].
pub struct PgTransaction<'a> {
    tx: &'a mut AsyncPgTransaction,
    db: &'a PgDatabase,
}

impl std::fmt::Debug for PgTransaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTransaction").field("tenant", &self.tx.tenant).finish_non_exhaustive()
    }
}

impl PgTransaction<'_> {
    /// All rows of a query.
    pub fn fetch_all<Q: Fetch>(&mut self, query: Q) -> Result<Vec<Q::Row>> {
        self.db.block(self.tx.fetch_all(query))
    }

    /// The first row of a query, or `None`.
    pub fn fetch_optional<Q: Fetch>(&mut self, query: Q) -> Result<Option<Q::Row>> {
        self.db.block(self.tx.fetch_optional(query))
    }

    /// The first row of a query, or [`Error::NotFound`].
    pub fn fetch_one<Q: Fetch>(&mut self, query: Q) -> Result<Q::Row> {
        self.fetch_optional(query)?.ok_or(Error::NotFound)
    }

    /// Runs an insert, update or delete of this tenant.
    pub fn execute<E: Execute>(&mut self, statement: E) -> Result<usize> {
        self.db.block(self.tx.execute(statement))
    }
}

impl PgDatabase {
    /// Runs `f` in one transaction for `tenant` (the tenant set once, for the whole
    /// transaction): commits when it returns `Ok`, rolls back on `Err` or panic.
    ///
    /// PostgreSQL aborts a transaction at its first failed statement. If a statement
    /// inside failed on the server (a conflict, say) and `f` handled that error and
    /// returned `Ok`, nothing is committed and this returns [`Error::TransactionAborted`]:
    /// never `Ok` for work that was rolled back. (SQLite undoes only the failed statement;
    /// to keep going after an error on both engines, use a new transaction.)
    pub fn transaction<R>(&self, tenant: &TenantId, f: impl FnOnce(&mut PgTransaction<'_>) -> Result<R>) -> Result<R> {
        let mut tx = self.block(AsyncPgTransaction::begin(self, tenant))?;
        match f(&mut PgTransaction { tx: &mut tx, db: self }) {
            Ok(out) => self.block(tx.commit()).map(|()| out),
            Err(e) => {
                // The caller's error is what matters; a failed rollback closes the
                // connection (the server rolls back then).
                let _ = self.block(tx.rollback());
                Err(e)
            }
        }
    }
}
