//! A job queue shared by every tenant: the cross-tenant claim finds the next job through
//! an index that does not lead with the tenant column, instead of scanning every tenant's
//! jobs on each poll.

use tenantry::{Admin, Layout, SqliteDatabase, Table, TenantId};
use uuid::Uuid;

#[derive(Table, Debug)]
#[table(name = "render_jobs", owned, index_across_tenants(status, created_at))]
struct RenderJob {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    id: Uuid,
    status: String,
    created_at: String,
}

#[test]
fn the_claim_uses_the_index_across_tenants() {
    // The DDL: the ordinary primary key leads with the tenant; the declared index does not.
    let ddl = RenderJob::INFO.sqlite_ddl();
    assert_eq!(
        ddl[1],
        r#"CREATE INDEX IF NOT EXISTS "idx_render_jobs_x_status_created_at" ON "render_jobs" ("status", "created_at")"#
    );
    assert!(RenderJob::INFO.postgres_ddl()[1].contains(r#"("status", "created_at")"#));

    let layout = Layout::shared(SqliteDatabase::open_in_memory().unwrap()).unwrap();
    let tenants: Vec<TenantId> = (0..50).map(|_| TenantId::generate()).collect();
    for (n, t) in tenants.iter().enumerate() {
        for k in 0..20u128 {
            let status = if k == 0 && n == 17 { "queued" } else { "done" };
            let row =
                NewRenderJob { id: Uuid::from_u128(k), status: status.into(), created_at: format!("{n:03}-{k:03}") };
            layout.execute(RenderJob::insert(t, row)).unwrap();
        }
    }
    // The claim's statement, as the planner sees it: a search of the index, no scan of
    // every tenant's jobs (without the index the plan is `SCAN render_jobs`).
    let admin = Admin::new("job queue test: explain the claim");
    let claim = RenderJob::admin_select(&admin)
        .filter(RenderJob::status().eq("queued"))
        .order_by(RenderJob::created_at().asc())
        .limit(1);
    let sql: &'static str = format!("EXPLAIN QUERY PLAN {}", claim.to_sql().unwrap().text).leak();
    let plan: Vec<String> =
        layout.shared_database().fetch_raw(admin.raw_sql(sql).bind("queued").bind(1), |r| r.get(3)).unwrap();
    assert!(plan.iter().any(|p| p.contains("USING INDEX idx_render_jobs_x_status_created_at")), "{plan:?}");
    assert!(!plan.iter().any(|p| p.starts_with("SCAN")), "{plan:?}");

    let worker = Admin::new("job queue test: the render worker");
    let (tenant, job) = layout
        .claim_next(
            &worker,
            RenderJob::status().eq("queued"),
            RenderJob::created_at().asc(),
            RenderJob::status(),
            "running",
        )
        .unwrap()
        .unwrap();
    assert_eq!((tenant, job.status.as_str(), job.created_at.as_str()), (tenants[17], "running", "017-000"));
    assert!(
        layout
            .claim_next(
                &worker,
                RenderJob::status().eq("queued"),
                RenderJob::created_at().asc(),
                RenderJob::status(),
                "running"
            )
            .unwrap()
            .is_none()
    );
}
