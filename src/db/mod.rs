//! The executor: a pool of rusqlite connections, transactions, and the fetch/execute API.

pub(crate) mod exec;
pub(crate) mod late;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rusqlite::config::DbConfig;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};
use crate::query::write::RawSql;
use crate::query::{Execute, Fetch, run};
use crate::schema::Table;

/// How a [`SqliteDatabase`] opens and pools its connections.
///
/// ```
/// use std::time::Duration;
/// let dir = std::env::temp_dir().join(format!("tenantry-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let db = tenantry::SqliteDatabase::builder(dir.join("app.db"))
///     .max_connections(4)
///     .busy_timeout(Duration::from_secs(10))
///     .open()
///     .unwrap();
/// # drop(db); std::fs::remove_dir_all(dir).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SqliteDatabaseBuilder {
    target: Target,
    max_connections: usize,
    busy_timeout: Duration,
    acquire_timeout: Duration,
    statement_cache: usize,
    stable_plans: bool,
    /// `None`: not compared (tenantry's own opens of tenant files, which the per-tenant
    /// migrations bring up to date after opening).
    on_drift: Option<OnDrift>,
    /// Run by [`open`](Self::open) before the drift check.
    migrations: Option<crate::Migrations>,
    /// Whether a missing file is created (tenantry's fleet runs open only what exists).
    create: bool,
    /// A layout's tenant file: the `-wal` and `-shm` files kept when the last connection
    /// closes, and the tenant columns checked by the layout (see [`Self::tenant_file`]).
    tenant_file: bool,
}

/// What opening a database does when a declared table in it differs from its
/// declaration ([`SqliteDatabase::schema_drift`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnDrift {
    /// Refuse to open: [`Error::SchemaDrift`] lists every difference (the default).
    #[default]
    Refuse,
    /// Open anyway and print each difference to standard error as a warning; statements
    /// on a drifted table may fail.
    Warn,
}

#[derive(Debug, Clone)]
enum Target {
    File(PathBuf),
    Memory,
}

impl SqliteDatabaseBuilder {
    /// Most connections open at once (default 8; an in-memory database always uses 1).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long a statement waits for another connection's write lock before failing
    /// with [`Error::Busy`] (default 5 s). The inserts, updates, deletes and
    /// transactions of one `SqliteDatabase` of several connections take turns in the
    /// process first (each woken as soon as the write before it ends; a wait bounded by
    /// the acquire timeout plus this one, what a write could wait for a connection and
    /// the lock); SQLite's own lock, polled by its busy handler, is then met by other
    /// processes, other handles of the file and tenantry's own bookkeeping writes.
    pub fn busy_timeout(mut self, d: Duration) -> Self {
        self.busy_timeout = d;
        self
    }

    /// How long a call waits for a free pooled connection (default 30 s).
    pub fn acquire_timeout(mut self, d: Duration) -> Self {
        self.acquire_timeout = d;
        self
    }

    /// Prepared statements kept per connection (default 256: one per statement shape).
    pub fn statement_cache(mut self, n: usize) -> Self {
        self.statement_cache = n;
        self
    }

    /// Turns SQLite's query-planner stability guarantee (`SQLITE_DBCONFIG_ENABLE_QPSG`) on
    /// or off (default on): with it, a cached statement keeps its plan instead of being
    /// re-prepared when a bound `LIMIT` or range value changes.
    pub fn stable_plans(mut self, on: bool) -> Self {
        self.stable_plans = on;
        self
    }

    /// What to do when a declared table in the database differs from its declaration
    /// (default [`OnDrift::Refuse`]).
    pub fn on_drift(mut self, on: OnDrift) -> Self {
        self.on_drift = Some(on);
        self
    }

