//! Load: many threads, many tenants, a read/write mix, on each layout and beside a
//! hand-written rusqlite baseline doing the same work. It prints; it asserts nothing.
//!
//! ```sh
//! cargo bench --bench load                # tiny configuration (what `cargo bench` runs)
//! cargo bench --bench load -- --full      # 1,000 tenants, 64 threads, 200,000 operations
//! cargo bench --bench load -- --full --ops 50000 --only a,base   # parts of it
//! ```
//!
//! Work: every thread runs its share of a fixed number of operations, each on a tenant
//! drawn uniformly at random, and on the `projects` or the `export_jobs` table (half each):
//! 35% get by key, 35% list of the 20 newest rows of the tenant, 15% insert of a new row,
//! 15% update by key (reads 70%, writes 30%). Each tenant starts with 20 rows in each
//! table; the random streams are seeded per thread, so every run does the same work.
//!
//! Runs, each on fresh files in a fresh directory under the system's temporary directory:
//!
//! - **base**: hand-written rusqlite, one connection per thread, on one shared file, with
//!   tenantry's settings: WAL, `synchronous=NORMAL`, `foreign_keys=ON`, a 5 s busy timeout,
//!   the query-planner stability guarantee, `prepare_cached` statements; rows are decoded
//!   into structs (UUIDs parsed), as tenantry does.
//! - **A**: `Layout::shared`, one file.
//! - **base B**: hand-written rusqlite on the per-tenant files layout B writes: each
//!   operation opens its tenant's file with the same settings (the log files kept between
//!   opens, as tenantry keeps them for tenant files), runs, and closes it.
//! - **B**: `Layout::builder(..).per_tenant(..).max_open(64)`: one file per tenant, at most
//!   64 open, so with 1,000 tenants drawn at random most operations open a file.
//! - **C**: hybrid: `export_jobs` stays in the shared file, `projects` is per tenant
//!   (`max_open(64)`).
//!
//! tenantry's databases keep their default pool sizes (8 connections for the shared file,
//! 1 per tenant file): that is what an application gets without tuning.
//!
//! Which baseline: every run is compared with **base**, the shared file, B and C included.
//! That is the same application written by hand without tenantry, so B's and C's ratios to
//! it are the whole price of per-tenant files (opening, migrating, evicting) plus
//! tenantry's own. A hand-written per-tenant baseline with one connection per thread kept
//! open would need 64 x 1,000 connections, or its own cache of open files with eviction
//! and locking, which is layout B written again rather than a baseline. So B is compared a
//! second time with **base B**, the simplest correct per-tenant code (open per operation,
//! no cache): with 1,000 tenants drawn at random and 64 open, about 94% of B's operations
//! open a file too, so that ratio isolates what tenantry's open costs.
//!
//! Reported per run: throughput (operations per second of wall-clock time, from all
//! threads' start to the last one's end), p50/p99/max latency of single operations,
//! operations over 1 s, and errors by kind (tenantry's `Error` variant, or SQLite's error
//! code for the baseline). A get or update that finds no row, or a list that returns fewer
//! than 20 rows, counts as an error of kind `WrongResult`. An error does not stop a run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension as _, config::DbConfig};
use tenantry::{Admin, Layout, SqliteDatabase, Table, TenantId};
use uuid::Uuid;

#[derive(Table, Debug)]
#[table(name = "projects", owned)]
#[allow(dead_code, reason = "rows are read back and dropped")]
struct Project {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    id: Uuid,
    name: String,
    #[index]
    created_at: String,
}

#[derive(Table, Debug)]
#[table(name = "export_jobs", owned)]
#[allow(dead_code, reason = "rows are read back and dropped")]
struct ExportJob {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    id: Uuid,
    project_id: Uuid,
    status: String,
    #[index]
    created_at: String,
}

/// A hand-written project row.
#[allow(dead_code, reason = "rows are read back and dropped")]
struct RawProject {
    user_id: Uuid,
    id: Uuid,
    name: String,
    created_at: String,
}

/// A hand-written job row.
#[allow(dead_code, reason = "rows are read back and dropped")]
struct RawJob {
    user_id: Uuid,
    id: Uuid,
    project_id: Uuid,
    status: String,
    created_at: String,
}

