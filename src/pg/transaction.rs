//! [`PgTransaction`]: several statements of one tenant in one PostgreSQL transaction.

use std::collections::HashMap;
use std::sync::Arc;

use postgres::Statement;

use crate::error::{Error, Result};
use crate::query::run;
use crate::query::{Execute, Fetch, Plan, Scope};

use super::PgDatabase;
use super::engine::Pg;
use super::pool::forget_stale;

/// Several statements of one tenant in one PostgreSQL transaction (see
/// [`PgDatabase::transaction`]). A statement for another tenant, or a cross-tenant one, is
/// refused: the transaction's row-level-security setting is this tenant's.
pub struct PgTransaction<'a, 'c> {
    tx: &'a mut postgres::Client,
    _c: std::marker::PhantomData<&'c ()>,
    cache: &'a mut HashMap<Arc<str>, Statement>,
    tenant: crate::TenantId,
    /// A statement failed on the server: PostgreSQL has aborted the transaction, and its
    /// `COMMIT` would be a rollback.
    aborted: bool,
}

impl std::fmt::Debug for PgTransaction<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTransaction").field("tenant", &self.tenant).finish_non_exhaustive()
    }
}

impl PgTransaction<'_, '_> {
    fn check(&self, plan: &Plan<'_>) -> Result<()> {
        match plan.tenant() {
            Some(t) if *t == self.tenant => Ok(()),
            _ => Err(Error::ForeignStatement),
        }
    }

    /// Notes an error that the server reported (it aborted the transaction), whether or
    /// not the caller goes on to handle it.
    fn note<T>(&mut self, out: Result<T>) -> Result<T> {
        if let Err(e) = &out {
            self.aborted |= aborts_transaction(e);
            forget_stale(self.cache, e);
        }
        out
    }

    /// All rows of a query.
    pub fn fetch_all<Q: Fetch>(&mut self, query: Q) -> Result<Vec<Q::Row>> {
        self.check(&query.__plan())?;
        let out = run::fetch_all(&mut Pg { tx: self.tx, cache: self.cache }, &query);
        self.note(out)
    }

    /// The first row of a query, or `None`.
    pub fn fetch_optional<Q: Fetch>(&mut self, query: Q) -> Result<Option<Q::Row>> {
        self.check(&query.__plan())?;
        let out = run::fetch_optional(&mut Pg { tx: self.tx, cache: self.cache }, &query);
        self.note(out)
    }

    /// The first row of a query, or [`Error::NotFound`].
    pub fn fetch_one<Q: Fetch>(&mut self, query: Q) -> Result<Q::Row> {
        self.fetch_optional(query)?.ok_or(Error::NotFound)
    }

    /// Runs an insert, update or delete of this tenant.
    pub fn execute<E: Execute>(&mut self, statement: E) -> Result<usize> {
        let plan = statement.__plan();
        self.check(&plan)?;
        let out = run::execute(&mut Pg { tx: self.tx, cache: self.cache }, &plan);
        self.note(out)
    }
}

/// Whether `e` was reported by the server, which aborts the transaction the statement ran
/// in. Errors found before anything was sent (a value of the wrong type, a statement for
/// another tenant, a row that does not decode) leave the transaction usable.
fn aborts_transaction(e: &Error) -> bool {
    match e {
        Error::Postgres(pe) => pe.as_db_error().is_some(),
        // Only ever a unique violation the server reported (`conflict_or`).
        Error::Conflict { .. } => true,
        _ => false,
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
    pub fn transaction<R>(
        &self,
        tenant: &crate::TenantId,
        f: impl FnOnce(&mut PgTransaction<'_, '_>) -> Result<R>,
    ) -> Result<R> {
        let scope = Scope::tenant(tenant);
        self.transaction_in(&scope, |tx, cache| {
            let mut t = PgTransaction { tx, cache, tenant: *tenant, aborted: false, _c: std::marker::PhantomData };
            let out = f(&mut t)?;
            if t.aborted {
                return Err(Error::TransactionAborted);
            }
            Ok(out)
        })
    }
}
