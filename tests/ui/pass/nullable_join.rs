// A join on a nullable foreign key: `Option<Uuid>` meets `Uuid` (either way round); a row
// whose key is NULL joins nothing; another tenant's rows never join.

use tenantry::{SqliteDatabase, Table, TenantId};
use uuid::Uuid;

#[derive(Table, Debug)]
#[table(name = "folders", owned)]
pub struct Folder {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: Uuid,
    pub name: String,
}

#[derive(Table, Debug)]
#[table(name = "clips", owned)]
pub struct Clip {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: Uuid,
    pub folder_id: Option<Uuid>,
    pub title: String,
}

fn main() -> tenantry::Result<()> {
    let db = SqliteDatabase::open_in_memory()?;
    db.create_table::<Folder>()?;
    db.create_table::<Clip>()?;
    let (alice, bob) = (TenantId::generate(), TenantId::generate());
    let folder = Uuid::from_u128(1);
    for t in [&alice, &bob] {
        db.execute(Folder::insert(t, NewFolder { id: folder, name: format!("{t} folder") }))?;
    }
    db.execute(Clip::insert(&alice, NewClip { id: Uuid::from_u128(10), folder_id: Some(folder), title: "in".into() }))?;
    db.execute(Clip::insert(&alice, NewClip { id: Uuid::from_u128(11), folder_id: None, title: "loose".into() }))?;

    let joined = db.fetch_all(Clip::select(&alice).join::<Folder>(Folder::id().eq_col(Clip::folder_id())))?;
    assert_eq!(joined.len(), 1);
    assert_eq!((joined[0].0.title.as_str(), joined[0].1.name.clone()), ("in", format!("{alice} folder")));
    // The other way round: `Option<Uuid>` on the left.
    let joined = db.fetch_all(Folder::select(&alice).join::<Clip>(Clip::folder_id().eq_col(Folder::id())))?;
    assert_eq!(joined.len(), 1);
    // Bob's folder has the same id; none of Alice's clips join it, and he sees none of hers.
    assert!(db.fetch_all(Clip::select(&bob).join::<Folder>(Folder::id().eq_col(Clip::folder_id())))?.is_empty());
    Ok(())
}