/// Rows per table per tenant before the run; a list asks for 20.
const SEED_ROWS: usize = 20;
const LIST: usize = 20;
const SLOW: Duration = Duration::from_secs(1);

#[derive(Clone, Copy)]
struct Config {
    tenants: usize,
    threads: usize,
    ops: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Run {
    Base,
    BaseFiles,
    A,
    B,
    C,
}

impl Run {
    fn name(self) -> &'static str {
        match self {
            Run::Base => "baseline (rusqlite, 1 conn/thread, shared file)",
            Run::BaseFiles => "baseline B (rusqlite, file per tenant, open per op)",
            Run::A => "A: shared file",
            Run::B => "B: file per tenant, max_open 64",
            Run::C => "C: hybrid (export_jobs shared)",
        }
    }
}

#[derive(Clone, Copy)]
enum OpKind {
    Get,
    List,
    Insert,
    Update,
}

const KINDS: [(OpKind, &str); 4] =
    [(OpKind::Get, "get"), (OpKind::List, "list 20"), (OpKind::Insert, "insert"), (OpKind::Update, "update")];

struct Op {
    kind: OpKind,
    tenant: usize,
    jobs: bool,
    /// A seeded row (get, update) or a fresh one (insert).
    row: Uuid,
    /// For inserts: a creation time newer than every seeded row.
    stamp: String,
}

/// splitmix64: a small, seeded, good-enough stream (no `rand` in the dependencies).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn tenant_uuid(i: usize) -> Uuid {
    Uuid::from_u128(0x10ad_0000_0000_4000_8000_0000_0000_0000 | i as u128)
}
fn seeded_project(i: usize) -> Uuid {
    Uuid::from_u128(0x1000 + i as u128)
}
fn seeded_job(i: usize) -> Uuid {
    Uuid::from_u128(0x2000 + i as u128)
}
fn seeded_stamp(i: usize) -> String {
    format!("2026-11-{:02} 12:00:00", 1 + i)
}

/// The `n`-th operation of thread `thread`.
fn op(rng: &mut Rng, thread: usize, n: usize, tenants: usize) -> Op {
    let roll = rng.below(100);
    let kind = match roll {
        0..35 => OpKind::Get,
        35..70 => OpKind::List,
        70..85 => OpKind::Insert,
        _ => OpKind::Update,
    };
    let tenant = rng.below(tenants);
    let jobs = rng.next() & 1 == 1;
    let seeded = rng.below(SEED_ROWS);
    let (row, stamp) = match kind {
        OpKind::Insert => (
            Uuid::from_u128((1 << 100) | ((thread as u128) << 40) | n as u128),
            format!("2027-01-01 00:{:02}:{:09}", thread % 100, n),
        ),
        _ => (if jobs { seeded_job(seeded) } else { seeded_project(seeded) }, String::new()),
    };
    Op { kind, tenant, jobs, row, stamp }
}

/// What one run measured.
struct Outcome {
    wall: Duration,
    /// Latency in nanoseconds, per operation kind (index into `KINDS`).
    latencies: [Vec<u64>; 4],
    errors: BTreeMap<String, usize>,
    setup: Duration,
}

type OpResult = Result<(), String>;

