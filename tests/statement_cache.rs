//! Rendered SQL is cached per statement shape, and by-key statements use a per-table slot.
//! A cached rendering must never be served for a different shape: these tests fill the
//! caches with one shape and then run close variants that must behave differently.

mod common;

use common::{NewProject, Project};
use tenantry::TenantId;
use uuid::Uuid;

fn setup() -> (tenantry::Database, TenantId, Uuid) {
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
    assert!(db.fetch_all(Project::get(&t, id).limit(0)).unwrap().is_empty());
    assert_eq!(db.fetch_one(Project::get(&t, id).count()).unwrap(), 1);
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
