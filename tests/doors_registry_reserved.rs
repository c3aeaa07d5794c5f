//! Finding 3: a declaration over the library's own `sessions` table, with the tenant on
//! another column, let a user insert a session row pointing at the victim. The derive now
//! refuses the name (`tests/ui/doors_fail`); this is the same declaration made through the
//! hidden registry, in its own test binary because it poisons the registry.
//!
//! Guard: `check_declaration`'s reserved-name check, run by `SqliteDatabase::open`; seen failing
//! before the fix (the database opened, and `resolve` then returned the victim).

use tenantry::__private::{ColumnInfo, Registered, SqlKind, TableInfo, inventory};
use tenantry::{Error, SqliteDatabase};

static COLUMNS: [ColumnInfo; 4] = [
    ColumnInfo::new("id", SqlKind::Text, false),
    ColumnInfo::new("user_id", SqlKind::Text, false),
    ColumnInfo::new("expires_at", SqlKind::Text, false),
    ColumnInfo::new("owner", SqlKind::Uuid, false),
];
// Upper case: SQLite compares names without case, so must the check.
static SESSIONS: TableInfo = TableInfo::new("Sessions", &COLUMNS, Some(3), 0, &[], &[]);

inventory::submit! { Registered(&SESSIONS) }

#[test]
fn a_declaration_over_the_sessions_table_is_refused_at_open() {
    let err = SqliteDatabase::open_in_memory().unwrap_err();
    assert!(matches!(err, Error::ReservedTable { table: "Sessions" }), "{err:?}");
    assert_eq!(err.to_string(), "table `Sessions` is reserved for tenantry's own use and cannot be declared");
}
