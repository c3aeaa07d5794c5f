//! Finding 5: identifiers reached hand-written SQL unescaped. A table registered through
//! the hidden registry as `main"."projects`, with the tenant column
//! `user_id" IS NOT NULL OR "user_id`, made `export_tenant` of one's own tenant return
//! every tenant's rows and `delete_tenant` wipe every tenant. In its own test binary
//! because it poisons the registry.
//!
//! Guards: (1) `check_declaration` refuses names that are not plain identifiers when a
//! database opens; (2) every hand-written statement quotes names through
//! `tablesql::ident`, which doubles quotes, so a hostile name is one (missing) identifier.
//! Seen failing before the fix: the database opened and the export held the victim's rows.

use tenantry::__private::{ColumnInfo, Registered, SqlKind, TableInfo, inventory};
use tenantry::{Error, SqliteDatabase};

static COLUMNS: [ColumnInfo; 3] = [
    ColumnInfo::new("user_id\" IS NOT NULL OR \"user_id", SqlKind::Uuid, false),
    ColumnInfo::new("id", SqlKind::Text, false),
    ColumnInfo::new("name", SqlKind::Text, false),
];
static HOSTILE: TableInfo = TableInfo::new("main\".\"projects", &COLUMNS, Some(0), 1, &[], &[]);

inventory::submit! { Registered(&HOSTILE) }

#[test]
fn hostile_identifiers_never_reach_sql() {
    let dir = std::env::temp_dir().join(format!("tenantry-doors-names-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("app.db");
    // The victims' rows, written as a D1 worker would.
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE projects (user_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (user_id, id));
             INSERT INTO projects VALUES ('00000000-0000-0000-0000-00000000000b', '1', 'secret');",
        )
        .unwrap();
    }
    for open in [SqliteDatabase::open(&path), SqliteDatabase::open_in_memory()] {
        let err = open.unwrap_err();
        assert!(matches!(err, Error::InvalidDeclaration { .. }), "{err:?}");
    }
    let c = rusqlite::Connection::open(&path).unwrap();
    let left: i64 = c.query_row("SELECT COUNT(*) FROM projects", [], |r| r.get(0)).unwrap();
    assert_eq!(left, 1, "the victim's row is still there");
    std::fs::remove_dir_all(dir).ok();
}
