// Wrong: an upsert whose conflict target or update list names the tenant column (which
// tenantry sets and an upsert must never reassign), or a column of another table.

use tenantry::{Table, TenantId};

#[derive(Table)]
#[table(name = "clips", owned)]
pub struct Clip {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: i64,
    #[unique]
    pub label: String,
}

#[derive(Table)]
#[table(name = "folders", owned)]
pub struct Folder {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: i64,
    pub name: String,
}

fn main() {
    let t = TenantId::generate();
    let row = || NewClip { id: 1, label: "intro".into() };
    let _ = Clip::insert(&t, row()).on_conflict((Clip::label(),)).do_update((Clip::user_id(),));
    let _ = Clip::insert(&t, row()).on_conflict((Clip::user_id(),)).do_nothing();
    let _ = Clip::insert(&t, row()).on_conflict((Clip::label(),)).do_update((Folder::name(),));
}
