//! Connections: the r2d2 manager and pool, and each connection's cache of prepared
//! statements.

use std::collections::HashMap;
use std::sync::Arc;

use postgres::{Client, NoTls, Statement};

use crate::error::{Error, Result};

/// A pooled connection with its prepared statements.
pub(crate) struct PgConn {
    pub(super) client: Client,
    pub(super) statements: HashMap<Arc<str>, Statement>,
}

pub(super) struct Manager {
    config: postgres::Config,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = postgres::Error;
    fn connect(&self) -> std::result::Result<PgConn, postgres::Error> {
        Ok(PgConn { client: self.config.connect(NoTls)?, statements: HashMap::new() })
    }
    fn is_valid(&self, conn: &mut PgConn) -> std::result::Result<(), postgres::Error> {
        conn.client.simple_query("").map(drop)
    }
    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.client.is_closed()
    }
}

pub(super) type Pool = r2d2::Pool<Manager>;

pub(super) fn pool(url: &str, max: u32) -> Result<Pool> {
    let config: postgres::Config = url.parse().map_err(Error::Postgres)?;
    // No test query on checkout (a round trip per statement); a connection that broke is
    // found by `has_broken` when it is returned.
    r2d2::Pool::builder()
        .max_size(max.max(1))
        .test_on_check_out(false)
        .build(Manager { config })
        .map_err(|source| Error::PostgresPool { source })
}

/// Prepared statements kept per connection; beyond this the cache starts over (IN lists
/// of many lengths are many statements).
const STATEMENT_CACHE: usize = 256;

/// Runs `sql` prepared (once per connection) with `params`.
pub(super) fn prepared(
    tx: &mut postgres::Client,
    cache: &mut HashMap<Arc<str>, Statement>,
    sql: &str,
) -> Result<Statement> {
    if let Some(s) = cache.get(sql) {
        return Ok(s.clone());
    }
    let stmt = tx.prepare(sql).map_err(Error::Postgres)?;
    if cache.len() >= STATEMENT_CACHE {
        cache.clear();
    }
    cache.insert(Arc::from(sql), stmt.clone());
    Ok(stmt)
}

/// After a schema change or a `DEALLOCATE` this connection's prepared statements are
/// unusable: forget them, so the next use prepares afresh.
pub(super) fn forget_stale(statements: &mut HashMap<Arc<str>, Statement>, e: &Error) {
    if let Error::Postgres(pe) = e
        && pe.code().is_some_and(|c| {
            *c == postgres::error::SqlState::FEATURE_NOT_SUPPORTED
                || *c == postgres::error::SqlState::INVALID_SQL_STATEMENT_NAME
        })
    {
        statements.clear();
    }
}
