//! A table created after the database opened (by another process: the real program's
//! migrations, run after this one started) is held to its declaration too. Here a derived
//! declaration of `projects` names `name` as the tenant column, while the live table, made
//! later, is owned by `user_id`: unchecked, a caller could write rows into another
//! tenant's account (its tenant column being plain data in the declaration) and probe the
//! victim's keys through conflicts. Its own test binary: the declaration is registered for
//! the whole program. From a red-team read.
//!
//! Guard: the connection's authorizer noting the tables a compiled statement names that
//! were not there at open, and `db::late::check` comparing them with their declarations
//! before the statement runs (`db::exec::compile`); seen failing with the check removed
//! (the insert of a row carrying the victim's id in `user_id` succeeded, twice: the
//! second time from the statement cache).

use tenantry::{Error, SqliteDatabase, Table, TenantId};
use uuid::Uuid;

/// The live `projects`, created later, is owned by `user_id`; this declaration says `name`.
#[derive(Table, Debug)]
#[table(name = "projects", owned)]
struct Forged {
    user_id: String,
    #[primary_key]
    id: Uuid,
    #[tenant]
    name: TenantId,
    created_at: String,
}

/// An honest declaration whose table is also created after the open.
#[derive(Table, Debug)]
#[table(name = "late_notes", owned)]
struct Note {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    id: i64,
    body: String,
}

fn create_later(path: &std::path::Path, sql: &str) {
    rusqlite::Connection::open(path).unwrap().execute_batch(sql).unwrap();
}

#[test]
fn a_table_created_after_open_is_checked_before_a_statement_runs_on_it() {
    let dir = std::env::temp_dir().join(format!("tenantry-doors-late-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("app.db");
    // Nothing to disagree with yet: it opens.
    let db = SqliteDatabase::builder(&path).max_connections(2).open().unwrap();

    let victim = TenantId::generate();
    create_later(
        &path,
        "CREATE TABLE projects (user_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL,
           created_at TEXT NOT NULL, PRIMARY KEY (user_id, id));",
    );
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO projects VALUES (?1, ?2, 'the victim''s', 'now')",
            [victim.to_string(), Uuid::new_v4().to_string()],
        )
        .unwrap();

    let attacker = TenantId::generate();
    // Twice: the second time must not take a statement the first one left in the cache.
    for _ in 0..2 {
        let planted = db.execute(Forged::insert(
            &attacker,
            NewForged { user_id: victim.to_string(), id: Uuid::new_v4(), created_at: "now".into() },
        ));
        assert!(
            matches!(planted, Err(Error::SchemaMismatch { table: "projects", .. })),
            "the insert was not refused: {planted:?}"
        );
        let read = db.fetch_all(Forged::select(&attacker));
        assert!(matches!(read, Err(Error::SchemaMismatch { table: "projects", .. })), "{read:?}");
    }
    let n: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM projects", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1, "only the victim's own row is there");

    // A table created later that matches its declaration works as any other, on every
    // connection of the pool (four threads on its two connections, so both compile).
    create_later(
        &path,
        "CREATE TABLE late_notes (user_id TEXT NOT NULL, id INTEGER NOT NULL, body TEXT NOT NULL,
           PRIMARY KEY (user_id, id));",
    );
    let tenants: Vec<TenantId> = (0..4).map(|_| TenantId::generate()).collect();
    std::thread::scope(|s| {
        for t in &tenants {
            let db = &db;
            s.spawn(move || {
                for id in 0..50 {
                    db.execute(Note::insert(t, NewNote { id, body: "kept".into() })).unwrap();
                    assert_eq!(db.fetch_all(Note::select(t)).unwrap().len(), id as usize + 1);
                }
            });
        }
    });
    for t in &tenants {
        assert_eq!(db.fetch_one(Note::select(t).count()).unwrap(), 50);
    }
    std::fs::remove_dir_all(dir).ok();
}
