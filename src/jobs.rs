//! A job queue that survives crashes: every tenant's jobs in one library-owned table of
//! the layout's shared database (`tenantry_jobs`), claimed under a lease.
//!
//! - **Enqueue and read** are scoped: [`Jobs::enqueue`], [`Jobs::status`] and [`Jobs::list`]
//!   take the tenant's [`TenantId`], and another tenant's job looks missing.
//! - **Claim** crosses tenants, so it takes an [`Admin`]: in one write transaction it takes
//!   the job that has waited longest among those that are queued and due, and those whose
//!   worker's lease ran out (a worker that crashed or hung), marks it running under a new
//!   lease and a fresh lease token, and hands back the job with its tenant's `TenantId`.
//! - **Finish** ([`Jobs::complete`], [`Jobs::complete_with`], [`Jobs::fail`]) and
//!   **extend** ([`Jobs::heartbeat`]) work only while the claim still holds the lease:
//!   once another claim took the job over (after the lease ended), the old claim gets
//!   [`Error::LeaseLost`] and writes nothing. A failure is retried after an exponential
//!   backoff, until the job's last attempt; then the job is *dead* (the dead letters),
//!   where [`Jobs::dead`] lists it and [`Jobs::requeue`] gives it a fresh set of attempts.
//!
//! A job is therefore run *at least once*. Writes made with [`Jobs::complete_with`] commit
//! in the transaction that marks the job done, so what a job writes to the shared
//! database happens exactly once: a claim that lost its lease has its writes rolled back.
//!
//! Times are stored as unix milliseconds (`INTEGER`), read from a [`Clock`] so tests can
//! move time without sleeping. All of the queue's SQL is constant text in this module;
//! values are bound parameters.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::types::ValueRef;
use rusqlite::{OptionalExtension as _, Row, params};
use uuid::Uuid;

use crate::clock::{Clock, SystemClock};
use crate::db::{SqliteDatabase, SqliteTransaction};
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::query::Scope;
use crate::query::write::RawSql;
use crate::tenant::{Admin, AuditAction, TenantId, parse_canonical_uuid};
use crate::value::{AsciiText, Params, Value};

/// How many times a job is claimed before it is dead, unless [`NewJob::max_attempts`]
/// says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// The queue's table. Names starting `tenantry_` are reserved for the library, so no
/// declared table can take it.
const TABLE: &str = "tenantry_jobs";

/// The queue's SQL: constant text, values bound as parameters.
/// The job queue's table, as versioned migrations of its own (append only).
const JOBS_SCHEMA: &[crate::migrate::Step] =
    &[crate::migrate::Step { version: 1, name: "job queue", sql: sql::CREATE, declared: false }];

