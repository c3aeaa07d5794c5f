//! The auth service's settings ([`AuthBuilder`]) and the audited ways to start it:
//! building the service and migrating the account tables.

use std::sync::Arc;
use std::time::Duration;

use crate::db::SqliteDatabase;
use crate::error::Result;
use crate::tenant::Admin;

use super::{Auth, Clock, MailTemplate, Mailer, Outbox, SystemClock, migrate};

/// The longest session or link lifetime accepted (ten years); longer ones are capped.
const MAX_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Settings for [`Auth`].
pub struct AuthBuilder {
    pub(super) db: SqliteDatabase,
    pub(super) session_ttl: Duration,
    pub(super) anonymous_ttl: Duration,
    pub(super) anonymous_limit: (u32, Duration),
    pub(super) link_ttl: Duration,
    pub(super) verify_url: String,
    pub(super) rate_window: Duration,
    pub(super) per_email: u32,
    pub(super) per_caller: u32,
    pub(super) last_seen_every: Duration,
    pub(super) mailer: Arc<dyn Mailer>,
    pub(super) mail_template: MailTemplate,
    pub(super) clock: Arc<dyn Clock>,
    layout: Option<crate::Layout>,
    #[cfg(feature = "object-store")]
    pub(super) objects: Option<crate::TenantStore>,
}

impl AuthBuilder {
    /// Session lifetime (default 30 days).
    pub fn session_ttl(mut self, d: Duration) -> Self {
        self.session_ttl = d.min(MAX_TTL);
        self
    }
    /// Lifetime of an anonymous session (default 7 days): shorter than an account's,
    /// since nobody can get it back once the cookie is gone.
    pub fn anonymous_ttl(mut self, d: Duration) -> Self {
        self.anonymous_ttl = d.min(MAX_TTL);
        self
    }
    /// New anonymous users allowed per caller within `window`
    /// ([`Auth::start_anonymous_for`]; default 20 per hour).
    pub fn anonymous_limit(mut self, per_caller: u32, window: Duration) -> Self {
        self.anonymous_limit = (per_caller, window);
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
    /// The magic-link message: subject, plain text and HTML, with the product's name
    /// (default: a plain-text message, [`MailTemplate::default`]). Checked by
    /// [`build`](Self::build).
    pub fn mail_template(mut self, template: MailTemplate) -> Self {
        self.mail_template = template;
        self
    }
    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
    /// Where the tenants' rows live, so that a login's merge and an account deletion
    /// reach every placement (a tenant's own file in layouts B and C). Without it, the
    /// rows are taken to live in the auth database itself (layout A over `db`).
    pub fn layout(mut self, layout: crate::Layout) -> Self {
        self.layout = Some(layout);
        self
    }
    /// The object store holding the tenants' objects, so a login's merge moves them to
    /// the account ([`Auth::finish_login`]) and an account deletion deletes them
    /// ([`Auth::finish_account_deletion`]).
    #[cfg(feature = "object-store")]
    pub fn objects(mut self, store: crate::TenantStore) -> Self {
        self.objects = Some(store);
        self
    }
    /// Applies the account migrations and returns the service.
    pub fn build(mut self) -> Result<Auth> {
        self.mail_template.check()?;
        migrate::migrate(&self.db, crate::tenant::AuditTag::library())?;
        let layout = match self.layout.take() {
            Some(layout) => layout,
            None => crate::Layout::shared(self.db.clone())?,
        };
        Ok(Auth { inner: Arc::new(self), layout })
    }
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
    pub fn builder(admin: &Admin, db: SqliteDatabase) -> AuthBuilder {
        admin.tag().fire(crate::AuditAction::Operation { name: "build the auth service" });
        AuthBuilder {
            db,
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            anonymous_ttl: Duration::from_secs(7 * 24 * 3600),
            anonymous_limit: (20, Duration::from_secs(3600)),
            link_ttl: Duration::from_secs(15 * 60),
            verify_url: String::from("/auth/verify"),
            rate_window: Duration::from_secs(15 * 60),
            per_email: 5,
            per_caller: 20,
            last_seen_every: Duration::from_secs(5 * 60),
            mailer: Arc::new(Outbox::stdout()),
            mail_template: MailTemplate::default(),
            clock: Arc::new(SystemClock),
            layout: None,
            #[cfg(feature = "object-store")]
            objects: None,
        }
    }

    /// Applies the account migrations to `db` (also done by [`AuthBuilder::build`]), as
    /// an audited [`Admin`] operation. Returns how many were applied; running it again
    /// applies none.
    pub fn migrate(admin: &Admin, db: &SqliteDatabase) -> Result<usize> {
        admin.tag().fire(crate::AuditAction::Operation { name: "migrate the account tables" });
        migrate::migrate(db, admin.tag())
    }
}
