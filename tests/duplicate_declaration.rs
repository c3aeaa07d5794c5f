//! A program that declares one SQL table twice cannot open a database: a second
//! declaration could put `#[tenant]` on another column and let inserts write any tenant
//! (red-team finding 3). Names compare without case, as SQLite does. This test has its own
//! binary because the duplicate makes every `SqliteDatabase::open` in the program fail.
//!
//! Guard: `registry::check_unique`, called by `SqliteDatabaseBuilder::open`; seen failing (the
//! open succeeded) with the call removed.

use tenantry::{Error, TenantId};
use uuid::Uuid;

#[derive(tenantry::Table)]
#[allow(dead_code, reason = "never read: the program cannot open a database")]
#[table(name = "projects", owned)]
struct Project {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    id: Uuid,
    name: String,
}

/// The same table, with the tenant marker moved to `name` and `user_id` as plain data.
#[derive(tenantry::Table)]
#[allow(dead_code, reason = "never read: the program cannot open a database")]
#[table(name = "PROJECTS", owned)]
struct Forged {
    #[tenant]
    name: TenantId,
    #[primary_key]
    id: Uuid,
    user_id: String,
}

#[test]
fn a_second_declaration_of_a_table_stops_the_program_from_opening_a_database() {
    let err = tenantry::SqliteDatabase::open_in_memory().unwrap_err();
    assert!(matches!(err, Error::DuplicateTable { .. }), "{err:?}");
    assert!(err.to_string().contains("declared more than once"));
}
