// Bypass attempted: build a `Get` (the by-key read) without going through
// `Table::get(&tenant, key)`: its constructor, `Default`, or a `Get` made for one table
// handed over as another table's. (A struct literal: `get_has_no_struct_literal.rs`.)

use tenantry::{Get, Table, TenantId};

#[derive(Table, Debug)]
#[table(name = "projects", owned)]
pub struct Project {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: i64,
}

#[derive(Table, Debug)]
#[table(name = "notes", owned)]
pub struct Note {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: i64,
}

fn main() {
    let _ = Get::<Project>::new;
    let _: Get<Project> = Default::default();
    let t = TenantId::generate();
    let _: Get<Note> = Project::get(&t, 1);
}
