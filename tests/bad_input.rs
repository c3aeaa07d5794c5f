//! Bad input and faults: typed errors, byte-exact values, nothing lost, no panics.

mod common;

use std::sync::Arc;
use std::thread;

use common::{NewProject, Project};
use tenantry::{Admin, Error, OptionalExtension, SqliteDatabase, Table, TenantId};
use uuid::Uuid;

/// Every column type, to check each one round-trips byte-exact.
#[derive(Table, Debug, Clone, PartialEq)]
#[table(name = "samples", owned)]
struct Sample {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    id: Uuid,
    text: String,
    blob: Vec<u8>,
    real: f64,
    flag: bool,
    small: i32,
    big: i64,
    maybe: Option<String>,
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tenantry-{name}-{}-{}", std::process::id(), Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn nasty_strings() -> Vec<String> {
    vec![
        String::new(),
        "'; DROP TABLE samples; --".into(),
        "\" OR 1=1 --".into(),
        "?".into(),
        "$1 :name @p %s".into(),
        "a\0b\0".into(),
        "\u{1F3AC}\u{1F3A5} clip \u{200D}\u{202E}".into(),
        "line\nbreak\r\ttab".into(),
        "x".repeat(1024 * 1024),
        "\u{00e9}".repeat(500_000),
    ]
}

#[test]
fn values_round_trip_byte_exact_and_never_enter_sql_text() {
    let db = SqliteDatabase::open_in_memory().unwrap();
    db.create_table::<Sample>().unwrap();
    let t = TenantId::generate();
    for (i, s) in nasty_strings().into_iter().enumerate() {
        let id = Uuid::new_v4();
        let row = NewSample {
            id,
            text: s.clone(),
            blob: s.as_bytes().to_vec(),
            real: -0.0 + i as f64 * 1.5e300,
            flag: i % 2 == 0,
            small: i32::MIN + i as i32,
            big: i64::MAX - i as i64,
            maybe: (i % 3 != 0).then(|| s.clone()),
        };
        let insert = Sample::insert(&t, row.clone());
        let sql = insert.to_sql().unwrap().text;
        if !s.is_empty() && s != "?" {
            assert!(!sql.contains(&s), "value leaked into SQL text");
        }
        db.execute(insert).unwrap();
        let back = db.fetch_one(Sample::get(&t, id)).unwrap();
        assert_eq!(back.text.as_bytes(), s.as_bytes());
        assert_eq!(back.blob, s.as_bytes());
        assert_eq!(back.real.to_bits(), row.real.to_bits());
        assert_eq!((back.flag, back.small, back.big, back.maybe), (row.flag, row.small, row.big, row.maybe));
        // The same value used as a filter matches exactly that row.
        let found = db.fetch_all(Sample::select(&t).filter(Sample::text().eq(s.as_str()))).unwrap();
        assert!(found.iter().any(|r| r.id == id));
    }
}

