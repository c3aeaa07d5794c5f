//! Accounts, sessions, anonymous identity and email magic links: the only place a
//! [`TenantId`] is minted for an existing user.
//!
//! ```
//! use tenantry::auth::{Auth, MemoryMailer, Merge};
//! use std::sync::Arc;
//!
//! # fn main() -> tenantry::Result<()> {
//! let db = tenantry::Database::open_in_memory()?;
//! let mail = Arc::new(MemoryMailer::default());
//! let admin = tenantry::Admin::new("the application's auth service");
//! let auth = Auth::builder(&admin, db).verify_url("https://clips.example/auth/verify").mailer(mail.clone()).build()?;
//!
//! // First visit: an anonymous user with a session; the cookie carries the token.
//! let anon = auth.start_anonymous()?;
//! let cookie = anon.cookie();
//! assert!(cookie.starts_with("__Host-session="));
//! let me = auth.resolve_cookie(&format!("{}", cookie.split(';').next().unwrap()))?.expect("signed in");
//! assert!(me.is_anonymous());
//!
//! // Later: a magic link. The link's token arrives by mail; the verify step is a POST.
//! auth.request_link("Ada@Example.com", "203.0.113.7", Some(&me))?;
//! let body = &mail.sent()[0].body;
//! let token = body.split("token=").nth(1).unwrap().trim();
//! let login = auth.verify_link(token, Some(&me), Merge::IntoAccount)?;
//! assert_eq!(login.session.identity.user.email.as_deref(), Some("ada@example.com"));
//! // The anonymous user became the account: same tenant, data already in place.
//! assert_eq!(login.session.identity.tenant(), me.tenant());
//! // The old session no longer works.
//! assert!(auth.resolve(anon.token.expose())?.is_none());
//! # Ok(()) }
//! ```

mod clock;
mod cookie;
mod email;
mod mail;
mod migrate;
mod secret;
#[cfg(feature = "axum")]
mod web;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OptionalExtension as _, params};
use uuid::Uuid;

pub use clock::{Clock, SystemClock, timestamp};
pub use cookie::{SESSION_COOKIE, logout_cookie, session_cookie, token_from_cookie_header};
pub use mail::{Mail, Mailer, MemoryMailer, Outbox};
pub use migrate::AUTH_SCHEMA_VERSION;
pub use secret::SessionToken;
#[cfg(feature = "axum")]
pub use web::{AuthRejection, CurrentUser, MaybeUser, anonymous_session};

use crate::db::Database;
use crate::error::{Error, Result};
use crate::tablesql;
use crate::tenant::{Admin, TenantId};

use secret::{random_token, token_hash, well_formed};

/// A signed-in user: the [`TenantId`] all their statements and keys are scoped to, and
/// their account details. Made only by resolving a session or logging in.
#[derive(Clone)]
pub struct Identity {
    tenant: TenantId,
    /// The account.
    pub user: User,
    /// SHA-256 of the session token this identity was resolved from.
    session: Option<String>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The session's hash is the database key of a live session: not for logs.
        f.debug_struct("Identity").field("tenant", &self.tenant).field("user", &self.user).finish_non_exhaustive()
    }
}

impl Identity {
    /// The tenant token for this user.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// Whether the user has not logged in with an email yet.
    pub fn is_anonymous(&self) -> bool {
        self.user.email.is_none()
    }
}

/// A row of `users`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct User {
    /// Normalised email, once the user has logged in.
    pub email: Option<String>,
    /// Linked Stripe customer, once the user has paid.
    pub stripe_customer_id: Option<String>,
    /// When the account was created.
    pub created_at: String,
    /// When a request last resolved one of the user's sessions (updated at most every
    /// [`AuthBuilder::last_seen_every`]).
    pub last_seen_at: Option<String>,
}

