//! Tenant lifecycle over the table registry: export, import, delete; fleet migration; the
//! cross-tenant job claim.

use std::collections::BTreeMap;

use rusqlite::types::ValueRef;
use serde_json::{Map, Value as Json};

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::progress::Progress;
use crate::query::Scope;
use crate::query::expr::{Column, Cond, OrderBy};
use crate::query::select::Select;
use crate::query::shape::TableRef;
use crate::query::source::{End, Tables};
use crate::query::write::UpdateBuilder;
use crate::schema::{Owned, TableInfo};
use crate::tablesql;
use crate::tenant::{Admin, TenantId};
use crate::value::{ColumnValue, IntoSql, SqlKind};

/// Every owned row of one tenant, as JSON lines per table (ordered by primary key), and,
/// when exported with a store, the tenant's object keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct TenantExport {
    /// Table name to rows, one JSON object per line.
    pub tables: BTreeMap<String, Vec<String>>,
    /// The tenant's object keys.
    pub objects: Vec<String>,
}

/// What a fleet migration did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct FleetReport {
    /// Tenants brought up to date.
    pub migrated: usize,
    /// Tenants already up to date.
    pub up_to_date: usize,
    /// Tenants that failed, with why; a rerun retries them.
    pub failed: Vec<(TenantId, Error)>,
}

fn to_json(v: ValueRef<'_>) -> Json {
    match v {
        ValueRef::Null => Json::Null,
        ValueRef::Integer(i) => Json::from(i),
        // Finite values as JSON numbers (exact: serde_json's float_roundtrip); the rest by
        // name, since JSON has no infinity or NaN.
        ValueRef::Real(r) => serde_json::Number::from_f64(r).map_or_else(
            || serde_json::json!({ "real": if r.is_nan() { "nan" } else if r > 0.0 { "inf" } else { "-inf" } }),
            Json::Number,
        ),
        ValueRef::Text(t) => Json::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => {
            let hex = crate::hex::encode(b);
            serde_json::json!({ "blob": hex })
        }
    }
}

/// One table's rows of an import, parsed and checked.
type Parsed = (&'static TableInfo, Vec<Vec<rusqlite::types::Value>>);

/// A JSON value of an export as the column's value, or why it does not fit.
fn from_json(v: &Json, kind: SqlKind) -> std::result::Result<rusqlite::types::Value, &'static str> {
    use rusqlite::types::Value as V;
    const WRONG: &str = "a value does not fit its column";
    Ok(match (v, kind) {
        (Json::Null, _) => V::Null,
        (Json::String(s), SqlKind::Uuid) => match crate::tenant::parse_canonical_uuid(s.as_bytes()) {
            Some(_) => V::Text(s.clone()),
            None => return Err("a UUID column holds text that is not a canonical UUID"),
        },
        (Json::String(s), SqlKind::Text) => V::Text(s.clone()),
        (Json::Number(n), SqlKind::Integer) => V::Integer(n.as_i64().ok_or(WRONG)?),
        // Exports write booleans as 0 and 1; JSON's own booleans mean the same.
        (Json::Bool(b), SqlKind::Integer) => V::Integer(i64::from(*b)),
        (Json::Number(n), SqlKind::Real) => V::Real(n.as_f64().ok_or(WRONG)?),
        (Json::Object(o), SqlKind::Real) => match o.get("real").and_then(Json::as_str) {
            Some("inf") => V::Real(f64::INFINITY),
            Some("-inf") => V::Real(f64::NEG_INFINITY),
            Some("nan") => V::Real(f64::NAN),
            _ => return Err(WRONG),
        },
        (Json::Object(o), SqlKind::Blob) => {
            let hex = o.get("blob").and_then(Json::as_str).ok_or(WRONG)?;
            let bytes = crate::hex::decode(hex).ok_or(WRONG)?;
            V::Blob(bytes)
        }
        _ => return Err(WRONG),
    })
}

impl Layout {
    pub(crate) fn database_for(
        &self,
        info: &'static TableInfo,
        tenant: &TenantId,
        create: bool,
    ) -> Result<Option<crate::SqliteDatabase>> {
        if !self.is_per_tenant(info) || self.location(tenant)? == crate::layout::Location::Shared {
            return Ok(Some(self.shared_database().clone()));
        }
        let path = self.tenant_path(tenant);
        if !create && path.as_ref().is_some_and(|p| !p.exists()) {
            return Ok(None);
        }
        self.tenant_database(tenant).map(Some)
    }

    /// Every owned row of `tenant`, table by table from the registry.
    pub fn export_tenant(&self, tenant: &TenantId) -> Result<TenantExport> {
        self.export_rows(tenant)
    }

