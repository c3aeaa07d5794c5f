//! Who is signed in: an [`Identity`] and its [`User`] row, a new [`Session`] with its
//! token, and the [`VerifiedEmail`] proof that a login outside the magic-link flow takes.

use std::time::Duration;

use crate::error::Result;
use crate::tenant::{Admin, TenantId};

use super::{SessionToken, email, session_cookie};

/// A signed-in user: the [`TenantId`] all their statements and keys are scoped to, and
/// their account details. Made only by resolving a session or logging in.
#[derive(Clone)]
pub struct Identity {
    pub(super) tenant: TenantId,
    /// The account.
    pub user: User,
    /// SHA-256 of the session token this identity was resolved from.
    pub(super) session: Option<String>,
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
    ///
    /// [`AuthBuilder::last_seen_every`]: super::AuthBuilder::last_seen_every
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
///
/// [`Auth::login_verified`]: super::Auth::login_verified
#[derive(Debug)]
pub struct VerifiedEmail {
    email: String,
}

impl VerifiedEmail {
    /// Vouches for `email` (normalised to lower case; [`Error::InvalidEmail`] if it is not
    /// an address). Audited through `admin`.
    ///
    /// [`Error::InvalidEmail`]: crate::Error::InvalidEmail
    pub fn new(admin: &Admin, email: &str) -> Result<Self> {
        let email = email::normalize(email)?;
        admin.tag().fire(crate::AuditAction::VerifiedEmail { email: &email });
        Ok(VerifiedEmail { email })
    }

    /// An address an OAuth provider has verified (the proof comes from the provider's
    /// signed answer, checked by [`OAuthLogin`](crate::auth::OAuthLogin)).
    #[cfg(feature = "oauth")]
    pub(super) fn from_provider(email: &str) -> Result<Self> {
        Ok(VerifiedEmail { email: email::normalize(email)? })
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
