//! Magic links: requesting one (rate-limited per email and per caller), peeking at the
//! address it signs in to, and using it up to log in.

use std::time::Duration;

use rusqlite::{OptionalExtension as _, params};

use crate::error::{Error, Result};

use super::secret::{random_token, token_hash, well_formed};
use super::{Auth, Identity, Login, Mail, Merge, email};

impl Auth {
    /// Counts one request in each bucket, or refuses with [`Error::RateLimited`] (counting
    /// nothing) when any bucket already holds `limit` requests within `window`.
    pub(super) fn take_rate(
        &self,
        conn: &rusqlite::Connection,
        buckets: &[(String, u32)],
        window: Duration,
    ) -> Result<()> {
        let window_start = self.ago(window);
        for (bucket, limit) in buckets {
            let count: Option<u32> = conn
                .query_row(
                    "SELECT count FROM auth_rate_limits WHERE bucket = ?1 AND window_start > ?2",
                    params![bucket, window_start],
                    |r| r.get(0),
                )
                .optional()?;
            if count.is_some_and(|c| c >= *limit) {
                return Err(Error::RateLimited);
            }
        }
        let now = self.at(Duration::ZERO);
        for (bucket, _) in buckets {
            conn.execute(
                "INSERT INTO auth_rate_limits (bucket, window_start, count) VALUES (?1, ?2, 1)
                 ON CONFLICT (bucket) DO UPDATE SET
                   count = CASE WHEN window_start > ?3 THEN count + 1 ELSE 1 END,
                   window_start = CASE WHEN window_start > ?3 THEN window_start ELSE ?2 END",
                params![bucket, now, window_start],
            )?;
        }
        Ok(())
    }

    /// Sends a magic link to `email`. Known and unknown addresses take the same path and
    /// get the same answer (an unknown address gets an account when the link is used).
    /// `caller` is the rate-limit key of whoever asks (an IP address, say); too many
    /// requests per email or per caller give [`Error::RateLimited`]. `current` is the
    /// session asking: only that session's anonymous data is merged when the link is used.
    pub fn request_link(&self, email: &str, caller: &str, current: Option<&Identity>) -> Result<()> {
        let mail = self.store_link(email, caller, current)?;
        super::mail::deliver(self.inner.mailer.send(&mail))
    }

    /// The database half of [`request_link`](Self::request_link): the rate limits and the
    /// stored link; returns the message to send.
    pub(crate) fn store_link(&self, email: &str, caller: &str, current: Option<&Identity>) -> Result<Mail> {
        let email = email::normalize(email)?;
        let token = random_token()?;
        self.inner.db.write(|conn| {
            let buckets = [
                (format!("email:{}", token_hash(&email)), self.inner.per_email),
                (format!("caller:{}", token_hash(caller)), self.inner.per_caller),
            ];
            self.take_rate(conn, &buckets, self.inner.rate_window)?;
            conn.execute(
                "INSERT INTO login_tokens (token, email, expires_at, requested_by) VALUES (?1, ?2, ?3, ?4)",
                params![
                    token_hash(&token),
                    email,
                    self.at(self.inner.link_ttl),
                    current.and_then(|c| c.session.as_deref())
                ],
            )?;
            Ok(())
        })?;
        let link = format!("{}?token={token}", self.inner.verify_url);
        Ok(self.inner.mail_template.render(&email, &link, self.inner.link_ttl.as_secs() / 60))
    }

    /// The address a live link signs in to, masked (`a***@example.com`), without using the
    /// link up: show it on the confirm page, so nobody confirms someone else's link
    /// unawares. `None` for anything that is not a live, unused link.
    pub fn peek_link(&self, token: &str) -> Result<Option<String>> {
        if !well_formed(token) {
            return Ok(None);
        }
        let email: Option<String> = self.inner.db.with_conn(|conn| {
            Ok(conn
                .query_row(
                    "SELECT email FROM login_tokens WHERE token = ?1 AND used_at IS NULL AND expires_at > ?2",
                    params![token_hash(token), self.at(Duration::ZERO)],
                    |r| r.get(0),
                )
                .optional()?)
        })?;
        Ok(email.map(|e| match e.split_once('@') {
            Some((local, domain)) => format!("{}***@{domain}", local.chars().next().unwrap_or('*')),
            None => String::from("***"),
        }))
    }

    /// Uses a magic-link token (call it from the POST of the confirm page). The token works
    /// once: a single atomic update claims it, so of two concurrent verifications exactly
    /// one succeeds. Any token that is not a live, unused link, whatever the reason, gives
    /// [`Error::InvalidLink`]. The login rotates `current`'s session and, with
    /// [`Merge::IntoAccount`], moves an anonymous user's data into the account (recorded in
    /// the login's transaction, then done; see [`Merge`]). The merge happens only when
    /// `current` is the session that requested the
    /// link; confirmed from any other session (another device, or someone who was sent the
    /// link), the login leaves that session's data alone.
    pub fn verify_link(&self, token: &str, current: Option<&Identity>, merge: Merge) -> Result<Login> {
        if !well_formed(token) {
            return Err(Error::InvalidLink);
        }
        let session_token = random_token()?;
        self.inner
            .db
            .write(|conn| {
                let now = self.at(Duration::ZERO);
                let claimed: Option<(String, Option<String>)> = conn
                    .query_row(
                        "UPDATE login_tokens SET used_at = ?1
                     WHERE token = ?2 AND used_at IS NULL AND expires_at > ?1
                     RETURNING email, requested_by",
                        params![now, token_hash(token)],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                let (email, requested_by) = claimed.ok_or(Error::InvalidLink)?;
                let same_session =
                    current.and_then(|c| c.session.as_deref()).is_some_and(|s| Some(s) == requested_by.as_deref());
                let merge = if same_session { merge } else { Merge::KeepSeparate };
                self.login(conn, &email, current, merge, session_token)
            })
            .and_then(|login| self.after_login(login))
    }
}
