//! The doors of issue 9: each finding, as the program that got through before the fix.
//! Every test names the guard it checks; each was run against the code before the fix,
//! where it failed (the attack succeeded), and against the guard removed.
//!
//! Findings that need a hostile declaration in the table registry live in their own test
//! binaries (`tests/doors_registry_*.rs`), because every database open checks the whole
//! registry; findings the compiler refuses are in `tests/ui/doors_fail`.

mod common;

use std::sync::Mutex;

use common::{NewProject, Project};
use tenantry::auth::{Auth, MemoryMailer, Merge, VerifiedEmail};
use tenantry::{Admin, Error, Layout, Migrations, ObjectKey, SqliteDatabase, Table, TenantId, TenantPrefix};
use uuid::Uuid;

/// Audit events seen by this binary, as (reason, action) text.
static EVENTS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

fn record_audit() {
    tenantry::set_audit_hook(|e| {
        let action = format!("{:?}", e.action);
        EVENTS.lock().unwrap().push((e.reason.to_owned(), action));
    });
}

fn events_for(reason: &str) -> Vec<String> {
    EVENTS.lock().unwrap().iter().filter(|(r, _)| r == reason).map(|(_, a)| a.clone()).collect()
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tenantry-doors-{tag}-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn project(n: u128, name: &str) -> NewProject {
    NewProject { id: Uuid::from_u128(n), name: name.into(), created_at: "2026-11-30".into() }
}

/// Finding 1: a verified identity is a proof only an audited path makes, and using it logs
/// in to exactly that address. (The bare-string login no longer compiles:
/// `tests/ui/doors_fail`.) Guard: `VerifiedEmail::new` takes an `Admin` and fires
/// `AuditAction::VerifiedEmail`; seen failing with the audit call removed.
#[test]
fn a_verified_email_is_an_audited_proof() {
    record_audit();
    let admin = Admin::new("doors test: oauth provider verified the address");
    let auth = Auth::builder(&admin, SqliteDatabase::open_in_memory().unwrap())
        .mailer(std::sync::Arc::new(MemoryMailer::default()))
        .build()
        .unwrap();
    let proof = VerifiedEmail::new(&admin, "Victim@Example.com").unwrap();
    let login = auth.login_verified(proof, None, Merge::KeepSeparate).unwrap();
    assert_eq!(login.session.identity.user.email.as_deref(), Some("victim@example.com"));
    let seen = events_for("doors test: oauth provider verified the address");
    assert!(seen.iter().any(|a| a.contains("Operation") && a.contains("auth service")), "{seen:?}");
    assert!(seen.iter().any(|a| a.contains("VerifiedEmail") && a.contains("victim@example.com")), "{seen:?}");
    // Not an address: a typed error, nothing vouched for.
    assert!(matches!(VerifiedEmail::new(&admin, "not an address"), Err(Error::InvalidEmail)));
}

/// Finding 2: building an auth service (which can sign in to any account and reads every
/// link) is a cross-tenant capability: audited once per service. Guard: `Auth::builder`
/// takes an `Admin` (compile-time, `tests/ui/doors_fail`) and fires `Operation`.
#[test]
fn building_a_second_auth_service_is_audited() {
    record_audit();
    let db = SqliteDatabase::open_in_memory().unwrap();
    let first = Admin::new("doors test: the application's auth service");
    let second = Admin::new("doors test: a second auth service over the same database");
    let _a = Auth::builder(&first, db.clone()).build().unwrap();
    let _b = Auth::builder(&second, db).build().unwrap();
    for reason in
        ["doors test: the application's auth service", "doors test: a second auth service over the same database"]
    {
        let seen = events_for(reason);
        assert!(seen.iter().any(|a| a.contains("build the auth service")), "{reason}: {seen:?}");
    }
}

/// Finding 4: a migration on one's own tenant file ATTACHes the victim's file and copies
/// its rows in. Guard: the SQLite authorizer every connection gets (`SqliteDatabaseBuilder`'s
/// `connect`) denies ATTACH; seen failing with the authorizer removed (the attacker's
/// file then held the victim's 3 rows).
#[test]
fn a_migration_cannot_attach_another_tenants_file() {
    record_audit();
    let dir = temp_dir("attach");
    let admin = Admin::new("doors test: two tenants in their own files");
    let (victim, attacker) = (admin.mint_tenant(Uuid::from_u128(0xb0b)), admin.mint_tenant(Uuid::from_u128(0xa77)));
    {
        let layout = Layout::builder(SqliteDatabase::open(dir.join("shared.db")).unwrap())
            .per_tenant(dir.join("tenants"))
            .build()
            .unwrap();
        layout.execute(Project::insert_many(&victim, (1..=3).map(|n| project(n, "secret")))).unwrap();
        layout.execute(Project::insert(&attacker, project(1, "mine"))).unwrap();
    }
    let victim_file = dir.join("tenants").join(format!("{victim}.sqlite3"));
    assert!(victim_file.exists());
    // The attacker's migration, as it was written in the report. (`&'static str` from a
    // leaked String: what a migration list built at run time would do.)
    let sql: &'static str = String::leak(format!(
        "COMMIT; ATTACH DATABASE '{}' AS victim; INSERT INTO projects SELECT * FROM victim.projects; BEGIN;",
        victim_file.display()
    ));
    let migrating = Admin::new("doors test: a hostile migration");
    let layout = Layout::builder(SqliteDatabase::open(dir.join("shared.db")).unwrap())
        .per_tenant(dir.join("tenants"))
        .migrations(&Migrations::new(&migrating).add(2, "hostile", sql))
        .build()
        .unwrap();
    let err = layout.fetch_all(Project::select(&attacker)).unwrap_err();
    assert!(
        matches!(&err, Error::MigrationFailed { source, .. } if matches!(&**source,
            Error::Sqlite(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::AuthorizationForStatementDenied))),
        "{err:?}"
    );
    // The migration was seen by the audit hook, with its SQL.
    assert!(events_for("doors test: a hostile migration").iter().any(|a| a.contains("ATTACH DATABASE")));
    // Nothing moved: the attacker's file has its one row and is still at version 1; the
    // victim's file is untouched.
    let attacker_file = rusqlite::Connection::open(dir.join("tenants").join(format!("{attacker}.sqlite3"))).unwrap();
    let rows: i64 = attacker_file.query_row("SELECT COUNT(*) FROM projects", [], |r| r.get(0)).unwrap();
    let version: i64 = attacker_file.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!((rows, version), (1, 1));
    let victim_db = rusqlite::Connection::open(&victim_file).unwrap();
    let names: Vec<String> = victim_db
        .prepare("SELECT name FROM projects ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(names, ["secret", "secret", "secret"]);
    std::fs::remove_dir_all(dir).ok();
}

