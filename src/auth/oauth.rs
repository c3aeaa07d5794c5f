//! Sign-in with Google, GitHub or any OpenID Connect provider (feature `oauth`): the
//! authorization-code flow with PKCE, `state` and `nonce`, on the `openidconnect` crate.

use std::collections::HashMap;
use std::time::Duration;

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse,
};
use rusqlite::{OptionalExtension, params};

use super::secret::{random_token, token_hash};
use super::{Auth, Identity, Login, Merge, VerifiedEmail};
use crate::error::{Error, Result};
use crate::tenant::Admin;

/// What kind of provider, and where it lives.
#[derive(Debug, Clone)]
enum Kind {
    /// OpenID Connect: discovery at `{issuer}/.well-known/openid-configuration`, an ID token
    /// verified against the provider's keys.
    OpenId { issuer: String },
    /// GitHub: OAuth 2 without an ID token; the address is the verified primary one from
    /// its API.
    GitHub { authorize: String, token: String, api: String },
}

/// A sign-in provider for [`OAuthLogin`]: its client id and secret (from the provider's
/// console) and this application's callback URL, which must be registered there.
#[derive(Clone)]
pub struct OAuthProvider {
    name: String,
    kind: Kind,
    client_id: String,
    client_secret: String,
    redirect_url: String,
}

impl std::fmt::Debug for OAuthProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client secret stays out of logs.
        f.debug_struct("OAuthProvider").field("name", &self.name).field("kind", &self.kind).finish_non_exhaustive()
    }
}

impl OAuthProvider {
    /// Google (OpenID Connect, issuer `https://accounts.google.com`), named `google`.
    pub fn google(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_url: impl Into<String>,
    ) -> Self {
        OAuthProvider::openid("google", "https://accounts.google.com", client_id, client_secret, redirect_url)
    }

    /// Any OpenID Connect provider at `issuer`, named `name` (the name start and finish
    /// take).
    pub fn openid(
        name: impl Into<String>,
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_url: impl Into<String>,
    ) -> Self {
        OAuthProvider {
            name: name.into(),
            kind: Kind::OpenId { issuer: issuer.into() },
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            redirect_url: redirect_url.into(),
        }
    }

    /// GitHub, named `github`: it has no ID token, so the address is the account's
    /// primary email, and only if GitHub has verified it (scope `user:email`).
    pub fn github(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_url: impl Into<String>,
    ) -> Self {
        OAuthProvider {
            name: String::from("github"),
            kind: Kind::GitHub {
                authorize: String::from("https://github.com/login/oauth/authorize"),
                token: String::from("https://github.com/login/oauth/access_token"),
                api: String::from("https://api.github.com"),
            },
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            redirect_url: redirect_url.into(),
        }
    }

    /// For a GitHub provider: other addresses for its authorize page, token endpoint and
    /// API (GitHub Enterprise, or a test server). No effect on other providers.
    pub fn github_endpoints(mut self, authorize: &str, token: &str, api: &str) -> Self {
        if let Kind::GitHub { .. } = self.kind {
            self.kind = Kind::GitHub {
                authorize: authorize.to_owned(),
                token: token.to_owned(),
                api: api.trim_end_matches('/').to_owned(),
            };
        }
        self
    }

