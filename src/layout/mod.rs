//! Storage layouts. The same statements run on all three; the application picks one at
//! start-up.
//!
//! - **A, shared**: one database; every owned table has its tenant column
//!   ([`Layout::shared`]).
//! - **B, per tenant**: every owned table lives in one SQLite file per tenant (the
//!   Durable-Object model), opened on demand; global tables and cross-tenant work stay in
//!   the shared database ([`LayoutBuilder::per_tenant`]).
//! - **C, hybrid**: the tables you name stay shared (accounts, billing, the job queue);
//!   the rest are per tenant ([`LayoutBuilder::shared_tables`]).
//!
//! In B and C the tenant predicate stays in the SQL (defence in depth: a row in the wrong
//! file is still invisible). A statement that joins a shared table with a per-tenant table
//! is refused with [`Error::Placement`].
//!
//! ```
//! # fn main() -> tenantry::Result<()> {
//! use tenantry::{SqliteDatabase, Layout, Table, TenantId};
//! #[derive(Table, Debug)]
//! #[table(name = "diary_entries", owned)]
//! struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, body: String }
//!
//! let dir = std::env::temp_dir().join(format!("tenantry-layout-doc-{}", uuid::Uuid::new_v4()));
//! let layout = Layout::builder(SqliteDatabase::open_in_memory()?).per_tenant(dir.join("tenants")).build()?;
//! let t = TenantId::generate();
//! layout.execute(Note::insert(&t, NewNote { id: 1, body: "in my own file".into() }))?;
//! assert_eq!(layout.fetch_one(Note::get(&t, 1))?.body, "in my own file");
//! assert!(layout.tenant_path(&t).unwrap().exists());
//! # std::fs::remove_dir_all(dir).ok(); Ok(()) }
//! ```

mod audit;
mod lifecycle;
mod locations;
mod merge;
mod moves;
mod tenants;

use std::path::PathBuf;
use std::sync::Arc;

use std::sync::{Mutex, RwLock};

use rustc_hash::{FxHashMap, FxHashSet};

pub use audit::{AuditReport, Finding};
pub use lifecycle::{FleetReport, TenantExport};
pub use merge::TableMerge;
pub use moves::Location;
pub use tenants::OnBehind;

use crate::db::SqliteDatabase;
use crate::error::{Error, Result};
use crate::query::{Execute, Fetch, Plan};
use crate::schema::TableInfo;
use crate::tenant::TenantId;
use tenants::{Schema, TenantDatabases};

/// The tables where tenants live (`tenantry_tenant_locations`, `tenantry_tenant_files`), as
/// versioned migrations of their own (append only).
const LAYOUT_SCHEMA: &[crate::migrate::Step] =
    &[crate::migrate::Step { version: 1, name: "tenant locations", sql: moves::LOCATIONS_DDL, declared: false }];

/// Settings for a [`Layout`].
pub struct LayoutBuilder {
    shared: SqliteDatabase,
    root: Option<PathBuf>,
    shared_tables: Vec<&'static TableInfo>,
    migrations: Option<crate::Migrations>,
    cap: usize,
    on_behind: OnBehind,
}

/// A table's identity: the address of its static declaration.
fn id(t: &'static TableInfo) -> usize {
    std::ptr::from_ref(t) as usize
}

impl LayoutBuilder {
    /// Owned tables go to one database file per tenant under `root` (layout B, or C with
    /// [`shared_tables`](Self::shared_tables)).
    pub fn per_tenant(mut self, root: impl Into<PathBuf>) -> Self {
        self.root = Some(root.into());
        self
    }

