//! The crash-safe job queue (`tenantry::jobs`): claims under a lease, retries with backoff,
//! dead letters, isolation between tenants, eight workers on three connections, and a
//! worker killed with SIGKILL at many points.
//!
//! Each isolation test names the guard it checks; each was run with that guard removed
//! and failed as its comment says.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tenantry::auth::Clock;
use tenantry::jobs::{ClaimedJob, DEFAULT_MAX_ATTEMPTS, JobState, Jobs, NewJob};
use tenantry::{Admin, Error, Layout, SqliteDatabase, Table, TenantId};
use uuid::Uuid;

/// What a job's work writes, in the transaction that completes it: one row per
/// completion, under a fresh id, so a job completed twice would show two rows.
#[derive(Table, Debug)]
#[table(name = "job_effects", owned)]
struct JobEffect {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    id: Uuid,
    #[index]
    job_id: Uuid,
    attempt: i64,
}

fn effect(job: &ClaimedJob) -> NewJobEffect {
    NewJobEffect { id: Uuid::new_v4(), job_id: job.id(), attempt: i64::from(job.attempt()) }
}

/// Completes `job`, writing its effect row in the same transaction.
fn complete_with_effect(jobs: &Jobs, job: ClaimedJob) -> tenantry::Result<()> {
    jobs.complete_with(job, |tx, job| tx.execute(JobEffect::insert(job.tenant(), effect(job))).map(|_| ()))
}

/// A clock the test moves by hand.
struct TestClock(AtomicU64);

impl TestClock {
    fn at(unix_ms: u64) -> Arc<Self> {
        Arc::new(TestClock(AtomicU64::new(unix_ms)))
    }
    fn advance(&self, d: Duration) {
        self.0.fetch_add(u64::try_from(d.as_millis()).unwrap(), Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.0.load(Ordering::SeqCst))
    }
}

const T0: u64 = 1_764_237_599_000;
const LEASE: Duration = Duration::from_secs(30);

/// An in-memory layout and its queue on a hand-moved clock.
fn queue() -> (Layout, Jobs, Arc<TestClock>) {
    let layout = Layout::shared(SqliteDatabase::open_in_memory().unwrap()).unwrap();
    let clock = TestClock::at(T0);
    let jobs =
        Jobs::new(&layout).unwrap().clock(clock.clone()).backoff(Duration::from_secs(10), Duration::from_secs(60));
    (layout, jobs, clock)
}

/// Audit events seen by this binary, as (reason, action) text.
static EVENTS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

fn record_audit() {
    tenantry::set_audit_hook(|e| {
        EVENTS.lock().unwrap().push((e.reason.to_owned(), format!("{:?}", e.action)));
    });
}

fn events_for(reason: &str) -> Vec<String> {
    EVENTS.lock().unwrap().iter().filter(|(r, _)| r == reason).map(|(_, a)| a.clone()).collect()
}

#[test]
fn claims_take_the_oldest_job_of_any_tenant_and_a_done_job_is_not_claimed_again() {
    let (_layout, jobs, clock) = queue();
    let worker = Admin::new("jobs test: the worker");
    let tenants: Vec<TenantId> = (0..3).map(|_| TenantId::generate()).collect();
    let mut ids = Vec::new();
    for (n, t) in tenants.iter().enumerate() {
        ids.push(jobs.enqueue(t, "export", &format!("{{\"n\":{n}}}")).unwrap());
        clock.advance(Duration::from_millis(1));
    }
    // A job scheduled for later waits its turn.
    let later = jobs.enqueue_with(&tenants[0], NewJob::new("later", "{}").delay(Duration::from_secs(60))).unwrap();
    for (n, t) in tenants.iter().enumerate() {
        let job = jobs.claim(&worker, LEASE).unwrap().expect("a queued job");
        assert_eq!((job.tenant(), job.id(), job.kind(), job.attempt()), (t, ids[n], "export", 1));
        assert_eq!(job.payload(), format!("{{\"n\":{n}}}"));
        assert_eq!(job.max_attempts(), DEFAULT_MAX_ATTEMPTS);
        assert_eq!(jobs.status(t, ids[n]).unwrap().unwrap().state, JobState::Running);
        jobs.complete(job).unwrap();
        let done = jobs.status(t, ids[n]).unwrap().unwrap();
        assert_eq!((done.state, done.attempts, done.lease_until), (JobState::Done, 1, None));
    }
    assert!(jobs.claim(&worker, LEASE).unwrap().is_none(), "done jobs are not claimed; the later one is not due");
    clock.advance(Duration::from_secs(60));
    assert_eq!(jobs.claim(&worker, LEASE).unwrap().unwrap().id(), later);
}

