//! The account tables, as embedded, versioned migrations.
//!
//! Table and column names are the seed's. Differences, for security: `sessions.id` and
//! `login_tokens.token` hold the SHA-256 of the secret, never the secret; `users.email`
//! holds the normalised (lower-case) address; `stripe_customer_id` is unique; a table of
//! rate-limit counters is added.

use rusqlite::Connection;

use crate::error::Result;

/// Each migration: its version and its SQL. Append only; never edit a released one.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE IF NOT EXISTS users (
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
    ),
    // The session that asked for a link: only that session's anonymous data may be merged
    // when the link is used (a link confirmed from another browser signs in without it).
    (2, "ALTER TABLE login_tokens ADD COLUMN requested_by TEXT;"),
    // Tenants on their way out: an anonymous user merged into an account, or a deleted
    // account. The record outlives a crash, so the work is finished later, never lost.
    (
        3,
        "CREATE TABLE IF NOT EXISTS tenantry_leaving (
        tenant TEXT PRIMARY KEY,
        into_tenant TEXT,
        rows_done INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );",
    ),
];

/// The newest schema version this build knows.
pub const AUTH_SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// Applies the migrations this database lacks, in one write transaction. Safe to call from
/// several processes at once: `BEGIN IMMEDIATE` serialises them, and each applies only the
/// versions not yet recorded, so every migration runs once. Returns how many it applied.
pub(crate) fn migrate(conn: &Connection) -> Result<usize> {
    crate::db::exec::in_savepoint(conn, |conn| {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS tenantry_migrations (
                version INTEGER PRIMARY KEY,
                applied_at TEXT NOT NULL DEFAULT (datetime('now'))
            )",
        )?;
        let current: i64 =
            conn.query_row("SELECT COALESCE(MAX(version), 0) FROM tenantry_migrations", [], |r| r.get(0))?;
        let mut applied = 0;
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            conn.execute_batch(sql)?;
            conn.execute("INSERT INTO tenantry_migrations (version) VALUES (?1)", [version])?;
            applied += 1;
        }
        Ok(applied)
    })
}
