//! What every engine needs to run a plan, written once: the audit of unscoped
//! statements, how a multi-row insert is split into chunks, and the plan's SQL for logs
//! and snapshots.

use crate::error::{Error, Result};
use crate::query::shape::{Dialect, InsertShape, Rendered, Shape, Slot, TENANT_SLOT};
use crate::query::{Plan, PlanKind, Scope, Sql, TENANT_PLACEHOLDER};
use crate::tenant::AuditAction;
use crate::value::Value;

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

/// Value for slot `s` of the chunk that starts at value `start`: slot 0 is the tenant.
pub(crate) static PLACEHOLDER: Value = TENANT_PLACEHOLDER;

pub(crate) fn chunk_value<'v>(tenant: &'v Value, values: &'v [Value], start: usize, s: Slot) -> &'v Value {
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
        sql: r.sql,
    };
    Ok(match &plan.kind {
        PlanKind::Select(shape, params) => pick(shape.render(dialect)?, &|s| params[s as usize].clone()),
        PlanKind::Update(shape, params) => pick(shape.render(dialect)?, &|s| params[s as usize].clone()),
        PlanKind::Delete(shape, params) => pick(shape.render(dialect)?, &|s| params[s as usize].clone()),
        PlanKind::Insert { base, values, rows } => {
            let n = rows_per_chunk(base)?.min(*rows);
            pick(chunk_shape(base, n).render(dialect)?, &|s| chunk_value(&PLACEHOLDER, values, 0, s).clone())
        }
        PlanKind::Raw(sql, params) => Sql { sql: (*sql).to_owned(), params: params.to_vec() },
    })
}