    /// How many rows `tenant` has in each owned table (the operator's `tenant show`).
    #[cfg(feature = "cli")]
    pub(crate) fn row_counts(&self, tenant: &TenantId) -> Result<Vec<(&'static str, i64)>> {
        let mut out = Vec::new();
        for info in crate::owned_tables() {
            let Some(col) = info.tenant_column() else { continue };
            let Some(db) = self.database_for(info, tenant, false)? else {
                out.push((info.name, 0));
                continue;
            };
            let n = db.with_conn(|conn| {
                if !tablesql::table_exists(conn, info.name)? {
                    return Ok(0);
                }
                Ok(conn.query_row(&tablesql::count_tenant_rows(info, col), [tenant.to_string()], |r| r.get(0))?)
            })?;
            out.push((info.name, n));
        }
        Ok(out)
    }

    fn export_rows(&self, tenant: &TenantId) -> Result<TenantExport> {
        let mut export = TenantExport::default();
        for info in crate::owned_tables() {
            let Some(db) = self.database_for(info, tenant, false)? else { continue };
            let Some(col) = info.tenant_column() else { continue };
            let sql = tablesql::select_tenant_rows(info, info.name, col);
            let lines = db.with_conn(|conn| {
                if !tablesql::table_exists(conn, info.name)? {
                    return Ok(Vec::new());
                }
                let mut stmt = conn.prepare(&sql)?;
                let mut rows = stmt.query([tenant.to_string()])?;
                let mut lines = Vec::new();
                while let Some(row) = rows.next()? {
                    let mut obj = Map::new();
                    for (i, c) in info.columns.iter().enumerate() {
                        obj.insert(c.name.to_owned(), to_json(row.get_ref(i)?));
                    }
                    lines.push(Json::Object(obj).to_string());
                }
                Ok(lines)
            })?;
            if !lines.is_empty() {
                export.tables.insert(info.name.to_owned(), lines);
            }
        }
        Ok(export)
    }

