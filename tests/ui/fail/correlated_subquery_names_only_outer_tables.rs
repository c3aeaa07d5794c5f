// Bypass attempted: a correlated subquery whose condition names a table that is neither
// the subquery's table nor one of the outer statement's tables.

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

fn main() {
    let t = tenantry::TenantId::generate();
    let _ = Project::select(&t).filter(exists(
        ExportJob::subquery().filter(ExportJob::project_id().eq_col(WorkingClip::project_id())),
    ));
}
