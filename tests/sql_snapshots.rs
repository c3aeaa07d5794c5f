//! SQL snapshots of every statement shape and of the generated DDL, for the seed's tables.
//!
//! Each snapshot shows the SQL text and the bound parameters: values appear only as
//! parameters, the tenant is always one of them, and every owned table in a statement
//! carries its tenant predicate. CI runs with `INSTA_UPDATE=no`: a changed statement fails.

mod common;

use common::{
    ExportJob, FeatureFlag, NewExportJob, NewFeatureFlag, NewProject, NewSetting, NewWorkingClip, Project, Setting,
    WorkingClip,
};
use insta::assert_snapshot;
use tenantry::{Admin, Dialect, Error, Having, Layout, Sql, SqliteDatabase, Table, TenantId, exists, not_exists};
use uuid::Uuid;

fn tenant() -> TenantId {
    Admin::new("sql snapshots use a fixed tenant").mint_tenant(Uuid::from_u128(0xa))
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn show(sql: tenantry::Result<Sql>) -> String {
    let sql = sql.expect("renders");
    let params: Vec<String> = sql.params.iter().map(|p| format!("{p:?}")).collect();
    format!("{}\n-- params: [{}]", sql.text, params.join(", "))
}

fn new_project(n: u128) -> NewProject {
    NewProject { id: id(n), name: format!("project {n}"), created_at: "2026-11-27 10:00:00".into() }
}

#[test]
fn ddl() {
    let all = [Project::INFO, ExportJob::INFO, WorkingClip::INFO, Setting::INFO, FeatureFlag::INFO];
    let text: Vec<String> = all.iter().flat_map(|info| info.sqlite_ddl()).collect();
    assert_snapshot!("ddl", text.join(";\n"));
}

type RenderFn = Box<dyn Fn(&TenantId, &Admin) -> tenantry::Result<Sql>>;
type RunFn = Box<dyn Fn(&Layout, &TenantId, &Admin) -> tenantry::Result<()>>;

/// One statement of the suite: its name, its SQL, and how to run it on a layout.
#[cfg(feature = "postgres")]
type PgRunFn = Box<dyn Fn(&tenantry::PgDatabase, &TenantId, &Admin) -> tenantry::Result<()>>;

/// The same, through the async executor (`Async<Layout>`, feature `tokio`).
#[cfg(feature = "tokio")]
type AsyncRunFn =
    Box<dyn Fn(&tenantry::Async<Layout>, &TenantId, &Admin, &tokio::runtime::Runtime) -> tenantry::Result<()>>;

struct Case {
    name: &'static str,
    sql: RenderFn,
    pg: RenderFn,
    run: RunFn,
    #[cfg(feature = "postgres")]
    pg_run: PgRunFn,
    #[cfg(feature = "tokio")]
    async_run: AsyncRunFn,
    #[cfg(feature = "postgres")]
    pg_async_run: PgAsyncRunFn,
}

/// The same, through `Async<PgDatabase>`.
#[cfg(feature = "postgres")]
type PgAsyncRunFn = Box<
    dyn Fn(&tenantry::Async<tenantry::PgDatabase>, &TenantId, &Admin, &tokio::runtime::Runtime) -> tenantry::Result<()>,
>;

/// One case; `$run` is the executor method that runs it (`fetch_all` or `execute`).
macro_rules! case {
    ($run:ident, $name:literal, |$t:ident, $admin:ident| $e:expr) => {
        Case {
            name: $name,
            sql: Box::new(|$t: &TenantId, $admin: &Admin| {
                let _ = ($t, $admin);
                $e.to_sql()
            }),
            pg: Box::new(|$t: &TenantId, $admin: &Admin| {
                let _ = ($t, $admin);
                $e.to_sql_in(Dialect::Postgres)
            }),
            run: Box::new(|layout: &Layout, $t: &TenantId, $admin: &Admin| {
                let _ = ($t, $admin);
                layout.$run($e).map(drop)
            }),
            #[cfg(feature = "postgres")]
            pg_run: Box::new(|db: &tenantry::PgDatabase, $t: &TenantId, $admin: &Admin| {
                let _ = ($t, $admin);
                db.$run($e).map(drop)
            }),
            #[cfg(feature = "tokio")]
            async_run: Box::new(
                |layout: &tenantry::Async<Layout>, $t: &TenantId, $admin: &Admin, rt: &tokio::runtime::Runtime| {
                    let _ = ($t, $admin);
                    rt.block_on(layout.$run($e)).map(drop)
                },
            ),
            #[cfg(feature = "postgres")]
            pg_async_run: Box::new(
                |db: &tenantry::Async<tenantry::PgDatabase>,
                 $t: &TenantId,
                 $admin: &Admin,
                 rt: &tokio::runtime::Runtime| {
                    let _ = ($t, $admin);
                    rt.block_on(db.$run($e)).map(drop)
                },
            ),
        }
    };
}

macro_rules! fetch {
    ($($tt:tt)*) => { case!(fetch_all, $($tt)*) };
}

macro_rules! exec {
    ($($tt:tt)*) => { case!(execute, $($tt)*) };
}

/// Every statement shape, written once; the snapshot test and the layout test both use it.
fn cases() -> Vec<Case> {
    vec![
        fetch!("select_all", |t, admin| Project::select(t)),
        fetch!("get_by_key", |t, admin| Project::get(t, id(1))),
        fetch!("select_comparisons", |t, admin| ExportJob::select(t)
            .filter(ExportJob::progress().gt(10_i64))
            .filter(ExportJob::progress().le(90_i64))
            .filter(ExportJob::status().ne("failed"))
            .filter(ExportJob::created_at().ge("2026-01-01").and(ExportJob::created_at().lt("2027-01-01")))),
        fetch!("select_or_not_is_wrapped_inside_tenant", |t, admin| Project::select(t)
            .filter(Project::name().eq("a").or(Project::name().like("%cup%")).or(Project::id().eq(id(2)).not()))),
        fetch!("select_in_lists", |t, admin| ExportJob::select(t)
            .filter(ExportJob::status().is_in(["queued", "running"]))
            .filter(ExportJob::id().not_in([id(3)]))),
        fetch!("select_empty_in_lists", |t, admin| ExportJob::select(t).filter(
            ExportJob::status().is_in(Vec::<String>::new()).or(ExportJob::status().not_in(Vec::<String>::new()))
        )),
        fetch!("select_like_and_nulls", |t, admin| ExportJob::select(t)
            .filter(ExportJob::output_key().is_null().or(ExportJob::output_key().not_like("%.tmp")))
            .filter(ExportJob::output_key().is_not_null())),
        fetch!("select_order_limit_offset", |t, admin| Project::select(t)
            .order_by(Project::created_at().desc())
            .order_by(Project::name().asc())
            .limit(20)
            .offset(40)),
        fetch!("select_offset_without_limit", |t, admin| Project::select(t).offset(5)),
        fetch!("count", |t, admin| Project::select(t).filter(Project::name().like("a%")).count()),
        fetch!("sum", |t, admin| ExportJob::select(t).sum(ExportJob::progress())),
        fetch!("avg", |t, admin| ExportJob::select(t).avg(ExportJob::progress())),
        fetch!("min", |t, admin| Project::select(t).min(Project::created_at())),
        fetch!("max", |t, admin| WorkingClip::select(t).max(WorkingClip::end_ms())),
        fetch!("join_two_tables", |t, admin| Project::select(t)
            .join::<ExportJob>(ExportJob::project_id().eq_col(Project::id()))
            .filter(ExportJob::status().eq("done"))
            .order_by(ExportJob::created_at().desc())),
        fetch!("join_three_tables", |t, admin| Project::select(t)
            .join::<ExportJob>(ExportJob::project_id().eq_col(Project::id()))
            .join::<WorkingClip>(WorkingClip::project_id().eq_col(Project::id()))
            .filter(Project::id().eq(id(4)).or(WorkingClip::label().is_null()))
            .count()),
        fetch!("left_join", |t, admin| Project::select(t)
            .left_join::<WorkingClip>(WorkingClip::project_id().eq_col(Project::id()))
            .order_by(Project::created_at().desc())),
        fetch!("join_four_tables_one_left", |t, admin| Project::select(t)
            .join::<ExportJob>(ExportJob::project_id().eq_col(Project::id()))
            .join::<WorkingClip>(WorkingClip::project_id().eq_col(Project::id()))
            .left_join::<Setting>(Setting::key().eq_col(Project::name()))
            .columns((Project::name(), ExportJob::status(), WorkingClip::label(), Setting::value()))),
        fetch!("keyset_first_page", |t, admin| Project::select(t)
            .keyset((Project::created_at().desc(), Project::id().desc()))
            .unwrap()
            .first(20)),
        fetch!("keyset_page_after_cursor", |t, admin| {
            let pages = Project::select(t).keyset((Project::created_at().desc(), Project::id().desc())).unwrap();
            let last = Project { user_id: *t, id: id(3), name: "x".into(), created_at: "2026-11-27 10:00:00".into() };
            pages.after(&pages.cursor(&last), 20).unwrap()
        }),
        fetch!("self_join_through_an_alias", |t, admin| Project::select(t)
            .join::<ExportJob>(ExportJob::project_id().eq_col(Project::id()))
            .left_join::<tenantry::As<ExportJob, 1>>(
                tenantry::As::<ExportJob, 1>::col(ExportJob::project_id())
                    .eq_col(Project::id())
                    .and(tenantry::As::<ExportJob, 1>::col(ExportJob::status()).eq("failed"))
            )
            .columns((Project::name(), ExportJob::status(), tenantry::As::<ExportJob, 1>::col(ExportJob::id())))),
        fetch!("admin_join_global", |t, admin| ExportJob::admin_select(admin)
            .admin_left_join::<FeatureFlag>(admin, FeatureFlag::name().eq_col(ExportJob::status()))),
        fetch!("project_columns", |t, admin| Project::select(t)
            .columns((Project::id(), Project::name()))
            .order_by(Project::created_at().desc())
            .limit(20)),
        fetch!("project_distinct", |t, admin| ExportJob::select(t).columns((ExportJob::status(),)).distinct()),
        fetch!("project_over_join", |t, admin| Project::select(t)
            .join::<ExportJob>(ExportJob::project_id().eq_col(Project::id()))
            .columns((Project::name(), ExportJob::status()))),
        fetch!("group_count", |t, admin| ExportJob::select(t)
            .group_by(ExportJob::status())
            .count()
            .order_by(ExportJob::status().asc())),
        fetch!("group_count_having", |t, admin| ExportJob::select(t)
            .filter(ExportJob::progress().gt(0))
            .group_by(ExportJob::status())
            .having(Having::count().ge(2))
            .count()),
        fetch!("group_sum", |t, admin| ExportJob::select(t)
            .group_by(ExportJob::project_id())
            .sum(ExportJob::progress())),
        fetch!("group_sum_having_two", |t, admin| ExportJob::select(t)
            .group_by(ExportJob::project_id())
            .having(Having::sum(ExportJob::progress()).gt(100))
            .having(Having::max(ExportJob::created_at()).ge("2026-11-01"))
            .sum(ExportJob::progress())),
        fetch!("in_subquery", |t, admin| Project::select(t).filter(Project::id().in_subquery(
            ExportJob::subquery().filter(ExportJob::status().eq("done")).select(ExportJob::project_id())
        ))),
        fetch!("not_in_subquery", |t, admin| Project::select(t)
            .filter(Project::id().not_in_subquery(WorkingClip::subquery().select(WorkingClip::project_id())))),
        fetch!("exists_correlated", |t, admin| Project::select(t)
            .filter(exists(ExportJob::subquery().filter(ExportJob::project_id().eq_col(Project::id()))))
            .filter(not_exists(WorkingClip::subquery().filter(WorkingClip::project_id().eq_col(Project::id()))))),
        exec!("delete_with_subquery", |t, admin| WorkingClip::delete(t).filter(
            WorkingClip::project_id()
                .in_subquery(Project::subquery().filter(Project::name().eq("old")).select(Project::id()))
        )),
        exec!("insert_one", |t, admin| Project::insert(t, new_project(5))),
        exec!("insert_many_first_chunk_of_three", |t, admin| Project::insert_many(t, (0..3).map(new_project))),
        exec!("insert_nullable", |t, admin| ExportJob::insert(
            t,
            NewExportJob {
                id: id(6),
                project_id: id(5),
                status: "queued".into(),
                progress: 0,
                output_key: None,
                created_at: "2026-11-27 10:00:00".into(),
            }
        )),
        exec!("upsert", |t, admin| Setting::upsert(t, NewSetting { key: "theme".into(), value: "dark".into() })),
        exec!("upsert_on_unique_key", |t, admin| WorkingClip::insert(
            t,
            NewWorkingClip { id: id(9), project_id: id(1), start_ms: 0, end_ms: 500, label: Some("intro".into()) }
        )
        .on_conflict((WorkingClip::label(),))
        .do_update((WorkingClip::start_ms(), WorkingClip::end_ms()))),
        exec!("upsert_do_nothing", |t, admin| Setting::insert(
            t,
            NewSetting { key: "theme".into(), value: "dark".into() }
        )
        .on_conflict((Setting::key(),))
        .do_nothing()),
        exec!("update_by_key", |t, admin| Project::update(t)
            .set(Project::name(), "Final cut")
            .filter(Project::id().eq(id(5)))),
        exec!("update_many_columns_all_rows", |t, admin| ExportJob::update(t)
            .set(ExportJob::status(), "cancelled")
            .set(ExportJob::output_key(), None::<String>)
            .all_rows()),
        exec!("delete_by_key", |t, admin| Project::delete_by_key(t, id(5))),
        exec!("delete_filter", |t, admin| ExportJob::delete(t).filter(ExportJob::status().eq("failed"))),
        exec!("delete_all_rows_of_tenant", |t, admin| Setting::delete(t).all_rows()),
        fetch!("admin_select_across_tenants", |t, admin| ExportJob::admin_select(admin)
            .filter(ExportJob::status().eq("queued"))
            .order_by(ExportJob::created_at().asc())
            .limit(1)),
        exec!("admin_update_global", |t, admin| FeatureFlag::admin_update(admin)
            .set(FeatureFlag::enabled(), true)
            .filter(FeatureFlag::name().eq("beta"))),
        exec!("admin_insert_global", |t, admin| FeatureFlag::admin_insert(
            admin,
            [NewFeatureFlag { name: "beta".into(), enabled: false }]
        )),
        exec!("admin_delete_global", |t, admin| FeatureFlag::admin_delete(admin).all_rows()),
    ]
}

#[test]
fn statement_shapes() {
    let t = tenant();
    let admin = Admin::new("sql snapshots of audited cross-tenant statements");
    for case in cases() {
        assert_snapshot!(case.name, show((case.sql)(&t, &admin)));
    }
}

/// The same statements in PostgreSQL's dialect: `$n` parameters, `uuid` values, SUM and
/// AVG cast back from `numeric`.
#[test]
fn statement_shapes_postgres() {
    let t = tenant();
    let admin = Admin::new("sql snapshots of audited cross-tenant statements");
    for case in cases() {
        assert_snapshot!(format!("postgres__{}", case.name), show((case.pg)(&t, &admin)));
    }
    let all = [Project::INFO, ExportJob::INFO, WorkingClip::INFO, Setting::INFO, FeatureFlag::INFO];
    assert_snapshot!("postgres__ddl", tenantry_schema_text(&all));
}

fn tenantry_schema_text(all: &[&'static tenantry::TableInfo]) -> String {
    let mut text: Vec<String> =
        all.iter().flat_map(|info| info.postgres_ddl().into_iter().chain(info.postgres_row_security())).collect();
    text.extend(all.iter().map(|info| info.citus_distribution().expect("every seed table is distributable")));
    text.join(";\n")
}

/// A `#[unique(global)]` key cannot be enforced by Citus on a table distributed by
/// tenant: refused with a message that names the table and the fix.
#[test]
fn citus_refuses_a_table_with_a_key_unique_across_tenants() {
    #[derive(tenantry::Table, Debug)]
    #[table(name = "citus_handles", owned)]
    struct Handle {
        #[tenant]
        user_id: TenantId,
        #[primary_key]
        id: i64,
        #[unique(global)]
        handle: String,
    }
    let err = Handle::INFO.citus_distribution().unwrap_err();
    assert!(matches!(err, Error::NotDistributable { table: "citus_handles" }), "{err:?}");
    assert!(err.to_string().contains("make the key per tenant"), "{err}");
    assert_eq!(
        FeatureFlag::INFO.citus_distribution().unwrap(),
        "SELECT create_reference_table('feature_flags')",
        "a global table is copied to every worker"
    );
}

/// The same statements on layouts A (shared), B (a database per tenant) and C (hybrid:
/// export jobs shared, the rest per tenant). Each runs, except that in C a statement
/// joining per-tenant and shared tables, or a cross-tenant statement on a per-tenant
/// table, is refused with `Error::Placement`.
#[test]
fn every_statement_runs_on_every_layout() {
    let t = tenant();
    let admin = Admin::new("sql snapshot statements run on every layout");
    for (name, shared) in
        [("A", None::<&[&'static tenantry::TableInfo]>), ("B", Some(&[][..])), ("C", Some(&[ExportJob::INFO][..]))]
    {
        let dir = std::env::temp_dir().join(format!("tenantry-snapshots-{}", Uuid::new_v4()));
        // A fresh layout for each pass (the suite's inserts would conflict with a second run).
        let make = |pass: &str| {
            let dir = dir.join(pass);
            std::fs::create_dir_all(&dir).unwrap();
            let db = SqliteDatabase::open(dir.join("shared.db")).unwrap();
            match shared {
                None => Layout::shared(db).unwrap(),
                Some(tables) => {
                    Layout::builder(db).per_tenant(dir.join("tenants")).shared_tables(tables).build().unwrap()
                }
            }
        };
        let layout = make("sync");
        let mut refused = Vec::new();
        for case in cases() {
            match (case.run)(&layout, &t, &admin) {
                Ok(()) => {}
                Err(Error::Placement { .. }) => refused.push(case.name),
                Err(e) => panic!("layout {name}: {} failed: {e:?}", case.name),
            }
        }
        // The same statements through the async executor: the same answers.
        #[cfg(feature = "tokio")]
        {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).build().unwrap();
            let layout = tenantry::Async::new(make("async"));
            let mut refused_async = Vec::new();
            for case in cases() {
                match (case.async_run)(&layout, &t, &admin, &rt) {
                    Ok(()) => {}
                    Err(Error::Placement { .. }) => refused_async.push(case.name),
                    Err(e) => panic!("layout {name}, async: {} failed: {e:?}", case.name),
                }
            }
            assert_eq!(refused_async, refused, "layout {name}: async and sync refuse the same statements");
        }
        let expected: &[&str] = match name {
            "A" => &[],
            // A cross-tenant statement cannot span a file per tenant.
            "B" => &["admin_join_global", "admin_select_across_tenants"],
            // Statements that join per-tenant projects with shared export jobs.
            _ => &[
                "join_two_tables",
                "join_three_tables",
                "join_four_tables_one_left",
                "self_join_through_an_alias",
                "project_over_join",
                "in_subquery",
                "exists_correlated",
            ],
        };
        assert_eq!(refused, expected, "layout {name}");
        std::fs::remove_dir_all(dir).ok();
    }
}

/// The same statements run on PostgreSQL (through the application role, with row-level
/// security; cross-tenant ones through the admin connection).
#[cfg(feature = "postgres")]
#[test]
fn every_statement_runs_on_postgres() {
    let Some(urls) = common::pg::urls() else { return };
    common::pg::reset_schema(&urls);
    let mut owner = postgres::Client::connect(&urls.owner, postgres::NoTls).unwrap();
    owner.batch_execute("DROP TABLE IF EXISTS feature_flags").unwrap();
    for sql in FeatureFlag::INFO.postgres_ddl() {
        owner.batch_execute(&sql).unwrap();
    }
    owner
        .batch_execute(&format!("GRANT SELECT, INSERT, UPDATE, DELETE ON feature_flags TO {}", urls.admin_role))
        .unwrap();
    let db = tenantry::PgDatabase::connect(&urls.app, 2).unwrap().with_admin(&urls.admin, 1).unwrap();
    let t = tenant();
    let admin = Admin::new("sql snapshot statements run on PostgreSQL");
    for case in cases() {
        (case.pg_run)(&db, &t, &admin).unwrap_or_else(|e| panic!("{} failed on PostgreSQL: {e:?}", case.name));
    }
    // Again through the async executor, on emptied tables (the inserts would conflict).
    common::pg::truncate(&urls);
    owner.batch_execute("TRUNCATE feature_flags").unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let db = tenantry::Async::new(db);
    for case in cases() {
        (case.pg_async_run)(&db, &t, &admin, &rt)
            .unwrap_or_else(|e| panic!("{} failed on PostgreSQL, async: {e:?}", case.name));
    }
}
