//! The account lifecycle on every layout, with objects: an anonymous visitor's rows and
//! videos join the account at login, and deleting the account leaves nothing. One test
//! body runs on layouts A, B and C; two tenants with overlapping ids prove the bystander
//! is untouched. The SIGKILL tests kill a merge and a deletion at random points and check
//! every row and object ends in exactly one place, or gone as intended.
#![cfg(feature = "object-store")]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tenantry::auth::{AsyncAuth, Auth, Identity, MemoryMailer, Merge};
use tenantry::jobs::Jobs;
use tenantry::{
    Admin, Async, Execute, Fetch, Layout, ObjectKey, SqliteDatabase, Table, TenantId, TenantPrefix, TenantStore,
};
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
    layout: Layout,
    auth: Auth,
    store: TenantStore,
    mail: Arc<MemoryMailer>,
    /// The lifecycle body's statements and auth calls go through `Async<Layout>` and
    /// `AsyncAuth` instead of the blocking ones.
    via: Via,
    async_layout: Async<Layout>,
    async_auth: AsyncAuth,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Via {
    Blocking,
    Async,
}

fn open(dir: &Path, kind: Kind) -> Env {
    open_via(dir, kind, Via::Blocking)
}

fn open_via(dir: &Path, kind: Kind, via: Via) -> Env {
    let shared = SqliteDatabase::open(dir.join("shared.db")).unwrap();
    let layout = match kind {
        Kind::A => Layout::shared(shared).unwrap(),
        Kind::B => Layout::builder(shared).per_tenant(dir.join("tenants")).build().unwrap(),
        Kind::C => {
            Layout::builder(shared).per_tenant(dir.join("tenants")).shared_tables(&[LcJob::INFO]).build().unwrap()
        }
    };
    let store = TenantStore::local(dir.join("objects")).unwrap();
    let mail = Arc::new(MemoryMailer::default());
    let auth = Auth::builder(&Admin::new("lifecycle tests build the auth service"), layout.shared_database().clone())
        .layout(layout.clone())
        .objects(store.clone())
        .mailer(mail.clone())
        .build()
        .unwrap();
    let (async_layout, async_auth) = (Async::new(layout.clone()), AsyncAuth::new(auth.clone()));
    Env { layout, auth, store, mail, via, async_layout, async_auth }
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tenantry-lifecycle-{name}-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An auth call, blocking or awaited as `env.via` says; the same arguments either way.
macro_rules! auth {
    ($env:expr, $method:ident($($arg:expr),*)) => {
        match $env.via {
            Via::Blocking => $env.auth.$method($($arg),*),
            Via::Async => $env.async_auth.$method($($arg),*).await,
        }
    };
}

impl Env {
    async fn execute<S: Execute + Send + Sync + 'static>(&self, statement: S) -> usize {
        match self.via {
            Via::Blocking => self.layout.execute(statement),
            Via::Async => self.async_layout.execute(statement).await,
        }
        .unwrap()
    }

    async fn fetch_all<Q: Fetch + Send + Sync + 'static>(&self, query: Q) -> Vec<Q::Row>
    where
        Q::Row: Send + 'static,
    {
        match self.via {
            Via::Blocking => self.layout.fetch_all(query),
            Via::Async => self.async_layout.fetch_all(query).await,
        }
        .unwrap()
    }

    async fn login(&self, email: &str, current: Option<&Identity>) -> tenantry::auth::Login {
        auth!(self, request_link(email, "203.0.113.9", current)).unwrap();
        let body = self.mail.sent().last().unwrap().body.clone();
        let token = body.rsplit("token=").next().unwrap().trim().to_owned();
        auth!(self, verify_link(&token, current, Merge::IntoAccount)).unwrap()
    }

    /// Every row of `t` in every table, sorted, as text.
    async fn rows(&self, t: &TenantId) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        out.extend(self.fetch_all(LcProject::select(t)).await.iter().map(|p| format!("p{}={}", p.id, p.name)));
        out.extend(self.fetch_all(LcSetting::select(t)).await.iter().map(|s| format!("s{}={}", s.key, s.value)));
        out.extend(self.fetch_all(LcJob::select(t)).await.iter().map(|j| format!("j{}={}", j.id, j.status)));
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

    async fn seed(&self, t: &TenantId, who: &str, ids: std::ops::Range<i64>) {
        for id in ids {
            self.execute(LcProject::insert(t, NewLcProject { id, name: format!("{who} {id}") })).await;
            self.execute(LcJob::insert(t, NewLcJob { id, status: format!("{who} queued") })).await;
        }
        self.execute(LcSetting::insert(t, NewLcSetting { key: "theme".into(), value: format!("{who} theme") })).await;
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
    Admin::new("lifecycle tests use a fixed bystander").mint_tenant(Uuid::from_u128(0xb0))
}

async fn lifecycle(kind: Kind, via: Via) {
    let dir = temp(&format!("{kind:?}"));
    let env = open_via(&dir, kind, via);
    let other = bystander();
    env.seed(&other, "bystander", 1..4).await;
    env.seed_objects(&other, "bystander", 1..3).await;
    let bystander_rows = env.rows(&other).await;
    let bystander_objects = env.objects(&other).await;

    // The account: rows 1..3 and the dark theme, video 1.
    let account = env.login("ada@example.com", None).await.session.identity;
    env.seed(account.tenant(), "account", 1..3).await;
    env.seed_objects(account.tenant(), "account", 1..2).await;
    auth!(env, link_stripe_customer(account.tenant(), "cus_ada")).unwrap();

    // The visitor: rows 2..5 (row 2 and the theme collide with the account's), videos 1..4
    // (video 1 collides).
    let visitor = auth!(env, start_anonymous()).unwrap().identity;
    env.seed(visitor.tenant(), "visitor", 2..5).await;
    env.seed_objects(visitor.tenant(), "visitor", 1..4).await;
    let jobs = Jobs::new(&env.layout).unwrap();
    let render = jobs.enqueue(visitor.tenant(), "render", "video 3").unwrap();
    let bystanders_job = jobs.enqueue(&other, "render", "bystander").unwrap();

    // Guard: `Layout::merge_tenant` reaches every placement; seen failing on B and C before
    // it (rows_moved 0, the visitor's file left behind).
    let login = env.login("ADA@example.com", Some(&visitor)).await;
    assert_eq!(login.session.identity.tenant(), account.tenant());
    assert_eq!((login.merged.rows_moved, login.merged.rows_conflicting), (5, 3), "{kind:?}: {:?}", login.merged);
    // The queued job follows the data.
    assert!(jobs.status(account.tenant(), render).unwrap().is_some(), "{kind:?}: the job moved");
    assert!(jobs.status(visitor.tenant(), render).unwrap().is_none());
    assert!(login.merged.objects_pending);
    let objects = env.auth.finish_login(&login).await.unwrap();
    assert_eq!((objects.objects, objects.conflicting), (3, 0), "{kind:?}");
    let mut expected = vec![
        "j1=account queued",
        "j2=account queued",
        "j3=visitor queued",
        "j4=visitor queued",
        "p1=account 1",
        "p2=account 2",
        "p3=visitor 3",
        "p4=visitor 4",
        "stheme=account theme",
    ];
    expected.sort();
    assert_eq!(env.rows(account.tenant()).await, expected, "{kind:?}: the account's rows win conflicts");
    assert!(env.rows(visitor.tenant()).await.is_empty(), "{kind:?}");
    assert!(env.objects(visitor.tenant()).await.is_empty(), "{kind:?}");
    let videos: Vec<String> = env.objects(account.tenant()).await.into_iter().map(|(k, _)| k).collect();
    assert_eq!(videos.len(), 3, "{kind:?}: {videos:?}");
    if let Some(path) = env.layout.tenant_path(visitor.tenant()) {
        assert!(!path.exists(), "{kind:?}: the visitor's file is gone");
    }
    let admin = Admin::new("lifecycle tests look up a Stripe customer");
    assert!(auth!(env, user_by_stripe_customer(&admin, "cus_ada")).unwrap().is_some());

    // Account deletion: everything, everywhere.
    let deleted = auth!(env, delete_account(account.tenant())).unwrap();
    assert!(deleted.rows > 0 && deleted.objects_pending);
    env.auth.finish_account_deletion(account.tenant()).await.unwrap();
    assert!(env.rows(account.tenant()).await.is_empty(), "{kind:?}");
    assert!(env.objects(account.tenant()).await.is_empty(), "{kind:?}");
    assert!(jobs.list(account.tenant(), 10).unwrap().is_empty(), "{kind:?}: the jobs went too");
    assert!(jobs.status(&other, bystanders_job).unwrap().is_some());
    assert!(auth!(env, resolve(login.session.token.expose())).unwrap().is_none());
    assert!(auth!(env, user_by_stripe_customer(&admin, "cus_ada")).unwrap().is_none(), "{kind:?}");
    if let Some(path) = env.layout.tenant_path(account.tenant()) {
        assert!(!path.exists(), "{kind:?}: the account's file is gone");
    }
    // Idempotent.
    assert_eq!(auth!(env, delete_account(account.tenant())).unwrap().rows, 0);
    // The address can sign up again, as a new tenant.
    let again = env.login("ada@example.com", None).await.session.identity;
    assert_ne!(again.tenant(), account.tenant());

    assert_eq!(env.rows(&other).await, bystander_rows, "{kind:?}: the bystander is untouched");
    assert_eq!(env.objects(&other).await, bystander_objects, "{kind:?}");
    drop(env);
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn merge_and_delete_on_layout_a() {
    lifecycle(Kind::A, Via::Blocking).await;
}

#[tokio::test]
async fn merge_and_delete_on_layout_b() {
    lifecycle(Kind::B, Via::Blocking).await;
}

#[tokio::test]
async fn merge_and_delete_on_layout_c() {
    lifecycle(Kind::C, Via::Blocking).await;
}

/// The same body through `Async<Layout>` and `AsyncAuth`, on a runtime of one worker.
#[tokio::test]
async fn merge_and_delete_async_on_layouts_a_b_and_c() {
    for kind in [Kind::A, Kind::B, Kind::C] {
        lifecycle(kind, Via::Async).await;
    }
}

/// What the kill tests seed: the account owns rows 0..ROWS of every table and videos
/// 0..VIDEOS; the visitor rows ROWS/2..ROWS*3/2 (half collide) and videos VIDEOS/2..
const ROWS: i64 = 150;
const VIDEOS: u128 = 30;

fn kind_of(name: &str) -> Kind {
    match name {
        "A" => Kind::A,
        "B" => Kind::B,
        _ => Kind::C,
    }
}

/// The child half of the kill tests: runs one merge (a login) or one account deletion,
/// objects included, until it is killed or done.
#[tokio::test]
async fn lifecycle_child() {
    let (Ok(dir), Ok(kind), Ok(mode)) = (std::env::var("LC_DIR"), std::env::var("LC_KIND"), std::env::var("LC_MODE"))
    else {
        return;
    };
    let env = open(Path::new(&dir), kind_of(&kind));
    println!("STARTED");
    if mode == "merge" {
        let session = std::env::var("LC_SESSION").unwrap();
        let visitor = env.auth.resolve(&session).unwrap().unwrap();
        let link = std::env::var("LC_LINK").unwrap();
        let login = env.auth.verify_link(&link, Some(&visitor), Merge::IntoAccount).unwrap();
        env.auth.finish_login(&login).await.unwrap();
    } else {
        let account = Admin::new("kill test deletes the account")
            .mint_tenant(std::env::var("LC_ACCOUNT").unwrap().parse().unwrap());
        env.auth.delete_account(&account).unwrap();
        env.auth.finish_account_deletion(&account).await.unwrap();
    }
    println!("DONE");
}

/// Runs the child and SIGKILLs it `after` into its work (or lets it finish).
fn run_child(envs: &[(&str, String)], after: std::time::Duration) -> bool {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "lifecycle_child", "--nocapture", "--test-threads=1"]).stdout(std::process::Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0 && !line.contains("STARTED") {
        line.clear();
    }
    std::thread::sleep(after);
    let _ = child.kill(); // SIGKILL, wherever the work is
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut out, &mut rest);
    child.wait().unwrap();
    rest.contains("DONE")
}

