//! One hostile declaration, registered by hand through `__private` (it makes every
//! `SqliteDatabase::open` of this program fail, hence its own binary).
//!
//! Attempt 35: a name with a quote, a semicolon and a comment (SQL injection through a declaration). Guard: `check_declaration` (plain identifiers only), run by `check_registry` at every open.

use tenantry::__private::{Registered, TableInfo, inventory};
use tenantry::{ColumnInfo, Error, SqlKind, SqliteDatabase};

static COLUMNS: [ColumnInfo; 3] = [
    ColumnInfo::new("user_id", SqlKind::Text, false),
    ColumnInfo::new("tenant", SqlKind::Text, false),
    ColumnInfo::new("location", SqlKind::Text, false),
];
static INFO: TableInfo = TableInfo::new("projects\"; DROP TABLE users; --", &COLUMNS, Some(0), 1, &[], &[]);
inventory::submit! { Registered(&INFO) }

#[test]
fn the_declaration_stops_every_open() {
    let err = SqliteDatabase::open_in_memory().unwrap_err();
    assert!(matches!(err, Error::InvalidDeclaration { .. }), "{err:?}");
}
