//! Red-team scratch tests for `src/keys` and `src/auth` (the lead will delete or adopt).
//! Each test asserts the CURRENT (buggy) behaviour, so a passing test = the finding
//! reproduces. Flip the assertion when adopting it as a regression guard.
#![cfg(all(feature = "axum", feature = "object-store"))]
#![allow(missing_docs, unreachable_pub, dead_code)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use common::{NewProject, Project};
use tenantry::auth::{Auth, Clock, CurrentUser, MemoryMailer, Merge, anonymous_session};
use tenantry::{Admin, Database, KeySegment, ObjectKey, Segment, TenantId, TenantStore};
use uuid::Uuid;

// ---------------------------------------------------------------- helpers

struct TestClock(Mutex<SystemTime>);
impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

struct Env {
    db: Database,
    auth: Auth,
    mail: Arc<MemoryMailer>,
    clock: Arc<TestClock>,
    dir: std::path::PathBuf,
}
impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
fn env() -> Env {
    let dir = std::env::temp_dir().join(format!("tenantry-redteam-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = Database::open(dir.join("app.db")).unwrap();
    db.create_table::<Project>().unwrap();
    let mail = Arc::new(MemoryMailer::default());
    let clock = Arc::new(TestClock(Mutex::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000))));
    let auth = Auth::builder(db.clone()).mailer(mail.clone()).clock(clock.clone()).build().unwrap();
    Env { db, auth, mail, clock, dir }
}
impl Env {
    fn link_for(&self, email: &str) -> String {
        self.auth.request_link(email, &format!("caller-{email}")).unwrap();
        let sent = self.mail.sent();
        sent.last().unwrap().body.rsplit("token=").next().unwrap().trim().to_owned()
    }
    fn count(&self, sql: &'static str) -> i64 {
        let admin = Admin::new("redteam counts rows");
        self.db.fetch_raw(admin.raw_sql(sql), |r| r.get(0)).unwrap()[0]
    }
    fn projects(&self, t: &TenantId) -> Vec<String> {
        self.db.fetch_all(Project::select(t)).unwrap().into_iter().map(|p| p.name).collect()
    }
}
fn project(name: &str) -> NewProject {
    NewProject { id: Uuid::new_v4(), name: name.into(), created_at: "2026-01-01".into() }
}

// ================================================================ AUTH

/// HIGH: link swap. The attacker requests a link for THEIR OWN address and gets the victim
/// to press "Sign in" on the (first-party) confirm page. The victim's anonymous data is
/// merged into the attacker's account, and the victim is now signed in as the attacker.
#[test]
fn a1_attacker_link_pulls_victim_anonymous_data_into_attacker_account() {
    let env = env();
    // Attacker has an account.
    let atk = env.auth.verify_link(&env.link_for("mallory@evil.example"), None, Merge::IntoAccount).unwrap();
    let atk_tenant = *atk.session.identity.tenant();
    // Victim works anonymously.
    let victim_anon = env.auth.start_anonymous().unwrap();
    let victim = env.auth.resolve(victim_anon.token.expose()).unwrap().unwrap();
    env.db.execute(Project::insert(victim.tenant(), project("victim's secret project"))).unwrap();
    // Attacker mails the victim  https://app/auth/verify?token=<attacker's token>.
    let attacker_token = env.link_for("mallory@evil.example");
    // Victim clicks, sees "Sign in", presses it: the POST carries the VICTIM's cookie.
    let login = env.auth.verify_link(&attacker_token, Some(&victim), Merge::IntoAccount).unwrap();
    assert_eq!(login.session.identity.tenant(), &atk_tenant, "victim now signed in AS the attacker");
    assert_eq!(env.projects(&atk_tenant), ["victim's secret project"], "victim data now in attacker account");
}

/// HIGH (variant): the attacker's address has no account yet: the victim's anonymous user
/// (and every row/object under its tenant) becomes the attacker's account permanently.
#[test]
fn a1b_fresh_attacker_email_takes_over_victim_anonymous_tenant() {
    let env = env();
    let victim_anon = env.auth.start_anonymous().unwrap();
    let victim = env.auth.resolve(victim_anon.token.expose()).unwrap().unwrap();
    env.db.execute(Project::insert(victim.tenant(), project("victim work"))).unwrap();
    let attacker_token = env.link_for("mallory@evil.example");
    env.auth.verify_link(&attacker_token, Some(&victim), Merge::IntoAccount).unwrap();
    // Later, the attacker signs in from their own browser.
    let atk = env.auth.verify_link(&env.link_for("mallory@evil.example"), None, Merge::IntoAccount).unwrap();
    assert_eq!(atk.session.identity.tenant(), victim.tenant());
    assert_eq!(env.projects(atk.session.identity.tenant()), ["victim work"]);
}

