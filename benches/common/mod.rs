//! Shared by the criterion (wall-clock) and callgrind (instruction count) benchmarks:
//! one data set, and each operation written twice, with tenantry and by hand with
//! rusqlite's `prepare_cached`, on connections with the same settings.
#![allow(dead_code, unreachable_pub, missing_docs, reason = "bench support module")]

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension as _, config::DbConfig};
use tenantry::{Admin, SqliteDatabase, Table, TenantId};
use uuid::Uuid;

#[derive(Table, Debug)]
#[table(name = "projects", owned)]
pub struct Project {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: Uuid,
    pub name: String,
    #[index]
    pub created_at: String,
}

#[derive(Table, Debug)]
#[table(name = "export_jobs", owned)]
pub struct ExportJob {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: Uuid,
    #[index]
    pub project_id: Uuid,
    pub status: String,
    pub created_at: String,
}

/// A hand-written row: what an application without tenantry would decode into.
#[derive(Debug)]
pub struct RawProject {
    pub user_id: Uuid,
    pub id: Uuid,
    pub name: String,
    pub created_at: String,
}

#[derive(Debug)]
pub struct RawJob {
    pub user_id: Uuid,
    pub id: Uuid,
    pub project_id: Uuid,
    pub status: String,
    pub created_at: String,
}

pub struct Fixture {
    pub dir: PathBuf,
    pub db: SqliteDatabase,
    pub conn: Connection,
    pub tenants: Vec<TenantId>,
}

pub fn tenant_uuid(t: usize) -> Uuid {
    Uuid::from_u128(0xbe00_0000_0000_0000_0000_0000_0000_0000 | t as u128)
}
/// Project and job ids repeat across tenants, as in a real multi-tenant table.
pub fn project_id(p: usize) -> Uuid {
    Uuid::from_u128(0x1000 + p as u128)
}
pub fn job_id(p: usize) -> Uuid {
    Uuid::from_u128(0x2000 + p as u128)
}
pub fn created_at(p: usize) -> String {
    format!("2026-11-{:02} {:02}:{:02}:00", 1 + p % 28, p % 24, p % 60)
}

/// `TENANTRY_BENCH_QPSG=0` turns SQLite's query-planner stability guarantee off on both
/// sides, to measure what it saves (a bound `LIMIT ?` can otherwise re-prepare a statement).
pub fn stable_plans() -> bool {
    std::env::var("TENANTRY_BENCH_QPSG").map_or(true, |v| v != "0")
}

/// The same settings tenantry applies, so the ratio measures the library alone.
pub fn hand_connection(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    let _: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).unwrap();
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;").unwrap();
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, stable_plans()).unwrap();
    conn.set_prepared_statement_cache_capacity(256);
    conn
}

/// `tenants` x `per_tenant` projects, one export job per project.
pub fn fixture(tenants: usize, per_tenant: usize) -> Fixture {
    let dir = std::env::temp_dir().join(format!("tenantry-bench-{}-{}", std::process::id(), Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bench.sqlite");
    let db = SqliteDatabase::builder(&path).max_connections(1).stable_plans(stable_plans()).open().unwrap();
    db.create_table::<Project>().unwrap();
    db.create_table::<ExportJob>().unwrap();
    let admin = Admin::new("benchmark fixture mints its tenants");
    let tenants: Vec<TenantId> = (0..tenants).map(|t| admin.mint_tenant(tenant_uuid(t))).collect();
    for t in &tenants {
        db.transaction(|tx| {
            tx.execute(Project::insert_many(
                t,
                (0..per_tenant).map(|p| NewProject {
                    id: project_id(p),
                    name: format!("project {p}"),
                    created_at: created_at(p),
                }),
            ))?;
            tx.execute(ExportJob::insert_many(
                t,
                (0..per_tenant).map(|p| NewExportJob {
                    id: job_id(p),
                    project_id: project_id(p),
                    status: if p % 3 == 0 { "done" } else { "queued" }.into(),
                    created_at: created_at(p),
                }),
            ))
        })
        .unwrap();
    }
    let admin_conn = hand_connection(&path);
    admin_conn.execute_batch("ANALYZE").unwrap();
    drop(admin_conn);
    // Both sides' connections open after the last schema change (ANALYZE writes
    // `sqlite_stat1`). A connection that lived through one re-prepares its next statement,
    // and SQLite then keeps an error value on it that every later statement's reset
    // touches (about 27 instructions each): charged to one side only, that is not the
    // library's cost.
    drop(db);
    // Each side reads and writes its own copy of the same file. On one shared file, the
    // first side's deletes and restores (which give a row a new rowid at the table's end)
    // would pack the rows the second side then reads into a few hot pages, and every
    // write by one connection empties the other's page cache: both charged to one side.
    // With every connection closed, the WAL is checkpointed into the file, which is
    // copied as it is (no VACUUM: the copy keeps the page layout).
    let wal = dir.join("bench.sqlite-wal");
    assert!(std::fs::metadata(&wal).map_or(true, |m| m.len() == 0), "the WAL was not checkpointed");
    let hand_path = dir.join("bench-hand.sqlite");
    std::fs::copy(&path, &hand_path).unwrap();
    let db = SqliteDatabase::builder(&path).max_connections(1).stable_plans(stable_plans()).open().unwrap();
    let conn = hand_connection(&hand_path);
    Fixture { dir, db, conn, tenants }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn text<'b>(u: &Uuid, buf: &'b mut [u8; 36]) -> &'b str {
    u.hyphenated().encode_lower(buf)
}

fn uuid_at(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Uuid> {
    let v = row.get_ref(i)?;
    Uuid::try_parse_ascii(v.as_bytes()?)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, v.data_type(), Box::new(e)))
}

