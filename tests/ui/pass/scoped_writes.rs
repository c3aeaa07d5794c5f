// Normal tenant-scoped writes compile and touch only the tenant's rows: insert,
// insert_many, upsert, update set/filter, delete filter/all_rows, delete_by_key,
// and a transaction.

use tenantry::{SqliteDatabase, Table, TenantId};
use uuid::Uuid;

#[derive(Table, Debug, Clone, PartialEq)]
#[table(name = "settings", owned)]
pub struct Setting {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub key: String,
    pub value: String,
    pub note: Option<String>,
}

#[derive(Table, Debug, Clone, PartialEq)]
#[table(name = "projects", owned)]
pub struct Project {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: Uuid,
    pub name: String,
}

fn setting(key: &str, value: &str) -> NewSetting {
    NewSetting { key: key.into(), value: value.into(), note: None }
}

fn main() -> tenantry::Result<()> {
    let db = SqliteDatabase::open_in_memory()?;
    db.create_table::<Setting>()?;
    db.create_table::<Project>()?;
    let alice = TenantId::generate();
    let bob = TenantId::generate();

    // insert / insert_many; both tenants may use the same keys
    assert_eq!(db.execute(Setting::insert(&alice, setting("theme", "dark")))?, 1);
    assert_eq!(db.execute(Setting::insert_many(&alice, [setting("lang", "en"), setting("tz", "UTC")]))?, 2);
    assert_eq!(db.execute(Setting::insert(&bob, setting("theme", "light")))?, 1);
    // A big insert_many is chunked under the parameter limit, all or nothing.
    let many: Vec<_> = (0..250).map(|i| NewProject { id: Uuid::new_v4(), name: format!("p{i}") }).collect();
    assert_eq!(db.execute(Project::insert_many(&bob, many))?, 250);
    assert_eq!(db.fetch_one(Project::select(&bob).count())?, 250);
    assert_eq!(db.fetch_one(Project::select(&alice).count())?, 0);

    // upsert replaces only the tenant's own row
    db.execute(Setting::upsert(&alice, NewSetting { note: Some("changed".into()), ..setting("theme", "solarized") }))?;
    assert_eq!(db.fetch_one(Setting::get(&alice, "theme"))?.value, "solarized");
    assert_eq!(db.fetch_one(Setting::get(&bob, "theme"))?.value, "light");

    // update set / filter
    let n = db.execute(
        Setting::update(&alice)
            .set(Setting::value(), "fr")
            .set(Setting::note(), "by test")
            .filter(Setting::key().eq("lang")),
    )?;
    assert_eq!(n, 1);
    let lang = db.fetch_one(Setting::get(&alice, "lang"))?;
    assert_eq!((lang.value.as_str(), lang.note.as_deref()), ("fr", Some("by test")));
    // An update of every row of the tenant says so, and changes none of Bob's.
    assert_eq!(db.execute(Setting::update(&bob).set(Setting::note(), None::<String>).all_rows())?, 1);
    assert_eq!(db.execute(Setting::update(&alice).set(Setting::note(), "all").all_rows())?, 3);
    assert_eq!(db.fetch_one(Setting::get(&bob, "theme"))?.note, None);
    // Bob cannot update Alice's row by key: it looks missing.
    assert_eq!(db.execute(Setting::update(&bob).set(Setting::value(), "x").filter(Setting::key().eq("tz")))?, 0);

    // delete filter / delete_by_key / all_rows
    assert_eq!(db.execute(Setting::delete(&bob).filter(Setting::key().eq("lang")))?, 0);
    assert_eq!(db.execute(Setting::delete(&alice).filter(Setting::key().eq("lang")))?, 1);
    assert_eq!(db.execute(Setting::delete_by_key(&bob, "tz"))?, 0);
    assert_eq!(db.execute(Setting::delete_by_key(&alice, "tz"))?, 1);
    assert_eq!(db.execute(Setting::delete(&alice).all_rows())?, 1);
    assert_eq!(db.fetch_one(Setting::select(&alice).count())?, 0);
    assert_eq!(db.fetch_one(Setting::select(&bob).count())?, 1);

    // transaction: commits on Ok
    db.transaction(|tx| {
        tx.execute(Setting::insert(&alice, setting("a", "1")))?;
        tx.execute(Setting::update(&alice).set(Setting::value(), "2").filter(Setting::key().eq("a")))?;
        Ok(())
    })?;
    assert_eq!(db.fetch_one(Setting::get(&alice, "a"))?.value, "2");
    Ok(())
}