#[test]
fn a_failed_job_is_retried_after_its_backoff_then_dead_and_requeued_by_an_admin() {
    let (_layout, jobs, clock) = queue();
    let worker = Admin::new("jobs test: the retrying worker");
    let t = TenantId::generate();
    let id = jobs.enqueue_with(&t, NewJob::new("thumbnail", "{}").max_attempts(3)).unwrap();

    for (attempt, wait) in [(1, 10), (2, 20)] {
        let job = jobs.claim(&worker, LEASE).unwrap().unwrap();
        assert_eq!(job.attempt(), attempt);
        assert_eq!(jobs.fail(job, &format!("ffmpeg exited with {attempt}")).unwrap(), JobState::Queued);
        let queued = jobs.status(&t, id).unwrap().unwrap();
        assert_eq!(queued.run_after, clock.now() + Duration::from_secs(wait));
        assert_eq!(queued.last_error.as_deref(), Some(format!("ffmpeg exited with {attempt}").as_str()));
        // Not before its backoff ends; then it is due.
        clock.advance(Duration::from_secs(wait - 1));
        assert!(jobs.claim(&worker, LEASE).unwrap().is_none(), "attempt {attempt}: claimed during its backoff");
        clock.advance(Duration::from_secs(1));
    }
    let last = jobs.claim(&worker, LEASE).unwrap().unwrap();
    assert_eq!((last.attempt(), last.max_attempts()), (3, 3));
    assert_eq!(jobs.fail(last, "still broken").unwrap(), JobState::Dead);
    clock.advance(Duration::from_secs(3600));
    assert!(jobs.claim(&worker, LEASE).unwrap().is_none(), "a dead job is not claimed");

    let admin = Admin::new("jobs test: the dead-letter operator");
    let dead = jobs.dead(&admin, 10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].0, dead[0].1.id, dead[0].1.state, dead[0].1.attempts), (t, id, JobState::Dead, 3));
    assert_eq!(dead[0].1.last_error.as_deref(), Some("still broken"));

    assert!(jobs.requeue(&admin, &t, id).unwrap());
    assert!(!jobs.requeue(&admin, &t, id).unwrap(), "only a dead job is requeued");
    let again = jobs.status(&t, id).unwrap().unwrap();
    assert_eq!((again.state, again.attempts), (JobState::Queued, 0));
    assert_eq!(again.last_error.as_deref(), Some("still broken"), "the history is kept");
    let job = jobs.claim(&worker, LEASE).unwrap().unwrap();
    assert_eq!((job.id(), job.attempt()), (id, 1));
    jobs.complete(job).unwrap();
    assert!(jobs.dead(&admin, 10).unwrap().is_empty());
}

/// Guards: a claim takes over a running job whose lease ended (`sql::NEXT_EXPIRED`), and
/// every write of a claim carries `lease_token = ?` (`sql::HEARTBEAT`, `COMPLETE`, `FAIL`).
/// Seen failing with each removed in turn: without the takeover, the job was never
/// claimable again; without the token in `HEARTBEAT`, the crashed worker's heartbeat
/// succeeded; in `COMPLETE`, its completion returned `Ok` and marked the job done under
/// the new worker's feet.
#[test]
fn a_crashed_workers_job_is_claimed_again_after_its_lease_and_the_old_claim_is_refused() {
    let (_layout, jobs, clock) = queue();
    let worker = Admin::new("jobs test: workers that crash");
    let t = TenantId::generate();
    let id = jobs.enqueue(&t, "export", "{}").unwrap();
    let stale = jobs.claim(&worker, LEASE).unwrap().unwrap();

    // The first worker hangs. Until its lease ends, nobody else gets the job.
    clock.advance(LEASE - Duration::from_millis(1));
    assert!(jobs.claim(&worker, LEASE).unwrap().is_none());
    clock.advance(Duration::from_millis(1));
    let fresh = jobs.claim(&worker, LEASE).unwrap().expect("claimable again once the lease ended");
    assert_eq!((fresh.id(), fresh.attempt()), (id, 2));

    // The first worker wakes up: everything it tries is refused, and writes nothing.
    assert!(matches!(jobs.heartbeat(&stale, LEASE), Err(Error::LeaseLost)));
    let ran = AtomicBool::new(false);
    let lost = jobs.complete_with(stale, |_, _| {
        ran.store(true, Ordering::SeqCst);
        Ok(())
    });
    assert!(matches!(lost, Err(Error::LeaseLost)), "{lost:?}");
    assert!(!ran.load(Ordering::SeqCst), "the work of a lost claim does not run");
    assert_eq!(jobs.status(&t, id).unwrap().unwrap().state, JobState::Running);

    // The new worker keeps its lease alive past the original end, then finishes.
    clock.advance(Duration::from_secs(20));
    jobs.heartbeat(&fresh, LEASE).unwrap();
    assert_eq!(jobs.status(&t, id).unwrap().unwrap().lease_until, Some(clock.now() + LEASE));
    clock.advance(Duration::from_secs(20)); // 40 s after the claim: ended without the heartbeat
    assert!(jobs.claim(&worker, LEASE).unwrap().is_none(), "the heartbeat extended the lease");
    jobs.complete(fresh).unwrap();
    let done = jobs.status(&t, id).unwrap().unwrap();
    assert_eq!((done.state, done.attempts), (JobState::Done, 2));
}

