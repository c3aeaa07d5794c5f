//! SQL snapshots of every statement shape and of the generated DDL, for the seed's tables.
//!
//! Each snapshot shows the SQL text and the bound parameters: values appear only as
//! parameters, the tenant is always one of them, and every owned table in a statement
//! carries its tenant predicate. CI runs with `INSTA_UPDATE=no`: a changed statement fails.

mod common;

use common::{
    ExportJob, FeatureFlag, NewExportJob, NewFeatureFlag, NewProject, NewSetting, Project, Setting, WorkingClip,
};
use insta::assert_snapshot;
use tenantry::{Admin, Sql, Table, TenantId, exists, not_exists};
use uuid::Uuid;

fn tenant() -> TenantId {
    Admin::new("sql snapshots use a fixed tenant").tenant(Uuid::from_u128(0xa))
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn show(sql: tenantry::Result<Sql>) -> String {
    let sql = sql.expect("renders");
    let params: Vec<String> = sql.params.iter().map(|p| format!("{p:?}")).collect();
    format!("{}\n-- params: [{}]", sql.sql, params.join(", "))
}

fn new_project(n: u128) -> NewProject {
    NewProject { id: id(n), name: format!("project {n}"), created_at: "2026-11-27 10:00:00".into() }
}

#[test]
fn ddl() {
    let all = [Project::INFO, ExportJob::INFO, WorkingClip::INFO, Setting::INFO, FeatureFlag::INFO];
    let text: Vec<String> = all.iter().flat_map(|info| info.ddl()).collect();
    assert_snapshot!("ddl", text.join(";\n"));
}

#[test]
fn select_shapes() {
    let t = tenant();
    assert_snapshot!("select_all", show(Project::select(&t).to_sql()));
    assert_snapshot!("get_by_key", show(Project::get(&t, id(1)).to_sql()));
    assert_snapshot!(
        "select_comparisons",
        show(
            ExportJob::select(&t)
                .filter(ExportJob::progress().gt(10_i64))
                .filter(ExportJob::progress().le(90_i64))
                .filter(ExportJob::status().ne("failed"))
                .filter(ExportJob::created_at().ge("2026-01-01").and(ExportJob::created_at().lt("2027-01-01")))
                .to_sql()
        )
    );
    assert_snapshot!(
        "select_or_not_is_wrapped_inside_tenant",
        show(
            Project::select(&t)
                .filter(Project::name().eq("a").or(Project::name().like("%cup%")).or(Project::id().eq(id(2)).not()))
                .to_sql()
        )
    );
    assert_snapshot!(
        "select_in_lists",
        show(
            ExportJob::select(&t)
                .filter(ExportJob::status().is_in(["queued", "running"]))
                .filter(ExportJob::id().not_in([id(3)]))
                .to_sql()
        )
    );
    assert_snapshot!(
        "select_empty_in_lists",
        show(
            ExportJob::select(&t)
                .filter(
                    ExportJob::status()
                        .is_in(Vec::<String>::new())
                        .or(ExportJob::status().not_in(Vec::<String>::new()))
                )
                .to_sql()
        )
    );
    assert_snapshot!(
        "select_like_and_nulls",
        show(
            ExportJob::select(&t)
                .filter(ExportJob::output_key().is_null().or(ExportJob::output_key().not_like("%.tmp")))
                .filter(ExportJob::output_key().is_not_null())
                .to_sql()
        )
    );
    assert_snapshot!(
        "select_order_limit_offset",
        show(
            Project::select(&t)
                .order_by(Project::created_at().desc())
                .order_by(Project::name().asc())
                .limit(20)
                .offset(40)
                .to_sql()
        )
    );
    assert_snapshot!("select_offset_without_limit", show(Project::select(&t).offset(5).to_sql()));
}

#[test]
fn aggregate_shapes() {
    let t = tenant();
    assert_snapshot!("count", show(Project::select(&t).filter(Project::name().like("a%")).count().to_sql()));
    assert_snapshot!("sum", show(ExportJob::select(&t).sum(ExportJob::progress()).to_sql()));
    assert_snapshot!("avg", show(ExportJob::select(&t).avg(ExportJob::progress()).to_sql()));
    assert_snapshot!("min", show(Project::select(&t).min(Project::created_at()).to_sql()));
    assert_snapshot!("max", show(WorkingClip::select(&t).max(WorkingClip::end_ms()).to_sql()));
}

#[test]
fn join_shapes() {
    let t = tenant();
    assert_snapshot!(
        "join_two_tables",
        show(
            Project::select(&t)
                .join::<ExportJob>(ExportJob::project_id().eq_col(Project::id()))
                .filter(ExportJob::status().eq("done"))
                .order_by(ExportJob::created_at().desc())
                .to_sql()
        )
    );
    assert_snapshot!(
        "join_three_tables",
        show(
            Project::select(&t)
                .join::<ExportJob>(ExportJob::project_id().eq_col(Project::id()))
                .join::<WorkingClip>(WorkingClip::project_id().eq_col(Project::id()))
                .filter(Project::id().eq(id(4)).or(WorkingClip::label().is_null()))
                .count()
                .to_sql()
        )
    );
}

#[test]
fn subquery_shapes() {
    let t = tenant();
    assert_snapshot!(
        "in_subquery",
        show(
            Project::select(&t)
                .filter(
                    Project::id().in_sub(
                        ExportJob::sub().filter(ExportJob::status().eq("done")).select(ExportJob::project_id())
                    )
                )
                .to_sql()
        )
    );
    assert_snapshot!(
        "not_in_subquery",
        show(
            Project::select(&t)
                .filter(Project::id().not_in_sub(WorkingClip::sub().select(WorkingClip::project_id())))
                .to_sql()
        )
    );
    assert_snapshot!(
        "exists_correlated",
        show(
            Project::select(&t)
                .filter(exists(ExportJob::sub().filter(ExportJob::project_id().eq_col(Project::id()))))
                .filter(not_exists(WorkingClip::sub().filter(WorkingClip::project_id().eq_col(Project::id()))))
                .to_sql()
        )
    );
    assert_snapshot!(
        "delete_with_subquery",
        show(
            WorkingClip::delete(&t)
                .filter(
                    WorkingClip::project_id()
                        .in_sub(Project::sub().filter(Project::name().eq("old")).select(Project::id()))
                )
                .to_sql()
        )
    );
}

#[test]
fn write_shapes() {
    let t = tenant();
    assert_snapshot!("insert_one", show(Project::insert(&t, new_project(5)).to_sql()));
    // 4 columns per row: 25 rows fit under the 100-parameter limit; this shows the first chunk.
    assert_snapshot!(
        "insert_many_first_chunk_of_three",
        show(Project::insert_many(&t, (0..3).map(new_project)).to_sql())
    );
    assert_snapshot!(
        "insert_nullable",
        show(
            ExportJob::insert(
                &t,
                NewExportJob {
                    id: id(6),
                    project_id: id(5),
                    status: "queued".into(),
                    progress: 0,
                    output_key: None,
                    created_at: "2026-11-27 10:00:00".into(),
                }
            )
            .to_sql()
        )
    );
    assert_snapshot!(
        "upsert",
        show(Setting::upsert(&t, NewSetting { key: "theme".into(), value: "dark".into() }).to_sql())
    );
    assert_snapshot!(
        "update_by_key",
        show(Project::update(&t).set(Project::name(), "Final cut").filter(Project::id().eq(id(5))).to_sql())
    );
    assert_snapshot!(
        "update_many_columns_all_rows",
        show(
            ExportJob::update(&t)
                .set(ExportJob::status(), "cancelled")
                .set(ExportJob::output_key(), None::<String>)
                .to_sql()
        )
    );
    assert_snapshot!("delete_by_key", show(Project::delete_by_key(&t, id(5)).to_sql()));
    assert_snapshot!("delete_filter", show(ExportJob::delete(&t).filter(ExportJob::status().eq("failed")).to_sql()));
    assert_snapshot!("delete_all_rows_of_tenant", show(Setting::delete(&t).all_rows().to_sql()));
}

#[test]
fn admin_shapes() {
    let admin = Admin::new("sql snapshots of audited cross-tenant statements");
    assert_snapshot!(
        "admin_select_across_tenants",
        show(
            ExportJob::admin_select(&admin)
                .filter(ExportJob::status().eq("queued"))
                .order_by(ExportJob::created_at().asc())
                .limit(1)
                .to_sql()
        )
    );
    assert_snapshot!(
        "admin_update_global",
        show(
            FeatureFlag::admin_update(&admin)
                .set(FeatureFlag::enabled(), true)
                .filter(FeatureFlag::name().eq("beta"))
                .to_sql()
        )
    );
    assert_snapshot!(
        "admin_insert_global",
        show(FeatureFlag::admin_insert(&admin, [NewFeatureFlag { name: "beta".into(), enabled: false }]).to_sql())
    );
    assert_snapshot!("admin_delete_global", show(FeatureFlag::admin_delete(&admin).all_rows().to_sql()));
}
