//! Wall-clock benchmarks: each operation with tenantry beside the same operation written
//! by hand with rusqlite `prepare_cached`, on the same data (1,000 tenants x 100 projects,
//! one export job each) and the same connection settings, in the same run.
//!
//! Wall-clock time on shared machines varies; `benches/instructions.rs` under callgrind
//! gives the stable figure. `python3 benches/ratios.py` prints the ratios of a run.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::*;
use criterion::{Criterion, criterion_group, criterion_main};
use uuid::Uuid;

const TENANTS: usize = 1_000;
const PER_TENANT: usize = 100;

fn bench(c: &mut Criterion) {
    let f = fixture(TENANTS, PER_TENANT);
    // Spread calls over tenants and rows so no single page stays hot.
    let pick = |i: usize| (&f.tenants[(i * 7919) % TENANTS], project_id((i * 31) % PER_TENANT));

    let mut g = c.benchmark_group("get_by_id");
    let mut i = 0;
    g.bench_function("tenantry", |b| {
        b.iter(|| {
            i += 1;
            let (t, id) = pick(i);
            black_box(tenantry_get(&f, t, id))
        })
    });
    g.bench_function("rusqlite", |b| {
        b.iter(|| {
            i += 1;
            let (t, id) = pick(i);
            black_box(hand_get(&f, t, id))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("list_20_newest");
    g.bench_function("tenantry", |b| {
        b.iter(|| {
            i += 1;
            black_box(tenantry_list20(&f, pick(i).0))
        })
    });
    g.bench_function("rusqlite", |b| {
        b.iter(|| {
            i += 1;
            black_box(hand_list20(&f, pick(i).0))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("update_by_id");
    g.bench_function("tenantry", |b| {
        b.iter(|| {
            i += 1;
            let (t, id) = pick(i);
            black_box(tenantry_update(&f, t, id, "renamed"))
        })
    });
    g.bench_function("rusqlite", |b| {
        b.iter(|| {
            i += 1;
            let (t, id) = pick(i);
            black_box(hand_update(&f, t, id, "renamed"))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("join_two_tables");
    g.bench_function("tenantry", |b| {
        b.iter(|| {
            i += 1;
            let (t, id) = pick(i);
            black_box(tenantry_join(&f, t, id))
        })
    });
    g.bench_function("rusqlite", |b| {
        b.iter(|| {
            i += 1;
            let (t, id) = pick(i);
            black_box(hand_join(&f, t, id))
        })
    });
    g.finish();

    // Deleting needs a row to delete: put it back after each timed call, untimed. Each
    // side writes through its own connection: a write on one connection makes the other
    // drop its page cache, which would be charged to the next timed call.
    let mut g = c.benchmark_group("delete_by_id");
    let timed = |f: &Fixture, side: &Side, iters: u64, i: &mut usize| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            *i += 1;
            let (t, id) = pick(*i);
            let start = Instant::now();
            black_box((side.delete)(f, t, id));
            total += start.elapsed();
            (side.restore)(f, t, id);
        }
        total
    };
    g.bench_function("tenantry", |b| b.iter_custom(|n| timed(&f, &TENANTRY, n, &mut i)));
    g.bench_function("rusqlite", |b| b.iter_custom(|n| timed(&f, &HAND, n, &mut i)));
    g.finish();

    // 1,000 new rows for one tenant in one transaction; removed again, untimed.
    let mut g = c.benchmark_group("insert_1000_in_transaction");
    g.sample_size(20);
    let ids: Vec<Uuid> = (0..1000u128).map(|n| Uuid::from_u128(0xfeed_0000 + n)).collect();
    type Batch = fn(&Fixture, &tenantry::TenantId, &[Uuid]);
    let batch = |f: &Fixture, run: Batch, cleanup: Batch, iters: u64, i: &mut usize| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            *i += 1;
            let t = pick(*i).0;
            let start = Instant::now();
            run(f, t, &ids);
            total += start.elapsed();
            cleanup(f, t, &ids);
        }
        total
    };
    g.bench_function("tenantry", |b| b.iter_custom(|n| batch(&f, TENANTRY.insert_1000, TENANTRY.cleanup, n, &mut i)));
    g.bench_function("tenantry_insert_many", |b| {
        b.iter_custom(|n| batch(&f, tenantry_insert_many_1000, cleanup_inserted, n, &mut i))
    });
    g.bench_function("rusqlite", |b| b.iter_custom(|n| batch(&f, HAND.insert_1000, HAND.cleanup, n, &mut i)));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
