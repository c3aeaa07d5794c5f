//! The auth layer: sessions, magic links, login with merge, Stripe links, cookies.

mod common;

use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, SystemTime};

use common::{NewProject, NewSetting, Project, Setting};
use tenantry::auth::{
    Auth, Clock, Identity, MemoryMailer, Merge, SESSION_COOKIE, VerifiedEmail, logout_cookie, token_from_cookie_header,
};
use tenantry::{Admin, Error, SqliteDatabase, TenantId};
use uuid::Uuid;

/// A clock the test moves by hand.
struct TestClock(Mutex<SystemTime>);

impl TestClock {
    fn new() -> Arc<Self> {
        Arc::new(TestClock(Mutex::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000))))
    }
    fn advance(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
}

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

struct Env {
    db: SqliteDatabase,
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
    let dir = std::env::temp_dir().join(format!("tenantry-auth-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = SqliteDatabase::open(dir.join("app.db")).unwrap();
    db.create_table::<Project>().unwrap();
    db.create_table::<Setting>().unwrap();
    let mail = Arc::new(MemoryMailer::default());
    let clock = TestClock::new();
    let auth = Auth::builder(&Admin::new("auth tests build the auth service"), db.clone())
        .verify_url("https://clips.example/auth/verify")
        .mailer(mail.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    Env { db, auth, mail, clock, dir }
}

impl Env {
    fn last_link_token(&self) -> String {
        let sent = self.mail.sent();
        let body = &sent.last().expect("a mail was sent").body;
        body.rsplit("token=").next().unwrap().trim().to_owned()
    }
    fn count(&self, table: &'static str) -> i64 {
        let admin = Admin::new("auth tests count rows of the account tables");
        let sql: &'static str = match table {
            "users" => "SELECT COUNT(*) FROM users",
            "sessions" => "SELECT COUNT(*) FROM sessions",
            _ => "SELECT COUNT(*) FROM login_tokens",
        };
        self.db.fetch_raw(admin.raw_sql(sql), |r| r.get(0)).unwrap()[0]
    }
    fn link_for(&self, email: &str) -> String {
        self.auth.request_link(email, &format!("caller-for-{email}"), None).unwrap();
        self.last_link_token()
    }
    /// A link requested from `session` (the browser that will confirm it).
    fn link_from(&self, email: &str, session: &Identity) -> String {
        self.auth.request_link(email, &format!("caller-for-{email}"), Some(session)).unwrap();
        self.last_link_token()
    }
}

fn project(name: &str) -> NewProject {
    NewProject { id: Uuid::new_v4(), name: name.into(), created_at: "2026-11-27".into() }
}

#[test]
fn two_concurrent_verifications_of_one_link_give_exactly_one_session() {
    let env = env();
    for round in 0..40 {
        let token = env.link_for(&format!("racer{round}@example.com"));
        let barrier = Arc::new(Barrier::new(2));
        let results: Vec<_> = (0..2)
            .map(|_| {
                let (auth, token, barrier) = (env.auth.clone(), token.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    auth.verify_link(&token, None, Merge::IntoAccount)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {results:?}");
        assert!(results.iter().any(|r| matches!(r, Err(Error::InvalidLink))));
    }
    assert_eq!(env.count("sessions"), 40);
}

#[test]
fn replayed_expired_truncated_flipped_and_huge_tokens_fail_the_same_way() {
    let env = env();
    let used = env.link_for("ada@example.com");
    env.auth.verify_link(&used, None, Merge::IntoAccount).unwrap();
    let fresh = env.link_for("bob@example.com");
    let mut flipped = fresh.clone().into_bytes();
    flipped[10] = if flipped[10] == b'a' { b'b' } else { b'a' };
    let bad = [
        used.clone(),                        // replayed
        fresh[..63].to_owned(),              // truncated
        String::from_utf8(flipped).unwrap(), // one character changed
        fresh.to_uppercase(),                // another spelling
        "a".repeat(10 * 1024),               // 10 KB
        String::new(),
        "' OR 1=1 --".into(),
    ];
    for token in &bad {
        let err = env.auth.verify_link(token, None, Merge::IntoAccount).unwrap_err();
        assert!(matches!(err, Error::InvalidLink), "{err:?}");
        assert_eq!(err.to_string(), "this sign-in link is not valid");
    }
    // Expiry at the boundary, with the injected clock: valid one second before 15 minutes,
    // invalid at 15 minutes.
    let early = env.link_for("carol@example.com");
    let late = env.link_for("dave@example.com");
    env.clock.advance(Duration::from_secs(15 * 60 - 1));
    assert!(env.auth.verify_link(&early, None, Merge::IntoAccount).is_ok());
    env.clock.advance(Duration::from_secs(1));
    assert!(matches!(env.auth.verify_link(&late, None, Merge::IntoAccount), Err(Error::InvalidLink)));
    // The bad attempts created no user.
    assert_eq!(env.count("users"), 2);
}

#[test]
fn the_database_file_holds_no_token_in_clear() {
    let env = env();
    let anon = env.auth.start_anonymous().unwrap();
    let link = env.link_for("ada@example.com");
    let login = env.auth.verify_link(&link, None, Merge::IntoAccount).unwrap();
    let unused_link = env.link_for("bob@example.com");
    let secrets = [anon.token.expose().to_owned(), link, login.session.token.expose().to_owned(), unused_link];
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(&env.dir).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap()); // app.db, -wal, -shm
    }
    assert!(bytes.len() > 4096, "read the database and its WAL");
    for secret in &secrets {
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "a token is stored in clear");
    }
}

#[test]
fn login_rotates_the_session_and_anonymous_data_becomes_the_accounts() {
    let env = env();
    let anon = env.auth.start_anonymous().unwrap();
    let me = env.auth.resolve(anon.token.expose()).unwrap().unwrap();
    assert!(me.is_anonymous());
    env.db.execute(Project::insert(me.tenant(), project("made while anonymous"))).unwrap();

    let login = env.auth.verify_link(&env.link_from("Ada@Example.com", &me), Some(&me), Merge::IntoAccount).unwrap();
    assert!(env.auth.resolve(anon.token.expose()).unwrap().is_none(), "the anonymous session must stop working");
    let after = env.auth.resolve(login.session.token.expose()).unwrap().unwrap();
    assert_eq!(after.user.email.as_deref(), Some("ada@example.com"));
    let mine = env.db.fetch_all(Project::select(after.tenant())).unwrap();
    assert_eq!(mine.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["made while anonymous"]);
}

#[test]
fn anonymous_data_joins_an_existing_account_and_nothing_is_lost() {
    // Guard: `Layout::merge_tenant` (src/layout/merge.rs), driven by the table registry,
    // run after the login's transaction. Seen failing with the registry loop skipped: the
    // anonymous project stayed behind.
    let env = env();
    let first = env.auth.verify_link(&env.link_for("ada@example.com"), None, Merge::IntoAccount).unwrap();
    let account = first.session.identity.clone();
    env.db.execute(Project::insert(account.tenant(), project("account project"))).unwrap();
    env.db
        .execute(Setting::insert(account.tenant(), NewSetting { key: "theme".into(), value: "dark".into() }))
        .unwrap();

    // Another device, anonymous, with overlapping data.
    let anon = env.auth.start_anonymous().unwrap();
    let anon_id = env.auth.resolve(anon.token.expose()).unwrap().unwrap();
    env.db.execute(Project::insert(anon_id.tenant(), project("phone project"))).unwrap();
    env.db
        .execute(Setting::insert(anon_id.tenant(), NewSetting { key: "theme".into(), value: "light".into() }))
        .unwrap();
    env.db.execute(Setting::insert(anon_id.tenant(), NewSetting { key: "volume".into(), value: "7".into() })).unwrap();
    // A bystander whose rows must not move.
    let other = env.auth.start_anonymous().unwrap().identity;
    env.db.execute(Project::insert(other.tenant(), project("bystander"))).unwrap();

    let login =
        env.auth.verify_link(&env.link_from("ADA@example.com", &anon_id), Some(&anon_id), Merge::IntoAccount).unwrap();
    assert_eq!(login.session.identity.tenant(), account.tenant(), "case variants are one account");
    assert_eq!((login.merged.rows_moved, login.merged.rows_conflicting), (2, 1));
    let mut names: Vec<String> =
        env.db.fetch_all(Project::select(account.tenant())).unwrap().into_iter().map(|p| p.name).collect();
    names.sort();
    assert_eq!(names, ["account project", "phone project"]);
    assert_eq!(
        env.db.fetch_one(Setting::get(account.tenant(), "theme")).unwrap().value,
        "dark",
        "the account's row wins"
    );
    assert_eq!(env.db.fetch_one(Setting::get(account.tenant(), "volume")).unwrap().value, "7");
    // The rule for a conflict: the account's row stays, the anonymous one is discarded,
    // and the anonymous tenant is gone.
    assert!(env.db.fetch_all(Setting::select(anon_id.tenant())).unwrap().is_empty());
    assert!(env.db.fetch_all(Project::select(anon_id.tenant())).unwrap().is_empty());
    assert!(env.auth.resolve(anon.token.expose()).unwrap().is_none());
    assert_eq!(env.db.fetch_all(Project::select(other.tenant())).unwrap().len(), 1);
}

#[test]
fn keep_separate_leaves_the_anonymous_data_where_it_is() {
    let env = env();
    let anon = env.auth.start_anonymous().unwrap();
    let anon_id = anon.identity.clone();
    env.db.execute(Project::insert(anon_id.tenant(), project("stays"))).unwrap();
    let login =
        env.auth.verify_link(&env.link_from("new@example.com", &anon_id), Some(&anon_id), Merge::KeepSeparate).unwrap();
    assert_ne!(login.session.identity.tenant(), anon_id.tenant());
    assert_eq!(login.merged, Default::default());
    assert_eq!(env.db.fetch_all(Project::select(anon_id.tenant())).unwrap().len(), 1);
    assert!(env.db.fetch_all(Project::select(login.session.identity.tenant())).unwrap().is_empty());
    assert!(env.auth.resolve(anon.token.expose()).unwrap().is_none(), "rotated all the same");
}

#[test]
fn a_session_of_tenant_a_on_tenant_bs_row_gets_not_found() {
    let env = env();
    let a = env.auth.start_anonymous().unwrap().identity;
    let b = env.auth.start_anonymous().unwrap().identity;
    let row = project("b's");
    let id = row.id;
    env.db.execute(Project::insert(b.tenant(), row)).unwrap();
    assert!(matches!(env.db.fetch_one(Project::get(a.tenant(), id)), Err(Error::NotFound)));
    assert_eq!(env.db.execute(Project::delete_by_key(a.tenant(), id)).unwrap(), 0);
    assert!(env.db.fetch_one(Project::get(b.tenant(), id)).is_ok());
}

#[test]
fn forged_cookies_resolve_to_nothing_and_create_no_rows() {
    let env = env();
    let real = env.auth.start_anonymous().unwrap();
    let (users, sessions) = (env.count("users"), env.count("sessions"));
    let user_id = real.identity.tenant().to_string();
    let mut tampered = real.token.expose().to_owned().into_bytes();
    tampered[0] = if tampered[0] == b'0' { b'1' } else { b'0' };
    for header in [
        format!("uid={user_id}"),                       // the seed's bare user id
        format!("{SESSION_COOKIE}={user_id}"),          // a user id as the session
        format!("{SESSION_COOKIE}={}", "f".repeat(64)), // well formed, unknown
        format!("{SESSION_COOKIE}={}", String::from_utf8(tampered).unwrap()),
        format!("{SESSION_COOKIE}={}", real.token.expose().to_uppercase()),
        format!("session={}", real.token.expose()), // wrong cookie name
        String::from("garbage;;;==;"),
    ] {
        assert!(env.auth.resolve_cookie(&header).unwrap().is_none(), "{header}");
    }
    assert_eq!((env.count("users"), env.count("sessions")), (users, sessions));
    let ok = format!("theme=dark; {SESSION_COOKIE}={}", real.token.expose());
    assert_eq!(env.auth.resolve_cookie(&ok).unwrap().unwrap().tenant(), real.identity.tenant());
}

#[test]
fn rate_limits_trip_per_email_and_per_caller() {
    let env = env();
    for _ in 0..5 {
        env.auth.request_link("ada@example.com", "caller-1", None).unwrap();
    }
    assert!(matches!(env.auth.request_link("ADA@example.com", "caller-2", None), Err(Error::RateLimited)));
    for i in 0..15 {
        env.auth.request_link(&format!("user{i}@example.com"), "caller-3", None).unwrap();
    }
    // 5 earlier requests from caller-1 count too: caller-3 reaches 20 after 5 more.
    for i in 15..20 {
        env.auth.request_link(&format!("user{i}@example.com"), "caller-3", None).unwrap();
    }
    assert!(matches!(env.auth.request_link("zed@example.com", "caller-3", None), Err(Error::RateLimited)));
    // A new window opens after 15 minutes.
    env.clock.advance(Duration::from_secs(15 * 60 + 1));
    env.auth.request_link("ada@example.com", "caller-3", None).unwrap();
    // Unknown and known addresses get the same answer.
    env.auth.verify_link(&env.last_link_token(), None, Merge::IntoAccount).unwrap();
    assert!(env.auth.request_link("ada@example.com", "caller-9", None).is_ok());
    assert!(env.auth.request_link("nobody@example.com", "caller-9", None).is_ok());
    assert!(matches!(env.auth.request_link("not an email", "caller-9", None), Err(Error::InvalidEmail)));
}

#[test]
fn set_cookie_attributes_are_the_safe_ones() {
    let env = env();
    let session = env.auth.start_anonymous().unwrap();
    let header = session.cookie();
    let mut parts = header.split("; ");
    let (name, value) = parts.next().unwrap().split_once('=').unwrap();
    assert_eq!(name, "__Host-session");
    assert_eq!(value, session.token.expose());
    let attrs: Vec<&str> = parts.collect();
    assert!(attrs.contains(&"Secure") && attrs.contains(&"HttpOnly") && attrs.contains(&"SameSite=Lax"));
    // An anonymous session lives 7 days (an account's, 30).
    assert!(attrs.contains(&"Path=/") && attrs.contains(&"Max-Age=604800"));
    assert!(!attrs.iter().any(|a| a.to_ascii_lowercase().starts_with("domain")));
    assert_eq!(token_from_cookie_header(&format!("{name}={value}")), Some(value));
    assert!(logout_cookie().contains("Max-Age=0") && logout_cookie().starts_with("__Host-session=;"));
}

#[test]
fn migrations_started_twice_at_once_apply_once() {
    let dir = std::env::temp_dir().join(format!("tenantry-migrate-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("app.db");
    let barrier = Arc::new(Barrier::new(2));
    let applied: Vec<usize> = (0..2)
        .map(|_| {
            let (path, barrier) = (path.clone(), barrier.clone());
            std::thread::spawn(move || {
                let db = SqliteDatabase::open(&path).unwrap();
                barrier.wait();
                Auth::migrate(&Admin::new("auth test migrates the account tables"), &db).unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    let mut applied = applied;
    applied.sort();
    let all = tenantry::auth::AUTH_SCHEMA_VERSION as usize;
    assert_eq!(applied, [0, all], "one opener applies every migration, the other none");
    let db = SqliteDatabase::open(&path).unwrap();
    assert_eq!(Auth::migrate(&Admin::new("auth test migrates the account tables"), &db).unwrap(), 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn stripe_customers_link_once_and_uniquely() {
    let env = env();
    let a = env.auth.start_anonymous().unwrap().identity;
    let b = env.auth.start_anonymous().unwrap().identity;
    env.auth.link_stripe_customer(a.tenant(), "cus_A").unwrap();
    env.auth.link_stripe_customer(a.tenant(), "cus_A").unwrap(); // retried webhook: no-op
    assert!(matches!(env.auth.link_stripe_customer(a.tenant(), "cus_B"), Err(Error::StripeAlreadyLinked)));
    assert!(matches!(env.auth.link_stripe_customer(b.tenant(), "cus_A"), Err(Error::StripeCustomerTaken)));
    assert!(env.auth.link_stripe_customer(b.tenant(), "").is_err());
    let admin = Admin::new("stripe webhook looks up the customer's user");
    let (tenant, user) = env.auth.user_by_stripe_customer(&admin, "cus_A").unwrap().unwrap();
    assert_eq!((&tenant, user.stripe_customer_id.as_deref()), (a.tenant(), Some("cus_A")));
    assert!(env.auth.user_by_stripe_customer(&admin, "cus_unknown").unwrap().is_none());
}

#[test]
fn logout_logout_everywhere_and_sweep() {
    let env = env();
    let login = env.auth.verify_link(&env.link_for("ada@example.com"), None, Merge::IntoAccount).unwrap();
    let me: Identity = login.session.identity.clone();
    let other_device = env
        .auth
        .login_verified(
            VerifiedEmail::new(&Admin::new("test: oauth provider verified ada"), "ada@example.com").unwrap(),
            None,
            Merge::IntoAccount,
        )
        .unwrap();
    assert_eq!(other_device.session.identity.tenant(), me.tenant());
    let resolved = env.auth.resolve(login.session.token.expose()).unwrap().unwrap();
    env.auth.logout(&resolved).unwrap();
    assert!(env.auth.resolve(login.session.token.expose()).unwrap().is_none());
    assert!(env.auth.resolve(other_device.session.token.expose()).unwrap().is_some());
    assert_eq!(env.auth.logout_everywhere(me.tenant()).unwrap(), 1);
    assert!(env.auth.resolve(other_device.session.token.expose()).unwrap().is_none());

    let _unused = env.link_for("bob@example.com");
    let anon = env.auth.start_anonymous().unwrap();
    env.clock.advance(Duration::from_secs(31 * 24 * 3600));
    assert!(env.auth.resolve(anon.token.expose()).unwrap().is_none(), "expired");
    let swept = env.auth.sweep(&Admin::new("auth test sweeps")).unwrap();
    assert_eq!((swept.sessions, swept.login_tokens), (1, 2));
    assert_eq!(env.auth.sweep(&Admin::new("auth test sweeps")).unwrap(), Default::default());
    let _ = TenantId::generate();
}

#[test]
fn a_link_confirmed_from_another_session_merges_nothing_and_adopts_nothing() {
    // Red-team finding H1 (link swap / login CSRF). Guard: `requested_by` in
    // `verify_link`; seen failing without it: the victim's project moved to the attacker.
    let env = env();
    let victim = env.auth.start_anonymous().unwrap().identity;
    env.db.execute(Project::insert(victim.tenant(), project("victim's secret project"))).unwrap();
    // The attacker asks for a link to their own address and sends it to the victim, who
    // confirms it from the victim's own browser session.
    let attacker = env.auth.start_anonymous().unwrap().identity;
    let token = env.link_from("mallory@evil.example", &attacker);
    assert_eq!(env.auth.peek_link(&token).unwrap().as_deref(), Some("m***@evil.example"));
    let login = env.auth.verify_link(&token, Some(&victim), Merge::IntoAccount).unwrap();
    assert_eq!(login.merged, Default::default());
    assert_ne!(login.session.identity.tenant(), victim.tenant(), "the victim's tenant is not adopted");
    assert!(env.db.fetch_all(Project::select(login.session.identity.tenant())).unwrap().is_empty());
    assert_eq!(env.db.fetch_all(Project::select(victim.tenant())).unwrap().len(), 1, "the victim keeps their data");
    // Without a requesting session (another device), the login also leaves data alone.
    let other = env.auth.start_anonymous().unwrap().identity;
    env.db.execute(Project::insert(other.tenant(), project("phone"))).unwrap();
    let login = env.auth.verify_link(&env.link_for("ada@example.com"), Some(&other), Merge::IntoAccount).unwrap();
    assert_eq!(login.merged, Default::default());
    assert_eq!(env.db.fetch_all(Project::select(other.tenant())).unwrap().len(), 1);
}

#[test]
fn anonymity_is_read_from_the_database_not_from_the_callers_copy() {
    // Red-team finding M6: clearing `user.email` on a real account's identity must not make
    // the login treat it as anonymous (and merge the whole account away).
    let env = env();
    let first = env.auth.start_anonymous().unwrap().identity;
    let account =
        env.auth.verify_link(&env.link_from("ada@example.com", &first), Some(&first), Merge::IntoAccount).unwrap();
    let mut me = account.session.identity.clone();
    env.db.execute(Project::insert(me.tenant(), project("ada's"))).unwrap();
    me.user.email = None;
    let login = env.auth.verify_link(&env.link_from("bob@example.com", &me), Some(&me), Merge::IntoAccount).unwrap();
    assert_eq!(login.merged, Default::default());
    assert_eq!(env.db.fetch_all(Project::select(me.tenant())).unwrap().len(), 1, "ada's data stays ada's");
}

#[test]
fn a_stripe_customer_linked_while_anonymous_follows_the_merge() {
    let env = env();
    let existing = env.auth.verify_link(&env.link_for("ada@example.com"), None, Merge::IntoAccount).unwrap();
    let anon = env.auth.start_anonymous().unwrap().identity;
    env.auth.link_stripe_customer(anon.tenant(), "cus_paid_while_anonymous").unwrap();
    env.auth.verify_link(&env.link_from("ada@example.com", &anon), Some(&anon), Merge::IntoAccount).unwrap();
    let admin = Admin::new("stripe webhook after a merge");
    let (tenant, _) = env.auth.user_by_stripe_customer(&admin, "cus_paid_while_anonymous").unwrap().unwrap();
    assert_eq!(&tenant, existing.session.identity.tenant());
}

#[test]
fn sweep_removes_anonymous_users_nobody_can_reach() {
    let env = env();
    let idle = env.auth.start_anonymous().unwrap();
    let busy = env.auth.start_anonymous().unwrap();
    env.db.execute(Project::insert(busy.identity.tenant(), project("kept"))).unwrap();
    env.clock.advance(Duration::from_secs(31 * 24 * 3600));
    let swept = env.auth.sweep(&Admin::new("auth test sweeps")).unwrap();
    assert_eq!((swept.sessions, swept.anonymous_users), (2, 1));
    // The user with data is kept (nothing is lost), the empty one is gone.
    assert_eq!(env.count("users"), 1);
    let _ = idle;
}

#[test]
fn mail_debug_output_hides_the_link() {
    let env = env();
    env.auth.request_link("ada@example.com", "c", None).unwrap();
    let debug = format!("{:?}", env.mail.sent());
    assert!(!debug.contains(&env.last_link_token()) && debug.contains("ada@example.com"), "{debug}");
}
