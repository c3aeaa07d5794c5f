//! A derived declaration whose table name differs from the live table's only in letter
//! case (`Projects` for `projects`), naming another column as the tenant. SQLite finds the
//! table whatever the case, so every statement of the declaration reaches `projects`:
//! the live check must compare it with that table, or a caller could write rows into
//! another tenant's account (its tenant column being plain data here) and probe the
//! victim's keys through conflicts. Its own test binary: the declaration is registered
//! for the whole program. From a red-team read.
//!
//! Guard: `tablesql::table_exists` comparing names without regard to case; seen failing
//! with the comparison case-sensitive (the database opened, and the insert of a row
//! carrying the victim's id in `user_id` succeeded).

use tenantry::{Error, OnDrift, SqliteDatabase, Table, TenantId};
use uuid::Uuid;

/// The live table `projects` is owned by `user_id`; this declaration says `name`.
#[derive(Table, Debug)]
#[table(name = "Projects", owned)]
struct Forged {
    user_id: String,
    #[primary_key]
    id: Uuid,
    #[tenant]
    name: TenantId,
    created_at: String,
}

#[test]
fn a_declaration_differing_only_in_case_is_checked_against_the_live_table() {
    let dir = std::env::temp_dir().join(format!("tenantry-doors-case-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("app.db");
    let victim = TenantId::generate();
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE projects (user_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL,
               created_at TEXT NOT NULL, PRIMARY KEY (user_id, id));",
        )
        .unwrap();
        c.execute(
            "INSERT INTO projects VALUES (?1, ?2, 'the victim''s', 'now')",
            [victim.to_string(), Uuid::new_v4().to_string()],
        )
        .unwrap();
    }
    // Drift only warns here: the tenant check is not a drift setting.
    let opened = SqliteDatabase::builder(&path).on_drift(OnDrift::Warn).open();
    let err = match opened {
        Err(e) => e,
        Ok(db) => {
            // What the guard prevents: a row written into the victim's account.
            let attacker = TenantId::generate();
            let planted = db.execute(Forged::insert(
                &attacker,
                NewForged { user_id: victim.to_string(), id: Uuid::new_v4(), created_at: "now".into() },
            ));
            panic!("the database opened; the planted insert returned {planted:?}");
        }
    };
    assert!(matches!(err, Error::SchemaMismatch { table: "Projects", .. }), "{err:?}");
    let c = rusqlite::Connection::open(&path).unwrap();
    let n: i64 =
        c.query_row("SELECT COUNT(*) FROM projects WHERE user_id = ?1", [victim.to_string()], |r| r.get(0)).unwrap();
    assert_eq!(n, 1, "the victim's account is as it was");
    std::fs::remove_dir_all(dir).ok();
}
