//! The axum integration: the middleware issues anonymous sessions, extractors yield the
//! identity, and requests without a live session get 401.
#![cfg(feature = "axum")]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::middleware;
use axum::routing::get;
use tenantry::auth::{Auth, CurrentUser, MaybeUser, anonymous_session};
use tenantry::{Admin, Database};
use tower::ServiceExt;

async fn whoami(CurrentUser(me): CurrentUser) -> String {
    me.tenant().to_string()
}

async fn maybe(MaybeUser(me): MaybeUser) -> String {
    me.map_or_else(|| "nobody".to_owned(), |m| m.tenant().to_string())
}

fn auth() -> Auth {
    Auth::builder(&Admin::new("axum tests build the auth service"), Database::open_in_memory().unwrap())
        .build()
        .unwrap()
}

fn app(auth: Auth) -> Router {
    let guarded = Router::new()
        .route("/whoami", get(whoami))
        .layer(middleware::from_fn_with_state(auth.clone(), anonymous_session));
    Router::new().merge(guarded).route("/strict", get(whoami)).route("/maybe", get(maybe)).with_state(auth)
}

async fn call(app: &Router, path: &str, cookie: Option<&str>) -> (StatusCode, Option<String>, String) {
    let mut request = Request::builder().uri(path);
    if let Some(c) = cookie {
        request = request.header(header::COOKIE, c);
    }
    let response = app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let set_cookie = response.headers().get(header::SET_COOKIE).map(|v| v.to_str().unwrap().to_owned());
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, set_cookie, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn first_visit_gets_an_anonymous_session_and_keeps_it() {
    let app = app(auth());
    let (status, set_cookie, tenant) = call(&app, "/whoami", None).await;
    assert_eq!(status, StatusCode::OK);
    let set_cookie = set_cookie.expect("the middleware sets the session cookie");
    assert!(
        set_cookie.starts_with("__Host-session=") && set_cookie.contains("HttpOnly") && set_cookie.contains("Secure")
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    let (status, again, same) = call(&app, "/whoami", Some(&cookie)).await;
    assert_eq!((status, again, same.as_str()), (StatusCode::OK, None, tenant.as_str()));
    assert_eq!(call(&app, "/strict", Some(&cookie)).await.2, tenant);
    assert_eq!(call(&app, "/maybe", Some(&cookie)).await.2, tenant);

    // A forged cookie is not this user: the middleware starts a new anonymous user.
    let forged = format!("__Host-session={}", "e".repeat(64));
    let (_, new_cookie, other) = call(&app, "/whoami", Some(&forged)).await;
    assert!(new_cookie.is_some());
    assert_ne!(other, tenant);
    // A bare user id in a cookie never authenticates.
    let (status, _, _) = call(&app, "/strict", Some(&format!("uid={tenant}"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn without_a_live_session_strict_routes_answer_401() {
    let app = app(auth());
    let (status, set_cookie, body) = call(&app, "/strict", None).await;
    assert_eq!((status, set_cookie, body.as_str()), (StatusCode::UNAUTHORIZED, None, "sign in required"));
    assert_eq!(call(&app, "/maybe", None).await.2, "nobody");
}

#[tokio::test]
async fn the_session_survives_odd_cookie_headers_and_handler_cookies() {
    // Red-team findings M1, M4 and the split/duplicate cookie cases.
    let auth = auth();
    let session = auth.start_anonymous().unwrap();
    let live = format!("__Host-session={}", session.token.expose());
    let app = app(auth.clone());
    let me = session.identity.tenant().to_string();
    // A non-ASCII cookie beside it, a stale duplicate before it, and a split header.
    let odd = format!("x=\u{e9}t\u{e9}; __Host-session={}; {live}", "d".repeat(64));
    let mut request = Request::builder()
        .uri("/whoami")
        .header(header::COOKIE, axum::http::HeaderValue::from_bytes(odd.as_bytes()).unwrap());
    request = request.header(header::COOKIE, "theme=dark");
    let response = app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    assert!(response.headers().get(header::SET_COOKIE).is_none(), "no new anonymous session");
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    assert_eq!(String::from_utf8(body.to_vec()).unwrap(), me);

    // A handler that sets an unrelated cookie does not suppress the new session's cookie.
    async fn themed() -> impl axum::response::IntoResponse {
        ([(header::SET_COOKIE, "theme=dark; Path=/")], "ok")
    }
    let app = Router::new()
        .route("/themed", get(themed))
        .layer(middleware::from_fn_with_state(auth.clone(), anonymous_session))
        .with_state(auth);
    let response = app.oneshot(Request::builder().uri("/themed").body(Body::empty()).unwrap()).await.unwrap();
    let cookies: Vec<_> =
        response.headers().get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    assert!(cookies.iter().any(|c| c.starts_with("__Host-session=")), "{cookies:?}");
}