    /// Owned tables that stay in the shared database (layout C): typically the job queue
    /// and billing, which cross-tenant workers read.
    pub fn shared_tables(mut self, tables: &[&'static TableInfo]) -> Self {
        self.shared_tables.extend_from_slice(tables);
        self
    }

    /// The per-tenant schema's migrations (version 1 creates the per-tenant tables), run
    /// on each tenant's file when it is opened behind (see [`on_behind`](Self::on_behind))
    /// and by [`Layout::migrate_fleet`]. The same runner as the shared database's
    /// ([`SqliteDatabase::migrate`]): versioned, checksummed, one transaction each.
    ///
    /// Like every connection tenantry opens, a migration cannot `ATTACH` another
    /// database, and after it runs the tenant column of every per-tenant table must still
    /// lead its keys, or the migration rolls back.
    pub fn migrations(mut self, migrations: &crate::Migrations) -> Self {
        self.migrations = Some(migrations.clone());
        self
    }

    /// Most per-tenant databases kept open at once (default 64); the least recently used
    /// is closed beyond it.
    pub fn max_open(mut self, n: usize) -> Self {
        self.cap = n;
        self
    }

    /// What to do with a tenant database that is behind (default: migrate it first).
    pub fn on_behind(mut self, w: OnBehind) -> Self {
        self.on_behind = w;
        self
    }

    /// Builds the layout and creates the tables that live in the shared database (every
    /// declared table not placed per tenant) if they are missing.
    pub fn build(self) -> Result<Layout> {
        self.build_with(true)
    }

    /// The layout without creating anything in the shared database (a dry run's).
    #[cfg(feature = "cli")]
    pub(crate) fn build_without_tables(self) -> Result<Layout> {
        self.build_with(false)
    }

    fn build_with(self, create: bool) -> Result<Layout> {
        let shared: FxHashSet<usize> = self.shared_tables.iter().map(|t| id(t)).collect();
        let per_tenant: Vec<&'static TableInfo> = match &self.root {
            Some(_) => crate::owned_tables().filter(|t| !shared.contains(&id(t))).collect(),
            None => Vec::new(),
        };
        let per_tenant_ids = per_tenant.iter().map(|t| id(t)).collect();
        let migrations = self.migrations.unwrap_or_else(crate::migrate::Migrations::none);
        migrations.checked()?;
        let tenants = match self.root {
            Some(root) => {
                Some(TenantDatabases::new(root, self.cap, self.on_behind, Schema { tables: per_tenant, migrations })?)
            }
            None => None,
        };
        let layout = Layout {
            inner: Arc::new(Inner {
                locations: locations::Locations::new(&self.shared)?,
                shared: self.shared,
                tenants,
                per_tenant: per_tenant_ids,
                locks: Mutex::default(),
            }),
        };
        if !create {
            return Ok(layout);
        }
        // Every declared table exists in the shared database: shared tables live there, and
        // a tenant moved into the shared database keeps its per-tenant tables there too.
        layout.inner.shared.write(|conn| {
            for info in crate::tables() {
                for sql in info.sqlite_ddl() {
                    conn.execute_batch(&sql)?;
                }
            }
            crate::tablesql::verify_live(conn)
        })?;
        crate::migrate::library(&layout.inner.shared, "tenantry.layout", LAYOUT_SCHEMA)?;
        Ok(layout)
    }
}

struct Inner {
    shared: SqliteDatabase,
    tenants: Option<TenantDatabases>,
    per_tenant: FxHashSet<usize>,
    /// Where each tenant lives, cached while the shared database is unchanged.
    locations: locations::Locations,
    /// Per-tenant locks: statements read-lock their tenant, a move write-locks it, so no
    /// statement of this process runs half before and half after a move.
    locks: Mutex<FxHashMap<uuid::Uuid, Arc<RwLock<()>>>>,
}

/// Where a statement runs.
enum Placed<'p> {
    Shared,
    /// On the tables of this tenant, wherever its location says they are.
    Tenant(&'p TenantId),
}

/// Where the data lives, and which database each statement goes to. Cheap to clone.
#[derive(Clone)]
pub struct Layout {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layout").field("per_tenant_tables", &self.inner.per_tenant.len()).finish_non_exhaustive()
    }
}

impl Layout {
    /// Layout A: everything in one database.
    pub fn shared(db: SqliteDatabase) -> Result<Self> {
        Self::builder(db).build()
    }

    /// Settings for a layout whose shared database (accounts, global tables, shared
    /// tables, cross-tenant work) is `shared`.
    pub fn builder(shared: SqliteDatabase) -> LayoutBuilder {
        LayoutBuilder {
            shared,
            root: None,
            shared_tables: Vec::new(),
            migrations: None,
            cap: 64,
            on_behind: OnBehind::Migrate,
        }
    }

