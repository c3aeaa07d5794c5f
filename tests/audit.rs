//! The isolation audit over a layout B database, its tenant files and a local bucket:
//! nothing on a clean one (two tenants with the same row ids and object names), and each
//! planted fault found, by kind.
//!
//! Guards: `Layout::audit`'s count of rows that do not belong (seen failing with
//! `Belongs::Only` counted as `Anyone`: the planted row in Alice's file went unreported),
//! its key check (`verify_table` on each file), the known-tenant comparison, and
//! `TenantStore::audit`'s prefix check.
#![cfg(feature = "object-store")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tenantry::{Admin, Finding, Layout, Location, ObjectKey, Segment, SqliteDatabase, Table, TenantId, TenantStore};
use uuid::Uuid;

#[derive(Table, Debug)]
#[table(name = "au_notes", owned)]
struct Note {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    id: i64,
    body: String,
}

#[derive(ObjectKey)]
#[key("{tenant}/uploads/{name}")]
struct Upload {
    name: Segment,
}

struct Setup {
    dir: PathBuf,
    layout: Layout,
    store: TenantStore,
    alice: TenantId,
    bob: TenantId,
}

impl Drop for Setup {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// Two tenants in files of their own, a third moved into the shared database, each with
/// note 1 and `uploads/a.txt`.
fn setup() -> Setup {
    let dir = std::env::temp_dir().join(format!("tenantry-audit-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let layout = Layout::builder(SqliteDatabase::open(dir.join("shared.db")).unwrap())
        .per_tenant(dir.join("tenants"))
        .build()
        .unwrap();
    let store = TenantStore::local(dir.join("bucket")).unwrap();
    let (alice, bob, carol) = (TenantId::generate(), TenantId::generate(), TenantId::generate());
    for t in [&alice, &bob, &carol] {
        layout.execute(Note::insert(t, NewNote { id: 1, body: "mine".into() })).unwrap();
        let key = Upload { name: Segment::new("a.txt").unwrap() }.key(t).unwrap();
        futures::executor::block_on(store.put(&key, b"bytes".to_vec())).unwrap();
    }
    layout.move_tenant(&carol, Location::Shared).unwrap();
    Setup { dir, layout, store, alice, bob }
}

fn audit(s: &Setup) -> (Vec<Finding>, BTreeSet<Uuid>) {
    let admin = Admin::new("test audits isolation");
    let mut seen = (0, 0);
    let report = s.layout.audit(&admin, |p| seen = (p.done, p.total)).unwrap();
    assert_eq!(seen.0, seen.1, "progress after each file in the tenants' directory");
    let mut findings = report.findings;
    findings.extend(futures::executor::block_on(s.store.audit(&admin, &report.known_tenants)).unwrap());
    (findings, report.known_tenants)
}

fn file(s: &Setup, t: &TenantId) -> PathBuf {
    s.layout.tenant_path(t).unwrap()
}

fn sql(path: &Path, sql: &str) {
    rusqlite::Connection::open(path).unwrap().execute_batch(sql).unwrap();
}

#[test]
fn a_clean_layout_and_bucket_have_no_findings() {
    let s = setup();
    let (findings, known) = audit(&s);
    assert_eq!(findings, []);
    assert!(known.contains(&s.alice.as_uuid()) && known.contains(&s.bob.as_uuid()));
}

#[test]
fn each_planted_fault_is_found() {
    let s = setup();
    let (alice, bob) = (s.alice.to_string(), s.bob.to_string());
    // Bob's row planted in Alice's file (same id as Alice's own note 1 in Bob's: no clash).
    sql(&file(&s, &s.alice), &format!("INSERT INTO au_notes VALUES ('{bob}', 2, 'planted')"));
    // A row of Alice (who lives in her own file) in the shared database's copy of the table.
    sql(&s.dir.join("shared.db"), &format!("INSERT INTO au_notes VALUES ('{alice}', 9, 'stale copy')"));
    // Bob's file re-keyed without the tenant column.
    sql(
        &file(&s, &s.bob),
        "CREATE TABLE n2 (user_id TEXT NOT NULL, id INTEGER PRIMARY KEY, body TEXT NOT NULL);
         INSERT INTO n2 SELECT * FROM au_notes; DROP TABLE au_notes; ALTER TABLE n2 RENAME TO au_notes;",
    );
    // A file nobody knows, and a stray one.
    let ghost = Uuid::new_v4();
    let ghost_file = s.dir.join("tenants").join(format!("{ghost}.sqlite3"));
    sql(&file(&s, &s.alice), &format!("VACUUM INTO '{}'", ghost_file.display()));
    std::fs::write(s.dir.join("tenants").join("backup.sqlite3"), b"not a database at all, just bytes").unwrap();
    let stray_dir = s.dir.join("tenants").join(format!("{}.sqlite3", Uuid::new_v4()));
    std::fs::create_dir(&stray_dir).unwrap();
    // Objects outside any tenant, and under an unknown tenant's prefix.
    std::fs::create_dir_all(s.dir.join("bucket").join("loose")).unwrap();
    std::fs::write(s.dir.join("bucket").join("loose").join("x.txt"), b"x").unwrap();
    std::fs::write(s.dir.join("bucket").join("top.txt"), b"x").unwrap();
    let stranger = Uuid::new_v4();
    std::fs::create_dir_all(s.dir.join("bucket").join(stranger.to_string())).unwrap();
    std::fs::write(s.dir.join("bucket").join(stranger.to_string()).join("y"), b"y").unwrap();

    let (findings, _) = audit(&s);
    let alice_file = format!("{alice}.sqlite3");
    let expected = [
        Finding::MisplacedRows { database: "shared".into(), table: "au_notes", rows: 1 },
        Finding::MisplacedRows { database: alice_file.clone(), table: "au_notes", rows: 1 },
        Finding::TenantKeys {
            database: format!("{bob}.sqlite3"),
            table: "au_notes",
            why: "the declared tenant column does not lead the primary key",
        },
        Finding::UnknownTenantFile { tenant: ghost },
        // The copy holds Alice's rows (and Bob's planted one) under the ghost's name.
        Finding::MisplacedRows { database: format!("{ghost}.sqlite3"), table: "au_notes", rows: 2 },
        Finding::StrayFile { path: s.dir.join("tenants").join("backup.sqlite3") },
        Finding::StrayFile { path: stray_dir.clone() },
        Finding::ObjectOutsideTenant { key: "loose/x.txt".into() },
        Finding::ObjectOutsideTenant { key: "top.txt".into() },
        Finding::UnknownTenantPrefix { tenant: stranger, objects: 1 },
    ];
    for f in &expected {
        assert!(findings.contains(f), "missing {f:?} in {findings:#?}");
    }
    assert_eq!(findings.len(), expected.len(), "{findings:#?}");
    // Each reads as a sentence an operator can act on.
    let text: Vec<String> = findings.iter().map(ToString::to_string).collect();
    assert!(
        text.contains(&format!("{alice_file}: au_notes: 1 row(s) of a tenant that does not live in this database"))
    );
}
