//! [`AsyncAuth`]: the auth layer for async services (feature `tokio`).

use super::{AccountDeletion, Auth, Identity, Leaving, Login, Merge, Session, Sweep, User, VerifiedEmail};
use crate::asynchronous::hop;
use crate::error::{Error, Result};
use crate::tenant::{Admin, TenantId};

/// The auth service for async code: each call's database work (a short SQLite
/// transaction, or a wait on the write lock) runs on tokio's blocking pool, never on a
/// runtime worker thread, and the [`Mailer`](super::Mailer) is awaited on the caller's
/// runtime. The same calls, rules and errors as [`Auth`]; cheap to clone.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> tenantry::Result<()> {
/// use std::sync::Arc;
/// use tenantry::auth::{Auth, AsyncAuth, MemoryMailer, Merge};
///
/// let admin = tenantry::Admin::new("the application's auth service");
/// let mail = Arc::new(MemoryMailer::default());
/// let auth = AsyncAuth::new(
///     Auth::builder(&admin, tenantry::SqliteDatabase::open_in_memory()?)
///         .verify_url("https://clips.example/auth/verify")
///         .mailer(mail.clone())
///         .build()?,
/// );
/// let anon = auth.start_anonymous_for("203.0.113.7").await?;
/// auth.request_link("ada@example.com", "203.0.113.7", Some(&anon.identity)).await?;
/// let token = mail.sent()[0].body.split("token=").nth(1).unwrap().trim().to_owned();
/// let login = auth.verify_link(&token, Some(&anon.identity), Merge::IntoAccount).await?;
/// assert_eq!(login.session.identity.tenant(), anon.identity.tenant());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct AsyncAuth {
    auth: Auth,
}

impl AsyncAuth {
    /// Wraps the auth service.
    pub fn new(auth: Auth) -> Self {
        AsyncAuth { auth }
    }

    /// The blocking service inside, for sync code.
    pub fn get_ref(&self) -> &Auth {
        &self.auth
    }

    /// Runs `f` with the service on tokio's blocking pool.
    async fn call<R: Send + 'static>(&self, f: impl FnOnce(&Auth) -> Result<R> + Send + 'static) -> Result<R> {
        hop(self.auth.clone(), f).await
    }

    /// [`Auth::start_anonymous`].
    pub async fn start_anonymous(&self) -> Result<Session> {
        self.call(Auth::start_anonymous).await
    }

    /// [`Auth::start_anonymous_for`].
    pub async fn start_anonymous_for(&self, caller: &str) -> Result<Session> {
        let caller = caller.to_owned();
        self.call(move |a| a.start_anonymous_for(&caller)).await
    }

    /// [`Auth::resolve`].
    pub async fn resolve(&self, token: &str) -> Result<Option<Identity>> {
        let token = token.to_owned();
        self.call(move |a| a.resolve(&token)).await
    }

    /// [`Auth::resolve_cookie`].
    pub async fn resolve_cookie(&self, cookie_header: &str) -> Result<Option<Identity>> {
        let header = cookie_header.to_owned();
        self.call(move |a| a.resolve_cookie(&header)).await
    }

    /// [`Auth::logout`].
    pub async fn logout(&self, identity: &Identity) -> Result<()> {
        let identity = identity.clone();
        self.call(move |a| a.logout(&identity)).await
    }

    /// [`Auth::logout_everywhere`].
    pub async fn logout_everywhere(&self, tenant: &TenantId) -> Result<usize> {
        let tenant = *tenant;
        self.call(move |a| a.logout_everywhere(&tenant)).await
    }

    /// [`Auth::request_link`]: the link is stored on the blocking pool, then the mailer
    /// is awaited here.
    pub async fn request_link(&self, email: &str, caller: &str, current: Option<&Identity>) -> Result<()> {
        let (email, caller, current) = (email.to_owned(), caller.to_owned(), current.cloned());
        let mail = self.call(move |a| a.store_link(&email, &caller, current.as_ref())).await?;
        self.auth.inner.mailer.send(&mail).await.map_err(Error::Mail)
    }

    /// [`Auth::peek_link`].
    pub async fn peek_link(&self, token: &str) -> Result<Option<String>> {
        let token = token.to_owned();
        self.call(move |a| a.peek_link(&token)).await
    }

    /// [`Auth::verify_link`].
    pub async fn verify_link(&self, token: &str, current: Option<&Identity>, merge: Merge) -> Result<Login> {
        let (token, current) = (token.to_owned(), current.cloned());
        self.call(move |a| a.verify_link(&token, current.as_ref(), merge)).await
    }

    /// [`Auth::login_verified`].
    pub async fn login_verified(
        &self,
        proof: VerifiedEmail,
        current: Option<&Identity>,
        merge: Merge,
    ) -> Result<Login> {
        let current = current.cloned();
        self.call(move |a| a.login_verified(proof, current.as_ref(), merge)).await
    }

    /// [`Auth::delete_account`].
    pub async fn delete_account(&self, tenant: &TenantId) -> Result<AccountDeletion> {
        let tenant = *tenant;
        self.call(move |a| a.delete_account(&tenant)).await
    }

    /// [`Auth::finish_leaving`].
    pub async fn finish_leaving(&self, admin: &Admin) -> Result<Leaving> {
        let admin = admin.for_another_thread();
        self.call(move |a| a.finish_leaving(&admin)).await
    }

    /// [`Auth::link_stripe_customer`].
    pub async fn link_stripe_customer(&self, tenant: &TenantId, customer_id: &str) -> Result<()> {
        let (tenant, customer) = (*tenant, customer_id.to_owned());
        self.call(move |a| a.link_stripe_customer(&tenant, &customer)).await
    }

    /// [`Auth::user_by_stripe_customer`].
    pub async fn user_by_stripe_customer(&self, admin: &Admin, customer_id: &str) -> Result<Option<(TenantId, User)>> {
        let (admin, customer) = (admin.for_another_thread(), customer_id.to_owned());
        self.call(move |a| a.user_by_stripe_customer(&admin, &customer)).await
    }

    /// [`Auth::finish_login`]: the objects move on this runtime, the database work on the
    /// blocking pool.
    #[cfg(feature = "object-store")]
    pub async fn finish_login(&self, login: &Login) -> Result<super::ObjectsDone> {
        self.auth.finish_login(login).await
    }

    /// [`Auth::finish_account_deletion`].
    #[cfg(feature = "object-store")]
    pub async fn finish_account_deletion(&self, tenant: &TenantId) -> Result<super::ObjectsDone> {
        self.auth.finish_account_deletion(tenant).await
    }

    /// [`Auth::finish_leaving_objects`].
    #[cfg(feature = "object-store")]
    pub async fn finish_leaving_objects(&self, admin: &Admin) -> Result<Leaving> {
        self.auth.finish_leaving_objects(admin).await
    }

    /// [`Auth::sweep`].
    pub async fn sweep(&self, admin: &Admin) -> Result<Sweep> {
        let admin = admin.for_another_thread();
        self.call(move |a| a.sweep(&admin)).await
    }
}
