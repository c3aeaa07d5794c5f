//! The async executor's hop (feature `tokio`): a get by id through `Async<SqliteDatabase>` on a
//! tokio runtime, beside the same get through the sync `SqliteDatabase`, and beside hand-written
//! rusqlite inside `tokio::task::spawn_blocking` (what an application would write without
//! tenantry).
//!
//! Wall clock on a thread hop depends on the state of tokio's blocking pool (idle threads,
//! which core wakes), so one side measured after another is not comparable: measured
//! alone, each side moved by a third between runs. The sides therefore run in interleaved
//! rounds (each round every side, in a rotating order) and the table shows the median per
//! statement over the rounds, with the spread.
//! `cargo bench --bench async_ops --features tokio`.

mod common;

use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use common::*;
use tenantry::Async;

const TENANTS: usize = 200;
const PER_TENANT: usize = 100;
const ROUNDS: usize = 15;
const PER_ROUND: usize = 2000;

fn main() {
    // `cargo bench --no-run` builds only; `cargo bench` passes `--bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let f = fixture(TENANTS, PER_TENANT);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let db = Async::new(f.db.clone());
    let pick = |i: usize| (f.tenants[(i * 7919) % TENANTS], project_id((i * 31) % PER_TENANT));
    // The hand-written side shares one connection through a mutex, as a spawn_blocking
    // closure must own what it touches.
    let conn = Arc::new(Mutex::new(hand_connection(&f.dir.join("bench.sqlite"))));
    let sides = ["tenantry sync", "tenantry Async", "rusqlite in spawn_blocking"];
    let mut times = vec![Vec::new(); sides.len()];
    let mut i = 0;
    for round in 0..ROUNDS {
        for k in 0..sides.len() {
            let side = (k + round) % sides.len();
            let start = Instant::now();
            for _ in 0..PER_ROUND {
                i += 1;
                let (t, id) = pick(i);
                match side {
                    0 => drop(black_box(tenantry_get(&f, &t, id))),
                    1 => drop(black_box(runtime.block_on(db.fetch_optional(Project::get(&t, id))).unwrap())),
                    _ => {
                        let conn = Arc::clone(&conn);
                        drop(black_box(runtime.block_on(async move {
                            tokio::task::spawn_blocking(move || hand_get_on(&conn.lock().unwrap(), &t, id))
                                .await
                                .unwrap()
                        })))
                    }
                }
            }
            times[side].push(start.elapsed().as_secs_f64() * 1e6 / PER_ROUND as f64);
        }
    }
    println!("get by id, {ROUNDS} rounds x {PER_ROUND}; µs per statement, median [min-max]");
    let mut medians = Vec::new();
    for (side, mut t) in sides.iter().zip(times) {
        t.sort_by(f64::total_cmp);
        let med = t[t.len() / 2];
        medians.push(med);
        println!("  {side:<28} {med:6.1} [{:.1}-{:.1}]", t[0], t[t.len() - 1]);
    }
    println!("  Async / hand-written spawn_blocking: {:.2}x", medians[1] / medians[2]);
}
