//! Sessions: starting an anonymous one, resolving a token or cookie to an [`Identity`],
//! and logging out.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension as _, params};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::tenant::TenantId;

use super::secret::{random_token, token_hash, well_formed};
use super::{Auth, Identity, Session, SessionToken, User, cookie, parse_user_id};

impl Auth {
    /// Creates an anonymous user and a session for them, with the anonymous lifetime
    /// ([`AuthBuilder::anonymous_ttl`](super::AuthBuilder::anonymous_ttl)). Not rate
    /// limited: for requests from the outside use
    /// [`start_anonymous_for`](Self::start_anonymous_for).
    pub fn start_anonymous(&self) -> Result<Session> {
        self.anonymous(None)
    }

    /// [`start_anonymous`](Self::start_anonymous) for a request from `caller` (its rate-limit
    /// key: an IP address, say): too many new anonymous users from one caller within the
    /// window ([`AuthBuilder::anonymous_limit`](super::AuthBuilder::anonymous_limit)) give
    /// [`Error::RateLimited`], and nothing is created.
    pub fn start_anonymous_for(&self, caller: &str) -> Result<Session> {
        self.anonymous(Some(caller))
    }

    fn anonymous(&self, caller: Option<&str>) -> Result<Session> {
        let token = random_token()?;
        let id = Uuid::new_v4();
        self.inner.db.write(|conn| {
            if let Some(caller) = caller {
                let (limit, window) = self.inner.anonymous_limit;
                self.take_rate(conn, &[(format!("anonymous:{}", token_hash(caller)), limit)], window)?;
            }
            conn.execute(
                "INSERT INTO users (id, created_at) VALUES (?1, ?2)",
                params![id.to_string(), self.at(Duration::ZERO)],
            )?;
            self.new_session(conn, &id.to_string(), token, self.inner.anonymous_ttl)
        })
    }

    pub(super) fn new_session(
        &self,
        conn: &Connection,
        user_id: &str,
        token: String,
        ttl: Duration,
    ) -> Result<Session> {
        let hash = token_hash(&token);
        let now = self.at(Duration::ZERO);
        conn.execute(
            "INSERT INTO sessions (id, user_id, expires_at, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![hash, user_id, self.at(ttl), now],
        )?;
        let user = self.load_user(conn, user_id)?.ok_or(Error::NotFound)?;
        let identity = Identity { tenant: parse_user_id(user_id)?, user, session: Some(hash) };
        Ok(Session { identity, token: SessionToken(token), ttl })
    }

    pub(super) fn load_user(&self, conn: &Connection, user_id: &str) -> Result<Option<User>> {
        Ok(conn
            .query_row(
                "SELECT email, stripe_customer_id, created_at, last_seen_at FROM users WHERE id = ?1",
                [user_id],
                |r| {
                    Ok(User {
                        email: r.get(0)?,
                        stripe_customer_id: r.get(1)?,
                        created_at: r.get(2)?,
                        last_seen_at: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// The identity a session token stands for, or `None` for any token that does not
    /// open a live session (unknown, expired, malformed, tampered): the caller cannot tell
    /// these apart, and none of them touches the database beyond one lookup.
    pub fn resolve(&self, token: &str) -> Result<Option<Identity>> {
        if !well_formed(token) {
            return Ok(None);
        }
        let hash = token_hash(token);
        let found = self.inner.db.with_conn(|conn| {
            Ok(conn
                .query_row(
                    "SELECT u.id, u.email, u.stripe_customer_id, u.created_at, u.last_seen_at
                     FROM sessions s JOIN users u ON u.id = s.user_id
                     WHERE s.id = ?1 AND s.expires_at > ?2",
                    params![hash, self.at(Duration::ZERO)],
                    |r| {
                        let user = User {
                            email: r.get(1)?,
                            stripe_customer_id: r.get(2)?,
                            created_at: r.get(3)?,
                            last_seen_at: r.get(4)?,
                        };
                        Ok((r.get::<_, String>(0)?, user))
                    },
                )
                .optional()?)
        })?;
        let Some((user_id, mut user)) = found else { return Ok(None) };
        // Slide last_seen_at without a write on every request.
        let stale = self.ago(self.inner.last_seen_every);
        if user.last_seen_at.as_deref().is_none_or(|seen| seen < stale.as_str()) {
            let now = self.at(Duration::ZERO);
            self.inner.db.with_conn(|conn| {
                Ok(conn.execute("UPDATE users SET last_seen_at = ?1 WHERE id = ?2", params![now, user_id])?)
            })?;
            user.last_seen_at = Some(now);
        }
        Ok(Some(Identity { tenant: parse_user_id(&user_id)?, user, session: Some(hash) }))
    }

    /// [`resolve`](Auth::resolve) for the session cookie in a `Cookie` request header. A
    /// header without a well-formed session cookie (a bare user id, say) resolves to `None`.
    pub fn resolve_cookie(&self, cookie_header: &str) -> Result<Option<Identity>> {
        for token in cookie::tokens_from_cookie_header(cookie_header) {
            if let Some(identity) = self.resolve(token)? {
                return Ok(Some(identity));
            }
        }
        Ok(None)
    }

    /// Ends the session `identity` was resolved from.
    pub fn logout(&self, identity: &Identity) -> Result<()> {
        if let Some(hash) = &identity.session {
            self.inner.db.with_conn(|conn| Ok(conn.execute("DELETE FROM sessions WHERE id = ?1", [hash])?))?;
        }
        Ok(())
    }

    /// Ends every session of the tenant's user; returns how many.
    pub fn logout_everywhere(&self, tenant: &TenantId) -> Result<usize> {
        self.inner
            .db
            .with_conn(|conn| Ok(conn.execute("DELETE FROM sessions WHERE user_id = ?1", [tenant.to_string()])?))
    }
}
