//! Text bound from a `&str` is held inside the statement when it is short (up to 30 bytes)
//! and as a `String` beyond: both must bind byte-exact, on either side of the boundary, in
//! every place a value goes (a condition, an `IN` list, `LIKE`, `SET`, a key), on SQLite
//! and on PostgreSQL.

mod common;

use common::{NewProject, NewSetting, Project, Setting};
use tenantry::{Admin, TenantId, Value};
use uuid::Uuid;

/// Around the 30-byte boundary, multi-byte characters that end on it or straddle it, and
/// bytes that must not be read as anything else.
fn texts() -> Vec<String> {
    vec![
        String::new(),
        "a".into(),
        "x".repeat(29),
        "x".repeat(30),
        "x".repeat(31),
        "y".repeat(200),
        "é".repeat(15),                  // 30 bytes
        "é".repeat(16),                  // 32 bytes
        "日本".repeat(5),                // 30 bytes
        format!("{}🦀", "z".repeat(27)), // 31 bytes: the crab crosses the boundary
        "nul\0inside".into(),
        "quote ' and \" and ; --".into(),
        "trailing  ".into(),
    ]
}

fn tenants() -> (TenantId, TenantId) {
    let admin = Admin::new("text parameter test mints two tenants");
    (admin.mint_tenant(Uuid::from_u128(0xa)), admin.mint_tenant(Uuid::from_u128(0xb)))
}

/// The same checks on either engine (the two databases have the same methods).
macro_rules! check_texts {
    ($db:expr, $texts:expr) => {{
        let db = &$db;
        let (a, b) = tenants();
        let texts: Vec<String> = $texts;
        // Both tenants hold the same ids and names; `b`'s names are marked so a value
        // bound to the wrong row or tenant shows.
        for (i, s) in texts.iter().enumerate() {
            let id = Uuid::from_u128(i as u128 + 1);
            db.execute(Project::insert(&a, NewProject { id, name: s.clone(), created_at: "2026".into() })).unwrap();
            db.execute(Project::insert(&b, NewProject { id, name: format!("b{s}"), created_at: "2026".into() }))
                .unwrap();
        }
        for (i, s) in texts.iter().enumerate() {
            let id = Uuid::from_u128(i as u128 + 1);
            let by_str = db.fetch_all(Project::select(&a).filter(Project::name().eq(s.as_str()))).unwrap();
            assert_eq!(by_str.iter().map(|p| p.id).collect::<Vec<_>>(), [id], "eq(&str) for {s:?}");
            let by_string = db.fetch_all(Project::select(&a).filter(Project::name().eq(s))).unwrap();
            assert_eq!(by_string, by_str, "eq(&String) for {s:?}");
            let listed =
                db.fetch_all(Project::select(&a).filter(Project::name().is_in([s.as_str(), "absent"]))).unwrap();
            assert_eq!(listed, by_str, "IN for {s:?}");
            if !s.contains(['%', '_']) {
                let liked = db.fetch_all(Project::select(&a).filter(Project::name().like(s))).unwrap();
                assert_eq!(liked, by_str, "LIKE for {s:?}");
            }
            // What the statement shows holds the text as a `Value::Text`, wherever it is kept.
            let sql = Project::select(&a).filter(Project::name().eq(s.as_str())).to_sql().unwrap();
            assert_eq!(sql.params.last(), Some(&Value::Text(s.clone())));

            // SET from a borrowed string, then read back byte-exact; `b`'s row untouched.
            let renamed = format!("{s}!");
            let changed = db
                .execute(Project::update(&a).set(Project::name(), renamed.as_str()).filter(Project::id().eq(id)))
                .unwrap();
            assert_eq!(changed, 1);
            assert_eq!(db.fetch_one(Project::get(&a, id)).unwrap().name, renamed);
            assert_eq!(db.fetch_one(Project::get(&b, id)).unwrap().name, format!("b{s}"));
        }
    }};
}

#[test]
fn short_and_long_text_bind_byte_exact_on_sqlite() {
    check_texts!(common::open_seed_db(), texts());
}

/// A text primary key (`settings.key`), bound by `get` and `delete_by_key` from a
/// `&str`, on either engine. Both tenants hold every key; the other tenant's row must
/// survive the delete. Guard: the tenant predicate of the per-table by-key statements
/// (seen failing on SQLite with `Delete::by_key` left unscoped; on PostgreSQL the
/// application role's row-level security is a second guard, which held the row).
macro_rules! check_text_keys {
    ($db:expr, $texts:expr) => {{
        let db = &$db;
        let (a, b) = tenants();
        let texts: Vec<String> = $texts;
        for s in &texts {
            db.execute(Setting::insert(&a, NewSetting { key: s.clone(), value: "a".into() })).unwrap();
            db.execute(Setting::insert(&b, NewSetting { key: s.clone(), value: "b".into() })).unwrap();
        }
        for s in &texts {
            assert_eq!(db.fetch_one(Setting::get(&a, s.as_str())).unwrap().value, "a", "get {s:?}");
            assert_eq!(db.execute(Setting::delete_by_key(&a, s.as_str())).unwrap(), 1, "delete {s:?}");
            assert!(db.fetch_optional(Setting::get(&a, s.as_str())).unwrap().is_none(), "deleted {s:?}");
            assert_eq!(db.fetch_one(Setting::get(&b, s.as_str())).unwrap().value, "b", "b's row kept for {s:?}");
        }
    }};
}

#[test]
fn a_text_key_from_a_str_finds_and_deletes_its_row_on_either_side_of_the_boundary() {
    check_text_keys!(common::open_seed_db(), texts());
}

#[cfg(feature = "postgres")]
#[test]
fn a_text_key_from_a_str_finds_and_deletes_its_row_on_postgres() {
    let Some(urls) = common::pg::urls() else { return };
    let _serial = common::pg::serial();
    common::pg::reset_schema(&urls);
    let db = tenantry::PgDatabase::connect(&urls.app, 1).unwrap();
    check_text_keys!(db, texts().into_iter().filter(|s| !s.contains('\0')).collect());
}

#[cfg(feature = "postgres")]
#[test]
fn short_and_long_text_bind_byte_exact_on_postgres() {
    let Some(urls) = common::pg::urls() else { return };
    let _serial = common::pg::serial();
    common::pg::reset_schema(&urls);
    let db = tenantry::PgDatabase::connect(&urls.app, 1).unwrap();
    // PostgreSQL text cannot hold NUL: the server refuses it, as an error.
    let nul = db.execute(Project::insert(
        &tenants().0,
        NewProject { id: Uuid::from_u128(99), name: "nul\0".into(), created_at: "2026".into() },
    ));
    assert!(nul.is_err(), "{nul:?}");
    check_texts!(db, texts().into_iter().filter(|s| !s.contains('\0')).collect());
}