/// Runs `cfg.ops` operations on `cfg.threads` threads; `state` makes each thread's own
/// state (a connection, for the baseline), `work` runs one operation.
fn drive<S>(cfg: Config, state: impl Fn() -> S + Sync, work: impl Fn(&mut S, &Op) -> OpResult + Sync) -> Outcome {
    let barrier = Barrier::new(cfg.threads + 1);
    let per_thread = |t: usize| cfg.ops / cfg.threads + usize::from(t < cfg.ops % cfg.threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..cfg.threads)
            .map(|thread| {
                let (barrier, state, work) = (&barrier, &state, &work);
                s.spawn(move || {
                    let mut st = state();
                    let mut rng = Rng(0x5eed_0000 + thread as u64);
                    let mut lat: [Vec<u64>; 4] = Default::default();
                    let mut errors = BTreeMap::<String, usize>::new();
                    barrier.wait();
                    for n in 0..per_thread(thread) {
                        let op = op(&mut rng, thread, n, cfg.tenants);
                        let start = Instant::now();
                        let result = work(&mut st, &op);
                        let took = start.elapsed();
                        lat[op.kind as usize].push(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX));
                        if let Err(kind) = result {
                            *errors.entry(kind).or_default() += 1;
                        }
                    }
                    let end = Instant::now();
                    (lat, errors, end)
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let mut out = Outcome {
            wall: Duration::ZERO,
            latencies: Default::default(),
            errors: BTreeMap::new(),
            setup: Duration::ZERO,
        };
        let mut last = start;
        for h in handles {
            let (lat, errors, end) = h.join().expect("a worker thread panicked");
            for (all, mine) in out.latencies.iter_mut().zip(lat) {
                all.extend(mine);
            }
            for (k, n) in errors {
                *out.errors.entry(k).or_default() += n;
            }
            last = last.max(end);
        }
        out.wall = last - start;
        out
    })
}

// ---- tenantry ----

/// tenantry's error, by variant (SQLite's category for the catch-all variant).
fn tenantry_kind(e: &tenantry::Error) -> String {
    let debug = format!("{e:?}");
    let name: String = debug.chars().take_while(|c| c.is_alphanumeric()).collect();
    if name == "Sqlite" { format!("Sqlite ({e})") } else { name }
}

fn wrong(ok: bool) -> OpResult {
    if ok { Ok(()) } else { Err("WrongResult".into()) }
}

fn tenantry_op(layout: &Layout, tenants: &[TenantId], op: &Op) -> OpResult {
    let t = &tenants[op.tenant];
    let result = match (op.kind, op.jobs) {
        (OpKind::Get, false) => layout.fetch_optional(Project::get(t, op.row)).map(|r| r.is_some()),
        (OpKind::Get, true) => layout.fetch_optional(ExportJob::get(t, op.row)).map(|r| r.is_some()),
        (OpKind::List, false) => layout
            .fetch_all(Project::select(t).order_by(Project::created_at().desc()).limit(LIST as u64))
            .map(|r| r.len() == LIST),
        (OpKind::List, true) => layout
            .fetch_all(ExportJob::select(t).order_by(ExportJob::created_at().desc()).limit(LIST as u64))
            .map(|r| r.len() == LIST),
        (OpKind::Insert, false) => layout
            .execute(Project::insert(t, NewProject { id: op.row, name: "new".into(), created_at: op.stamp.clone() }))
            .map(|n| n == 1),
        (OpKind::Insert, true) => layout
            .execute(ExportJob::insert(
                t,
                NewExportJob {
                    id: op.row,
                    project_id: seeded_project(0),
                    status: "queued".into(),
                    created_at: op.stamp.clone(),
                },
            ))
            .map(|n| n == 1),
        (OpKind::Update, false) => layout
            .execute(Project::update(t).set(Project::name(), "renamed").filter(Project::id().eq(op.row)))
            .map(|n| n == 1),
        (OpKind::Update, true) => layout
            .execute(ExportJob::update(t).set(ExportJob::status(), "running").filter(ExportJob::id().eq(op.row)))
            .map(|n| n == 1),
    };
    match result {
        Ok(ok) => wrong(ok),
        Err(e) => Err(tenantry_kind(&e)),
    }
}

fn seed(layout: &Layout, tenants: &[TenantId]) {
    for t in tenants {
        layout
            .execute(Project::insert_many(
                t,
                (0..SEED_ROWS).map(|i| NewProject {
                    id: seeded_project(i),
                    name: format!("project {i}"),
                    created_at: seeded_stamp(i),
                }),
            ))
            .unwrap();
        layout
            .execute(ExportJob::insert_many(
                t,
                (0..SEED_ROWS).map(|i| NewExportJob {
                    id: seeded_job(i),
                    project_id: seeded_project(i),
                    status: "done".into(),
                    created_at: seeded_stamp(i),
                }),
            ))
            .unwrap();
    }
}

fn run_tenantry(run: Run, cfg: Config, dir: &Path, tenants: &[TenantId]) -> Outcome {
    let setup = Instant::now();
    let shared = SqliteDatabase::open(dir.join("shared.sqlite3")).unwrap();
    let layout = match run {
        Run::A => Layout::shared(shared),
        Run::B => Layout::builder(shared).per_tenant(dir.join("tenants")).max_open(64).build(),
        Run::C => Layout::builder(shared)
            .per_tenant(dir.join("tenants"))
            .max_open(64)
            .shared_tables(&[ExportJob::INFO])
            .build(),
        Run::Base | Run::BaseFiles => unreachable!("the baselines do not use tenantry"),
    }
    .unwrap();
    seed(&layout, tenants);
    let setup = setup.elapsed();
    let mut out = drive(cfg, || (), |(), op| tenantry_op(&layout, tenants, op));
    out.setup = setup;
    out
}

// ---- the hand-written baseline ----

/// tenantry's connection settings, by hand; `per_tenant`: a tenant's file, whose log files
/// tenantry keeps between opens.
fn hand_connection(path: &Path, per_tenant: bool) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let _: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if per_tenant {
        conn.file_control(rusqlite::DEFAULT_NAME, rusqlite::FileControl::PersistWal(&mut 1))?;
        conn.execute_batch("PRAGMA journal_size_limit = 4194304")?;
    }
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.set_prepared_statement_cache_capacity(256);
    Ok(conn)
}

