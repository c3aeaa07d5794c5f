//! The tenant protocol in one round trip. A scoped statement is `BEGIN; SET LOCAL
//! tenantry.tenant_id = '..'`, the statement (or each chunk of an insert) and `COMMIT`;
//! tokio-postgres sends a request when its future is first polled and matches responses
//! in order, so polling all of them before awaiting any puts them on the wire together.
//!
//! Nothing is committed that was not meant to be: a statement that fails before it is
//! sent (a value the parameter's type cannot hold) makes the last request `ROLLBACK`
//! instead of `COMMIT`; one the server refuses aborts the transaction, and PostgreSQL
//! turns the `COMMIT` behind it into a rollback.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::atomic::Ordering::Relaxed;
use std::task::Poll;

use futures::future::{MaybeDone, join, maybe_done};
use futures::{StreamExt as _, TryFutureExt as _};
use tokio_postgres::Statement;

use crate::error::{Error, Result};
use crate::query::Scope;
use crate::query::run::{Binds, Write};
use crate::rendered::Rendered;
use crate::value::Param;

use super::conn::{Conn, forget_stale, prepared};
use super::param::{Bound, PgRow, convert};

/// The request that begins a transaction for `scope`: `SET LOCAL` of the tenant's
/// canonical text (hex digits and hyphens, never user input) for a scoped one.
pub(super) fn begin_sql(scope: &Scope) -> String {
    match scope {
        Scope::Tenant(t) => {
            let mut buf = [0u8; 36];
            format!("BEGIN; SET LOCAL tenantry.tenant_id = '{}'", t.id.encode(&mut buf))
        }
        Scope::Admin(_) => String::from("BEGIN"),
    }
}

/// How a pipelined exchange ends.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum End {
    /// `COMMIT` (or `ROLLBACK` if the work failed before it was sent).
    Commit,
    /// Nothing: the transaction stays open for more statements.
    Open,
}

/// Runs `work` on `conn` behind `begin` (if any) and before the end, all sent before any
/// response is awaited. `work` must send all its requests when first polled. Returns the
/// first error in protocol order: the begin's, the work's, the end's.
pub(super) async fn one_trip<T>(
    conn: &Conn,
    begin: Option<&str>,
    work: impl Future<Output = Result<T>>,
    end: End,
) -> Result<T> {
    if begin.is_some() {
        conn.open.store(true, Relaxed); // from here until an end is confirmed
    }
    let client = conn.client();
    let mut begin = pin!(maybe_done(async {
        match begin {
            Some(sql) => client.batch_execute(sql).await.map_err(Error::Postgres),
            None => Ok(()),
        }
    }));
    let mut work = pin!(maybe_done(work));
    // First poll of each, in order: the begin's request, then the work's, are sent.
    poll_fn(|cx| {
        let _ = begin.as_mut().poll(cx);
        let _ = work.as_mut().poll(cx);
        Poll::Ready(())
    })
    .await;
    let failed_early = matches!(&*work, MaybeDone::Done(Err(_)));
    let finish = async {
        match end {
            End::Commit => client
                .batch_execute(if failed_early { "ROLLBACK" } else { "COMMIT" })
                .await
                .map(|()| true)
                .map_err(Error::Postgres),
            End::Open => Ok(false),
        }
    };
    let (((), ()), finished) = join(join(begin.as_mut(), work.as_mut()), finish).await;
    let begun = begin.as_mut().take_output().unwrap_or(Err(Error::Internal { why: "the begin ran once" }));
    let out = work.as_mut().take_output().unwrap_or(Err(Error::Internal { why: "the work ran once" }));
    if let Ok(true) = finished {
        conn.open.store(false, Relaxed); // the server confirmed the end: idle, outside a transaction
    }
    for e in [begun.as_ref().err(), out.as_ref().err(), finished.as_ref().err()].into_iter().flatten() {
        forget_stale(conn.client(), e);
    }
    begun?;
    let out = out?;
    finished?;
    Ok(out)
}

/// The values of a rendered statement as PostgreSQL parameters; the tenant's slot binds
/// its canonical text, converted to `uuid` by the parameter's type.
fn params<'v>(sql: &Rendered, binds: Binds<'v>, tenant: &'v Param) -> Vec<Bound<'v>> {
    sql.slots.iter().map(|s| Bound(binds.value(*s).unwrap_or(tenant))).collect()
}

