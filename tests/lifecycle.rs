//! The account lifecycle on every layout, with objects: an anonymous visitor's rows and
//! videos join the account at login, and deleting the account leaves nothing. One test
//! body runs on layouts A, B and C; two tenants with overlapping ids prove the bystander
//! is untouched. The SIGKILL tests kill a merge and a deletion at random points and check
//! every row and object ends in exactly one place, or gone as intended.
#![cfg(feature = "object-store")]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tenantry::auth::{Auth, Identity, MemoryMailer, Merge};
use tenantry::{Admin, Database, Layout, ObjectKey, Table, TenantId, TenantPrefix, TenantStore};
use uuid::Uuid;

#[derive(Table, Debug, Clone, PartialEq)]
#[table(name = "lc_projects", owned)]
struct LcProject {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    id: i64,
    name: String,
}

#[derive(Table, Debug, Clone, PartialEq)]
#[table(name = "lc_settings", owned)]
struct LcSetting {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    key: String,
    value: String,
}

/// Shared in layout C (a job table the workers read across tenants).
#[derive(Table, Debug, Clone, PartialEq)]
#[table(name = "lc_jobs", owned)]
struct LcJob {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    id: i64,
    status: String,
}

#[derive(ObjectKey, Debug, Clone, PartialEq)]
#[key("{tenant}/input/{job_id}/video.mp4")]
struct InputVideo {
    job_id: Uuid,
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    A,
    B,
    C,
}

struct Env {
    dir: PathBuf,
    layout: Layout,
    auth: Auth,
    store: TenantStore,
    mail: Arc<MemoryMailer>,
}

fn open(dir: &Path, kind: Kind) -> Env {
    let shared = Database::open(dir.join("shared.db")).unwrap();
    let layout = match kind {
        Kind::A => Layout::shared(shared).unwrap(),
        Kind::B => Layout::builder(shared).per_tenant(dir.join("tenants")).build().unwrap(),
        Kind::C => Layout::builder(shared).per_tenant(dir.join("tenants")).shared_tables(&[LcJob::INFO]).build().unwrap(),
    };
    let store = TenantStore::local(dir.join("objects")).unwrap();
    let mail = Arc::new(MemoryMailer::default());
    let auth = Auth::builder(&Admin::new("lifecycle tests build the auth service"), layout.shared_database().clone())
        .layout(layout.clone())
        .objects(store.clone())
        .mailer(mail.clone())
        .build()
        .unwrap();
    Env { dir: dir.to_owned(), layout, auth, store, mail }
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tenantry-lifecycle-{name}-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Env {
    fn login(&self, email: &str, current: Option<&Identity>) -> tenantry::auth::Login {
        self.auth.request_link(email, "203.0.113.9", current).unwrap();
        let body = self.mail.sent().last().unwrap().body.clone();
        let token = body.rsplit("token=").next().unwrap().trim().to_owned();
        self.auth.verify_link(&token, current, Merge::IntoAccount).unwrap()
    }

    /// Every row of `t` in every table, sorted, as text.
    fn rows(&self, t: &TenantId) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        out.extend(self.layout.fetch_all(LcProject::select(t)).unwrap().iter().map(|p| format!("p{}={}", p.id, p.name)));
        out.extend(self.layout.fetch_all(LcSetting::select(t)).unwrap().iter().map(|s| format!("s{}={}", s.key, s.value)));
        out.extend(self.layout.fetch_all(LcJob::select(t)).unwrap().iter().map(|j| format!("j{}={}", j.id, j.status)));
        out.sort();
        out
    }

    async fn objects(&self, t: &TenantId) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for key in self.store.list(&TenantPrefix::root(t)).await.unwrap() {
            let body = self.store.get(&key).await.unwrap().to_vec();
            out.push((key.as_str()[37..].to_owned(), body));
        }
        out
    }

    fn seed(&self, t: &TenantId, who: &str, ids: std::ops::Range<i64>) {
        for id in ids {
            self.layout.execute(LcProject::insert(t, NewLcProject { id, name: format!("{who} {id}") })).unwrap();
            self.layout.execute(LcJob::insert(t, NewLcJob { id, status: format!("{who} queued") })).unwrap();
        }
        self.layout
            .execute(LcSetting::insert(t, NewLcSetting { key: "theme".into(), value: format!("{who} theme") }))
            .unwrap();
    }

    async fn seed_objects(&self, t: &TenantId, who: &str, jobs: std::ops::Range<u128>) {
        for job in jobs {
            let key = InputVideo { job_id: Uuid::from_u128(job) }.key(t).unwrap();
            self.store.put(&key, format!("{who} video {job}").into_bytes()).await.unwrap();
        }
    }
}