fn uuid_at(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Uuid> {
    let v = row.get_ref(i)?;
    Uuid::try_parse_ascii(v.as_bytes()?)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, v.data_type(), Box::new(e)))
}

fn raw_project(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawProject> {
    Ok(RawProject { user_id: uuid_at(row, 0)?, id: uuid_at(row, 1)?, name: row.get(2)?, created_at: row.get(3)? })
}

fn raw_job(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawJob> {
    Ok(RawJob {
        user_id: uuid_at(row, 0)?,
        id: uuid_at(row, 1)?,
        project_id: uuid_at(row, 2)?,
        status: row.get(3)?,
        created_at: row.get(4)?,
    })
}

fn hand_work(conn: &Connection, tenant: &str, op: &Op) -> rusqlite::Result<bool> {
    let mut buf = [0; 36];
    let row = op.row.hyphenated().encode_lower(&mut buf);
    Ok(match (op.kind, op.jobs) {
        (OpKind::Get, false) => conn
            .prepare_cached("SELECT user_id, id, name, created_at FROM projects WHERE user_id = ?1 AND id = ?2")?
            .query_row((tenant, &*row), raw_project)
            .optional()?
            .is_some(),
        (OpKind::Get, true) => conn
            .prepare_cached(
                "SELECT user_id, id, project_id, status, created_at FROM export_jobs WHERE user_id = ?1 AND id = ?2",
            )?
            .query_row((tenant, &*row), raw_job)
            .optional()?
            .is_some(),
        (OpKind::List, false) => {
            conn.prepare_cached(
                "SELECT user_id, id, name, created_at FROM projects WHERE user_id = ?1 \
                 ORDER BY created_at DESC LIMIT ?2",
            )?
            .query_map((tenant, LIST as i64), raw_project)?
            .collect::<rusqlite::Result<Vec<_>>>()?
            .len()
                == LIST
        }
        (OpKind::List, true) => {
            conn.prepare_cached(
                "SELECT user_id, id, project_id, status, created_at FROM export_jobs WHERE user_id = ?1 \
                 ORDER BY created_at DESC LIMIT ?2",
            )?
            .query_map((tenant, LIST as i64), raw_job)?
            .collect::<rusqlite::Result<Vec<_>>>()?
            .len()
                == LIST
        }
        (OpKind::Insert, false) => {
            conn.prepare_cached("INSERT INTO projects (user_id, id, name, created_at) VALUES (?1, ?2, ?3, ?4)")?
                .execute((tenant, &*row, String::from("new"), op.stamp.clone()))?
                == 1
        }
        (OpKind::Insert, true) => {
            let mut p = [0; 36];
            let project = seeded_project(0);
            conn.prepare_cached(
                "INSERT INTO export_jobs (user_id, id, project_id, status, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute((
                tenant,
                &*row,
                &*project.hyphenated().encode_lower(&mut p),
                String::from("queued"),
                op.stamp.clone(),
            ))? == 1
        }
        (OpKind::Update, false) => {
            conn.prepare_cached("UPDATE projects SET name = ?1 WHERE user_id = ?2 AND id = ?3")?
                .execute(("renamed", tenant, &*row))?
                == 1
        }
        (OpKind::Update, true) => {
            conn.prepare_cached("UPDATE export_jobs SET status = ?1 WHERE user_id = ?2 AND id = ?3")?
                .execute(("running", tenant, &*row))?
                == 1
        }
    })
}

fn rusqlite_kind(e: &rusqlite::Error) -> String {
    match e.sqlite_error_code() {
        Some(code) => format!("{code:?}"),
        None => format!("{e:?}").chars().take_while(|c| c.is_alphanumeric()).collect(),
    }
}

fn run_baseline(cfg: Config, dir: &Path, tenants: &[TenantId]) -> Outcome {
    let setup = Instant::now();
    let path = dir.join("shared.sqlite3");
    // Same schema and rows as layout A, written by tenantry, then closed.
    seed(&Layout::shared(SqliteDatabase::open(&path).unwrap()).unwrap(), tenants);
    let setup = setup.elapsed();
    let names: Vec<String> = tenants.iter().map(|t| t.as_uuid().hyphenated().to_string()).collect();
    let mut out = drive(
        cfg,
        || hand_connection(&path, false).unwrap(),
        |conn, op| match hand_work(conn, &names[op.tenant], op) {
            Ok(ok) => wrong(ok),
            Err(e) => Err(rusqlite_kind(&e)),
        },
    );
    out.setup = setup;
    out
}

/// The per-tenant baseline: the files layout B writes, each opened by hand for one
/// operation and closed, with the same settings.
fn run_baseline_files(cfg: Config, dir: &Path, tenants: &[TenantId]) -> Outcome {
    let setup = Instant::now();
    let paths: Vec<PathBuf> = {
        let layout = Layout::builder(SqliteDatabase::open(dir.join("shared.sqlite3")).unwrap())
            .per_tenant(dir.join("tenants"))
            .max_open(64)
            .build()
            .unwrap();
        seed(&layout, tenants);
        tenants.iter().map(|t| layout.tenant_path(t).unwrap()).collect()
    };
    let setup = setup.elapsed();
    let names: Vec<String> = tenants.iter().map(|t| t.as_uuid().hyphenated().to_string()).collect();
    let mut out = drive(
        cfg,
        || (),
        |(), op| match hand_connection(&paths[op.tenant], true).and_then(|c| hand_work(&c, &names[op.tenant], op)) {
            Ok(ok) => wrong(ok),
            Err(e) => Err(rusqlite_kind(&e)),
        },
    );
    out.setup = setup;
    out
}

// ---- report ----

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn human(ns: u64) -> String {
    let us = ns as f64 / 1_000.0;
    if us < 1_000.0 {
        format!("{us:.0} µs")
    } else if us < 1_000_000.0 {
        format!("{:.1} ms", us / 1_000.0)
    } else {
        format!("{:.2} s", us / 1_000_000.0)
    }
}

fn with_commas(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

struct Row {
    run: Run,
    throughput: f64,
    all: Vec<u64>,
    per_kind: [Vec<u64>; 4],
    errors: BTreeMap<String, usize>,
    wall: Duration,
    setup: Duration,
}

fn summarize(run: Run, mut out: Outcome) -> Row {
    let mut all: Vec<u64> = out.latencies.iter().flatten().copied().collect();
    all.sort_unstable();
    for v in &mut out.latencies {
        v.sort_unstable();
    }
    let throughput = all.len() as f64 / out.wall.as_secs_f64();
    Row { run, throughput, all, per_kind: out.latencies, errors: out.errors, wall: out.wall, setup: out.setup }
}

fn print_rows(cfg: Config, rows: &[Row], baseline: Option<f64>, baseline_files: Option<f64>) {
    println!();
    println!(
        "{} tenants, {} threads, {} operations per run (reads 70%: get, list 20; writes 30%: insert, update)",
        with_commas(cfg.tenants as u64),
        cfg.threads,
        with_commas(cfg.ops as u64)
    );
    println!();
    println!("| run | ops/s | vs baseline | vs baseline B | p50 | p99 | max | over 1 s | errors |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for r in rows {
        let ratio = |b: Option<f64>| b.map_or_else(|| "-".into(), |b| format!("{:.2}", r.throughput / b));
        let files = if r.run == Run::B { ratio(baseline_files) } else { "-".into() };
        let slow = r.all.iter().filter(|&&ns| ns > SLOW.as_nanos() as u64).count();
        let errors = if r.errors.is_empty() {
            "0".into()
        } else {
            r.errors.iter().map(|(k, n)| format!("{k}: {}", with_commas(*n as u64))).collect::<Vec<_>>().join(", ")
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.run.name(),
            with_commas(r.throughput.round() as u64),
            ratio(baseline),
            files,
            human(percentile(&r.all, 50.0)),
            human(percentile(&r.all, 99.0)),
            human(r.all.last().copied().unwrap_or(0)),
            slow,
            errors
        );
    }
    println!();
    println!("Per operation, p50 / p99 / max:");
    println!();
    println!("| run | {} |", KINDS.map(|(_, name)| name).join(" | "));
    println!("| --- |{}", " ---: |".repeat(KINDS.len()));
    for r in rows {
        let cells: Vec<String> = r
            .per_kind
            .iter()
            .map(|v| {
                format!(
                    "{} / {} / {}",
                    human(percentile(v, 50.0)),
                    human(percentile(v, 99.0)),
                    human(v.last().copied().unwrap_or(0))
                )
            })
            .collect();
        println!("| {} | {} |", r.run.name(), cells.join(" | "));
    }
    println!();
    for r in rows {
        println!(
            "{}: {} operations in {:.2} s (set-up, not timed: {:.2} s)",
            r.run.name(),
            with_commas(r.all.len() as u64),
            r.wall.as_secs_f64(),
            r.setup.as_secs_f64()
        );
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: load [--full] [--tenants N] [--threads N] [--ops N] [--only base,a,base-files,b,c]\n\
         without --full: 20 tenants, 4 threads, 2,000 operations"
    );
    std::process::exit(2)
}

fn main() {
    let mut cfg = Config { tenants: 20, threads: 4, ops: 2_000 };
    let mut runs = vec![Run::Base, Run::A, Run::BaseFiles, Run::B, Run::C];
    let mut args = std::env::args().skip(1);
    let number =
        |v: Option<String>| v.and_then(|v| v.replace([',', '_'], "").parse::<usize>().ok()).unwrap_or_else(|| usage());
    let mut overrides = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--full" => cfg = Config { tenants: 1_000, threads: 64, ops: 200_000 },
            "--tenants" => overrides.push((0, number(args.next()))),
            "--threads" => overrides.push((1, number(args.next()))),
            "--ops" => overrides.push((2, number(args.next()))),
            "--only" => {
                let list = args.next().unwrap_or_else(|| usage());
                runs = list
                    .split(',')
                    .map(|r| match r.trim().to_ascii_lowercase().as_str() {
                        "base" | "baseline" => Run::Base,
                        "base-files" => Run::BaseFiles,
                        "a" => Run::A,
                        "b" => Run::B,
                        "c" => Run::C,
                        _ => usage(),
                    })
                    .collect();
            }
            "--help" | "-h" => usage(),
            // `cargo bench` passes `--bench`; other harness flags are ignored too.
            _ => {}
        }
    }
    for (which, n) in overrides {
        let n = n.max(1);
        match which {
            0 => cfg.tenants = n,
            1 => cfg.threads = n,
            _ => cfg.ops = n,
        }
    }

    let admin = Admin::new("load benchmark mints its tenants");
    let tenants: Vec<TenantId> = (0..cfg.tenants).map(|i| admin.mint_tenant(tenant_uuid(i))).collect();
    let root: PathBuf = std::env::temp_dir().join(format!("tenantry-bench-load-{}", Uuid::new_v4()));
    let mut rows = Vec::new();
    let (mut baseline, mut baseline_files) = (None, None);
    for run in runs {
        let dir = root.join(format!("run-{}", rows.len()));
        std::fs::create_dir_all(&dir).unwrap();
        eprintln!("running {} ...", run.name());
        let out = match run {
            Run::Base => run_baseline(cfg, &dir, &tenants),
            Run::BaseFiles => run_baseline_files(cfg, &dir, &tenants),
            _ => run_tenantry(run, cfg, &dir, &tenants),
        };
        let row = summarize(run, out);
        match run {
            Run::Base => baseline = Some(row.throughput),
            Run::BaseFiles => baseline_files = Some(row.throughput),
            _ => {}
        }
        eprintln!(
            "  {} ops/s, {} errors",
            with_commas(row.throughput.round() as u64),
            row.errors.values().sum::<usize>()
        );
        rows.push(row);
        let _ = std::fs::remove_dir_all(&dir);
    }
    let _ = std::fs::remove_dir_all(&root);
    print_rows(cfg, &rows, baseline, baseline_files);
}