#[test]
fn failed_multi_row_insert_leaves_nothing_behind() {
    let dir = temp_dir("chunks");
    let db = SqliteDatabase::open(dir.join("db.sqlite")).unwrap();
    db.create_table::<Project>().unwrap();
    let t = TenantId::generate();
    let existing = Uuid::new_v4();
    let row = |id| NewProject { id, name: "n".into(), created_at: "2026".into() };
    db.execute(Project::insert(&t, row(existing))).unwrap();

    // 60 rows = 3 chunks of at most 25 (4 columns each, 100 parameters); the last row
    // collides, so the first two chunks were already written when the third fails.
    let mut rows: Vec<NewProject> = (0..59).map(|_| row(Uuid::new_v4())).collect();
    rows.push(row(existing));
    let err = db.execute(Project::insert_many(&t, rows.clone())).unwrap_err();
    assert!(matches!(err, Error::Conflict { table: "projects", .. }), "{err:?}");
    assert_eq!(db.fetch_one(Project::select(&t).count()).unwrap(), 1);

    // Inside an explicit transaction the chunks use a savepoint: the failed insert is
    // undone, the transaction's earlier work survives and can still commit.
    let kept = Uuid::new_v4();
    let tx = db.begin().unwrap();
    tx.execute(Project::insert(&t, row(kept))).unwrap();
    assert!(tx.execute(Project::insert_many(&t, rows)).is_err());
    tx.commit().unwrap();
    assert_eq!(db.fetch_one(Project::select(&t).count()).unwrap(), 2);
    assert!(db.fetch_optional(Project::get(&t, kept)).unwrap().is_some());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn transaction_rolls_back_on_drop_and_on_error() {
    let db = common::open_seed_db();
    let t = TenantId::generate();
    let row = || NewProject { id: Uuid::new_v4(), name: "n".into(), created_at: "2026".into() };
    {
        let tx = db.begin().unwrap();
        tx.execute(Project::insert(&t, row())).unwrap();
    }
    let r: tenantry::Result<()> = db.transaction(|tx| {
        tx.execute(Project::insert(&t, row()))?;
        Err(Error::NotFound)
    });
    assert!(matches!(r, Err(Error::NotFound)));
    assert_eq!(db.fetch_one(Project::select(&t).count()).unwrap(), 0);
}

#[test]
fn eight_writer_threads_finish_with_exact_totals() {
    let dir = temp_dir("writers");
    let db = Arc::new(SqliteDatabase::open(dir.join("db.sqlite")).unwrap());
    db.create_table::<Project>().unwrap();
    db.create_table::<common::Setting>().unwrap();
    let admin = Admin::new("writer test mints one shared counter tenant");
    let shared = admin.mint_tenant(Uuid::from_u128(7));
    db.execute(common::Setting::insert(&shared, common::NewSetting { key: "counter".into(), value: "0".into() }))
        .unwrap();

    const THREADS: usize = 8;
    const EACH: usize = 50;
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let db = Arc::clone(&db);
            thread::spawn(move || {
                let mine = TenantId::generate();
                for i in 0..EACH {
                    // A plain autocommit insert for the thread's own tenant...
                    db.execute(Project::insert(
                        &mine,
                        NewProject { id: Uuid::new_v4(), name: format!("{i}"), created_at: "2026".into() },
                    ))?;
                    // ...and a read-modify-write of one shared row in a write transaction.
                    db.transaction(|tx| {
                        let c = tx.fetch_one(common::Setting::get(&shared, "counter"))?;
                        let next = c.value.parse::<u64>().unwrap() + 1;
                        tx.execute(
                            common::Setting::update(&shared)
                                .set(common::Setting::value(), next.to_string())
                                .filter(common::Setting::key().eq("counter")),
                        )
                    })?;
                }
                Ok::<TenantId, Error>(mine)
            })
        })
        .collect();
    let tenants: Vec<TenantId> =
        handles.into_iter().map(|h| h.join().unwrap().expect("no error reaches the caller")).collect();
    for t in &tenants {
        assert_eq!(db.fetch_one(Project::select(t).count()).unwrap(), EACH as i64);
    }
    let counter = db.fetch_one(common::Setting::get(&shared, "counter")).unwrap();
    assert_eq!(counter.value, (THREADS * EACH).to_string());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn stored_values_that_do_not_decode_give_typed_errors() {
    let db = SqliteDatabase::open_in_memory().unwrap();
    db.create_table::<Sample>().unwrap();
    let admin = Admin::new("bad input test tampers with rows behind tenantry's back");
    let t = admin.mint_tenant(Uuid::from_u128(1));
    let insert = |sql: &'static str| db.execute(admin.raw_sql(sql)).unwrap();
    // Upper-case (non-canonical) id, a text in an integer column, a 2 in a bool column.
    insert(
        "INSERT INTO samples VALUES ('00000000-0000-0000-0000-000000000001', 'ABCDEF00-0000-0000-0000-000000000000', '', x'', 0.0, 0, 0, 0, NULL)",
    );
    insert(
        "INSERT INTO samples VALUES ('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-0000000000b0', '', x'', 0.0, 0, 'seven', 0, NULL)",
    );
    insert(
        "INSERT INTO samples VALUES ('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-0000000000c0', '', x'', 0.0, 2, 0, 0, NULL)",
    );
    insert(
        "INSERT INTO samples VALUES ('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-0000000000d0', '', x'', 0.0, 0, 3000000000, 0, NULL)",
    );
    let expect = |id: Uuid, column: &str| {
        let err = db.fetch_one(Sample::get(&t, id)).unwrap_err();
        match err {
            Error::Decode { table: "samples", column: c, .. } => assert_eq!(c, column),
            other => panic!("expected a decode error for {column}, got {other:?}"),
        }
    };
    let rows = db.fetch_all(Sample::select(&t)).unwrap_err();
    assert!(matches!(rows, Error::Decode { .. }));
    expect(Uuid::from_u128(0xb0), "small");
    expect(Uuid::from_u128(0xc0), "flag");
    expect(Uuid::from_u128(0xd0), "small");
    // The non-canonical id cannot even be looked up by its canonical form: one spelling only.
    assert!(db.fetch_optional(Sample::get(&t, Uuid::from_u128(0xabcdef00 << 96))).unwrap().is_none());
}

#[test]
fn a_row_with_a_tampered_tenant_is_withheld() {
    let db = common::open_seed_db();
    let admin = Admin::new("bad input test rewrites a tenant column to upper case");
    let t = admin.mint_tenant(Uuid::from_u128(0xabc));
    let id = Uuid::new_v4();
    db.execute(Project::insert(&t, NewProject { id, name: "n".into(), created_at: "2026".into() })).unwrap();
    db.execute(admin.raw_sql("UPDATE projects SET user_id = upper(user_id)")).unwrap();
    // Upper case is not the canonical spelling, so the scoped statement no longer matches it.
    assert!(db.fetch_optional(Project::get(&t, id)).unwrap().is_none());
}