    /// The name [`OAuthLogin::start`] and [`OAuthLogin::finish`] take.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Sign-in through OAuth providers, ending in the same login as a magic link
/// ([`Auth::login_verified`]). Cheap to clone.
///
/// The flow: [`start`](Self::start) stores a one-time `state` (with the PKCE verifier and
/// the OpenID `nonce`) in the auth database and returns the provider's authorize URL to
/// redirect the browser to; the provider redirects back to the callback with `code` and
/// `state`, and [`finish`](Self::finish) uses the state up (a replay is refused),
/// exchanges the code with the PKCE verifier, verifies the identity and logs in.
///
/// **What counts as verified.** An OpenID Connect ID token is checked against the
/// provider's published keys (signature), its issuer, its audience (this client id), its
/// expiry and the nonce of this sign-in; then its `email` must come with
/// `email_verified: true`. From GitHub, the primary address, marked verified by GitHub.
/// Anything else is [`Error::OAuthRefused`], and nobody is signed in.
///
/// **Linking accounts.** The account is the address, as with magic links: a verified
/// address that already has an account signs in to that account; one that has none gets a
/// new account. A provider that has not verified the address never signs in to anything,
/// so nobody takes over an account by claiming its address at a provider. An anonymous
/// visitor's data is merged as by a magic link, and only when the callback arrives in the
/// session that started the sign-in.
///
/// Building it is cross-tenant power (it signs in to any account a provider vouches for),
/// so it takes an [`Admin`].
#[derive(Clone)]
pub struct OAuthLogin {
    auth: Auth,
    providers: std::sync::Arc<HashMap<String, OAuthProvider>>,
    http: Http,
    state_ttl: Duration,
    /// Each OpenID provider's discovery document and keys.
    discovered: std::sync::Arc<std::sync::Mutex<HashMap<String, Discovered>>>,
}

/// A provider's discovery document and keys, when they were fetched, and when a failed
/// verification last had them fetched early.
#[derive(Clone)]
struct Discovered {
    metadata: CoreProviderMetadata,
    at: std::time::Instant,
    forced: Option<std::time::Instant>,
}

/// How long a provider's discovery document and keys are used before they are fetched
/// again (sooner when an ID token names a key they lack: keys rotate).
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

impl std::fmt::Debug for OAuthLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthLogin")
            .field("providers", &self.providers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The name of the cookie that binds a sign-in to the browser that started it.
pub const OAUTH_COOKIE: &str = "__Host-oauth";

/// Where to send the browser to sign in, and the cookie to set on it:
/// [`OAuthLogin::start`].
#[derive(Clone)]
#[non_exhaustive]
pub struct OAuthStart {
    /// The provider's authorize URL, with this sign-in's `state`, PKCE challenge and
    /// (OpenID Connect) `nonce`.
    pub authorize_url: String,
    /// A `Set-Cookie` value to send with the redirect: a secret that binds the sign-in to
    /// this browser ([`OAUTH_COOKIE`]; `HttpOnly`, `Secure`, `SameSite=Lax`, for the
    /// sign-in's lifetime). [`OAuthLogin::finish`] refuses a callback that arrives without
    /// it, so a callback URL sent to someone else signs nobody in.
    pub cookie: String,
}

impl std::fmt::Debug for OAuthStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL holds the state, the cookie a secret.
        f.debug_struct("OAuthStart").finish_non_exhaustive()
    }
}

/// Whether `url` may be used for a provider: `https`, or `http` to this machine (tests).
fn secure_or_local(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else { return false };
    let local = || url.host_str().is_some_and(super::is_local_host);
    url.scheme() == "https" || (url.scheme() == "http" && local())
}

impl OAuthLogin {
    /// Sign-in through `providers`, for `auth`'s accounts. [`Error::MailSettings`]-like
    /// mistakes are [`Error::OAuthSettings`]: two providers with one name, a redirect URL
    /// that does not parse. Audited through `admin`.
    pub fn new(admin: &Admin, auth: Auth, providers: impl IntoIterator<Item = OAuthProvider>) -> Result<Self> {
        admin.tag().fire(crate::AuditAction::Operation { name: "build the OAuth login" });
        let mut by_name = HashMap::new();
        for provider in providers {
            if RedirectUrl::new(provider.redirect_url.clone()).is_err() {
                return Err(Error::OAuthSettings { why: "a redirect URL is not a URL" });
            }
            if let Kind::OpenId { issuer } = &provider.kind
                && IssuerUrl::new(issuer.clone()).is_err()
            {
                return Err(Error::OAuthSettings { why: "an issuer is not a URL" });
            }
            let endpoints: Vec<&str> = match &provider.kind {
                Kind::OpenId { issuer } => vec![issuer],
                Kind::GitHub { authorize, token, api } => vec![authorize, token, api],
            };
            // Over plain HTTP, anyone on the path could serve their own keys or addresses.
            if !endpoints.iter().all(|u| secure_or_local(u)) {
                return Err(Error::OAuthSettings { why: "a provider URL is not https (http only to this machine)" });
            }
            if by_name.insert(provider.name.clone(), provider).is_some() {
                return Err(Error::OAuthSettings { why: "two providers have the same name" });
            }
        }
        let http = reqwest::Client::builder()
            // Following redirects would let a provider's answer point requests elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|_| Error::OAuthSettings { why: "the HTTP client could not be set up" })?;
        Ok(OAuthLogin {
            auth,
            providers: std::sync::Arc::new(by_name),
            http: Http(http),
            state_ttl: Duration::from_secs(600),
            discovered: std::sync::Arc::default(),
        })
    }

