// Bypass attempted: move rows to another tenant by assigning the tenant column in an
// UPDATE (first SET or a later one).

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
    let mine = tenantry::TenantId::generate();
    let theirs = tenantry::TenantId::generate();
    let _ = Project::update(&mine).set(Project::user_id(), theirs);
    let _ = Project::update(&mine)
        .set(Project::name(), "x")
        .set(Project::user_id(), theirs.as_uuid());
}
