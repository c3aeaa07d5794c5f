//! Running a plan, written once for every engine: render the statement in the engine's
//! dialect, audit it if it is unscoped, bind each slot, split a multi-row insert into
//! chunks that commit together. An engine adapter ([`Engine`]: SQLite in `db::exec`,
//! PostgreSQL in `pg`) only runs one rendered statement with its values.

use crate::error::{Error, Result};
use smallvec::SmallVec;

use crate::query::shape::{Dialect, InsertShape, Rendered, RenderedRef, SelectShape, Shape, Slot, TENANT_SLOT};
use crate::query::{Fetch, Plan, PlanKind, Scope, Sql, TENANT_PLACEHOLDER};
use crate::schema::RowSource;
use crate::tenant::AuditAction;
use crate::value::{Param, Value};

/// The values a rendered statement binds. Slot 0 is the tenant, which each engine binds
/// in its own form from [`scope`](Self::scope); slot `s > 0` is `values[s - shift]`.
#[derive(Clone, Copy)]
pub(crate) struct Binds<'a> {
    pub(crate) scope: &'a Scope,
    values: &'a [Param],
    shift: usize,
}

impl<'a> Binds<'a> {
    /// The value of slot `s`, or `None` for the tenant's slot.
    #[inline]
    pub(crate) fn value(&self, s: Slot) -> Option<&'a Param> {
        (s != TENANT_SLOT).then(|| &self.values[s as usize - self.shift])
    }
}

/// What an engine adapter provides: one rendered statement run on one connection (or
/// transaction). Everything else about running a plan is in this module, once.
pub(crate) trait Engine {
    /// The dialect statements are rendered in.
    const DIALECT: Dialect;
    /// A result row, decoded by the derive through [`RowSource`].
    type Row<'r>: RowSource;
    /// Runs a query and hands each row to `each` until it returns `Ok(false)`.
    fn query<F>(&mut self, sql: &Rendered, binds: Binds<'_>, each: F) -> Result<()>
    where
        F: for<'r> FnMut(&Self::Row<'r>) -> Result<bool>;
    /// Runs a write; a unique or primary-key violation is [`Error::Conflict`] on `table`.
    fn write(&mut self, sql: &Rendered, binds: Binds<'_>, table: &'static str) -> Result<usize>;
    /// Runs audited raw SQL with positional values.
    fn write_raw(&mut self, sql: &'static str, values: &[Param]) -> Result<usize>;
    /// Runs `f` so that all its writes are kept, or none.
    fn atomically<R>(&mut self, f: impl FnOnce(&mut Self) -> Result<R>) -> Result<R>;
}

/// A query's statement, rendered in `dialect` and audited if unscoped, with its values.
pub(crate) fn select_step<'p>(plan: &'p Plan<'_>, dialect: Dialect) -> Result<(RenderedRef, Binds<'p>)> {
    let (r, params): (_, &[Param]) = match &plan.kind {
        PlanKind::Select(shape, params) => (shape.rendered_in(dialect)?, params),
        // Only a tenant builds one (`Table::get`): not audited.
        PlanKind::Get { table, values } => {
            if !plan.scope.is_scoped() {
                return Err(Error::Internal { why: "a by-key read without a tenant" });
            }
            return Ok((
                SelectShape::by_key_rendered(*table, dialect)?,
                Binds { scope: plan.scope, values: *values, shift: 0 },
            ));
        }
        _ => return Err(Error::Internal { why: "a write went to fetch" }),
    };
    audit(plan.scope, &r.sql);
    Ok((r, Binds { scope: plan.scope, values: params, shift: 0 }))
}

/// One statement of a writing plan, ready to run.
pub(crate) enum Write<'p> {
    /// A statement tenantry built, rendered, and the table it writes.
    Built { sql: RenderedRef, binds: Binds<'p>, table: &'static str },
    /// Raw SQL through an admin capability, with positional values.
    Raw { sql: &'static str, values: &'p [Param] },
}

