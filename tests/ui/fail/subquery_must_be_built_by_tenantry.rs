// Bypass attempted: embed a hand-built (unscoped) sea-query SELECT as an IN or EXISTS
// subquery of a scoped statement.

#[derive(tenantry::Table)]
#[table(name = "projects", owned)]
pub struct Project {
    #[tenant]
    pub user_id: tenantry::TenantId,
    #[primary_key]
    pub id: uuid::Uuid,
    pub name: String,
}

use tenantry::exists;

fn main() {
    let t = tenantry::TenantId::generate();
    let mut raw = sea_query::Query::select();
    raw.column("id").from("projects");
    let _ = Project::select(&t).filter(Project::id().in_subquery(raw.clone()));
    let _ = Project::select(&t).filter(exists(raw));
}
