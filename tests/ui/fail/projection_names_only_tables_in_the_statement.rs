// Wrong: a projection or a group naming a column of a table that is not in the statement
// (no join brings `clips` in). The tenant predicate covers only the statement's tables.

use tenantry::{Table, TenantId};
use uuid::Uuid;

#[derive(Table)]
#[table(name = "folders", owned)]
pub struct Folder {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: Uuid,
    pub name: String,
}

#[derive(Table)]
#[table(name = "clips", owned)]
pub struct Clip {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: Uuid,
    pub title: String,
}

fn main() {
    let t = TenantId::generate();
    let _ = Folder::select(&t).columns((Folder::name(), Clip::title()));
    let _ = Folder::select(&t).group_by(Clip::title()).count();
}