/// Finding 4, the other way in: raw SQL through an `Admin` cannot ATTACH either, nor
/// DETACH, nor `VACUUM INTO` another file. Guard: the same authorizer.
#[test]
fn raw_sql_cannot_attach_or_detach() {
    let dir = temp_dir("attach-raw");
    let db = SqliteDatabase::open(dir.join("app.db")).unwrap();
    let admin = Admin::new("doors test: raw attach");
    let attach: &'static str = String::leak(format!("ATTACH DATABASE '{}' AS other", dir.join("other.db").display()));
    // `VACUUM INTO` writes a copy of the database to a new file (it could plant a file
    // for a tenant who has none yet); SQLite reports it to the authorizer as an ATTACH.
    let vacuum: &'static str = String::leak(format!("VACUUM INTO '{}'", dir.join("other.db").display()));
    for sql in [attach, "DETACH DATABASE other", "ATTACH ':memory:' AS m", vacuum] {
        let err = db.execute(admin.raw_sql(sql)).unwrap_err();
        assert!(
            matches!(&err, Error::Sqlite(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::AuthorizationForStatementDenied)),
            "{sql}: {err:?}"
        );
    }
    assert!(!dir.join("other.db").exists(), "no file was created");
    std::fs::remove_dir_all(dir).ok();
}

