//! tenantry in five minutes: two tenants share one SQLite file and one object store; each
//! sees and changes only its own rows and objects, and every statement carries the tenant
//! as a bound parameter.
//!
//! Run: `cargo run --example quickstart --features object-store` (add a directory to keep
//! the database and the objects elsewhere).

use tenantry::{Admin, Execute, Fetch, ObjectKey, SqliteDatabase, Table, TenantId, TenantPrefix, TenantStore};
use uuid::Uuid;

/// The seed's `projects` table: owned by a user.
#[derive(Table, Debug)]
#[table(name = "projects", owned)]
struct Project {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    id: Uuid,
    name: String,
    #[index]
    created_at: String,
}

/// The seed's `export_jobs` table: the render queue, owned by a user.
#[derive(Table, Debug)]
#[table(name = "export_jobs", owned, index(status, created_at), index_across_tenants(status, created_at))]
struct ExportJob {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    id: Uuid,
    #[index]
    project_id: Uuid,
    status: String,
    created_at: String,
}

/// Where an export job's source video is uploaded: `{user_id}/input/{job_id}/video.mp4`.
#[derive(ObjectKey, Debug)]
#[key("{tenant}/input/{job_id}/video.mp4")]
struct InputVideo {
    job_id: Uuid,
}

/// Prints a statement's SQL and parameters, then runs it.
fn run<E: Execute>(
    db: &SqliteDatabase,
    label: &str,
    statement: E,
    sql: tenantry::Result<tenantry::Sql>,
) -> tenantry::Result<usize> {
    show(label, sql?);
    db.execute(statement)
}

fn fetch<Q: Fetch>(
    db: &SqliteDatabase,
    label: &str,
    query: Q,
    sql: tenantry::Result<tenantry::Sql>,
) -> tenantry::Result<Vec<Q::Row>> {
    show(label, sql?);
    db.fetch_all(query)
}

/// The local and in-memory stores need no async runtime: any executor drives them.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

fn show(label: &str, sql: tenantry::Sql) {
    println!("\n-- {label}\n{}\n   params: {:?}", sql.text, sql.params);
}

fn main() -> tenantry::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("tenantry-quickstart"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the example's directory");
    let path = dir.join("app.db");
    let db = SqliteDatabase::open(&path)?;
    let store = TenantStore::local(dir.join("objects"))?;
    db.create_all_tables()?;
    println!("database: {}", path.display());

    // Every use of a cross-tenant capability is reported here.
    tenantry::set_audit_hook(|e| println!("   [audit] {:?} by \"{}\" at {}", e.action, e.reason, e.location));

    // Tenants come from the auth layer in a real service; new ones can be generated.
    let alice = TenantId::generate();
    let bob = TenantId::generate();
    println!("alice = {alice}\nbob   = {bob}");

    // The same project id for both tenants: ids only need to be unique per tenant.
    let shared_id = Uuid::new_v4();
    for (who, tenant, name) in [("alice", &alice, "Cup final"), ("bob", &bob, "Sunday league")] {
        let insert = Project::insert(
            tenant,
            NewProject { id: shared_id, name: name.into(), created_at: "2026-11-27 10:00:00".into() },
        );
        let sql = insert.to_sql();
        run(&db, &format!("{who} inserts a project"), insert, sql)?;
        let job = ExportJob::insert(
            tenant,
            NewExportJob {
                id: Uuid::new_v4(),
                project_id: shared_id,
                status: "queued".into(),
                created_at: "2026-11-27 10:05:00".into(),
            },
        );
        let sql = job.to_sql();
        run(&db, &format!("{who} queues an export"), job, sql)?;
    }

    let get = Project::get(&alice, shared_id);
    let sql = get.to_sql();
    let rows = fetch(&db, "alice reads project by id", get, sql)?;
    for p in &rows {
        println!("   -> {} {:?} created {}", p.id, p.name, p.created_at);
    }

    let list = Project::select(&bob).filter(Project::name().like("%final%").or(Project::id().eq(shared_id))).limit(20);
    let sql = list.to_sql();
    let rows = fetch(&db, "bob searches with an OR (it never widens past his tenant)", list, sql)?;
    println!("   -> {:?}", rows.iter().map(|p| &p.name).collect::<Vec<_>>());
    assert!(rows.iter().all(|p| p.user_id == bob));

    let rename = Project::update(&bob).set(Project::name(), "renamed by bob").filter(Project::id().eq(shared_id));
    let sql = rename.to_sql();
    let changed = run(&db, "bob renames project `shared_id`", rename, sql)?;
    println!("   -> {changed} row changed (his own)");

    let join = Project::select(&alice).join::<ExportJob>(ExportJob::project_id().eq_col(Project::id()));
    let sql = join.to_sql();
    let rows = fetch(&db, "alice joins projects to export jobs (both tables scoped)", join, sql)?;
    for (p, j) in &rows {
        println!(
            "   -> {:?}: job {} for project {} is {} since {}",
            p.name, j.id, j.project_id, j.status, j.created_at
        );
    }
    assert!(rows.iter().all(|(p, j)| p.user_id == alice && j.user_id == alice));

    let delete = Project::delete_by_key(&bob, shared_id);
    let sql = delete.to_sql();
    let deleted = run(&db, "bob deletes project `shared_id`", delete, sql)?;
    println!("   -> {deleted} row deleted (his own)");

    let alice_row = db.fetch_one(Project::get(&alice, shared_id))?;
    println!("\nalice's project is untouched: {:?}", alice_row.name);
    assert_eq!(alice_row.name, "Cup final");

    // Object keys: each tenant's export job gets its own upload key, under its own prefix.
    for (who, tenant) in [("alice", &alice), ("bob", &bob)] {
        let job = db.fetch_one(ExportJob::select(tenant).filter(ExportJob::project_id().eq(shared_id)))?;
        let key = InputVideo { job_id: job.id }.key(tenant)?;
        block_on(store.put(&key, format!("{who}'s raw footage").into_bytes()))?;
        println!("\n-- {who} uploads to {key}");
    }
    for (who, tenant) in [("alice", &alice), ("bob", &bob)] {
        let keys = block_on(store.list(&TenantPrefix::root(tenant)))?;
        println!("{who} lists {} object(s): {:?}", keys.len(), keys.iter().map(|k| k.as_str()).collect::<Vec<_>>());
    }
    let alices_key = block_on(store.list(&TenantPrefix::root(&alice)))?.remove(0);
    match InputVideo::parse(&bob, alices_key.as_str()) {
        Err(e) => println!("bob presents alice's key from a webhook: refused ({e})"),
        Ok(_) => unreachable!("a key of another tenant never parses"),
    }

    // A worker that serves every tenant says so, in code and in the audit log.
    let admin = Admin::new("quickstart: count queued exports across tenants");
    let queued = ExportJob::admin_select(&admin).filter(ExportJob::status().eq("queued")).count();
    let sql = queued.to_sql();
    show("an audited admin count across tenants", sql?);
    println!("   -> {} queued export(s) in total", db.fetch_one(queued)?);
    Ok(())
}
