//! Versioned, checksummed schema migrations: one runner for the shared database, every
//! tenant's file, the PostgreSQL schema, and tenantry's own tables.
//!
//! Each database records what it has applied in `tenantry_schema_migrations`, one row per
//! scope and version with the SHA-256 of the migration's SQL. Each migration runs in a
//! transaction of its own together with its record, so a process killed half-way leaves
//! it applied or not, never half, and a rerun goes on from there. The transaction takes
//! the database's write lock (SQLite's `BEGIN IMMEDIATE`, a PostgreSQL advisory lock)
//! and reads the records again under it, so when two processes start at once the loser
//! waits, finds the migration recorded, and skips it. A recorded migration whose SQL has
//! changed since is refused ([`Error::MigrationEdited`]): a released migration is never
//! edited, a new one is added.
//!
//! Version 1 of the application's scopes is the creation of the declared tables: a new
//! database gets the tables of the current declarations. A migration registered with
//! [`Migrations::upgrade`] (a change the declarations already include, or a fix of old
//! data) is recorded on a new database without running; one registered with
//! [`Migrations::add`] runs on every database, new ones too. A database
//! whose tables predate the records gets version 1 recorded and then every migration, in
//! order; declared tables it still lacks are created last.

use std::time::{Duration, Instant};

use rusqlite::Connection;
use sha2::{Digest, Sha256};

use crate::db::SqliteDatabase;
use crate::error::{Error, Result};
use crate::schema::TableInfo;
use crate::tenant::{Admin, AuditAction, AuditTag};

/// Where each database records what it has applied.
pub(crate) const RECORDS_DDL: &str = "CREATE TABLE IF NOT EXISTS tenantry_schema_migrations (
    scope TEXT NOT NULL,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (scope, version)
)";

/// The scope of the application's migrations of the shared database (and PostgreSQL).
pub(crate) const APP: &str = "app";
/// The scope of the per-tenant migrations, in each tenant's own file.
pub(crate) const TENANT: &str = "tenant";

/// The application's schema migrations, after version 1 (the creation of the declared
/// tables), each registered once with its version, a name for reports and its SQL.
///
/// Two kinds: [`upgrade`](Self::upgrade) brings a database made before it up to date: a
/// change the declarations already include (the column of a field you added, a declared
/// index) or a fix of old data. A new database, made from the current declarations with
/// no old data, records it without running it. [`add`](Self::add) is for what the
/// declarations do not describe (an undeclared table or index, a trigger, seed rows): it
/// runs on every database, new ones too, so write it against the tables as declared now.
///
/// On PostgreSQL each migration runs as the body of a PL/pgSQL block (so it cannot end its
/// transaction): a `SELECT` whose result is not used is written `PERFORM`, an
/// `INSERT .. RETURNING` needs `INTO`, and what cannot run in a transaction
/// (`CREATE INDEX CONCURRENTLY`, `VACUUM`) cannot be a migration.
///
/// Migration SQL runs without a tenant scope, so registering it takes an [`Admin`]; each
/// time one runs, the audit hook sees its SQL
/// ([`AuditAction::Unscoped`]). After each one, every declared owned table must still
/// have its tenant column leading its keys, or it rolls back.
///
/// ```
/// # fn main() -> tenantry::Result<()> {
/// use tenantry::{Admin, SqliteDatabase, Migrations};
/// let admin = Admin::new("schema migrations");
/// let migrations = Migrations::new(&admin)
///     .add(2, "audit log", "CREATE TABLE audit_log (at TEXT NOT NULL, what TEXT NOT NULL)")
///     .add(3, "audit log index", "CREATE INDEX audit_log_at ON audit_log (at)");
/// let db = SqliteDatabase::open_in_memory()?;
/// // A new database: the declared tables are created, then both migrations run.
/// let report = db.migrate(&migrations)?;
/// assert!(report.created);
/// assert_eq!(report.applied.len(), 2);
/// // Nothing left to do.
/// assert!(db.migrate(&migrations)?.applied.is_empty());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Migrations {
    pub(crate) steps: Vec<Step>,
    pub(crate) tag: AuditTag,
    /// Set by [`add`](Self::add) on a version below 2 or given twice; refused when run.
    invalid: bool,
    grant: Option<&'static str>,
}

