//! OAuth sign-in against a provider started in the test: an OpenID Connect provider on
//! loopback (discovery document, JWKS with a P-256 key made for the run, a token endpoint
//! that checks PKCE) and a GitHub stand-in. Every way an identity can fail to verify is
//! refused, and nobody is signed in.
#![cfg(all(feature = "oauth", feature = "axum"))]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tenantry::auth::{Auth, Merge, OAuthLogin, OAuthProvider};
use tenantry::{Admin, Error, SqliteDatabase};

const CLIENT_ID: &str = "tenantry-test-client";
const REDIRECT: &str = "http://127.0.0.1:1/auth/callback";

fn key() -> SigningKey {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).unwrap();
    SigningKey::from_bytes(&bytes.into()).unwrap()
}

/// What the token endpoint answers for one code: the PKCE challenge it must match, and
/// the ID token (or, for GitHub, the access token) to hand out.
#[derive(Clone)]
struct Grant {
    challenge: String,
    id_token: String,
}

struct Provider {
    issuer: String,
    key: Mutex<SigningKey>,
    /// Discovery documents served.
    discoveries: std::sync::atomic::AtomicUsize,
    grants: Mutex<HashMap<String, Grant>>,
    github_emails: Mutex<Value>,
}

async fn discovery(State(p): State<Arc<Provider>>) -> Json<Value> {
    p.discoveries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    Json(json!({
        "issuer": p.issuer,
        "authorization_endpoint": format!("{}/authorize", p.issuer),
        "token_endpoint": format!("{}/token", p.issuer),
        "jwks_uri": format!("{}/jwks", p.issuer),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
    }))
}

async fn jwks(State(p): State<Arc<Provider>>) -> Json<Value> {
    let point = p.key.lock().unwrap().verifying_key().to_encoded_point(false);
    Json(json!({ "keys": [{
        "kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "use": "sig",
        "x": B64.encode(point.x().unwrap()), "y": B64.encode(point.y().unwrap()),
    }]}))
}

/// The token endpoint: the code must be one handed out, once, with the verifier whose
/// SHA-256 is the challenge of its authorize request.
async fn token(State(p): State<Arc<Provider>>, Form(form): Form<HashMap<String, String>>) -> Response {
    let grant = p.grants.lock().unwrap().remove(form.get("code").map(String::as_str).unwrap_or_default());
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    match grant {
        Some(g) if B64.encode(Sha256::digest(verifier.as_bytes())) == g.challenge => Json(json!({
            "access_token": "access-token", "token_type": "Bearer", "expires_in": 3600, "id_token": g.id_token,
        }))
        .into_response(),
        _ => (StatusCode::BAD_REQUEST, Json(json!({ "error": "invalid_grant" }))).into_response(),
    }
}

async fn github_token(State(p): State<Arc<Provider>>, Form(form): Form<HashMap<String, String>>) -> Json<Value> {
    let grant = p.grants.lock().unwrap().remove(form.get("code").map(String::as_str).unwrap_or_default());
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    match grant {
        Some(g) if B64.encode(Sha256::digest(verifier.as_bytes())) == g.challenge => {
            Json(json!({ "access_token": g.id_token, "token_type": "bearer" }))
        }
        // GitHub answers 200 with an error field.
        _ => Json(json!({ "error": "bad_verification_code" })),
    }
}

async fn github_emails(State(p): State<Arc<Provider>>, headers: axum::http::HeaderMap) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer gh-token") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(p.github_emails.lock().unwrap().clone()).into_response()
}

