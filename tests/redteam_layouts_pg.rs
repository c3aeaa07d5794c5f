//! Red-team experiments on `src/layout/` and `src/pg.rs` (scratch: the lead adopts or
//! deletes). Each test asserts the CURRENT (buggy) behaviour, so it passes while the bug is
//! there; the comment says what the fixed behaviour should be.
#![allow(missing_docs, unreachable_pub, dead_code)]

use std::path::{Path, PathBuf};

use tenantry::{Admin, Database, Error, Layout, Location, Table, TenantId};
use uuid::Uuid;

#[derive(Table, Debug, Clone, PartialEq)]
#[table(name = "rt_notes", owned)]
pub struct RtNote {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: i64,
    pub body: String,
    pub score: Option<f64>,
    pub data: Option<Vec<u8>>,
}

#[derive(Table, Debug, Clone, PartialEq)]
#[table(name = "rt_tags", owned)]
pub struct RtTag {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: i64,
    pub tag: String,
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tenantry-rt-{name}-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn per_tenant(dir: &Path) -> Layout {
    Layout::builder(Database::open(dir.join("shared.db")).unwrap()).per_tenant(dir.join("tenants")).build().unwrap()
}

fn note(id: i64) -> NewRtNote {
    NewRtNote { id, body: format!("n{id}"), score: Some(1.5), data: Some(vec![0, 1, 2]) }
}

fn shared_count(layout: &Layout, t: &TenantId) -> i64 {
    let admin = Admin::new("redteam counts shared rows");
    layout
        .shared_database()
        .fetch_raw(admin.raw_sql("SELECT COUNT(*) FROM rt_notes WHERE user_id = ?").bind(t.to_string()), |r| r.get(0))
        .unwrap()[0]
}

// ---------------------------------------------------------------------------------------
// L1: a tenant with no location row is taken to be `Own`; `move_tenant(t, Own)` then takes
// the (Own, Own) branch and DELETES the tenant's rows from the shared database as
// "leftovers". Switching an existing layout-A deployment to B and running the natural
// "move every tenant into its own file" loop destroys all data.
#[test]
fn l1_switch_a_to_b_then_move_own_destroys_rows() {
    let dir = temp("a2b");
    let t = TenantId::generate();
    {
        let a = Layout::shared(Database::open(dir.join("shared.db")).unwrap()).unwrap();
        for i in 0..3 {
            a.execute(RtNote::insert(&t, note(i))).unwrap();
        }
    }
    let b = per_tenant(&dir);
    assert_eq!(shared_count(&b, &t), 3, "the rows are in the shared database");
    // Silently invisible: reads go to a fresh, empty file.
    assert!(b.fetch_all(RtNote::select(&t)).unwrap().is_empty());
    assert_eq!(b.location(&t).unwrap(), Location::Own);
    b.move_tenant(&t, Location::Own).unwrap(); // "move them into their own files"
    assert_eq!(shared_count(&b, &t), 0, "BUG: shared rows deleted");
    assert!(b.fetch_all(RtNote::select(&t)).unwrap().is_empty(), "BUG: and nothing was copied: data gone");
    std::fs::remove_dir_all(dir).ok();
}

// ---------------------------------------------------------------------------------------
// L2: the location cache is per `Layout` and never invalidated. Another instance (or process)
// moves the tenant; this one keeps writing to the old place. Writes are acknowledged and lost.
#[test]
fn l2_stale_location_cache_loses_acknowledged_writes() {
    let dir = temp("stale");
    let (p1, p2) = (per_tenant(&dir), per_tenant(&dir));
    // Own -> Shared done by p2; p1 still writes to the (deleted) file.
    let t = TenantId::generate();
    p1.execute(RtNote::insert(&t, note(1))).unwrap();
    p2.move_tenant(&t, Location::Shared).unwrap();
    assert_eq!(p1.execute(RtNote::insert(&t, note(2))).unwrap(), 1, "acknowledged");
    assert_eq!(p1.fetch_all(RtNote::select(&t)).unwrap().len(), 2, "p1 sees its write (unlinked inode)");
    let fresh = per_tenant(&dir);
    assert_eq!(fresh.fetch_all(RtNote::select(&t)).unwrap().len(), 1, "BUG: row 2 lost");

    // Shared -> Own done by p2; p1 keeps writing to the shared DB; p2's next
    // move_tenant(Own) (a no-op "cleanup") deletes those rows for good.
    let u = TenantId::generate();
    p1.move_tenant(&u, Location::Shared).unwrap();
    p1.execute(RtNote::insert(&u, note(1))).unwrap();
    p2.move_tenant(&u, Location::Own).unwrap();
    assert_eq!(p1.execute(RtNote::insert(&u, note(2))).unwrap(), 1, "acknowledged into shared");
    assert_eq!(p2.fetch_all(RtNote::select(&u)).unwrap().len(), 1, "BUG: invisible to p2");
    p2.move_tenant(&u, Location::Own).unwrap();
    assert_eq!(shared_count(&p2, &u), 0, "BUG: and now deleted");
    std::fs::remove_dir_all(dir).ok();
}

// ---------------------------------------------------------------------------------------
// L3: within ONE Layout, a write racing a move is lost (no lock between route() and the
// move's copy/switch). Deterministic form: a handle obtained before the move.
#[test]
fn l3_write_during_move_is_lost_single_process() {
    let dir = temp("race");
    let layout = per_tenant(&dir);
    let t = TenantId::generate();
    layout.execute(RtNote::insert(&t, note(1))).unwrap();
    let held = layout.tenant_database(&t).unwrap(); // what route() holds mid-statement
    layout.move_tenant(&t, Location::Shared).unwrap();
    assert_eq!(held.execute(RtNote::insert(&t, note(2))).unwrap(), 1);
    assert_eq!(layout.fetch_all(RtNote::select(&t)).unwrap().len(), 1, "BUG: row 2 lost");

    // Threaded form through layout.execute only.
    let u = TenantId::generate();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (layout, stop) = (layout.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut ok = 0i64;
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                if layout.execute(RtNote::insert(&u, note(i))).is_ok() {
                    ok += 1;
                }
            }
            ok
        })
    };
    for _ in 0..6 {
        layout.move_tenant(&u, Location::Shared).unwrap();
        layout.move_tenant(&u, Location::Own).unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let acknowledged = writer.join().unwrap();
    let present = layout.fetch_all(RtNote::select(&u)).unwrap().len() as i64;
    eprintln!("l3 threaded: acknowledged {acknowledged}, present {present}");
    assert!(present <= acknowledged);
    std::fs::remove_dir_all(dir).ok();
}