    /// How long a started sign-in may take before its `state` expires (default 10 min).
    pub fn state_ttl(mut self, ttl: Duration) -> Self {
        self.state_ttl = ttl;
        self
    }

    fn provider(&self, name: &str) -> Result<&OAuthProvider> {
        self.providers.get(name).ok_or(Error::OAuthRefused { why: "no such provider" })
    }

    /// Starts a sign-in with provider `name`: stores its one-time state and returns where
    /// to send the browser, with a cookie to set on it. `current` is the visitor's
    /// session, if any (its anonymous data is merged when the callback arrives in that
    /// same session).
    pub async fn start(&self, name: &str, current: Option<&Identity>) -> Result<OAuthStart> {
        let provider = self.provider(name)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = CsrfToken::new_random();
        let nonce = Nonce::new_random();
        let authorize_url = match &provider.kind {
            Kind::OpenId { .. } => {
                let metadata = self.discover(provider, false).await?;
                let client = client(provider, metadata)?;
                let (state, nonce) = (state.clone(), nonce.clone());
                let (url, _, _) = client
                    .authorize_url(CoreAuthenticationFlow::AuthorizationCode, move || state, move || nonce)
                    .add_scope(Scope::new("email".into()))
                    .set_pkce_challenge(challenge)
                    .url();
                url.to_string()
            }
            Kind::GitHub { authorize, .. } => {
                let mut url = reqwest::Url::parse(authorize)
                    .map_err(|_| Error::OAuthSettings { why: "the GitHub authorize URL is not a URL" })?;
                url.query_pairs_mut()
                    .append_pair("client_id", &provider.client_id)
                    .append_pair("redirect_uri", &provider.redirect_url)
                    .append_pair("scope", "user:email")
                    .append_pair("state", state.secret())
                    .append_pair("code_challenge", challenge.as_str())
                    .append_pair("code_challenge_method", "S256")
                    .append_pair("allow_signup", "true");
                url.to_string()
            }
        };
        let browser = random_token()?;
        let cookie = format!(
            "{OAUTH_COOKIE}={browser}; Max-Age={}; Path=/; Secure; HttpOnly; SameSite=Lax",
            self.state_ttl.as_secs()
        );
        let row = (
            token_hash(state.secret()),
            token_hash(&browser),
            provider.name.clone(),
            verifier.secret().clone(),
            nonce.secret().clone(),
            current.and_then(|c| c.session.clone()),
        );
        let ttl = self.state_ttl;
        crate::asynchronous::hop(self.auth.clone(), move |auth: &Auth| auth.store_oauth_state(row, ttl)).await?;
        Ok(OAuthStart { authorize_url, cookie })
    }

    /// Finishes the sign-in from the callback's `state` and `code` and the request's
    /// `Cookie` header (which must carry the [`OAUTH_COOKIE`] that
    /// [`start`](Self::start) set), and logs in ([`Auth::login_verified`]).
    /// [`Error::OAuthRefused`] for a state that is unknown, used, expired, another
    /// provider's or another browser's, a code the provider refuses, an identity that
    /// does not verify, or an address that is not verified. The state is used up either
    /// way.
    pub async fn finish(
        &self,
        name: &str,
        state: &str,
        code: &str,
        cookie_header: &str,
        current: Option<&Identity>,
        merge: Merge,
    ) -> Result<Login> {
        let provider = self.provider(name)?.clone();
        let browser = oauth_cookie(cookie_header).map(token_hash);
        let (hash, provider_name) = (token_hash(state), provider.name.clone());
        let started = crate::asynchronous::hop(self.auth.clone(), move |auth: &Auth| {
            auth.take_oauth_state(&hash, &provider_name, browser.as_deref())
        })
        .await?;
        let Some((verifier, nonce, requested_by)) = started else {
            return Err(Error::OAuthRefused { why: "the sign-in state is unknown, used or expired" });
        };
        let email = match &provider.kind {
            Kind::OpenId { .. } => self.openid_email(&provider, code, verifier, &nonce).await?,
            Kind::GitHub { token, api, .. } => self.github_email(&provider, token, api, code, verifier).await?,
        };
        let proof = VerifiedEmail::from_provider(&email)?;
        // The anonymous data of the session that started the sign-in, and no other.
        let current = current.filter(|c| c.session.is_some() && c.session == requested_by).cloned();
        crate::asynchronous::hop(self.auth.clone(), move |auth: &Auth| {
            auth.login_verified(proof, current.as_ref(), merge)
        })
        .await
    }

