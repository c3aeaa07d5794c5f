// Bypass attempted: filter on the tenant column itself (to name another tenant, or to
// OR it away).

#[derive(tenantry::Table)]
#[table(name = "projects", owned)]
pub struct Project {
    #[tenant]
    pub user_id: tenantry::TenantId,
    #[primary_key]
    pub id: uuid::Uuid,
    pub name: String,
}

fn main() {
    let t = tenantry::TenantId::generate();
    let _ = Project::select(&t).filter(Project::user_id().eq(uuid::Uuid::nil()));
    let _ = Project::select(&t).order_by(Project::user_id().asc());
}