// ---------------------------------------------------------------------------------------
// L4: delete_tenant on a tenant whose location is Shared leaves a leftover per-tenant file
// (the state a move killed after its switch leaves, or a stale writer creates) on disk
// with the tenant's rows: "deleted" data persists.
#[test]
fn l4_delete_tenant_leaves_leftover_file_with_data() {
    let dir = temp("leftover");
    let layout = per_tenant(&dir);
    let t = TenantId::generate();
    layout.execute(RtNote::insert(&t, note(1))).unwrap();
    let path = layout.tenant_path(&t).unwrap();
    // Checkpoint into the main file so a copy of it holds the row.
    let admin = Admin::new("redteam checkpoints");
    layout.tenant_database(&t).unwrap().fetch_raw(admin.raw_sql("PRAGMA wal_checkpoint(TRUNCATE)"), |_| Ok(())).unwrap();
    let backup = dir.join("backup.sqlite3");
    std::fs::copy(&path, &backup).unwrap();
    layout.move_tenant(&t, Location::Shared).unwrap();
    // = Own->Shared killed between its committed switch and remove_file.
    std::fs::copy(&backup, &path).unwrap();
    assert_eq!(layout.delete_tenant(&t).unwrap(), 1);
    assert!(path.exists(), "BUG: the tenant's file survives delete_tenant");
    let db = Database::builder(&path).max_connections(1).open().unwrap();
    let left: Vec<String> =
        db.fetch_raw(admin.raw_sql("SELECT body FROM rt_notes"), |r| r.get(0)).unwrap();
    assert_eq!(left, ["n1"], "BUG: deleted tenant's data still on disk");
    std::fs::remove_dir_all(dir).ok();
}