    /// The provider's discovery document and keys: the cached ones while young, unless
    /// `fresh`.
    async fn discover(&self, provider: &OAuthProvider, fresh: bool) -> Result<CoreProviderMetadata> {
        let Kind::OpenId { issuer } = &provider.kind else {
            return Err(Error::OAuthSettings { why: "only OpenID Connect providers have a discovery document" });
        };
        let cache = || self.discovered.lock().unwrap_or_else(|p| p.into_inner());
        // An early fetch at most once a minute, however many tokens fail to verify.
        let cached = cache().get(&provider.name).cloned();
        let forced = cached.as_ref().and_then(|d| d.forced);
        if let Some(d) = cached {
            let young = d.at.elapsed() < DISCOVERY_TTL;
            let recently_forced = forced.is_some_and(|f| f.elapsed() < Duration::from_secs(60));
            if young && (!fresh || recently_forced) {
                return Ok(d.metadata);
            }
        }
        let issuer =
            IssuerUrl::new(issuer.clone()).map_err(|_| Error::OAuthSettings { why: "an issuer is not a URL" })?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|_| Error::OAuthRefused { why: "the provider's discovery document could not be read" })?;
        let now = std::time::Instant::now();
        let forced = if fresh { Some(now) } else { forced };
        cache().insert(provider.name.clone(), Discovered { metadata: metadata.clone(), at: now, forced });
        Ok(metadata)
    }

    async fn openid_email(
        &self,
        provider: &OAuthProvider,
        code: &str,
        verifier: String,
        nonce: &str,
    ) -> Result<String> {
        let client = client(provider, self.discover(provider, false).await?)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|_| Error::OAuthRefused { why: "the provider has no token endpoint" })?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier))
            .request_async(&self.http)
            .await
            .map_err(|_| Error::OAuthRefused { why: "the provider refused the code" })?;
        let id_token = response.id_token().ok_or(Error::OAuthRefused { why: "the provider sent no ID token" })?;
        let nonce = Nonce::new(nonce.to_owned());
        let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => claims.clone(),
            // Perhaps signed with a key newer than the cached ones: fetch them, try once more.
            Err(_) => {
                let fresh = self::client(provider, self.discover(provider, true).await?)?;
                id_token
                    .claims(&fresh.id_token_verifier(), &nonce)
                    .map_err(|_| Error::OAuthRefused { why: "the ID token does not verify" })?
                    .clone()
            }
        };
        match (claims.email(), claims.email_verified()) {
            (Some(email), Some(true)) => Ok(email.as_str().to_owned()),
            (Some(_), _) => Err(Error::OAuthRefused { why: "the provider has not verified the address" }),
            (None, _) => Err(Error::OAuthRefused { why: "the provider sent no address" }),
        }
    }

    async fn github_email(
        &self,
        provider: &OAuthProvider,
        token_url: &str,
        api: &str,
        code: &str,
        verifier: String,
    ) -> Result<String> {
        let refused = |why| Error::OAuthRefused { why };
        #[derive(serde::Deserialize)]
        struct Token {
            access_token: String,
        }
        #[derive(serde::Deserialize)]
        struct Email {
            email: String,
            primary: bool,
            verified: bool,
        }
        let form = [
            ("client_id", provider.client_id.as_str()),
            ("client_secret", provider.client_secret.as_str()),
            ("code", code),
            ("redirect_uri", provider.redirect_url.as_str()),
            ("code_verifier", verifier.as_str()),
        ];
        let body = openidconnect::url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let answer = self
            .http
            .0
            .post(token_url)
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|_| refused("GitHub could not be reached"))?;
        let text = answer.text().await.map_err(|_| refused("GitHub could not be reached"))?;
        // GitHub answers 200 with an `error` field for a bad code.
        let token: Token = serde_json::from_str(&text).map_err(|_| refused("the provider refused the code"))?;
        let answer = self
            .http
            .0
            .get(format!("{api}/user/emails"))
            .bearer_auth(&token.access_token)
            .header("accept", "application/vnd.github+json")
            .header("user-agent", "tenantry")
            .send()
            .await
            .map_err(|_| refused("GitHub could not be reached"))?;
        if !answer.status().is_success() {
            return Err(refused("GitHub refused to list the account's addresses"));
        }
        let text = answer.text().await.map_err(|_| refused("GitHub could not be reached"))?;
        let emails: Vec<Email> = serde_json::from_str(&text).map_err(|_| refused("GitHub's answer did not parse"))?;
        match emails.into_iter().find(|e| e.primary) {
            Some(e) if e.verified => Ok(e.email),
            Some(_) => Err(refused("the provider has not verified the address")),
            None => Err(refused("the provider sent no address")),
        }
    }
}