    /// Brings the database to the newest of `migrations` while opening, before the
    /// declarations are compared with it ([`SqliteDatabase::migrate`]): a service that adds a
    /// field and its migration starts on the migrated schema.
    ///
    /// ```
    /// # fn main() -> tenantry::Result<()> {
    /// use tenantry::{Admin, SqliteDatabase, Migrations};
    /// let migrations = Migrations::new(&Admin::new("schema migrations"))
    ///     .add(2, "notes", "CREATE TABLE IF NOT EXISTS notes (body TEXT)");
    /// let path = std::env::temp_dir().join(format!("tenantry-migrate-doc-{}.db", uuid::Uuid::new_v4()));
    /// let db = SqliteDatabase::builder(&path).migrations(&migrations).open()?;
    /// assert!(db.pending_migrations(&migrations)?.applied.is_empty());
    /// # drop(db); for end in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{end}", path.display())).ok(); }
    /// # Ok(()) }
    /// ```
    pub fn migrations(mut self, migrations: &crate::Migrations) -> Self {
        self.migrations = Some(migrations.clone());
        self
    }

    /// Opens only a file that exists (a fleet run must not recreate a tenant's file that
    /// was deleted after it was listed).
    pub(crate) fn existing_only(mut self) -> Self {
        self.create = false;
        self
    }

    /// Opens without comparing declarations (a tenant file, migrated right after).
    pub(crate) fn without_drift_check(mut self) -> Self {
        self.on_drift = None;
        self
    }

    /// A layout's tenant file. The write-ahead log and shared-memory files stay beside it
    /// when its last connection closes (the log emptied), instead of being deleted and
    /// created again on the next open: a tenant file opened and closed over and over
    /// otherwise creates and removes two files each time, which costs more than its own
    /// statements (whoever deletes the database deletes them with it). And the tenant
    /// columns are not checked at open: the layout checks them with the rest of the file
    /// (`TenantDatabases::get`), once per schema.
    pub(crate) fn tenant_file(mut self) -> Self {
        self.tenant_file = true;
        self
    }

    /// Opens the database (creating the file if needed) and checks that it is a usable
    /// SQLite database whose declared tables match their declarations (see
    /// [`SqliteDatabase::schema_drift`] and [`on_drift`](Self::on_drift)).
    pub fn open(self) -> Result<SqliteDatabase> {
        crate::registry::check_registry()?;
        let max = if matches!(self.target, Target::Memory) { 1 } else { self.max_connections };
        let pool =
            Pool { state: Mutex::new(PoolState { idle: Vec::new(), open: 0, waiting: 0 }), freed: Condvar::new() };
        let writer = WriteGate::new();
        let late = Arc::default();
        let db = SqliteDatabase { inner: Arc::new(Inner { config: self, max, pool, writer, late }) };
        // Open one connection now so a bad path or a corrupt file fails here, not later.
        let conn = db.inner.acquire()?;
        conn.conn().query_row("PRAGMA schema_version", [], |_| Ok(()))?;
        drop(conn);
        // Migrations first: one of them may be what puts a tenant column back in place
        // (the runner checks the tenant columns after each).
        if let Some(migrations) = &db.inner.config.migrations {
            db.migrate(migrations)?;
        }
        let conn = db.inner.acquire()?;
        // Hidden items can describe a table falsely: what each owned declaration says about
        // its tenant column must hold in this database, or it does not open.
        // And a table created after this (by another process) is checked the first time a
        // statement naming it is compiled (`late`): the missing ones are listed first, so
        // one created between the two steps is checked either way. A layout checks its
        // tenant files itself.
        if !db.inner.config.tenant_file {
            db.inner.late.missing_from(conn.conn())?;
            crate::tablesql::verify_live(conn.conn())?;
        }
        if let Some(on) = db.inner.config.on_drift {
            let drift = crate::drift::schema_drift(conn.conn())?;
            match on {
                OnDrift::Refuse if !drift.is_empty() => return Err(Error::SchemaDrift { drift }),
                OnDrift::Refuse => {}
                OnDrift::Warn => drift.iter().for_each(|d| eprintln!("tenantry: warning: schema drift: {d}")),
            }
        }
        drop(conn);
        Ok(db)
    }

