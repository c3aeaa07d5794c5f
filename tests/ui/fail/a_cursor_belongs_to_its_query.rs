// Wrong: a page cursor of one query (over `clips`) handed to a keyset over another table.
// Cursors are typed by their query's tables; at run time they are also bound to the
// statement and the tenant.

use tenantry::{Table, TenantId};

#[derive(Table)]
#[table(name = "clips", owned)]
pub struct Clip {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: i64,
}

#[derive(Table)]
#[table(name = "folders", owned)]
pub struct Folder {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: i64,
}

fn main() -> tenantry::Result<()> {
    let t = TenantId::generate();
    let clips = Clip::select(&t).keyset((Clip::id().asc(),))?;
    let folders = Folder::select(&t).keyset((Folder::id().asc(),))?;
    let cursor = clips.parse_cursor("")?;
    let _ = folders.after(&cursor, 20);
    // Nor can a keyset order by another table's column.
    let _ = Clip::select(&t).keyset((Folder::id().asc(),));
    Ok(())
}
