//! One hostile declaration, registered by hand through `__private` (it makes every
//! `SqliteDatabase::open` of this program fail, hence its own binary).
//!
//! Attempt 36: the library's table of tenant locations in another case, declared owned (a scoped insert would move a tenant to a file of the attacker's choosing). Guard: `is_reserved` (compared without case), run by `check_registry` at every open.

use tenantry::__private::{Registered, TableInfo, inventory};
use tenantry::{ColumnInfo, Error, SqlKind, SqliteDatabase};

static COLUMNS: [ColumnInfo; 3] = [
    ColumnInfo::new("user_id", SqlKind::Text, false),
    ColumnInfo::new("tenant", SqlKind::Text, false),
    ColumnInfo::new("location", SqlKind::Text, false),
];
static INFO: TableInfo = TableInfo::new("Tenantry_Tenant_Locations", &COLUMNS, Some(0), 1, &[], &[]);
inventory::submit! { Registered(&INFO) }

#[test]
fn the_declaration_stops_every_open() {
    let err = SqliteDatabase::open_in_memory().unwrap_err();
    assert!(matches!(err, Error::ReservedTable { .. }), "{err:?}");
}
