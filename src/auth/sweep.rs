//! Clearing out what no longer works: expired sessions and links, finished rate-limit
//! windows, and anonymous users nobody can reach.

use std::time::Duration;

use crate::error::Result;
use crate::tablesql;
use crate::tenant::Admin;

use super::Auth;

/// What a sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sweep {
    /// Expired sessions.
    pub sessions: usize,
    /// Used or expired login tokens.
    pub login_tokens: usize,
    /// Finished rate-limit windows.
    pub rate_limits: usize,
    /// Anonymous users with no session and no data left.
    pub anonymous_users: usize,
}

impl Auth {
    /// Removes expired sessions, used or expired login tokens, finished rate-limit
    /// windows, and anonymous users nobody can reach any more: no session, no email, no
    /// Stripe customer, no row in any owned table of the auth database, and no database
    /// file of their own in the layout.
    ///
    /// It deletes across every tenant, so it takes an [`Admin`] (audited as an
    /// [`AuditAction::Operation`](crate::AuditAction::Operation)).
    pub fn sweep(&self, admin: &Admin) -> Result<Sweep> {
        admin.tag().fire(crate::AuditAction::Operation { name: "sweep sessions, links and anonymous users" });
        let now = self.at(Duration::ZERO);
        let window_start = self.ago(self.inner.rate_window);
        self.inner.db.write(|conn| {
            let sessions = conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [&now])?;
            let mut owns = String::new();
            for info in crate::owned_tables() {
                let (Some(col), true) = (info.tenant_column(), tablesql::table_exists(conn, info.name)?) else {
                    continue;
                };
                owns.push_str(&tablesql::no_rows_of_user(info, col));
            }
            // Unreachable: no email, no Stripe customer, no session; not on its way out
            // (a merge or deletion finishes it); no rows in this database, and no file of
            // its own in the layout (rows there are looked for no further: a user with a
            // file is kept).
            let candidates: Vec<String> = conn
                .prepare(&format!(
                    "SELECT id FROM users WHERE email IS NULL AND stripe_customer_id IS NULL
                     AND NOT EXISTS (SELECT 1 FROM sessions WHERE sessions.user_id = users.id)
                     AND NOT EXISTS (SELECT 1 FROM tenantry_leaving WHERE tenantry_leaving.tenant = users.id){owns}"
                ))?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut anonymous_users = 0;
            for id in candidates {
                let has_file = match super::parse_user_id(&id) {
                    Ok(tenant) => self.layout.tenant_path(&tenant).is_some_and(|p| p.exists()),
                    Err(_) => false,
                };
                if !has_file {
                    anonymous_users += conn.execute("DELETE FROM users WHERE id = ?1", [&id])?;
                }
            }
            Ok(Sweep {
                sessions,
                login_tokens: conn
                    .execute("DELETE FROM login_tokens WHERE used_at IS NOT NULL OR expires_at <= ?1", [&now])?,
                rate_limits: conn.execute("DELETE FROM auth_rate_limits WHERE window_start <= ?1", [&window_start])?,
                anonymous_users,
            })
        })
    }
}
