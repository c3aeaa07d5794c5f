// Bypass attempted: build an UPDATE on an owned table without a tenant (no argument,
// or a bare Uuid instead of a `&TenantId`).

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
    let _ = Project::update().set(Project::name(), "x");
    let _ = Project::update(&uuid::Uuid::nil()).set(Project::name(), "x");
}