/// Guard: `lease_token = ?` in `sql::FAIL`. Seen failing without it: the late failure
/// returned `Ok` and queued the new worker's job again.
#[test]
fn a_lost_claim_cannot_fail_the_job_either() {
    let (_layout, jobs, clock) = queue();
    let worker = Admin::new("jobs test: a late failure");
    let t = TenantId::generate();
    let id = jobs.enqueue(&t, "export", "{}").unwrap();
    let stale = jobs.claim(&worker, LEASE).unwrap().unwrap();
    clock.advance(LEASE);
    let fresh = jobs.claim(&worker, LEASE).unwrap().unwrap();
    assert!(matches!(jobs.fail(stale, "timed out"), Err(Error::LeaseLost)));
    let job = jobs.status(&t, id).unwrap().unwrap();
    assert_eq!((job.state, job.last_error), (JobState::Running, None));
    jobs.complete(fresh).unwrap();
}

#[test]
fn a_lease_that_ends_on_the_last_attempt_buries_the_job_instead_of_handing_it_out() {
    record_audit();
    let (_layout, jobs, clock) = queue();
    let worker = Admin::new("jobs test: a worker that dies on the last attempt");
    let t = TenantId::generate();
    let id = jobs.enqueue_with(&t, NewJob::new("export", "{}").max_attempts(1)).unwrap();
    let next = jobs.enqueue(&t, "export", "{}").unwrap();
    let claimed = jobs.claim(&worker, LEASE).unwrap().unwrap();
    assert_eq!(claimed.id(), id);
    drop(claimed); // the worker dies
    clock.advance(LEASE);
    assert_eq!(jobs.claim(&worker, LEASE).unwrap().unwrap().id(), next, "the dead job is skipped");
    let dead = jobs.status(&t, id).unwrap().unwrap();
    assert_eq!((dead.state, dead.attempts, dead.lease_until), (JobState::Dead, 1, None));
    assert!(dead.last_error.unwrap().contains("lease ended on the last attempt"));
    let seen = events_for("jobs test: a worker that dies on the last attempt");
    assert!(seen.iter().any(|a| a.contains("dead letters")), "{seen:?}");
}

#[test]
fn work_that_fails_is_rolled_back_with_the_completion() {
    let (layout, jobs, clock) = queue();
    let worker = Admin::new("jobs test: work that fails");
    let t = TenantId::generate();
    let id = jobs.enqueue(&t, "export", "{}").unwrap();
    let job = jobs.claim(&worker, LEASE).unwrap().unwrap();
    let out = jobs.complete_with(job, |tx, job| {
        tx.execute(JobEffect::insert(job.tenant(), effect(job)))?;
        Err::<(), _>(Error::NotFound)
    });
    assert!(matches!(out, Err(Error::NotFound)), "{out:?}");
    assert_eq!(jobs.status(&t, id).unwrap().unwrap().state, JobState::Running, "not completed");
    assert!(layout.fetch_all(JobEffect::select(&t)).unwrap().is_empty(), "the effect was rolled back");
    // After the lease the job is claimed again and completed, with its effect.
    clock.advance(LEASE);
    let again = jobs.claim(&worker, LEASE).unwrap().unwrap();
    assert_eq!(again.attempt(), 2);
    complete_with_effect(&jobs, again).unwrap();
    let effects = layout.fetch_all(JobEffect::select(&t)).unwrap();
    assert_eq!(effects.iter().map(|e| (e.job_id, e.attempt)).collect::<Vec<_>>(), [(id, 2)]);
}

