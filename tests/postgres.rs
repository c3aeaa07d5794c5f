//! The PostgreSQL backend against a real server (`.ci/run` starts one and exports
//! `TENANTRY_PG_*_URL`; without them this prints a notice and skips, except under
//! `CI=true`, where it fails).
//! The tests share one database, so they take `serial()` and each starts from a fresh
//! schema; the parts of `postgres_backend` run in order.
#![cfg(feature = "postgres")]

mod common;

use common::pg::{reset_schema, serial, urls};
use common::{NewProject, Project};

use common::pg::Urls;
use postgres::{Client, NoTls};
use tenantry::{Admin, Error, PgDatabase, Table};
use uuid::Uuid;

/// One test at a time on the shared database.
fn project(n: u128) -> NewProject {
    NewProject { id: Uuid::from_u128(n), name: format!("p{n}"), created_at: "2026-11-27".into() }
}

#[test]
fn postgres_backend() {
    let Some(urls) = urls() else { return };
    let _serial = serial();
    reset_schema(&urls);
    let db = PgDatabase::connect(&urls.app, 1).unwrap().with_admin(&urls.admin, 1).unwrap();
    let admin = Admin::new("postgres test mints two tenants");
    let (a, b) = (admin.mint_tenant(Uuid::from_u128(0xa)), admin.mint_tenant(Uuid::from_u128(0xb)));

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
    // predicate at all. Guard: the policies from TableInfo::postgres_row_security; seen failing with
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
    assert!(matches!(foreign, Err(Error::ForeignStatement)));

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
    assert!(matches!(tenant_only.fetch_all(Project::admin_select(&admin)), Err(Error::NoAdminConnection)));
}

/// Runs `sql` on `url` when dropped: puts a role or privilege back even when an assertion
/// failed half-way, so one failing test does not break the others.
struct Undo<'a> {
    url: &'a str,
    sql: String,
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        if let Ok(mut c) = Client::connect(self.url, NoTls) {
            let _ = c.batch_execute(&self.sql);
        }
    }
}

/// `check_rls` refuses with `RlsBypassed` for `table`, its `why` mentioning `says`.
#[track_caller]
fn refused(db: &PgDatabase, table: Option<&str>, says: &str) {
    match db.check_rls() {
        Err(Error::RlsBypassed { why, table: t }) => {
            assert_eq!(t, table, "{why}");
            assert!(why.contains(says), "expected a reason mentioning {says:?}, got {why:?}");
        }
        other => panic!("expected RlsBypassed ({says}), got {other:?}"),
    }
}

/// Re-runs tenantry's row-level-security statements for `info` as the owner.
fn restore_policy(owner: &mut Client, info: &tenantry::TableInfo) {
    for sql in info.postgres_row_security() {
        owner.batch_execute(&sql).unwrap();
    }
}

/// tenantry's policy, spelled for another table (a child or partition).
fn policy_for(table: &str) -> String {
    format!(
        "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY; ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
         CREATE POLICY tenantry_tenant ON {table}
           USING (user_id = NULLIF(current_setting('tenantry.tenant_id', true), '')::uuid)
           WITH CHECK (user_id = NULLIF(current_setting('tenantry.tenant_id', true), '')::uuid)"
    )
}

fn fresh(urls: &Urls) -> (PgDatabase, Client) {
    reset_schema(urls);
    let db = PgDatabase::connect(&urls.app, 1).unwrap();
    db.check_rls().unwrap();
    (db, Client::connect(&urls.owner, NoTls).unwrap())
}

#[test]
fn check_rls_compares_what_the_policy_does_not_only_its_name() {
    // Guard: the comparison of pg_get_expr(polqual / polwithcheck) and polroles / polcmd /
    // polpermissive in PgDatabase::check_rls. Seen failing before it existed: every altered
    // policy below passed (the check looked at the name, PERMISSIVE and ALL only).
    let Some(urls) = urls() else { return };
    let _serial = serial();
    let (db, mut owner) = fresh(&urls);
    let ok = "NULLIF(current_setting('tenantry.tenant_id', true), '')::uuid";
    for (alter, says) in [
        // Sees and writes every tenant's rows.
        ("ALTER POLICY tenantry_tenant ON projects USING (true) WITH CHECK (true)".to_string(), "policy"),
        // The right setting, compared with the wrong column.
        (format!("ALTER POLICY tenantry_tenant ON projects USING (id = {ok}) WITH CHECK (id = {ok})"), "policy"),
        // Reads are filtered, writes are not checked.
        (format!("ALTER POLICY tenantry_tenant ON projects USING (user_id = {ok}) WITH CHECK (true)"), "policy"),
        // Writes are checked, reads are not filtered.
        (format!("ALTER POLICY tenantry_tenant ON projects USING (true) WITH CHECK (user_id = {ok})"), "policy"),
        // A tenant may also see the rows without a tenant.
        (format!("ALTER POLICY tenantry_tenant ON projects USING (user_id = {ok} OR user_id IS NULL)"), "policy"),
        // The policy applies to another role only.
        (format!("ALTER POLICY tenantry_tenant ON projects TO {}", urls.admin_role), "all roles"),
        // The policy covers reads only.
        (
            format!(
                "DROP POLICY tenantry_tenant ON projects; CREATE POLICY tenantry_tenant ON projects FOR SELECT USING (user_id = {ok})"
            ),
            "all commands",
        ),
        // Restrictive, with no permissive policy.
        (
            format!(
                "DROP POLICY tenantry_tenant ON projects; CREATE POLICY tenantry_tenant ON projects AS RESTRICTIVE USING (user_id = {ok}) WITH CHECK (user_id = {ok})"
            ),
            "permissive",
        ),
    ] {
        owner.batch_execute(&alter).unwrap();
        refused(&db, Some("projects"), says);
        restore_policy(&mut owner, Project::INFO);
        db.check_rls().unwrap_or_else(|e| panic!("restored after {alter:?}: {e:?}"));
    }
    // The same policy spelled differently (unquoted column, other spacing and case) is the
    // same policy: the server's rendering is compared, not the text.
    owner
        .batch_execute(&format!(
            "DROP POLICY tenantry_tenant ON projects; CREATE POLICY tenantry_tenant ON projects
               using ( USER_ID = nullif(CURRENT_SETTING('tenantry.tenant_id', TRUE), '') :: UUID )
               with check ( user_id = {ok} )"
        ))
        .unwrap();
    db.check_rls().unwrap();
}