/// The statements a writing plan runs, in order, rendered in `dialect` and audited if
/// unscoped: one for an update, a delete or raw SQL; one per chunk of at most
/// [`MAX_PARAMS`] values for an insert. Several must be kept all together or not at all.
pub(crate) fn write_steps<'p>(plan: &'p Plan<'_>, dialect: Dialect) -> Result<SmallVec<[Write<'p>; 1]>> {
    let scope = plan.scope;
    let built = |sql: RenderedRef, values, shift, table| {
        audit(scope, &sql.sql);
        Write::Built { sql, binds: Binds { scope, values, shift }, table }
    };
    let mut steps = SmallVec::new();
    match &plan.kind {
        PlanKind::Update(shape, params) => {
            steps.push(built(shape.rendered_in(dialect)?, params, 0, shape.table.0.name))
        }
        PlanKind::Delete(shape, params) => {
            steps.push(built(shape.rendered_in(dialect)?, params, 0, shape.table.0.name))
        }
        PlanKind::Raw(sql, values) => {
            audit(scope, sql);
            steps.push(Write::Raw { sql, values });
        }
        PlanKind::Insert { base, values, rows } => {
            let (rows, per_row) = (*rows, values.len().checked_div(*rows).unwrap_or(0));
            let chunk = if rows == 0 { 0 } else { rows_per_chunk(base)? };
            let mut done = 0;
            while done < rows {
                let n = chunk.min(rows - done);
                let sql = chunk_shape(base, n).rendered_in(dialect)?;
                // Slot 1 is the chunk's first value.
                steps.push(built(sql, &values[done * per_row..], 1, base.table.0.name));
                done += n;
            }
        }
        PlanKind::Select(..) | PlanKind::Get { .. } => {
            return Err(Error::Internal { why: "a query went to execute" });
        }
    }
    Ok(steps)
}

/// Decodes each row of `query` and hands it to `each` until it returns `Ok(false)`.
pub(crate) fn rows<E: Engine, Q: Fetch + ?Sized>(
    engine: &mut E,
    query: &Q,
    mut each: impl FnMut(Q::Row) -> Result<bool>,
) -> Result<()> {
    let plan = query.__plan();
    let (r, binds) = select_step(&plan, E::DIALECT)?;
    engine.query(&r, binds, |row| each(query.__decode(row)?))
}

/// Every row of a query.
pub(crate) fn fetch_all<E: Engine, Q: Fetch + ?Sized>(engine: &mut E, query: &Q) -> Result<Vec<Q::Row>> {
    let plan = query.__plan();
    let (r, binds) = select_step(&plan, E::DIALECT)?;
    let mut out = Vec::new();
    engine.query(&r, binds, |row| {
        if out.capacity() == 0 {
            // Room for a few rows at once, as `collect` makes, without the growth path's
            // bookkeeping; the empty list it replaces owns nothing, so needs no drop. Made
            // before the row is decoded, so the row is not held across the allocation.
            std::mem::forget(std::mem::replace(&mut out, Vec::with_capacity(4)));
        }
        out.push(query.__decode(row)?);
        Ok(true)
    })?;
    Ok(out)
}

/// The first row of a query; the engine stops reading after it.
pub(crate) fn fetch_optional<E: Engine, Q: Fetch + ?Sized>(engine: &mut E, query: &Q) -> Result<Option<Q::Row>> {
    let mut out = None;
    rows(engine, query, |row| {
        out = Some(row);
        Ok(false)
    })?;
    Ok(out)
}

/// Runs a writing plan; returns the rows changed (what the engine reports: an upsert that
/// did nothing counts 0).
pub(crate) fn execute<E: Engine>(engine: &mut E, plan: &Plan<'_>) -> Result<usize> {
    // One statement (an update, a delete, a one-row insert): run it without building the
    // list of steps.
    let (sql, values, shift, table) = match &plan.kind {
        PlanKind::Insert { base, values, rows: 1 } => {
            (chunk_shape(base, 1).rendered_in(E::DIALECT)?, values, 1, base.table)
        }
        PlanKind::Update(shape, values) => (shape.rendered_in(E::DIALECT)?, values, 0, shape.table),
        PlanKind::Delete(shape, values) => (shape.rendered_in(E::DIALECT)?, values, 0, shape.table),
        _ => return execute_steps(engine, plan),
    };
    audit(plan.scope, &sql.sql);
    engine.write(&sql, Binds { scope: plan.scope, values, shift }, table.0.name)
}

