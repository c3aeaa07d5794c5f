//! Instruction-count benchmark: runs each operation `N` times with tenantry, then by hand.
//! Run it under callgrind with `python3 benches/callgrind.py`, which reads the inclusive
//! instruction count of each `#[inline(never)]` operation in `benches/common/mod.rs` and
//! prints per-call counts and ratios. Instruction counts repeat to within 1% between runs,
//! unlike wall-clock time on shared machines. Run plainly (as `cargo bench` does), it just
//! exercises every operation a few times, quickly.
//!
//! Each side runs in its own phase, on its own copy of the same database file, and undoes
//! its writes through its own connection (see `common::fixture`).

mod common;

use std::hint::black_box;

use common::*;
use tenantry::TenantId;
use uuid::Uuid;

fn phase(f: &Fixture, side: &Side, n: usize, rounds: usize) {
    let tenants = f.tenants.len();
    let per_tenant = 100;
    let pick = |i: usize| (&f.tenants[(i * 7919) % tenants], project_id((i * 31) % per_tenant));
    // Warm the statement cache and the page cache first: the counts are the steady state.
    for i in 0..n {
        let (t, id) = pick(i);
        black_box(((side.get)(f, t, id), (side.list20)(f, t), (side.join)(f, t, id)));
    }
    for i in 0..n {
        let (t, id) = pick(i);
        black_box((side.get)(f, t, id));
        black_box((side.list20)(f, t));
        black_box((side.update)(f, t, id, "renamed"));
        black_box((side.join)(f, t, id));
        black_box((side.delete)(f, t, id));
        (side.restore)(f, t, id);
    }
    let ids: Vec<Uuid> = (0..1000u128).map(|k| Uuid::from_u128(0xfeed_0000 + k)).collect();
    for i in 0..rounds {
        let t = pick(i).0;
        (side.insert_1000)(f, t, &ids);
        (side.cleanup)(f, t, &ids);
    }
}

fn pick_tenant(f: &Fixture, i: usize) -> &TenantId {
    &f.tenants[(i * 7919) % f.tenants.len()]
}

fn main() {
    let under_callgrind = std::env::args().any(|a| a == "--callgrind");
    // `--side tenantry` or `--side hand` runs one side alone: `callgrind.py` measures each
    // side in a process of its own, so neither inherits the other's heap (the allocator's
    // state moved the hand-written list by 2% between builds that did not touch it).
    let side = std::env::args().skip_while(|a| a != "--side").nth(1);
    let (tenantry, hand) = match side.as_deref() {
        Some("tenantry") => (true, false),
        Some("hand") => (false, true),
        _ => (true, true),
    };
    let (tenants, n, rounds) = if under_callgrind { (1_000, 2_000, 10) } else { (20, 50, 1) };
    let f = fixture(tenants, 100);
    if tenantry {
        phase(&f, &TENANTRY, n, rounds);
    }
    if hand {
        phase(&f, &HAND, n, rounds);
    }
    if under_callgrind && tenantry {
        // The chunked multi-row insert, for comparison with 1,000 single-row inserts.
        let ids: Vec<Uuid> = (0..1000u128).map(|k| Uuid::from_u128(0xfeed_0000 + k)).collect();
        for i in 0..rounds {
            tenantry_insert_many_1000(&f, &f.tenants[i], &ids);
            cleanup_inserted(&f, &f.tenants[i], &ids);
        }
    }
    // The statements of issue 12, each side warm, then measured: a grouped count, a left
    // join, a page after a cursor (the hand-written side is given the cursor's values; the
    // tenantry side parses its text cursor, as a service would).
    let cursors: Vec<String> = (0..n).map(|i| page_cursor(pick_tenant(&f, i), (i * 31) % 100)).collect();
    let afters: Vec<(String, Uuid)> =
        (0..n).map(|i| (created_at((i * 31) % 100), project_id((i * 31) % 100))).collect();
    for _ in 0..2 {
        for (i, cursor) in cursors.iter().enumerate().filter(|_| tenantry) {
            let t = pick_tenant(&f, i);
            let id = project_id((i * 31) % 100);
            black_box(tenantry_group(&f, t));
            black_box(tenantry_left_join(&f, t, id));
            black_box(tenantry_page(&f, t, cursor));
        }
    }
    for _ in 0..2 {
        for (i, after) in afters.iter().enumerate().filter(|_| hand) {
            let t = pick_tenant(&f, i);
            let id = project_id((i * 31) % 100);
            black_box(hand_group(&f, t));
            black_box(hand_left_join(&f, t, id));
            black_box(hand_page(&f, t, after));
        }
    }
    if !tenantry {
        println!("instructions: {n} calls per operation and {rounds} insert rounds, hand-written side");
        return;
    }
    // Layout B's warm read beside layout A's: the same tenants and rows, every tenant's
    // file open (the cap is the tenant count), the statement and page caches warm.
    let l = layouts_fixture(if under_callgrind { 50 } else { 5 }, 100);
    let pick = |i: usize| (&l.tenants[(i * 7919) % l.tenants.len()], project_id((i * 31) % 100));
    for get in [layout_a_get, layout_b_get] {
        for i in 0..n {
            let (t, id) = pick(i);
            black_box(get(&l, t, id));
        }
    }
    for i in 0..n {
        let (t, id) = pick(i);
        black_box(layout_a_get(&l, t, id));
        black_box(layout_b_get(&l, t, id));
    }
    println!("instructions: {n} calls per operation and {rounds} insert rounds per side");
}
