// Bypass attempted: a condition on a column of a table that is not in the statement
// (it would reach a table without its tenant predicate), in a select, update and delete.

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
    let _ = Project::select(&t).filter(ExportJob::status().eq("x"));
    let _ = Project::update(&t).set(Project::name(), "x").filter(ExportJob::status().eq("x"));
    let _ = Project::delete(&t).filter(ExportJob::status().eq("x"));
}
