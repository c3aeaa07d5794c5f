//! PostgreSQL: tenantry's scoped statements beside hand-written `postgres` crate code
//! with prepared statements, in the same run, on the same data (100 tenants x 100
//! projects):
//! - baseline "with RLS": the same role and policies, the same
//!   `BEGIN; set_config(..); query; COMMIT` per statement, written by hand;
//! - baseline "without RLS": a plain prepared query on the BYPASSRLS role.
//!
//! Needs `TENANTRY_PG_*_URL` (as `.ci/run` exports); otherwise prints a notice and exits.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{ExportJob, NewExportJob, NewProject, Project};
use criterion::{Criterion, criterion_group, criterion_main};
use postgres::{Client, NoTls};
use tenantry::{Admin, PgDatabase, TenantId};
use uuid::Uuid;

const TENANTS: usize = 100;
const PER_TENANT: u128 = 100;

fn bench(c: &mut Criterion) {
    let Some(urls) = common::pg::urls() else { return };
    common::pg::reset_schema(&urls);
    let db = PgDatabase::connect(&urls.app, 2).unwrap();
    let admin = Admin::new("postgres benchmark mints its tenants");
    let tenants: Vec<TenantId> = (0..TENANTS).map(|i| admin.tenant(Uuid::from_u128(0xbe00 + i as u128))).collect();
    for t in &tenants {
        db.execute(Project::insert_many(
            t,
            (0..PER_TENANT).map(|p| NewProject {
                id: Uuid::from_u128(p),
                name: format!("p{p}"),
                created_at: format!("2026-11-{:02}", 1 + p % 28),
            }),
        ))
        .unwrap();
        db.execute(ExportJob::insert_many(
            t,
            (0..PER_TENANT).map(|p| NewExportJob {
                id: Uuid::from_u128(0x1000 + p),
                project_id: Uuid::from_u128(p),
                status: "queued".into(),
                progress: 0,
                output_key: None,
                created_at: "2026-11-27".into(),
            }),
        ))
        .unwrap();
    }
    let mut app = Client::connect(&urls.app, NoTls).unwrap();
    let mut bypass = Client::connect(&urls.admin, NoTls).unwrap();
    let get_sql = "SELECT user_id, id, name, created_at FROM projects WHERE user_id = $1 AND id = $2";
    let list_sql =
        "SELECT user_id, id, name, created_at FROM projects WHERE user_id = $1 ORDER BY created_at DESC LIMIT 20";
    let set = app.prepare("SELECT set_config('tenantry.tenant_id', $1, true)").unwrap();
    let (get_app, list_app) = (app.prepare(get_sql).unwrap(), app.prepare(list_sql).unwrap());
    let (get_bypass, list_bypass) = (bypass.prepare(get_sql).unwrap(), bypass.prepare(list_sql).unwrap());
    let mut i = 0usize;
    let mut pick = || {
        i += 1;
        (tenants[(i * 31) % TENANTS], Uuid::from_u128((i as u128 * 7) % PER_TENANT))
    };

    let mut g = c.benchmark_group("pg_get_by_id");
    g.bench_function("tenantry", |b| {
        b.iter(|| {
            let (t, id) = pick();
            black_box(db.fetch_optional(Project::get(&t, id)).unwrap())
        })
    });
    g.bench_function("postgres_with_rls", |b| {
        b.iter(|| {
            let (t, id) = pick();
            let mut tx = app.transaction().unwrap();
            tx.execute(&set, &[&t.to_string()]).unwrap();
            let row = tx.query_opt(&get_app, &[&t.as_uuid(), &id]).unwrap();
            tx.commit().unwrap();
            black_box(row)
        })
    });
    g.bench_function("postgres_without_rls", |b| {
        b.iter(|| {
            let (t, id) = pick();
            black_box(bypass.query_opt(&get_bypass, &[&t.as_uuid(), &id]).unwrap())
        })
    });
    g.finish();

    let mut g = c.benchmark_group("pg_list_20_newest");
    g.bench_function("tenantry", |b| {
        b.iter(|| {
            let (t, _) = pick();
            black_box(db.fetch_all(Project::select(&t).order_by(Project::created_at().desc()).limit(20)).unwrap())
        })
    });
    g.bench_function("postgres_with_rls", |b| {
        b.iter(|| {
            let (t, _) = pick();
            let mut tx = app.transaction().unwrap();
            tx.execute(&set, &[&t.to_string()]).unwrap();
            let rows = tx.query(&list_app, &[&t.as_uuid()]).unwrap();
            tx.commit().unwrap();
            black_box(rows)
        })
    });
    g.bench_function("postgres_without_rls", |b| {
        b.iter(|| {
            let (t, _) = pick();
            black_box(bypass.query(&list_bypass, &[&t.as_uuid()]).unwrap())
        })
    });
    g.finish();

    let update_sql = "UPDATE projects SET name = $1 WHERE user_id = $2 AND id = $3";
    let join_sql = "SELECT p.user_id, p.id, p.name, p.created_at, j.user_id, j.id, j.project_id, j.status, j.progress, j.output_key, j.created_at \
                    FROM projects p JOIN export_jobs j ON j.user_id = $1 AND j.project_id = p.id WHERE p.user_id = $1 AND p.id = $2";
    let delete_sql = "DELETE FROM projects WHERE user_id = $1 AND id = $2";
    let insert_sql = "INSERT INTO projects (user_id, id, name, created_at) VALUES ($1, $2, $3, $4)";
    let (update_app, join_app, delete_app, insert_app) = (
        app.prepare(update_sql).unwrap(),
        app.prepare(join_sql).unwrap(),
        app.prepare(delete_sql).unwrap(),
        app.prepare(insert_sql).unwrap(),
    );

    let mut g = c.benchmark_group("pg_update_by_id");
    g.bench_function("tenantry", |b| {
        b.iter(|| {
            let (t, id) = pick();
            black_box(
                db.execute(Project::update(&t).set(Project::name(), "renamed").filter(Project::id().eq(id))).unwrap(),
            )
        })
    });
    g.bench_function("postgres_with_rls", |b| {
        b.iter(|| {
            let (t, id) = pick();
            let mut tx = app.transaction().unwrap();
            tx.execute(&set, &[&t.to_string()]).unwrap();
            let n = tx.execute(&update_app, &[&"renamed", &t.as_uuid(), &id]).unwrap();
            tx.commit().unwrap();
            black_box(n)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("pg_join_two_tables");
    g.bench_function("tenantry", |b| {
        b.iter(|| {
            let (t, id) = pick();
            let q = Project::select(&t)
                .join::<ExportJob>(ExportJob::project_id().eq_col(Project::id()))
                .filter(Project::id().eq(id));
            black_box(db.fetch_all(q).unwrap())
        })
    });
    g.bench_function("postgres_with_rls", |b| {
        b.iter(|| {
            let (t, id) = pick();
            let mut tx = app.transaction().unwrap();
            tx.execute(&set, &[&t.to_string()]).unwrap();
            let rows = tx.query(&join_app, &[&t.as_uuid(), &id]).unwrap();
            tx.commit().unwrap();
            black_box(rows)
        })
    });
    g.finish();

    // Delete, then put the row back untimed through the same side's connection.
    let mut g = c.benchmark_group("pg_delete_by_id");
    g.bench_function("tenantry", |b| {
        b.iter_custom(|n| {
            let mut total = Duration::ZERO;
            for _ in 0..n {
                let (t, id) = pick();
                let start = std::time::Instant::now();
                black_box(db.execute(Project::delete_by_key(&t, id)).unwrap());
                total += start.elapsed();
                db.execute(Project::upsert(
                    &t,
                    NewProject { id, name: "back".into(), created_at: "2026-11-01".into() },
                ))
                .unwrap();
            }
            total
        })
    });
    g.bench_function("postgres_with_rls", |b| {
        b.iter_custom(|n| {
            let mut total = Duration::ZERO;
            for _ in 0..n {
                let (t, id) = pick();
                let start = std::time::Instant::now();
                let mut tx = app.transaction().unwrap();
                tx.execute(&set, &[&t.to_string()]).unwrap();
                black_box(tx.execute(&delete_app, &[&t.as_uuid(), &id]).unwrap());
                tx.commit().unwrap();
                total += start.elapsed();
                let mut tx = app.transaction().unwrap();
                tx.execute(&set, &[&t.to_string()]).unwrap();
                tx.execute(&insert_app, &[&t.as_uuid(), &id, &"back", &"2026-11-01"]).unwrap();
                tx.commit().unwrap();
            }
            total
        })
    });
    g.finish();

    // 1,000 rows for one fresh tenant in one transaction.
    let mut g = c.benchmark_group("pg_insert_1000_in_transaction");
    g.sample_size(10);
    let mut fresh = 0u128;
    g.bench_function("tenantry", |b| {
        b.iter(|| {
            fresh += 1;
            let t = admin.tenant(Uuid::from_u128(0xf000_0000 + fresh));
            db.transaction(&t, |tx| {
                for p in 0..1000u128 {
                    tx.execute(Project::insert(
                        &t,
                        NewProject { id: Uuid::from_u128(p), name: "new".into(), created_at: "2026-11-27".into() },
                    ))?;
                }
                Ok(())
            })
            .unwrap()
        })
    });
    g.bench_function("postgres_with_rls", |b| {
        b.iter(|| {
            fresh += 1;
            let t = admin.tenant(Uuid::from_u128(0xf000_0000 + fresh));
            let mut tx = app.transaction().unwrap();
            tx.execute(&set, &[&t.to_string()]).unwrap();
            for p in 0..1000u128 {
                tx.execute(&insert_app, &[&t.as_uuid(), &Uuid::from_u128(p), &"new", &"2026-11-27"]).unwrap();
            }
            tx.commit().unwrap();
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