fn raw_project(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawProject> {
    Ok(RawProject { user_id: uuid_at(row, 0)?, id: uuid_at(row, 1)?, name: row.get(2)?, created_at: row.get(3)? })
}

// ---- get by primary key ----

#[inline(never)]
pub fn tenantry_get(f: &Fixture, t: &TenantId, id: Uuid) -> Option<Project> {
    f.db.fetch_optional(Project::get(t, id)).unwrap()
}

#[inline(never)]
pub fn hand_get(f: &Fixture, t: &TenantId, id: Uuid) -> Option<RawProject> {
    hand_get_on(&f.conn, t, id)
}

pub fn hand_get_on(conn: &Connection, t: &TenantId, id: Uuid) -> Option<RawProject> {
    let (mut a, mut b) = ([0; 36], [0; 36]);
    let mut stmt = conn
        .prepare_cached("SELECT user_id, id, name, created_at FROM projects WHERE user_id = ?1 AND id = ?2")
        .unwrap();
    stmt.query_row((text(&t.as_uuid(), &mut a), text(&id, &mut b)), raw_project).optional().unwrap()
}

// ---- 20 newest of a tenant ----

#[inline(never)]
pub fn tenantry_list20(f: &Fixture, t: &TenantId) -> Vec<Project> {
    f.db.fetch_all(Project::select(t).order_by(Project::created_at().desc()).limit(20)).unwrap()
}

#[inline(never)]
pub fn hand_list20(f: &Fixture, t: &TenantId) -> Vec<RawProject> {
    let mut a = [0; 36];
    let mut stmt = f
        .conn
        .prepare_cached(
            "SELECT user_id, id, name, created_at FROM projects WHERE user_id = ?1 ORDER BY created_at DESC LIMIT ?2",
        )
        .unwrap();
    stmt.query_map((text(&t.as_uuid(), &mut a), 20), raw_project).unwrap().collect::<rusqlite::Result<_>>().unwrap()
}

// ---- update by primary key ----

#[inline(never)]
pub fn tenantry_update(f: &Fixture, t: &TenantId, id: Uuid, name: &str) -> usize {
    f.db.execute(Project::update(t).set(Project::name(), name).filter(Project::id().eq(id))).unwrap()
}

#[inline(never)]
pub fn hand_update(f: &Fixture, t: &TenantId, id: Uuid, name: &str) -> usize {
    let (mut a, mut b) = ([0; 36], [0; 36]);
    let mut stmt = f.conn.prepare_cached("UPDATE projects SET name = ?1 WHERE user_id = ?2 AND id = ?3").unwrap();
    stmt.execute((name, text(&t.as_uuid(), &mut a), text(&id, &mut b))).unwrap()
}

// ---- two-table join (one project with its export jobs) ----

#[inline(never)]
pub fn tenantry_join(f: &Fixture, t: &TenantId, id: Uuid) -> Vec<(Project, ExportJob)> {
    f.db.fetch_all(
        Project::select(t)
            .join::<ExportJob>(ExportJob::project_id().eq_col(Project::id()))
            .filter(Project::id().eq(id)),
    )
    .unwrap()
}

#[inline(never)]
pub fn hand_join(f: &Fixture, t: &TenantId, id: Uuid) -> Vec<(RawProject, RawJob)> {
    let (mut a, mut b) = ([0; 36], [0; 36]);
    let mut stmt = f
        .conn
        .prepare_cached(
            "SELECT p.user_id, p.id, p.name, p.created_at, j.user_id, j.id, j.project_id, j.status, j.created_at \
             FROM projects p JOIN export_jobs j ON j.user_id = ?1 AND j.project_id = p.id \
             WHERE p.user_id = ?1 AND p.id = ?2",
        )
        .unwrap();
    stmt.query_map((text(&t.as_uuid(), &mut a), text(&id, &mut b)), |row| {
        let p = raw_project(row)?;
        let j = RawJob {
            user_id: uuid_at(row, 4)?,
            id: uuid_at(row, 5)?,
            project_id: uuid_at(row, 6)?,
            status: row.get(7)?,
            created_at: row.get(8)?,
        };
        Ok((p, j))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

// ---- insert (one row; the 1,000-row transaction repeats it) ----

#[inline(never)]
pub fn tenantry_insert_1000(f: &Fixture, t: &TenantId, ids: &[Uuid]) {
    f.db.transaction(|tx| {
        for id in ids {
            tx.execute(Project::insert(
                t,
                NewProject { id: *id, name: "new".into(), created_at: "2026-11-27 00:00:00".into() },
            ))?;
        }
        Ok(())
    })
    .unwrap();
}

#[inline(never)]
pub fn tenantry_insert_many_1000(f: &Fixture, t: &TenantId, ids: &[Uuid]) {
    f.db.execute(Project::insert_many(
        t,
        ids.iter().map(|id| NewProject { id: *id, name: "new".into(), created_at: "2026-11-27 00:00:00".into() }),
    ))
    .unwrap();
}

#[inline(never)]
pub fn hand_insert_1000(f: &Fixture, t: &TenantId, ids: &[Uuid]) {
    let mut a = [0; 36];
    let tenant = text(&t.as_uuid(), &mut a);
    f.conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    {
        let mut stmt = f
            .conn
            .prepare_cached("INSERT INTO projects (user_id, id, name, created_at) VALUES (?1, ?2, ?3, ?4)")
            .unwrap();
        for id in ids {
            let mut b = [0; 36];
            // Same owned values the tenantry side builds for its insert form.
            let (name, created_at) = (String::from("new"), String::from("2026-11-27 00:00:00"));
            stmt.execute((tenant, text(id, &mut b), name, created_at)).unwrap();
        }
    }
    f.conn.execute_batch("COMMIT").unwrap();
}

/// Removes rows an insert benchmark added (outside the timed region).
pub fn cleanup_inserted(f: &Fixture, t: &TenantId, ids: &[Uuid]) {
    let _ = ids;
    f.db.execute(Project::delete(t).filter(Project::name().eq("new"))).unwrap();
}

// ---- delete by primary key ----

#[inline(never)]
pub fn tenantry_delete(f: &Fixture, t: &TenantId, id: Uuid) -> usize {
    f.db.execute(Project::delete_by_key(t, id)).unwrap()
}

#[inline(never)]
pub fn hand_delete(f: &Fixture, t: &TenantId, id: Uuid) -> usize {
    let (mut a, mut b) = ([0; 36], [0; 36]);
    let mut stmt = f.conn.prepare_cached("DELETE FROM projects WHERE user_id = ?1 AND id = ?2").unwrap();
    stmt.execute((text(&t.as_uuid(), &mut a), text(&id, &mut b))).unwrap()
}

/// Puts a deleted row back (outside the timed region).
pub fn restore(f: &Fixture, t: &TenantId, id: Uuid) {
    f.db.execute(Project::upsert(t, NewProject { id, name: "restored".into(), created_at: created_at(0) })).unwrap();
}

/// Puts a row deleted by the hand-written side back, through the same connection, so
/// neither side pays for the other's writes (a write on one connection makes the other
/// drop its page cache).
pub fn hand_restore(f: &Fixture, t: &TenantId, id: Uuid) {
    let (mut a, mut b) = ([0; 36], [0; 36]);
    let mut stmt = f
        .conn
        .prepare_cached(
            "INSERT OR REPLACE INTO projects (user_id, id, name, created_at) VALUES (?1, ?2, 'restored', ?3)",
        )
        .unwrap();
    stmt.execute((text(&t.as_uuid(), &mut a), text(&id, &mut b), created_at(0))).unwrap();
}

/// Removes rows the hand-written insert added, through the same connection.
pub fn hand_cleanup(f: &Fixture, t: &TenantId, _ids: &[Uuid]) {
    let mut a = [0; 36];
    f.conn
        .prepare_cached("DELETE FROM projects WHERE user_id = ?1 AND name = 'new'")
        .unwrap()
        .execute([text(&t.as_uuid(), &mut a)])
        .unwrap();
}

/// One side of the comparison: every operation, and how to undo its writes.
pub struct Side {
    pub get: fn(&Fixture, &TenantId, Uuid) -> usize,
    pub list20: fn(&Fixture, &TenantId) -> usize,
    pub update: fn(&Fixture, &TenantId, Uuid, &str) -> usize,
    pub join: fn(&Fixture, &TenantId, Uuid) -> usize,
    pub delete: fn(&Fixture, &TenantId, Uuid) -> usize,
    pub restore: fn(&Fixture, &TenantId, Uuid),
    pub insert_1000: fn(&Fixture, &TenantId, &[Uuid]),
    pub cleanup: fn(&Fixture, &TenantId, &[Uuid]),
}

pub const TENANTRY: Side = Side {
    get: |f, t, id| tenantry_get(f, t, id).map_or(0, |_| 1),
    list20: |f, t| tenantry_list20(f, t).len(),
    update: tenantry_update,
    join: |f, t, id| tenantry_join(f, t, id).len(),
    delete: tenantry_delete,
    restore,
    insert_1000: tenantry_insert_1000,
    cleanup: cleanup_inserted,
};

pub const HAND: Side = Side {
    get: |f, t, id| hand_get(f, t, id).map_or(0, |_| 1),
    list20: |f, t| hand_list20(f, t).len(),
    update: hand_update,
    join: |f, t, id| hand_join(f, t, id).len(),
    delete: hand_delete,
    restore: hand_restore,
    insert_1000: hand_insert_1000,
    cleanup: hand_cleanup,
};

// ---- layouts: the same warm get in layout A and layout B ----

/// The same tenants and projects in layout A (one shared file) and layout B (a file per
/// tenant), for comparing a warm by-key read through each `Layout`.
pub struct Layouts {
    pub dir: PathBuf,
    pub a: tenantry::Layout,
    pub b: tenantry::Layout,
    pub tenants: Vec<TenantId>,
}

impl Drop for Layouts {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn layouts_fixture(tenants: usize, per_tenant: usize) -> Layouts {
    let dir = std::env::temp_dir().join(format!("tenantry-bench-layouts-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let open =
        |name: &str| SqliteDatabase::builder(dir.join(name)).max_connections(1).stable_plans(stable_plans()).open();
    let a = tenantry::Layout::shared(open("a.sqlite").unwrap()).unwrap();
    let b = tenantry::Layout::builder(open("b-shared.sqlite").unwrap())
        .per_tenant(dir.join("b-tenants"))
        .max_open(tenants.max(1))
        .build()
        .unwrap();
    let admin = Admin::new("layout benchmark fixture mints its tenants");
    let tenants: Vec<TenantId> = (0..tenants).map(|t| admin.mint_tenant(tenant_uuid(t))).collect();
    for t in &tenants {
        for layout in [&a, &b] {
            layout
                .execute(Project::insert_many(
                    t,
                    (0..per_tenant).map(|p| NewProject {
                        id: project_id(p),
                        name: format!("project {p}"),
                        created_at: created_at(p),
                    }),
                ))
                .unwrap();
        }
    }
    Layouts { dir, a, b, tenants }
}

#[inline(never)]
pub fn layout_a_get(l: &Layouts, t: &TenantId, id: Uuid) -> Option<Project> {
    l.a.fetch_optional(Project::get(t, id)).unwrap()
}

#[inline(never)]
pub fn layout_b_get(l: &Layouts, t: &TenantId, id: Uuid) -> Option<Project> {
    l.b.fetch_optional(Project::get(t, id)).unwrap()
}

// ---- statements of issue 12: a grouped count, a left join, a page by cursor ----

#[inline(never)]
pub fn tenantry_group(f: &Fixture, t: &TenantId) -> Vec<(String, i64)> {
    f.db.fetch_all(ExportJob::select(t).group_by(ExportJob::status()).count()).unwrap()
}

#[inline(never)]
pub fn hand_group(f: &Fixture, t: &TenantId) -> Vec<(String, i64)> {
    let mut a = [0; 36];
    let mut stmt =
        f.conn.prepare_cached("SELECT status, COUNT(*) FROM export_jobs WHERE user_id = ?1 GROUP BY status").unwrap();
    stmt.query_map([text(&t.as_uuid(), &mut a)], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

#[inline(never)]
pub fn tenantry_left_join(f: &Fixture, t: &TenantId, id: Uuid) -> Vec<(Project, Option<ExportJob>)> {
    f.db.fetch_all(
        Project::select(t)
            .left_join::<ExportJob>(ExportJob::project_id().eq_col(Project::id()))
            .filter(Project::id().eq(id)),
    )
    .unwrap()
}

#[inline(never)]
pub fn hand_left_join(f: &Fixture, t: &TenantId, id: Uuid) -> Vec<(RawProject, Option<RawJob>)> {
    let (mut a, mut b) = ([0; 36], [0; 36]);
    let mut stmt = f
        .conn
        .prepare_cached(
            "SELECT p.user_id, p.id, p.name, p.created_at, j.user_id, j.id, j.project_id, j.status, j.created_at \
             FROM projects p LEFT JOIN export_jobs j ON j.user_id = ?1 AND j.project_id = p.id \
             WHERE p.user_id = ?1 AND p.id = ?2",
        )
        .unwrap();
    stmt.query_map((text(&t.as_uuid(), &mut a), text(&id, &mut b)), |row| {
        let p = raw_project(row)?;
        let j = match row.get_ref(4)? {
            rusqlite::types::ValueRef::Null => None,
            _ => Some(RawJob {
                user_id: uuid_at(row, 4)?,
                id: uuid_at(row, 5)?,
                project_id: uuid_at(row, 6)?,
                status: row.get(7)?,
                created_at: row.get(8)?,
            }),
        };
        Ok((p, j))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// The 20 projects after (`created_at`, `id`) = `after`, newest first; the cursor comes
/// back as text, as from a client.
#[inline(never)]
pub fn tenantry_page(f: &Fixture, t: &TenantId, after: &str) -> Vec<Project> {
    let pages = Project::select(t).keyset((Project::created_at().desc(), Project::id().desc())).unwrap();
    let cursor = pages.parse_cursor(after).unwrap();
    f.db.fetch_all(pages.after(&cursor, 20).unwrap()).unwrap()
}

/// A cursor after project `p`, in the form `tenantry_page` takes.
pub fn page_cursor(t: &TenantId, p: usize) -> String {
    let pages = Project::select(t).keyset((Project::created_at().desc(), Project::id().desc())).unwrap();
    let last = Project { user_id: *t, id: project_id(p), name: format!("project {p}"), created_at: created_at(p) };
    pages.cursor(&last).to_string()
}

#[inline(never)]
pub fn hand_page(f: &Fixture, t: &TenantId, after: &(String, Uuid)) -> Vec<RawProject> {
    let (mut a, mut b) = ([0; 36], [0; 36]);
    let mut stmt = f
        .conn
        .prepare_cached(
            "SELECT user_id, id, name, created_at FROM projects WHERE user_id = ?1 \
             AND (created_at < ?2 OR (created_at = ?2 AND id < ?3)) ORDER BY created_at DESC, id DESC LIMIT ?4",
        )
        .unwrap();
    stmt.query_map((text(&t.as_uuid(), &mut a), after.0.as_str(), text(&after.1, &mut b), 20), raw_project)
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}