mod sql {
    /// The table and the claim's index. The index leads with the state, not the tenant:
    /// the claim looks across tenants. `seq` orders jobs enqueued in the same millisecond.
    /// For a running job, `lease_until` is when its lease ends and `lease_token` names the
    /// claim that holds it.
    pub(super) const CREATE: &str = "CREATE TABLE IF NOT EXISTS tenantry_jobs (
    seq INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
    run_after INTEGER NOT NULL,
    lease_until INTEGER,
    lease_token INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (tenant, id)
);
CREATE INDEX IF NOT EXISTS tenantry_jobs_claim ON tenantry_jobs (state, run_after, created_at)";

    pub(super) const ENQUEUE: &str = "INSERT INTO tenantry_jobs
    (tenant, id, kind, payload, state, attempts, max_attempts, run_after, created_at, updated_at)
    VALUES (?1, ?2, ?3, ?4, 'queued', 0, ?5, ?6, ?7, ?7)";

    /// Jobs whose lease ended on their last attempt go to the dead letters (`?1` now,
    /// `?2` the error recorded).
    pub(super) const BURY_EXPIRED: &str = "UPDATE tenantry_jobs
    SET state = 'dead', lease_until = NULL, lease_token = NULL, last_error = ?2, updated_at = ?1
    WHERE state = 'running' AND lease_until <= ?1 AND attempts >= max_attempts";

    /// The running job whose lease ended first (`?1` now). Running jobs are few (one per
    /// worker, plus those of crashed workers): the index finds them by state.
    pub(super) const NEXT_EXPIRED: &str = "SELECT seq, lease_until FROM tenantry_jobs
    WHERE state = 'running' AND lease_until <= ?1 ORDER BY lease_until, seq LIMIT 1";

    /// The queued job due first (`?1` now), in the index's order.
    pub(super) const NEXT_READY: &str = "SELECT seq, run_after FROM tenantry_jobs
    WHERE state = 'queued' AND run_after <= ?1 ORDER BY run_after, created_at, seq LIMIT 1";

    /// Marks job `?4` running under a new lease (`?2` its end, `?3` its token).
    pub(super) const TAKE: &str = "UPDATE tenantry_jobs
    SET state = 'running', attempts = attempts + 1, lease_until = ?2, lease_token = ?3, updated_at = ?1
    WHERE seq = ?4
    RETURNING tenant, id, kind, payload, attempts, max_attempts";

    /// Sends job `?3`, whose row cannot be handed out (its tenant or id is not a canonical
    /// UUID, or a text column holds another type), to the dead letters.
    pub(super) const BURY_ONE: &str = "UPDATE tenantry_jobs
    SET state = 'dead', lease_until = NULL, lease_token = NULL, last_error = ?2, updated_at = ?1
    WHERE seq = ?3";

    /// Extends the lease of a claim that still holds it.
    pub(super) const HEARTBEAT: &str = "UPDATE tenantry_jobs SET lease_until = ?1, updated_at = ?2
    WHERE tenant = ?3 AND id = ?4 AND state = 'running' AND lease_token = ?5";

    /// Marks done a job whose claim still holds the lease.
    pub(super) const COMPLETE: &str = "UPDATE tenantry_jobs
    SET state = 'done', lease_until = NULL, lease_token = NULL, updated_at = ?1
    WHERE tenant = ?2 AND id = ?3 AND state = 'running' AND lease_token = ?4";

    /// Queues again (after a backoff) or buries a failed job whose claim still holds the
    /// lease.
    pub(super) const FAIL: &str = "UPDATE tenantry_jobs
    SET state = ?1, run_after = ?2, last_error = ?3, lease_until = NULL, lease_token = NULL, updated_at = ?4
    WHERE tenant = ?5 AND id = ?6 AND state = 'running' AND lease_token = ?7";

    /// The columns a [`Job`](super::Job) reads, in its order.
    macro_rules! job_columns {
        () => {
            "id, kind, payload, state, attempts, max_attempts, run_after, lease_until, last_error, created_at, updated_at"
        };
    }

    pub(super) const STATUS: &str =
        concat!("SELECT ", job_columns!(), " FROM tenantry_jobs WHERE tenant = ?1 AND id = ?2");

    pub(super) const LIST: &str =
        concat!("SELECT ", job_columns!(), " FROM tenantry_jobs WHERE tenant = ?1 ORDER BY seq DESC LIMIT ?2");

    pub(super) const DEAD: &str =
        concat!("SELECT tenant, ", job_columns!(), " FROM tenantry_jobs WHERE state = 'dead' ORDER BY seq LIMIT ?1");

    pub(super) const REQUEUE: &str = "UPDATE tenantry_jobs
    SET state = 'queued', attempts = 0, run_after = ?1, updated_at = ?1
    WHERE tenant = ?2 AND id = ?3 AND state = 'dead'";

    pub(super) const PURGE_DONE: &str = "DELETE FROM tenantry_jobs WHERE state = 'done' AND updated_at <= ?1";

    #[cfg(test)]
    pub(super) const CLAIM_QUERIES: [&str; 2] = [NEXT_EXPIRED, NEXT_READY];
}