/// Proof that an email address belongs to whoever is signing in, made outside the magic
/// link flow (by an OAuth provider's callback, say), for [`Auth::login_verified`].
///
/// A bare email string never logs anyone in: any code could pass any address. This proof
/// is made only through an [`Admin`] whose reason names who verified the address, and
/// each one reaches the audit hook as
/// [`AuditAction::VerifiedEmail`](crate::AuditAction::VerifiedEmail). It is not `Clone`:
/// one proof, one login.
///
/// ```
/// use tenantry::Admin;
/// use tenantry::auth::VerifiedEmail;
/// // In the OAuth callback, after checking the provider's signed ID token:
/// let admin = Admin::new("google oauth callback: email verified by the ID token");
/// let proof = VerifiedEmail::new(&admin, "Ada@Example.com")?;
/// assert_eq!(proof.email(), "ada@example.com");
/// # Ok::<(), tenantry::Error>(())
/// ```
#[derive(Debug)]
pub struct VerifiedEmail {
    email: String,
}

impl VerifiedEmail {
    /// Vouches for `email` (normalised to lower case; [`Error::InvalidEmail`] if it is not
    /// an address). Audited through `admin`.
    pub fn new(admin: &Admin, email: &str) -> Result<Self> {
        let email = email::normalize(email)?;
        admin.tag().fire(crate::AuditAction::VerifiedEmail { email: &email });
        Ok(VerifiedEmail { email })
    }

    /// The normalised address.
    pub fn email(&self) -> &str {
        &self.email
    }
}

/// A new session: the identity, and the token to put in the cookie (shown only now).
#[derive(Debug, Clone)]
pub struct Session {
    /// Who the session is for.
    pub identity: Identity,
    /// The secret for the cookie.
    pub token: SessionToken,
    /// How long the session lasts.
    pub ttl: Duration,
}

impl Session {
    /// The `Set-Cookie` header value for this session.
    pub fn cookie(&self) -> String {
        session_cookie(&self.token, self.ttl)
    }
}

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

/// The longest session or link lifetime accepted (ten years); longer ones are capped.
const MAX_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Settings for [`Auth`].
pub struct AuthBuilder {
    db: Database,
    session_ttl: Duration,
    link_ttl: Duration,
    verify_url: String,
    rate_window: Duration,
    per_email: u32,
    per_caller: u32,
    last_seen_every: Duration,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
}

impl AuthBuilder {
    /// Session lifetime (default 30 days).
    pub fn session_ttl(mut self, d: Duration) -> Self {
        self.session_ttl = d.min(MAX_TTL);
        self
    }
    /// Magic-link lifetime (default 15 minutes).
    pub fn link_ttl(mut self, d: Duration) -> Self {
        self.link_ttl = d.min(MAX_TTL);
        self
    }
    /// The page a magic link opens; the token is appended as `?token=...`. That page
    /// should show a confirm button that POSTs the token (a GET must not consume it, or a
    /// mail scanner following links would log the user out of their own link).
    pub fn verify_url(mut self, url: impl Into<String>) -> Self {
        self.verify_url = url.into();
        self
    }
    /// Link requests allowed per email and per caller key within `window` (default 5 and
    /// 20 per 15 minutes).
    pub fn rate_limits(mut self, per_email: u32, per_caller: u32, window: Duration) -> Self {
        (self.per_email, self.per_caller, self.rate_window) = (per_email, per_caller, window);
        self
    }
    /// How stale `last_seen_at` may get before a resolve writes it again (default 5 min).
    pub fn last_seen_every(mut self, d: Duration) -> Self {
        self.last_seen_every = d;
        self
    }
    /// Where magic links are sent (default: printed to standard output).
    pub fn mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.mailer = mailer;
        self
    }
    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
    /// Applies the account migrations and returns the service.
    pub fn build(self) -> Result<Auth> {
        self.db.with_conn(migrate::migrate)?;
        Ok(Auth { inner: Arc::new(self) })
    }
}

/// The auth service. Cheap to clone.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<AuthBuilder>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").finish_non_exhaustive()
    }
}

fn parse_user_id(text: &str) -> Result<TenantId> {
    crate::tenant::parse_canonical_uuid(text.as_bytes()).map(TenantId::from_trusted).ok_or(Error::Decode {
        table: "users",
        column: "id",
        expected: "canonical UUID",
    })
}

