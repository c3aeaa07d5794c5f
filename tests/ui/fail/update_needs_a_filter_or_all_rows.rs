// Bypass attempted: execute an UPDATE that never said which rows (neither `.filter` nor
// `.all_rows()`): it would change every row the tenant owns by accident.

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
    let db = tenantry::SqliteDatabase::open_in_memory().unwrap();
    let t = tenantry::TenantId::generate();
    let _ = db.execute(Project::update(&t).set(Project::name(), "renamed all"));
    let _ = db.execute(Project::update(&t).set(Project::name(), "a").set(Project::name(), "b"));
}
