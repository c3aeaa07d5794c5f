// Bypass attempted: insert rows of an owned table through an Admin (unscoped insert),
// choosing the tenant freely.

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
    let admin = tenantry::Admin::new("backfill");
    let _ = Project::admin_insert(&admin, [NewProject { id: uuid::Uuid::nil(), name: "x".into() }]);
}