/// MEDIUM: `to_lowercase` folds non-ASCII into ASCII (KELVIN SIGN -> 'k'), so a different
/// (attacker-verified, e.g. by an OAuth provider) address logs into kim's account.
#[test]
fn a2_unicode_case_folding_collides_emails() {
    let env = env();
    let kim = env.auth.login_verified_email("kim@example.com", None, Merge::IntoAccount).unwrap();
    let evil = env.auth.login_verified_email("\u{212A}im@example.com", None, Merge::IntoAccount).unwrap();
    assert_eq!(evil.session.identity.tenant(), kim.session.identity.tenant());
    // Also: U+0130 (Turkish dotted I) lower-cases to two chars; both accepted as emails.
    assert!(env.auth.login_verified_email("\u{130}@example.com", None, Merge::IntoAccount).is_ok());
}

/// MEDIUM: an anonymous user who paid (Stripe linked) and then logs into an existing
/// account: the anonymous `users` row is deleted with its `stripe_customer_id`.
#[test]
fn a3_merge_drops_the_stripe_customer_link() {
    let env = env();
    let account = env.auth.verify_link(&env.link_for("ada@example.com"), None, Merge::IntoAccount).unwrap();
    let anon_s = env.auth.start_anonymous().unwrap();
    let anon = env.auth.resolve(anon_s.token.expose()).unwrap().unwrap();
    env.auth.link_stripe_customer(anon.tenant(), "cus_paid").unwrap();
    let login = env.auth.verify_link(&env.link_for("ada@example.com"), Some(&anon), Merge::IntoAccount).unwrap();
    assert_eq!(login.session.identity.tenant(), account.session.identity.tenant());
    assert_eq!(login.session.identity.user.stripe_customer_id, None, "payment link not carried over");
    let admin = Admin::new("redteam: stripe webhook");
    assert!(env.auth.user_by_stripe_customer(&admin, "cus_paid").unwrap().is_none(), "webhook finds nobody");
}

/// MEDIUM (defence in depth): "anonymous" is decided from the caller-mutable
/// `Identity.user.email`, not from the database. A real account identity with `email`
/// cleared is merged (all rows) into another account and then DELETED.
#[test]
fn a5_mutable_identity_makes_a_real_account_look_anonymous() {
    let env = env();
    let x = env.auth.verify_link(&env.link_for("x@example.com"), None, Merge::IntoAccount).unwrap();
    env.db.execute(Project::insert(x.session.identity.tenant(), project("x's data"))).unwrap();
    let _y = env.auth.verify_link(&env.link_for("y@example.com"), None, Merge::IntoAccount).unwrap();
    let mut me = env.auth.resolve(x.session.token.expose()).unwrap().unwrap();
    me.user.email = None; // e.g. an app "redacting" before passing it on
    let login = env.auth.verify_link(&env.link_for("y@example.com"), Some(&me), Merge::IntoAccount).unwrap();
    assert_eq!(env.projects(login.session.identity.tenant()), ["x's data"]);
    assert_eq!(env.count("SELECT COUNT(*) FROM users WHERE email = 'x@example.com'"), 0, "account x deleted");
}

/// LOW: Merge::KeepSeparate deletes the anonymous user's only session: "left with the
/// anonymous user" means unreachable by anyone.
#[test]
fn a12_keep_separate_strands_anonymous_data() {
    let env = env();
    let s = env.auth.start_anonymous().unwrap();
    let anon = env.auth.resolve(s.token.expose()).unwrap().unwrap();
    env.auth.verify_link(&env.link_for("new@example.com"), Some(&anon), Merge::KeepSeparate).unwrap();
    let live = env.count("SELECT COUNT(*) FROM sessions");
    assert_eq!(live, 1, "only the new account's session; no session reaches the anonymous tenant");
}