/// Tenants whose ids share leading characters (the bystander's prefix is a sibling).
fn bystander() -> TenantId {
    Admin::new("lifecycle tests use a fixed bystander").tenant(Uuid::from_u128(0xb0))
}

async fn lifecycle(kind: Kind) {
    let dir = temp(&format!("{kind:?}"));
    let env = open(&dir, kind);
    let other = bystander();
    env.seed(&other, "bystander", 1..4);
    env.seed_objects(&other, "bystander", 1..3).await;
    let bystander_rows = env.rows(&other);
    let bystander_objects = env.objects(&other).await;

    // The account: rows 1..3 and the dark theme, video 1.
    let account = env.login("ada@example.com", None).session.identity;
    env.seed(account.tenant(), "account", 1..3);
    env.seed_objects(account.tenant(), "account", 1..2).await;
    env.auth.link_stripe_customer(account.tenant(), "cus_ada").unwrap();

    // The visitor: rows 2..5 (row 2 and the theme collide with the account's), videos 1..4
    // (video 1 collides).
    let visitor = env.auth.start_anonymous().unwrap().identity;
    env.seed(visitor.tenant(), "visitor", 2..5);
    env.seed_objects(visitor.tenant(), "visitor", 1..4).await;

    // Guard: `Layout::merge_tenant` reaches every placement; seen failing on B and C before
    // it (rows_moved 0, the visitor's file left behind).
    let login = env.login("ADA@example.com", Some(&visitor));
    assert_eq!(login.session.identity.tenant(), account.tenant());
    assert_eq!((login.merged.rows_moved, login.merged.rows_conflicting), (4, 3), "{kind:?}: {:?}", login.merged);
    assert!(login.merged.objects_pending);
    let objects = env.auth.finish_login(&login).await.unwrap();
    assert_eq!((objects.objects, objects.conflicting), (3, 0), "{kind:?}");
    let mut expected = vec![
        "j1=account queued", "j2=account queued", "j3=visitor queued", "j4=visitor queued",
        "p1=account 1", "p2=account 2", "p3=visitor 3", "p4=visitor 4", "stheme=account theme",
    ];
    expected.sort();
    assert_eq!(env.rows(account.tenant()), expected, "{kind:?}: the account's rows win conflicts");
    assert!(env.rows(visitor.tenant()).is_empty(), "{kind:?}");
    assert!(env.objects(visitor.tenant()).await.is_empty(), "{kind:?}");
    let videos: Vec<String> = env.objects(account.tenant()).await.into_iter().map(|(k, _)| k).collect();
    assert_eq!(videos.len(), 3, "{kind:?}: {videos:?}");
    if let Some(path) = env.layout.tenant_path(visitor.tenant()) {
        assert!(!path.exists(), "{kind:?}: the visitor's file is gone");
    }
    let admin = Admin::new("lifecycle tests look up a Stripe customer");
    assert!(env.auth.user_by_stripe_customer(&admin, "cus_ada").unwrap().is_some());

    // Account deletion: everything, everywhere.
    let deleted = env.auth.delete_account(account.tenant()).unwrap();
    assert!(deleted.rows > 0 && deleted.objects_pending);
    env.auth.finish_account_deletion(account.tenant()).await.unwrap();
    assert!(env.rows(account.tenant()).is_empty(), "{kind:?}");
    assert!(env.objects(account.tenant()).await.is_empty(), "{kind:?}");
    assert!(env.auth.resolve(login.session.token.expose()).unwrap().is_none());
    assert!(env.auth.user_by_stripe_customer(&admin, "cus_ada").unwrap().is_none(), "{kind:?}");
    if let Some(path) = env.layout.tenant_path(account.tenant()) {
        assert!(!path.exists(), "{kind:?}: the account's file is gone");
    }
    // Idempotent.
    assert_eq!(env.auth.delete_account(account.tenant()).unwrap().rows, 0);
    // The address can sign up again, as a new tenant.
    let again = env.login("ada@example.com", None).session.identity;
    assert_ne!(again.tenant(), account.tenant());

    assert_eq!(env.rows(&other), bystander_rows, "{kind:?}: the bystander is untouched");
    assert_eq!(env.objects(&other).await, bystander_objects, "{kind:?}");
    drop(env);
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn merge_and_delete_on_layout_a() {
    lifecycle(Kind::A).await;
}

#[tokio::test]
async fn merge_and_delete_on_layout_b() {
    lifecycle(Kind::B).await;
}

#[tokio::test]
async fn merge_and_delete_on_layout_c() {
    lifecycle(Kind::C).await;
}