/// A migration that rebuilds a per-tenant table so that its key no longer leads with the
/// tenant column is rolled back, and the tenant is not served. Guard: `verify_table` at
/// the end of `Schema::migrate`; seen failing with that loop removed (the rebuilt table
/// was served).
#[test]
fn a_migration_that_drops_the_tenant_from_the_key_rolls_back() {
    let dir = temp_dir("rekey");
    let admin = Admin::new("doors test: tenant in its own file");
    let t = admin.mint_tenant(Uuid::from_u128(7));
    {
        let layout = Layout::builder(SqliteDatabase::open(dir.join("shared.db")).unwrap())
            .per_tenant(dir.join("tenants"))
            .build()
            .unwrap();
        layout.execute(Project::insert(&t, project(1, "kept"))).unwrap();
    }
    let rekey = "CREATE TABLE projects_new (user_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (id));
                 INSERT INTO projects_new SELECT * FROM projects; DROP TABLE projects; ALTER TABLE projects_new RENAME TO projects;";
    let layout = Layout::builder(SqliteDatabase::open(dir.join("shared.db")).unwrap())
        .per_tenant(dir.join("tenants"))
        .migrations(
            &Migrations::new(&Admin::new("doors test: a migration that re-keys projects")).add(2, "rekey", rekey),
        )
        .build()
        .unwrap();
    let err = layout.fetch_all(Project::select(&t)).unwrap_err();
    assert!(
        matches!(&err, Error::MigrationFailed { source, .. } if matches!(**source, Error::SchemaMismatch { table: "projects", .. })),
        "{err:?}"
    );
    let file = rusqlite::Connection::open(dir.join("tenants").join(format!("{t}.sqlite3"))).unwrap();
    let version: i64 = file.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    let pk_cols: i64 =
        file.query_row("SELECT COUNT(*) FROM pragma_table_info('projects') WHERE pk > 0", [], |r| r.get(0)).unwrap();
    assert_eq!((version, pk_cols), (1, 2), "the migration rolled back whole");
    std::fs::remove_dir_all(dir).ok();
}

/// An object key whose hidden writer is handed a climbing literal.
struct Climbing;

impl ObjectKey for Climbing {
    const TEMPLATE: &'static str = "{tenant}/../victim/video.mp4";
    const PREFIX: &'static [&'static str] = &["..", "victim"];
    fn __write(&self, w: &mut tenantry::__private::KeyWriter) {
        w.literal("..");
        w.literal("victim");
        w.literal("video.mp4");
    }
    fn __read(r: &mut tenantry::__private::KeyReader<'_>) -> tenantry::Result<Self> {
        r.literal("..")?;
        Ok(Climbing)
    }
}

/// The finding's `KeyWriter::literal("../<other>")`: a `TenantKey` whose text climbed out
/// of the tenant. Guard: `KeyWriter::literal` checks the literal like any segment, and
/// `TenantPrefix::literal` skips an invalid one; seen failing without the check (the key
/// text was `<tenant>/../victim/video.mp4`).
#[test]
fn a_hidden_key_writer_cannot_climb_out_of_the_tenant() {
    let t = TenantId::generate();
    let err = Climbing.key(&t).unwrap_err();
    assert!(matches!(err, Error::InvalidKey { rule: tenantry::KeyRule::DotSegment }), "{err:?}");
    // The prefix stays the tenant's own root: never `../`.
    let prefix = Climbing::prefix(&t);
    assert_eq!(prefix.as_str(), TenantPrefix::root(&t).as_str());
    assert!(!prefix.as_str().contains(".."));
}

/// Rows an admin statement decodes hand out the tenant ids stored in them: each one is a
/// mint, and reaches the audit hook. Guard: `decode_tenant`'s `Reader::Admin` arm fires
/// `MintTenant`; seen failing without it (no event for the two rows).
#[test]
fn admin_reads_of_owned_rows_audit_every_minted_tenant() {
    record_audit();
    let db = SqliteDatabase::open_in_memory().unwrap();
    db.create_table::<Project>().unwrap();
    let (a, b) = (TenantId::generate(), TenantId::generate());
    db.execute(Project::insert(&a, project(1, "a"))).unwrap();
    db.execute(Project::insert(&b, project(1, "b"))).unwrap();
    let admin = Admin::new("doors test: list every project");
    let rows = db.fetch_all(Project::admin_select(&admin)).unwrap();
    assert_eq!(rows.len(), 2);
    let minted: Vec<String> =
        events_for("doors test: list every project").into_iter().filter(|a| a.starts_with("MintTenant")).collect();
    assert_eq!(minted.len(), 2, "{minted:?}");
    for t in [a, b] {
        assert!(minted.iter().any(|m| m.contains(&t.to_string())), "{t} minted");
    }
    // A count through the same capability mints nothing.
    let before = events_for("doors test: list every project").len();
    assert_eq!(db.fetch_one(Project::admin_select(&admin).count()).unwrap(), 2);
    let after: Vec<String> = events_for("doors test: list every project").into_iter().skip(before).collect();
    assert!(after.iter().all(|a| !a.starts_with("MintTenant")), "{after:?}");
}

