//! The migration runner on SQLite: a new database, an older one, an edited or unknown
//! migration, a failing one, two processes at once, and SIGKILL at many points.
//!
//! Guards: the records read again under the write lock (`Runner::run`, seen failing with
//! the re-read replaced by the first read: the two-process test recorded version 2 twice
//! and failed on the primary key), each migration in a transaction of its own with its
//! record (the SIGKILL test), and the checksum comparison in `Runner::next` (the edited
//! migration test, seen failing with it skipped).

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tenantry::auth::Auth;
use tenantry::{Admin, DriftKind, Error, Layout, Migrations, SqliteDatabase, Table, TenantId};
use uuid::Uuid;

#[derive(Table, Debug)]
#[table(name = "mg_projects", owned)]
struct Project {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    id: i64,
    name: String,
    /// Added after the first release, with migration 2.
    thumbnail: Option<String>,
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tenantry-migrations-{name}-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The first release's table, made by its own program (no records of migrations).
const FIRST_RELEASE: &str = "CREATE TABLE mg_projects (
    user_id TEXT NOT NULL, id INTEGER NOT NULL, name TEXT NOT NULL, PRIMARY KEY (user_id, id)
);
INSERT INTO mg_projects VALUES ('00000000-0000-0000-0000-000000000001', 1, 'kept');";

fn first_release(dir: &Path) -> PathBuf {
    let path = dir.join("app.db");
    rusqlite::Connection::open(&path).unwrap().execute_batch(FIRST_RELEASE).unwrap();
    path
}

fn admin() -> Admin {
    Admin::new("test registers migrations")
}

fn thumbnail(admin: &Admin) -> Migrations {
    Migrations::new(admin).upgrade(2, "project thumbnails", "ALTER TABLE mg_projects ADD COLUMN thumbnail TEXT")
}

/// What the database recorded, as (scope, version, name).
fn records(path: &Path) -> Vec<(String, u32, String)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt =
        conn.prepare("SELECT scope, version, name FROM tenantry_schema_migrations ORDER BY scope, version").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().collect::<Result<_, _>>().unwrap()
}

