//! PostgreSQL: tenantry's statements through `Async<PgDatabase>` (and the blocking
//! `PgDatabase`) beside hand-written tokio-postgres, on the same data (100 tenants x 100
//! projects, each with an export job), in one run:
//! - (b) the same protocol by hand: the application role under row-level security,
//!   `BEGIN; SET LOCAL tenantry.tenant_id = '..'`, the prepared statement and `COMMIT`
//!   driven together (`tokio::join!`), one round trip;
//! - (a) a plain prepared statement on the `BYPASSRLS` role: no policy, no transaction.
//!
//! Twice: over loopback, and through a proxy (`tests/common/proxy.rs`) that delays each
//! client packet by 1 ms, a LAN, and counts round trips. Rounds are interleaved (each
//! round runs every side, in a rotating order); the table shows each side's median time
//! per statement over the rounds with its spread (min-max), the ratios of medians, and
//! round trips per statement.
//!
//! Needs `TENANTRY_PG_*_URL` (as `.ci/run` exports); otherwise prints a notice and exits.
//! `cargo bench --features postgres --bench postgres`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::{Duration, Instant};

use common::proxy::{Proxy, upstream};
use common::{ExportJob, NewExportJob, NewProject, Project};
use tenantry::{Admin, Async, PgDatabase, TenantId};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Statement};
use uuid::Uuid;

const TENANTS: usize = 100;
const PER_TENANT: u128 = 100;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Side {
    Tenantry,
    Blocking,
    Pipelined,
    Plain,
}

const SIDES: [Side; 4] = [Side::Tenantry, Side::Blocking, Side::Pipelined, Side::Plain];

#[derive(Clone, Copy, PartialEq, Debug)]
enum Op {
    Get,
    List20,
    Insert,
    Update,
    Join,
    Delete,
}

const OPS: [Op; 6] = [Op::Get, Op::List20, Op::Insert, Op::Update, Op::Join, Op::Delete];

/// Hand-written statements on one connection.
struct Hand {
    client: Client,
    get: Statement,
    list: Statement,
    insert: Statement,
    update: Statement,
    join: Statement,
    delete: Statement,
}

async fn hand(url: &str) -> Hand {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(connection);
    let p = |sql: &'static str| client.prepare(sql);
    Hand {
        get: p("SELECT user_id, id, name, created_at FROM projects WHERE user_id = $1 AND id = $2").await.unwrap(),
        list: p("SELECT user_id, id, name, created_at FROM projects WHERE user_id = $1 ORDER BY created_at DESC LIMIT 20")
            .await
            .unwrap(),
        insert: p("INSERT INTO projects (user_id, id, name, created_at) VALUES ($1, $2, $3, $4)").await.unwrap(),
        update: p("UPDATE projects SET name = $1 WHERE user_id = $2 AND id = $3").await.unwrap(),
        join: p("SELECT p.user_id, p.id, p.name, p.created_at, j.user_id, j.id, j.project_id, j.status, j.progress, \
                 j.output_key, j.created_at FROM projects p JOIN export_jobs j ON j.user_id = $1 AND j.project_id = p.id \
                 WHERE p.user_id = $1 AND p.id = $2")
        .await
        .unwrap(),
        delete: p("DELETE FROM projects WHERE user_id = $1 AND id = $2").await.unwrap(),
        client,
    }
}

struct Bench {
    tenants: Vec<TenantId>,
    db: Async<PgDatabase>,
    rls: Hand,
    plain: Hand,
    next: u64,
    /// Rows each side inserted, deleted again (in order) by its delete.
    inserted: [VecDeque<(TenantId, Uuid)>; 4],
    fresh: u128,
}

impl Bench {
    fn pick(&mut self) -> (TenantId, Uuid) {
        self.next += 1;
        let i = self.next as usize;
        (self.tenants[(i * 31) % TENANTS], Uuid::from_u128((i as u128 * 7) % PER_TENANT))
    }

