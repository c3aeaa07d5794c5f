// Bypass attempted: build a DELETE on an owned table without a tenant (no argument,
// a bare Uuid, or delete_by_key without the tenant).

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
    let _ = Project::delete().all_rows();
    let _ = Project::delete(&uuid::Uuid::nil()).all_rows();
    let _ = Project::delete_by_key(uuid::Uuid::nil());
}
