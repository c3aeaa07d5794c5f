// Wrong: decoding a projection into a struct whose fields do not have the projected
// columns' types (here in the wrong order), or a struct the projection cannot fill.

use tenantry::{Projection, Table, TenantId};

#[derive(Table)]
#[table(name = "projects", owned)]
pub struct Project {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: i64,
    pub name: String,
}

#[derive(Projection)]
pub struct Swapped {
    pub name: String,
    pub id: i64,
}

fn main() {
    let t = TenantId::generate();
    let _ = Project::select(&t).columns((Project::id(), Project::name())).into_rows::<Swapped>();
}
