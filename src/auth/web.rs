//! axum integration (feature `axum`).
//!
//! - [`anonymous_session`]: middleware that resolves the session cookie, or starts an
//!   anonymous session and sets its cookie, so every handler below it has an identity.
//! - [`CurrentUser`]: extractor for the identity (401 without a live session);
//!   [`MaybeUser`] for pages that work signed out too.
//!
//! ```
//! use axum::{Router, routing::get, middleware};
//! use tenantry::auth::{Auth, CurrentUser, anonymous_session};
//!
//! async fn whoami(CurrentUser(me): CurrentUser) -> String {
//!     me.tenant().to_string()
//! }
//!
//! # fn app(auth: Auth) -> Router {
//! Router::new()
//!     .route("/whoami", get(whoami))
//!     .layer(middleware::from_fn_with_state(auth.clone(), anonymous_session))
//!     .with_state(auth)
//! # }
//! ```
//!
//! The auth calls are short SQLite transactions run on the request's task; a service
//! under heavy load can move them to `tokio::task::spawn_blocking`.

use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::{Auth, Identity};

/// Why an identity could not be extracted.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthRejection {
    /// No live session: `401 Unauthorized`.
    Unauthorized,
    /// The session store failed: `500`, without details.
    Internal,
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::Unauthorized => (StatusCode::UNAUTHORIZED, "sign in required").into_response(),
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
    Auth::from_ref(state).resolve_cookie(&header).map_err(|_| AuthRejection::Internal)
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

/// Middleware: resolves the session cookie; without a live one, starts an anonymous
/// session and sets its cookie on the response. Either way the identity is in the
/// request's extensions for [`CurrentUser`].
pub async fn anonymous_session(State(auth): State<Auth>, mut request: Request, next: Next) -> Response {
    let resolved = match cookie_header(request.headers()) {
        Some(header) => auth.resolve_cookie(&header),
        None => Ok(None),
    };
    let (identity, set_cookie) = match resolved {
        Ok(Some(identity)) => (identity, None),
        Ok(None) => match auth.start_anonymous() {
            Ok(session) => {
                let cookie = session.cookie();
                (session.identity, Some(cookie))
            }
            Err(_) => return AuthRejection::Internal.into_response(),
        },
        Err(_) => return AuthRejection::Internal.into_response(),
    };
    request.extensions_mut().insert(identity);
    let mut response = next.run(request).await;
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