    fn connect(&self, late: &Arc<late::LateTables>) -> Result<Connection> {
        let mut conn = match &self.target {
            Target::File(path) => Connection::open_with_flags(
                path,
                if self.create {
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX
                } else {
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX
                },
            )?,
            Target::Memory => Connection::open_in_memory()?,
        };
        conn.busy_timeout(self.busy_timeout)?;
        if matches!(self.target, Target::File(_)) {
            // A file system without shared memory keeps the old journal mode; SQLite then
            // still works, with less concurrency, so this is not an error.
            //
            // Two processes opening a file still in rollback mode at once can both hold a
            // read lock and want the write lock to switch: SQLite then answers one of them
            // busy at once (waiting could deadlock), without the busy handler. The other
            // switches; this one retries within the busy timeout.
            let start = Instant::now();
            loop {
                match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
                    Ok(_mode) => break,
                    Err(e)
                        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                            && start.elapsed() < self.busy_timeout =>
                    {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        if self.tenant_file {
            conn.file_control(rusqlite::DEFAULT_NAME, rusqlite::FileControl::PersistWal(&mut 1))?;
            // Any limit at all makes SQLite empty the kept log when the last connection
            // closes (and cap it after each checkpoint).
            conn.execute_batch("PRAGMA journal_size_limit = 4194304")?;
        }
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, self.stable_plans)?;
        // A double-quoted name that matches no column is an error, never SQLite's legacy
        // fallback to a string literal (which turns `"user_id" = ?` on a table without that
        // column into a comparison of two strings).
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DQS_DML, false)?;
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DQS_DDL, false)?;
        conn.set_prepared_statement_cache_capacity(self.statement_cache);
        // No connection tenantry opens reaches another database file: `ATTACH` would let
        // SQL on one tenant's file (a migration, say) read or write another tenant's file,
        // and `VACUUM INTO` (which SQLite reports as an attach) could write a new one.
        //
        // And a migration's SQL cannot end or nest the transaction it runs in (`COMMIT;
        // ..; BEGIN`), which would commit part of it without its record.
        //
        // And it notes which tables not there at open a statement names (`late`).
        let late = Arc::clone(late);
        conn.authorizer(Some(move |ctx: AuthContext<'_>| match ctx.action {
            AuthAction::Attach { .. } | AuthAction::Detach { .. } => Authorization::Deny,
            AuthAction::Transaction { .. } | AuthAction::Savepoint { .. } if crate::migrate::running() => {
                Authorization::Deny
            }
            AuthAction::Read { table_name, .. }
            | AuthAction::Insert { table_name }
            | AuthAction::Update { table_name, .. }
            | AuthAction::Delete { table_name } => {
                late.named(table_name);
                Authorization::Allow
            }
            _ => Authorization::Allow,
        }))?;
        Ok(conn)
    }
}

struct PoolState {
    /// Boxed, so taking one out and putting it back moves a pointer, not the connection.
    #[allow(clippy::vec_box)]
    idle: Vec<Box<Connection>>,
    open: usize,
    /// Callers blocked in `acquire`; a release wakes one only when there is one.
    waiting: usize,
}

struct Pool {
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct Inner {
    config: SqliteDatabaseBuilder,
    max: usize,
    pool: Pool,
    writer: WriteGate,
    /// Owned tables the database did not have when it opened, until checked.
    late: Arc<late::LateTables>,
}

/// One writer at a time per database in this process, as SQLite allows: writers wait
/// here, woken as soon as the one before them is done, instead of inside SQLite's busy
/// handler, which polls with sleeps of up to 100 ms (a write could wait over a second
/// behind a few dozen others). Readers never wait here; writers of other processes still
/// meet SQLite's lock and its busy handler.
struct WriteGate {
    busy: AtomicBool,
    /// Writers asleep in `enter`: a writer leaving wakes one only when there is one.
    waiting: AtomicUsize,
    sleep: Mutex<()>,
    done: Condvar,
}

/// The gate, held until dropped (`None`: a database without one).
pub(crate) struct Writing<'db>(Option<&'db WriteGate>);

impl WriteGate {
    fn new() -> Self {
        WriteGate {
            busy: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
            sleep: Mutex::new(()),
            done: Condvar::new(),
        }
    }