// ---------------------------------------------------------------------------------------
// L5: `tenant_database(a)` is an unbound Database: tenant B's statements run on A's file.
#[test]
fn l5_tenant_database_accepts_other_tenants_statements() {
    let dir = temp("foreign");
    let layout = per_tenant(&dir);
    let (a, b) = (TenantId::generate(), TenantId::generate());
    layout.execute(RtNote::insert(&a, note(1))).unwrap();
    let a_db = layout.tenant_database(&a).unwrap();
    assert_eq!(a_db.execute(RtNote::insert(&b, note(99))).unwrap(), 1, "BUG: B's row written into A's file");
    assert!(layout.fetch_all(RtNote::select(&b)).unwrap().is_empty(), "and B never sees it");
    assert_eq!(a_db.fetch_all(RtNote::select(&b)).unwrap().len(), 1, "it sits in A's file");
    std::fs::remove_dir_all(dir).ok();
}

// ---------------------------------------------------------------------------------------
// L6: a new tenant's file gets the CURRENT declarations as "version 1" and then every
// migration on top; an ordinary ADD COLUMN migration (declaration updated alongside) makes
// every new tenant fail to open.
#[test]
fn l6_add_column_migration_breaks_new_tenants() {
    let dir = temp("migr");
    let layout = Layout::builder(Database::open(dir.join("shared.db")).unwrap())
        .per_tenant(dir.join("tenants"))
        .migrations(&[(2, "ALTER TABLE rt_tags ADD COLUMN tag TEXT NOT NULL DEFAULT ''")])
        .build()
        .unwrap();
    let t = TenantId::generate();
    let err = layout.execute(RtTag::insert(&t, NewRtTag { id: 1, tag: "x".into() })).unwrap_err();
    eprintln!("l6: {err:?}");
    assert!(format!("{err:?}").contains("duplicate column"), "BUG: new tenants cannot be opened");
    std::fs::remove_dir_all(dir).ok();
}

// ---------------------------------------------------------------------------------------
// L7: export/import is not value-exact for REAL: +/-inf become null; and serde_json without
// `float_roundtrip` may not parse back the exact f64 it printed.
#[test]
fn l7_export_import_real_values() {
    let dir = temp("fidelity");
    let layout = per_tenant(&dir);
    let t = TenantId::generate();
    // Find an f64 serde_json does not round-trip (default features).
    let mut x = 0x1234_5678_9abc_def0_u64;
    let mut bad = None;
    for _ in 0..2_000_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let f = f64::from_bits(x);
        if !f.is_finite() {
            continue;
        }
        let s = serde_json::Value::from(f).to_string();
        let back: f64 = serde_json::from_str::<serde_json::Value>(&s).unwrap().as_f64().unwrap();
        if back.to_bits() != f.to_bits() {
            bad = Some(f);
            break;
        }
    }
    eprintln!("l7: f64 not round-tripped by serde_json: {bad:?}");
    let rows = [
        NewRtNote { id: 1, body: "inf".into(), score: Some(f64::INFINITY), data: Some(vec![]) },
        NewRtNote { id: 2, body: "-inf".into(), score: Some(f64::NEG_INFINITY), data: None },
        NewRtNote { id: 3, body: "neg0".into(), score: Some(-0.0), data: Some((0..=255).collect()) },
        NewRtNote { id: i64::MIN, body: "min".into(), score: Some(f64::MIN_POSITIVE / 4.0), data: None },
        NewRtNote { id: i64::MAX, body: "max\0😀".into(), score: bad.or(Some(0.1)), data: None },
    ];
    layout.execute(RtNote::insert_many(&t, rows)).unwrap();
    let before = layout.fetch_all(RtNote::select(&t)).unwrap();
    let export = layout.export_tenant(&t).unwrap();
    layout.delete_tenant(&t).unwrap();
    layout.import_tenant(&t, &export).unwrap();
    let after = layout.fetch_all(RtNote::select(&t)).unwrap();
    for (b, a) in before.iter().zip(&after) {
        if b.score.map(f64::to_bits) != a.score.map(f64::to_bits) || b != a {
            eprintln!("l7 MISMATCH id {}: {:?} -> {:?}", b.id, b.score, a.score);
        }
    }
    let inf = after.iter().find(|n| n.id == 1).unwrap();
    assert_eq!(inf.score, None, "BUG: +inf came back as NULL");
    std::fs::remove_dir_all(dir).ok();
}