impl std::fmt::Debug for Migrations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.steps.iter().map(|s| (s.version, s.name))).finish()
    }
}

/// One registered migration.
#[derive(Clone, Copy)]
pub(crate) struct Step {
    pub(crate) version: u32,
    pub(crate) name: &'static str,
    pub(crate) sql: &'static str,
    /// The declarations include its effect: a new database records it without running it.
    pub(crate) declared: bool,
}

impl Step {
    pub(crate) fn checksum(&self) -> String {
        crate::hex::encode(&Sha256::digest(self.sql.as_bytes()))
    }
}

/// One migration, in a [`MigrationReport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MigrationStep {
    /// Its version.
    pub version: u32,
    /// Its name.
    pub name: &'static str,
}

/// What a migration run did (or, for a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MigrationReport {
    /// A new database: its declared tables were created, and the registered migrations
    /// recorded without running.
    pub created: bool,
    /// The migrations run, in order.
    pub applied: Vec<MigrationStep>,
}

impl Migrations {
    /// No migrations yet: a database gets the tables of the declarations (version 1).
    pub fn new(admin: &Admin) -> Self {
        Migrations { steps: Vec::new(), tag: admin.tag(), invalid: false, grant: None }
    }

    /// No migrations, registered by nobody (there is nothing to audit).
    pub(crate) fn none() -> Self {
        Migrations { steps: Vec::new(), tag: AuditTag::library(), invalid: false, grant: None }
    }

    /// Registers migration `version`, run on every database, new ones too (an undeclared
    /// table or index, a trigger, a data fix). Versions are 2 and up (to 2³¹ - 1), each
    /// once, run in order; anything else makes every run fail with
    /// [`Error::InvalidMigrations`].
    pub fn add(self, version: u32, name: &'static str, sql: &'static str) -> Self {
        self.push(Step { version, name, sql, declared: false })
    }

    /// Registers migration `version` for databases made before it: a change the
    /// declarations already include (the column of a field you added, a declared index) or
    /// a fix of old data. A new database, whose tables are created from the current
    /// declarations, records it without running it.
    pub fn upgrade(self, version: u32, name: &'static str, sql: &'static str) -> Self {
        self.push(Step { version, name, sql, declared: true })
    }

    fn push(mut self, step: Step) -> Self {
        let version = step.version;
        // The delimiter of the PL/pgSQL block a migration runs in on PostgreSQL.
        let delimiter = step.sql.contains("$tenantry_migration$");
        if !(2..=i32::MAX as u32).contains(&version) || self.steps.iter().any(|s| s.version == version) || delimiter {
            self.invalid = true;
        }
        let at = self.steps.partition_point(|s| s.version < version);
        self.steps.insert(at, step);
        self
    }

    /// On PostgreSQL, grants `role` (the application's login role) `SELECT, INSERT,
    /// UPDATE, DELETE` on every declared table after each run, so a table a migration or
    /// version 1 creates is usable at once.
    pub fn postgres_grant(mut self, role: &'static str) -> Self {
        self.grant = Some(role);
        self
    }

    /// The newest version: the one a database is at when every migration is applied.
    pub fn latest(&self) -> u32 {
        self.steps.last().map_or(1, |s| s.version.max(1))
    }

    pub(crate) fn checked(&self) -> Result<&[Step]> {
        if self.invalid { Err(Error::InvalidMigrations) } else { Ok(&self.steps) }
    }

    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn grant(&self) -> Option<&'static str> {
        self.grant
    }
}

