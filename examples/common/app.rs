//! The video-clip service's tables, object keys, migrations and layout: shared by the
//! server (`server.rs`) and its operator command line (`ops.rs`), so both see the same
//! schema.
#![allow(unreachable_pub, dead_code, reason = "shared by two examples, each using part of it")]

use std::path::Path;

use tenantry::{Admin, LayoutBuilder, Migrations, ObjectKey, SqliteDatabase, Table, TenantId};
use uuid::Uuid;

#[derive(Table, Debug)]
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

#[derive(Table, Debug)]
#[table(name = "export_jobs", owned, index(status, created_at))]
pub struct ExportJob {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: Uuid,
    #[index]
    pub project_id: Uuid,
    pub status: String,
    pub created_at: String,
}

/// `{user_id}/input/{job_id}/video.mp4`, as in the seed's R2 layout.
#[derive(ObjectKey)]
#[key("{tenant}/input/{job_id}/video.mp4")]
pub struct InputVideo {
    pub job_id: Uuid,
}

/// `{user_id}/output/{job_id}/video.mp4`: what the worker renders.
#[derive(ObjectKey)]
#[key("{tenant}/output/{job_id}/video.mp4")]
pub struct OutputVideo {
    pub job_id: Uuid,
}

/// The schema's migrations after version 1 (the tables as first declared). Append only:
/// each database records a checksum of every migration it ran.
pub fn migrations(admin: &Admin) -> Migrations {
    Migrations::new(admin).add(
        2,
        "export jobs by status",
        "CREATE INDEX IF NOT EXISTS idx_export_jobs_status_seen ON export_jobs (user_id, status)",
    )
}

/// Where the data lives: `LAYOUT=per-tenant` keeps each tenant's projects in a file of its
/// own (layout C: export jobs stay shared, for the worker); otherwise one database.
pub fn layout(shared: SqliteDatabase, dir: &Path) -> LayoutBuilder {
    let builder = tenantry::Layout::builder(shared);
    match std::env::var("LAYOUT").as_deref() {
        Ok("per-tenant") => builder.per_tenant(dir.join("tenants")).shared_tables(&[ExportJob::INFO]),
        _ => builder,
    }
}
