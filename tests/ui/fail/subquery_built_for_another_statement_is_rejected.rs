// Bypass attempted: build a subquery for one statement (outer source WorkingClip) and
// embed it in another (outer source Project), so its correlated condition names a table
// that is not in the outer statement.

#[derive(tenantry::Table)]
#[table(name = "projects", owned)]
pub struct Project {
    #[tenant]
    pub user_id: tenantry::TenantId,
    #[primary_key]
    pub id: uuid::Uuid,
    pub name: String,
}

#[derive(tenantry::Table)]
#[table(name = "export_jobs", owned)]
pub struct ExportJob {
    #[tenant]
    pub user_id: tenantry::TenantId,
    #[primary_key]
    pub id: uuid::Uuid,
    pub project_id: uuid::Uuid,
    pub status: String,
}

#[derive(tenantry::Table)]
#[table(name = "working_clips", owned)]
pub struct WorkingClip {
    #[tenant]
    pub user_id: tenantry::TenantId,
    #[primary_key]
    pub id: uuid::Uuid,
    pub project_id: uuid::Uuid,
}

use tenantry::exists;
use tenantry::source::{End, Tables};

fn main() {
    let t = tenantry::TenantId::generate();
    let sub = ExportJob::subquery::<Tables<WorkingClip, End>>()
        .filter(ExportJob::project_id().eq_col(WorkingClip::project_id()));
    let _ = Project::select(&t).filter(exists(sub));
}