async fn kill_merge(kind: Kind, runs: usize) {
    let mut seed = 0x2545_f491_u64 ^ u64::from(std::process::id());
    let mut finished = 0;
    for run in 0..runs {
        let dir = temp(&format!("kill-merge-{kind:?}"));
        let (account, visitor, session, link) = {
            let env = open(&dir, kind);
            let account = env.login("kim@example.com", None).await.session.identity;
            env.seed(account.tenant(), "account", 0..ROWS).await;
            env.seed_objects(account.tenant(), "account", 0..VIDEOS).await;
            let anon = env.auth.start_anonymous().unwrap();
            env.seed(anon.identity.tenant(), "visitor", ROWS / 2..ROWS * 3 / 2).await;
            env.seed_objects(anon.identity.tenant(), "visitor", VIDEOS / 2..VIDEOS * 3 / 2).await;
            env.auth.request_link("kim@example.com", "203.0.113.9", Some(&anon.identity)).unwrap();
            let body = env.mail.sent().last().unwrap().body.clone();
            let link = body.rsplit("token=").next().unwrap().trim().to_owned();
            (*account.tenant(), *anon.identity.tenant(), anon.token.expose().to_owned(), link)
        };
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let after = std::time::Duration::from_millis((seed >> 33) % 25);
        let envs = [
            ("LC_DIR", dir.display().to_string()),
            ("LC_KIND", format!("{kind:?}")),
            ("LC_MODE", "merge".to_owned()),
            ("LC_SESSION", session),
            ("LC_LINK", link),
        ];
        finished += usize::from(run_child(&envs, after));

        // A fresh process finishes whatever the kill interrupted; then every row and object
        // is in exactly one place: all merged into the account, or (killed before the
        // login committed) all where they were.
        let env = open(&dir, kind);
        env.auth.finish_leaving_objects(&Admin::new("kill test finishes interrupted merges")).await.unwrap();
        let (rows_account, rows_visitor) = (env.rows(&account).await, env.rows(&visitor).await);
        let (objects_account, objects_visitor) = (env.objects(&account).await, env.objects(&visitor).await);
        let merged = rows_visitor.is_empty();
        if merged {
            assert_eq!(rows_account.len(), 3 * ROWS as usize / 2 * 2 + 1, "{kind:?} run {run}: rows lost or doubled");
            assert_eq!(objects_account.len(), VIDEOS as usize * 3 / 2, "{kind:?} run {run}");
            assert!(objects_visitor.is_empty(), "{kind:?} run {run}: objects left behind");
            if let Some(path) = env.layout.tenant_path(&visitor) {
                assert!(!path.exists(), "{kind:?} run {run}: the visitor's file is left");
            }
        } else {
            assert_eq!(rows_account.len(), 2 * ROWS as usize + 1, "{kind:?} run {run}");
            assert_eq!(rows_visitor.len(), 2 * ROWS as usize + 1, "{kind:?} run {run}: half a merge");
            assert_eq!((objects_account.len(), objects_visitor.len()), (VIDEOS as usize, VIDEOS as usize));
        }
        // The account's own rows are always the account's (it wins every conflict).
        assert!(rows_account.iter().filter(|r| r.contains("account")).count() == 2 * ROWS as usize + 1);
        drop(env);
        std::fs::remove_dir_all(dir).ok();
    }
    eprintln!("{kind:?}: {finished} of {runs} merges finished before the kill");
}

