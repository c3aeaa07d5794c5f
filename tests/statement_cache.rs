//! Rendered SQL is cached per statement shape, and by-key statements use a per-table slot.
//! A cached rendering must never be served for a different shape: these tests fill the
//! caches with one shape and then run close variants that must behave differently.

mod common;

use common::{NewProject, Project};
use tenantry::TenantId;
use uuid::Uuid;

fn setup() -> (tenantry::SqliteDatabase, TenantId, Uuid) {
    let db = common::open_seed_db();
    let t = TenantId::generate();
    let id = Uuid::new_v4();
    db.execute(Project::insert(&t, NewProject { id, name: "kept".into(), created_at: "2026".into() })).unwrap();
    (db, t, id)
}

#[test]
fn a_by_key_statement_extended_further_is_not_served_from_the_by_key_slot() {
    // Guard: the structural check in `SelectShape::keyed_slot` / `DeleteShape::keyed_slot`.
    let (db, t, id) = setup();
    assert!(db.fetch_optional(Project::get(&t, id)).unwrap().is_some());
    // Same key, one more condition that does not hold: nothing may come back.
    assert!(db.fetch_optional(Project::get(&t, id).filter(Project::name().eq("other"))).unwrap().is_none());
    assert!(db.fetch_all(Project::get(&t, id).into_select().limit(0)).unwrap().is_empty());
    assert_eq!(db.fetch_one(Project::get(&t, id).into_select().count()).unwrap(), 1);
    // The hand-built equivalent of `get` is the same shape and is served the same way.
    assert!(db.fetch_optional(Project::select(&t).filter(Project::id().eq(id))).unwrap().is_some());
    // Deletes: the by-key delete with an extra condition that does not hold deletes nothing.
    assert_eq!(db.execute(Project::delete_by_key(&t, id).filter(Project::name().eq("other"))).unwrap(), 0);
    assert_eq!(db.execute(Project::delete_by_key(&t, Uuid::new_v4())).unwrap(), 0);
    assert_eq!(db.execute(Project::delete_by_key(&t, id)).unwrap(), 1);
}

#[test]
fn the_same_shape_serves_every_tenant_and_every_value() {
    let (db, t, id) = setup();
    let other = TenantId::generate();
    for _ in 0..3 {
        assert!(db.fetch_optional(Project::get(&t, id)).unwrap().is_some());
        assert!(db.fetch_optional(Project::get(&other, id)).unwrap().is_none());
        let list = Project::select(&t).filter(Project::name().eq("kept")).limit(5);
        assert_eq!(db.fetch_all(list).unwrap().len(), 1);
        let list = Project::select(&t).filter(Project::name().eq("nope")).limit(5);
        assert!(db.fetch_all(list).unwrap().is_empty());
    }
}

fn new_project(id: Uuid, name: &str) -> NewProject {
    NewProject { id, name: name.into(), created_at: "2026".into() }
}

#[test]
fn the_one_row_insert_slot_is_not_served_for_an_upsert_or_a_multi_row_insert() {
    // Guard: the structural check in `InsertShape::keyed_slot` (one row, no conflict clause).
    let (db, t, id) = setup();
    // The slot now holds the plain one-row insert; an upsert of the same row must update it.
    assert_eq!(db.execute(Project::upsert(&t, new_project(id, "upserted"))).unwrap(), 1);
    assert_eq!(db.fetch_one(Project::get(&t, id)).unwrap().name, "upserted");
    let do_nothing = Project::insert(&t, new_project(id, "ignored")).on_conflict((Project::id(),)).do_nothing();
    assert_eq!(db.execute(do_nothing).unwrap(), 0);
    assert_eq!(db.fetch_one(Project::get(&t, id)).unwrap().name, "upserted");
    // Two rows after one: both are written.
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    assert_eq!(db.execute(Project::insert_many(&t, [new_project(a, "a"), new_project(b, "b")])).unwrap(), 2);
    assert_eq!(db.fetch_all(Project::select(&t)).unwrap().len(), 3);
}