// ---------------------------------------------------------------------------------------
// L8: import_tenant commits table by table: a bad line in a later table leaves earlier
// tables imported, and a rerun of the (fixed) export then fails on conflicts.
#[test]
fn l8_import_is_partial_across_tables() {
    let dir = temp("partial");
    let layout = per_tenant(&dir);
    let good = |t: &TenantId| {
        layout.execute(RtNote::insert(t, note(1))).unwrap();
        layout.execute(RtTag::insert(t, NewRtTag { id: 1, tag: "x".into() })).unwrap();
        let e = layout.export_tenant(t).unwrap();
        layout.delete_tenant(t).unwrap();
        e
    };
    let mut partial = 0;
    for broken in ["rt_notes", "rt_tags"] {
        let t = TenantId::generate();
        let mut export = good(&t);
        export.tables.get_mut(broken).unwrap().push("not json".into());
        assert!(layout.import_tenant(&t, &export).is_err());
        let n = layout.fetch_all(RtNote::select(&t)).unwrap().len() + layout.fetch_all(RtTag::select(&t)).unwrap().len();
        if n > 0 {
            partial += 1;
            export.tables.get_mut(broken).unwrap().pop();
            let rerun = layout.import_tenant(&t, &export);
            eprintln!("l8: broken {broken}: {n} rows left behind; rerun of fixed export: {rerun:?}");
        }
    }
    assert!(partial > 0, "BUG: a failed import leaves a partial write");
    std::fs::remove_dir_all(dir).ok();
}

// Held up: claim_next refuses a per-tenant table; admin typed select on a per-tenant table
// refused; subquery on a per-tenant table inside a shared-table statement refused.
#[test]
fn held_claim_next_per_tenant_refused() {
    let dir = temp("claim");
    let layout = per_tenant(&dir);
    let admin = Admin::new("redteam claim");
    let r = layout.claim_next(&admin, RtNote::id().gt(0), RtNote::id().asc(), RtNote::body(), "x");
    assert!(matches!(r, Err(Error::Placement { .. })));
    std::fs::remove_dir_all(dir).ok();
}

// ---------------------------------------------------------------------------------------
// PostgreSQL
#[cfg(feature = "postgres")]
mod pg {
    use super::*;
    use postgres::{Client, NoTls};
    use tenantry::{PgDatabase, schema_postgres};

    #[derive(Table, Debug, Clone, PartialEq)]
    #[table(name = "rt_pg", owned)]
    pub struct RtPg {
        #[tenant]
        pub user_id: TenantId,
        #[primary_key]
        pub id: i64,
        pub score: f64,
        pub data: Vec<u8>,
        pub flag: bool,
        pub small: i32,
        pub note: Option<String>,
        pub other: Option<Uuid>,
    }

    fn url(n: &str) -> Option<String> {
        std::env::var(n).ok().filter(|v| !v.is_empty())
    }

    fn setup() -> Option<(String, String, String)> {
        let (owner, app, admin) =
            (url("TENANTRY_PG_OWNER_URL")?, url("TENANTRY_PG_APP_URL")?, url("TENANTRY_PG_ADMIN_URL")?);
        let mut c = Client::connect(&owner, NoTls).unwrap();
        c.batch_execute("DROP TABLE IF EXISTS rt_pg CASCADE").unwrap();
        for sql in schema_postgres(&[RtPg::INFO]) {
            c.batch_execute(&sql).unwrap();
        }
        c.batch_execute("GRANT SELECT, INSERT, UPDATE, DELETE ON rt_pg TO tenantry_app, tenantry_admin").unwrap();
        Some((owner, app, admin))
    }

