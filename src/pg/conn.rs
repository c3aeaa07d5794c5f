//! Connections: the deadpool pool of tokio-postgres clients, each with its cache of
//! prepared statements, and [`Conn`], a connection in use that goes back to the pool only
//! when it is idle outside a transaction.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::AtomicBool;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, RecyclingMethod, Runtime};
use tokio_postgres::{NoTls, Statement};

use crate::error::{Error, Result};

pub(super) type Pool = deadpool_postgres::Pool;

/// How long a caller waits for a connection (all busy) or for a new one to be made.
const WAIT: Duration = Duration::from_secs(30);

pub(super) fn pool(url: &str, max: u32) -> Result<Pool> {
    let config: tokio_postgres::Config = url.parse().map_err(Error::Postgres)?;
    // `Fast`: no test query when a connection is taken (a round trip per statement); a
    // closed connection is found and replaced.
    let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    Pool::builder(manager)
        .max_size(max.max(1) as usize)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(WAIT))
        .create_timeout(Some(WAIT))
        .build()
        .map_err(|_| Error::Internal { why: "the PostgreSQL pool's timeouts need its runtime" })
}

/// Prepared statements kept per connection; beyond this the cache starts over (IN lists
/// of many lengths are many statements).
const STATEMENT_CACHE: usize = 256;

/// `sql` prepared on this connection: a round trip the first time, none after.
pub(super) async fn prepared(client: &Object, sql: &str) -> Result<Statement> {
    if client.statement_cache.size() >= STATEMENT_CACHE {
        client.statement_cache.clear();
    }
    client.prepare_cached(sql).await.map_err(Error::Postgres)
}

/// After a schema change or a `DEALLOCATE` this connection's prepared statements are
/// unusable: forget them, so the next use prepares afresh.
pub(super) fn forget_stale(client: &Object, e: &Error) {
    if let Error::Postgres(pe) = e
        && pe.code().is_some_and(|c| {
            *c == tokio_postgres::error::SqlState::FEATURE_NOT_SUPPORTED
                || *c == tokio_postgres::error::SqlState::INVALID_SQL_STATEMENT_NAME
        })
    {
        client.statement_cache.clear();
    }
}

/// A pooled connection in use. While a transaction tenantry began may be open on it
/// (`open`), dropping it (a panic, a cancelled future, an uncommitted
/// [`AsyncPgTransaction`](crate::AsyncPgTransaction)) queues a `ROLLBACK` on the
/// connection before it goes back to the pool: requests on a connection run in order, so
/// the next user's work starts outside any transaction. A connection that cannot take
/// the request (closed) is dropped from the pool.
pub(super) struct Conn {
    client: Option<Object>,
    /// Set before a `BEGIN` is sent, cleared when the server has confirmed the end.
    pub(super) open: AtomicBool,
}

impl Conn {
    pub(super) async fn take(pool: &Pool) -> Result<Conn> {
        let client = pool.get().await.map_err(|source| Error::PostgresPool { source })?;
        Ok(Conn { client: Some(client), open: AtomicBool::new(false) })
    }

    pub(super) fn client(&self) -> &Object {
        // Present until `drop`.
        self.client.as_ref().expect("a connection in use has its client")
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else { return };
        if !*self.open.get_mut() {
            return; // back to the pool
        }
        // tokio-postgres sends a request at the first poll, synchronously (onto the
        // connection's queue); the response is not awaited, and is discarded.
        let queued = {
            let mut rollback = pin!(client.batch_execute("ROLLBACK"));
            rollback.as_mut().poll(&mut Context::from_waker(Waker::noop()))
        };
        if let Poll::Ready(Err(_)) = queued {
            drop(Object::take(client)); // closed: out of the pool
        }
    }
}