/// The sweep deletes across tenants: it takes an `Admin` and is audited.
#[test]
fn the_sweep_is_audited() {
    record_audit();
    let admin = Admin::new("doors test: nightly sweep");
    let auth = Auth::builder(&admin, SqliteDatabase::open_in_memory().unwrap()).build().unwrap();
    auth.start_anonymous().unwrap();
    auth.sweep(&admin).unwrap();
    assert!(events_for("doors test: nightly sweep").iter().any(|a| a.contains("sweep")));
}

/// `Project` is a real declaration; the registry accepts it, and its live table matches.
#[test]
fn ordinary_declarations_open() {
    let db = SqliteDatabase::open_in_memory().unwrap();
    db.create_table::<Project>().unwrap();
    assert!(tenantry::tables().any(|t| t.name == Project::INFO.name));
}

/// SQLite's legacy "double-quoted string literal" fallback is off on every connection: a
/// double-quoted name that matches no column is an error, so a statement naming a column
/// the live table lacks cannot silently compare two strings. Guard: `DQS_DML`/`DQS_DDL`
/// off in `SqliteDatabaseBuilder::connect`; seen failing without it (the query ran and returned
/// every row, `"no_such_column" = 'no_such_column'` being true).
#[test]
fn a_double_quoted_unknown_name_is_an_error_not_a_string() {
    let db = SqliteDatabase::open_in_memory().unwrap();
    db.create_table::<Project>().unwrap();
    db.execute(Project::insert(&TenantId::generate(), project(1, "a"))).unwrap();
    let admin = Admin::new("doors test: raw SQL naming a missing column");
    let err = db
        .fetch_raw(admin.raw_sql(r#"SELECT COUNT(*) FROM projects WHERE "no_such_column" = 'no_such_column'"#), |r| {
            r.get::<_, i64>(0)
        })
        .unwrap_err();
    assert!(matches!(&err, Error::Sqlite(e) if e.to_string().contains("no such column")), "{err:?}");
}

/// A claim is one audit event (plus the claimed row's tenant), and a poll that finds no job
/// is none: idle workers polling several times a second must not flood the audit log.
/// Guard: `claim_next` runs its select under a quiet tag and reports the claim itself;
/// seen failing without it (each idle poll fired an `Unscoped` event).
#[test]
fn idle_job_polls_are_not_audit_events_and_a_claim_is_one() {
    use common::{ExportJob, NewExportJob};
    record_audit();
    let layout = Layout::shared(SqliteDatabase::open_in_memory().unwrap()).unwrap();
    let admin = Admin::new("doors test: an export worker polls for jobs");
    let poll = || {
        layout.claim_next(
            &admin,
            ExportJob::status().eq("queued"),
            ExportJob::created_at().asc(),
            ExportJob::status(),
            "running",
        )
    };
    for _ in 0..5 {
        assert!(poll().unwrap().is_none());
    }
    let seen = |events: &[String]| events.iter().filter(|a| !a.starts_with("Created")).cloned().collect::<Vec<_>>();
    assert_eq!(seen(&events_for("doors test: an export worker polls for jobs")), Vec::<String>::new());
    let t = TenantId::generate();
    let job = NewExportJob {
        id: Uuid::from_u128(1),
        project_id: Uuid::from_u128(2),
        status: "queued".into(),
        progress: 0,
        output_key: None,
        created_at: "2026-11-30".into(),
    };
    layout.execute(ExportJob::insert(&t, job)).unwrap();
    let (tenant, claimed) = poll().unwrap().unwrap();
    assert_eq!((tenant, claimed.status.as_str()), (t, "running"));
    let events = seen(&events_for("doors test: an export worker polls for jobs"));
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events[0].starts_with("Operation") && events[0].contains("claim"), "{events:?}");
    assert_eq!(events[1], format!("MintTenant {{ tenant: {} }}", t.as_uuid()));
}
