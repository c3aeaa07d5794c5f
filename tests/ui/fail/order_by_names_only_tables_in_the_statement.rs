// Bypass attempted: ORDER BY a column of a table that is not in the statement.

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
    let _ = Project::select(&t).order_by(ExportJob::status().asc());
}
