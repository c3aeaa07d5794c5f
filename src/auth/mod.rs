//! Accounts, sessions, anonymous identity and email magic links: the only place a
//! [`TenantId`] is minted for an existing user.
//!
//! ```
//! use tenantry::auth::{Auth, MemoryMailer, Merge};
//! use std::sync::Arc;
//!
//! # fn main() -> tenantry::Result<()> {
//! let db = tenantry::SqliteDatabase::open_in_memory()?;
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

mod account;
#[cfg(feature = "tokio")]
mod asynchronous;
mod builder;
mod cookie;
mod email;
#[cfg(feature = "http-mail")]
mod http_mail;
mod identity;
mod link;
mod login;
mod mail;
mod migrate;
#[cfg(feature = "oauth")]
mod oauth;
mod secret;
mod session;
#[cfg(feature = "smtp")]
mod smtp;
mod stripe;
mod sweep;
#[cfg(feature = "axum")]
mod web;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use crate::clock::{Clock, SystemClock, timestamp};
#[cfg(feature = "object-store")]
pub use account::ObjectsDone;
pub use account::{AccountDeletion, Leaving, MergeReport};
#[cfg(feature = "tokio")]
pub use asynchronous::AsyncAuth;
pub use builder::AuthBuilder;
pub use cookie::{SESSION_COOKIE, logout_cookie, session_cookie, token_from_cookie_header};
#[cfg(feature = "http-mail")]
pub use http_mail::{EmailApi, HttpMailer, HttpMailerBuilder};
pub use identity::{Identity, Session, User, VerifiedEmail};
pub use login::{Login, Merge};
pub use mail::{Mail, MailError, MailFuture, MailTemplate, Mailer, MemoryMailer, Outbox};
pub use migrate::AUTH_SCHEMA_VERSION;
#[cfg(feature = "oauth")]
pub use oauth::{OAUTH_COOKIE, OAuthLogin, OAuthProvider, OAuthStart};
pub use secret::SessionToken;
#[cfg(feature = "smtp")]
pub use smtp::{SmtpMailer, SmtpMailerBuilder, SmtpSecurity};
pub use sweep::Sweep;
#[cfg(feature = "axum")]
pub use web::{AuthRejection, CurrentUser, MaybeUser, Visitor, anonymous_session};

use crate::error::{Error, Result};
use crate::tenant::TenantId;

/// The auth service. Cheap to clone.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<AuthBuilder>,
    /// Where the tenants' rows live (merges and deletions reach every placement).
    layout: crate::Layout,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").finish_non_exhaustive()
    }
}

/// Whether `host` (a name or an IP address, IPv6 possibly in brackets) is this machine:
/// the one place plaintext mail or a plain-HTTP provider is accepted.
#[cfg(any(feature = "smtp", feature = "http-mail", feature = "oauth"))]
pub(crate) fn is_local_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn parse_user_id(text: &str) -> Result<TenantId> {
    crate::tenant::parse_canonical_uuid(text.as_bytes()).map(TenantId::from_trusted).ok_or(Error::Decode {
        table: "users",
        column: "id",
        expected: "canonical UUID",
    })
}

impl Auth {
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
}
