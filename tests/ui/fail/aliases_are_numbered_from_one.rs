// Wrong: alias 0 would be the table itself under another name. Aliases count from 1.

use tenantry::{As, SqliteDatabase, Table, TenantId};

#[derive(Table)]
#[table(name = "projects", owned)]
pub struct Project {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: i64,
    pub parent: Option<i64>,
}

fn main() {
    let db = SqliteDatabase::open_in_memory().unwrap();
    let t = TenantId::generate();
    let q = Project::select(&t).join::<As<Project, 0>>(As::<Project, 0>::col(Project::id()).eq_col(Project::parent()));
    let _ = db.fetch_all(q);
}