    fn try_take(&self) -> bool {
        // SeqCst on failure too: a failed try must be ordered after this writer counted
        // itself in `waiting`, or a leaving writer could miss it.
        self.busy.compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst).is_ok()
    }

    /// Waits at most `timeout`.
    fn enter(&self, timeout: Duration) -> Result<Writing<'_>> {
        if self.try_take() {
            return Ok(Writing(Some(self)));
        }
        let deadline = Instant::now() + timeout;
        let mut asleep = self.sleep.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            // Counted before the gate is tried again: a writer leaving after the try sees
            // the count and wakes this one (under `sleep`, so only once it waits).
            self.waiting.fetch_add(1, Ordering::SeqCst);
            if self.try_take() {
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                return Ok(Writing(Some(self)));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                return Err(Error::Busy {
                    source: rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                        Some("another write of this process held the database past the busy timeout".into()),
                    ),
                });
            }
            asleep = self.done.wait_timeout(asleep, left).unwrap_or_else(|p| p.into_inner()).0;
            self.waiting.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        let Some(gate) = self.0 else { return };
        gate.busy.store(false, Ordering::SeqCst);
        if gate.waiting.load(Ordering::SeqCst) > 0 {
            let _asleep = gate.sleep.lock().unwrap_or_else(|p| p.into_inner());
            gate.done.notify_one();
        }
    }
}

impl Inner {
    /// A connection: an idle one (the fast path, a lock and a pop, inlined into each
    /// call), else a new one or a wait.
    #[inline]
    fn acquire(&self) -> Result<Pooled<'_>> {
        let mut state = self.pool.state.lock().unwrap_or_else(|p| p.into_inner());
        match state.idle.pop() {
            Some(conn) => Ok(Pooled { conn: Some(conn), inner: self }),
            None => self.acquire_slow(state),
        }
    }

    #[cold]
    fn acquire_slow<'a>(&'a self, mut state: std::sync::MutexGuard<'a, PoolState>) -> Result<Pooled<'a>> {
        // The clock is read only once a caller has to wait.
        let mut deadline: Option<Instant> = None;
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(Pooled { conn: Some(conn), inner: self });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match self.config.connect(&self.late) {
                    Ok(conn) => Ok(Pooled { conn: Some(Box::new(conn)), inner: self }),
                    Err(e) => {
                        self.release(None);
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            let deadline = *deadline.get_or_insert(now + self.config.acquire_timeout);
            if now >= deadline {
                let waited_ms = self.config.acquire_timeout.as_millis().try_into().unwrap_or(u64::MAX);
                return Err(Error::PoolTimeout { waited_ms });
            }
            // Counted while asleep, so a release knows to wake someone.
            state.waiting += 1;
            state = self.pool.freed.wait_timeout(state, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
            state.waiting -= 1;
        }
    }

    /// Returns a connection to the pool, or forgets it (`None`: it was closed or broken).
    #[inline]
    fn release(&self, conn: Option<Box<Connection>>) {
        let mut state = self.pool.state.lock().unwrap_or_else(|p| p.into_inner());
        match conn {
            Some(conn) => state.idle.push(conn),
            None => state.open -= 1,
        }
        let wake = state.waiting > 0;
        drop(state);
        if wake {
            self.pool.freed.notify_one();
        }
    }
}

/// A connection borrowed from the pool; goes back on drop.
struct Pooled<'db> {
    conn: Option<Box<Connection>>,
    inner: &'db Inner,
}

impl Pooled<'_> {
    fn conn(&self) -> &Connection {
        self.conn.as_ref().expect("present until drop")
    }

    /// Returns the connection without asking SQLite whether a transaction is still open:
    /// for a caller that ran only built queries, which cannot open one.
    #[inline]
    fn give_back(mut self) {
        if let Some(conn) = self.conn.take() {
            debug_assert!(conn.is_autocommit(), "only a caller that cannot open a transaction gives back unchecked");
            self.inner.release(Some(conn));
        }
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        // A connection left inside a transaction (a failed rollback) is not reused.
        if let Some(conn) = self.conn.take() {
            self.inner.release(conn.is_autocommit().then_some(conn));
        }
    }
}

