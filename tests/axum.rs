//! The axum integration: a visitor becomes an anonymous user at their first write
//! (`Visitor`), never by merely visiting; extractors yield the identity, and requests
//! without a live session get 401.
#![cfg(feature = "axum")]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::middleware;
use axum::routing::{get, post};
use tenantry::auth::{Auth, CurrentUser, MaybeUser, Visitor, anonymous_session};
use tenantry::{Admin, SqliteDatabase};
use tower::ServiceExt;

async fn whoami(CurrentUser(me): CurrentUser) -> String {
    me.tenant().to_string()
}

async fn write(Visitor(me): Visitor) -> String {
    me.tenant().to_string()
}

async fn maybe(MaybeUser(me): MaybeUser) -> String {
    me.map_or_else(|| "nobody".to_owned(), |m| m.tenant().to_string())
}

fn auth() -> Auth {
    auth_over(SqliteDatabase::open_in_memory().unwrap())
}

fn auth_over(db: SqliteDatabase) -> Auth {
    Auth::builder(&Admin::new("axum tests build the auth service"), db)
        .anonymous_limit(50, std::time::Duration::from_secs(3600))
        .build()
        .unwrap()
}

fn app(auth: Auth) -> Router {
    let guarded = Router::new()
        .route("/whoami", get(whoami))
        .route("/write", post(write))
        .route("/maybe", get(maybe))
        .layer(middleware::from_fn_with_state(auth.clone(), anonymous_session));
    Router::new().merge(guarded).route("/strict", get(whoami)).route("/unguarded-write", post(write)).with_state(auth)
}

async fn call(app: &Router, path: &str, cookie: Option<&str>) -> (StatusCode, Option<String>, String) {
    let method = if path.contains("write") { "POST" } else { "GET" };
    let mut request = Request::builder().method(method).uri(path);
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
async fn the_first_write_gets_an_anonymous_session_and_keeps_it() {
    let app = app(auth());
    // Reading creates nobody.
    let (status, set_cookie, _) = call(&app, "/whoami", None).await;
    assert_eq!((status, set_cookie), (StatusCode::UNAUTHORIZED, None));
    let (status, set_cookie, tenant) = call(&app, "/write", None).await;
    assert_eq!(status, StatusCode::OK);
    let set_cookie = set_cookie.expect("the middleware sets the new session's cookie");
    assert!(
        set_cookie.starts_with("__Host-session=") && set_cookie.contains("HttpOnly") && set_cookie.contains("Secure")
    );
    // An anonymous session lives 7 days, not an account's 30.
    assert!(set_cookie.contains(&format!("Max-Age={}", 7 * 24 * 3600)), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    let (status, again, same) = call(&app, "/whoami", Some(&cookie)).await;
    assert_eq!((status, again, same.as_str()), (StatusCode::OK, None, tenant.as_str()));
    assert_eq!(call(&app, "/write", Some(&cookie)).await.2, tenant, "the next write is the same user");
    assert_eq!(call(&app, "/strict", Some(&cookie)).await.2, tenant);
    assert_eq!(call(&app, "/maybe", Some(&cookie)).await.2, tenant);

    // A forged cookie is not this user: a write starts a new anonymous user.
    let forged = format!("__Host-session={}", "e".repeat(64));
    let (_, new_cookie, other) = call(&app, "/write", Some(&forged)).await;
    assert!(new_cookie.is_some());
    assert_ne!(other, tenant);
    // A bare user id in a cookie never authenticates.
    let (status, _, _) = call(&app, "/strict", Some(&format!("uid={tenant}"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn visits_that_do_not_write_create_no_user_and_creation_is_rate_limited() {
    // Guard: only `Visitor` creates users, through `start_anonymous_for`'s per-caller limit.
    // Seen failing before: 500 requests without a cookie (404s, reads, forged cookies)
    // made 500 users.
    let db = SqliteDatabase::open_in_memory().unwrap();
    let auth = auth_over(db.clone());
    let app = app(auth);
    let forged = format!("__Host-session={}", "f".repeat(64));
    for i in 0..500 {
        let path = ["/maybe", "/whoami", "/no-such-page"][i % 3];
        call(&app, path, if i % 2 == 0 { Some(forged.as_str()) } else { None }).await;
    }
    let admin = Admin::new("axum test counts users");
    let users = |db: &SqliteDatabase| -> i64 {
        db.fetch_raw(admin.raw_sql("SELECT COUNT(*) FROM users"), |r| r.get(0)).unwrap()[0]
    };
    assert_eq!(users(&db), 0);
    // Writes from one caller: 50 users in the window, then 429 and nothing created.
    for _ in 0..50 {
        assert_eq!(call(&app, "/write", None).await.0, StatusCode::OK);
    }
    let (status, set_cookie, _) = call(&app, "/write", None).await;
    assert_eq!((status, set_cookie), (StatusCode::TOO_MANY_REQUESTS, None));
    assert_eq!(users(&db), 50);
    // Without the middleware a write cannot hand out a session: refused, nothing created.
    assert_eq!(call(&app, "/unguarded-write", None).await.0, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(users(&db), 50);
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
    async fn themed(Visitor(_): Visitor) -> impl axum::response::IntoResponse {
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

/// A handler can return `tenantry::Result`: a client error answers its status with the
/// error's message, a server error only the status's reason (no database detail).
#[tokio::test]
async fn a_tenantry_error_answers_its_status_without_database_detail() {
    async fn missing() -> tenantry::Result<String> {
        Err(tenantry::Error::NotFound)
    }
    async fn bad_cursor() -> tenantry::Result<String> {
        Err(tenantry::Error::InvalidCursor)
    }
    async fn broken() -> tenantry::Result<String> {
        // A real database error: a statement on a table that does not exist.
        let db = SqliteDatabase::open_in_memory()?;
        let admin = Admin::new("axum test: a failing raw statement");
        db.execute(admin.raw_sql("INSERT INTO secret_table_name VALUES (1)"))?;
        Ok(String::new())
    }
    let app =
        Router::new().route("/missing", get(missing)).route("/cursor", get(bad_cursor)).route("/broken", get(broken));
    let (status, _, body) = call(&app, "/missing", None).await;
    assert_eq!((status, body.as_str()), (StatusCode::NOT_FOUND, "no row found\n"));
    let (status, _, body) = call(&app, "/cursor", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.starts_with("this page cursor is not one this query issued"), "{body}");
    let (status, _, body) = call(&app, "/broken", None).await;
    assert_eq!((status, body.as_str()), (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error\n"));
}