/// What a database has recorded, and the version an older build left in its own way
/// (`PRAGMA user_version` in a tenant file, the account tables' first records table).
pub(crate) struct Recorded {
    pub(crate) applied: Vec<(u32, String)>,
    pub(crate) legacy: u32,
}

/// What comes next for a database.
pub(crate) enum Next<'s> {
    /// An older build's version, adopted: record version 1 and every step up to it.
    Adopt(u32),
    /// Version 1: create the declared tables.
    Baseline,
    Apply(&'s Step),
    Done,
}

/// One scope of migrations and how it starts.
pub(crate) struct Runner<'a> {
    pub(crate) scope: &'static str,
    pub(crate) steps: &'a [Step],
    pub(crate) tag: AuditTag,
    /// Version 1 creates these tables from their declarations (`None`: the steps start at 1).
    pub(crate) baseline: Option<&'a [&'static TableInfo]>,
    /// Tenant files mirror their version in `PRAGMA user_version`, read on every open.
    pub(crate) user_version: bool,
    /// Where an older build recorded its version, if anywhere.
    pub(crate) legacy: Option<fn(&Connection) -> Result<u32>>,
}

impl<'a> Runner<'a> {
    /// The application's scope of a database (SQLite's shared one, or PostgreSQL's):
    /// version 1 is every declared table.
    pub(crate) fn app(migrations: &'a Migrations, tables: &'a [&'static TableInfo]) -> Result<Self> {
        Ok(Runner {
            scope: APP,
            steps: migrations.checked()?,
            tag: migrations.tag,
            baseline: Some(tables),
            user_version: false,
            legacy: None,
        })
    }

    /// Decides what comes next from what the database recorded; refuses a recorded
    /// migration this build does not know, or whose SQL changed.
    pub(crate) fn next(&self, recorded: &Recorded) -> Result<Next<'_>> {
        let (scope, baseline) = (self.scope, self.baseline.is_some());
        for (version, checksum) in &recorded.applied {
            if *version == 1 && baseline {
                continue;
            }
            match self.steps.iter().find(|s| s.version == *version) {
                None => return Err(Error::SchemaNewer { scope, version: *version }),
                Some(step) if step.checksum() != *checksum => {
                    return Err(Error::MigrationEdited { scope, version: *version, name: step.name });
                }
                Some(_) => {}
            }
        }
        if recorded.applied.is_empty() && recorded.legacy > 0 {
            return Ok(Next::Adopt(recorded.legacy));
        }
        if baseline && !recorded.applied.iter().any(|(v, _)| *v == 1) {
            return Ok(Next::Baseline);
        }
        let pending = self.steps.iter().find(|s| !recorded.applied.iter().any(|(v, _)| *v == s.version));
        // Only migrations that ran count: a new database records the `upgrade` ones
        // without running them, ahead of `add` ones registered before them.
        let ran = |v: u32| !self.steps.iter().any(|s| s.version == v && s.declared);
        let latest = recorded.applied.iter().map(|(v, _)| *v).filter(|v| ran(*v)).max().unwrap_or(0);
        match pending {
            // Registered below one already applied: databases migrated since would never
            // get it (a tenant file at the latest version is not looked at again).
            Some(step) if step.version < latest => {
                Err(Error::MigrationOutOfOrder { scope, version: step.version, latest })
            }
            Some(step) => Ok(Next::Apply(step)),
            None => Ok(Next::Done),
        }
    }

    /// The steps a database at `recorded` still lacks, and whether it would be created
    /// (a dry run: nothing is written).
    pub(crate) fn pending(&self, recorded: &Recorded, fresh: bool) -> Result<MigrationReport> {
        self.next(recorded)?;
        let adopted = if recorded.applied.is_empty() { recorded.legacy } else { 0 };
        let created = self.baseline.is_some() && fresh && adopted == 0 && recorded.applied.is_empty();
        let applied = self
            .steps
            .iter()
            .filter(|s| !(created && s.declared))
            .filter(|s| s.version > adopted && !recorded.applied.iter().any(|(v, _)| *v == s.version))
            .map(|s| MigrationStep { version: s.version, name: s.name })
            .collect();
        Ok(MigrationReport { created, applied })
    }

