//! The account tables, as embedded, versioned migrations.
//!
//! Table and column names are the seed's. Differences, for security: `sessions.id` and
//! `login_tokens.token` hold the SHA-256 of the secret, never the secret; `users.email`
//! holds the normalised (lower-case) address; `stripe_customer_id` is unique; a table of
//! rate-limit counters is added.

use rusqlite::Connection;

use crate::db::SqliteDatabase;
use crate::error::Result;
use crate::migrate::{Runner, Step};
use crate::tenant::AuditTag;

/// Each migration: its version, name and SQL. Append only; never edit a released one
/// (each database records its checksum and refuses an edited one).
const MIGRATIONS: &[Step] = &[
    Step {
        version: 1,
        name: "account tables",
        declared: false,
        sql: "CREATE TABLE IF NOT EXISTS users (
        id TEXT PRIMARY KEY,
        email TEXT UNIQUE,
        stripe_customer_id TEXT UNIQUE,
        created_at TEXT NOT NULL DEFAULT (datetime('now')),
        last_seen_at TEXT
    );
    CREATE TABLE IF NOT EXISTS sessions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (datetime('now')),
        FOREIGN KEY (user_id) REFERENCES users(id)
    );
    CREATE TABLE IF NOT EXISTS login_tokens (
        token TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT
    );
    CREATE TABLE IF NOT EXISTS auth_rate_limits (
        bucket TEXT PRIMARY KEY,
        window_start TEXT NOT NULL,
        count INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS idx_users_email ON users(email);
    CREATE INDEX IF NOT EXISTS idx_sessions_user ON sessions(user_id);
    CREATE INDEX IF NOT EXISTS idx_sessions_expires ON sessions(expires_at);
    CREATE INDEX IF NOT EXISTS idx_login_tokens_expires ON login_tokens(expires_at);",
    },
    // The session that asked for a link: only that session's anonymous data may be merged
    // when the link is used (a link confirmed from another browser signs in without it).
    Step {
        version: 2,
        name: "link requester",
        sql: "ALTER TABLE login_tokens ADD COLUMN requested_by TEXT;",
        declared: false,
    },
    // Tenants on their way out: an anonymous user merged into an account, or a deleted
    // account. The record outlives a crash, so the work is finished later, never lost.
    Step {
        version: 3,
        name: "tenants leaving",
        declared: false,
        sql: "CREATE TABLE IF NOT EXISTS tenantry_leaving (
        tenant TEXT PRIMARY KEY,
        into_tenant TEXT,
        rows_done INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );",
    },
    // OAuth sign-ins under way (feature `oauth`): the SHA-256 of each one-time `state` and
    // of the secret in the starting browser's cookie, with the PKCE verifier and OpenID
    // nonce, used up by the callback.
    Step {
        version: 4,
        name: "oauth states",
        declared: false,
        sql: "CREATE TABLE IF NOT EXISTS oauth_states (
        state TEXT PRIMARY KEY,
        browser TEXT NOT NULL,
        provider TEXT NOT NULL,
        verifier TEXT NOT NULL,
        nonce TEXT NOT NULL,
        requested_by TEXT,
        expires_at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS idx_oauth_states_expires ON oauth_states(expires_at);",
    },
];

/// The newest schema version this build knows.
pub const AUTH_SCHEMA_VERSION: u32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// Applies the migrations this database lacks, each in a write transaction of its own
/// (the same runner as the application's: checksummed, safe from several processes at
/// once). Returns how many it applied.
pub(crate) fn migrate(db: &SqliteDatabase, tag: AuditTag) -> Result<usize> {
    let runner = Runner {
        scope: "tenantry.auth",
        steps: MIGRATIONS,
        tag,
        baseline: None,
        user_version: false,
        legacy: Some(legacy_version),
    };
    Ok(runner.run(db, false)?.applied.len())
}

/// Builds before the shared records kept the account tables' versions in a table of
/// their own.
fn legacy_version(conn: &Connection) -> Result<u32> {
    if !crate::tablesql::table_exists(conn, "tenantry_migrations")? {
        return Ok(0);
    }
    Ok(conn.query_row("SELECT COALESCE(MAX(version), 0) FROM tenantry_migrations", [], |r| r.get(0))?)
}
