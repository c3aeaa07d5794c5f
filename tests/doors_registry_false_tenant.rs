//! Finding 6: a hand-written declaration of `projects` (through the hidden `__private`
//! items) naming `name` as the tenant column: statements then scope by `name`, so a
//! caller inserts into and moves rows to another tenant, and a key conflict reveals the
//! victim's ids. Hidden items cannot be sealed perfectly, so the declaration is checked
//! against the live database at open. In its own test binary because it poisons the
//! registry.
//!
//! Guard: `tablesql::verify_live` in `SqliteDatabaseBuilder::open` (and `verify_table` in
//! `create_table`); seen failing with it removed (the database opened, and a select
//! "scoped" to a tenant id written into `name` returned the victim's row).

use tenantry::__private::{ColumnInfo, Registered, SqlKind, TableInfo, inventory};
use tenantry::{Error, SqliteDatabase};

static COLUMNS: [ColumnInfo; 4] = [
    ColumnInfo::new("user_id", SqlKind::Text, false),
    ColumnInfo::new("id", SqlKind::Uuid, false),
    ColumnInfo::new("name", SqlKind::Text, false),
    ColumnInfo::new("created_at", SqlKind::Text, false),
];
// The tenant is column 2, `name`: not the column that leads the live table's keys.
static FALSE_PROJECTS: TableInfo = TableInfo::new("projects", &COLUMNS, Some(2), 1, &[], &[]);

inventory::submit! { Registered(&FALSE_PROJECTS) }

fn live_projects(path: &std::path::Path) {
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch(
        "CREATE TABLE projects (user_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, created_at TEXT NOT NULL,
           PRIMARY KEY (user_id, id));
         INSERT INTO projects VALUES ('00000000-0000-0000-0000-00000000000b', '00000000-0000-0000-0000-000000000001', 'secret', 'now');",
    )
    .unwrap();
}

#[test]
fn a_declaration_naming_another_column_as_the_tenant_does_not_open() {
    let dir = std::env::temp_dir().join(format!("tenantry-doors-false-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("app.db");
    live_projects(&path);
    let err = SqliteDatabase::open(&path).unwrap_err();
    assert!(matches!(err, Error::SchemaMismatch { table: "projects", .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "table `projects` in the database does not match its declaration: the declared tenant column does not lead the primary key"
    );
    // Without a live table there is nothing to disagree with: the database opens.
    assert!(SqliteDatabase::open_in_memory().is_ok());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_unique_key_not_led_by_the_declared_tenant_column_is_refused() {
    // The live primary key leads with `name` (as this declaration would make it), but a
    // unique key on `user_id` alone spans tenants: a conflict on it would reveal another
    // tenant's row.
    let dir = std::env::temp_dir().join(format!("tenantry-doors-unique-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("app.db");
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(
        "CREATE TABLE projects (user_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, created_at TEXT NOT NULL,
           PRIMARY KEY (name, id));
         CREATE UNIQUE INDEX projects_owner ON projects (user_id);",
    )
    .unwrap();
    drop(c);
    let err = SqliteDatabase::open(&path).unwrap_err();
    assert!(matches!(err, Error::SchemaMismatch { table: "projects", .. }), "{err:?}");
    assert!(err.to_string().ends_with("a unique key does not lead with the declared tenant column"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}
