//! Layout costs, each beside its baseline in the same run:
//! - cold open + first query of a per-tenant database, vs the same by hand with rusqlite
//!   (open, the same connection settings, one prepared query);
//! - a warm by-key read in layout B vs the same read in layout A;
//! - the routing cost of layout C (a `Layout`) vs the `SqliteDatabase` it routes to, for a
//!   per-tenant table and for a shared one.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use rusqlite::OptionalExtension as _;
use tenantry::{Admin, Layout, SqliteDatabase, Table, TenantId};
use uuid::Uuid;

#[derive(Table, Debug)]
#[table(name = "projects", owned)]
#[allow(dead_code, reason = "rows are only passed to black_box")]
struct Project {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    id: Uuid,
    name: String,
}

#[derive(Table, Debug)]
#[table(name = "export_jobs", owned)]
#[allow(dead_code, reason = "rows are only passed to black_box")]
struct ExportJob {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    id: Uuid,
    status: String,
}

const TENANTS: usize = 500;

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("tenantry-bench-layouts-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let admin = Admin::new("layout benchmark mints its tenants");
    let tenants: Vec<TenantId> = (0..TENANTS).map(|i| admin.mint_tenant(Uuid::from_u128(0xbe00 + i as u128))).collect();
    let row = Uuid::from_u128(1);
    // Layout B with one open database at a time: every read of another tenant is cold.
    let cold = Layout::builder(SqliteDatabase::open(dir.join("shared-b.db")).unwrap())
        .per_tenant(dir.join("b"))
        .max_open(1)
        .build()
        .unwrap();
    let shared = Layout::shared(SqliteDatabase::open(dir.join("shared-a.db")).unwrap()).unwrap();
    let hybrid_db = SqliteDatabase::open(dir.join("shared-c.db")).unwrap();
    let hybrid =
        Layout::builder(hybrid_db.clone()).per_tenant(dir.join("c")).shared_tables(&[ExportJob::INFO]).build().unwrap();
    for t in &tenants {
        for layout in [&cold, &shared, &hybrid] {
            layout.execute(Project::insert(t, NewProject { id: row, name: "p".into() })).unwrap();
            layout.execute(ExportJob::insert(t, NewExportJob { id: row, status: "queued".into() })).unwrap();
        }
    }
    let warm_b = Layout::builder(SqliteDatabase::open(dir.join("shared-b.db")).unwrap())
        .per_tenant(dir.join("b"))
        .build()
        .unwrap();

    let mut i = 0usize;
    let mut next = || {
        i += 1;
        &tenants[(i * 7919) % TENANTS]
    };

    let mut g = c.benchmark_group("cold_open_and_first_query");
    g.bench_function("tenantry", |b| b.iter(|| black_box(cold.fetch_optional(Project::get(next(), row)).unwrap())));
    let path = |t: &TenantId| dir.join("b").join(format!("{t}.sqlite3"));
    g.bench_function("rusqlite", |b| {
        b.iter_custom(|n| {
            let mut total = Duration::ZERO;
            for _ in 0..n {
                let t = next();
                let start = Instant::now();
                let conn = rusqlite::Connection::open(path(t)).unwrap();
                conn.busy_timeout(Duration::from_secs(5)).unwrap();
                let _: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).unwrap();
                conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;").unwrap();
                let _: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
                let name: Option<String> = conn
                    .query_row(
                        "SELECT name FROM projects WHERE user_id = ?1 AND id = ?2",
                        [t.to_string(), row.to_string()],
                        |r| r.get(0),
                    )
                    .optional()
                    .unwrap();
                black_box(name);
                drop(conn);
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();

    let hot: Vec<TenantId> = tenants[..32].to_vec();
    let mut j = 0usize;
    let mut hot_next = || {
        j += 1;
        &hot[j % hot.len()]
    };
    let mut g = c.benchmark_group("warm_get_b_vs_a");
    g.bench_function("layout_b", |b| {
        b.iter(|| black_box(warm_b.fetch_optional(Project::get(hot_next(), row)).unwrap()))
    });
    g.bench_function("layout_a", |b| {
        b.iter(|| black_box(shared.fetch_optional(Project::get(hot_next(), row)).unwrap()))
    });
    g.finish();

    let mut g = c.benchmark_group("routing_c_shared_table");
    g.bench_function("layout_c", |b| {
        b.iter(|| black_box(hybrid.fetch_optional(ExportJob::get(hot_next(), row)).unwrap()))
    });
    g.bench_function("database", |b| {
        b.iter(|| black_box(hybrid_db.fetch_optional(ExportJob::get(hot_next(), row)).unwrap()))
    });
    g.finish();

    let mut g = c.benchmark_group("routing_c_per_tenant_table");
    g.bench_function("layout_c", |b| {
        b.iter(|| black_box(hybrid.fetch_optional(Project::get(hot_next(), row)).unwrap()))
    });
    g.bench_function("database", |b| {
        b.iter(|| {
            let t = hot_next();
            let db = hybrid.tenant_database(t).unwrap();
            black_box(db.fetch_optional(Project::get(t, row)).unwrap())
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
