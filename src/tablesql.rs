//! Hand-written SQL over declared tables: the one module that writes SQL text by hand
//! from declarations (lifecycle, moves, layout lookup, auth merge and sweep), and the
//! comparison of declarations with the live database.
//!
//! Two walls stand between a declared name and the SQL text. Every declaration is
//! validated when the registry is checked (`schema::check_declaration`: plain SQL
//! identifiers of bounded length, indexes in range, a text tenant column), and every
//! identifier here is written through `schema::ident`, which quotes and escapes it, so
//! even a name that skipped the first wall names a table that does not exist rather than
//! SQL. Then, because hidden items can describe a table falsely, [`verify_live`] compares
//! each owned declaration with the live database when a database opens.

use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension as _};
use rustc_hash::FxHashSet;

use crate::error::{Error, Result};
use crate::schema::{TableInfo, ident};
use crate::tenant::TenantId;

/// Whether the database on `conn` has a table named `name`.
pub(crate) fn table_exists(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn
        // SQLite finds a table whatever the case of its name (ASCII letters), quoted or not,
        // so a declaration of `Projects` is the live table `projects`.
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1 COLLATE NOCASE)",
        )?
        .query_row([name], |r| r.get(0))?)
}

/// Compares every owned declaration with the live tables of `conn`: the declared tenant
/// column must exist with a text type and `NOT NULL`, lead the primary key, and lead
/// every unique key (but those declared `#[unique(global)]`). A declaration that
/// disagrees (a hand-written `Table` impl naming another column as the tenant, say) makes
/// the database refuse to open, naming the table. Tables not created yet are checked the
/// first time a statement naming them is compiled (`db::late`).
///
/// A schema is what `sqlite_master` says (SQLite itself loads it from there), so a schema
/// this process already found consistent is recognised by the digest of that text: one
/// query per open instead of several per table, for the thousands of identical tenant
/// files of layout B.
pub(crate) fn verify_live(conn: &Connection) -> Result<()> {
    static CONSISTENT: Mutex<Option<FxHashSet<[u8; 32]>>> = Mutex::new(None);
    let digest = schema_digest(conn)?;
    if CONSISTENT.lock().unwrap_or_else(|p| p.into_inner()).as_ref().is_some_and(|seen| seen.contains(&digest)) {
        return Ok(());
    }
    for info in crate::registry::owned_tables() {
        if table_exists(conn, info.name)? {
            verify_table(conn, info)?;
        }
    }
    CONSISTENT.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(FxHashSet::default).insert(digest);
    Ok(())
}

/// SHA-256 of every table's and index's definition in `sqlite_master`, in name order.
fn schema_digest(conn: &Connection) -> Result<[u8; 32]> {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    let mut stmt = conn.prepare_cached(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY type, name",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        for i in 0..4 {
            let text: &[u8] = match row.get_ref(i)? {
                rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => t,
                _ => b"",
            };
            hash.update((text.len() as u64).to_le_bytes());
            hash.update(text);
        }
    }
    Ok(hash.finalize().into())
}