impl Auth {
    /// Settings for the auth service over `db`.
    ///
    /// The auth service can sign in to any account and read every session and link of
    /// `db`, so building one is cross-tenant power: it takes an [`Admin`], and the audit
    /// hook sees [`AuditAction::Operation`](crate::AuditAction::Operation). Build it once at
    /// start-up and clone it. A second service over the same database is a second such
    /// capability: it shares the accounts, sessions and links (a link requested through
    /// one can be used through the other, since the token in the mail is what proves the
    /// address), and sends its links through its own mailer.
    pub fn builder(admin: &Admin, db: Database) -> AuthBuilder {
        admin.tag().fire(crate::AuditAction::Operation { name: "build the auth service" });
        AuthBuilder {
            db,
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            link_ttl: Duration::from_secs(15 * 60),
            verify_url: String::from("/auth/verify"),
            rate_window: Duration::from_secs(15 * 60),
            per_email: 5,
            per_caller: 20,
            last_seen_every: Duration::from_secs(5 * 60),
            mailer: Arc::new(Outbox::stdout()),
            clock: Arc::new(SystemClock),
        }
    }

    /// Applies the account migrations to `db` (also done by [`AuthBuilder::build`]), as
    /// an audited [`Admin`] operation. Returns how many were applied; running it again
    /// applies none.
    pub fn migrate(admin: &Admin, db: &Database) -> Result<usize> {
        admin.tag().fire(crate::AuditAction::Operation { name: "migrate the account tables" });
        db.with_conn(migrate::migrate)
    }

    fn now(&self) -> SystemTime {
        self.inner.clock.now()
    }

