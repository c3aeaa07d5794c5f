// Bypass attempted: a `Get` (the by-key read) written as a struct literal from another
// one's fields, or with its fields read or replaced. Its fields are private.

use tenantry::{Get, Table, TenantId};

#[derive(Table, Debug)]
#[table(name = "projects", owned)]
pub struct Project {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: i64,
}

fn main() {
    let t = TenantId::generate();
    let g = Project::get(&t, 1);
    let _ = Get::<Project> { ..g };
}