/// Guard: every scoped read and write carries `tenant = ?1` (`src/jobs.rs`, `sql::STATUS`,
/// `LIST`, `REQUEUE`, `DELETE_TENANT`), and ids are unique per tenant
/// (`UNIQUE (tenant, id)`). Seen failing with each removed in turn: without it in
/// `STATUS`, Bob's status of the shared id returned Alice's job (her payload); in `LIST`,
/// Bob's list held Alice's job; in `REQUEUE`, Carol requeued Bob's dead job; in
/// `DELETE_TENANT`, deleting Carol's jobs deleted Alice's and Bob's; with `UNIQUE (id)`,
/// Bob could not enqueue the id Alice had used (and learned that she had).
#[test]
fn another_tenants_job_with_the_same_id_is_invisible() {
    let (_layout, jobs, _clock) = queue();
    let (alice, bob, carol) = (TenantId::generate(), TenantId::generate(), TenantId::generate());
    let shared_id = Uuid::new_v4();
    jobs.enqueue_with(&alice, NewJob::new("export", "alice's secret project").id(shared_id)).unwrap();
    jobs.enqueue_with(&bob, NewJob::new("export", "bob's project").id(shared_id).max_attempts(1)).unwrap();
    // The same id twice for one tenant is a conflict, which reveals nothing about others.
    let again = jobs.enqueue_with(&alice, NewJob::new("export", "again").id(shared_id));
    assert!(matches!(again, Err(Error::Conflict { table: "tenantry_jobs", .. })), "{again:?}");

    assert_eq!(jobs.status(&alice, shared_id).unwrap().unwrap().payload, "alice's secret project");
    assert_eq!(jobs.status(&bob, shared_id).unwrap().unwrap().payload, "bob's project");
    assert!(jobs.status(&carol, shared_id).unwrap().is_none());
    let bobs: Vec<String> = jobs.list(&bob, 10).unwrap().into_iter().map(|j| j.payload).collect();
    assert_eq!(bobs, ["bob's project"]);
    assert!(jobs.list(&carol, 10).unwrap().is_empty());

    // Finishing Alice's job leaves Bob's as it was.
    let worker = Admin::new("jobs test: isolation worker");
    let job = jobs.claim(&worker, LEASE).unwrap().unwrap();
    assert_eq!(job.tenant(), &alice);
    jobs.complete(job).unwrap();
    assert_eq!(jobs.status(&bob, shared_id).unwrap().unwrap().state, JobState::Queued);

    // Requeue and deletion are scoped too: Bob's job dies, and only Bob's id requeues it.
    let job = jobs.claim(&worker, LEASE).unwrap().unwrap();
    assert_eq!(job.tenant(), &bob);
    assert_eq!(jobs.fail(job, "bob's error").unwrap(), JobState::Dead);
    let admin = Admin::new("jobs test: isolation operator");
    assert!(!jobs.requeue(&admin, &carol, shared_id).unwrap());
    assert!(!jobs.requeue(&admin, &alice, shared_id).unwrap());
    assert_eq!(jobs.status(&bob, shared_id).unwrap().unwrap().state, JobState::Dead);
    assert!(jobs.requeue(&admin, &bob, shared_id).unwrap());
    assert_eq!(jobs.delete_tenant_jobs(&carol).unwrap(), 0);
    assert_eq!(jobs.delete_tenant_jobs(&alice).unwrap(), 1);
    assert!(jobs.status(&alice, shared_id).unwrap().is_none());
    assert_eq!(jobs.status(&bob, shared_id).unwrap().unwrap().payload, "bob's project");
}

#[test]
fn a_tenant_lists_its_own_jobs_newest_first() {
    let (_layout, jobs, clock) = queue();
    let t = TenantId::generate();
    let other = TenantId::generate();
    for n in 0..5 {
        jobs.enqueue(&t, "export", &n.to_string()).unwrap();
        jobs.enqueue(&other, "export", "not mine").unwrap();
        clock.advance(Duration::from_millis(1));
    }
    let listed: Vec<String> = jobs.list(&t, 3).unwrap().into_iter().map(|j| j.payload).collect();
    assert_eq!(listed, ["4", "3", "2"]);
}