#[test]
fn a_transaction_keeps_its_last_statement_without_serving_it_for_another() {
    // Guard: `LastStatement` is reused only for the same SQL text (`exec::Sqlite::prepare`).
    let (db, t, kept) = setup();
    let other = TenantId::generate();
    let ids: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
    db.transaction(|tx| {
        for id in &ids {
            assert_eq!(tx.execute(Project::insert(&t, new_project(*id, "new")))?, 1);
            // A different statement in between, then the insert again.
            assert_eq!(tx.fetch_one(Project::get(&t, *id))?.name, "new");
            assert!(tx.fetch_optional(Project::get(&other, *id))?.is_none());
        }
        // A failed run of the kept statement leaves it usable.
        let again = tx.execute(Project::insert(&t, new_project(ids[0], "dup")));
        assert!(matches!(again, Err(tenantry::Error::Conflict { .. })), "{again:?}");
        assert_eq!(tx.execute(Project::insert(&other, new_project(ids[0], "theirs")))?, 1);
        assert_eq!(tx.execute(Project::update(&t).set(Project::name(), "renamed").filter(Project::id().eq(kept)))?, 1);
        Ok(())
    })
    .unwrap();
    assert_eq!(db.fetch_all(Project::select(&t)).unwrap().len(), 6);
    assert_eq!(db.fetch_one(Project::get(&t, kept)).unwrap().name, "renamed");
    assert_eq!(db.fetch_one(Project::get(&other, ids[0])).unwrap().name, "theirs");
    assert_eq!(db.fetch_one(Project::get(&t, ids[0])).unwrap().name, "new");

    // A transaction that fails after running statements rolls all of them back, and the
    // connection (the in-memory database's only one) is back in the pool, usable.
    let gone = Uuid::new_v4();
    let failed: tenantry::Result<()> = db.transaction(|tx| {
        tx.execute(Project::insert(&t, new_project(gone, "gone")))?;
        tx.execute(Project::insert(&t, new_project(kept, "conflict")))?;
        Ok(())
    });
    assert!(matches!(failed, Err(tenantry::Error::Conflict { .. })), "{failed:?}");
    assert!(db.fetch_optional(Project::get(&t, gone)).unwrap().is_none());
    assert_eq!(db.fetch_all(Project::select(&t)).unwrap().len(), 6);
}

#[test]
fn the_one_column_update_slot_is_served_only_for_that_column_by_key() {
    // Guard: the structural check in `UpdateShape::keyed_slot` (one `SET`, the condition
    // exactly `key = ?` in slot 2) and the slot per column. Two tenants with the same key:
    // the other's row is never changed.
    let (db, t, id) = setup();
    let other = TenantId::generate();
    db.execute(Project::insert(&other, new_project(id, "theirs"))).unwrap();
    let by_key = |t: &TenantId, name: &str| Project::update(t).set(Project::name(), name).filter(Project::id().eq(id));
    assert_eq!(db.execute(by_key(&t, "one")).unwrap(), 1);
    // Another column by key: its own slot, its own SQL.
    let dated = Project::update(&t).set(Project::created_at(), "2027").filter(Project::id().eq(id));
    assert_eq!(db.execute(dated).unwrap(), 1);
    let row = db.fetch_one(Project::get(&t, id)).unwrap();
    assert_eq!((row.name.as_str(), row.created_at.as_str()), ("one", "2027"));
    // The same column with one more condition that does not hold, or by another key:
    // nothing changes.
    let narrower =
        Project::update(&t).set(Project::name(), "no").filter(Project::id().eq(id)).filter(Project::name().eq("other"));
    assert_eq!(db.execute(narrower).unwrap(), 0);
    let by_name = Project::update(&t).set(Project::name(), "no").filter(Project::name().eq("other"));
    assert_eq!(db.execute(by_name).unwrap(), 0);
    // Two columns by key: both set.
    let both =
        Project::update(&t).set(Project::name(), "two").set(Project::created_at(), "2028").filter(Project::id().eq(id));
    assert_eq!(db.execute(both).unwrap(), 1);
    let row = db.fetch_one(Project::get(&t, id)).unwrap();
    assert_eq!((row.name.as_str(), row.created_at.as_str()), ("two", "2028"));
    assert_eq!(db.execute(by_key(&t, "three")).unwrap(), 1);
    assert_eq!(db.fetch_one(Project::get(&t, id)).unwrap().name, "three");
    let theirs = db.fetch_one(Project::get(&other, id)).unwrap();
    assert_eq!((theirs.name.as_str(), theirs.created_at.as_str()), ("theirs", "2026"), "the other tenant untouched");
}
