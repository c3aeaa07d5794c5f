//! Logging in to an account: session rotation, and the merge of an anonymous user's data
//! into the account.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension as _, params};
use uuid::Uuid;

use crate::error::Result;
use crate::tablesql;

use super::secret::random_token;
use super::{Auth, Identity, Session, VerifiedEmail};

/// What a login did with the anonymous user's data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MergeReport {
    /// Rows moved to the account.
    pub rows_moved: usize,
    /// Rows left with the anonymous user because the account already had a row with the
    /// same key (the account's row wins; nothing is deleted).
    pub rows_kept: usize,
}

/// A completed login.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Login {
    /// The new session (the previous one, if any, no longer works).
    pub session: Session,
    /// What happened to the anonymous user's data.
    pub merged: MergeReport,
}

/// What to do with an anonymous user's data when they log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Merge {
    /// Move it into the account (every owned table, from the registry). When the email has
    /// no account yet, the anonymous user simply becomes the account.
    IntoAccount,
    /// Leave it with the anonymous user, on purpose.
    KeepSeparate,
}

impl Auth {
    /// Logs in to the account of an address proven by a [`VerifiedEmail`] (an OAuth
    /// callback, say): the same account, session rotation and merge as a magic link. The
    /// proof is used up.
    pub fn login_verified(&self, proof: VerifiedEmail, current: Option<&Identity>, merge: Merge) -> Result<Login> {
        let session_token = random_token()?;
        self.inner.db.write(|conn| self.login(conn, proof.email(), current, merge, session_token))
    }

    pub(super) fn login(
        &self,
        conn: &Connection,
        email: &str,
        current: Option<&Identity>,
        merge: Merge,
        session_token: String,
    ) -> Result<Login> {
        let account: Option<String> =
            conn.query_row("SELECT id FROM users WHERE email = ?1", [email], |r| r.get(0)).optional()?;
        // The current session must still be live to count (a stale identity merges nothing),
        // and whether its user is anonymous is read from the database, not from the caller's
        // copy of the identity.
        let mut is_anonymous = false;
        let current = match current.and_then(|c| c.session.as_deref().map(|s| (c, s))) {
            Some((c, hash)) => {
                let live: Option<(String, bool)> = conn
                    .query_row(
                        "SELECT s.user_id, u.email IS NULL FROM sessions s JOIN users u ON u.id = s.user_id
                         WHERE s.id = ?1 AND s.expires_at > ?2",
                        params![hash, self.at(Duration::ZERO)],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                match live {
                    Some((user, anonymous)) if user == c.tenant.to_string() => {
                        is_anonymous = anonymous;
                        Some((c, hash))
                    }
                    _ => None,
                }
            }
            None => None,
        };
        let anonymous = current.filter(|_| is_anonymous);
        let mut merged = MergeReport::default();
        let account_id = match (account, anonymous, merge) {
            (Some(account), Some((anon, _)), Merge::IntoAccount) if account != anon.tenant.to_string() => {
                let anon_id = anon.tenant.to_string();
                merged = transfer(conn, &anon_id, &account)?;
                // A Stripe customer linked while anonymous follows the data, unless the
                // account already has another one (then the anonymous user keeps it, and is
                // kept).
                let stripe = |id: &str| -> Result<Option<String>> {
                    Ok(conn.query_row("SELECT stripe_customer_id FROM users WHERE id = ?1", [id], |r| r.get(0))?)
                };
                if let (Some(customer), None) = (stripe(&anon_id)?, stripe(&account)?) {
                    conn.execute("UPDATE users SET stripe_customer_id = NULL WHERE id = ?1", [&anon_id])?;
                    conn.execute("UPDATE users SET stripe_customer_id = ?1 WHERE id = ?2", params![customer, account])?;
                }
                conn.execute("DELETE FROM sessions WHERE user_id = ?1", [&anon_id])?;
                let keeps_stripe: bool = conn.query_row(
                    "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1 AND stripe_customer_id IS NOT NULL)",
                    [&anon_id],
                    |r| r.get(0),
                )?;
                if merged.rows_kept == 0 && !keeps_stripe {
                    conn.execute("DELETE FROM users WHERE id = ?1", [&anon_id])?;
                }
                account
            }
            (Some(account), _, _) => account,
            (None, Some((anon, _)), Merge::IntoAccount) => {
                // The anonymous user becomes the account: their data is already theirs.
                conn.execute(
                    "UPDATE users SET email = ?1 WHERE id = ?2 AND email IS NULL",
                    params![email, anon.tenant.to_string()],
                )?;
                anon.tenant.to_string()
            }
            (None, _, _) => {
                let id = Uuid::new_v4().to_string();
                conn.execute(
                    "INSERT INTO users (id, email, created_at) VALUES (?1, ?2, ?3)",
                    params![id, email, self.at(Duration::ZERO)],
                )?;
                id
            }
        };
        // Rotate: the session the login came from stops working.
        if let Some((_, hash)) = current {
            conn.execute("DELETE FROM sessions WHERE id = ?1", [hash])?;
        }
        let session = self.new_session(conn, &account_id, session_token)?;
        Ok(Login { session, merged })
    }
}

/// Moves every owned row of `from` to `to`, table by table from the registry. A row whose
/// key the account already has stays with `from` (counted in `rows_kept`).
fn transfer(conn: &Connection, from: &str, to: &str) -> Result<MergeReport> {
    let mut report = MergeReport::default();
    for info in crate::owned_tables() {
        let Some(col) = info.tenant_column() else { continue };
        if !tablesql::table_exists(conn, info.name)? {
            continue;
        }
        let moved = conn.execute(&tablesql::reown_rows(info, col), [to, from])?;
        let kept: i64 = conn.query_row(&tablesql::count_tenant_rows(info, col), [from], |r| r.get(0))?;
        report.rows_moved += moved;
        report.rows_kept += usize::try_from(kept).unwrap_or(usize::MAX);
    }
    Ok(report)
}
