// Bypass attempted: `IN (subquery)` where the subquery projects a column of another
// type than the IN column.

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

fn main() {
    let t = tenantry::TenantId::generate();
    let _ = ExportJob::select(&t).filter(ExportJob::project_id().in_subquery(Project::subquery().select(Project::name())));
}