/// Guard: the claim fires its events only once it has a job (`Jobs::claim`). Seen failing
/// with the `Operation` fired before the transaction: each of the five idle polls was an
/// event.
#[test]
fn a_claim_is_one_audit_event_pair_and_an_idle_poll_is_none() {
    record_audit();
    let (_layout, jobs, _clock) = queue();
    let reason = "jobs test: the audited worker";
    let worker = Admin::new(reason);
    for _ in 0..5 {
        assert!(jobs.claim(&worker, LEASE).unwrap().is_none());
    }
    assert_eq!(events_for(reason), ["Created"], "idle polls are not events");
    let t = TenantId::generate();
    jobs.enqueue(&t, "export", "{}").unwrap();
    let job = jobs.claim(&worker, LEASE).unwrap().unwrap();
    jobs.complete(job).unwrap();
    let seen = events_for(reason);
    assert_eq!(
        seen,
        [
            "Created".to_owned(),
            "Operation { name: \"claim the next job across tenants\" }".to_owned(),
            format!("MintTenant {{ tenant: {} }}", t.as_uuid()),
        ]
    );
}

#[test]
fn bad_options_are_typed_errors_and_payloads_come_back_byte_exact() {
    let (_layout, jobs, _clock) = queue();
    let worker = Admin::new("jobs test: bad input");
    let t = TenantId::generate();
    let invalid = |r: tenantry::Result<Uuid>| matches!(r, Err(Error::InvalidJob { .. }));
    assert!(invalid(jobs.enqueue_with(&t, NewJob::new("export", "{}").max_attempts(0))));
    assert!(invalid(jobs.enqueue_with(&t, NewJob::new("export", "{}").id(Uuid::nil()))));
    assert!(matches!(jobs.claim(&worker, Duration::ZERO), Err(Error::InvalidJob { .. })));
    assert!(jobs.list(&t, 10).unwrap().is_empty(), "nothing was written");

    let hostile = "'); DROP TABLE tenantry_jobs; -- \u{0} \"x\" ünï ".to_owned() + &"x".repeat(1 << 20);
    let kind = "kind'; DELETE FROM tenantry_jobs; --";
    let id = jobs.enqueue(&t, kind, &hostile).unwrap();
    let job = jobs.claim(&worker, LEASE).unwrap().unwrap();
    assert_eq!((job.kind(), job.payload()), (kind, hostile.as_str()));
    jobs.fail(job, &hostile).unwrap();
    let stored = jobs.status(&t, id).unwrap().unwrap();
    assert_eq!((stored.kind.as_str(), stored.payload.as_str()), (kind, hostile.as_str()));
    assert_eq!(stored.last_error.as_deref(), Some(hostile.as_str()));
}