/// Runs a plan of several statements (or raw SQL), all kept or none.
fn execute_steps<E: Engine>(engine: &mut E, plan: &Plan<'_>) -> Result<usize> {
    let steps = write_steps(plan, E::DIALECT)?;
    let run = |engine: &mut E| {
        steps.iter().try_fold(0, |changed, step| {
            Ok(changed
                + match step {
                    Write::Built { sql, binds, table } => engine.write(sql, *binds, table)?,
                    Write::Raw { sql, values } => engine.write_raw(sql, values)?,
                })
        })
    };
    if steps.len() > 1 { engine.atomically(run) } else { run(engine) }
}

/// SQLite and D1 accept at most this many bound parameters per statement.
pub(crate) const MAX_PARAMS: usize = 100;

/// Reports an unscoped statement to the audit hook (scoped statements are not audited).
pub(crate) fn audit(scope: &Scope, sql: &str) {
    if let Scope::Admin(tag) = scope {
        tag.fire(AuditAction::Unscoped { sql });
    }
}

/// Rows per chunk of a multi-row insert: each row binds one parameter per column.
pub(crate) fn rows_per_chunk(shape: &InsertShape) -> Result<usize> {
    match MAX_PARAMS / shape.table.0.columns.len() {
        0 => Err(Error::TooManyColumns { table: shape.table.0.name }),
        n => Ok(n),
    }
}

pub(crate) fn chunk_shape(base: &InsertShape, rows: usize) -> InsertShape {
    InsertShape { rows: rows as u32, ..base.clone() }
}

/// Stands in for the tenant where `chunk_value` takes one: `explain` fills the tenant's
/// slot from the statement's scope itself (the row values never carry the tenant).
pub(crate) static PLACEHOLDER: Param = TENANT_PLACEHOLDER;

/// Value for slot `s` of the chunk that starts at value `start`: slot 0 is the tenant.
pub(crate) fn chunk_value<'v>(tenant: &'v Param, values: &'v [Param], start: usize, s: Slot) -> &'v Param {
    if s == TENANT_SLOT { tenant } else { &values[start + s as usize - 1] }
}

/// The SQL and parameters of a plan, in SQLite's dialect.
pub(crate) fn explain(plan: &Plan<'_>) -> Result<Sql> {
    explain_in(plan, Dialect::Sqlite)
}

/// The SQL and parameters of a plan, in any dialect (uncached; for logs and snapshots).
pub(crate) fn explain_in(plan: &Plan<'_>, dialect: Dialect) -> Result<Sql> {
    let tenant = plan.scope.first_param();
    let pick = |r: Rendered, get: &dyn Fn(Slot) -> Value| Sql {
        params: r.slots.iter().map(|s| if *s == TENANT_SLOT { tenant.clone() } else { get(*s) }).collect(),
        text: r.sql,
    };
    Ok(match &plan.kind {
        PlanKind::Select(shape, params) => pick(shape.render(dialect)?, &|s| params[s as usize].to_value()),
        PlanKind::Get { table, values } => {
            pick(SelectShape::by_key(*table, plan.scope.is_scoped()).render(dialect)?, &|s| {
                values[s as usize].to_value()
            })
        }
        PlanKind::Update(shape, params) => pick(shape.render(dialect)?, &|s| params[s as usize].to_value()),
        PlanKind::Delete(shape, params) => pick(shape.render(dialect)?, &|s| params[s as usize].to_value()),
        PlanKind::Insert { base, values, rows } => {
            let n = rows_per_chunk(base)?.min(*rows);
            pick(chunk_shape(base, n).render(dialect)?, &|s| chunk_value(&PLACEHOLDER, values, 0, s).to_value())
        }
        PlanKind::Raw(sql, params) => {
            Sql { text: (*sql).to_owned(), params: params.iter().map(Param::to_value).collect() }
        }
    })
}
