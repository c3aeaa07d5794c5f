//! Running a [`Plan`]: fetch the rendered SQL for its shape, bind, step.

use rusqlite::{Connection, ErrorCode};

use crate::error::{Error, Result};
use crate::query::run::{PLACEHOLDER, audit, chunk_shape, chunk_value, rows_per_chunk};
use crate::query::shape::{InsertShape, Rendered, Shape, Slot, TENANT_SLOT};
use crate::query::{Plan, PlanKind, Scope};
use crate::value::{AsciiText, Value, bind};

/// Binds each `?` to its slot's value; the tenant slot binds the scope's tenant.
fn bind_all<'v>(
    stmt: &mut rusqlite::Statement<'_>,
    slots: &[Slot],
    scope: &Scope,
    get: impl Fn(Slot) -> &'v Value,
) -> Result<()> {
    for (i, slot) in slots.iter().enumerate() {
        match (*slot, scope) {
            (TENANT_SLOT, Scope::Tenant(t)) => stmt.raw_bind_parameter(i + 1, AsciiText(t.text()))?,
            (slot, _) => bind(stmt, i + 1, get(slot))?,
        }
    }
    Ok(())
}

fn map_write_error(e: rusqlite::Error, table: &'static str) -> Error {
    match e.sqlite_error() {
        Some(err)
            if err.code == ErrorCode::ConstraintViolation
                && matches!(
                    err.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY | rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                ) =>
        {
            Error::Conflict { table, source: Box::new(e) }
        }
        _ => Error::from(e),
    }
}

fn execute_one<'v>(
    conn: &Connection,
    rendered: &Rendered,
    scope: &Scope,
    get: impl Fn(Slot) -> &'v Value,
    table: Option<&'static str>,
) -> Result<usize> {
    let mut stmt = conn.prepare_cached(&rendered.sql)?;
    bind_all(&mut stmt, &rendered.slots, scope, get)?;
    stmt.raw_execute().map_err(|e| match table {
        Some(table) => map_write_error(e, table),
        None => Error::from(e),
    })
}

/// Runs a writing plan; returns the number of rows changed.
pub(crate) fn execute(conn: &Connection, plan: &Plan<'_>) -> Result<usize> {
    match &plan.kind {
        PlanKind::Update(shape, params) => {
            let r = shape.rendered()?;
            audit(plan.scope, &r.sql);
            execute_one(conn, &r, plan.scope, |s| &params[s as usize], Some(shape.table.0.name))
        }
        PlanKind::Delete(shape, params) => {
            let r = shape.rendered()?;
            audit(plan.scope, &r.sql);
            execute_one(conn, &r, plan.scope, |s| &params[s as usize], None)
        }
        PlanKind::Raw(sql, params) => {
            audit(plan.scope, sql);
            let mut stmt = conn.prepare_cached(sql)?;
            for (i, v) in params.iter().enumerate() {
                bind(&mut stmt, i + 1, v)?;
            }
            Ok(stmt.raw_execute()?)
        }
        PlanKind::Select(..) => Err(Error::Internal { why: "a query went to execute" }),
        PlanKind::Insert { base, values, rows } => insert(conn, plan.scope, base, values, *rows),
    }
}

fn insert(conn: &Connection, scope: &Scope, base: &InsertShape, values: &[Value], rows: usize) -> Result<usize> {
    if rows == 0 {
        return Ok(0);
    }
    let per_row = values.len() / rows;
    let chunk = rows_per_chunk(base)?;
    let table = base.table.0.name;
    let run = |conn: &Connection| -> Result<usize> {
        let mut done = 0;
        while done < rows {
            let n = chunk.min(rows - done);
            let r = chunk_shape(base, n).rendered()?;
            audit(scope, &r.sql);
            let start = done * per_row;
            execute_one(conn, &r, scope, |s| chunk_value(&PLACEHOLDER, values, start, s), Some(table))?;
            done += n;
        }
        Ok(rows)
    };
    if rows <= chunk {
        return run(conn);
    }
    // Several statements: all or nothing.
    in_savepoint(conn, run)
}

/// Runs `f` inside a savepoint (a transaction of its own when none is open).
pub(crate) fn in_savepoint<R>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
    let outer = conn.is_autocommit();
    conn.execute_batch(if outer { "BEGIN IMMEDIATE" } else { "SAVEPOINT tenantry_chunk" })?;
    match f(conn) {
        Ok(v) => {
            conn.execute_batch(if outer { "COMMIT" } else { "RELEASE tenantry_chunk" })?;
            Ok(v)
        }
        Err(e) => {
            let undo = if outer { "ROLLBACK" } else { "ROLLBACK TO tenantry_chunk; RELEASE tenantry_chunk" };
            // The original error is what the caller needs; a failed rollback leaves the
            // connection in a transaction that the pool discards.
            let _ = conn.execute_batch(undo);
            Err(e)
        }
    }
}

/// Runs a query plan, handing each row to `each`.
pub(crate) fn query(
    conn: &Connection,
    plan: &Plan<'_>,
    mut each: impl FnMut(&rusqlite::Row<'_>) -> Result<bool>,
) -> Result<()> {
    let PlanKind::Select(shape, params) = &plan.kind else {
        return Err(Error::Internal { why: "a write went to fetch" });
    };
    let r = shape.rendered()?;
    audit(plan.scope, &r.sql);
    let mut stmt = conn.prepare_cached(&r.sql)?;
    bind_all(&mut stmt, &r.slots, plan.scope, |s| &params[s as usize])?;
    let mut rows = stmt.raw_query();
    while let Some(row) = rows.next()? {
        if !each(row)? {
            break;
        }
    }
    Ok(())
}

/// Raw query through an admin capability.
pub(crate) fn query_raw<R>(
    conn: &Connection,
    plan: &Plan<'_>,
    mut f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<R>,
) -> Result<Vec<R>> {
    let PlanKind::Raw(sql, params) = &plan.kind else {
        return Err(Error::Internal { why: "a built statement went to fetch_raw" });
    };
    audit(plan.scope, sql);
    let mut stmt = conn.prepare_cached(sql)?;
    for (i, v) in params.iter().enumerate() {
        bind(&mut stmt, i + 1, v)?;
    }
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(f(row)?);
    }
    Ok(out)
}