/// The OpenID client for `provider`.
fn client(
    provider: &OAuthProvider,
    metadata: CoreProviderMetadata,
) -> Result<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
> {
    let redirect = RedirectUrl::new(provider.redirect_url.clone())
        .map_err(|_| Error::OAuthSettings { why: "a redirect URL is not a URL" })?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(provider.client_secret.clone())),
    )
    .set_redirect_uri(redirect))
}

/// Why an HTTP request of the flow failed (never with the request's secrets).
#[derive(Debug)]
struct HttpFailure(&'static str);

impl std::fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for HttpFailure {}

/// The flow's HTTP client: reqwest, no redirects followed, its futures `Send` (so the
/// sign-in's futures are, for axum handlers).
#[derive(Clone)]
struct Http(reqwest::Client);

impl<'c> openidconnect::AsyncHttpClient<'c> for Http {
    type Error = HttpFailure;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = std::result::Result<openidconnect::HttpResponse, HttpFailure>> + Send + 'c,
        >,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(send(&self.0, request))
    }
}

/// One request of the flow, over this crate's reqwest client.
async fn send(
    client: &reqwest::Client,
    request: openidconnect::HttpRequest,
) -> std::result::Result<openidconnect::HttpResponse, HttpFailure> {
    let (parts, body) = request.into_parts();
    let response = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|_| HttpFailure("the provider could not be reached"))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(|_| HttpFailure("the provider's answer was cut short"))?;
    let mut out = openidconnect::HttpResponse::new(body.to_vec());
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(out)
}

/// The sign-in's browser secret in a `Cookie` header, if there and well formed.
fn oauth_cookie(header: &str) -> Option<&str> {
    super::cookie::well_formed_values(header, OAUTH_COOKIE).next()
}

type StateRow = (String, String, String, String, String, Option<String>);

impl Auth {
    /// Records a started sign-in; expired ones are cleared on the way.
    fn store_oauth_state(
        &self,
        (state, browser, provider, verifier, nonce, requested_by): StateRow,
        ttl: Duration,
    ) -> Result<()> {
        let (expires, now) = (self.at(ttl), self.at(Duration::ZERO));
        self.inner.db.write(|conn| {
            conn.execute("DELETE FROM oauth_states WHERE expires_at <= ?1", [&now])?;
            conn.execute(
                "INSERT INTO oauth_states (state, browser, provider, verifier, nonce, requested_by, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![state, browser, provider, verifier, nonce, requested_by, expires],
            )?;
            Ok(())
        })
    }

    /// Uses up a started sign-in of `provider` in the browser whose secret hashes to
    /// `browser`: its verifier, nonce and requesting session; `None` if unknown, used,
    /// expired, another provider's or another browser's.
    fn take_oauth_state(
        &self,
        state: &str,
        provider: &str,
        browser: Option<&str>,
    ) -> Result<Option<(String, String, Option<String>)>> {
        let now = self.at(Duration::ZERO);
        self.inner.db.write(|conn| {
            // Deleted whatever the provider or browser: a state tried wrongly is spent.
            let row: Option<(String, String, String, String, Option<String>)> = conn
                .query_row(
                    "DELETE FROM oauth_states WHERE state = ?1 AND expires_at > ?2
                     RETURNING browser, provider, verifier, nonce, requested_by",
                    params![state, now],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?;
            Ok(row
                .filter(|r| Some(r.0.as_str()) == browser && r.1 == provider)
                .map(|(_, _, verifier, nonce, by)| (verifier, nonce, by)))
        })
    }
}