    /// Writes an export back for `tenant`. Every line of every table is parsed and checked
    /// first, so a bad line writes nothing: a table the program does not declare as owned
    /// ([`Error::ImportUnknownTable`]), a line that is not a JSON object, longer than
    /// 16 MiB, naming another tenant in its tenant column, or holding a value its column
    /// cannot ([`Error::InvalidImport`], with the table and line). Then each database
    /// (the tenant's file, the shared one) is written in one transaction: all of its rows
    /// or none, a row whose key the tenant already has being [`Error::Conflict`]. The
    /// tenant column is set from `tenant`.
    pub fn import_tenant(&self, tenant: &TenantId, export: &TenantExport) -> Result<usize> {
        const MAX_LINE: usize = 16 << 20;
        let owned: Vec<&'static TableInfo> = crate::owned_tables().collect();
        if export.tables.keys().any(|name| !owned.iter().any(|t| t.name == name.as_str())) {
            return Err(Error::ImportUnknownTable);
        }
        let me = tenant.to_string();
        // Rows for the tenant's own file, and rows for the shared database.
        let (mut own, mut shared): (Vec<Parsed>, Vec<Parsed>) = (Vec::new(), Vec::new());
        let in_own_file = self.inner.tenants.is_some() && self.location(tenant)? == crate::layout::Location::OwnFile;
        for info in owned {
            let Some(lines) = export.tables.get(info.name) else { continue };
            let rows = lines
                .iter()
                .enumerate()
                .map(|(n, line)| {
                    let bad = |why| Error::InvalidImport { table: info.name, line: n + 1, why };
                    if line.len() > MAX_LINE {
                        return Err(bad("the line is longer than 16 MiB"));
                    }
                    let obj: Map<String, Json> =
                        serde_json::from_str(line).map_err(|_| bad("the line is not a JSON object"))?;
                    info.columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| match obj.get(c.name) {
                            Some(Json::String(other)) if Some(i) == info.tenant && *other != me => {
                                Err(bad("the line belongs to another tenant"))
                            }
                            _ if Some(i) == info.tenant => Ok(rusqlite::types::Value::Text(me.clone())),
                            value => match from_json(value.unwrap_or(&Json::Null), c.kind).map_err(bad)? {
                                // What the typed reads would reject (a bool of 7, an i32 out
                                // of range, null in a non-optional field) is refused here.
                                v if (c.accepts)(rusqlite::types::ValueRef::from(&v)) => Ok(v),
                                _ => Err(bad("a value does not fit its field's type")),
                            },
                        })
                        .collect::<Result<Vec<_>>>()
                })
                .collect::<Result<Vec<_>>>()?;
            if in_own_file && self.is_per_tenant(info) { own.push((info, rows)) } else { shared.push((info, rows)) }
        }
        let write_all = |db: &crate::SqliteDatabase, tables: &[Parsed]| -> Result<usize> {
            db.write(|conn| {
                let mut count = 0;
                for (info, rows) in tables {
                    let mut stmt = conn.prepare(&tablesql::insert_row(info))?;
                    for row in rows {
                        stmt.execute(rusqlite::params_from_iter(row.iter()))
                            .map_err(|e| crate::db::exec::map_write_error(e, info.name))?;
                    }
                    count += rows.len();
                }
                Ok(count)
            })
        };
        let mut count = 0;
        if !own.is_empty() {
            count += write_all(&self.tenant_database(tenant)?, &own)?;
        }
        if !shared.is_empty() {
            count += write_all(self.shared_database(), &shared)?;
        }
        Ok(count)
    }

    /// Deletes every owned row of `tenant` in every table, and in layouts B and C the
    /// tenant's database file, wherever its location says the tenant lives (rows a killed
    /// move or a stale writer left in the other place go too). Running it again deletes
    /// nothing. Returns the rows deleted.
    pub fn delete_tenant(&self, tenant: &TenantId) -> Result<usize> {
        let lock = self.tenant_lock(tenant);
        let _exclusive = lock.write().unwrap_or_else(|p| p.into_inner());
        let _held = self.move_lock(tenant)?;
        self.delete_tenant_locked(tenant)
    }

    /// [`delete_tenant`](Self::delete_tenant) for a caller holding the tenant's locks.
    pub(crate) fn delete_tenant_locked(&self, tenant: &TenantId) -> Result<usize> {
        let _forget = crate::layout::moves::ForgetOnDrop(self, *tenant);
        let tables: Vec<&'static TableInfo> = crate::owned_tables().collect();
        let delete_rows = |conn: &rusqlite::Connection| -> Result<usize> {
            let mut n = 0;
            for info in &tables {
                let Some(col) = info.tenant_column() else { continue };
                if tablesql::table_exists(conn, info.name)? {
                    n += conn.execute(&tablesql::delete_tenant_rows(info, col), [tenant.to_string()])?;
                }
            }
            Ok(n)
        };
        let mut deleted = 0;
        // The file first: emptied and retired in one transaction, so a process holding it
        // open sees the deletion at its next statement (see `Layout::routed`). A kill
        // before the shared database is done leaves the file empty and retired; the next
        // use of the tenant brings it back (`Layout::tenant_database`), and a rerun
        // finishes the deletion.
        if let (Some(tenants), Some(path)) = (&self.inner.tenants, self.tenant_path(tenant))
            && path.exists()
        {
            tenants.close(tenant);
            let file = tenants.builder(tenant).open()?;
            let per_tenant: Vec<&'static TableInfo> =
                tables.iter().copied().filter(|t| self.is_per_tenant(t)).collect();
            deleted += file.write(|conn| {
                let n = delete_rows(conn)?;
                tablesql::retire(conn, &per_tenant)?;
                Ok(n)
            })?;
        }
        deleted += self.shared_database().write(|conn| {
            // Its location goes too: a change to the shared database, which every process
            // caching the tenant's location sees.
            conn.execute(crate::layout::moves::FORGET_LOCATION, [tenant.to_string()])?;
            conn.execute(crate::layout::moves::FORGET_FILE, [tenant.to_string()])?;
            Ok(delete_rows(conn)? + tablesql::delete_tenant_jobs(conn, tenant)?)
        })?;
        // Whether or not the database file is there: a rerun of a deletion killed after the
        // file went removes the log files left beside it.
        self.remove_file(tenant)?;
        Ok(deleted)
    }

    /// Brings every per-tenant database under the root to the current schema version,
    /// tenant by tenant, each migration in its own transaction: an interrupted run leaves
    /// every tenant at a version it recorded, and a rerun finishes the rest. A file whose
    /// recorded migrations were edited, or that a newer build migrated, is reported in
    /// [`FleetReport::failed`] and left alone. `progress` is called after each tenant.
    /// Audited through `admin`.
    pub fn migrate_fleet(&self, admin: &Admin, progress: impl FnMut(Progress<'_>)) -> Result<FleetReport> {
        admin.tag().fire(crate::AuditAction::Operation { name: "migrate every tenant database" });
        self.fleet(false, progress)
    }

    /// What [`migrate_fleet`](Self::migrate_fleet) would do, without writing anything:
    /// [`FleetReport::migrated`] counts the tenants it would migrate.
    pub fn pending_fleet(&self, admin: &Admin, progress: impl FnMut(Progress<'_>)) -> Result<FleetReport> {
        admin.tag().fire(crate::AuditAction::Operation { name: "check every tenant database's migrations" });
        self.fleet(true, progress)
    }

    fn fleet(&self, dry_run: bool, mut progress: impl FnMut(Progress<'_>)) -> Result<FleetReport> {
        let Some(tenants) = &self.inner.tenants else { return Ok(FleetReport::default()) };
        let runner = tenants.schema.runner()?;
        let all = tenants.tenants_on_disk()?;
        let mut report = FleetReport::default();
        for (done, tenant) in all.iter().enumerate() {
            let result = tenants.builder(tenant).existing_only().open().and_then(|db| {
                // A retired file (a move or deletion began) has its tables renamed.
                if db.with_conn(tablesql::is_retired)? {
                    return Err(Error::TenantMoving);
                }
                let report = runner.run(&db, dry_run)?;
                // Tenant files are opened without the tenant-column check (the layout makes
                // it when it serves them); a fleet run reports a file that fails it.
                db.with_conn(tablesql::verify_live)?;
                Ok(report)
            });
            match result {
                Ok(r) if r.applied.is_empty() && !r.created => report.up_to_date += 1,
                Ok(_) => report.migrated += 1,
                Err(e) => report.failed.push((*tenant, e)),
            }
            progress(Progress::new("tenant databases", done + 1, all.len()));
        }
        Ok(report)
    }

    /// Claims the oldest row of a shared queue table that matches `queued` across all
    /// tenants, and sets `mark` to `to` on it, in one write transaction: two workers never
    /// claim the same row. Returns the row's tenant, so the job's work is scoped like a
    /// request from then on. Audited through `admin` once per claim (an
    /// [`Operation`](crate::AuditAction::Operation) and the claimed row's
    /// [`MintTenant`](crate::AuditAction::MintTenant)); a poll that finds nothing is not an
    /// event, so idle workers do not flood the audit log.
    pub fn claim_next<T: Owned, V: ColumnValue>(
        &self,
        admin: &Admin,
        queued: Cond<Tables<T, End>>,
        order: OrderBy<Tables<T, End>>,
        mark: Column<T, V>,
        to: impl IntoSql<V>,
    ) -> Result<Option<(TenantId, T)>> {
        if self.is_per_tenant(T::INFO) {
            return Err(Error::Placement { shared: "(cross-tenant claim)", per_tenant: T::INFO.name });
        }
        let tx = self.shared_database().begin()?;
        let quiet = Scope::Admin(admin.tag().quiet());
        let next = Select::<Tables<T, End>>::new(TableRef::of(T::INFO), quiet).filter(queued).order_by(order).limit(1);
        let Some(row) = tx.fetch_optional(next)? else { return Ok(None) };
        let tenant = row.__tenant().ok_or(Error::NotOwned { table: T::INFO.name })?;
        let key = row.__key();
        // From here on the work is scoped: the update and the re-read carry the tenant.
        let update = UpdateBuilder::<T>::new(Scope::tenant(&tenant))
            .set(mark, to)
            .filter(Cond::primary_key_eq::<T>(key.clone()));
        tx.execute(update)?;
        let claimed =
            tx.fetch_one(Select::<Tables<T, End>>::by_key(TableRef::of(T::INFO), Scope::tenant(&tenant), key.into()))?;
        tx.commit()?;
        admin.tag().fire(crate::AuditAction::Operation { name: "claim the next queued row across tenants" });
        admin.tag().fire(crate::AuditAction::MintTenant { tenant: tenant.as_uuid() });
        Ok(Some((tenant, claimed)))
    }
}

#[cfg(feature = "object-store")]
impl Layout {
    /// [`export_tenant`](Layout::export_tenant), plus every object key under the tenant's
    /// prefix in `store`.
    pub async fn export_tenant_with_objects(
        &self,
        tenant: &TenantId,
        store: &crate::TenantStore,
    ) -> Result<TenantExport> {
        let mut export = self.export_tenant(tenant)?;
        let keys = store.list(&crate::TenantPrefix::root(tenant)).await?;
        export.objects = keys.iter().map(|k| k.as_str().to_owned()).collect();
        Ok(export)
    }

    /// [`delete_tenant`](Layout::delete_tenant), plus every object under the tenant's
    /// prefix in `store`. Returns (rows, objects) deleted; a second run deletes nothing.
    pub async fn delete_tenant_with_objects(
        &self,
        tenant: &TenantId,
        store: &crate::TenantStore,
    ) -> Result<(usize, usize)> {
        let objects = store.delete_prefix(&crate::TenantPrefix::root(tenant)).await?;
        Ok((self.delete_tenant(tenant)?, objects))
    }
}
