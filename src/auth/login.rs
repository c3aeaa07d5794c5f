//! Logging in to an account: session rotation, and the merge of an anonymous user's data
//! into the account.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension as _, params};
use uuid::Uuid;

use crate::error::Result;
use crate::tenant::TenantId;

use super::account::MergeReport;
use super::secret::random_token;
use super::{Auth, Identity, Session, VerifiedEmail};

/// A completed login.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Login {
    /// The new session (the previous one, if any, no longer works).
    pub session: Session,
    /// What happened to the anonymous user's data.
    pub merged: MergeReport,
    /// The anonymous user merged into the account, if any (for [`Auth::finish_login`]).
    pub(super) merged_from: Option<TenantId>,
}

/// What to do with an anonymous user's data when they log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Merge {
    /// Move it into the account: every owned row, wherever the layout keeps it
    /// ([`Layout::merge_tenant`](crate::Layout::merge_tenant): a row whose key the account
    /// already has stays the account's), and, with an object store, every object (see
    /// [`Auth::finish_login`]); then the anonymous user is removed. When the email has no
    /// account yet, the anonymous user simply becomes the account.
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
        let login = self.inner.db.write(|conn| self.login(conn, proof.email(), current, merge, session_token))?;
        self.after_login(login)
    }

    /// The part of a login after its transaction: a recorded merge moves the rows.
    pub(super) fn after_login(&self, mut login: Login) -> Result<Login> {
        if let Some(from) = &login.merged_from {
            login.merged = self.merge_after_login(from)?;
        }
        Ok(login)
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
        let mut merged_from = None;
        let account_id = match (account, anonymous, merge) {
            (Some(account), Some((anon, _)), Merge::IntoAccount) if account != anon.tenant.to_string() => {
                let anon_id = anon.tenant.to_string();
                // A Stripe customer linked while anonymous follows the data, unless the
                // account already has another one (then the anonymous user keeps it, and is
                // kept, unreachable, so the link is not lost).
                let stripe = |id: &str| -> Result<Option<String>> {
                    Ok(conn.query_row("SELECT stripe_customer_id FROM users WHERE id = ?1", [id], |r| r.get(0))?)
                };
                if let (Some(customer), None) = (stripe(&anon_id)?, stripe(&account)?) {
                    conn.execute("UPDATE users SET stripe_customer_id = NULL WHERE id = ?1", [&anon_id])?;
                    conn.execute("UPDATE users SET stripe_customer_id = ?1 WHERE id = ?2", params![customer, account])?;
                }
                conn.execute("DELETE FROM sessions WHERE user_id = ?1", [&anon_id])?;
                // The rows and objects move after this transaction (they may live in other
                // databases and a store); the record makes sure they do, even after a kill.
                super::account::record_leaving(conn, &anon_id, Some(&account), &self.at(Duration::ZERO))?;
                merged_from = Some(anon.tenant);
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
        let session = self.new_session(conn, &account_id, session_token, self.inner.session_ttl)?;
        Ok(Login { session, merged: MergeReport::default(), merged_from })
    }
}
