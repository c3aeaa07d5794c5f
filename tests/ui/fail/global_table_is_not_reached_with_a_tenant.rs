// Bypass attempted: reach a global table with a TenantId instead of an Admin capability.

#[derive(tenantry::Table)]
#[table(name = "feature_flags", global)]
pub struct FeatureFlag {
    #[primary_key]
    pub name: String,
    pub enabled: bool,
}

fn main() {
    let t = tenantry::TenantId::generate();
    let _ = FeatureFlag::select(&t);
    let _ = FeatureFlag::update(&t);
    let _ = FeatureFlag::delete(&t);
    let _ = FeatureFlag::subquery::<()>();
}