async fn kill_delete(kind: Kind, runs: usize) {
    let mut seed = 0x9e37_79b9_u64 ^ u64::from(std::process::id());
    for run in 0..runs {
        let dir = temp(&format!("kill-delete-{kind:?}"));
        let (account, other) = {
            let env = open(&dir, kind);
            let account = env.login("del@example.com", None).await.session.identity;
            env.seed(account.tenant(), "account", 0..ROWS).await;
            env.seed_objects(account.tenant(), "account", 0..VIDEOS).await;
            env.auth.link_stripe_customer(account.tenant(), "cus_del").unwrap();
            let other = bystander();
            env.seed(&other, "bystander", 0..5).await;
            env.seed_objects(&other, "bystander", 0..3).await;
            (*account.tenant(), other)
        };
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let after = std::time::Duration::from_millis((seed >> 33) % 25);
        let envs = [
            ("LC_DIR", dir.display().to_string()),
            ("LC_KIND", format!("{kind:?}")),
            ("LC_MODE", "delete".to_owned()),
            ("LC_ACCOUNT", account.to_string()),
        ];
        run_child(&envs, after);

        // A rerun of the deletion (what the user's retry, or `finish_leaving`, does) leaves
        // nothing of the account, and the bystander whole.
        let env = open(&dir, kind);
        env.auth.delete_account(&account).unwrap();
        env.auth.finish_account_deletion(&account).await.unwrap();
        assert!(env.rows(&account).await.is_empty(), "{kind:?} run {run}");
        assert!(env.objects(&account).await.is_empty(), "{kind:?} run {run}");
        let admin = Admin::new("kill test looks up the Stripe customer");
        assert!(env.auth.user_by_stripe_customer(&admin, "cus_del").unwrap().is_none(), "{kind:?} run {run}");
        if let Some(path) = env.layout.tenant_path(&account) {
            assert!(!path.exists(), "{kind:?} run {run}: the file is left");
        }
        assert_eq!(env.rows(&other).await.len(), 11, "{kind:?} run {run}: the bystander lost rows");
        assert_eq!(env.objects(&other).await.len(), 3, "{kind:?} run {run}");
        // The address registers again, as a new user.
        assert_ne!(env.login("del@example.com", None).await.session.identity.tenant(), &account);
        drop(env);
        std::fs::remove_dir_all(dir).ok();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merge_killed_at_random_points_is_finished_with_every_row_and_object_in_one_place() {
    // Guards: the merge is recorded in the login's transaction (`tenantry_leaving`), rows
    // are copied before the source is deleted, objects are copied and checked before the
    // original is deleted, and `finish_leaving_objects` resumes all of it.
    for kind in [Kind::A, Kind::B, Kind::C] {
        kill_merge(kind, 12).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deletion_killed_at_random_points_is_finished_by_a_rerun() {
    // Guards: the deletion ends sessions and unlinks email and Stripe in its first
    // transaction and is recorded there; each later step is idempotent.
    for kind in [Kind::A, Kind::B, Kind::C] {
        kill_delete(kind, 8).await;
    }
}

#[tokio::test]
async fn deleting_an_account_with_a_merge_still_moving_leaves_nothing_in_it() {
    // Guard: `delete_account` turns unfinished merges into the account into deletions
    // (and deleting the anonymous side of a merge finishes the merge instead). Seen failing
    // without it (red-team review): the anonymous user's videos landed under the deleted
    // account's prefix when the login's object move ran after the deletion.
    let dir = temp("merge-then-delete");
    let env = open(&dir, Kind::B);
    let account = env.login("gone@example.com", None).await.session.identity;
    env.seed(account.tenant(), "account", 0..2).await;
    let visitor = env.auth.start_anonymous().unwrap().identity;
    env.seed(visitor.tenant(), "visitor", 5..8).await;
    env.seed_objects(visitor.tenant(), "visitor", 0..3).await;
    let login = env.login("gone@example.com", Some(&visitor)).await;
    assert!(login.merged.objects_pending, "the videos have not moved yet");

    env.auth.delete_account(account.tenant()).unwrap();
    env.auth.finish_account_deletion(account.tenant()).await.unwrap();
    // The login's object move runs late (a slow request, or `finish_leaving_objects` at
    // start-up): it must not bring anything back.
    env.auth.finish_login(&login).await.unwrap();
    env.auth.finish_leaving_objects(&Admin::new("lifecycle test finishes what is pending")).await.unwrap();
    assert!(env.rows(account.tenant()).await.is_empty());
    assert!(env.objects(account.tenant()).await.is_empty(), "videos landed in the deleted account");
    assert!(env.rows(visitor.tenant()).await.is_empty());
    assert!(env.objects(visitor.tenant()).await.is_empty());
    if let Some(path) = env.layout.tenant_path(account.tenant()) {
        assert!(!path.exists(), "the deleted account's file came back");
    }
    drop(env);
    std::fs::remove_dir_all(dir).ok();
}