/// What the dead letters record for a job whose lease ended on its last attempt.
const LEASE_ENDED: &str = "the lease ended on the last attempt (the worker stopped or hung)";
/// What they record for a row the queue cannot hand out.
const BAD_ROW: &str = "the stored row is damaged (tenant or id not a canonical UUID, or a text column of another type)";

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JobState {
    /// Waiting to be claimed (at or after its `run_after`).
    Queued,
    /// Claimed by a worker whose lease has not been given up; claimable again once the
    /// lease ends.
    Running,
    /// Completed.
    Done,
    /// Failed or lost on its last attempt: a dead letter, until [`Jobs::requeue`].
    Dead,
}

impl JobState {
    /// The state as stored in the `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "dead" => JobState::Dead,
            _ => return None,
        })
    }
}

/// A job as its tenant sees it ([`Jobs::status`], [`Jobs::list`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Job {
    /// The job's id, unique within its tenant.
    pub id: Uuid,
    /// What kind of work it is, as given to [`Jobs::enqueue`].
    pub kind: String,
    /// The application's payload, byte-exact.
    pub payload: String,
    /// Where the job is.
    pub state: JobState,
    /// Claims so far (since it was enqueued or last requeued).
    pub attempts: u32,
    /// Claims allowed before the job is dead.
    pub max_attempts: u32,
    /// When the job is due (its retry backoff ends).
    pub run_after: SystemTime,
    /// When the current claim's lease ends (running jobs only).
    pub lease_until: Option<SystemTime>,
    /// The error the last failed attempt reported.
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub created_at: SystemTime,
    /// When it last changed.
    pub updated_at: SystemTime,
}

/// A job to enqueue, with its options ([`Jobs::enqueue_with`]).
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    kind: &'a str,
    payload: &'a str,
    id: Option<Uuid>,
    max_attempts: u32,
    delay: Duration,
}

impl<'a> NewJob<'a> {
    /// A job of `kind` carrying `payload` (text the application chooses, JSON say), due
    /// now, with [`DEFAULT_MAX_ATTEMPTS`] and a random id.
    pub fn new(kind: &'a str, payload: &'a str) -> Self {
        NewJob { kind, payload, id: None, max_attempts: DEFAULT_MAX_ATTEMPTS, delay: Duration::ZERO }
    }

    /// Uses `id` instead of a random one (the id of the row the job works on, say): a
    /// second job with the same id for the same tenant is [`Error::Conflict`], so enqueuing
    /// is idempotent. Ids are unique per tenant only; another tenant's job with the same
    /// id is a different job, and invisible here.
    pub fn id(mut self, id: Uuid) -> Self {
        self.id = Some(id);
        self
    }

    /// Claims allowed before the job is dead (at least 1; default [`DEFAULT_MAX_ATTEMPTS`]).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }

    /// Makes the job due only `delay` from now.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// A job a worker claimed with [`Jobs::claim`]: its tenant, what to do, and the lease
/// token that [`Jobs::heartbeat`], [`Jobs::complete`] and [`Jobs::fail`] check.
///
/// It cannot be built or cloned outside tenantry, and finishing a job consumes it.
pub struct ClaimedJob {
    tenant: TenantId,
    id: Uuid,
    kind: String,
    payload: String,
    attempt: u32,
    max_attempts: u32,
    token: i64,
}

impl std::fmt::Debug for ClaimedJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimedJob")
            .field("tenant", &self.tenant)
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("attempt", &self.attempt)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

impl ClaimedJob {
    /// The tenant the job belongs to: the rest of its work is scoped with it.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The job's id (unique within its tenant).
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The job's kind.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The job's payload, byte-exact.
    pub fn payload(&self) -> &str {
        &self.payload
    }

