//! One SQLite file per tenant, opened on demand, with a cap on how many stay open.

use std::path::PathBuf;
use std::sync::Mutex;

use rusqlite::OptionalExtension as _;
use rustc_hash::FxHashMap;
use uuid::Uuid;

use crate::db::SqliteDatabase;
use crate::error::{Error, Result};
use crate::migrate::{self, MigrationReport, Migrations, Runner};
use crate::schema::TableInfo;
use crate::tablesql;
use crate::tenant::TenantId;

/// What to do with a tenant whose database is behind the current schema version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnBehind {
    /// Migrate it before serving the request (the default).
    Migrate,
    /// Refuse with [`Error::TenantBehind`]; a fleet migration brings it up to date.
    Refuse,
}

/// The per-tenant tables and their migrations.
pub(crate) struct Schema {
    pub(crate) tables: Vec<&'static TableInfo>,
    pub(crate) migrations: Migrations,
}

impl Schema {
    pub(crate) fn version(&self) -> u32 {
        self.migrations.latest()
    }

    /// The migration runner for tenant files: version 1 creates the per-tenant tables;
    /// `PRAGMA user_version` mirrors the version (older builds kept only that).
    pub(crate) fn runner(&self) -> Result<Runner<'_>> {
        Ok(Runner {
            scope: migrate::TENANT,
            steps: self.migrations.checked()?,
            tag: self.migrations.tag,
            baseline: Some(&self.tables),
            user_version: true,
            legacy: Some(migrate::user_version),
        })
    }

    /// Brings `db` to the current version, each migration in a write transaction of its
    /// own that reads the records again, so concurrent openers apply each step once.
    pub(crate) fn migrate(&self, db: &SqliteDatabase) -> Result<MigrationReport> {
        self.runner()?.run(db, false)
    }

    pub(crate) fn version_of(db: &SqliteDatabase) -> Result<u32> {
        db.with_conn(migrate::user_version)
    }
}

struct Open {
    db: SqliteDatabase,
    used: u64,
    /// The file's identity when opened: if another process removed or replaced the file,
    /// this handle points at a file nobody reads any more.
    identity: Option<(u64, u64)>,
}

/// (device, inode) of the file at `path`, where the platform says.
fn identity(path: &std::path::Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
    }
    // Elsewhere no identity is known: a cached handle is then always opened again when
    // checked, and a reopened file always checked in full.
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// A tenant file that passed every check at open, as it was then: reopened unchanged (the
/// same file, the same schema cookie and version, the owner still the tenant), it needs
/// none of them again.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Verified {
    identity: (u64, u64),
    /// SQLite's schema cookie, which every schema change (a migration, a drifted table, a
    /// move retiring the file) increments.
    schema: i64,
    version: u32,
}

/// Files verified at most this many: past it, the record starts again empty.
const VERIFIED_LIMIT: usize = 100_000;

/// The schema cookie, the schema version and the recorded owner of the file on `conn`.
/// Fails (and the caller checks in full) if the owner table is gone. (Three plain
/// statements: the same read through the `pragma_*` table functions costs twice as much.)
fn header(conn: &rusqlite::Connection) -> Result<(i64, u32, Option<String>)> {
    let schema = conn.query_row("PRAGMA schema_version", [], |r| r.get(0))?;
    let version = migrate::user_version(conn)?;
    let owner = conn.query_row("SELECT tenant FROM tenantry_owner LIMIT 1", [], |r| r.get(0)).optional()?;
    Ok((schema, version, owner))
}

/// The per-tenant databases under one directory.
pub(crate) struct TenantDatabases {
    root: PathBuf,
    cap: usize,
    on_behind: OnBehind,
    pub(crate) schema: Schema,
    open: Mutex<(FxHashMap<Uuid, Open>, u64)>,
    /// See [`Verified`].
    verified: Mutex<FxHashMap<Uuid, Verified>>,
    /// See [`empty`](Self::empty).
    empty: std::sync::OnceLock<SqliteDatabase>,
}

