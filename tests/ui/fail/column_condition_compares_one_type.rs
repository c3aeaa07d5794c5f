// Wrong: a join condition between columns of unrelated types (a UUID key with a text
// column). Only the same type, or a type and its Option, compare.

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
    pub folder_id: Option<Uuid>,
}

fn main() {
    let t = TenantId::generate();
    let _ = Clip::select(&t).join::<Folder>(Folder::name().eq_col(Clip::folder_id()));
}