#[test]
fn huge_in_list_is_a_typed_error_not_a_truncation() {
    let db = common::open_seed_db();
    let t = TenantId::generate();
    let ids: Vec<Uuid> = (0..70_000u128).map(Uuid::from_u128).collect();
    let err = db.fetch_all(Project::select(&t).filter(Project::id().is_in(ids))).unwrap_err();
    assert!(matches!(err, Error::Sqlite(_)), "{err:?}");
    let empty = db.fetch_all(Project::select(&t).filter(Project::id().is_in(Vec::<Uuid>::new()))).unwrap();
    assert!(empty.is_empty());
}

#[test]
fn limits_beyond_i64_are_clamped_not_panics() {
    let db = common::open_seed_db();
    let t = TenantId::generate();
    assert!(db.fetch_all(Project::select(&t).limit(u64::MAX).offset(u64::MAX)).unwrap().is_empty());
}

#[test]
fn a_corrupt_file_or_a_directory_is_an_error() {
    let dir = temp_dir("corrupt");
    let path = dir.join("not-a-db.sqlite");
    std::fs::write(&path, vec![0x42u8; 8192]).unwrap();
    let err = SqliteDatabase::open(&path).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
    assert_eq!(err.to_string(), "the database file is corrupt or is not a database");
    let err = SqliteDatabase::open(&dir).unwrap_err();
    assert!(matches!(err, Error::CannotOpen { .. }), "{err:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_full_disk_is_a_typed_error_and_writes_nothing() {
    // SQLite's page limit stands in for the disk: past it, writes fail with SQLITE_FULL.
    let dir = temp_dir("full");
    // One connection: the page limit is a setting of the connection it is made on.
    let db = SqliteDatabase::builder(dir.join("app.db")).max_connections(1).open().unwrap();
    db.create_table::<Project>().unwrap();
    let admin = Admin::new("bad-input test caps the database size");
    // A fresh database with one table and its indexes has fewer than 8 pages; 200 rows of
    // 4 KB need about 200.
    let max: Vec<i64> = db.fetch_raw(admin.raw_sql("PRAGMA max_page_count = 8"), |r| r.get(0)).unwrap();
    assert_eq!(max, [8]);
    let t = TenantId::generate();
    let rows =
        (0..200u128).map(|i| NewProject { id: Uuid::from_u128(i), name: "x".repeat(4000), created_at: "now".into() });
    let err = db.execute(Project::insert_many(&t, rows)).unwrap_err();
    assert!(matches!(err, Error::DiskFull { .. }), "{err:?}");
    assert_eq!(err.to_string(), "the disk is full; nothing was written");
    assert_eq!(db.fetch_one(Project::select(&t).count()).unwrap(), 0, "all or nothing");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_read_only_database_and_a_held_lock_are_typed_errors() {
    let dir = temp_dir("readonly");
    let path = dir.join("app.db");
    let db = SqliteDatabase::builder(&path)
        .max_connections(1)
        .busy_timeout(std::time::Duration::from_millis(50))
        .open()
        .unwrap();
    db.create_table::<Project>().unwrap();
    let t = TenantId::generate();
    let row = || NewProject { id: Uuid::new_v4(), name: "n".into(), created_at: "now".into() };

    // Another connection holds the write lock past the busy timeout.
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let err = db.execute(Project::insert(&t, row())).unwrap_err();
    assert!(matches!(err, Error::Busy { .. }), "{err:?}");
    holder.execute_batch("ROLLBACK").unwrap();
    db.execute(Project::insert(&t, row())).unwrap();

    // The connection is made read-only.
    let admin = Admin::new("bad-input test makes the connection read-only");
    db.execute(admin.raw_sql("PRAGMA query_only = 1")).unwrap();
    let err = db.execute(Project::insert(&t, row())).unwrap_err();
    assert!(matches!(err, Error::ReadOnly { .. }), "{err:?}");
    assert_eq!(err.to_string(), "the database is read-only");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn error_messages_carry_no_values_or_ids() {
    let db = common::open_seed_db();
    let t = TenantId::generate();
    let id = Uuid::new_v4();
    let secret = "s3cret-value";
    let row = || NewProject { id, name: secret.into(), created_at: "2026".into() };
    db.execute(Project::insert(&t, row())).unwrap();
    let err = db.execute(Project::insert(&t, row())).unwrap_err();
    let text = format!("{err} {:?}", std::error::Error::source(&err).map(|s| s.to_string()));
    assert!(!text.contains(secret) && !text.contains(&id.to_string()) && !text.contains(&t.to_string()), "{text}");
    assert!(matches!(err, Error::Conflict { .. }));
    // Not found is not an error for `.optional()`.
    assert_eq!(db.fetch_one(Project::get(&t, Uuid::new_v4())).optional().unwrap(), None);
}