impl TenantDatabases {
    pub(crate) fn new(root: PathBuf, cap: usize, on_behind: OnBehind, schema: Schema) -> Result<Self> {
        std::fs::create_dir_all(&root).map_err(|source| Error::Io { what: "create the tenants' directory", source })?;
        Ok(TenantDatabases {
            root,
            cap: cap.max(1),
            on_behind,
            schema,
            open: Mutex::new((FxHashMap::default(), 0)),
            verified: Mutex::new(FxHashMap::default()),
            empty: std::sync::OnceLock::new(),
        })
    }

    /// How tenantry opens a tenant's file: one connection, the log files kept between
    /// opens, its tables checked by the caller ([`Self::get`], or the fleet runs, which
    /// only migrate).
    pub(crate) fn builder(&self, tenant: &TenantId) -> crate::db::SqliteDatabaseBuilder {
        SqliteDatabase::builder(self.path(tenant)).max_connections(1).without_drift_check().tenant_file()
    }

    /// The file of a tenant: the canonical id (hex and hyphens only), so the path is a
    /// function of the `TenantId` alone, one-to-one, with no user input in it.
    pub(crate) fn path(&self, tenant: &TenantId) -> PathBuf {
        self.root.join(format!("{tenant}.sqlite3"))
    }

    /// The tenant's database, opened (and migrated, or refused) on first use. Beyond the
    /// cap, the least recently used database is closed once its last user drops it. With
    /// `revalidate`, a cached handle is kept only if the file at the path is still the one
    /// it opened (one `stat`); the layout asks for it whenever it read the tenant's
    /// location afresh, which it does after any change to the shared database.
    ///
    /// A file that is missing or empty (schema version 0) for a tenant whose file the
    /// shared database records as created is [`Error::TenantFileLost`], never a new empty
    /// tenant; a file created here is recorded once its tables exist. A retired file (a
    /// move out or a deletion began) is [`Error::TenantMoving`], except to the move
    /// itself (`moving`).
    pub(crate) fn get(
        &self,
        tenant: &TenantId,
        revalidate: bool,
        moving: bool,
        shared: &SqliteDatabase,
    ) -> Result<SqliteDatabase> {
        let id = tenant.as_uuid();
        // The file's identity is read before the lock is taken; a handle taken out of the
        // map is dropped after it is released: closing a SQLite file checkpoints and syncs
        // it, which must not hold up every other tenant's statements.
        let on_disk = if revalidate { identity(&self.path(tenant)) } else { None };
        let stale = {
            let mut guard = self.open.lock().unwrap_or_else(|p| p.into_inner());
            let (map, tick) = &mut *guard;
            *tick += 1;
            match map.get_mut(&id) {
                // Still the file at the path? (Another process may have moved the tenant.)
                Some(open) if !revalidate || (open.identity.is_some() && open.identity == on_disk) => {
                    open.used = *tick;
                    return Ok(open.db.clone());
                }
                Some(_) => map.remove(&id),
                None => None,
            }
        };
        drop(stale);
        let db = self.builder(tenant).open()?;
        let identity = identity(&self.path(tenant));
        let known = self.verified.lock().unwrap_or_else(|p| p.into_inner()).get(&id).copied();
        let unchanged = match (known, identity) {
            (Some(seen), Some(now)) if seen.identity == now && seen.version == self.schema.version() => {
                // Any failure here (the owner table gone, say) means: check in full.
                db.with_conn(header).ok().is_some_and(|(schema, version, owner)| {
                    schema == seen.schema && version == seen.version && owner == Some(tenant.to_string())
                })
            }
            _ => false,
        };
        if !unchanged && !self.verify(&db, tenant, moving, shared, identity)? {
            // A retired file, opened for the move itself: not kept.
            return Ok(db);
        }
        let mut closing: Vec<Open> = Vec::new();
        let kept = {
            let mut guard = self.open.lock().unwrap_or_else(|p| p.into_inner());
            let (map, tick) = &mut *guard;
            *tick += 1;
            let kept = match map.entry(id) {
                // Another thread opened it meanwhile: keep theirs, close ours (below).
                std::collections::hash_map::Entry::Occupied(e) => {
                    closing.push(Open { db, used: 0, identity });
                    e.get().db.clone()
                }
                std::collections::hash_map::Entry::Vacant(e) => e.insert(Open { db, used: *tick, identity }).db.clone(),
            };
            while map.len() > self.cap {
                let Some(oldest) = map.iter().min_by_key(|(_, o)| o.used).map(|(k, _)| *k) else { break };
                closing.extend(map.remove(&oldest));
            }
            kept
        };
        drop(closing);
        Ok(kept)
    }

