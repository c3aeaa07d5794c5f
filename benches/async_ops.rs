//! The async executor's hop (feature `tokio`): a get by id through `Async<Database>` on a
//! tokio runtime, beside the same get through the sync `Database` and beside hand-written
//! rusqlite inside `tokio::task::spawn_blocking` (what an application would write without
//! tenantry). Wall clock, criterion; `cargo bench --bench async_ops --features tokio`.

mod common;

use std::hint::black_box;
use std::sync::{Arc, Mutex};

use common::*;
use criterion::{Criterion, criterion_group, criterion_main};
use tenantry::Async;

const TENANTS: usize = 200;
const PER_TENANT: usize = 100;

fn bench(c: &mut Criterion) {
    let f = fixture(TENANTS, PER_TENANT);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let db = Async::new(f.db.clone());
    let pick = |i: usize| (f.tenants[(i * 7919) % TENANTS], project_id((i * 31) % PER_TENANT));
    // The hand-written side shares one connection through a mutex, as a spawn_blocking
    // closure must own what it touches.
    let conn = Arc::new(Mutex::new(hand_connection(&f.dir.join("bench.sqlite"))));

    let mut g = c.benchmark_group("async_get_by_id");
    let mut i = 0;
    g.bench_function("tenantry_sync", |b| {
        b.iter(|| {
            i += 1;
            let (t, id) = pick(i);
            black_box(tenantry_get(&f, &t, id))
        })
    });
    g.bench_function("tenantry_async", |b| {
        b.iter(|| {
            i += 1;
            let (t, id) = pick(i);
            black_box(runtime.block_on(db.fetch_optional(Project::get(&t, id))).unwrap())
        })
    });
    g.bench_function("rusqlite_spawn_blocking", |b| {
        b.iter(|| {
            i += 1;
            let (t, id) = pick(i);
            let conn = Arc::clone(&conn);
            black_box(runtime.block_on(async move {
                tokio::task::spawn_blocking(move || hand_get_on(&conn.lock().unwrap(), &t, id)).await.unwrap()
            }))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
