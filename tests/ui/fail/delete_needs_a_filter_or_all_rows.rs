// Bypass attempted: execute a DELETE that never said which rows (neither `.filter`
// nor `.all_rows()`).

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
    let _ = db.execute(Project::delete(&t));
}