    /// Runs `op` once on `side`.
    async fn once(&mut self, op: Op, side: Side) {
        let (t, id) = self.pick();
        let slot = SIDES.iter().position(|s| *s == side).unwrap_or(0);
        let (t, id) = match op {
            Op::Insert => {
                self.fresh += 1;
                let new = Uuid::from_u128((1 << 64) + ((slot as u128) << 40) + self.fresh);
                self.inserted[slot].push_back((t, new));
                (t, new)
            }
            Op::Delete => self.inserted[slot].pop_front().unwrap_or((t, id)),
            _ => (t, id),
        };
        let u = t.as_uuid();
        let new_project = || NewProject { id, name: "new".into(), created_at: "2026-11-30".into() };
        match side {
            Side::Tenantry | Side::Blocking => {
                let db = &self.db;
                let blocking = side == Side::Blocking;
                macro_rules! run {
                    ($m:ident, $q:expr) => {
                        if blocking {
                            let (db, q) = (db.get_ref().clone(), $q);
                            {
                                let _ = black_box(tokio::task::block_in_place(move || db.$m(q)).unwrap());
                            }
                        } else {
                            {
                                let _ = black_box(db.$m($q).await.unwrap());
                            }
                        }
                    };
                }
                match op {
                    Op::Get => run!(fetch_optional, Project::get(&t, id)),
                    Op::List20 => run!(fetch_all, Project::select(&t).order_by(Project::created_at().desc()).limit(20)),
                    Op::Insert => run!(execute, Project::insert(&t, new_project())),
                    Op::Update => {
                        run!(execute, Project::update(&t).set(Project::name(), "renamed").filter(Project::id().eq(id)))
                    }
                    Op::Join => run!(
                        fetch_all,
                        Project::select(&t)
                            .join::<ExportJob>(ExportJob::project_id().eq_col(Project::id()))
                            .filter(Project::id().eq(id))
                    ),
                    Op::Delete => run!(execute, Project::delete_by_key(&t, id)),
                }
            }
            Side::Pipelined => {
                let h = &self.rls;
                let begin = format!("BEGIN; SET LOCAL tenantry.tenant_id = '{t}'");
                let c = &h.client;
                macro_rules! pipelined {
                    ($m:ident, $stmt:expr, [$($p:expr),*]) => {{
                        let params: &[&(dyn ToSql + Sync)] = &[$($p),*];
                        let (b, r, e) =
                            tokio::join!(c.batch_execute(&begin), c.$m($stmt, params), c.batch_execute("COMMIT"));
                        b.unwrap();
                        black_box(r.unwrap());
                        e.unwrap();
                    }};
                }
                match op {
                    Op::Get => pipelined!(query_opt, &h.get, [&u, &id]),
                    Op::List20 => pipelined!(query, &h.list, [&u]),
                    Op::Insert => pipelined!(execute, &h.insert, [&u, &id, &"new", &"2026-11-30"]),
                    Op::Update => pipelined!(execute, &h.update, [&"renamed", &u, &id]),
                    Op::Join => pipelined!(query, &h.join, [&u, &id]),
                    Op::Delete => pipelined!(execute, &h.delete, [&u, &id]),
                }
            }
            Side::Plain => {
                let h = &self.plain;
                let c = &h.client;
                match op {
                    Op::Get => {
                        let _ = black_box(c.query_opt(&h.get, &[&u, &id]).await.unwrap());
                    }
                    Op::List20 => {
                        let _ = black_box(c.query(&h.list, &[&u]).await.unwrap());
                    }
                    Op::Insert => {
                        let _ = black_box(c.execute(&h.insert, &[&u, &id, &"new", &"2026-11-30"]).await.unwrap());
                    }
                    Op::Update => {
                        let _ = black_box(c.execute(&h.update, &[&"renamed", &u, &id]).await.unwrap());
                    }
                    Op::Join => {
                        let _ = black_box(c.query(&h.join, &[&u, &id]).await.unwrap());
                    }
                    Op::Delete => {
                        let _ = black_box(c.execute(&h.delete, &[&u, &id]).await.unwrap());
                    }
                }
            }
        }
    }
}