/// LOW/resource: anonymous users are never swept, even with no session and no data.
#[test]
fn a8_sweep_never_removes_anonymous_users() {
    let env = env();
    for _ in 0..50 {
        env.auth.start_anonymous().unwrap();
    }
    *env.clock.0.lock().unwrap() += Duration::from_secs(400 * 24 * 3600);
    let swept = env.auth.sweep().unwrap();
    assert_eq!(swept.sessions, 50);
    assert_eq!(env.count("SELECT COUNT(*) FROM users"), 50, "50 dead anonymous users stay forever");
}

/// LOW: the Debug of `Mail` (public, derived) prints the live magic-link token.
#[test]
fn a11_mail_debug_prints_the_login_token() {
    let env = env();
    let token = env.link_for("ada@example.com");
    let dbg = format!("{:?}", env.mail.sent()[0]);
    assert!(dbg.contains(&token));
}

/// LOW (config): TTLs past 9999-12-31 make `timestamp` write 1970 (sessions born
/// expired); a TTL that overflows SystemTime panics.
#[test]
fn a9_far_future_timestamps() {
    let y10k = SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_800);
    assert_eq!(tenantry::auth::timestamp(y10k), "1970-01-01 00:00:00");
    let db = Database::open_in_memory().unwrap();
    let auth = Auth::builder(db).session_ttl(Duration::from_secs(9_000 * 365 * 86_400)).build().unwrap();
    let s = auth.start_anonymous().unwrap();
    assert!(auth.resolve(s.token.expose()).unwrap().is_none(), "born expired");
    let auth2 = Auth::builder(Database::open_in_memory().unwrap()).session_ttl(Duration::MAX).build().unwrap();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| auth2.start_anonymous())).is_err();
    assert!(panicked, "SystemTime + Duration::MAX panics");
}

// ---------------------------------------------------------------- axum

mod web {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::http::{HeaderValue, Request, header};
    use axum::middleware;
    use axum::routing::get;
    use tower::ServiceExt;