#[test]
fn a_new_database_gets_the_declared_tables_and_records_every_migration() {
    let dir = temp("new");
    let admin = admin();
    let db = SqliteDatabase::open(dir.join("app.db")).unwrap();
    let report = db.migrate(&thumbnail(&admin)).unwrap();
    assert!(report.created);
    assert!(report.applied.is_empty(), "the declarations already have the column: {report:?}");
    let t = TenantId::generate();
    db.execute(Project::insert(&t, NewProject { id: 1, name: "a".into(), thumbnail: Some("t.png".into()) })).unwrap();
    assert_eq!(
        records(&dir.join("app.db")),
        [("app".to_owned(), 1, "declared tables".to_owned()), ("app".to_owned(), 2, "project thumbnails".to_owned())]
    );
    assert_eq!(db.migrate(&thumbnail(&admin)).unwrap(), Default::default());
    assert_eq!(db.pending_migrations(&thumbnail(&admin)).unwrap(), Default::default());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn an_older_database_is_refused_until_migrated_then_opens_without_drift() {
    let dir = temp("older");
    let path = first_release(&dir);
    // The service: a field added, no migration: refused at open, by name.
    let Err(Error::SchemaDrift { drift }) = SqliteDatabase::open(&path) else { panic!("opened a drifted database") };
    assert!(drift.iter().any(|d| d.kind == DriftKind::MissingColumn { column: "thumbnail" }), "{drift:?}");

    let admin = admin();
    let migrations = thumbnail(&admin);
    // A dry run says what would run, and writes nothing.
    let dry = SqliteDatabase::builder(&path).on_drift(tenantry::OnDrift::Warn).open().unwrap();
    let pending = dry.pending_migrations(&migrations).unwrap();
    assert!(!pending.created);
    assert_eq!(pending.applied.iter().map(|s| (s.version, s.name)).collect::<Vec<_>>(), [(2, "project thumbnails")]);
    drop(dry);
    assert!(rusqlite::Connection::open(&path).unwrap().prepare("SELECT thumbnail FROM mg_projects").is_err());

    let db = SqliteDatabase::builder(&path).migrations(&migrations).open().unwrap();
    assert!(db.schema_drift().unwrap().is_empty());
    let kept = db.fetch_all(Project::select(&admin.mint_tenant(Uuid::from_u128(1)))).unwrap();
    assert_eq!((kept[0].name.as_str(), kept[0].thumbnail.as_deref()), ("kept", None));
    assert_eq!(records(&path).iter().map(|r| r.1).collect::<Vec<_>>(), [1, 2]);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn an_edited_migration_is_refused_and_nothing_runs() {
    let dir = temp("edited");
    let path = first_release(&dir);
    let admin = admin();
    SqliteDatabase::builder(&path).migrations(&thumbnail(&admin)).open().unwrap();
    let edited = Migrations::new(&admin)
        .upgrade(2, "project thumbnails", "ALTER TABLE mg_projects ADD COLUMN thumbnail TEXT DEFAULT 'none'")
        .add(3, "later", "CREATE TABLE mg_later (x INTEGER)");
    let db = SqliteDatabase::open(&path).unwrap();
    for result in [db.migrate(&edited).map(drop), db.pending_migrations(&edited).map(drop)] {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::MigrationEdited { scope: "app", version: 2, .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "migration 2 (project thumbnails) of `app` was edited after it was applied: add a new migration instead"
        );
    }
    assert_eq!(records(&path).len(), 2, "migration 3 did not run");
    // Opening with the edited set refuses too.
    assert!(matches!(
        SqliteDatabase::builder(&path).migrations(&edited).open(),
        Err(Error::MigrationEdited { version: 2, .. })
    ));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_database_a_newer_build_migrated_is_refused() {
    let dir = temp("newer");
    let path = first_release(&dir);
    let admin = admin();
    let newer = thumbnail(&admin).add(3, "later", "CREATE TABLE mg_later (x INTEGER)");
    SqliteDatabase::builder(&path).migrations(&newer).open().unwrap();
    let err = SqliteDatabase::open(&path).unwrap().migrate(&thumbnail(&admin)).unwrap_err();
    assert!(matches!(err, Error::SchemaNewer { scope: "app", version: 3 }), "{err:?}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_failing_migration_rolls_back_and_keeps_the_ones_before() {
    let dir = temp("failing");
    let path = first_release(&dir);
    let admin = admin();
    let failing =
        thumbnail(&admin).add(3, "half", "CREATE TABLE mg_half (x INTEGER); INSERT INTO mg_nowhere VALUES (1)");
    let db = SqliteDatabase::builder(&path).on_drift(tenantry::OnDrift::Warn).open().unwrap();
    let err = db.migrate(&failing).unwrap_err();
    assert!(matches!(&err, Error::MigrationFailed { version: 3, name: "half", .. }), "{err:?}");
    assert!(std::error::Error::source(&err).is_some(), "the engine's error is kept as the source");
    assert_eq!(records(&path).iter().map(|r| r.1).collect::<Vec<_>>(), [1, 2], "migration 2 kept");
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert!(conn.prepare("SELECT x FROM mg_half").is_err(), "nothing of migration 3 kept");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_migration_that_takes_the_tenant_out_of_a_key_rolls_back() {
    // Guard: `verify_live` after each migration.
    let dir = temp("tenant-key");
    let path = first_release(&dir);
    let admin = admin();
    let rebuild = thumbnail(&admin).add(
        3,
        "rebuild",
        "CREATE TABLE mg_new (user_id TEXT NOT NULL, id INTEGER PRIMARY KEY, name TEXT NOT NULL, thumbnail TEXT);
         INSERT INTO mg_new SELECT user_id, id, name, thumbnail FROM mg_projects;
         DROP TABLE mg_projects; ALTER TABLE mg_new RENAME TO mg_projects;",
    );
    let err = SqliteDatabase::builder(&path).migrations(&rebuild).open().unwrap_err();
    assert!(matches!(&err, Error::MigrationFailed { version: 3, .. }), "{err:?}");
    assert_eq!(records(&path).iter().map(|r| r.1).collect::<Vec<_>>(), [1, 2]);
    SqliteDatabase::builder(&path).migrations(&thumbnail(&admin)).open().unwrap();
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn versions_below_two_or_given_twice_are_refused() {
    let admin = admin();
    let db = SqliteDatabase::open_in_memory().unwrap();
    for bad in [
        Migrations::new(&admin).add(1, "one", "SELECT 1"),
        Migrations::new(&admin).add(2, "two", "SELECT 1").add(2, "again", "SELECT 2"),
    ] {
        assert!(matches!(db.migrate(&bad), Err(Error::InvalidMigrations)));
    }
}

#[test]
fn each_run_of_a_migration_reaches_the_audit_hook() {
    use std::sync::Mutex;
    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
    tenantry::set_audit_hook(|event| {
        if let tenantry::AuditAction::Unscoped { sql } = event.action
            && sql.contains("mg_projects ADD COLUMN thumbnail")
        {
            SEEN.lock().unwrap().push(event.reason.to_owned());
        }
    });
    let dir = temp("audit");
    let path = first_release(&dir);
    SqliteDatabase::builder(&path).migrations(&thumbnail(&Admin::new("release 2 migrations"))).open().unwrap();
    assert!(SEEN.lock().unwrap().iter().any(|r| r == "release 2 migrations"));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_account_tables_adopt_an_older_builds_records() {
    let dir = temp("auth");
    let admin = admin();
    // A fresh database: the four account migrations run, then none.
    let fresh = SqliteDatabase::open(dir.join("fresh.db")).unwrap();
    assert_eq!(Auth::migrate(&admin, &fresh).unwrap(), 4);
    assert_eq!(Auth::migrate(&admin, &fresh).unwrap(), 0);
    // An older build's database: its own records table says 1..3 are applied.
    let old = dir.join("old.db");
    let fresh_conn = rusqlite::Connection::open(dir.join("fresh.db")).unwrap();
    let conn = rusqlite::Connection::open(&old).unwrap();
    let schema: Vec<String> = fresh_conn
        .prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'tenantry_schema%' AND name NOT LIKE 'mg_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for sql in schema {
        conn.execute_batch(&sql).unwrap();
    }
    conn.execute_batch(
        "CREATE TABLE tenantry_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT (datetime('now')));
         INSERT INTO tenantry_migrations (version) VALUES (1), (2), (3);",
    )
    .unwrap();
    drop(conn);
    // 1..3 are adopted, not run again; 4, newer than that build, runs.
    assert_eq!(Auth::migrate(&admin, &SqliteDatabase::open(&old).unwrap()).unwrap(), 1, "nothing applied twice");
    assert_eq!(records(&old).iter().filter(|r| r.0 == "tenantry.auth").map(|r| r.1).collect::<Vec<_>>(), [1, 2, 3, 4]);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_tenant_file_of_an_older_build_adopts_its_version_and_gets_the_rest() {
    let dir = temp("tenant-file");
    let admin = admin();
    let v2 = Migrations::new(&admin).add(2, "name index", "CREATE INDEX mg_by_name ON mg_projects (user_id, name)");
    let layout = |m: &Migrations| {
        Layout::builder(SqliteDatabase::open(dir.join("shared.db")).unwrap())
            .per_tenant(dir.join("tenants"))
            .migrations(m)
            .build()
            .unwrap()
    };
    let t = TenantId::generate();
    layout(&v2).execute(Project::insert(&t, NewProject { id: 1, name: "a".into(), thumbnail: None })).unwrap();
    let file = dir.join("tenants").join(format!("{}.sqlite3", t.as_uuid()));
    // What an older build left: the version in `user_version` only.
    rusqlite::Connection::open(&file).unwrap().execute_batch("DROP TABLE tenantry_schema_migrations").unwrap();
    let v3 = v2.clone().add(3, "later", "CREATE TABLE mg_later (x INTEGER); INSERT INTO mg_later VALUES (3)");
    assert_eq!(layout(&v3).fetch_all(Project::select(&t)).unwrap().len(), 1);
    let conn = rusqlite::Connection::open(&file).unwrap();
    let versions: Vec<u32> = conn
        .prepare("SELECT version FROM tenantry_schema_migrations WHERE scope = 'tenant' ORDER BY version")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(versions, [1, 2, 3], "2 adopted (its index exists once), 3 applied");
    assert_eq!(conn.query_row("SELECT COUNT(*) FROM mg_later", [], |r| r.get::<_, i64>(0)).unwrap(), 1);
    assert_eq!(conn.query_row("PRAGMA user_version", [], |r| r.get::<_, u32>(0)).unwrap(), 3);
    std::fs::remove_dir_all(dir).ok();
}

// ---- other processes ----

/// Five slow migrations, each logging its version once into `mg_log` when it runs.
fn slow() -> Migrations {
    let admin = Admin::new("child process migrates");
    let mut m = thumbnail(&admin);
    for (v, sql) in [
        (3, "CREATE TABLE mg_log (version INTEGER); INSERT INTO mg_log VALUES (3);"),
        (
            4,
            "INSERT INTO mg_log VALUES (4); CREATE TABLE mg_big4 AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT x FROM c;",
        ),
        (
            5,
            "INSERT INTO mg_log VALUES (5); CREATE TABLE mg_big5 AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT x FROM c;",
        ),
        (
            6,
            "INSERT INTO mg_log VALUES (6); CREATE TABLE mg_big6 AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT x FROM c;",
        ),
        (7, "INSERT INTO mg_log VALUES (7); CREATE INDEX mg_big6_x ON mg_big6 (x);"),
    ] {
        m = m.add(v, "slow", sql);
    }
    m
}

/// The child half of the tests below: migrates the database named in the environment.
#[test]
fn migrate_child() {
    let Ok(path) = std::env::var("TENANTRY_MIGRATE_CHILD") else { return };
    println!("STARTED");
    let db = SqliteDatabase::builder(&path).on_drift(tenantry::OnDrift::Warn).open().unwrap();
    let report = db.migrate(&slow()).unwrap();
    println!("APPLIED {:?}", report.applied.iter().map(|s| s.version).collect::<Vec<_>>());
}

fn spawn_child(path: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "migrate_child", "--nocapture", "--test-threads=1"])
        .env("TENANTRY_MIGRATE_CHILD", path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Each version logged once, all of them, and the records say the same.
fn assert_applied_once(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let log: Vec<u32> = conn
        .prepare("SELECT version FROM mg_log ORDER BY version")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(log, [3, 4, 5, 6, 7], "every migration ran exactly once");
    assert_eq!(records(path).iter().map(|r| r.1).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6, 7]);
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM mg_big6", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 300_000);
}

#[test]
fn two_processes_migrating_at_once_apply_each_migration_once() {
    let dir = temp("two");
    let path = first_release(&dir);
    let children = [spawn_child(&path), spawn_child(&path)];
    let mut applied = Vec::new();
    for mut child in children {
        let mut out = String::new();
        std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut out).unwrap();
        assert!(child.wait().unwrap().success(), "a child failed: {out}");
        applied.extend(out.lines().filter_map(|l| l.strip_prefix("APPLIED ")).map(str::to_owned));
    }
    assert_eq!(applied.len(), 2, "both finished");
    assert_applied_once(&path);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_migration_killed_at_any_point_is_finished_by_a_rerun() {
    let dir = temp("kill");
    let mut mid_way = 0;
    for (i, delay_ms) in [0u64, 5, 20, 40, 70, 110, 160, 230, 320, 450].into_iter().enumerate() {
        let sub = dir.join(i.to_string());
        std::fs::create_dir_all(&sub).unwrap();
        let path = first_release(&sub);
        let mut child = spawn_child(&path);
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while out.read_line(&mut line).unwrap() > 0 && !line.contains("STARTED") {
            line.clear();
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Killed with some migrations recorded and some not.
        if (1..7).contains(&records_if_any(&path)) {
            mid_way += 1;
        }
        let db = SqliteDatabase::builder(&path).migrations(&slow()).open().unwrap();
        assert!(db.schema_drift().unwrap().is_empty());
        drop(db);
        assert_applied_once(&path);
    }
    assert!(mid_way >= 2, "the kills should land mid-way through the migrations ({mid_way} did)");
    std::fs::remove_dir_all(dir).ok();
}

fn records_if_any(path: &Path) -> usize {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("SELECT COUNT(*) FROM tenantry_schema_migrations", [], |r| r.get::<_, i64>(0))
        .map_or(0, |n| n as usize)
}

#[test]
fn a_tenant_file_that_differs_from_the_declarations_is_refused_by_name() {
    // Guard: the drift check on opening a tenant's file (`TenantDatabases::get`); seen
    // failing with it removed (the statement ran, then failed on the missing column).
    let dir = temp("tenant-drift");
    let layout = || {
        Layout::builder(SqliteDatabase::open(dir.join("shared.db")).unwrap())
            .per_tenant(dir.join("tenants"))
            .build()
            .unwrap()
    };
    let t = TenantId::generate();
    layout().execute(Project::insert(&t, NewProject { id: 1, name: "a".into(), thumbnail: None })).unwrap();
    let file = dir.join("tenants").join(format!("{}.sqlite3", t.as_uuid()));
    rusqlite::Connection::open(&file).unwrap().execute_batch("ALTER TABLE mg_projects DROP COLUMN thumbnail").unwrap();
    let Err(Error::SchemaDrift { drift }) = layout().fetch_all(Project::select(&t)) else {
        panic!("served a drifted file")
    };
    assert_eq!(
        drift.iter().map(|d| d.kind.clone()).collect::<Vec<_>>(),
        [DriftKind::MissingColumn { column: "thumbnail" }]
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn on_a_new_database_declared_migrations_are_recorded_and_the_others_run() {
    let dir = temp("kinds");
    let admin = admin();
    let m = thumbnail(&admin).add(3, "undeclared log", "CREATE TABLE mg_events (at TEXT NOT NULL)");
    let db = SqliteDatabase::builder(dir.join("app.db")).migrations(&m).open().unwrap();
    assert_eq!(records(&dir.join("app.db")).iter().map(|r| r.1).collect::<Vec<_>>(), [1, 2, 3]);
    // 2 did not run (the declared table has the column already, ADD COLUMN would fail); 3 did.
    let conn = rusqlite::Connection::open(dir.join("app.db")).unwrap();
    conn.execute_batch("INSERT INTO mg_events VALUES ('now')").unwrap();
    assert!(db.schema_drift().unwrap().is_empty());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_migration_registered_below_an_applied_one_is_refused() {
    let dir = temp("order");
    let path = first_release(&dir);
    let admin = admin();
    let later = thumbnail(&admin).add(4, "four", "CREATE TABLE mg_four (x INTEGER)");
    SqliteDatabase::builder(&path).migrations(&later).open().unwrap();
    let inserted = later.clone().add(3, "three", "CREATE TABLE mg_three (x INTEGER)");
    let err = SqliteDatabase::open(&path).unwrap().migrate(&inserted).unwrap_err();
    assert!(matches!(err, Error::MigrationOutOfOrder { version: 3, latest: 4, .. }), "{err:?}");
    assert_eq!(err.to_string(), "migration 3 of `app` is not applied but 4 is: give it a version after 4");
    std::fs::remove_dir_all(dir).ok();
}

#[derive(Table, Debug)]
#[table(name = "mg_clips", owned)]
struct Clip {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    id: i64,
    /// Added with migration 2, with its index.
    #[index]
    pinned: Option<i64>,
}

#[test]
fn an_older_database_gets_a_declared_index_on_a_new_column_from_its_migration() {
    // The declared index's column does not exist until migration 2 runs: nothing may
    // create the index before it (the database would never open).
    let dir = temp("index");
    let path = first_release(&dir);
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE mg_clips (user_id TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (user_id, id))")
        .unwrap();
    let admin = admin();
    let m = thumbnail(&admin).upgrade(
        3,
        "pinned clips",
        "ALTER TABLE mg_clips ADD COLUMN pinned INTEGER; CREATE INDEX mg_clips_pinned ON mg_clips (user_id, pinned)",
    );
    let db = SqliteDatabase::builder(&path).migrations(&m).open().unwrap();
    assert!(db.schema_drift().unwrap().is_empty(), "{:?}", db.schema_drift());
    let t = TenantId::generate();
    db.execute(Clip::insert(&t, NewClip { id: 1, pinned: Some(1) })).unwrap();
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn tenantrys_own_tables_are_versioned_by_the_same_runner() {
    let dir = temp("library");
    let path = dir.join("app.db");
    let layout = Layout::shared(SqliteDatabase::open(&path).unwrap()).unwrap();
    tenantry::jobs::Jobs::new(&layout).unwrap();
    Auth::migrate(&admin(), layout.shared_database()).unwrap();
    let library: Vec<(String, u32)> =
        records(&path).into_iter().filter(|r| r.0.starts_with("tenantry.")).map(|r| (r.0, r.1)).collect();
    let expected = [
        ("tenantry.auth", 1),
        ("tenantry.auth", 2),
        ("tenantry.auth", 3),
        ("tenantry.auth", 4),
        ("tenantry.jobs", 1),
        ("tenantry.layout", 1),
    ];
    assert_eq!(library, expected.map(|(s, v)| (s.to_owned(), v)));
    // Opened again by a later build: nothing runs twice.
    drop(layout);
    let again = Layout::shared(SqliteDatabase::open(&path).unwrap()).unwrap();
    tenantry::jobs::Jobs::new(&again).unwrap();
    assert_eq!(records(&path).iter().filter(|r| r.0.starts_with("tenantry.")).count(), expected.len());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn an_add_registered_before_an_upgrade_runs_on_a_new_database_and_it_reopens() {
    // A new database records the upgrade (3) without running it, ahead of the add (2),
    // which then runs: not "out of order".
    let dir = temp("add-then-upgrade");
    let admin = admin();
    let m = Migrations::new(&admin).add(2, "events", "CREATE TABLE mg_events (at TEXT NOT NULL)").upgrade(
        3,
        "project thumbnails",
        "ALTER TABLE mg_projects ADD COLUMN thumbnail TEXT",
    );
    for _ in 0..2 {
        SqliteDatabase::builder(dir.join("app.db")).migrations(&m).open().unwrap();
    }
    assert_eq!(records(&dir.join("app.db")).iter().map(|r| r.1).collect::<Vec<_>>(), [1, 2, 3]);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_migration_that_leaves_a_temporary_table_or_an_orphan_rolls_back() {
    // Guard: `check_after_step`.
    let dir = temp("leftovers");
    let path = first_release(&dir);
    let admin = admin();
    let temp_table = thumbnail(&admin).add(3, "shadow", "CREATE TEMP TABLE mg_projects (x INTEGER)");
    let err = SqliteDatabase::builder(&path).migrations(&temp_table).open().unwrap_err();
    assert!(matches!(&err, Error::MigrationFailed { version: 3, .. }), "{err:?}");
    // A parent rebuilt without a row its child points at.
    let orphan = thumbnail(&admin)
        .add(
            3,
            "parent and child",
            "CREATE TABLE mg_parent (id INTEGER PRIMARY KEY); INSERT INTO mg_parent VALUES (1);
             CREATE TABLE mg_child (parent INTEGER REFERENCES mg_parent (id)); INSERT INTO mg_child VALUES (1);",
        )
        .add(4, "rebuild parent", "DROP TABLE mg_parent; CREATE TABLE mg_parent (id INTEGER PRIMARY KEY);");
    let err = SqliteDatabase::builder(&path).migrations(&orphan).open().unwrap_err();
    assert!(matches!(&err, Error::MigrationFailed { version: 4, .. }), "{err:?}");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let parents: i64 = conn.query_row("SELECT COUNT(*) FROM mg_parent", [], |r| r.get(0)).unwrap();
    assert_eq!(parents, 1, "migration 4 rolled back whole");
    std::fs::remove_dir_all(dir).ok();
}
