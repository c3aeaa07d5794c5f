// Bypass attempted: join a table by name with a sea-query style `inner_join`, so that
// the joined table gets no tenant predicate.

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
    let _ = Project::select(&t).inner_join("export_jobs", sea_query::Expr::cust("1 = 1"));
}
