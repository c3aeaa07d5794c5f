// Normal cross-tenant work through an audited Admin capability compiles and runs:
// Admin::new + admin.mint_tenant(uuid), admin_select on owned and global tables,
// admin_insert/admin_update/admin_delete, raw_sql with bind and fetch_raw.

use std::sync::atomic::{AtomicUsize, Ordering};

use tenantry::{Admin, AuditAction, SqliteDatabase, Table, TenantId};
use uuid::Uuid;

#[derive(Table, Debug, Clone, PartialEq)]
#[table(name = "export_jobs", owned)]
pub struct ExportJob {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: Uuid,
    pub status: String,
}

#[derive(Table, Debug, Clone, PartialEq)]
#[table(name = "feature_flags", global)]
pub struct FeatureFlag {
    #[primary_key]
    pub name: String,
    pub enabled: bool,
}

static MINTS: AtomicUsize = AtomicUsize::new(0);
static UNSCOPED: AtomicUsize = AtomicUsize::new(0);

fn main() -> tenantry::Result<()> {
    tenantry::set_audit_hook(|event| match event.action {
        AuditAction::MintTenant { .. } => {
            MINTS.fetch_add(1, Ordering::SeqCst);
        }
        AuditAction::Unscoped { .. } => {
            UNSCOPED.fetch_add(1, Ordering::SeqCst);
        }
        _ => {}
    });
    let db = SqliteDatabase::open_in_memory()?;
    db.create_table::<ExportJob>()?;
    db.create_table::<FeatureFlag>()?;
    let alice = TenantId::generate();
    let job = Uuid::new_v4();
    db.execute(ExportJob::insert(&alice, NewExportJob { id: job, status: "queued".into() }))?;

    // A worker claims the next job across tenants, then acts for that job's tenant.
    let admin = Admin::new("export worker claims the next job");
    assert_eq!(admin.reason(), "export worker claims the next job");
    let next = db.fetch_one(
        ExportJob::admin_select(&admin).filter(ExportJob::status().eq("queued")).limit(1),
    )?;
    assert_eq!(next.user_id, alice);
    // The row handed out its stored tenant id: that is a mint, and the hook saw it.
    assert_eq!(MINTS.load(Ordering::SeqCst), 1);
    let tenant = admin.mint_tenant(next.user_id.as_uuid());
    assert_eq!(MINTS.load(Ordering::SeqCst), 2);
    assert_eq!(tenant, alice);
    assert_eq!(
        db.execute(ExportJob::update(&tenant).set(ExportJob::status(), "running").filter(ExportJob::id().eq(job)))?,
        1
    );

    // Global tables: insert, select, update, delete through the capability.
    let flags = Admin::new("seed feature flags");
    db.execute(FeatureFlag::admin_insert(
        &flags,
        [
            NewFeatureFlag { name: "beta".into(), enabled: true },
            NewFeatureFlag { name: "dark".into(), enabled: false },
        ],
    ))?;
    let on = db.fetch_all(FeatureFlag::admin_select(&flags).filter(FeatureFlag::enabled().eq(true)))?;
    assert_eq!(on, [FeatureFlag { name: "beta".into(), enabled: true }]);
    assert_eq!(db.execute(FeatureFlag::admin_update(&flags).set(FeatureFlag::enabled(), true).all_rows())?, 2);
    assert_eq!(db.execute(FeatureFlag::admin_delete(&flags).filter(FeatureFlag::name().eq("dark")))?, 1);
    assert_eq!(db.execute(ExportJob::admin_delete(&admin).filter(ExportJob::status().eq("gone")))?, 0);

    // Raw SQL: a static string, values bound.
    let raw = Admin::new("report: jobs per status");
    let rows = db.fetch_raw(
        raw.raw_sql("SELECT status, COUNT(*) FROM export_jobs WHERE status <> ? GROUP BY status").bind("done"),
        |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)),
    )?;
    assert_eq!(rows, [("running".to_owned(), 1)]);
    assert_eq!(db.execute(raw.raw_sql("UPDATE feature_flags SET enabled = ?").bind(false))?, 1);
    assert!(UNSCOPED.load(Ordering::SeqCst) >= 7);
    Ok(())
}