/// A unique violation (always within one tenant: keys lead with the tenant column) as
/// [`Error::Conflict`], like SQLite's; anything else as [`Error::Postgres`].
fn conflict_or(e: tokio_postgres::Error, table: &'static str) -> Error {
    if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
        Error::Conflict { table, source: Box::new(e) }
    } else {
        Error::Postgres(e)
    }
}

/// Reads the rows of `statement`, decoding each with `decode`, at most `limit` of them
/// (the rest are not converted).
pub(super) async fn query<R>(
    conn: &Conn,
    statement: &Statement,
    params: &[Bound<'_>],
    limit: usize,
    mut decode: impl FnMut(&PgRow) -> Result<R>,
) -> Result<Vec<R>> {
    let rows = conn.client().query_raw(statement, params.iter()).await.map_err(Error::Postgres)?;
    let mut rows = pin!(rows);
    let mut out = Vec::new();
    while out.len() < limit {
        match rows.next().await {
            Some(row) => out.push(decode(&convert(&row.map_err(Error::Postgres)?)?)?),
            None => break,
        }
    }
    Ok(out)
}

/// A writing plan's statements, prepared and bound, ready to be sent together.
pub(super) struct Writes<'v> {
    statements: Vec<(Statement, Vec<Bound<'v>>, Option<&'static str>)>,
}

impl<'v> Writes<'v> {
    /// Prepares each step (a round trip the first time a connection sees a statement).
    pub(super) async fn prepare(conn: &Conn, steps: &'v [Write<'v>], tenant: &'v Param) -> Result<Writes<'v>> {
        let mut statements = Vec::with_capacity(steps.len());
        for step in steps {
            statements.push(match step {
                Write::Built { sql, binds, table } => {
                    (prepared(conn.client(), &sql.sql).await?, params(sql, *binds, tenant), Some(*table))
                }
                Write::Raw { sql, values } => {
                    (prepared(conn.client(), sql).await?, values.iter().map(Bound).collect(), None)
                }
            });
        }
        Ok(Writes { statements })
    }

    /// Sends every statement when first polled; the rows changed, summed.
    pub(super) async fn run(&self, conn: &Conn) -> Result<usize> {
        let client = conn.client();
        let each = self.statements.iter().map(|(statement, params, table)| {
            client.execute_raw(statement, params.iter()).map_err(move |e| match table {
                Some(table) => conflict_or(e, table),
                None => Error::Postgres(e),
            })
        });
        Ok(all(each).await?.into_iter().sum::<u64>() as usize)
    }
}

/// Drives `futures` together, each polled in order (so the first poll sends every
/// request, up to one that fails before sending: then nothing after it is sent); the
/// first error in that order as soon as it is known, else every output in order.
async fn all<T>(futures: impl Iterator<Item = impl Future<Output = Result<T>>>) -> Result<Vec<T>> {
    let mut futures: Vec<_> = futures.map(|f| Box::pin(maybe_done(f))).collect();
    poll_fn(|cx| {
        let mut pending = false;
        for f in &mut futures {
            if f.as_mut().poll(cx).is_pending() {
                pending = true;
            } else if let MaybeDone::Done(Err(_)) = &**f {
                return Poll::Ready(match f.as_mut().take_output() {
                    Some(Err(e)) => Err(e),
                    _ => Err(Error::Internal { why: "a failed statement's error was taken twice" }),
                });
            }
        }
        if pending {
            return Poll::Pending;
        }
        Poll::Ready(
            futures
                .iter_mut()
                .map(|f| {
                    f.as_mut()
                        .take_output()
                        .unwrap_or(Err(Error::Internal { why: "a statement's result was taken twice" }))
                })
                .collect(),
        )
    })
    .await
}

/// The parameters of one select step, and its prepared statement.
pub(super) async fn select<'v>(
    conn: &Conn,
    sql: &Rendered,
    binds: Binds<'v>,
    tenant: &'v Param,
) -> Result<(Statement, Vec<Bound<'v>>)> {
    Ok((prepared(conn.client(), &sql.sql).await?, params(sql, binds, tenant)))
}