    /// Runs every pending step on a SQLite database, each in a write transaction of its
    /// own; with `dry_run`, reports what would run and writes nothing.
    pub(crate) fn run(&self, db: &SqliteDatabase, dry_run: bool) -> Result<MigrationReport> {
        let fail = |step: Option<&Step>, e: Error| match (step, e) {
            (_, e @ (Error::MigrationEdited { .. } | Error::SchemaNewer { .. })) => e,
            (Some(s), e) => {
                Error::MigrationFailed { scope: self.scope, version: s.version, name: s.name, source: Box::new(e) }
            }
            (None, e) => e,
        };
        // Read first, outside a write transaction: an up-to-date database takes no lock.
        let recorded = db.with_conn(|c| self.read(c))?;
        if dry_run {
            let fresh = db.with_conn(|c| self.fresh(c))?;
            return self.pending(&recorded, fresh);
        }
        if matches!(self.next(&recorded)?, Next::Done) && !self.lacks_tables(db)? {
            return Ok(MigrationReport::default());
        }
        let mut report = MigrationReport::default();
        // A connection of its own, closed afterwards: what a migration leaves on its
        // connection (a temporary table shadowing a real one, a pragma) never reaches the
        // pool. Foreign keys are off while it runs, as SQLite's procedure for schema
        // changes says (a table rebuilt with DROP TABLE would cascade), and checked before
        // each commit.
        //
        // Not for a tenant file: SQLite keeps a closed connection's descriptor open while
        // another connection of the process uses the file, one more per cached tenant.
        // There the pooled connection runs it and gets its foreign keys back after.
        let own = if self.user_version { None } else { db.watch_connection()? };
        if let Some(conn) = &own {
            conn.execute_batch("PRAGMA foreign_keys = OFF")?;
        }
        let on_conn = |f: &mut dyn FnMut(&Connection) -> Result<bool>| match &own {
            Some(conn) => f(conn),
            None => db.with_conn(|conn| {
                conn.execute_batch("PRAGMA foreign_keys = OFF")?;
                let result = f(conn);
                conn.execute_batch("PRAGMA foreign_keys = ON")?;
                result
            }),
        };
        loop {
            let mut current = None;
            let done = on_conn(&mut |conn| {
                immediate(conn, |conn| {
                    conn.execute_batch(RECORDS_DDL)?;
                    let recorded = self.read(conn)?;
                    match self.next(&recorded)? {
                        Next::Done => {
                            // Declared tables the database still lacks (a table
                            // declared since), created from their declarations; not in
                            // a tenant file a move retired (its tables renamed).
                            if crate::tablesql::is_retired(conn)? {
                                return Ok(true);
                            }
                            for info in self.baseline.unwrap_or_default() {
                                if !crate::tablesql::table_exists(conn, info.name)? {
                                    for sql in info.sqlite_ddl() {
                                        conn.execute_batch(&sql)?;
                                    }
                                }
                            }
                            return Ok(true);
                        }
                        Next::Adopt(legacy) => self.adopt(conn, legacy)?,
                        Next::Baseline => report.created = self.baseline(conn)?,
                        Next::Apply(step) => {
                            current = Some(*step);
                            self.tag.fire(AuditAction::Unscoped { sql: step.sql });
                            run_step(conn, step.sql)?;
                            record(conn, self.scope, step.version, step.name, &step.checksum())?;
                            report.applied.push(MigrationStep { version: step.version, name: step.name });
                        }
                    }
                    // A migration may have rebuilt a table: what the declarations say
                    // about each tenant column must still hold, and every foreign key
                    // still point at a row, or it rolls back.
                    crate::tablesql::verify_live(conn)?;
                    // tenantry's own migrations do not touch foreign keys.
                    check_after_step(conn, !self.scope.starts_with("tenantry."))?;
                    if self.user_version {
                        let version = self.contiguous(&self.read(conn)?);
                        conn.execute_batch(&format!("PRAGMA user_version = {version}"))?;
                    }
                    Ok(false)
                })
            })
            .map_err(|e| fail(current.as_ref(), e))?;
            if done {
                return Ok(report);
            }
        }
    }

