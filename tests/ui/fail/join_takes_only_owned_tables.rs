// Bypass attempted: join a global table (no tenant predicate) into a tenant statement,
// reading it without an Admin capability.

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
#[table(name = "feature_flags", global)]
pub struct FeatureFlag {
    #[primary_key]
    pub name: String,
    pub enabled: bool,
}

fn main() {
    let t = tenantry::TenantId::generate();
    let _ = Project::select(&t).join::<FeatureFlag>(FeatureFlag::name().eq_col(Project::name()));
}