/// A pooled SQLite database: the embedded default engine.
///
/// Opened with WAL, `synchronous=NORMAL`, `foreign_keys=ON`, a busy timeout, and a
/// statement cache. It runs only statements that tenantry built ([`Fetch`], [`Execute`]);
/// raw SQL needs an [`Admin`](crate::Admin) capability. Cheap to clone (shared pool).
#[derive(Clone)]
pub struct SqliteDatabase {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SqliteDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDatabase").field("target", &self.inner.config.target).finish_non_exhaustive()
    }
}

/// `fetch_all`, `fetch_optional`, `fetch_one`, `execute`, `fetch_raw` and `create_table`,
/// shared by [`SqliteDatabase`] (one pooled connection per call) and [`SqliteTransaction`].
macro_rules! executor_methods {
    () => {
        /// All rows of a query.
        #[inline]
        pub fn fetch_all<Q: Fetch>(&self, query: Q) -> Result<Vec<Q::Row>> {
            // The statement stays where the caller built it; only a reference goes on.
            self.fetch_all_of(&query)
        }

        fn fetch_all_of<Q: Fetch>(&self, query: &Q) -> Result<Vec<Q::Row>> {
            self.reading_engine(|engine| run::fetch_all(engine, query))
        }

        /// The first row of a query, or `None`. A row of another tenant is never seen, so
        /// it looks exactly like a missing row.
        #[inline]
        pub fn fetch_optional<Q: Fetch>(&self, query: Q) -> Result<Option<Q::Row>> {
            self.fetch_optional_of(&query)
        }

        fn fetch_optional_of<Q: Fetch>(&self, query: &Q) -> Result<Option<Q::Row>> {
            self.reading_engine(|engine| run::fetch_optional(engine, query))
        }

        /// The first row of a query, or [`Error::NotFound`].
        #[inline]
        pub fn fetch_one<Q: Fetch>(&self, query: Q) -> Result<Q::Row> {
            self.fetch_optional_of(&query)?.ok_or(Error::NotFound)
        }

        /// Runs an insert, update, delete or raw statement; returns the rows changed.
        #[inline]
        pub fn execute<E: Execute>(&self, statement: E) -> Result<usize> {
            self.execute_plan(&statement.__plan())
        }

        fn execute_plan(&self, plan: &crate::query::Plan<'_>) -> Result<usize> {
            self.writing_engine(|engine| run::execute(engine, plan))
        }

        /// Runs audited raw SQL and maps each row with `f`.
        pub fn fetch_raw<R>(
            &self,
            raw: RawSql,
            f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<R>,
        ) -> Result<Vec<R>> {
            self.with_conn(|conn| exec::query_raw(conn, &raw.__plan(), f))
        }

        /// Creates every declared table ([`tables`](crate::tables)) and its indexes, if
        /// they do not exist, in one transaction.
        pub fn create_all_tables(&self) -> Result<()> {
            self.with_conn(|conn| {
                exec::in_savepoint(conn, |conn| {
                    for info in crate::tables() {
                        for sql in info.sqlite_ddl() {
                            conn.execute_batch(&sql)?;
                        }
                        crate::tablesql::verify_table(conn, info)?;
                    }
                    Ok(())
                })
            })?;
            crate::tables().for_each(|info| self.late_checked(info));
            Ok(())
        }

        /// Creates `T`'s table and indexes if they do not exist (the derive's DDL).
        pub fn create_table<T: Table>(&self) -> Result<()> {
            self.with_conn(|conn| {
                exec::in_savepoint(conn, |conn| {
                    for sql in T::INFO.sqlite_ddl() {
                        conn.execute_batch(&sql)?;
                    }
                    // The table may have existed before, made by other SQL.
                    crate::tablesql::verify_table(conn, T::INFO)
                })
            })?;
            self.late_checked(T::INFO);
            Ok(())
        }
    };
}

