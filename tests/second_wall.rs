//! The runtime wall behind the types: statements assembled through hidden items
//! (`__private`, `__new`) that the typed API forbids are refused before they run.
//! Each case here was a working bypass in the red-team review of the first version.

mod common;

use common::{NewProject, NewSetting, Project, Setting};
use tenantry::{Column, Error, Table, TenantId};
use uuid::Uuid;

/// A global mirror of `projects` (same rows, tenant column as plain data), marked owned
/// by implementing the hidden seal by hand.
#[derive(Table, Debug)]
#[table(name = "projects_mirror", global)]
#[allow(dead_code, reason = "rows are never read: the statements are refused")]
struct AllProjects {
    #[primary_key]
    id: Uuid,
    user_id: String,
    name: String,
}
impl tenantry::__private::OwnedSeal for AllProjects {}
impl tenantry::Owned for AllProjects {}

fn setup() -> (tenantry::SqliteDatabase, TenantId, TenantId) {
    let db = common::open_seed_db();
    db.create_table::<AllProjects>().unwrap();
    let (alice, mallory) = (TenantId::generate(), TenantId::generate());
    db.execute(Project::insert(
        &alice,
        NewProject { id: Uuid::new_v4(), name: "alice secret".into(), created_at: "2026".into() },
    ))
    .unwrap();
    db.execute(Setting::insert(&mallory, NewSetting { key: "k".into(), value: "v".into() })).unwrap();
    (db, alice, mallory)
}

#[test]
fn a_table_without_tenant_column_is_refused_in_a_scoped_statement() {
    // Guard: `Check::table` in src/query/shape.rs. Seen failing with it removed: the join
    // then runs with no tenant predicate on the mirror.
    let (db, _alice, mallory) = setup();
    let join = Setting::select(&mallory).join::<AllProjects>(AllProjects::name().ne(""));
    assert!(matches!(db.fetch_all(join), Err(Error::NotOwned { table: "projects_mirror" })));
    let sub = Setting::select(&mallory).filter(
        Setting::key().in_subquery(tenantry::__private::subquery::<AllProjects, _>().select(AllProjects::user_id())),
    );
    assert!(matches!(db.fetch_all(sub), Err(Error::NotOwned { .. })));
}

#[test]
fn the_tenant_column_cannot_be_assigned_through_a_hand_made_column() {
    // Guard: `Check::assigned`. `Column::__new(0)` names the tenant column of `projects`.
    // Seen failing with the guard removed: the update moved Alice's row to Mallory.
    let (db, alice, mallory) = setup();
    let tenant_col: Column<Project, String> = Column::__new(0);
    let update = Project::update(&alice).set(tenant_col, mallory.to_string()).all_rows();
    assert!(matches!(db.execute(update), Err(Error::TenantColumnAssigned { table: "projects" })));
    assert_eq!(db.fetch_one(Project::select(&alice).count()).unwrap(), 1);
    assert_eq!(db.fetch_one(Project::select(&mallory).count()).unwrap(), 0);
}

#[test]
fn a_column_index_outside_the_declaration_is_an_error_not_a_panic() {
    let (db, alice, _) = setup();
    let bogus: Column<Project, String> = Column::__new(99);
    assert_eq!(bogus.name(), "?");
    let q = Project::select(&alice).filter(bogus.eq("x"));
    assert!(matches!(db.fetch_all(q), Err(Error::InvalidColumn { table: "projects" })));
}

#[test]
fn every_declared_table_is_in_the_registry() {
    let names: Vec<&str> = tenantry::tables().map(|t| t.name).collect();
    for want in ["projects", "export_jobs", "working_clips", "settings", "feature_flags", "projects_mirror"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    assert!(tenantry::owned_tables().all(|t| t.tenant_column() == Some("user_id")));
    let _ = Setting::INFO;
}