    /// Which attempt this claim is, from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Claims allowed before the job is dead: a [`Jobs::fail`] on this attempt buries the
    /// job when `attempt() == max_attempts()`.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The library's own statement on this job's row, scoped to its tenant.
    fn statement(&self, sql: &'static str) -> RawSql {
        RawSql { sql, params: Params::new(), scope: Scope::tenant(&self.tenant) }
    }
}

/// The job queue over a layout's shared database. Cheap to clone.
///
/// ```
/// # fn main() -> tenantry::Result<()> {
/// use std::time::Duration;
/// use tenantry::jobs::{JobState, Jobs};
/// use tenantry::{Admin, SqliteDatabase, Layout, TenantId};
///
/// let layout = Layout::shared(SqliteDatabase::open_in_memory()?)?;
/// let jobs = Jobs::new(&layout)?;
/// let alice = TenantId::generate();
/// let id = jobs.enqueue(&alice, "export", r#"{"project": "cup-final"}"#)?;
/// assert_eq!(jobs.status(&alice, id)?.unwrap().state, JobState::Queued);
///
/// // A worker claims across tenants (audited), then works for the job's tenant.
/// let worker = Admin::new("export worker claims the next job");
/// let job = jobs.claim(&worker, Duration::from_secs(60))?.expect("one job is queued");
/// assert_eq!((job.tenant(), job.kind(), job.attempt()), (&alice, "export", 1));
/// jobs.heartbeat(&job, Duration::from_secs(60))?; // still at it: extend the lease
/// jobs.complete(job)?;
/// assert_eq!(jobs.status(&alice, id)?.unwrap().state, JobState::Done);
///
/// // Another tenant does not see Alice's job, and nothing is left to claim.
/// assert!(jobs.status(&TenantId::generate(), id)?.is_none());
/// assert!(jobs.claim(&worker, Duration::from_secs(60))?.is_none());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Jobs {
    db: SqliteDatabase,
    clock: Arc<dyn Clock>,
    backoff_base: Duration,
    backoff_max: Duration,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs")
            .field("backoff_base", &self.backoff_base)
            .field("backoff_max", &self.backoff_max)
            .finish_non_exhaustive()
    }
}

impl Jobs {
    /// The queue in `layout`'s shared database (in every layout: workers claim across
    /// tenants, and no cross-tenant statement spans tenant files). Creates its table
    /// `tenantry_jobs` and index if they are missing.
    pub fn new(layout: &Layout) -> Result<Self> {
        let db = layout.shared_database().clone();
        crate::migrate::library(&db, "tenantry.jobs", JOBS_SCHEMA)?;
        Ok(Jobs {
            db,
            clock: Arc::new(SystemClock),
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(3600),
        })
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How long a failed job waits before its next attempt: `base` after the first
    /// failure, doubling with each further one, at most `max` (default 10 s, at most 1 h).
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        (self.backoff_base, self.backoff_max) = (base, max);
        self
    }

    fn now(&self) -> i64 {
        unix_millis(self.clock.now())
    }

