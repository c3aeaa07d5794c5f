//! The PostgreSQL backend against a real server (`.ci/run` starts one and exports
//! `TENANTRY_PG_*_URL`; without them this prints a notice and skips, except under
//! `CI=true`, where it fails).
//! One test, run in order, because its parts share one schema.
#![cfg(feature = "postgres")]

mod common;

use common::pg::{reset_schema, urls};
use common::{NewProject, Project};
use postgres::{Client, NoTls};
use tenantry::{Admin, Error, PgDatabase};
use uuid::Uuid;

fn project(n: u128) -> NewProject {
    NewProject { id: Uuid::from_u128(n), name: format!("p{n}"), created_at: "2026-11-27".into() }
}

#[test]
fn postgres_backend() {
    let Some(urls) = urls() else { return };
    reset_schema(&urls);
    let db = PgDatabase::connect(&urls.app, 1).unwrap().with_admin(&urls.admin, 1).unwrap();
    let admin = Admin::new("postgres test mints two tenants");
    let (a, b) = (admin.tenant(Uuid::from_u128(0xa)), admin.tenant(Uuid::from_u128(0xb)));

    // The scoped API: same ids for both tenants, each sees its own.
    db.execute(Project::insert_many(&a, (0..30).map(project))).unwrap();
    db.execute(Project::insert_many(&b, (0..3).map(project))).unwrap();
    assert_eq!(db.fetch_one(Project::select(&a).count()).unwrap(), 30);
    assert_eq!(db.fetch_one(Project::get(&b, Uuid::from_u128(2))).unwrap().user_id, b);
    assert!(matches!(db.fetch_one(Project::get(&b, Uuid::from_u128(20))), Err(Error::NotFound)));
    assert_eq!(
        db.execute(Project::update(&b).set(Project::name(), "mine").filter(Project::id().eq(Uuid::from_u128(20))))
            .unwrap(),
        0
    );
    assert_eq!(db.fetch_all(Project::admin_select(&admin)).unwrap().len(), 33, "the admin pool sees every tenant");

    // The second wall on its own: raw SQL through the application role, no tenant
    // predicate at all. Guard: the policies from TableInfo::rls_postgres; seen failing with
    // them removed (the raw count was 33: every tenant's rows).
    let mut app = Client::connect(&urls.app, NoTls).unwrap();
    let mut tx = app.transaction().unwrap();
    tx.execute("SELECT set_config('tenantry.tenant_id', $1, true)", &[&a.to_string()]).unwrap();
    let seen: i64 = tx.query_one("SELECT COUNT(*) FROM projects", &[]).unwrap().get(0);
    assert_eq!(seen, 30, "RLS shows only tenant A's rows");
    let changed = tx.execute("UPDATE projects SET name = 'overwritten'", &[]).unwrap();
    assert_eq!(changed, 30, "an unfiltered update reaches only A's rows");
    let forged = tx.execute(
        "INSERT INTO projects (user_id, id, name, created_at) VALUES ($1, $2, 'planted', 'now')",
        &[&b.as_uuid(), &Uuid::new_v4()],
    );
    assert!(forged.is_err(), "WITH CHECK refuses a row for another tenant");
    drop(tx); // rolled back
    let mut tx = app.transaction().unwrap();
    let unset: i64 = tx.query_one("SELECT COUNT(*) FROM projects", &[]).unwrap().get(0);
    assert_eq!(unset, 0, "without the setting, no row at all");
    tx.commit().unwrap();

    // A connection used by A, then by B: A's transaction-local setting is gone.
    let mut tx = app.transaction().unwrap();
    tx.execute("SELECT set_config('tenantry.tenant_id', $1, true)", &[&a.to_string()]).unwrap();
    tx.commit().unwrap();
    let leftover: Option<String> =
        app.query_one("SELECT current_setting('tenantry.tenant_id', true)", &[]).unwrap().get(0);
    assert!(leftover.as_deref().unwrap_or("").is_empty(), "A's setting leaked: {leftover:?}");
    // The same through the pool of one connection: A's work, then B's, each sees its own.
    for _ in 0..3 {
        assert_eq!(db.fetch_one(Project::select(&a).count()).unwrap(), 30);
        assert_eq!(db.fetch_one(Project::select(&b).count()).unwrap(), 3);
    }

    // The start-up check passes for the application role and fails for the others.
    db.check_rls().unwrap();
    for (url, why) in [
        (&urls.superuser, "the role is a superuser"),
        (&urls.admin, "the role has BYPASSRLS"),
        (&urls.owner, "the role owns the table"),
    ] {
        let err = PgDatabase::connect(url, 1).unwrap().check_rls().unwrap_err();
        assert!(matches!(err, Error::RlsBypassed { why: w, .. } if w == why), "{err:?}");
    }
    let mut owner = Client::connect(&urls.owner, NoTls).unwrap();
    owner.batch_execute("ALTER TABLE projects NO FORCE ROW LEVEL SECURITY").unwrap();
    let err = db.check_rls().unwrap_err();
    assert!(matches!(err, Error::RlsBypassed { table: Some("projects"), .. }), "{err:?}");
    owner.batch_execute("ALTER TABLE projects FORCE ROW LEVEL SECURITY").unwrap();
    db.check_rls().unwrap();

    // Transactions: several statements of one tenant, all or nothing; another tenant's
    // statement inside is refused.
    let moved = db
        .transaction(&a, |tx| {
            tx.execute(Project::insert(&a, project(100)))?;
            tx.execute(
                Project::update(&a).set(Project::name(), "in tx").filter(Project::id().eq(Uuid::from_u128(100))),
            )?;
            tx.fetch_one(Project::get(&a, Uuid::from_u128(100)))
        })
        .unwrap();
    assert_eq!(moved.name, "in tx");
    let failed: Result<(), Error> = db.transaction(&a, |tx| {
        tx.execute(Project::insert(&a, project(101)))?;
        Err(Error::NotFound)
    });
    assert!(failed.is_err());
    assert!(db.fetch_optional(Project::get(&a, Uuid::from_u128(101))).unwrap().is_none(), "rolled back");
    let foreign = db.transaction(&a, |tx| tx.fetch_all(Project::select(&b)));
    assert!(matches!(foreign, Err(Error::InvalidValue { .. })));

    // Red-team regressions. Raw SQL binding a value of another type is an error, not bytes
    // reinterpreted (an integer once landed in a float column as 3.5e-323).
    owner
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS rt_types; CREATE TABLE rt_types (f float8, n bigint); GRANT ALL ON rt_types TO {}",
            urls.admin_role
        ))
        .unwrap();
    let raw = |sql: &'static str, v: tenantry::Value| db.execute(admin.raw_sql(sql).bind(v));
    assert!(raw("INSERT INTO rt_types (f) VALUES ($1)", tenantry::Value::Integer(7)).is_err());
    assert!(raw("INSERT INTO rt_types (n) VALUES ($1)", tenantry::Value::Text("AAAAAAAA".into())).is_err());
    assert_eq!(raw("INSERT INTO rt_types (f) VALUES ($1)", tenantry::Value::Real(2.5)).unwrap(), 1);
    // A second, permissive policy widens what the application sees: the check refuses it.
    owner.batch_execute("CREATE POLICY rt_open ON projects FOR SELECT USING (true)").unwrap();
    let err = db.check_rls().unwrap_err();
    assert!(matches!(err, Error::RlsBypassed { table: Some("projects"), .. }), "{err:?}");
    owner.batch_execute("DROP POLICY rt_open ON projects").unwrap();
    db.check_rls().unwrap();
    // A column type change invalidates the connection's prepared statements once, not forever.
    let _ = db.fetch_all(Project::select(&a)).unwrap();
    owner.batch_execute("ALTER TABLE projects ALTER COLUMN name TYPE varchar(200)").unwrap();
    let _ = db.fetch_all(Project::select(&a)); // may fail once: the cached plan changed type
    assert_eq!(db.fetch_all(Project::select(&a)).unwrap().len(), 31, "the next use prepares afresh");
    owner.batch_execute("ALTER TABLE projects ALTER COLUMN name TYPE text; DROP TABLE rt_types").unwrap();

    // Cross-tenant statements need the explicitly configured admin connection.
    let tenant_only = PgDatabase::connect(&urls.app, 1).unwrap();
    assert!(matches!(tenant_only.fetch_all(Project::admin_select(&admin)), Err(Error::InvalidValue { .. })));
}