    /// The highest version up to which every step is recorded.
    fn contiguous(&self, recorded: &Recorded) -> u32 {
        let has = |v: u32| recorded.applied.iter().any(|(a, _)| *a == v);
        let mut version = if self.baseline.is_none() || has(1) { 1 } else { 0 };
        for step in self.steps {
            if !has(step.version) {
                break;
            }
            version = step.version;
        }
        version
    }

    pub(crate) fn read(&self, conn: &Connection) -> Result<Recorded> {
        let legacy = match self.legacy {
            Some(read) => read(conn)?,
            None => 0,
        };
        if !crate::tablesql::table_exists(conn, "tenantry_schema_migrations")? {
            return Ok(Recorded { applied: Vec::new(), legacy });
        }
        let mut stmt =
            conn.prepare_cached("SELECT version, checksum FROM tenantry_schema_migrations WHERE scope = ?1")?;
        let applied = stmt.query_map([self.scope], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        Ok(Recorded { applied, legacy })
    }

    /// Some declared table is missing (declared since the database was made).
    fn lacks_tables(&self, db: &SqliteDatabase) -> Result<bool> {
        db.with_conn(|conn| {
            if crate::tablesql::is_retired(conn)? {
                return Ok(false);
            }
            for info in self.baseline.unwrap_or_default() {
                if !crate::tablesql::table_exists(conn, info.name)? {
                    return Ok(true);
                }
            }
            Ok(false)
        })
    }

    /// None of the baseline's tables exists yet.
    fn fresh(&self, conn: &Connection) -> Result<bool> {
        for info in self.baseline.unwrap_or_default() {
            if crate::tablesql::table_exists(conn, info.name)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn adopt(&self, conn: &Connection, legacy: u32) -> Result<()> {
        if self.baseline.is_some() {
            record(conn, self.scope, 1, "declared tables", "")?;
        }
        for step in self.steps.iter().filter(|s| s.version <= legacy) {
            record(conn, self.scope, step.version, step.name, &step.checksum())?;
        }
        Ok(())
    }

    /// Version 1. A new database gets every declared table, and the migrations the
    /// declarations include are recorded; an older one has its tables already (those it
    /// lacks are created once its migrations ran). Returns whether the database was new.
    fn baseline(&self, conn: &Connection) -> Result<bool> {
        let fresh = self.fresh(conn)?;
        record(conn, self.scope, 1, "declared tables", "")?;
        if fresh {
            for info in self.baseline.unwrap_or_default() {
                for sql in info.sqlite_ddl() {
                    conn.execute_batch(&sql)?;
                }
            }
            for step in self.steps.iter().filter(|s| s.declared) {
                record(conn, self.scope, step.version, step.name, &step.checksum())?;
            }
        }
        Ok(fresh)
    }
}

/// What a migration must leave behind: no temporary table, view or trigger (it would
/// shadow the real one on this connection, and writes to it would be lost), and, with
/// `foreign_keys`, no row of a table that declares a foreign key pointing at no row (the
/// migration ran with foreign keys off, as SQLite's procedure for rebuilding a table
/// says; only tables that declare one are scanned).
fn check_after_step(conn: &Connection, foreign_keys: bool) -> Result<()> {
    if conn.prepare("SELECT 1 FROM sqlite_temp_master")?.exists([])? {
        return Err(Error::SchemaMismatch {
            table: "(temporary objects)",
            why: "a migration left a temporary table, view or trigger, which would shadow the real one",
        });
    }
    if !foreign_keys {
        return Ok(());
    }
    let children: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL \
             AND lower(sql) LIKE '%references%'",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for child in children {
        let check = format!("PRAGMA foreign_key_check({})", crate::schema::ident(&child));
        if conn.prepare(&check)?.exists([])? {
            return Err(Error::SchemaMismatch {
                table: "(foreign keys)",
                why: "after the migration, a row's foreign key points at no row",
            });
        }
    }
    Ok(())
}

thread_local! {
    /// Set while this thread runs a migration's SQL: the connection's authorizer then
    /// refuses transaction control, so the SQL cannot commit part of itself.
    static RUNNING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread is running a migration's SQL.
pub(crate) fn running() -> bool {
    RUNNING.get()
}

fn run_step(conn: &Connection, sql: &str) -> Result<()> {
    RUNNING.set(true);
    let result = conn.execute_batch(sql);
    RUNNING.set(false);
    Ok(result?)
}

fn record(conn: &Connection, scope: &str, version: u32, name: &str, checksum: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO tenantry_schema_migrations (scope, version, name, checksum, applied_at)
         VALUES (?1, ?2, ?3, ?4, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
    )?
    .execute(rusqlite::params![scope, version, name, checksum])?;
    Ok(())
}

/// How long a migration waits for another process's migration to finish.
const LOCK_WAIT: Duration = Duration::from_secs(600);

/// `f` in a `BEGIN IMMEDIATE` transaction, waiting for the write lock past the busy
/// timeout while another process holds it (a migration can take minutes).
fn immediate<R>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
    let start = Instant::now();
    loop {
        match conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => break,
            Err(e)
                if matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy))
                    && start.elapsed() < LOCK_WAIT => {}
            Err(e) => return Err(e.into()),
        }
    }
    match f(conn) {
        Ok(v) => {
            conn.execute_batch("COMMIT")?;
            Ok(v)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Brings one of tenantry's own tables (the job queue, the tenant locations) to `steps`,
/// under its own scope in the records: the same runner as the application's.
pub(crate) fn library(db: &SqliteDatabase, scope: &'static str, steps: &[Step]) -> Result<()> {
    let runner = Runner { scope, steps, tag: AuditTag::library(), baseline: None, user_version: false, legacy: None };
    runner.run(db, false).map(drop)
}

/// A tenant file's version as older builds kept it.
pub(crate) fn user_version(conn: &Connection) -> Result<u32> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

impl SqliteDatabase {
    /// Brings this database to the newest of `migrations`, each migration in a
    /// transaction of its own (see [`Migrations`]). A new database gets the declared
    /// tables ([`tables`](crate::tables)) and records every migration as applied.
    ///
    /// Safe to run from several processes at once (each migration runs once), and after a
    /// crash (a rerun goes on where the last one stopped). Refuses an applied migration
    /// whose SQL changed ([`Error::MigrationEdited`]) and a database a newer build
    /// migrated ([`Error::SchemaNewer`]); a failing migration is
    /// [`Error::MigrationFailed`], rolled back, with the ones before it kept.
    pub fn migrate(&self, migrations: &Migrations) -> Result<MigrationReport> {
        self.app_runner(migrations, |runner| runner.run(self, false))
    }

    /// What [`migrate`](Self::migrate) would do, without doing it.
    pub fn pending_migrations(&self, migrations: &Migrations) -> Result<MigrationReport> {
        self.app_runner(migrations, |runner| runner.run(self, true))
    }

    fn app_runner<R>(&self, migrations: &Migrations, f: impl FnOnce(&Runner<'_>) -> Result<R>) -> Result<R> {
        let tables: Vec<&'static TableInfo> = crate::tables().collect();
        f(&Runner::app(migrations, &tables)?)
    }
}