    /// Whether `table` lives in per-tenant databases.
    pub fn is_per_tenant(&self, table: &'static TableInfo) -> bool {
        self.inner.per_tenant.contains(&id(table))
    }

    /// The shared database.
    pub fn shared_database(&self) -> &SqliteDatabase {
        &self.inner.shared
    }

    /// The database that holds `tenant`'s per-tenant tables (the shared one in layout A),
    /// for transactions over several statements.
    ///
    /// A handle kept across a move or deletion of the tenant goes stale: statements on it
    /// fail (the file is retired) rather than reach rows nobody else sees.
    pub fn tenant_database(&self, tenant: &TenantId) -> Result<SqliteDatabase> {
        match (&self.inner.tenants, self.placement(tenant)?) {
            // A location just read from the shared database re-checks the open handle
            // (another process may have replaced the file); a cached one does not.
            (Some(t), (Location::OwnFile, fresh)) => match t.get(tenant, fresh, false, &self.inner.shared) {
                Err(Error::TenantMoving) => self.recover_retired(t, tenant),
                opened => opened,
            },
            _ => Ok(self.inner.shared.clone()),
        }
    }

    /// For a caller holding `tenant`'s locks (so no move or deletion of it runs anywhere):
    /// a file left retired by one that was killed is brought back into use.
    pub(crate) fn restore_retired_locked(&self, tenant: &TenantId) -> Result<()> {
        let Some(tenants) = &self.inner.tenants else { return Ok(()) };
        if self.location(tenant)? != Location::OwnFile || !tenants.path(tenant).exists() {
            return Ok(());
        }
        let file = tenants.get(tenant, true, true, &self.inner.shared)?;
        if file.with_conn(crate::tablesql::is_retired)? {
            let tables: Vec<&'static TableInfo> = crate::owned_tables().filter(|t| self.is_per_tenant(t)).collect();
            file.write(|c| crate::tablesql::restore(c, &tables))?;
        }
        Ok(())
    }

    /// The tenant's file is retired: a move out of it or a deletion began. If it is still
    /// running (in another process: this one holds the tenant's lock) that is
    /// [`Error::TenantMoving`]; if it was killed, and the tenant still lives in the file,
    /// the file is brought back into use, as if the move had not begun.
    fn recover_retired(&self, tenants: &TenantDatabases, tenant: &TenantId) -> Result<SqliteDatabase> {
        let Some(_held) = tenants.move_lock(tenant, false)? else { return Err(Error::TenantMoving) };
        // Killed, but maybe after the switch: where the tenant lives is read again.
        self.inner.locations.forget(tenant);
        if self.placement(tenant)?.0 == Location::Shared {
            return Ok(self.inner.shared.clone());
        }
        let tables: Vec<&'static TableInfo> = crate::owned_tables().filter(|t| self.is_per_tenant(t)).collect();
        let file = tenants.get(tenant, true, true, &self.inner.shared)?;
        file.write(|c| crate::tablesql::restore(c, &tables))?;
        Ok(file)
    }

    /// The file of `tenant`'s database in layouts B and C.
    pub fn tenant_path(&self, tenant: &TenantId) -> Option<PathBuf> {
        self.inner.tenants.as_ref().map(|t| t.path(tenant))
    }

    /// How many per-tenant databases are open now.
    pub fn open_tenant_databases(&self) -> usize {
        self.inner.tenants.as_ref().map_or(0, TenantDatabases::open_count)
    }

    /// The lock a move or deletion of `tenant` holds against other processes (none in
    /// layout A, which has no tenant files).
    pub(crate) fn move_lock(&self, tenant: &TenantId) -> Result<Option<std::fs::File>> {
        match &self.inner.tenants {
            Some(tenants) => tenants.move_lock(tenant, true),
            None => Ok(None),
        }
    }

