//! Layouts B (one database per tenant) and C (hybrid), and the tenant lifecycle.

mod common;

use std::sync::{Arc, Barrier};

use common::{ExportJob, NewExportJob, NewProject, NewSetting, Project, Setting};
use tenantry::{Admin, Error, Layout, Location, Migrations, OnBehind, SqliteDatabase, Table, TenantId};
use uuid::Uuid;

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tenantry-{name}-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn per_tenant(dir: &std::path::Path) -> Layout {
    Layout::builder(SqliteDatabase::open(dir.join("shared.db")).unwrap())
        .per_tenant(dir.join("tenants"))
        .build()
        .unwrap()
}

fn hybrid(dir: &std::path::Path) -> Layout {
    Layout::builder(SqliteDatabase::open(dir.join("shared.db")).unwrap())
        .per_tenant(dir.join("tenants"))
        .shared_tables(&[ExportJob::INFO])
        .build()
        .unwrap()
}

fn project(n: u128) -> NewProject {
    NewProject { id: Uuid::from_u128(n), name: format!("p{n}"), created_at: format!("2026-11-{:02}", 1 + n % 28) }
}

fn job(n: u128, project: u128) -> NewExportJob {
    NewExportJob {
        id: Uuid::from_u128(0x100 + n),
        project_id: Uuid::from_u128(project),
        status: "queued".into(),
        progress: 0,
        output_key: None,
        created_at: format!("2026-11-27 10:{n:02}:00"),
    }
}

/// Open descriptors of this process on files under `dir` (other tests run in parallel and
/// open their own databases, so the process-wide count would measure them too).
fn open_fds(dir: &std::path::Path) -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| {
        d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok()).filter(|target| target.starts_with(dir)).count()
    })
}

