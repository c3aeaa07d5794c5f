// Bypass attempted: a self-join (same table twice, no alias), where column references
// are ambiguous.

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
    let _ = Project::select(&t).join::<Project>(Project::id().eq_col(Project::id()));
}