impl SqliteDatabase {
    /// Opens (or creates) a database file with the default settings.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::builder(path).open()
    }

    /// A private in-memory database (one connection), for tests and examples.
    pub fn open_in_memory() -> Result<Self> {
        SqliteDatabaseBuilder { target: Target::Memory, ..Self::builder("") }.open()
    }

    /// Settings for opening a database file.
    pub fn builder(path: impl AsRef<Path>) -> SqliteDatabaseBuilder {
        SqliteDatabaseBuilder {
            target: Target::File(path.as_ref().to_path_buf()),
            max_connections: 8,
            busy_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(30),
            statement_cache: 256,
            stable_plans: true,
            on_drift: Some(OnDrift::Refuse),
            migrations: None,
            create: true,
            tenant_file: false,
        }
    }

    /// How each declared table in this database differs from its declaration: columns
    /// (missing, storage type, nullability, undeclared `NOT NULL` ones), the primary key,
    /// unique keys and indexes. Empty when they agree; tables not created yet are not
    /// compared. Each [`Drift`](crate::Drift) reads as a sentence and carries the
    /// migration for a plain additive change as a suggestion; nothing is applied.
    ///
    /// ```
    /// use tenantry::{SqliteDatabase, DriftKind, Table, TenantId};
    ///
    /// #[derive(Table)]
    /// #[table(name = "drift_doc_notes", owned)]
    /// struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, body: String, pinned: Option<bool> }
    ///
    /// # fn main() -> tenantry::Result<()> {
    /// let path = std::env::temp_dir().join(format!("drift-doc-{}.db", uuid::Uuid::new_v4()));
    /// // The table as an older version of the program made it, without `pinned`:
    /// rusqlite::Connection::open(&path).unwrap().execute_batch(
    ///     r#"CREATE TABLE drift_doc_notes ("user_id" text NOT NULL, "id" integer NOT NULL,
    ///        "body" text NOT NULL, PRIMARY KEY ("user_id", "id"))"#).unwrap();
    /// let refused = SqliteDatabase::open(&path).unwrap_err();
    /// assert!(refused.to_string().contains("drift_doc_notes.pinned: declared, not in the database"));
    ///
    /// let db = SqliteDatabase::builder(&path).on_drift(tenantry::OnDrift::Warn).open()?;
    /// let drift = db.schema_drift()?;
    /// assert!(matches!(drift[0].kind, DriftKind::MissingColumn { column: "pinned" }));
    /// assert_eq!(drift[0].suggestion.as_deref(), Some(r#"ALTER TABLE "drift_doc_notes" ADD COLUMN "pinned" INTEGER"#));
    /// # std::fs::remove_file(&path).ok();
    /// # Ok(()) }
    /// ```
    pub fn schema_drift(&self) -> Result<Vec<crate::Drift>> {
        self.with_conn(crate::drift::schema_drift)
    }

    /// Whether `other` is a handle of this same pool.
    pub(crate) fn same_as(&self, other: &SqliteDatabase) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// A new connection to the same database file, outside the pool (`None` for an
    /// in-memory database, which has one connection only).
    pub(crate) fn watch_connection(&self) -> Result<Option<Connection>> {
        match self.inner.config.target {
            Target::File(_) => self.inner.config.connect(&self.inner.late).map(Some),
            Target::Memory => Ok(None),
        }
    }

    pub(crate) fn with_conn<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let conn = self.inner.acquire()?;
        f(conn.conn())
    }

    /// Runs `f` with a pooled connection as the engine of one call.
    fn engine<R>(&self, f: impl FnOnce(&mut exec::Sqlite<'_, '_>) -> Result<R>) -> Result<R> {
        self.with_conn(|conn| f(&mut exec::Sqlite::new(conn)))
    }

    /// A table this database did not have at open, created and checked since.
    fn late_checked(&self, info: &'static crate::schema::TableInfo) {
        self.inner.late.checked(info);
    }

    /// [`engine`](Self::engine) for a built query. A `SELECT` cannot leave a transaction
    /// open, so the connection goes back to the pool without asking SQLite whether it did.
    fn reading_engine<R>(&self, f: impl FnOnce(&mut exec::Sqlite<'_, '_>) -> Result<R>) -> Result<R> {
        let pooled = self.inner.acquire()?;
        let out = f(&mut exec::Sqlite::new(pooled.conn()));
        pooled.give_back();
        out
    }

    /// [`engine`](Self::engine) for a write, in this process's turn to write.
    fn writing_engine<R>(&self, f: impl FnOnce(&mut exec::Sqlite<'_, '_>) -> Result<R>) -> Result<R> {
        // The turn first, then a connection: a writer waiting for its turn holds no
        // connection that readers could use (taken the other way round, writers queued at
        // the gate held the pool: 0.84-0.87x the baseline in the load bench, not 0.93-0.95).
        let _writing = self.writing()?;
        self.engine(f)
    }

    /// Runs `f` in a write transaction (`BEGIN IMMEDIATE`) on one pooled connection.
    pub(crate) fn write<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let _writing = self.writing()?;
        self.with_conn(|conn| exec::in_savepoint(conn, f))
    }

    /// This process's turn to write to the database (see [`WriteGate`]). A database of
    /// one connection (a tenant file, an in-memory database) has no gate: its pool already
    /// lets one statement run at a time. The wait is bounded by what a write could wait
    /// without the gate: a connection from the pool, then SQLite's lock.
    #[inline]
    pub(crate) fn writing(&self) -> Result<Writing<'_>> {
        if self.inner.max == 1 {
            return Ok(Writing(None));
        }
        let config = &self.inner.config;
        self.inner.writer.enter(config.acquire_timeout.saturating_add(config.busy_timeout))
    }

    executor_methods!();

    /// Begins a write transaction (`BEGIN IMMEDIATE`: the write lock is taken up front,
    /// so it never fails half-way with "database is locked"). It rolls back on drop
    /// unless [`SqliteTransaction::commit`] is called.
    pub fn begin(&self) -> Result<SqliteTransaction<'_>> {
        let (conn, writing) = self.begun()?;
        let mut tx = SqliteTransaction::new(TxConn::Owned(conn));
        tx.writing = Some(writing);
        Ok(tx)
    }

    /// This process's turn to write (see `writing_engine`), a pooled connection, then
    /// `BEGIN IMMEDIATE`.
    fn begun(&self) -> Result<(Pooled<'_>, Writing<'_>)> {
        let writing = self.writing()?;
        let conn = self.inner.acquire()?;
        conn.conn().execute_batch("BEGIN IMMEDIATE")?;
        Ok((conn, writing))
    }

    /// Runs `f` in a write transaction: commits when it returns `Ok`, rolls back when it
    /// returns `Err` or panics.
    ///
    /// Inside `f` the last statement run stays prepared, so a loop that runs the same
    /// statement (inserting row by row) prepares it once.
    pub fn transaction<R>(&self, f: impl FnOnce(&SqliteTransaction<'_>) -> Result<R>) -> Result<R> {
        let (conn, _writing) = self.begun()?;
        // Borrowed from this frame, so the transaction may keep a statement of it.
        let tx = SqliteTransaction::new(TxConn::Borrowed(conn.conn()));
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// A write transaction. Rolls back on drop unless committed.
///
/// Like rusqlite's own transaction, it is used on the thread that began it (it is not
/// `Send`): in [`SqliteDatabase::transaction`] it keeps its last statement prepared.
pub struct SqliteTransaction<'db> {
    conn: TxConn<'db>,
    open: bool,
    /// Empty unless the connection is borrowed (`SqliteDatabase::transaction`).
    last: exec::LastStatement<'db>,
    /// The process's turn to write, when the transaction owns it (`begin`); released
    /// after the transaction ends (fields drop after `Drop::drop` rolls back).
    writing: Option<Writing<'db>>,
}

/// The connection of a transaction: its own (`begin`), or one that outlives it.
enum TxConn<'db> {
    Owned(Pooled<'db>),
    Borrowed(&'db Connection),
}

impl std::fmt::Debug for SqliteTransaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteTransaction").field("open", &self.open).finish_non_exhaustive()
    }
}