#[test]
fn check_rls_refuses_roles_and_privileges_that_get_past_the_policies() {
    // Guard: the CREATEROLE, database-owner and TRUNCATE / TRIGGER / REFERENCES checks in
    // PgDatabase::check_rls. Seen failing before they existed: check_rls returned Ok for
    // each case below.
    let Some(urls) = urls() else { return };
    let _serial = serial();
    let (db, mut owner) = fresh(&urls);
    let mut sup = Client::connect(&urls.superuser, NoTls).unwrap();
    let app = &urls.app_role;

    // CREATEROLE: the role could grant itself the owner role.
    {
        let _undo = Undo { url: &urls.superuser, sql: format!("ALTER ROLE {app} NOCREATEROLE") };
        sup.batch_execute(&format!("ALTER ROLE {app} CREATEROLE")).unwrap();
        refused(&db, None, "CREATEROLE");
    }
    db.check_rls().unwrap();

    // Table privileges that get past row-level security, granted directly, to PUBLIC, to a
    // group the role belongs to, or on one column only (REFERENCES).
    sup.batch_execute("DROP ROLE IF EXISTS tenantry_probe_group; CREATE ROLE tenantry_probe_group NOLOGIN").unwrap();
    sup.batch_execute(&format!("GRANT tenantry_probe_group TO {app}")).unwrap();
    let _drop_group = Undo {
        url: &urls.superuser,
        sql: "DROP OWNED BY tenantry_probe_group; DROP ROLE IF EXISTS tenantry_probe_group".into(),
    };
    for (grant, says) in [
        (format!("TRUNCATE ON export_jobs TO {app}"), "TRUNCATE"),
        ("TRUNCATE ON export_jobs TO PUBLIC".to_string(), "TRUNCATE"),
        ("TRUNCATE ON export_jobs TO tenantry_probe_group".to_string(), "TRUNCATE"),
        (format!("TRIGGER ON export_jobs TO {app}"), "TRIGGER"),
        (format!("REFERENCES ON export_jobs TO {app}"), "REFERENCES"),
        (format!("REFERENCES (id) ON export_jobs TO {app}"), "REFERENCES"),
    ] {
        let revoke = grant.replacen(" TO ", " FROM ", 1);
        let _undo = Undo { url: &urls.owner, sql: format!("REVOKE {revoke}") };
        owner.batch_execute(&format!("GRANT {grant}")).unwrap();
        refused(&db, Some("export_jobs"), says);
    }
    db.check_rls().unwrap();

    // Owning the database: the role could create schemas and objects the tables depend on.
    let dbname: String = sup.query_one("SELECT quote_ident(current_database())", &[]).unwrap().get(0);
    {
        let _undo = Undo { url: &urls.superuser, sql: format!("ALTER DATABASE {dbname} OWNER TO {}", urls.owner_role) };
        sup.batch_execute(&format!("ALTER DATABASE {dbname} OWNER TO {app}")).unwrap();
        refused(&db, None, "owns the database");
    }
    db.check_rls().unwrap();
}

