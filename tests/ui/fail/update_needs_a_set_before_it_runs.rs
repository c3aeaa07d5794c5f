// Bypass attempted: execute an UPDATE with no SET (an empty statement).

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
    let _ = db.execute(Project::update(&t));
}