impl<'db> SqliteTransaction<'db> {
    fn new(conn: TxConn<'db>) -> Self {
        SqliteTransaction { conn, open: true, last: exec::LastStatement::default(), writing: None }
    }

    fn conn(&self) -> &Connection {
        match &self.conn {
            TxConn::Owned(pooled) => pooled.conn(),
            TxConn::Borrowed(conn) => conn,
        }
    }

    fn with_conn<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        f(self.conn())
    }

    /// A transaction writes in the turn it took when it began.
    fn writing_engine<R>(&self, f: impl FnOnce(&mut exec::Sqlite<'_, '_>) -> Result<R>) -> Result<R> {
        self.engine(f)
    }

    fn reading_engine<R>(&self, f: impl FnOnce(&mut exec::Sqlite<'_, '_>) -> Result<R>) -> Result<R> {
        self.engine(f)
    }

    /// Within a transaction, a table it creates is checked again when a statement names
    /// it (the transaction may yet roll back).
    fn late_checked(&self, _: &'static crate::schema::TableInfo) {}

    /// Runs `f` with this transaction's connection as the engine; a borrowed connection
    /// keeps the last statement prepared.
    fn engine<R>(&self, f: impl FnOnce(&mut exec::Sqlite<'_, '_>) -> Result<R>) -> Result<R> {
        match &self.conn {
            TxConn::Owned(pooled) => f(&mut exec::Sqlite::new(pooled.conn())),
            TxConn::Borrowed(conn) => f(&mut exec::Sqlite::keeping(conn, &self.last)),
        }
    }

    executor_methods!();

    /// Commits. On error the transaction is rolled back.
    pub fn commit(mut self) -> Result<()> {
        self.open = false;
        self.last.clear();
        if let Err(e) = self.conn().execute_batch("COMMIT") {
            let _ = self.conn().execute_batch("ROLLBACK");
            return Err(e.into());
        }
        Ok(())
    }

    /// Rolls back explicitly (dropping does the same).
    pub fn rollback(mut self) -> Result<()> {
        self.open = false;
        self.last.clear();
        Ok(self.conn().execute_batch("ROLLBACK")?)
    }
}