/// [`verify_live`] for one table that exists.
pub(crate) fn verify_table(conn: &Connection, info: &'static TableInfo) -> Result<()> {
    let Some(tenant) = info.tenant_column() else { return Ok(()) };
    let mismatch = |why: &'static str| Error::SchemaMismatch { table: info.name, why };
    // (name, declared type, not null, position in the primary key)
    let columns: Vec<(String, String, bool, i64)> = conn
        .prepare(&format!("PRAGMA table_info({})", ident(info.name)))?
        .query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?, r.get(5)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let Some((_, kind, not_null, _)) = columns.iter().find(|c| c.0.eq_ignore_ascii_case(tenant)) else {
        return Err(mismatch("the declared tenant column does not exist"));
    };
    if !(kind.eq_ignore_ascii_case("TEXT") || kind.eq_ignore_ascii_case("UUID")) || !not_null {
        return Err(mismatch("the declared tenant column is not a NOT NULL text column"));
    }
    let leads_pk = columns.iter().any(|c| c.3 == 1 && c.0.eq_ignore_ascii_case(tenant));
    if !leads_pk {
        return Err(mismatch("the declared tenant column does not lead the primary key"));
    }
    let indexes: Vec<(String, bool)> = conn
        .prepare(&format!("PRAGMA index_list({})", ident(info.name)))?
        .query_map([], |r| Ok((r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (index, _) in indexes.iter().filter(|(_, unique)| *unique) {
        let cols: Vec<String> = conn
            .prepare(&format!("PRAGMA index_info({})", ident(index)))?
            .query_map([], |r| r.get::<_, Option<String>>(2))?
            .map(|c| c.map(|c| c.unwrap_or_default()))
            .collect::<rusqlite::Result<_>>()?;
        let leads = cols.first().is_some_and(|c| c.eq_ignore_ascii_case(tenant));
        if !leads && !declared_global(info, &cols) {
            return Err(mismatch("a unique key does not lead with the declared tenant column"));
        }
    }
    Ok(())
}

/// Whether a live unique key on `cols` is one `info` declares `global` (unique across
/// tenants on purpose), so it need not lead with the tenant column.
pub(crate) fn declared_global(info: &TableInfo, cols: &[String]) -> bool {
    info.unique.iter().filter(|u| u.global).any(|u| {
        u.columns.len() == cols.len()
            && u.columns.iter().zip(cols).all(|(&c, live)| info.columns[c].name.eq_ignore_ascii_case(live))
    })
}

/// `SELECT` every column of `info`, from the table named `table` (its own name, or its
/// [`retired_name`]), for one tenant (`?1`), in primary-key order.
pub(crate) fn select_tenant_rows(info: &TableInfo, table: &str, tenant: &str) -> String {
    let cols: Vec<String> = info.columns.iter().map(|c| ident(c.name)).collect();
    format!(
        "SELECT {} FROM {} WHERE {} = ?1 ORDER BY {}",
        cols.join(", "),
        ident(table),
        ident(tenant),
        ident(info.columns[info.primary_key].name)
    )
}

/// `INSERT` one row of every column of `info`, bound `?1..?n` in declaration order.
pub(crate) fn insert_row(info: &TableInfo) -> String {
    let cols: Vec<String> = info.columns.iter().map(|c| ident(c.name)).collect();
    let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
    format!("INSERT INTO {} ({}) VALUES ({})", ident(info.name), cols.join(", "), marks.join(", "))
}

/// [`insert_row`], skipping a row whose key the table already holds (`INSERT OR IGNORE`).
pub(crate) fn insert_row_or_ignore(info: &TableInfo) -> String {
    insert_row(info).replacen("INSERT INTO", "INSERT OR IGNORE INTO", 1)
}

/// `DELETE` every row of one tenant (`?1`).
pub(crate) fn delete_tenant_rows(info: &TableInfo, tenant: &str) -> String {
    format!("DELETE FROM {} WHERE {} = ?1", ident(info.name), ident(tenant))
}

/// Whether one tenant (`?1`) has a row.
pub(crate) fn tenant_has_rows(info: &TableInfo, tenant: &str) -> String {
    format!("SELECT EXISTS (SELECT 1 FROM {} WHERE {} = ?1)", ident(info.name), ident(tenant))
}

/// How many rows one tenant (`?1`) has.
pub(crate) fn count_tenant_rows(info: &TableInfo, tenant: &str) -> String {
    format!("SELECT COUNT(*) FROM {} WHERE {} = ?1", ident(info.name), ident(tenant))
}

/// How many rows belong to a tenant other than `?1` (in `?1`'s own file: the audit).
pub(crate) fn count_rows_of_other_tenants(info: &TableInfo, tenant: &str) -> String {
    format!("SELECT COUNT(*) FROM {} WHERE {} IS NOT ?1", ident(info.name), ident(tenant))
}

/// How many rows of a per-tenant table in the shared database belong to a tenant that was
/// not moved into it (the audit).
pub(crate) fn count_rows_not_moved_in(info: &TableInfo, tenant: &str) -> String {
    format!(
        "SELECT COUNT(*) FROM {} WHERE {} NOT IN \
         (SELECT tenant FROM tenantry_tenant_locations WHERE location = 'shared')",
        ident(info.name),
        ident(tenant)
    )
}

/// Re-owns the rows of tenant `?2` to tenant `?1`, leaving those whose key `?1` already
/// holds (`UPDATE OR IGNORE`).
pub(crate) fn reown_rows(info: &TableInfo, tenant: &str) -> String {
    format!("UPDATE OR IGNORE {} SET {t} = ?1 WHERE {t} = ?2", ident(info.name), t = ident(tenant))
}

/// ` AND NOT EXISTS (a row of `info` owned by users.id)`, for the sweep of unreachable
/// anonymous users.
pub(crate) fn no_rows_of_user(info: &TableInfo, tenant: &str) -> String {
    format!(" AND NOT EXISTS (SELECT 1 FROM {} WHERE {} = users.id)", ident(info.name), ident(tenant))
}

/// The table whose presence marks a tenant file as retired: a move out of it or a
/// deletion of the tenant began. Its per-tenant tables are renamed in the same
/// transaction (the rows kept, for the move to resume or be undone), so every statement
/// a stale handle runs on the file fails instead of reading or writing rows nobody else
/// sees.
const RETIRED: &str = "tenantry_retired";

/// The name a per-tenant table has in a retired file.
pub(crate) fn retired_name(info: &TableInfo) -> String {
    format!("tenantry_moving_{}", info.name)
}

/// Whether the file on `conn` is retired.
pub(crate) fn is_retired(conn: &Connection) -> Result<bool> {
    table_exists(conn, RETIRED)
}

/// Retires the file on `conn` (inside the caller's transaction): each of `tables` is
/// renamed out of the way, its rows kept, and the marker is created. Idempotent.
pub(crate) fn retire(conn: &Connection, tables: &[&'static TableInfo]) -> Result<()> {
    for info in tables {
        if table_exists(conn, info.name)? && !table_exists(conn, &retired_name(info))? {
            conn.execute_batch(&format!("ALTER TABLE {} RENAME TO {}", ident(info.name), ident(&retired_name(info))))?;
        }
    }
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {RETIRED} (since TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
    ))?;
    Ok(())
}

/// Undoes [`retire`]: a move or deletion that was killed (or whose rerun stays put).
pub(crate) fn restore(conn: &Connection, tables: &[&'static TableInfo]) -> Result<()> {
    for info in tables {
        if table_exists(conn, &retired_name(info))? && !table_exists(conn, info.name)? {
            conn.execute_batch(&format!("ALTER TABLE {} RENAME TO {}", ident(&retired_name(info)), ident(info.name)))?;
        }
    }
    conn.execute_batch(&format!("DROP TABLE IF EXISTS {RETIRED}"))?;
    Ok(())
}

/// A merge's part of the job queue (`tenantry_jobs`, in the shared database, see
/// `crate::jobs`): the jobs of `from` become `into`'s; returns how many. Those whose id
/// `into` already has stay, and go with `from`'s deletion.
pub(crate) fn reown_tenant_jobs(conn: &Connection, from: &TenantId, into: &TenantId) -> Result<usize> {
    if !table_exists(conn, "tenantry_jobs")? {
        return Ok(0);
    }
    Ok(conn
        .prepare_cached("UPDATE OR IGNORE tenantry_jobs SET tenant = ?1 WHERE tenant = ?2")?
        .execute([into.to_string(), from.to_string()])?)
}

/// A tenant deletion's part of the job queue: every job of `tenant`, whatever its state.
pub(crate) fn delete_tenant_jobs(conn: &Connection, tenant: &TenantId) -> Result<usize> {
    if !table_exists(conn, "tenantry_jobs")? {
        return Ok(0);
    }
    Ok(conn.prepare_cached("DELETE FROM tenantry_jobs WHERE tenant = ?1")?.execute([tenant.to_string()])?)
}

/// Checks that the tenant file on `conn` is `tenant`'s, recording it in the file the first
/// time (a file from before the record existed is claimed by the tenant whose path it
/// has). A file that records another tenant was copied or moved into this tenant's place:
/// [`Error::TenantFileLost`], since serving it would show an empty tenant (its rows are
/// another tenant's, invisible behind the tenant predicate).
pub(crate) fn check_owner(conn: &Connection, tenant: &TenantId) -> Result<()> {
    let me = tenant.to_string();
    let recorded: Option<String> = if table_exists(conn, "tenantry_owner")? {
        conn.query_row("SELECT tenant FROM tenantry_owner", [], |r| r.get(0)).optional()?
    } else {
        None
    };
    match recorded {
        Some(owner) if owner == me => Ok(()),
        Some(_) => Err(Error::TenantFileLost),
        None => {
            conn.execute_batch("CREATE TABLE IF NOT EXISTS tenantry_owner (tenant TEXT NOT NULL)")?;
            conn.execute("INSERT INTO tenantry_owner (tenant) VALUES (?1)", [me])?;
            Ok(())
        }
    }
}