    /// The wait before the attempt after failed attempt `attempt` (from 1).
    fn retry_delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.backoff_base.checked_mul(1 << doublings).unwrap_or(Duration::MAX).min(self.backoff_max)
    }

    /// Enqueues a job for `tenant`, due now, with [`DEFAULT_MAX_ATTEMPTS`]; returns its id.
    pub fn enqueue(&self, tenant: &TenantId, kind: &str, payload: &str) -> Result<Uuid> {
        self.enqueue_with(tenant, NewJob::new(kind, payload))
    }

    /// Enqueues a job for `tenant` with options; returns its id. A chosen id the tenant
    /// already has is [`Error::Conflict`]; zero attempts or a nil id is
    /// [`Error::InvalidJob`].
    pub fn enqueue_with(&self, tenant: &TenantId, job: NewJob<'_>) -> Result<Uuid> {
        if job.max_attempts == 0 {
            return Err(Error::InvalidJob { why: "a job needs at least one attempt" });
        }
        let id = match job.id {
            Some(id) if id.is_nil() => return Err(Error::InvalidJob { why: "a job id must not be the nil UUID" }),
            Some(id) => id,
            None => random_id()?,
        };
        let now = self.now();
        let due = now.saturating_add(millis(job.delay));
        self.db.with_conn(|conn| {
            conn.prepare_cached(sql::ENQUEUE)?
                .execute(params![
                    AsciiText(tenant.text()),
                    uuid_text(&id),
                    job.kind,
                    job.payload,
                    job.max_attempts,
                    due,
                    now
                ])
                .map_err(|e| crate::db::exec::map_write_error(e, TABLE))
        })?;
        Ok(id)
    }

    /// The job `id` of `tenant`, or `None`. Another tenant's job with that id is `None`,
    /// exactly like a missing one.
    pub fn status(&self, tenant: &TenantId, id: Uuid) -> Result<Option<Job>> {
        self.db.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(sql::STATUS)?;
            let mut rows = stmt.query(params![AsciiText(tenant.text()), uuid_text(&id)])?;
            rows.next()?.map(|row| job_from(row, 0)).transpose()
        })
    }

    /// `tenant`'s jobs, newest first, at most `limit`.
    pub fn list(&self, tenant: &TenantId, limit: usize) -> Result<Vec<Job>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(sql::LIST)?;
            let mut rows = stmt.query(params![AsciiText(tenant.text()), limit])?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(job_from(row, 0)?);
            }
            Ok(out)
        })
    }

    /// Claims the next job of any tenant, under a lease of `lease` (more than zero).
    ///
    /// In one write transaction (`BEGIN IMMEDIATE`, so two workers never take the same
    /// job): jobs whose lease ended on their last attempt go to the dead letters; then of
    /// the queued jobs that are due and the running jobs whose lease ended (their worker
    /// crashed or hung), the one waiting longest (by due time, or lease end) is marked
    /// running, its attempts counted up, with a new lease and lease token. The old
    /// worker's token no longer matches, so its heartbeat, completion or failure is
    /// [`Error::LeaseLost`]. A row the queue cannot hand out (damaged outside tenantry)
    /// goes to the dead letters instead of blocking the queue.
    ///
    /// Returns the job with its tenant's `TenantId`. Audited through `admin` once per
    /// claim (an [`Operation`](AuditAction::Operation) and a
    /// [`MintTenant`](AuditAction::MintTenant)); a poll that finds nothing is no event
    /// (unless it buried jobs, which is an `Operation`).
    pub fn claim(&self, admin: &Admin, lease: Duration) -> Result<Option<ClaimedJob>> {
        let lease = lease_millis(lease)?;
        let token = random_token()?;
        let (buried, claimed) = self.db.write(|conn| {
            // Read once the write lock is held: a claim that waited for it still gets its
            // whole lease.
            let now = self.now();
            let lease_until = now.saturating_add(lease);
            let buried = conn.prepare_cached(sql::BURY_EXPIRED)?.execute(params![now, LEASE_ENDED])?;
            let next = |sql: &str| -> Result<Option<(i64, i64)>> {
                Ok(conn.prepare_cached(sql)?.query_row([now], |r| Ok((r.get(0)?, r.get(1)?))).optional()?)
            };
            loop {
                let seq = match (next(sql::NEXT_EXPIRED)?, next(sql::NEXT_READY)?) {
                    (None, None) => return Ok((buried, None)),
                    (Some((seq, _)), None) | (None, Some((seq, _))) => seq,
                    (Some((lost, ended)), Some((ready, due))) => {
                        if ended <= due {
                            lost
                        } else {
                            ready
                        }
                    }
                };
                let mut stmt = conn.prepare_cached(sql::TAKE)?;
                let taken = stmt.query_row(params![now, lease_until, token, seq], |r| {
                    Ok((
                        text(r, 0)?.and_then(|t| parse_canonical_uuid(t.as_bytes())),
                        text(r, 1)?.and_then(|t| parse_canonical_uuid(t.as_bytes())),
                        text(r, 2)?,
                        text(r, 3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                })?;
                if let (Some(tenant), Some(id), Some(kind), Some(payload), attempt, max_attempts) = taken {
                    let job = ClaimedJob {
                        tenant: TenantId::from_trusted(tenant),
                        id,
                        kind,
                        payload,
                        attempt: count(attempt),
                        max_attempts: count(max_attempts),
                        token,
                    };
                    return Ok((buried, Some(job)));
                }
                conn.prepare_cached(sql::BURY_ONE)?.execute(params![now, BAD_ROW, seq])?;
            }
        })?;
        let tag = admin.tag();
        if buried > 0 {
            tag.fire(AuditAction::Operation { name: "move jobs whose last lease ended to the dead letters" });
        }
        if let Some(job) = &claimed {
            tag.fire(AuditAction::Operation { name: "claim the next job across tenants" });
            tag.fire(AuditAction::MintTenant { tenant: job.tenant.as_uuid() });
        }
        Ok(claimed)
    }

    /// Extends the claim's lease to `lease` from now, if the claim still holds it (even
    /// past its end, as long as no other claim took the job); else [`Error::LeaseLost`].
    pub fn heartbeat(&self, job: &ClaimedJob, lease: Duration) -> Result<()> {
        let now = self.now();
        let until = now.saturating_add(lease_millis(lease)?);
        let changed = self.db.with_conn(|conn| {
            Ok(conn.prepare_cached(sql::HEARTBEAT)?.execute(params![
                until,
                now,
                AsciiText(job.tenant.text()),
                uuid_text(&job.id),
                job.token
            ])?)
        })?;
        if changed == 0 { Err(Error::LeaseLost) } else { Ok(()) }
    }

    /// Marks the job done, if its claim still holds the lease; else [`Error::LeaseLost`]
    /// (another claim has the job, or it was requeued or deleted) and nothing changes.
    ///
    /// On any error the claim is gone and the job stays running until its lease ends, when
    /// it is claimed again.
    pub fn complete(&self, job: ClaimedJob) -> Result<()> {
        self.complete_with(job, |_, _| Ok(()))
    }

    /// Marks the job done and runs `work` in the same write transaction on the shared
    /// database: `work`'s writes commit if and only if the job becomes done, so they
    /// happen exactly once however often the job is claimed. If the claim no longer
    /// holds the lease, `work` does not run and the result is [`Error::LeaseLost`]; if
    /// `work` fails, nothing is written and its error is returned (the job stays running
    /// until its lease ends, and is then claimed again).
    ///
    /// The transaction is the shared database's: write there the tables it holds (layout
    /// A, or those listed in [`shared_tables`](crate::LayoutBuilder::shared_tables)), not
    /// tables that live in the tenant's own file.
    pub fn complete_with<R>(
        &self,
        job: ClaimedJob,
        work: impl FnOnce(&SqliteTransaction<'_>, &ClaimedJob) -> Result<R>,
    ) -> Result<R> {
        let tx = self.db.begin()?;
        let now = self.now();
        let done = tx.execute(
            job.statement(sql::COMPLETE)
                .bind(now)
                .bind(Value::Uuid(job.tenant.as_uuid()))
                .bind(Value::Uuid(job.id))
                .bind(job.token),
        )?;
        if done == 0 {
            return Err(Error::LeaseLost);
        }
        let out = work(&tx, &job)?;
        tx.commit()?;
        Ok(out)
    }

    /// Records that the attempt failed with `error` (kept as the job's `last_error`), if
    /// the claim still holds the lease; else [`Error::LeaseLost`]. The job is queued again
    /// after the [backoff](Jobs::backoff), or, on its last attempt, is dead. Returns the
    /// job's new state.
    pub fn fail(&self, job: ClaimedJob, error: &str) -> Result<JobState> {
        let now = self.now();
        let (state, due) = if job.attempt >= job.max_attempts {
            (JobState::Dead, now)
        } else {
            (JobState::Queued, now.saturating_add(millis(self.retry_delay(job.attempt))))
        };
        let changed = self.db.with_conn(|conn| {
            Ok(conn.prepare_cached(sql::FAIL)?.execute(params![
                state.as_str(),
                due,
                error,
                now,
                AsciiText(job.tenant.text()),
                uuid_text(&job.id),
                job.token
            ])?)
        })?;
        if changed == 0 { Err(Error::LeaseLost) } else { Ok(state) }
    }

    /// The dead letters of every tenant, oldest enqueued first, at most `limit`, each
    /// with its tenant. Audited through `admin`: an [`Operation`](AuditAction::Operation),
    /// and a [`MintTenant`](AuditAction::MintTenant) per job returned.
    pub fn dead(&self, admin: &Admin, limit: usize) -> Result<Vec<(TenantId, Job)>> {
        admin.tag().fire(AuditAction::Operation { name: "list dead jobs across tenants" });
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let dead =
            self.db.with_conn(|conn| {
                let mut stmt = conn.prepare_cached(sql::DEAD)?;
                let mut rows = stmt.query([limit])?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    let tenant = text(row, 0)?
                        .and_then(|t| parse_canonical_uuid(t.as_bytes()))
                        .ok_or(Error::Decode { table: TABLE, column: "tenant", expected: "canonical UUID" })?;
                    out.push((TenantId::from_trusted(tenant), job_from(row, 1)?));
                }
                Ok(out)
            })?;
        for (tenant, _) in &dead {
            admin.tag().fire(AuditAction::MintTenant { tenant: tenant.as_uuid() });
        }
        Ok(dead)
    }

    /// Queues dead job `id` of `tenant` again, due now, with a fresh set of attempts (its
    /// `last_error` is kept). Returns whether a dead job was requeued: `false` for a job
    /// that is not dead, missing, or another tenant's. Audited through `admin` as an
    /// [`Operation`](AuditAction::Operation).
    pub fn requeue(&self, admin: &Admin, tenant: &TenantId, id: Uuid) -> Result<bool> {
        admin.tag().fire(AuditAction::Operation { name: "requeue a dead job" });
        let now = self.now();
        let changed = self.db.with_conn(|conn| {
            Ok(conn.prepare_cached(sql::REQUEUE)?.execute(params![now, AsciiText(tenant.text()), uuid_text(&id)])?)
        })?;
        Ok(changed > 0)
    }

    /// Deletes the done jobs of every tenant that finished at least `older_than` ago;
    /// returns how many. Audited through `admin` as an [`Operation`](AuditAction::Operation).
    pub fn purge_done(&self, admin: &Admin, older_than: Duration) -> Result<usize> {
        admin.tag().fire(AuditAction::Operation { name: "purge finished jobs across tenants" });
        let before = self.now().saturating_sub(millis(older_than));
        self.db.write(|conn| Ok(conn.prepare_cached(sql::PURGE_DONE)?.execute([before])?))
    }

    /// Deletes every job of `tenant`, in any state (a running job's worker then gets
    /// [`Error::LeaseLost`]); returns how many. [`Layout::delete_tenant`] does not reach
    /// the queue's table: call this beside it.
    pub fn delete_tenant_jobs(&self, tenant: &TenantId) -> Result<usize> {
        self.db.write(|conn| crate::tablesql::delete_tenant_jobs(conn, tenant))
    }
}

/// Column `i` as text, or `None` if it holds another type.
fn text(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<String>> {
    Ok(match row.get_ref(i)? {
        ValueRef::Text(t) => std::str::from_utf8(t).ok().map(str::to_owned),
        _ => None,
    })
}

/// A [`Job`] from the columns of `job_columns!`, starting at column `at`.
fn job_from(row: &Row<'_>, at: usize) -> Result<Job> {
    let bad = |column, expected| Error::Decode { table: TABLE, column, expected };
    let id = text(row, at)?.and_then(|t| parse_canonical_uuid(t.as_bytes())).ok_or(bad("id", "canonical UUID"))?;
    let state = text(row, at + 3)?.and_then(|t| JobState::parse(&t)).ok_or(bad("state", "job state"))?;
    Ok(Job {
        id,
        kind: text(row, at + 1)?.ok_or(bad("kind", "text"))?,
        payload: text(row, at + 2)?.ok_or(bad("payload", "text"))?,
        state,
        attempts: count(row.get(at + 4)?),
        max_attempts: count(row.get(at + 5)?),
        run_after: time_of(row.get(at + 6)?),
        lease_until: row.get::<_, Option<i64>>(at + 7)?.map(time_of),
        last_error: text(row, at + 8)?,
        created_at: time_of(row.get(at + 9)?),
        updated_at: time_of(row.get(at + 10)?),
    })
}

fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

fn uuid_text(id: &Uuid) -> String {
    id.hyphenated().to_string()
}

fn unix_millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map_or(0, millis)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn time_of(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// A lease in whole milliseconds, rounded up; a zero lease is refused.
fn lease_millis(lease: Duration) -> Result<i64> {
    if lease.is_zero() {
        return Err(Error::InvalidJob { why: "a lease must be longer than zero" });
    }
    Ok(i64::try_from(lease.as_nanos().div_ceil(1_000_000)).unwrap_or(i64::MAX))
}

/// A random version 4 id; the OS random source failing is [`Error::Randomness`], not a
/// panic.
fn random_id() -> Result<Uuid> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| Error::Randomness)?;
    Ok(uuid::Builder::from_random_bytes(bytes).into_uuid())
}

/// A random lease token: names one claim of a job.
fn random_token() -> Result<i64> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|_| Error::Randomness)?;
    Ok(i64::from_le_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The claim's lookups search the index that leads with the state: never a scan of
    /// every tenant's jobs, and the queued lookup needs no sort.
    #[test]
    fn the_claim_searches_its_index() {
        let layout = Layout::shared(SqliteDatabase::open_in_memory().unwrap()).unwrap();
        let jobs = Jobs::new(&layout).unwrap();
        for _ in 0..20 {
            let t = TenantId::generate();
            for n in 0..50 {
                jobs.enqueue(&t, "export", &format!("{n}")).unwrap();
            }
        }
        jobs.db
            .with_conn(|conn| {
                conn.execute_batch("ANALYZE")?;
                for query in sql::CLAIM_QUERIES {
                    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {query}"))?;
                    let plan: Vec<String> = stmt.query_map([0i64], |r| r.get(3))?.collect::<rusqlite::Result<_>>()?;
                    assert!(plan.iter().any(|p| p.contains("INDEX tenantry_jobs_claim (state=?")), "{plan:?}");
                    assert!(!plan.iter().any(|p| p.starts_with("SCAN")), "{plan:?}");
                    if query == sql::NEXT_READY {
                        assert!(!plan.iter().any(|p| p.contains("TEMP B-TREE")), "{plan:?}");
                    }
                }
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let layout = Layout::shared(SqliteDatabase::open_in_memory().unwrap()).unwrap();
        let jobs = Jobs::new(&layout).unwrap().backoff(Duration::from_secs(10), Duration::from_secs(60));
        let waits: Vec<u64> = (1..=6).map(|a| jobs.retry_delay(a).as_secs()).collect();
        assert_eq!(waits, [10, 20, 40, 60, 60, 60]);
        assert_eq!(jobs.retry_delay(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn leases_round_up_to_a_millisecond_and_zero_is_refused() {
        assert_eq!(lease_millis(Duration::from_micros(1)).unwrap(), 1);
        assert_eq!(lease_millis(Duration::from_millis(1500)).unwrap(), 1500);
        assert_eq!(lease_millis(Duration::MAX).unwrap(), i64::MAX);
        assert!(matches!(lease_millis(Duration::ZERO), Err(Error::InvalidJob { .. })));
    }
}