    /// Every check a newly opened tenant file gets: recorded but lost, newer than this
    /// build, retired by a move, behind (migrated or refused), its migration records, its
    /// owner, its tables against their declarations. Remembered once passed (see
    /// [`Verified`]). `Ok(false)`: a retired file, which only a move (`moving`) may use
    /// and nobody keeps open.
    fn verify(
        &self,
        db: &SqliteDatabase,
        tenant: &TenantId,
        moving: bool,
        shared: &SqliteDatabase,
        identity: Option<(u64, u64)>,
    ) -> Result<bool> {
        // Read before anything is checked: a schema change made meanwhile (by another
        // process) leaves the remembered cookie behind the file's, so it is checked again.
        let before = db.with_conn(|c| Ok(c.query_row("PRAGMA schema_version", [], |r| r.get::<_, i64>(0))?))?;
        let key = tenant.to_string();
        // Whether the shared database records the file, read before the file's version:
        // another opener may create, migrate and record it in between, and a version 0
        // read before that with "recorded" read after would look like a lost file.
        let recorded: bool = shared
            .with_conn(|c| Ok(c.prepare_cached(super::moves::FILE_RECORDED)?.query_row([&key], |r| r.get(0))?))?;
        let have = Schema::version_of(db)?;
        if have == 0 && recorded {
            return Err(Error::TenantFileLost);
        }
        if have > self.schema.version() {
            return Err(Error::TenantBehind { have, want: self.schema.version() });
        }
        // A retired file (a move out began) has its tables renamed: no migration can run
        // on it. Only the move reads it, and that handle is not kept, so the next open,
        // after the move is undone or done, migrates it.
        if have > 0 && db.with_conn(tablesql::is_retired)? {
            return if moving { Ok(false) } else { Err(Error::TenantMoving) };
        }
        if have < self.schema.version() {
            match self.on_behind {
                OnBehind::Migrate => {
                    self.schema.migrate(db)?;
                    if have == 0 {
                        shared.with_conn(|c| Ok(c.prepare_cached(super::moves::RECORD_FILE)?.execute([&key])?))?;
                    }
                }
                OnBehind::Refuse => return Err(Error::TenantBehind { have, want: self.schema.version() }),
            }
        } else {
            // At the version by its header: its records must still agree with this build
            // (an edited migration, or one registered below the latest, is refused on
            // every open, not only by a fleet run). Reads only, unless an older build's
            // file has its versions adopted.
            self.schema.migrate(db)?;
        }
        db.with_conn(|c| tablesql::check_owner(c, tenant))?;
        // The tenant columns as declared (what `SqliteDatabaseBuilder::open` checks for
        // every other database), then every per-tenant table.
        db.with_conn(tablesql::verify_live)?;
        // Each per-tenant table as declared (checked once per open, not per statement).
        let drift = db.with_conn(|c| {
            let mut out = Vec::new();
            for info in &self.schema.tables {
                out.extend(crate::drift::table_drift(c, info)?);
            }
            Ok(out)
        })?;
        if !drift.is_empty() {
            return Err(Error::SchemaDrift { drift });
        }
        if let Some(identity) = identity {
            let seen = Verified { identity, schema: before, version: self.schema.version() };
            let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
            if verified.len() >= VERIFIED_LIMIT {
                verified.clear();
            }
            verified.insert(tenant.as_uuid(), seen);
        }
        Ok(true)
    }