#[test]
fn a_damaged_row_goes_to_the_dead_letters_instead_of_blocking_the_queue() {
    let (layout, jobs, _clock) = queue();
    let worker = Admin::new("jobs test: a damaged row");
    let t = TenantId::generate();
    let damaged = jobs.enqueue(&t, "export", "{}").unwrap();
    let fine = jobs.enqueue(&t, "export", "{}").unwrap();
    let admin = Admin::new("jobs test: damage a row outside tenantry");
    let changed = layout
        .shared_database()
        .execute(admin.raw_sql("UPDATE tenantry_jobs SET tenant = 'not a uuid' WHERE id = ?").bind(damaged.to_string()))
        .unwrap();
    assert_eq!(changed, 1);
    assert_eq!(jobs.claim(&worker, LEASE).unwrap().unwrap().id(), fine);
    let states: Vec<(String, String)> = layout
        .shared_database()
        .fetch_raw(admin.raw_sql("SELECT id, state FROM tenantry_jobs ORDER BY seq"), |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(states, [(damaged.to_string(), "dead".to_owned()), (fine.to_string(), "running".to_owned())]);
}

#[test]
fn done_jobs_are_purged_after_a_while_and_others_are_kept() {
    let (_layout, jobs, clock) = queue();
    let worker = Admin::new("jobs test: purge");
    let t = TenantId::generate();
    let done = jobs.enqueue(&t, "export", "{}").unwrap();
    let waiting = jobs.enqueue(&t, "export", "{}").unwrap();
    jobs.complete(jobs.claim(&worker, LEASE).unwrap().unwrap()).unwrap();
    clock.advance(Duration::from_secs(3600));
    assert_eq!(jobs.purge_done(&worker, Duration::from_secs(7200)).unwrap(), 0, "not old enough");
    assert_eq!(jobs.purge_done(&worker, Duration::from_secs(3600)).unwrap(), 1);
    assert!(jobs.status(&t, done).unwrap().is_none());
    assert_eq!(jobs.status(&t, waiting).unwrap().unwrap().state, JobState::Queued);
}

fn temp(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tenantry-jobs-{tag}-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The queue in a database file, opened as a new process would.
fn open_file(dir: &Path, connections: usize) -> (Layout, Jobs) {
    let db = SqliteDatabase::builder(dir.join("queue.db")).max_connections(connections).open().unwrap();
    let layout = Layout::shared(db).unwrap();
    let jobs = Jobs::new(&layout).unwrap();
    (layout, jobs)
}

/// Every job's (id, state, attempts, lease_until), and how many effect rows each job has.
type Snapshot = (Vec<(String, String, i64, Option<i64>)>, HashMap<String, i64>);

fn snapshot(layout: &Layout) -> Snapshot {
    let admin = Admin::new("jobs test: read the queue and the effects");
    let db = layout.shared_database();
    let jobs = db
        .fetch_raw(admin.raw_sql("SELECT id, state, attempts, lease_until FROM tenantry_jobs ORDER BY seq"), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap();
    let effects = db
        .fetch_raw(admin.raw_sql("SELECT job_id, COUNT(*) FROM job_effects GROUP BY job_id"), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap()
        .into_iter()
        .collect();
    (jobs, effects)
}

#[test]
fn eight_workers_on_three_connections_complete_each_of_2000_jobs_exactly_once() {
    let dir = temp("threads");
    let (layout, jobs) = open_file(&dir, 3);
    let tenants: Vec<TenantId> = (0..20).map(|_| TenantId::generate()).collect();
    for n in 0..2000 {
        jobs.enqueue(&tenants[n % tenants.len()], "export", &n.to_string()).unwrap();
    }
    let worker = Admin::new("jobs test: eight workers");
    let started = Instant::now();
    let per_thread: Vec<usize> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0;
                    while let Some(job) = jobs.claim(&worker, Duration::from_secs(60)).unwrap() {
                        complete_with_effect(&jobs, job).unwrap();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let elapsed = started.elapsed();
    println!(
        "2000 jobs, 8 threads, 3 connections: {elapsed:?} ({:.0} claim+complete/s); per thread {per_thread:?}",
        2000.0 / elapsed.as_secs_f64()
    );
    assert_eq!(per_thread.iter().sum::<usize>(), 2000);
    let (rows, effects) = snapshot(&layout);
    assert_eq!(rows.len(), 2000);
    for (id, state, attempts, lease) in &rows {
        assert_eq!((state.as_str(), *attempts, *lease), ("done", 1, None), "job {id}");
        assert_eq!(effects.get(id), Some(&1), "job {id} completed {:?} times", effects.get(id));
    }
    drop((layout, jobs));
    std::fs::remove_dir_all(dir).ok();
}

/// The child's lease: short, so its orphans are soon claimable again.
const CHILD_LEASE: Duration = Duration::from_millis(200);

/// The child half of `a_worker_killed_at_random_points_never_loses_or_repeats_a_job`:
/// claims and completes jobs (with a little work between) until it is killed.
#[test]
fn jobs_child() {
    let Ok(dir) = std::env::var("TENANTRY_JOBS_CHILD") else { return };
    let (_layout, jobs) = open_file(Path::new(&dir), 2);
    let worker = Admin::new("jobs test: the worker that is killed");
    println!("STARTED");
    loop {
        let Some(job) = jobs.claim(&worker, CHILD_LEASE).unwrap() else {
            std::thread::sleep(Duration::from_millis(1));
            continue;
        };
        // Work, so that kills land between the claim and the completion too.
        std::thread::sleep(Duration::from_micros(u64::from(job.id().as_bytes()[15]) * 8));
        match complete_with_effect(&jobs, job) {
            Ok(()) | Err(Error::LeaseLost) => {}
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn a_worker_killed_at_random_points_never_loses_or_repeats_a_job() {
    // Guards: the completion and the work's writes commit in one transaction
    // (`Jobs::complete_with`), and a claim takes over a running job whose lease ended
    // (`sql::NEXT_EXPIRED`). Seen failing with each removed in turn: with the work in a
    // transaction of its own after the completion, a kill between them left a job done
    // with no effect (in two of three runs; the window is narrow); without the takeover,
    // the drain left the killed workers' jobs running.
    const JOBS: usize = 1500;
    let dir = temp("kill");
    let (layout, jobs) = open_file(&dir, 2);
    let tenants: Vec<TenantId> = (0..8).map(|_| TenantId::generate()).collect();
    for n in 0..JOBS {
        jobs.enqueue_with(&tenants[n % tenants.len()], NewJob::new("export", &n.to_string()).max_attempts(1000))
            .unwrap();
    }
    drop((layout, jobs));
    let mut orphans = std::collections::HashSet::new();
    let mut seed = 0x9e37_79b9_u64 ^ u64::from(std::process::id());
    let now_ms = || i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap();
    let lease_ms = i64::try_from(CHILD_LEASE.as_millis()).unwrap();
    for run in 0..20 {
        let spawned_at = now_ms();
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "jobs_child", "--nocapture", "--test-threads=1"])
            .env("TENANTRY_JOBS_CHILD", &dir)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0 && !line.contains("STARTED") {
            line.clear();
        }
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_millis(5 + (seed >> 33) % 120));
        child.kill().unwrap(); // SIGKILL at an arbitrary point of a claim, the work, or a completion
        child.wait().unwrap();
        let killed_at = now_ms();

        // A fresh process view: the file is sound, every job is done with exactly one
        // effect, or not done with none; a job left running has a lease that ends soon.
        let (layout, _jobs) = open_file(&dir, 2);
        let admin = Admin::new("jobs test: integrity check");
        let check: Vec<String> =
            layout.shared_database().fetch_raw(admin.raw_sql("PRAGMA integrity_check"), |r| r.get(0)).unwrap();
        assert_eq!(check, ["ok"], "run {run}");
        let (rows, effects) = snapshot(&layout);
        assert_eq!(rows.len(), JOBS, "run {run}: jobs lost");
        // Jobs this child left running (those claimed before it started are orphans of
        // earlier runs, not claimed again yet).
        let mut running = 0;
        for (id, state, _, lease) in &rows {
            let n = effects.get(id).copied().unwrap_or(0);
            match state.as_str() {
                "done" => assert_eq!(n, 1, "run {run}: job {id} done with {n} effects"),
                "queued" => assert_eq!(n, 0, "run {run}: job {id} queued with an effect"),
                "running" => {
                    assert_eq!(n, 0, "run {run}: job {id} running with an effect");
                    let ends = lease.expect("a running job has a lease");
                    assert!(ends <= killed_at + lease_ms, "run {run}: lease too long");
                    orphans.insert(id.clone());
                    if ends - lease_ms >= spawned_at {
                        running += 1;
                    }
                }
                other => panic!("run {run}: job {id} is {other}"),
            }
        }
        assert!(running <= 1, "run {run}: one worker left {running} jobs running");
        let done = rows.iter().filter(|r| r.1 == "done").count();
        println!("run {run}: {done} done, {running} left running by the kill");
    }
    assert!(!orphans.is_empty(), "no kill landed between a claim and its completion: the test proved little");

    // Drain, an hour later (every lease has ended): every job is done exactly once,
    // the orphans after being claimed again.
    let (layout, jobs) = open_file(&dir, 2);
    let later = TestClock::at(u64::try_from(now_ms()).unwrap());
    later.advance(Duration::from_secs(3600));
    let jobs = jobs.clock(later);
    let worker = Admin::new("jobs test: the drain");
    while let Some(job) = jobs.claim(&worker, Duration::from_secs(60)).unwrap() {
        complete_with_effect(&jobs, job).unwrap();
    }
    let (rows, effects) = snapshot(&layout);
    assert_eq!(rows.len(), JOBS);
    for (id, state, attempts, lease) in &rows {
        assert_eq!((state.as_str(), *lease), ("done", None), "job {id}");
        assert_eq!(effects.get(id), Some(&1), "job {id}");
        if orphans.contains(id) {
            assert!(*attempts >= 2, "orphan {id} was claimed again");
        }
    }
    println!("{} orphans of killed workers, each claimed again and done once", orphans.len());
    drop((layout, jobs));
    std::fs::remove_dir_all(dir).ok();
}
