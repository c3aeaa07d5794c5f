//! The isolation audit: a scan of the shared database, every tenant's file and (with the
//! `object-store` feature) a bucket for data that sits where no tenant's statements would
//! look, or where another tenant's would.

use std::collections::BTreeSet;
use std::path::PathBuf;

use rusqlite::{Connection, OpenFlags};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::progress::Progress;
use crate::schema::TableInfo;
use crate::tablesql;
use crate::tenant::{Admin, AuditAction};

/// One isolation fault an audit found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finding {
    /// Rows in a database they do not belong in: another tenant's rows in a tenant's own
    /// file, or, in the shared database, rows of a per-tenant table whose tenant does not
    /// live there. No statement of their tenant reads them where they are.
    MisplacedRows {
        /// The database: `shared` or the tenant file's name.
        database: String,
        /// The table.
        table: &'static str,
        /// How many rows.
        rows: i64,
    },
    /// An owned table whose primary key or a unique key does not lead with the tenant
    /// column (a key that one tenant's rows can collide on with another's).
    TenantKeys {
        /// The database: `shared` or the tenant file's name.
        database: String,
        /// The table.
        table: &'static str,
        /// What is wrong.
        why: &'static str,
    },
    /// A file in the tenants' directory that is not a tenant's database (`<uuid>.sqlite3`
    /// that SQLite can read).
    StrayFile {
        /// Its path.
        path: PathBuf,
    },
    /// A tenant's database file that could not be scanned (locked past the busy timeout,
    /// unreadable); the rest of the audit went on.
    UnreadableFile {
        /// Its path.
        path: PathBuf,
        /// Why, as the engine said it (a category, never a value).
        why: String,
    },
    /// A tenant's file whose tenant is not known (no account, or, without the account
    /// tables, no record of the file).
    UnknownTenantFile {
        /// The tenant the file is named for.
        tenant: Uuid,
    },
    /// An object whose key is not under any tenant's prefix.
    ObjectOutsideTenant {
        /// The key.
        key: String,
    },
    /// A tenant prefix in the bucket whose tenant is not known.
    UnknownTenantPrefix {
        /// The tenant the prefix is named for.
        tenant: Uuid,
        /// How many objects are under it.
        objects: usize,
    },
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finding::MisplacedRows { database, table, rows } => {
                write!(f, "{database}: {table}: {rows} row(s) of a tenant that does not live in this database")
            }
            Finding::TenantKeys { database, table, why } => write!(f, "{database}: {table}: {why}"),
            Finding::StrayFile { path } => {
                write!(f, "{}: in the tenants' directory, not a tenant's database", path.display())
            }
            Finding::UnreadableFile { path, why } => write!(f, "{}: could not be scanned: {why}", path.display()),
            Finding::UnknownTenantFile { tenant } => write!(f, "{tenant}.sqlite3: no known tenant {tenant}"),
            Finding::ObjectOutsideTenant { key } => write!(f, "object {key:?}: not under any tenant's prefix"),
            Finding::UnknownTenantPrefix { tenant, objects } => {
                write!(f, "objects under {tenant}/ ({objects}): no known tenant {tenant}")
            }
        }
    }
}

/// What [`Layout::audit`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditReport {
    /// Every fault, in the order found.
    pub findings: Vec<Finding>,
    /// Databases scanned (the shared one and each tenant file).
    pub databases: usize,
    /// The tenants the layout knows: every account when the account tables exist, else
    /// every tenant with a recorded file or location. Pass them to
    /// [`TenantStore::audit`](crate::TenantStore::audit).
    pub known_tenants: BTreeSet<Uuid>,
}

/// The tenants the shared database knows.
fn known_tenants(conn: &Connection) -> Result<BTreeSet<Uuid>> {
    // tenantry's accounts, if this database has them (an application table that happens
    // to be called `users` is not).
    let accounts = tablesql::table_exists(conn, "tenantry_schema_migrations")?
        && conn.prepare("SELECT 1 FROM tenantry_schema_migrations WHERE scope = 'tenantry.auth'")?.exists([])?;
    let sql = if accounts {
        "SELECT id FROM users"
    } else if tablesql::table_exists(conn, "tenantry_tenant_files")? {
        "SELECT tenant FROM tenantry_tenant_files UNION SELECT tenant FROM tenantry_tenant_locations"
    } else {
        return Ok(BTreeSet::new());
    };
    let ids: Vec<String> = conn.prepare(sql)?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(ids.iter().filter_map(|id| Uuid::parse_str(id).ok()).collect())
}

/// Whose rows a database may hold.
#[derive(Clone, Copy)]
enum Belongs<'a> {
    /// Any tenant's (a shared table).
    Anyone,
    /// Tenants moved into the shared database (a per-tenant table there).
    MovedIn,
    /// This one tenant's (its own file).
    Only(&'a str),
}