fn median_and_spread(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn main() {
    // `cargo bench --no-run` builds only; `cargo bench` passes `--bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let Some(urls) = common::pg::urls() else { return };
    common::pg::reset_schema(&urls);
    let seed = PgDatabase::connect(&urls.app, 2).unwrap();
    let admin = Admin::new("postgres benchmark mints its tenants");
    let tenants: Vec<TenantId> = (0..TENANTS).map(|i| admin.mint_tenant(Uuid::from_u128(0xbe00 + i as u128))).collect();
    for t in &tenants {
        seed.execute(Project::insert_many(
            t,
            (0..PER_TENANT).map(|p| NewProject {
                id: Uuid::from_u128(p),
                name: format!("p{p}"),
                created_at: format!("2026-11-{:02}", 1 + p % 28),
            }),
        ))
        .unwrap();
        seed.execute(ExportJob::insert_many(
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
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    for (net, delay, rounds, per_round) in
        [("loopback", None, 9, 300), ("1 ms proxy", Some(Duration::from_millis(1)), 7, 40)]
    {
        let proxy = delay.map(|d| rt.block_on(Proxy::start(upstream(&urls.app), d)));
        let via = |url: &str| proxy.as_ref().map_or(url.to_owned(), |p| p.url(url));
        let mut b = rt.block_on(async {
            Bench {
                tenants: tenants.clone(),
                db: Async::new(PgDatabase::connect(&via(&urls.app), 1).unwrap()),
                rls: hand(&via(&urls.app)).await,
                plain: hand(&via(&urls.admin)).await,
                next: 0,
                inserted: Default::default(),
                fresh: 0,
            }
        });
        println!("\n## {net}: {rounds} rounds x {per_round} statements per side; µs per statement, median [min-max]");
        println!(
            "| statement | tenantry async | tenantry blocking | (b) pipelined by hand | (a) plain, no RLS | async/(b) | async/(a) | round trips t/b/a |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        let mut times: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); SIDES.len()]; OPS.len()];
        let mut trips = [[0u64; 4]; 6];
        rt.block_on(async {
            // Warm-up: connections open, statements prepared.
            for op in OPS {
                for side in SIDES {
                    for _ in 0..3 {
                        b.once(op, side).await;
                    }
                }
            }
            for round in 0..rounds {
                for (o, op) in OPS.into_iter().enumerate() {
                    for k in 0..SIDES.len() {
                        let s = (k + round) % SIDES.len();
                        let side = SIDES[s];
                        if let Some(p) = &proxy {
                            let _ = p.take_round_trips();
                            b.once(op, side).await;
                            trips[o][s] = p.take_round_trips();
                        }
                        let start = Instant::now();
                        for _ in 0..per_round {
                            b.once(op, side).await;
                        }
                        times[o][s].push(start.elapsed().as_secs_f64() * 1e6 / per_round as f64);
                    }
                }
            }
        });
        for (o, op) in OPS.into_iter().enumerate() {
            let m: Vec<(f64, f64, f64)> = times[o].iter().map(|v| median_and_spread(v.clone())).collect();
            let cell = |(med, lo, hi): (f64, f64, f64)| format!("{med:.0} [{lo:.0}-{hi:.0}]");
            let rt_cell = if proxy.is_some() {
                format!("{}/{}/{}", trips[o][0], trips[o][2], trips[o][3])
            } else {
                "-".to_owned()
            };
            println!(
                "| {op:?} | {} | {} | {} | {} | {:.2}x | {:.2}x | {rt_cell} |",
                cell(m[0]),
                cell(m[1]),
                cell(m[2]),
                cell(m[3]),
                m[0].0 / m[2].0,
                m[0].0 / m[3].0
            );
        }
    }
}