async fn provider() -> Arc<Provider> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let provider = Arc::new(Provider {
        issuer,
        key: Mutex::new(key()),
        discoveries: Default::default(),
        grants: Mutex::default(),
        github_emails: Mutex::new(json!([])),
    });
    let app = axum::Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/token", post(token))
        .route("/github/token", post(github_token))
        .route("/github/api/user/emails", get(github_emails))
        .with_state(provider.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    provider
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A compact JWS (ES256) of `claims`, signed by `key`.
fn jwt(claims: &Value, key: &SigningKey) -> String {
    let header = B64.encode(json!({ "alg": "ES256", "kid": "k1", "typ": "JWT" }).to_string());
    let payload = B64.encode(claims.to_string());
    let signature: Signature = key.sign(format!("{header}.{payload}").as_bytes());
    format!("{header}.{payload}.{}", B64.encode(signature.to_bytes()))
}

impl Provider {
    /// The key the provider signs with now.
    fn key(&self) -> SigningKey {
        self.key.lock().unwrap().clone()
    }
}

struct Env {
    provider: Arc<Provider>,
    login: OAuthLogin,
    auth: Auth,
    db: SqliteDatabase,
}

async fn env() -> Env {
    let provider = provider().await;
    let db = SqliteDatabase::open_in_memory().unwrap();
    let admin = Admin::new("OAuth tests build the auth service and the OAuth login");
    let auth = Auth::builder(&admin, db.clone()).build().unwrap();
    let base = provider.issuer.clone();
    let providers = [
        OAuthProvider::openid("test", &base, CLIENT_ID, "client-secret", REDIRECT),
        OAuthProvider::github("gh-client", "gh-secret", REDIRECT).github_endpoints(
            &format!("{base}/github/authorize"),
            &format!("{base}/github/token"),
            &format!("{base}/github/api"),
        ),
    ];
    let login = OAuthLogin::new(&admin, auth.clone(), providers).unwrap();
    Env { provider, login, auth, db }
}

/// A started sign-in, as the browser sees it: the authorize URL's query.
struct Started {
    state: String,
    nonce: Option<String>,
    challenge: String,
    /// The `Cookie` header the browser sends back: the binding cookie start set.
    cookie: String,
}

impl Env {
    async fn start(&self, name: &str) -> Started {
        let start = self.login.start(name, None).await.unwrap();
        let set_cookie = &start.cookie;
        assert!(set_cookie.starts_with("__Host-oauth=") && set_cookie.contains("HttpOnly"), "{set_cookie}");
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        let query = query(&start.authorize_url);
        assert_eq!(query.get("code_challenge_method").map(String::as_str), Some("S256"));
        assert_eq!(query.get("redirect_uri").map(String::as_str), Some(REDIRECT));
        Started {
            state: query["state"].clone(),
            nonce: query.get("nonce").cloned(),
            challenge: query["code_challenge"].clone(),
            cookie,
        }
    }

    /// The claims a good ID token for this sign-in has.
    fn claims(&self, started: &Started, email: &str) -> Value {
        json!({
            "iss": self.provider.issuer, "sub": "user-1", "aud": CLIENT_ID,
            "iat": now(), "exp": now() + 300,
            "nonce": started.nonce.as_deref().unwrap(), "email": email, "email_verified": true,
        })
    }

    /// The provider hands out `code` for this sign-in, with `id_token`.
    fn grant(&self, started: &Started, code: &str, id_token: String) {
        self.provider
            .grants
            .lock()
            .unwrap()
            .insert(code.to_owned(), Grant { challenge: started.challenge.clone(), id_token });
    }

    fn users(&self) -> i64 {
        let admin = Admin::new("OAuth tests count the accounts");
        self.db.fetch_raw(admin.raw_sql("SELECT COUNT(*) FROM users"), |r| r.get(0)).unwrap()[0]
    }
}

/// The decoded query parameters of `url`.
fn query(url: &str) -> HashMap<String, String> {
    openidconnect::url::Url::parse(url).expect("the authorize URL parses").query_pairs().into_owned().collect()
}

fn refused(result: tenantry::Result<tenantry::auth::Login>) -> &'static str {
    match result {
        Err(Error::OAuthRefused { why }) => why,
        Err(other) => panic!("expected a refusal, got {other:?}"),
        Ok(_) => panic!("expected a refusal, got a login"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_openid_identity_signs_in_to_the_account_of_its_address() {
    let env = env().await;
    let started = env.start("test").await;
    env.grant(&started, "code-1", jwt(&env.claims(&started, "Ada@Example.com"), &env.provider.key()));
    let login =
        env.login.finish("test", &started.state, "code-1", &started.cookie, None, Merge::IntoAccount).await.unwrap();
    assert_eq!(login.session.identity.user.email.as_deref(), Some("ada@example.com"));
    // The same address again: the same account.
    let again = env.start("test").await;
    env.grant(&again, "code-2", jwt(&env.claims(&again, "ada@example.com"), &env.provider.key()));
    let second =
        env.login.finish("test", &again.state, "code-2", &again.cookie, None, Merge::IntoAccount).await.unwrap();
    assert_eq!(second.session.identity.tenant(), login.session.identity.tenant());
    assert_eq!(env.users(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identities_that_do_not_verify_are_refused() {
    let env = env().await;
    let forger = key();
    // Each case: what is wrong with the ID token, and how it is made.
    type Spoil = fn(&mut Value);
    let cases: [(&str, Spoil, bool); 6] = [
        ("bad signature", |_| {}, true),
        ("wrong audience", |c| c["aud"] = json!("another-client"), false),
        ("wrong issuer", |c| c["iss"] = json!("https://accounts.example.com"), false),
        ("expired", |c| c["exp"] = json!(now() - 600), false),
        ("wrong nonce", |c| c["nonce"] = json!("a-nonce-of-another-sign-in"), false),
        ("unverified address", |c| c["email_verified"] = json!(false), false),
    ];
    for (i, (what, spoil, forged)) in cases.into_iter().enumerate() {
        let started = env.start("test").await;
        let mut claims = env.claims(&started, "eve@example.com");
        spoil(&mut claims);
        let code = format!("code-{i}");
        let signer = if forged { forger.clone() } else { env.provider.key() };
        env.grant(&started, &code, jwt(&claims, &signer));
        let why =
            refused(env.login.finish("test", &started.state, &code, &started.cookie, None, Merge::IntoAccount).await);
        let expected = if what == "unverified address" {
            "the provider has not verified the address"
        } else {
            "the ID token does not verify"
        };
        assert_eq!(why, expected, "{what}");
    }
    assert_eq!(env.users(), 0, "nobody signed in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_callbacks_racing_with_one_state_sign_in_once() {
    // Guard: `take_oauth_state` deletes the row as it reads it, in a write transaction.
    let env = env().await;
    for round in 0..8 {
        let started = env.start("test").await;
        for i in 0..4 {
            let code = format!("race-{round}-{i}");
            env.grant(&started, &code, jwt(&env.claims(&started, "ada@example.com"), &env.provider.key()));
        }
        let attempts = (0..4).map(|i| {
            let (login, state, cookie) = (env.login.clone(), started.state.clone(), started.cookie.clone());
            tokio::spawn(async move {
                let code = format!("race-{round}-{i}");
                login.finish("test", &state, &code, &cookie, None, Merge::IntoAccount).await.is_ok()
            })
        });
        let mut wins = 0;
        for attempt in attempts.collect::<Vec<_>>() {
            wins += usize::from(attempt.await.unwrap());
        }
        assert_eq!(wins, 1, "round {round}: exactly one callback signs in");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_is_used_once_and_only_with_its_provider() {
    // Guard: `take_oauth_state` deletes the state as it reads it (`DELETE .. RETURNING`).
    // Seen failing with a plain `SELECT` there: the replay signed in a second time.
    let env = env().await;
    let started = env.start("test").await;
    env.grant(&started, "code-1", jwt(&env.claims(&started, "ada@example.com"), &env.provider.key()));
    env.login.finish("test", &started.state, "code-1", &started.cookie, None, Merge::IntoAccount).await.unwrap();
    // Replayed, even with a code the provider would accept.
    env.grant(&started, "code-2", jwt(&env.claims(&started, "ada@example.com"), &env.provider.key()));
    let why =
        refused(env.login.finish("test", &started.state, "code-2", &started.cookie, None, Merge::IntoAccount).await);
    assert_eq!(why, "the sign-in state is unknown, used or expired");
    // Unknown.
    refused(env.login.finish("test", "not-a-state", "code-2", &started.cookie, None, Merge::IntoAccount).await);
    // Started with GitHub, finished as the OpenID provider: refused, and spent.
    *env.provider.github_emails.lock().unwrap() =
        json!([{ "email": "ada@example.com", "primary": true, "verified": true }]);
    let github = env.start("github").await;
    env.grant(&github, "code-3", String::from("gh-token"));
    refused(env.login.finish("test", &github.state, "code-3", &github.cookie, None, Merge::IntoAccount).await);
    // The code and cookie are GitHub's own and good: only the spent state refuses it.
    let why =
        refused(env.login.finish("github", &github.state, "code-3", &github.cookie, None, Merge::IntoAccount).await);
    assert_eq!(why, "the sign-in state is unknown, used or expired");
    // A code whose PKCE verifier is another sign-in's: the provider refuses it.
    let (one, two) = (env.start("test").await, env.start("test").await);
    env.grant(&one, "code-4", jwt(&env.claims(&one, "ada@example.com"), &env.provider.key()));
    let why = refused(env.login.finish("test", &two.state, "code-4", &two.cookie, None, Merge::IntoAccount).await);
    assert_eq!(why, "the provider refused the code");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_in_another_browser_signs_nobody_in() {
    // Guard: the state row holds the hash of the starting browser's cookie, and
    // `take_oauth_state` matches it. Login CSRF: an attacker starts a sign-in with their own
    // account and sends the victim the callback URL; the victim's browser has no cookie.
    let env = env().await;
    let attackers = env.start("test").await;
    env.grant(&attackers, "code-1", jwt(&env.claims(&attackers, "mallory@example.com"), &env.provider.key()));
    let victims_cookies = "__Host-session=whatever";
    let why =
        refused(env.login.finish("test", &attackers.state, "code-1", victims_cookies, None, Merge::IntoAccount).await);
    assert_eq!(why, "the sign-in state is unknown, used or expired");
    // Another sign-in's cookie does not fit either.
    let (one, two) = (env.start("test").await, env.start("test").await);
    env.grant(&one, "code-2", jwt(&env.claims(&one, "mallory@example.com"), &env.provider.key()));
    refused(env.login.finish("test", &one.state, "code-2", &two.cookie, None, Merge::IntoAccount).await);
    assert_eq!(env.users(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_without_email_verified_is_refused() {
    let env = env().await;
    let started = env.start("test").await;
    let mut claims = env.claims(&started, "ada@example.com");
    claims.as_object_mut().unwrap().remove("email_verified");
    env.grant(&started, "code-1", jwt(&claims, &env.provider.key()));
    let why =
        refused(env.login.finish("test", &started.state, "code-1", &started.cookie, None, Merge::IntoAccount).await);
    assert_eq!(why, "the provider has not verified the address");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_providers_are_refused_except_on_this_machine() {
    let env = env().await;
    let admin = Admin::new("OAuth tests build a login with an insecure provider");
    let insecure = [OAuthProvider::openid("x", "http://accounts.example.com", "a", "b", REDIRECT)];
    assert!(matches!(OAuthLogin::new(&admin, env.auth.clone(), insecure), Err(Error::OAuthSettings { .. })));
    let gh = [OAuthProvider::github("a", "b", REDIRECT).github_endpoints(
        "https://github.example.com/login/oauth/authorize",
        "http://github.example.com/login/oauth/access_token",
        "https://api.github.example.com",
    )];
    assert!(matches!(OAuthLogin::new(&admin, env.auth.clone(), gh), Err(Error::OAuthSettings { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_signs_in_with_its_verified_primary_address_only() {
    let env = env().await;
    *env.provider.github_emails.lock().unwrap() = json!([
        { "email": "old@example.com", "primary": false, "verified": true },
        { "email": "Grace@Example.com", "primary": true, "verified": true },
    ]);
    let started = env.start("github").await;
    assert!(started.nonce.is_none());
    env.grant(&started, "gh-1", String::from("gh-token"));
    let login =
        env.login.finish("github", &started.state, "gh-1", &started.cookie, None, Merge::IntoAccount).await.unwrap();
    assert_eq!(login.session.identity.user.email.as_deref(), Some("grace@example.com"));

    *env.provider.github_emails.lock().unwrap() = json!([
        { "email": "mallory@example.com", "primary": true, "verified": false },
        { "email": "other@example.com", "primary": false, "verified": true },
    ]);
    let started = env.start("github").await;
    env.grant(&started, "gh-2", String::from("gh-token"));
    let why =
        refused(env.login.finish("github", &started.state, "gh-2", &started.cookie, None, Merge::IntoAccount).await);
    assert_eq!(why, "the provider has not verified the address");
    assert_eq!(env.users(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_provider_and_duplicate_names_are_refused() {
    let env = env().await;
    assert!(matches!(env.login.start("nope", None).await, Err(Error::OAuthRefused { .. })));
    let admin = Admin::new("OAuth tests build a login with a mistake");
    let twice = [OAuthProvider::github("a", "b", REDIRECT), OAuthProvider::github("c", "d", REDIRECT)];
    assert!(matches!(OAuthLogin::new(&admin, env.auth.clone(), twice), Err(Error::OAuthSettings { .. })));
    let bad = [OAuthProvider::google("a", "b", "not a url")];
    assert!(matches!(OAuthLogin::new(&admin, env.auth.clone(), bad), Err(Error::OAuthSettings { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_is_cached_and_fetched_again_when_the_provider_rotates_its_key() {
    let env = env().await;
    let fetched = || env.provider.discoveries.load(std::sync::atomic::Ordering::SeqCst);
    for i in 0..2 {
        let started = env.start("test").await;
        let code = format!("code-{i}");
        env.grant(&started, &code, jwt(&env.claims(&started, "ada@example.com"), &env.provider.key()));
        env.login.finish("test", &started.state, &code, &started.cookie, None, Merge::IntoAccount).await.unwrap();
    }
    assert_eq!(fetched(), 1, "two sign-ins, one discovery");
    // The provider rotates its key: the cached keys lack it, so they are fetched again.
    *env.provider.key.lock().unwrap() = key();
    let started = env.start("test").await;
    env.grant(&started, "code-rotated", jwt(&env.claims(&started, "ada@example.com"), &env.provider.key()));
    env.login.finish("test", &started.state, "code-rotated", &started.cookie, None, Merge::IntoAccount).await.unwrap();
    assert_eq!(fetched(), 2);
    // A token no published key signed fails after that fetch, and fetches no more.
    let started = env.start("test").await;
    env.grant(&started, "code-forged", jwt(&env.claims(&started, "ada@example.com"), &key()));
    let why = refused(
        env.login.finish("test", &started.state, "code-forged", &started.cookie, None, Merge::IntoAccount).await,
    );
    assert_eq!(why, "the ID token does not verify");
    assert_eq!(fetched(), 2, "at most one fresh fetch a minute");
}
