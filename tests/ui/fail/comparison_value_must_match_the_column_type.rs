// Bypass attempted: compare a column with a value of another type (e.g. a TenantId or
// an integer where a text or Uuid column is expected).

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
    let _ = Project::select(&t).filter(Project::name().eq(5_i64));
    let _ = Project::select(&t).filter(Project::id().eq(t));
}