#[test]
fn check_rls_refuses_a_child_table_or_partition_without_the_policy() {
    // Guard: the pg_inherits walk in PgDatabase::check_rls. Seen failing before it
    // existed: check_rls returned Ok while the child table below showed tenant B's row to
    // a transaction without any tenant.
    let Some(urls) = urls() else { return };
    let _serial = serial();
    let (db, mut owner) = fresh(&urls);
    let app = &urls.app_role;

    // An inheritance child: its rows are read through the parent with the parent's policy,
    // but read directly with none.
    owner
        .batch_execute(&format!(
            "CREATE TABLE projects_archive () INHERITS (projects);
             GRANT SELECT, INSERT, UPDATE, DELETE ON projects_archive TO {app};
             INSERT INTO projects_archive (user_id, id, name, created_at)
               VALUES ('00000000-0000-0000-0000-00000000000b', gen_random_uuid(), 'b secret', 'now')"
        ))
        .unwrap();
    let mut client = Client::connect(&urls.app, NoTls).unwrap();
    let leaked: i64 = client.query_one("SELECT COUNT(*) FROM projects_archive", &[]).unwrap().get(0);
    assert_eq!(leaked, 1, "without a policy on the child, its rows are open to every tenant");
    refused(&db, Some("projects"), "child table or partition");
    owner.batch_execute(&policy_for("projects_archive")).unwrap();
    db.check_rls().unwrap();
    let sealed: i64 = client.query_one("SELECT COUNT(*) FROM projects_archive", &[]).unwrap().get(0);
    assert_eq!(sealed, 0);
    // Enabled and forced, but with another policy: refused too.
    owner.batch_execute("ALTER POLICY tenantry_tenant ON projects_archive USING (true) WITH CHECK (true)").unwrap();
    refused(&db, Some("projects"), "child table or partition");
    owner.batch_execute("DROP TABLE projects_archive").unwrap();
    db.check_rls().unwrap();

    // A partition of a partitioned table.
    owner
        .batch_execute(&format!(
            "DROP TABLE settings;
             CREATE TABLE settings (user_id uuid NOT NULL, key text NOT NULL, value text NOT NULL,
               PRIMARY KEY (user_id, key)) PARTITION BY HASH (user_id);
             CREATE TABLE settings_p0 PARTITION OF settings FOR VALUES WITH (MODULUS 1, REMAINDER 0);
             GRANT SELECT, INSERT, UPDATE, DELETE ON settings, settings_p0 TO {app}"
        ))
        .unwrap();
    restore_policy(&mut owner, common::Setting::INFO);
    refused(&db, Some("settings"), "child table or partition");
    owner.batch_execute(&policy_for("settings_p0")).unwrap();
    db.check_rls().unwrap();
}

#[test]
fn a_failed_statement_inside_a_transaction_is_reported_not_committed() {
    // Guard: PgTransaction's record of a server error, checked in PgDatabase::transaction
    // before COMMIT. Seen failing before it existed: the call returned Ok(()) although
    // PostgreSQL turned the COMMIT into a rollback, so the first row silently vanished.
    let Some(urls) = urls() else { return };
    let _serial = serial();
    let (db, _owner) = fresh(&urls);
    let a = common::admin_tenant("postgres transaction test", Uuid::from_u128(0xa));
    let out = db.transaction(&a, |tx| {
        tx.execute(Project::insert(&a, project(1)))?;
        let again = tx.execute(Project::insert(&a, project(1)));
        assert!(matches!(again, Err(Error::Conflict { table: "projects", .. })), "{again:?}");
        Ok("the caller handled the conflict")
    });
    assert!(matches!(out, Err(Error::TransactionAborted)), "{out:?}");
    assert!(db.fetch_optional(Project::get(&a, Uuid::from_u128(1))).unwrap().is_none(), "nothing was kept");

    // An error refused before it reached the server leaves the transaction alive: it commits.
    let b = common::admin_tenant("postgres transaction test", Uuid::from_u128(0xb));
    db.transaction(&a, |tx| {
        tx.execute(Project::insert(&a, project(2)))?;
        assert!(matches!(tx.fetch_all(Project::select(&b)), Err(Error::ForeignStatement)));
        Ok(())
    })
    .unwrap();
    assert!(db.fetch_optional(Project::get(&a, Uuid::from_u128(2))).unwrap().is_some(), "committed");
}

#[test]
fn a_panic_inside_a_transaction_rolls_it_back_and_the_connection_comes_back_clean() {
    // Guard: tenantry begins the transaction itself (`BEGIN; SET LOCAL ..` sent with the
    // first statement) and rolls it back on any way out but the commit (`Conn`'s drop: off
    // a runtime, the connection is closed). With one connection in the pool, the next statement would otherwise run inside the dead
    // transaction, under the first tenant's setting.
    let Some(urls) = urls() else { return };
    let _serial = serial();
    let (db, _owner) = fresh(&urls);
    let a = common::admin_tenant("postgres panic test", Uuid::from_u128(0xa));
    let b = common::admin_tenant("postgres panic test", Uuid::from_u128(0xb));
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = db.transaction(&a, |tx| {
            tx.execute(Project::insert(&a, project(1)))?;
            panic!("the handler panicked mid-transaction");
            #[allow(unreachable_code)]
            Ok(())
        });
    }));
    assert!(panicked.is_err());
    assert!(db.fetch_optional(Project::get(&a, Uuid::from_u128(1))).unwrap().is_none(), "rolled back");
    // The same (only) connection now serves Bob, with Bob's setting: he sees none of Alice's.
    db.execute(Project::insert(&b, project(1))).unwrap();
    assert_eq!(db.fetch_all(Project::select(&b)).unwrap().len(), 1);
    assert!(db.fetch_all(Project::select(&a)).unwrap().is_empty());
}