    pub(crate) fn tenant_lock(&self, tenant: &TenantId) -> Arc<RwLock<()>> {
        let mut locks = self.inner.locks.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(locks.entry(tenant.as_uuid()).or_default())
    }

    /// Runs `f` on the database `plan` belongs to, holding its tenant's lock for reading.
    ///
    /// A tenant last seen in its own file, whose file is open here, is served from that
    /// handle without asking the shared database whether the tenant moved: a move out of
    /// the file (or a deletion), by any process, first retires the file, so a statement on
    /// a stale handle fails rather than reading or writing rows nobody else sees. Only
    /// then is the location read again and the statement run where it says; a statement
    /// that failed for any other reason is not run twice.
    fn routed<R>(&self, plan: &Plan<'_>, f: impl Fn(&SqliteDatabase) -> Result<R>) -> Result<R> {
        let Some(tenants) = &self.inner.tenants else { return f(&self.inner.shared) };
        let lock = plan.tenant().map(|t| self.tenant_lock(t));
        let _guard = lock.as_ref().map(|l| l.read().unwrap_or_else(|p| p.into_inner()));
        let tenant = match self.placed(plan)? {
            Placed::Shared => return f(&self.inner.shared),
            Placed::Tenant(tenant) => tenant,
        };
        if self.inner.locations.cached_own(tenant)
            && let Some(db) = tenants.cached(tenant)
        {
            match f(&db) {
                Err(_) if db.with_conn(crate::tablesql::is_retired).unwrap_or(false) => {
                    tenants.close(tenant);
                    self.inner.locations.forget(tenant);
                }
                done => return done,
            }
        }
        if plan.is_read()
            && let Some(empty) = self.absent(tenants, tenant)?
        {
            return f(&empty);
        }
        f(&self.tenant_database(tenant)?)
    }

    /// For a tenant that lives in its own file but has none yet: the empty database a read
    /// runs on (a read creates no file). A file the shared database records as created
    /// but missing is [`Error::TenantFileLost`].
    fn absent(&self, tenants: &TenantDatabases, tenant: &TenantId) -> Result<Option<SqliteDatabase>> {
        if self.placement(tenant)?.0 != Location::OwnFile || tenants.path(tenant).exists() {
            return Ok(None);
        }
        if tenants.recorded(tenant, &self.inner.shared)? {
            return Err(Error::TenantFileLost);
        }
        tenants.empty().map(Some)
    }

    /// Whether a statement runs on the shared database or on its tenant's tables.
    fn placed<'p>(&self, plan: &'p Plan<'_>) -> Result<Placed<'p>> {
        let tables = plan.tables();
        let mut per_tenant = tables.iter().filter(|t| self.is_per_tenant(t));
        let Some(first) = per_tenant.next() else { return Ok(Placed::Shared) };
        if let Some(shared) = tables.iter().find(|t| !self.is_per_tenant(t)) {
            return Err(Error::Placement { shared: shared.name, per_tenant: first.name });
        }
        match plan.tenant() {
            Some(tenant) => Ok(Placed::Tenant(tenant)),
            // A cross-tenant statement cannot span thousands of files.
            None => Err(Error::Placement { shared: "(cross-tenant statement)", per_tenant: first.name }),
        }
    }

    /// All rows of a query, from the database its tables live in.
    pub fn fetch_all<Q: Fetch>(&self, query: Q) -> Result<Vec<Q::Row>> {
        self.routed(&query.__plan(), |db| db.fetch_all(&query))
    }

    /// The first row of a query, or `None`.
    pub fn fetch_optional<Q: Fetch>(&self, query: Q) -> Result<Option<Q::Row>> {
        self.routed(&query.__plan(), |db| db.fetch_optional(&query))
    }

    /// The first row of a query, or [`Error::NotFound`].
    pub fn fetch_one<Q: Fetch>(&self, query: Q) -> Result<Q::Row> {
        self.routed(&query.__plan(), |db| db.fetch_one(&query))
    }

    /// Runs an insert, update, delete or raw statement where its table lives.
    pub fn execute<E: Execute>(&self, statement: E) -> Result<usize> {
        self.routed(&statement.__plan(), |db| db.execute(&statement))
    }
}
