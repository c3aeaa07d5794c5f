//! The seed's tables, declared once for every integration test.
#![allow(dead_code, reason = "each test binary uses a different subset")]
#![allow(unreachable_pub, reason = "shared by several test binaries")]

#[cfg(feature = "postgres")]
pub mod pg;
#[cfg(feature = "postgres")]
pub mod proxy;
#[cfg(feature = "object-store")]
pub mod store_limits;

use tenantry::{Table, TenantId};
use uuid::Uuid;

/// `projects`, as in the seed.
#[derive(Table, Debug, Clone, PartialEq)]
#[table(name = "projects", owned)]
pub struct Project {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: Uuid,
    pub name: String,
    #[index]
    pub created_at: String,
}

/// `export_jobs`: the job queue.
#[derive(Table, Debug, Clone, PartialEq)]
#[table(name = "export_jobs", owned, index(status, created_at))]
pub struct ExportJob {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: Uuid,
    #[index]
    pub project_id: Uuid,
    pub status: String,
    pub progress: i64,
    pub output_key: Option<String>,
    pub created_at: String,
}

/// `working_clips`: clips cut from a project's video.
#[derive(Table, Debug, Clone, PartialEq)]
#[table(name = "working_clips", owned)]
pub struct WorkingClip {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: Uuid,
    #[index]
    pub project_id: Uuid,
    pub start_ms: i64,
    pub end_ms: i64,
    #[unique]
    pub label: Option<String>,
}

/// `settings`: one value per key and user.
#[derive(Table, Debug, Clone, PartialEq)]
#[table(name = "settings", owned)]
pub struct Setting {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub key: String,
    pub value: String,
}

/// A global table: no tenant column.
#[derive(Table, Debug, Clone, PartialEq)]
#[table(name = "feature_flags", global)]
pub struct FeatureFlag {
    #[primary_key]
    pub name: String,
    pub enabled: bool,
}

pub fn open_seed_db() -> tenantry::SqliteDatabase {
    let db = tenantry::SqliteDatabase::open_in_memory().expect("in-memory database");
    db.create_table::<Project>().unwrap();
    db.create_table::<ExportJob>().unwrap();
    db.create_table::<WorkingClip>().unwrap();
    db.create_table::<Setting>().unwrap();
    db.create_table::<FeatureFlag>().unwrap();
    db
}

/// The one rule for a test whose server is not configured: under `CI=true` the test fails
/// (a skipped test must never count as passed in CI); elsewhere it prints a notice and the
/// caller skips. `what` names the missing variables and how to get them.
pub fn server_missing(what: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    if ci {
        panic!("{what}; CI=true, so this is a failure, not a skip (.ci/run must start the server)");
    }
    eprintln!("notice: {what}; skipping this test");
}

pub fn admin_tenant(reason: &'static str, id: Uuid) -> TenantId {
    tenantry::Admin::new(reason).mint_tenant(id)
}
