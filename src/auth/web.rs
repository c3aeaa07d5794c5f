//! axum integration (feature `axum`).
//!
//! - [`anonymous_session`]: middleware that resolves the session cookie once per request,
//!   and sets the cookie of an anonymous session a handler started.
//! - [`Visitor`]: extractor for handlers that write: the identity, or, for a visitor with
//!   no live session, a new anonymous user (rate limited per caller). Only such handlers
//!   create users: a page view, a 404, a health check or a forged cookie creates nothing.
//! - [`CurrentUser`]: the identity, 401 without a live session; [`MaybeUser`] for pages
//!   that work signed out too.
//!
//! ```
//! use axum::{Router, routing::{get, post}, middleware};
//! use tenantry::auth::{Auth, CurrentUser, Visitor, anonymous_session};
//!
//! async fn whoami(CurrentUser(me): CurrentUser) -> String {
//!     me.tenant().to_string()
//! }
//!
//! async fn upload(Visitor(me): Visitor) -> String {
//!     // The visitor now has an anonymous account (and a cookie for it) if they had none.
//!     me.tenant().to_string()
//! }
//!
//! # fn app(auth: Auth) -> Router {
//! Router::new()
//!     .route("/whoami", get(whoami))
//!     .route("/uploads", post(upload))
//!     .layer(middleware::from_fn_with_state(auth.clone(), anonymous_session))
//!     .with_state(auth)
//! # }
//! ```
//!
//! Why not an anonymous user for every request: each would be a row and a 7-day session
//! written for every crawler hit and health check. A visitor becomes a user at their first
//! write, which is also when they first have something to lose.
//!
//! The auth calls these make are short SQLite transactions; they run on tokio's blocking
//! pool, never on a runtime worker thread.

use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts, Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::{AsyncAuth, Auth, Identity};

/// Why an identity could not be extracted.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthRejection {
    /// No live session: `401 Unauthorized`.
    Unauthorized,
    /// Too many new anonymous users from this caller: `429 Too Many Requests`.
    TooManyRequests,
    /// The session store failed, or [`Visitor`] was used without the
    /// [`anonymous_session`] middleware: `500`, without details.
    Internal,
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::Unauthorized => (StatusCode::UNAUTHORIZED, "sign in required").into_response(),
            AuthRejection::TooManyRequests => (StatusCode::TOO_MANY_REQUESTS, "try again later").into_response(),
            AuthRejection::Internal => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}

async fn identity_from_parts<S: Send + Sync>(parts: &Parts, state: &S) -> Result<Option<Identity>, AuthRejection>
where
    Auth: FromRef<S>,
{
    if let Some(identity) = parts.extensions.get::<Identity>() {
        return Ok(Some(identity.clone()));
    }
    let Some(header) = cookie_header(&parts.headers) else { return Ok(None) };
    let auth = Auth::from_ref(state);
    AsyncAuth::new(auth).resolve_cookie(&header).await.map_err(|_| AuthRejection::Internal)
}

/// Every `Cookie` header (HTTP/2 may send several), read leniently: one cookie with a
/// byte outside visible ASCII must not hide the session cookie beside it.
fn cookie_header(headers: &axum::http::HeaderMap) -> Option<String> {
    let all: Vec<String> =
        headers.get_all(COOKIE).iter().map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned()).collect();
    (!all.is_empty()).then(|| all.join("; "))
}

/// The signed-in (possibly anonymous) user; rejects with 401 when there is no live session.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Identity);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser
where
    Auth: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        identity_from_parts(parts, state).await?.map(CurrentUser).ok_or(AuthRejection::Unauthorized)
    }
}

/// The user when there is a live session, `None` otherwise.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<Identity>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeUser
where
    Auth: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        identity_from_parts(parts, state).await.map(MaybeUser)
    }
}

/// Where [`Visitor`] leaves the cookie of a session it started, for the middleware to set.
#[derive(Clone, Default)]
struct NewSession(Arc<Mutex<Option<String>>>);

/// The user when there is a live session; otherwise a new anonymous user, whose session
/// cookie the [`anonymous_session`] middleware sets on the response. Use it in handlers
/// that write; reads take [`MaybeUser`] or [`CurrentUser`] and create nothing.
///
/// New anonymous users are rate limited per caller: the peer's IP address when the
/// server was started with `into_make_service_with_connect_info::<SocketAddr>()`, else one
/// bucket for all callers ([`AuthBuilder::anonymous_limit`](crate::auth::AuthBuilder::anonymous_limit));
/// over the limit is `429`.
#[derive(Debug, Clone)]
pub struct Visitor(pub Identity);

impl<S: Send + Sync> FromRequestParts<S> for Visitor
where
    Auth: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(identity) = identity_from_parts(parts, state).await? {
            return Ok(Visitor(identity));
        }
        // Without the middleware the new session's cookie could not be set: the visitor
        // would get a user they can never come back to.
        let slot = parts.extensions.get::<NewSession>().cloned().ok_or(AuthRejection::Internal)?;
        let caller = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map_or_else(|| String::from("any"), |ConnectInfo(addr)| addr.ip().to_string());
        let session = match AsyncAuth::new(Auth::from_ref(state)).start_anonymous_for(&caller).await {
            Ok(session) => session,
            Err(crate::Error::RateLimited) => return Err(AuthRejection::TooManyRequests),
            Err(_) => return Err(AuthRejection::Internal),
        };
        *slot.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(session.cookie());
        parts.extensions.insert(session.identity.clone());
        Ok(Visitor(session.identity))
    }
}

/// Middleware: resolves the session cookie once, putting a live identity in the
/// request's extensions for the extractors; and sets the cookie of an anonymous session
/// that a [`Visitor`] handler started. It creates no user by itself.
pub async fn anonymous_session(State(auth): State<Auth>, mut request: Request, next: Next) -> Response {
    let resolved = match cookie_header(request.headers()) {
        Some(header) => AsyncAuth::new(auth.clone()).resolve_cookie(&header).await,
        None => Ok(None),
    };
    match resolved {
        Ok(Some(identity)) => {
            request.extensions_mut().insert(identity);
        }
        Ok(None) => {}
        Err(_) => return AuthRejection::Internal.into_response(),
    }
    let slot = NewSession::default();
    request.extensions_mut().insert(slot.clone());
    let mut response = next.run(request).await;
    let set_cookie = slot.0.lock().unwrap_or_else(|p| p.into_inner()).take();
    // A handler that logged in or out set its own session cookie; keep that one (other
    // cookies it sets do not count).
    let handler_set_session = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(format!("{}=", crate::auth::SESSION_COOKIE).as_bytes()));
    if let Some(cookie) = set_cookie.filter(|_| !handler_set_session)
        && let Ok(value) = HeaderValue::from_str(&cookie)
    {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}
