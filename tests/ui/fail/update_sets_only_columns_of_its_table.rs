// Bypass attempted: an UPDATE of one table that assigns a column of another table.

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
    let _ = Project::update(&t).set(ExportJob::status(), "done");
}
