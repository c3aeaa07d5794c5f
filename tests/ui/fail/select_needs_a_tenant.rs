// Bypass attempted: build a SELECT on an owned table without a tenant, either by
// leaving the argument out or by passing a bare Uuid where a `&TenantId` is expected.

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
    let _ = Project::select();
    let _ = Project::select(&uuid::Uuid::nil());
    let _ = Project::get(uuid::Uuid::nil());
}