    fn row(id: i64) -> NewRtPg {
        NewRtPg { id, score: 1.0, data: vec![1, 2], flag: true, small: 7, note: None, other: None }
    }

    // One test, in order (shared table).
    #[test]
    fn pg_redteam() {
        let Some((owner, app, admin_url)) = setup() else {
            eprintln!("no PG urls");
            return;
        };
        let db = PgDatabase::connect(&app, 1).unwrap().with_admin(&admin_url, 1).unwrap();
        let admin = Admin::new("redteam pg");
        let (a, b) = (admin.tenant(Uuid::from_u128(0xa1)), admin.tenant(Uuid::from_u128(0xb1)));

        // Held up: every column type, extremes, NULL.
        let extremes = [
            NewRtPg {
                id: i64::MIN,
                score: f64::INFINITY,
                data: vec![],
                flag: false,
                small: i32::MIN,
                note: Some("\u{1F600}'\"".into()),
                other: Some(Uuid::max()),
            },
            NewRtPg {
                id: i64::MAX,
                score: f64::NAN,
                data: (0..=255).collect(),
                flag: true,
                small: i32::MAX,
                note: None,
                other: None,
            },
            NewRtPg { id: 0, score: -0.0, data: vec![0], flag: true, small: 0, note: Some(String::new()), other: None },
        ];
        db.execute(RtPg::insert_many(&a, extremes.clone())).unwrap();
        let got = db.fetch_all(RtPg::select(&a).order_by(RtPg::id().asc())).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!((got[0].id, got[0].small, got[0].other), (i64::MIN, i32::MIN, Some(Uuid::max())));
        assert!(got[2].score.is_nan() && got[2].data.len() == 256 && got[2].note.is_none());
        assert_eq!(got[1].score.to_bits(), (-0.0f64).to_bits());
        assert_eq!(got[0].note.as_deref(), Some("\u{1F600}'\""));
        eprintln!("pg: typed round trip of extremes OK");

        // P1: Param::to_sql ignores the server's parameter type for mismatches: an i64 bound
        // where the server expects float8 is sent as the 8 integer bytes, read as a double.
        db.execute(RtPg::insert(&b, row(1))).unwrap();
        let n = db
            .execute(admin.raw_sql("UPDATE rt_pg SET score = $1 WHERE id = $2").bind(7i64).bind(1i64))
            .unwrap();
        assert_eq!(n, 1);
        let s = db.fetch_one(RtPg::get(&b, 1)).unwrap().score;
        eprintln!("pg P1: bound 7i64 into float8, stored {s:e}");
        assert!(s != 7.0, "BUG: silent corruption");
        db.execute(RtPg::insert(&b, row(2))).unwrap();
        db.execute(admin.raw_sql("UPDATE rt_pg SET small = $1 WHERE id = $2").bind(1i64).bind(2i64)).unwrap();
        db.execute(admin.raw_sql("UPDATE rt_pg SET data = $1 WHERE id = $2").bind(2.5f64).bind(2i64)).unwrap();
        let r2 = db.fetch_one(RtPg::get(&b, 2)).unwrap();
        eprintln!("pg P1: bound 2.5f64 into bytea -> {:?}", r2.data);
        let n = db.execute(admin.raw_sql("UPDATE rt_pg SET id = $1 WHERE id = $2").bind("AAAAAAAA").bind(1i64)).unwrap();
        let ids: Vec<i64> = db.fetch_all(RtPg::select(&b)).unwrap().iter().map(|r| r.id).collect();
        eprintln!("pg P1: bound text 'AAAAAAAA' into int8 ({n} row): ids now {ids:?}");
        // And the portable SQLite idiom `.bind(t.to_string())` against a uuid column fails.
        let r = db.execute(admin.raw_sql("DELETE FROM rt_pg WHERE user_id = $1").bind(b.to_string().as_str()));
        eprintln!("pg P1: text into uuid param: {r:?}");

        // P2: check_rls passes with an extra permissive policy that admits every row.
        let mut o = Client::connect(&owner, NoTls).unwrap();
        o.batch_execute("CREATE POLICY rt_open ON rt_pg FOR SELECT USING (true)").unwrap();
        db.check_rls().unwrap();
        let mut appc = Client::connect(&app, NoTls).unwrap();
        let mut tx = appc.transaction().unwrap();
        tx.execute("SELECT set_config('tenantry.tenant_id', $1, true)", &[&a.to_string()]).unwrap();
        let seen: i64 = tx.query_one("SELECT COUNT(*) FROM rt_pg", &[]).unwrap().get(0);
        drop(tx);
        eprintln!("pg P2: check_rls OK, yet tenant A's transaction sees {seen} rows (A has 3)");
        assert!(seen > 3, "BUG: check_rls missed a permissive policy");
        o.batch_execute("DROP POLICY rt_open ON rt_pg").unwrap();

        // P3: prepared statements cached per connection are never invalidated: after an
        // online column type change every statement of that shape fails on that connection
        // for good.
        assert_eq!(db.fetch_all(RtPg::select(&a)).unwrap().len(), 3);
        o.batch_execute("ALTER TABLE rt_pg ALTER COLUMN note TYPE varchar(200)").unwrap();
        let mut errs = 0;
        for _ in 0..3 {
            if let Err(e) = db.fetch_all(RtPg::select(&a)) {
                errs += 1;
                eprintln!("pg P3: {e}");
            }
        }
        let fresh = PgDatabase::connect(&app, 1).unwrap();
        assert_eq!(fresh.fetch_all(RtPg::select(&a)).unwrap().len(), 3, "a fresh connection works");
        assert_eq!(errs, 3, "BUG: the cached statement stays broken");

        // P4: admin raw DEALLOCATE ALL poisons the admin connection's cache.
        db.fetch_all(RtPg::admin_select(&admin)).unwrap();
        db.execute(admin.raw_sql("DEALLOCATE ALL")).unwrap();
        let r = db.fetch_all(RtPg::admin_select(&admin));
        eprintln!("pg P4: after DEALLOCATE ALL: {:?}", r.as_ref().map(Vec::len));
        assert!(r.is_err(), "BUG: poisoned");

        // P5: the per-connection statement cache grows without bound (one server-side
        // prepared statement per IN-list length).
        let admin_only = PgDatabase::connect(&admin_url, 1).unwrap().with_admin(&admin_url, 1).unwrap();
        for len in 1..=300i64 {
            admin_only.fetch_all(RtPg::admin_select(&admin).filter(RtPg::id().is_in(0..len))).unwrap();
        }
        let prepared = admin_only.execute(admin.raw_sql("SELECT 1 FROM pg_prepared_statements")).unwrap();
        eprintln!("pg P5: {prepared} prepared statements on one connection");
        assert!(prepared >= 300);

        // Held up: panic inside a transaction, then the next tenant on the same connection.
        let db = PgDatabase::connect(&app, 1).unwrap();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _: tenantry::Result<()> = db.transaction(&a, |tx| {
                tx.execute(RtPg::insert(&a, row(500)))?;
                panic!("mid-transaction");
            });
        }));
        assert!(r.is_err());
        assert!(db.fetch_optional(RtPg::get(&a, 500)).unwrap().is_none(), "rolled back");
        assert!(db.fetch_all(RtPg::select(&b)).unwrap().iter().all(|r| r.user_id == b));
        // An error mid-transaction (conflict), then the other tenant.
        let r = db.transaction(&a, |tx| {
            tx.execute(RtPg::insert(&a, row(600)))?;
            tx.execute(RtPg::insert(&a, row(600)))
        });
        assert!(matches!(r, Err(Error::Conflict { .. })), "{r:?}");
        assert!(db.fetch_optional(RtPg::get(&a, 600)).unwrap().is_none());
        eprintln!("pg: panic/error rollback held up");
        let _ = o.batch_execute("DROP TABLE IF EXISTS rt_pg CASCADE");
    }
}