#[test]
fn ten_thousand_tenants_with_64_open_databases() {
    let dir = temp("fleet");
    let layout = Layout::builder(SqliteDatabase::open(dir.join("shared.db")).unwrap())
        .per_tenant(dir.join("tenants"))
        .max_open(64)
        .build()
        .unwrap();
    let admin = Admin::new("layout test mints 10,000 tenants with fixed ids");
    let tenants: Vec<TenantId> = (0..10_000u128).map(|i| admin.mint_tenant(Uuid::from_u128(0xabc0_0000 + i))).collect();
    let baseline = open_fds(&dir);
    let mut most = 0;
    for (i, t) in tenants.iter().enumerate() {
        layout.execute(Project::insert(t, project(i as u128))).unwrap();
        most = most.max(open_fds(&dir));
    }
    // Reads across all of them, in another order, succeed and see only their own row.
    for (i, t) in tenants.iter().enumerate().rev().step_by(7) {
        let rows = layout.fetch_all(Project::select(t)).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].id, Uuid::from_u128(i as u128));
        most = most.max(open_fds(&dir));
    }
    assert!(layout.open_tenant_databases() <= 64);
    // Each open SQLite database in WAL mode holds 3 descriptors (file, -wal, -shm); the
    // shared database is the baseline.
    assert!(most <= baseline + 3 * 64, "open descriptors peaked at {most} (baseline {baseline})");
    assert!(most >= 3 * 64, "the cap was reached: the test measures something");
    assert_eq!(
        std::fs::read_dir(dir.join("tenants"))
            .unwrap()
            .filter(|e| { e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".sqlite3") })
            .count(),
        10_000
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_tenant_database_behind_is_migrated_on_first_use_or_refused() {
    let dir = temp("behind");
    let t = TenantId::generate();
    let v1 = per_tenant(&dir);
    v1.execute(Project::insert(&t, project(1))).unwrap();
    drop(v1);
    // Version 2 adds an index; with `Refuse` the tenant is not served until migrated.
    let migration = Migrations::new(&Admin::new("test registers per-tenant migrations")).add(
        2,
        "projects by name",
        "CREATE INDEX IF NOT EXISTS idx_projects_name ON projects (user_id, name)",
    );
    let strict = Layout::builder(SqliteDatabase::open(dir.join("shared.db")).unwrap())
        .per_tenant(dir.join("tenants"))
        .migrations(&migration)
        .on_behind(OnBehind::Refuse)
        .build()
        .unwrap();
    assert!(matches!(strict.fetch_all(Project::select(&t)), Err(Error::TenantBehind { have: 1, want: 2 })));
    let v2 = Layout::builder(SqliteDatabase::open(dir.join("shared.db")).unwrap())
        .per_tenant(dir.join("tenants"))
        .migrations(&migration)
        .build()
        .unwrap();
    assert_eq!(v2.fetch_all(Project::select(&t)).unwrap().len(), 1);
    let admin = Admin::new("layout test checks the migrated index");
    let db = v2.tenant_database(&t).unwrap();
    let indexes: Vec<String> = db
        .fetch_raw(
            admin.raw_sql("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'idx_projects_name'"),
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(indexes, ["idx_projects_name"]);
    std::fs::remove_dir_all(dir).unwrap();
}

fn big_migration() -> Migrations {
    Migrations::new(&Admin::new("test registers per-tenant migrations")).add(
        2,
        "big",
        "CREATE TABLE IF NOT EXISTS big (x INTEGER); INSERT INTO big WITH RECURSIVE c(x) AS \
         (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) SELECT x FROM c;",
    )
}

/// The child half of `a_fleet_migration_killed_half_way_is_finished_by_a_rerun`.
#[test]
fn fleet_migration_child() {
    let Ok(dir) = std::env::var("TENANTRY_FLEET_CHILD") else { return };
    let dir = std::path::PathBuf::from(dir);
    let layout = Layout::builder(SqliteDatabase::open(dir.join("shared.db")).unwrap())
        .per_tenant(dir.join("tenants"))
        .migrations(&big_migration())
        .on_behind(OnBehind::Refuse)
        .build()
        .unwrap();
    let admin = Admin::new("fleet migration child process");
    layout
        .migrate_fleet(&admin, |p| {
            let done = p.done;
            if done == 3 {
                println!("READY");
            }
            if done >= 3 {
                // A slow fleet from here on, so the parent's kill lands half-way.
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        })
        .unwrap();
}

#[test]
fn a_fleet_migration_killed_half_way_is_finished_by_a_rerun() {
    let dir = temp("fleet-kill");
    let admin = Admin::new("layout test mints 40 tenants");
    let tenants: Vec<TenantId> = (0..40u128).map(|i| admin.mint_tenant(Uuid::from_u128(0xf1ee_0000 + i))).collect();
    let v1 = per_tenant(&dir);
    for t in &tenants {
        v1.execute(Project::insert(t, project(7))).unwrap();
    }
    drop(v1);
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "fleet_migration_child", "--nocapture", "--test-threads=1"])
        .env("TENANTRY_FLEET_CHILD", &dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0 && !line.contains("READY") {
        line.clear();
    }
    child.kill().unwrap(); // SIGKILL, mid-fleet
    child.wait().unwrap();

    let layout = Layout::builder(SqliteDatabase::open(dir.join("shared.db")).unwrap())
        .per_tenant(dir.join("tenants"))
        .migrations(&big_migration())
        .on_behind(OnBehind::Refuse)
        .build()
        .unwrap();
    let before: usize = tenants.iter().filter(|t| layout.fetch_all(Project::select(t)).is_ok()).count();
    assert!((3..40).contains(&before), "the child was killed half-way ({before} migrated)");
    let report = layout.migrate_fleet(&admin, |_| {}).unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.migrated + report.up_to_date, 40);
    for t in &tenants {
        assert_eq!(layout.fetch_all(Project::select(t)).unwrap().len(), 1, "every tenant served, none lost");
        let db = layout.tenant_database(t).unwrap();
        let n: Vec<i64> = db.fetch_raw(admin.raw_sql("SELECT COUNT(*) FROM big"), |r| r.get(0)).unwrap();
        assert_eq!(n, [20000], "migration applied exactly once");
    }
    assert_eq!(layout.migrate_fleet(&admin, |_| {}).unwrap().up_to_date, 40);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn export_delete_import_gives_back_identical_rows_and_others_are_untouched() {
    for (name, layout) in [("A", None), ("B", Some(false)), ("C", Some(true))] {
        let dir = temp("lifecycle");
        let layout = match layout {
            None => Layout::shared(SqliteDatabase::open(dir.join("shared.db")).unwrap()).unwrap(),
            Some(false) => per_tenant(&dir),
            Some(true) => hybrid(&dir),
        };
        let (a, b) = (TenantId::generate(), TenantId::generate());
        for t in [&a, &b] {
            for n in 0..5 {
                layout.execute(Project::insert(t, project(n))).unwrap();
                layout.execute(ExportJob::insert(t, job(n, n))).unwrap();
            }
            layout
                .execute(Setting::insert(t, NewSetting { key: "k'\"\0😀".into(), value: "x".repeat(10_000) }))
                .unwrap();
        }
        let before = layout.export_tenant(&a).unwrap();
        assert_eq!(before.tables.values().map(Vec::len).sum::<usize>(), 11, "{name}");
        let b_before = layout.export_tenant(&b).unwrap();

        assert_eq!(layout.delete_tenant(&a).unwrap(), 11, "{name}");
        assert_eq!(layout.delete_tenant(&a).unwrap(), 0, "{name}: a second run is a no-op");
        if let Some(path) = layout.tenant_path(&a).filter(|_| layout.is_per_tenant(Project::INFO)) {
            assert!(!path.exists(), "{name}: the tenant's database file is removed");
        }
        assert!(layout.fetch_all(Project::select(&a)).unwrap().is_empty());
        assert_eq!(layout.export_tenant(&b).unwrap(), b_before, "{name}: the other tenant is untouched");

        assert_eq!(layout.import_tenant(&a, &before).unwrap(), 11);
        assert_eq!(layout.export_tenant(&a).unwrap(), before, "{name}: byte-identical after the round trip");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn hybrid_routes_each_table_and_refuses_mixed_statements() {
    let dir = temp("hybrid");
    let layout = hybrid(&dir);
    let t = TenantId::generate();
    layout.execute(Project::insert(&t, project(1))).unwrap();
    layout.execute(ExportJob::insert(&t, job(1, 1))).unwrap();
    // Projects are in the tenant's file, export jobs in the shared database.
    assert!(layout.is_per_tenant(Project::INFO) && !layout.is_per_tenant(ExportJob::INFO));
    assert_eq!(layout.tenant_database(&t).unwrap().fetch_all(Project::select(&t)).unwrap().len(), 1);
    assert_eq!(layout.shared_database().fetch_all(ExportJob::select(&t)).unwrap().len(), 1);
    assert!(layout.shared_database().fetch_all(Project::select(&t)).unwrap_or_default().is_empty());
    let join = Project::select(&t).join::<ExportJob>(ExportJob::project_id().eq_col(Project::id()));
    assert!(matches!(layout.fetch_all(join), Err(Error::Placement { shared: "export_jobs", per_tenant: "projects" })));
    let admin = Admin::new("layout test tries a cross-tenant read of a per-tenant table");
    assert!(matches!(layout.fetch_all(Project::admin_select(&admin)), Err(Error::Placement { .. })));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn workers_claim_queued_jobs_across_tenants_exactly_once() {
    let dir = temp("claim");
    let layout = hybrid(&dir);
    let tenants: Vec<TenantId> = (0..5).map(|_| TenantId::generate()).collect();
    for (i, t) in tenants.iter().enumerate() {
        for n in 0..4u128 {
            layout.execute(ExportJob::insert(t, job(n + 10 * i as u128, n))).unwrap();
        }
    }
    let barrier = Arc::new(Barrier::new(4));
    let claimed: Vec<Vec<(TenantId, Uuid)>> = (0..4)
        .map(|_| {
            let (layout, barrier) = (layout.clone(), barrier.clone());
            std::thread::spawn(move || {
                let admin = Admin::new("export worker claims the next job");
                barrier.wait();
                let mut mine = Vec::new();
                while let Some((tenant, job)) = layout
                    .claim_next(
                        &admin,
                        ExportJob::status().eq("queued"),
                        ExportJob::created_at().asc(),
                        ExportJob::status(),
                        "running",
                    )
                    .unwrap()
                {
                    assert_eq!(job.status, "running");
                    assert_eq!(job.user_id, tenant);
                    // The rest of the job's work is scoped like a request.
                    let update =
                        ExportJob::update(&tenant).set(ExportJob::progress(), 100).filter(ExportJob::id().eq(job.id));
                    assert_eq!(layout.execute(update).unwrap(), 1);
                    mine.push((tenant, job.id));
                }
                mine
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    let mut all: Vec<(TenantId, Uuid)> = claimed.into_iter().flatten().collect();
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!((total, all.len()), (20, 20), "every job claimed exactly once");
    for t in &tenants {
        assert!(
            layout.fetch_all(ExportJob::select(t)).unwrap().iter().all(|j| j.status == "running" && j.progress == 100)
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

fn seed_rows(layout: &Layout, t: &TenantId, n: u128) {
    layout.execute(Project::insert_many(t, (0..n).map(project))).unwrap();
    layout.execute(Setting::insert(t, NewSetting { key: "theme".into(), value: "dark".into() })).unwrap();
}

/// Rows of `tenant` in the shared database and in its own file, read with raw SQL.
fn rows_in_each_place(layout: &Layout, dir: &std::path::Path, t: &TenantId) -> (i64, i64) {
    let admin = Admin::new("move test counts rows in each place");
    // A kill can leave a tenant file created but not yet given its tables: it holds 0 rows.
    let count = |db: &SqliteDatabase| -> i64 {
        let has: Vec<i64> = db
            .fetch_raw(admin.raw_sql("SELECT COUNT(*) FROM sqlite_master WHERE name = 'projects'"), |r| r.get(0))
            .unwrap();
        if has[0] == 0 {
            return 0;
        }
        db.fetch_raw(admin.raw_sql("SELECT COUNT(*) FROM projects WHERE user_id = ?").bind(t.to_string()), |r| r.get(0))
            .unwrap()[0]
    };
    let shared = count(layout.shared_database());
    let file = dir.join("tenants").join(format!("{t}.sqlite3"));
    let own = if file.exists() { count(&SqliteDatabase::builder(&file).max_connections(1).open().unwrap()) } else { 0 };
    (shared, own)
}

#[test]
fn moving_a_tenant_from_shared_to_its_own_file_and_back_preserves_every_row() {
    let dir = temp("move");
    let layout = per_tenant(&dir);
    let (t, other) = (TenantId::generate(), TenantId::generate());
    layout.move_tenant(&t, Location::Shared).unwrap();
    seed_rows(&layout, &t, 50);
    seed_rows(&layout, &other, 3);
    let snapshot = layout.export_tenant(&t).unwrap();
    let others = layout.export_tenant(&other).unwrap();
    assert_eq!(rows_in_each_place(&layout, &dir, &t), (50, 0));

    layout.move_tenant(&t, Location::OwnFile).unwrap();
    assert_eq!(layout.location(&t).unwrap(), Location::OwnFile);
    assert_eq!(rows_in_each_place(&layout, &dir, &t), (0, 50));
    assert_eq!(layout.export_tenant(&t).unwrap(), snapshot);

    layout.move_tenant(&t, Location::Shared).unwrap();
    assert_eq!(rows_in_each_place(&layout, &dir, &t), (50, 0));
    assert!(!dir.join("tenants").join(format!("{t}.sqlite3")).exists());
    assert_eq!(layout.export_tenant(&t).unwrap(), snapshot);
    assert_eq!(layout.export_tenant(&other).unwrap(), others, "the other tenant is untouched");
    std::fs::remove_dir_all(dir).unwrap();
}

/// The child half of `a_move_killed_at_random_points_never_loses_or_duplicates_a_row`:
/// moves the tenant back and forth until it is killed.
#[test]
fn move_child() {
    let (Ok(dir), Ok(tenant)) = (std::env::var("TENANTRY_MOVE_CHILD"), std::env::var("TENANTRY_MOVE_TENANT")) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let layout = per_tenant(&dir);
    let t = Admin::new("move child acts for the moving tenant").mint_tenant(Uuid::parse_str(&tenant).unwrap());
    println!("STARTED");
    loop {
        layout.move_tenant(&t, Location::OwnFile).unwrap();
        layout.move_tenant(&t, Location::Shared).unwrap();
    }
}

#[test]
fn a_move_killed_at_random_points_never_loses_or_duplicates_a_row() {
    // Guard: the location row switches in the same transaction that removes (A->B) or
    // fills (B->A) the shared copy (src/layout/moves.rs). Seen failing with the A->B source
    // delete moved after the switch into its own transaction: a kill between them left the
    // rows readable from the file and still present in the shared database.
    let dir = temp("move-kill");
    let layout = per_tenant(&dir);
    let t = TenantId::generate();
    layout.move_tenant(&t, Location::Shared).unwrap();
    seed_rows(&layout, &t, 300);
    let snapshot = layout.export_tenant(&t).unwrap();
    drop(layout);
    let mut seed = 0x9e37_79b9_u64 ^ u64::from(std::process::id());
    for run in 0..30 {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "move_child", "--nocapture", "--test-threads=1"])
            .env("TENANTRY_MOVE_CHILD", &dir)
            .env("TENANTRY_MOVE_TENANT", t.to_string())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0 && !line.contains("STARTED") {
            line.clear();
        }
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        std::thread::sleep(std::time::Duration::from_millis(5 + (seed >> 33) % 120));
        child.kill().unwrap(); // SIGKILL at an arbitrary point of a move
        child.wait().unwrap();

        // A fresh process view: the tenant reads complete, from exactly one place. (A kill
        // after the file was retired is undone by this first read.)
        let layout = per_tenant(&dir);
        let here = layout.location(&t).unwrap();
        let exported = layout.export_tenant(&t).unwrap();
        let (shared, own) = rows_in_each_place(&layout, &dir, &t);
        assert_eq!(exported, snapshot, "run {run}: rows lost or duplicated ({here:?}, {shared}/{own})");
        match here {
            Location::Shared => assert_eq!(shared, 300, "run {run}"),
            Location::OwnFile => assert_eq!((shared, own), (0, 300), "run {run}"),
            _ => unreachable!(),
        }
    }
    // A rerun completes the move, and leaves nothing behind in the other place.
    let layout = per_tenant(&dir);
    layout.move_tenant(&t, Location::Shared).unwrap();
    assert_eq!(rows_in_each_place(&layout, &dir, &t), (300, 0));
    assert!(!dir.join("tenants").join(format!("{t}.sqlite3")).exists());
    assert_eq!(layout.export_tenant(&t).unwrap(), snapshot);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_import_naming_a_non_uuid_id_is_refused_with_its_line() {
    // Guard: `from_json` checks that text for a UUID column is a canonical UUID; seen
    // failing without it (the import wrote all three rows, the bad one included, which
    // every typed read of the tenant's projects then fails to decode).
    let dir = temp("import-uuid");
    let layout = per_tenant(&dir);
    let t = TenantId::generate();
    for n in 0..3 {
        layout.execute(Project::insert(&t, project(n))).unwrap();
    }
    let mut export = layout.export_tenant(&t).unwrap();
    layout.delete_tenant(&t).unwrap();
    let lines = export.tables.get_mut("projects").unwrap();
    lines[2] = lines[2].replacen("\"id\":\"", "\"id\":\"X", 1);
    let err = layout.import_tenant(&t, &export).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidImport {
                table: "projects",
                line: 3,
                why: "a UUID column holds text that is not a canonical UUID"
            }
        ),
        "{err:?}"
    );
    assert!(layout.fetch_all(Project::select(&t)).unwrap().is_empty(), "nothing written");
    std::fs::remove_dir_all(dir).ok();
}