/// Each owned table in `tables` that exists on `conn`: its keys lead with the tenant
/// column, and it holds no row that does not belong.
fn scan_tables(
    conn: &Connection,
    database: &str,
    tables: &[&'static TableInfo],
    belongs: Belongs<'_>,
    out: &mut Vec<Finding>,
) -> Result<()> {
    for info in tables {
        let Some(column) = info.tenant_column() else { continue };
        if !tablesql::table_exists(conn, info.name)? {
            continue;
        }
        match tablesql::verify_table(conn, info) {
            Ok(()) => {}
            Err(Error::SchemaMismatch { table, why }) => {
                out.push(Finding::TenantKeys { database: database.to_owned(), table, why });
                continue;
            }
            Err(e) => return Err(e),
        }
        let rows: i64 = match belongs {
            Belongs::Anyone => 0,
            Belongs::MovedIn => conn.query_row(&tablesql::count_rows_not_moved_in(info, column), [], |r| r.get(0))?,
            Belongs::Only(tenant) => {
                conn.query_row(&tablesql::count_rows_of_other_tenants(info, column), [tenant], |r| r.get(0))?
            }
        };
        if rows > 0 {
            out.push(Finding::MisplacedRows { database: database.to_owned(), table: info.name, rows });
        }
    }
    Ok(())
}

impl Layout {
    /// Scans the shared database and every tenant's file for isolation faults: rows in a
    /// database their tenant does not live in, owned tables whose keys do not lead with
    /// the tenant column, files in the tenants' directory that are not a tenant's
    /// database, and tenant files of no known tenant. Reads only (tenant files are opened
    /// read-only, without tenantry's checks, so a broken one is reported, not refused).
    /// `progress` is called after each tenant file. Audited through `admin`.
    ///
    /// ```
    /// # fn main() -> tenantry::Result<()> {
    /// use tenantry::{Admin, SqliteDatabase, Layout};
    /// let layout = Layout::shared(SqliteDatabase::open_in_memory()?)?;
    /// let report = layout.audit(&Admin::new("nightly isolation audit"), |_| {})?;
    /// assert!(report.findings.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn audit(&self, admin: &Admin, mut progress: impl FnMut(Progress<'_>)) -> Result<AuditReport> {
        admin.tag().fire(AuditAction::Operation { name: "audit tenant isolation" });
        let owned: Vec<&'static TableInfo> = crate::owned_tables().collect();
        let per_tenant: Vec<&'static TableInfo> = owned.iter().copied().filter(|t| self.is_per_tenant(t)).collect();
        let mut report = AuditReport { databases: 1, ..AuditReport::default() };
        // The shared database: a per-tenant table holds only tenants moved into it.
        self.shared_database().with_conn(|conn| {
            report.known_tenants = known_tenants(conn)?;
            let (keys_only, per_tenant_here): (Vec<_>, Vec<_>) = owned.iter().partition(|t| !self.is_per_tenant(t));
            scan_tables(conn, "shared", &keys_only, Belongs::Anyone, &mut report.findings)?;
            scan_tables(conn, "shared", &per_tenant_here, Belongs::MovedIn, &mut report.findings)
        })?;
        let Some(tenants) = &self.inner.tenants else { return Ok(report) };
        let entries: Vec<PathBuf> = std::fs::read_dir(tenants.root())
            .map_err(|source| Error::Io { what: "list the tenants' directory", source })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        let files: Vec<&PathBuf> = entries.iter().filter(|p| !is_companion(p)).collect();
        for (done, path) in files.iter().enumerate() {
            scan_file(path, &per_tenant, &mut report)?;
            progress(Progress::new("audit tenant databases", done + 1, files.len()));
        }
        Ok(report)
    }
}

/// One file in the tenants' directory.
fn scan_file(path: &std::path::Path, per_tenant: &[&'static TableInfo], report: &mut AuditReport) -> Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let tenant = name.strip_suffix(".sqlite3").and_then(|id| crate::tenant::parse_canonical_uuid(id.as_bytes()));
    // A directory, a link to nowhere, or a name that is no tenant's.
    let Some(tenant) = tenant.filter(|_| path.is_file()) else {
        report.findings.push(Finding::StrayFile { path: path.to_owned() });
        return Ok(());
    };
    report.databases += 1;
    if !report.known_tenants.contains(&tenant) {
        report.findings.push(Finding::UnknownTenantFile { tenant });
    }
    let owner = tenant.to_string();
    let scanned = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|conn| conn.busy_timeout(std::time::Duration::from_secs(5)).map(|()| conn))
        .map_err(Error::from)
        .and_then(|conn| scan_tables(&conn, name, per_tenant, Belongs::Only(&owner), &mut report.findings));
    match scanned {
        Ok(()) => Ok(()),
        Err(Error::Corrupt { .. }) => {
            report.findings.push(Finding::StrayFile { path: path.to_owned() });
            Ok(())
        }
        Err(e) => {
            report.findings.push(Finding::UnreadableFile { path: path.to_owned(), why: e.to_string() });
            Ok(())
        }
    }
}

/// SQLite's files beside a database (its journal, write-ahead log and shared memory) and
/// tenantry's move locks: not databases of their own.
fn is_companion(path: &std::path::Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    ["-wal", "-shm", "-journal", ".lock"].iter().any(|s| name.ends_with(s))
}

#[cfg(feature = "object-store")]
impl crate::TenantStore {
    /// Lists the whole bucket and reports every object whose key is not under a tenant's
    /// prefix, and each tenant prefix whose tenant is not in `known` (from
    /// [`AuditReport::known_tenants`]). Audited through `admin`.
    pub async fn audit(&self, admin: &Admin, known: &BTreeSet<Uuid>) -> Result<Vec<Finding>> {
        admin.tag().fire(AuditAction::Operation { name: "audit the bucket's tenant prefixes" });
        let mut unknown: std::collections::BTreeMap<Uuid, usize> = std::collections::BTreeMap::new();
        let mut out = Vec::new();
        for key in self.all_keys().await? {
            let first = key.split('/').next().unwrap_or_default();
            match crate::tenant::parse_canonical_uuid(first.as_bytes()) {
                Some(tenant) if key.len() > first.len() + 1 => {
                    if !known.contains(&tenant) {
                        *unknown.entry(tenant).or_default() += 1;
                    }
                }
                _ => out.push(Finding::ObjectOutsideTenant { key }),
            }
        }
        out.extend(unknown.into_iter().map(|(tenant, objects)| Finding::UnknownTenantPrefix { tenant, objects }));
        Ok(out)
    }
}