impl Drop for SqliteTransaction<'_> {
    fn drop(&mut self) {
        if self.open {
            self.last.clear();
            // Nothing to report to: the pool discards the connection if this fails.
            let _ = self.conn().execute_batch("ROLLBACK");
        }
    }
}

/// What runs statements: a [`SqliteDatabase`], a [`SqliteTransaction`], or a
/// [`Layout`](crate::Layout). Write code against it to run unchanged on every layout.
///
/// ```
/// use tenantry::{Executor, Fetch};
/// fn count_rows<E: Executor, Q: Fetch>(on: &E, q: Q) -> tenantry::Result<usize> {
///     Ok(on.fetch_all(q)?.len())
/// }
/// ```
pub trait Executor: crate::query::sealed::Executor {
    /// All rows of a query.
    fn fetch_all<Q: Fetch>(&self, query: Q) -> Result<Vec<Q::Row>>;
    /// The first row of a query, or `None`.
    fn fetch_optional<Q: Fetch>(&self, query: Q) -> Result<Option<Q::Row>>;
    /// The first row of a query, or [`Error::NotFound`].
    fn fetch_one<Q: Fetch>(&self, query: Q) -> Result<Q::Row> {
        self.fetch_optional(query)?.ok_or(Error::NotFound)
    }
    /// Runs an insert, update, delete or raw statement; returns the rows changed.
    fn execute<E: Execute>(&self, statement: E) -> Result<usize>;
}

macro_rules! executor_impl {
    ($($t:ty),*) => {$(
        impl crate::query::sealed::Executor for $t {}
        impl Executor for $t {
            fn fetch_all<Q: Fetch>(&self, query: Q) -> Result<Vec<Q::Row>> {
                <$t>::fetch_all(self, query)
            }
            fn fetch_optional<Q: Fetch>(&self, query: Q) -> Result<Option<Q::Row>> {
                <$t>::fetch_optional(self, query)
            }
            fn execute<E: Execute>(&self, statement: E) -> Result<usize> {
                <$t>::execute(self, statement)
            }
        }
    )*};
}
executor_impl!(SqliteDatabase, SqliteTransaction<'_>, crate::Layout);