    fn at(&self, offset: Duration) -> String {
        // Far-future offsets saturate rather than overflow (and TTLs are capped anyway).
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_799); // 9999-12-31
        timestamp(self.now().checked_add(offset).map_or(far, |t| t.min(far)))
    }

    fn ago(&self, offset: Duration) -> String {
        timestamp(self.now().checked_sub(offset).unwrap_or(SystemTime::UNIX_EPOCH))
    }

    /// Creates an anonymous user and a session for them.
    pub fn start_anonymous(&self) -> Result<Session> {
        let token = random_token()?;
        let id = Uuid::new_v4();
        self.inner.db.write(|conn| {
            conn.execute(
                "INSERT INTO users (id, created_at) VALUES (?1, ?2)",
                params![id.to_string(), self.at(Duration::ZERO)],
            )?;
            self.new_session(conn, &id.to_string(), token)
        })
    }

    fn new_session(&self, conn: &Connection, user_id: &str, token: String) -> Result<Session> {
        let hash = token_hash(&token);
        let now = self.at(Duration::ZERO);
        conn.execute(
            "INSERT INTO sessions (id, user_id, expires_at, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![hash, user_id, self.at(self.inner.session_ttl), now],
        )?;
        let user = self.load_user(conn, user_id)?.ok_or(Error::NotFound)?;
        let identity = Identity { tenant: parse_user_id(user_id)?, user, session: Some(hash) };
        Ok(Session { identity, token: SessionToken(token), ttl: self.inner.session_ttl })
    }

    fn load_user(&self, conn: &Connection, user_id: &str) -> Result<Option<User>> {
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

    /// Sends a magic link to `email`. Known and unknown addresses take the same path and
    /// get the same answer (an unknown address gets an account when the link is used).
    /// `caller` is the rate-limit key of whoever asks (an IP address, say); too many
    /// requests per email or per caller give [`Error::RateLimited`]. `current` is the
    /// session asking: only that session's anonymous data is merged when the link is used.
    pub fn request_link(&self, email: &str, caller: &str, current: Option<&Identity>) -> Result<()> {
        let email = email::normalize(email)?;
        let token = random_token()?;
        self.inner.db.write(|conn| {
            let window_start = self.ago(self.inner.rate_window);
            let buckets = [
                (format!("email:{}", token_hash(&email)), self.inner.per_email),
                (format!("caller:{}", token_hash(caller)), self.inner.per_caller),
            ];
            for (bucket, limit) in &buckets {
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
            for (bucket, _) in &buckets {
                conn.execute(
                    "INSERT INTO auth_rate_limits (bucket, window_start, count) VALUES (?1, ?2, 1)
                     ON CONFLICT (bucket) DO UPDATE SET
                       count = CASE WHEN window_start > ?3 THEN count + 1 ELSE 1 END,
                       window_start = CASE WHEN window_start > ?3 THEN window_start ELSE ?2 END",
                    params![bucket, now, window_start],
                )?;
            }
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
        let mail = Mail {
            to: email,
            subject: String::from("Your sign-in link"),
            body: format!(
                "Open this link to sign in (it works once, for {} minutes):\n{}?token={token}",
                self.inner.link_ttl.as_secs() / 60,
                self.inner.verify_url
            ),
        };
        self.inner.mailer.send(&mail).map_err(Error::Mail)
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
    /// [`Merge::IntoAccount`], moves an anonymous user's data into the account, all in one
    /// transaction. The merge happens only when `current` is the session that requested the
    /// link; confirmed from any other session (another device, or someone who was sent the
    /// link), the login leaves that session's data alone.
    pub fn verify_link(&self, token: &str, current: Option<&Identity>, merge: Merge) -> Result<Login> {
        if !well_formed(token) {
            return Err(Error::InvalidLink);
        }
        let session_token = random_token()?;
        self.inner.db.write(|conn| {
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
    }

    /// Logs in to the account of an address proven by a [`VerifiedEmail`] (an OAuth
    /// callback, say): the same account, session rotation and merge as a magic link. The
    /// proof is used up.
    pub fn login_verified(&self, proof: VerifiedEmail, current: Option<&Identity>, merge: Merge) -> Result<Login> {
        let session_token = random_token()?;
        self.inner.db.write(|conn| self.login(conn, &proof.email, current, merge, session_token))
    }

    fn login(
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

    /// Links a Stripe customer to the user, once. Retrying with the same customer id is a
    /// no-op; a different id for the same user gives [`Error::StripeAlreadyLinked`], and a
    /// customer already linked to another user [`Error::StripeCustomerTaken`].
    pub fn link_stripe_customer(&self, tenant: &TenantId, customer_id: &str) -> Result<()> {
        if customer_id.is_empty() || customer_id.len() > 255 || customer_id.chars().any(char::is_control) {
            return Err(Error::InvalidStripeCustomer);
        }
        self.inner.db.write(|conn| {
            let changed = conn
                .execute(
                    "UPDATE users SET stripe_customer_id = ?1 WHERE id = ?2 AND (stripe_customer_id IS NULL OR stripe_customer_id = ?1)",
                    params![customer_id, tenant.to_string()],
                )
                .map_err(|e| match e.sqlite_error_code() {
                    Some(rusqlite::ErrorCode::ConstraintViolation) => Error::StripeCustomerTaken,
                    _ => Error::from(e),
                })?;
            if changed == 1 {
                return Ok(());
            }
            match self.load_user(conn, &tenant.to_string())? {
                Some(_) => Err(Error::StripeAlreadyLinked),
                None => Err(Error::NotFound),
            }
        })
    }

    /// The user linked to a Stripe customer, for webhooks; minting their tenant is a
    /// cross-tenant act, so it takes an [`Admin`] and is audited.
    pub fn user_by_stripe_customer(&self, admin: &Admin, customer_id: &str) -> Result<Option<(TenantId, User)>> {
        let found: Option<(String, User)> = self.inner.db.with_conn(|conn| {
            Ok(conn
                .query_row(
                    "SELECT id, email, stripe_customer_id, created_at, last_seen_at FROM users WHERE stripe_customer_id = ?1",
                    [customer_id],
                    |r| {
                        let user =
                            User { email: r.get(1)?, stripe_customer_id: r.get(2)?, created_at: r.get(3)?, last_seen_at: r.get(4)? };
                        Ok((r.get(0)?, user))
                    },
                )
                .optional()?)
        })?;
        match found {
            None => Ok(None),
            Some((id, user)) => {
                let uuid = parse_user_id(&id)?.as_uuid();
                Ok(Some((admin.tenant(uuid), user)))
            }
        }
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

    /// Removes expired sessions, used or expired login tokens, finished rate-limit
    /// windows, and anonymous users nobody can reach any more: no session, no email, no
    /// Stripe customer, and no row in any owned table of this database.
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
            let anonymous_users = conn.execute(
                &format!(
                    "DELETE FROM users WHERE email IS NULL AND stripe_customer_id IS NULL
                     AND NOT EXISTS (SELECT 1 FROM sessions WHERE sessions.user_id = users.id){owns}"
                ),
                [],
            )?;
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