    /// Takes the lock that a move or deletion of `tenant` holds from start to end, so a
    /// process finding the tenant's file retired can tell a move running now (the lock is
    /// held) from one that was killed (it is free: the operating system released it). A
    /// lock file beside the database, never the database file itself: closing any other
    /// descriptor of a SQLite file would drop SQLite's own locks on it. With `wait`,
    /// blocks until the lock is free; without, returns `None` if it is held.
    pub(crate) fn move_lock(&self, tenant: &TenantId, wait: bool) -> Result<Option<std::fs::File>> {
        let io = |source| Error::Io { what: "lock a tenant's database for a move", source };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.root.join(format!("{tenant}.sqlite3.lock")))
            .map_err(io)?;
        if wait {
            file.lock().map_err(io)?;
            return Ok(Some(file));
        }
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }

    /// Whether the shared database records that `tenant`'s file was created.
    pub(crate) fn recorded(&self, tenant: &TenantId, shared: &SqliteDatabase) -> Result<bool> {
        shared.with_conn(|c| {
            Ok(c.prepare_cached(super::moves::FILE_RECORDED)?.query_row([tenant.to_string()], |r| r.get(0))?)
        })
    }

    /// A database with the per-tenant tables and no rows: what a read of a tenant that
    /// has no file yet runs on, so reading creates nothing.
    pub(crate) fn empty(&self) -> Result<SqliteDatabase> {
        if let Some(db) = self.empty.get() {
            return Ok(db.clone());
        }
        // The declared tables only: reads name nothing else, and the application's
        // migrations (its own SQL, audited) are for real files.
        let db = SqliteDatabase::open_in_memory()?;
        db.write(|conn| {
            for info in &self.schema.tables {
                for sql in info.sqlite_ddl() {
                    conn.execute_batch(&sql)?;
                }
            }
            Ok(())
        })?;
        Ok(self.empty.get_or_init(|| db).clone())
    }

    /// The open handle of `tenant`'s file, if there is one (no check of the file: see
    /// `Layout::routed` for why none is needed).
    pub(crate) fn cached(&self, tenant: &TenantId) -> Option<SqliteDatabase> {
        let mut guard = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let (map, tick) = &mut *guard;
        *tick += 1;
        let open = map.get_mut(&tenant.as_uuid())?;
        open.used = *tick;
        Some(open.db.clone())
    }

    /// Forgets an open handle (before the file is deleted or replaced).
    pub(crate) fn close(&self, tenant: &TenantId) {
        self.verified.lock().unwrap_or_else(|p| p.into_inner()).remove(&tenant.as_uuid());
        let removed = self.open.lock().unwrap_or_else(|p| p.into_inner()).0.remove(&tenant.as_uuid());
        drop(removed);
    }

    /// How many databases are open in the cache now.
    pub(crate) fn open_count(&self) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).0.len()
    }

    /// The tenants that have a database file, sorted.
    pub(crate) fn root(&self) -> &std::path::Path {
        &self.root
    }

    pub(crate) fn tenants_on_disk(&self) -> Result<Vec<TenantId>> {
        let entries = std::fs::read_dir(&self.root)
            .map_err(|source| Error::Io { what: "list the tenants' directory", source })?;
        let mut out: Vec<TenantId> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let id = name.strip_suffix(".sqlite3")?;
                crate::tenant::parse_canonical_uuid(id.as_bytes()).map(TenantId::from_trusted)
            })
            .collect();
        out.sort();
        Ok(out)
    }
}