    async fn whoami(CurrentUser(me): CurrentUser) -> String {
        me.tenant().to_string()
    }
    async fn with_theme(CurrentUser(me): CurrentUser) -> ([(header::HeaderName, &'static str); 1], String) {
        ([(header::SET_COOKIE, "theme=dark; Path=/")], me.tenant().to_string())
    }

    fn app(auth: Auth) -> Router {
        Router::new()
            .route("/whoami", get(whoami))
            .route("/theme", get(with_theme))
            .layer(middleware::from_fn_with_state(auth.clone(), anonymous_session))
            .with_state(auth)
    }

    async fn send(app: &Router, req: Request<Body>) -> (Vec<String>, String) {
        let resp = app.clone().oneshot(req).await.unwrap();
        let sc = resp.headers().get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap();
        (sc, String::from_utf8(body.to_vec()).unwrap())
    }

    /// MEDIUM: one non-visible-ASCII byte in ANY cookie (any sibling sub-domain can toss
    /// `x=é; Domain=example.com`) makes `to_str()` fail: the middleware ignores the live
    /// session, mints a new anonymous user and OVERWRITES the victim's session cookie.
    #[tokio::test]
    async fn w1_non_ascii_cookie_logs_the_user_out() {
        let auth = auth_mem();
        let app = app(auth.clone());
        let real = auth.start_anonymous().unwrap();
        let me = real.identity.tenant().to_string();
        let mut req = Request::builder().uri("/whoami").body(Body::empty()).unwrap();
        let v = format!("{}; x=\u{e9}", real.cookie().split(';').next().unwrap());
        req.headers_mut().insert(header::COOKIE, HeaderValue::from_bytes(v.as_bytes()).unwrap());
        let (set, who) = send(&app, req).await;
        assert_ne!(who, me, "served as a brand-new anonymous user");
        assert!(set.iter().any(|c| c.starts_with("__Host-session=")), "live session cookie overwritten");
    }

    /// LOW: HTTP/2 may split cookies over several `cookie` fields; only the first is read.
    #[tokio::test]
    async fn w2_second_cookie_header_is_ignored() {
        let auth = auth_mem();
        let app = app(auth.clone());
        let real = auth.start_anonymous().unwrap();
        let mut req = Request::builder().uri("/whoami").body(Body::empty()).unwrap();
        req.headers_mut().append(header::COOKIE, HeaderValue::from_static("theme=dark"));
        req.headers_mut()
            .append(header::COOKIE, HeaderValue::from_str(real.cookie().split(';').next().unwrap()).unwrap());
        let (set, who) = send(&app, req).await;
        assert_ne!(who, real.identity.tenant().to_string());
        assert!(!set.is_empty());
    }

    /// LOW: first well-formed `__Host-session` wins even if dead; a live one after it is
    /// ignored and overwritten.
    #[tokio::test]
    async fn w3_dead_duplicate_shadows_live_cookie() {
        let auth = auth_mem();
        let app = app(auth.clone());
        let real = auth.start_anonymous().unwrap();
        let v = format!("__Host-session={}; {}", "0".repeat(64), real.cookie().split(';').next().unwrap());
        let req = Request::builder().uri("/whoami").header(header::COOKIE, v).body(Body::empty()).unwrap();
        let (_, who) = send(&app, req).await;
        assert_ne!(who, real.identity.tenant().to_string());
    }

    /// MEDIUM: a handler that sets ANY cookie suppresses the anonymous session cookie: the
    /// anonymous user just created (and any row written for it in this request) is orphaned.
    #[tokio::test]
    async fn w4_unrelated_set_cookie_drops_the_new_session_cookie() {
        let auth = auth_mem();
        let app = app(auth.clone());
        let req = Request::builder().uri("/theme").body(Body::empty()).unwrap();
        let (set, _who) = send(&app, req).await;
        assert_eq!(set, ["theme=dark; Path=/"], "no __Host-session issued; the new user is unreachable");
    }

    /// INFO/DoS: every cookieless request writes a user row and a 30-day session.
    #[tokio::test]
    async fn w5_every_cookieless_request_creates_a_user() {
        let db = Database::open_in_memory().unwrap();
        let auth = Auth::builder(db.clone()).build().unwrap();
        let app = app(auth);
        for _ in 0..100 {
            send(&app, Request::builder().uri("/whoami").body(Body::empty()).unwrap()).await;
        }
        let admin = Admin::new("redteam counts users");
        let n: i64 = db.fetch_raw(admin.raw_sql("SELECT COUNT(*) FROM users"), |r| r.get(0)).unwrap()[0];
        assert_eq!(n, 100);
    }

    fn auth_mem() -> Auth {
        Auth::builder(Database::open_in_memory().unwrap()).mailer(Arc::new(MemoryMailer::default())).build().unwrap()
    }
}

// ================================================================ KEYS

/// A user `KeySegment` impl gets `&mut` the WHOLE key, not just its segment.
#[derive(Clone, Debug)]
struct Assigning(String);
impl KeySegment for Assigning {
    fn write_segment(&self, out: &mut String) {
        // Plausible bug: assigning instead of appending (or deliberate abuse).
        *out = self.0.clone();
    }
    fn read_segment(s: &str) -> Option<Self> {
        Some(Assigning(s.to_owned()))
    }
}

#[derive(ObjectKey)]
#[key("{tenant}/x/{v}")]
struct Evil {
    v: Assigning,
}

/// HIGH (breaks the "an impl cannot produce a key that breaks the rules" guarantee): a
/// TenantKey whose tenant() is alice but whose text is bob's key; TenantStore writes into
/// bob's prefix.
#[test]
fn k1_key_segment_impl_rewrites_the_tenant_prefix() {
    let admin = Admin::new("redteam fixed tenants");
    let (alice, bob) = (admin.tenant(Uuid::from_u128(1)), admin.tenant(Uuid::from_u128(2)));
    let target = format!("{bob}/x/pwned"); // bob's id is not a secret: it is in every key
    assert_eq!(target.len(), 36 + 3 + 5);
    let key = Evil { v: Assigning(target.clone()) }.key(&alice).unwrap();
    assert_eq!(key.tenant(), &alice);
    assert_eq!(key.as_str(), target, "alice's TenantKey names bob's object");
    let store = TenantStore::in_memory();
    futures::executor::block_on(store.put(&key, b"from alice".to_vec())).unwrap();
    let bob_keys = futures::executor::block_on(store.list(&tenantry::TenantPrefix::root(&bob))).unwrap();
    assert_eq!(bob_keys.len(), 1, "object landed in bob's prefix");
}

/// MEDIUM: the same impl (shrinking `out`) panics in `KeyWriter::segment` slicing.
#[test]
fn k1b_key_segment_impl_can_panic_the_writer() {
    let alice = Admin::new("redteam").tenant(Uuid::from_u128(1));
    let r = std::panic::catch_unwind(|| Evil { v: Assigning("short".into()) }.key(&alice));
    assert!(r.is_err(), "byte index out of range panic");
    // ...or splits a char: push a 2-byte char then pop one byte's worth is impossible via
    // String API, but truncating to inside the tenant id and re-growing works the same way.
}

#[derive(ObjectKey)]
#[key("{tenant}/profile/avatar.png")]
struct Avatar;

/// LOW: for a template with no placeholder, `prefix()` includes the file name as a
/// directory (`t/profile/avatar.png/`), so list_keys/delete_prefix never see the object.
#[test]
fn k2_all_literal_template_prefix_misses_its_own_key() {
    let t = Admin::new("redteam").tenant(Uuid::from_u128(7));
    let key = Avatar.key(&t).unwrap();
    assert!(!key.starts_with(&Avatar::prefix(&t)));
    let store = TenantStore::in_memory();
    futures::executor::block_on(store.put(&key, b"png".to_vec())).unwrap();
    assert!(futures::executor::block_on(store.list_keys::<Avatar>(&t)).unwrap().is_empty());
    assert_eq!(futures::executor::block_on(store.delete_prefix(&Avatar::prefix(&t))).unwrap(), 0);
}

/// LOW: a valid 254/255-byte segment cannot be written to `TenantStore::local` (the
/// LocalFileSystem staging file `name#N` exceeds NAME_MAX).
#[test]
fn k3_max_length_segment_fails_on_local_store() {
    #[derive(ObjectKey)]
    #[key("{tenant}/f/{name}")]
    struct F {
        name: Segment,
    }
    let dir = std::env::temp_dir().join(format!("tenantry-redteam-fs-{}", Uuid::new_v4()));
    let store = TenantStore::local(&dir).unwrap();
    let t = Admin::new("redteam").tenant(Uuid::from_u128(9));
    let ok = F { name: Segment::new("a".repeat(250)).unwrap() }.key(&t).unwrap();
    let long = F { name: Segment::new("a".repeat(255)).unwrap() }.key(&t).unwrap();
    let r_ok = futures::executor::block_on(store.put(&ok, b"x".to_vec()));
    let r_long = futures::executor::block_on(store.put(&long, b"x".to_vec()));
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("250 bytes: {r_ok:?}; 255 bytes: {r_long:?}");
    assert!(r_ok.is_ok());
    assert!(r_long.is_err(), "validated key rejected by the store");
}

/// LOW/INFO: invisible / line-breaking characters the `invisible` list misses.
#[test]
fn k4_invisible_characters_accepted() {
    for s in [
        "a\u{2028}b",  // LINE SEPARATOR (Zl: not is_control) — log injection
        "a\u{2029}b",  // PARAGRAPH SEPARATOR
        "a\u{E0041}b", // TAG LATIN CAPITAL A (invisible)
        "a\u{034F}b",  // COMBINING GRAPHEME JOINER
        "a\u{3164}b",  // HANGUL FILLER (renders blank)
        "a\u{115F}b",  // HANGUL CHOSEONG FILLER
        "a\u{FE0F}b",  // VARIATION SELECTOR-16
        "a\u{1D173}b", // MUSICAL SYMBOL BEGIN BEAM (Cf)
        "\u{FFFF}",    // noncharacter
        "a\u{0378}b",  // unassigned: NFC of it may change in a future Unicode
        "report.pdf ", // trailing space: Windows strips it (LocalFileSystem on Windows)
        "con",         // Windows reserved device name
        "a:b",         // NTFS alternate data stream syntax
    ] {
        assert!(Segment::new(s).is_ok(), "{s:?} rejected (good!)");
    }
    // ' ' and '+' are both allowed: S3 event notifications form-encode keys (space -> '+'),
    // so a notification key for "my clip.mp4" parses as the different object "my+clip.mp4".
    assert_ne!(Segment::new("my clip.mp4").unwrap(), Segment::new("my+clip.mp4").unwrap());
}

/// INFO: two key types of one tenant can name the same object.
#[test]
fn k5_two_templates_one_string() {
    #[derive(ObjectKey, Debug)]
    #[key("{tenant}/input/{job_id}/video.mp4")]
    struct InputVideo {
        job_id: Uuid,
    }
    #[derive(ObjectKey)]
    #[key("{tenant}/input/{job}/{file}")]
    struct UserUpload {
        job: Uuid,
        file: Segment,
    }
    let t = Admin::new("redteam").tenant(Uuid::from_u128(3));
    let j = Uuid::from_u128(4);
    let a = InputVideo { job_id: j }.key(&t).unwrap();
    let b = UserUpload { job: j, file: Segment::new("video.mp4").unwrap() }.key(&t).unwrap();
    assert_eq!(a, b);
}

// ================================================================ more

/// MEDIUM: with a per-tenant Layout (B/C), `transfer` looks only in the shared database,
/// moves nothing, reports (0 moved, 0 kept) and then DELETES the anonymous user: its
/// per-tenant file is stranded.
#[test]
fn a13_merge_under_per_tenant_layout_moves_nothing_and_deletes_the_user() {
    let dir = std::env::temp_dir().join(format!("tenantry-redteam-layout-{}", Uuid::new_v4()));
    let shared = Database::open_in_memory().unwrap();
    let layout = tenantry::Layout::builder(shared.clone()).per_tenant(dir.join("tenants")).build().unwrap();
    let mail = Arc::new(MemoryMailer::default());
    let auth = Auth::builder(shared.clone()).mailer(mail.clone()).build().unwrap();
    let anon_s = auth.start_anonymous().unwrap();
    let anon = auth.resolve(anon_s.token.expose()).unwrap().unwrap();
    layout.execute(Project::insert(anon.tenant(), project("phone project"))).unwrap();
    let _acct = auth.login_verified_email("ada@example.com", None, Merge::IntoAccount).unwrap();
    let login = auth.login_verified_email("ada@example.com", Some(&anon), Merge::IntoAccount).unwrap();
    let moved = layout.fetch_all(Project::select(login.session.identity.tenant())).unwrap().len();
    let stranded = layout.fetch_all(Project::select(anon.tenant())).unwrap().len();
    let admin = Admin::new("redteam");
    let users: i64 = shared.fetch_raw(admin.raw_sql("SELECT COUNT(*) FROM users"), |r| r.get(0)).unwrap()[0];
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!((login.merged.rows_moved, login.merged.rows_kept, moved, stranded), (0, 0, 0, 1));
    assert_eq!(users, 1, "anonymous user row deleted; its data file has no owner");
}

/// Held up: 16 concurrent request_link for one email with limit 5 give exactly 5 mails.
#[test]
fn ok_rate_limit_is_exact_under_concurrency() {
    let env = env();
    let barrier = Arc::new(std::sync::Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let (auth, b) = (env.auth.clone(), barrier.clone());
            std::thread::spawn(move || {
                b.wait();
                auth.request_link("ada@example.com", &format!("ip{i}"))
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let limited = results.iter().filter(|r| matches!(r, Err(tenantry::Error::RateLimited))).count();
    assert_eq!((ok, limited), (5, 11), "{results:?}");
    assert_eq!(env.mail.sent().len(), 5);
}

/// Held up: a stale identity (its session expired or rotated) merges nothing.
#[test]
fn ok_stale_current_identity_merges_nothing() {
    let env = env();
    let s = env.auth.start_anonymous().unwrap();
    let anon = env.auth.resolve(s.token.expose()).unwrap().unwrap();
    env.db.execute(Project::insert(anon.tenant(), project("p"))).unwrap();
    env.auth.logout(&anon).unwrap();
    let login = env.auth.verify_link(&env.link_for("z@example.com"), Some(&anon), Merge::IntoAccount).unwrap();
    assert_ne!(login.session.identity.tenant(), anon.tenant());
    assert!(env.projects(login.session.identity.tenant()).is_empty());
}

/// Held up: session and link expiry at the exact second boundary.
#[test]
fn ok_expiry_boundaries() {
    let env = env();
    let s = env.auth.start_anonymous().unwrap();
    *env.clock.0.lock().unwrap() += Duration::from_secs(30 * 24 * 3600 - 1);
    assert!(env.auth.resolve(s.token.expose()).unwrap().is_some());
    *env.clock.0.lock().unwrap() += Duration::from_secs(1);
    assert!(env.auth.resolve(s.token.expose()).unwrap().is_none(), "expires_at == now is expired");
    let t = env.link_for("b@example.com");
    *env.clock.0.lock().unwrap() += Duration::from_secs(15 * 60);
    assert!(matches!(env.auth.verify_link(&t, None, Merge::IntoAccount), Err(tenantry::Error::InvalidLink)));
}
