//! Scoped statements: built from a [`TenantId`](crate::TenantId) (or an audited
//! [`Admin`](crate::Admin)), rendered by sea-query once per shape, executed by the
//! [`SqliteDatabase`](crate::SqliteDatabase).

/// Seals for traits that only tenantry implements: the supertraits live in this private
/// module, so no other crate can name them, let alone implement them.
#[allow(unreachable_pub, reason = "sealed-trait pattern: public in a private module")]
pub(crate) mod sealed {
    /// For `Execute` and `Fetch`.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` was not built by tenantry: `Execute` and `Fetch` cannot be implemented outside it",
        note = "build statements from a table with a tenant (`Project::select(&tenant)`); SQL text needs an `Admin`: `admin.raw_sql(\"...\")`"
    )]
    pub trait Statement {}
    /// For `InSource`.
    pub trait InSource<S, I> {}
    /// For `Assign`.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be made assignable",
        note = "the columns an update may set are tenantry's; the tenant column is set on insert and never changes"
    )]
    pub trait Assign<T> {}
    /// For `SubqueryOf`.
    pub trait SubqueryOf<S, P> {}
    /// For `Executor`.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not a tenantry database",
        note = "statements run on tenantry's own: a `SqliteDatabase`, `SqliteTransaction`, `Layout` or `PgDatabase`, or `Async::new(db)` of one"
    )]
    pub trait Executor {}
    /// For `ComparableWith`.
    pub trait ComparableWith<W> {}
    /// For `Columns`.
    pub trait Columns<S, I> {}
    /// For `KeyOrder`.
    pub trait KeyOrder<S> {}
    /// For `Source`, `Elem`, `Append`, `Values` and `Presence`: only tenantry's own
    /// type-level lists and tuples.
    pub trait Source {}
    pub trait Elem {}
    pub trait Append<U> {}
    /// Also implemented by `#[derive(Projection)]`, through `__private::ValuesSeal`.
    pub trait Values {}
    pub trait Presence {}
    /// For `Named` and `Joinable`.
    pub trait Named {}
    pub trait Joinable {}
    /// Implemented by nothing: the traits that exist only to name a rule in a compile
    /// error (`TenantPredicateIsImplicit`, ...) cannot be implemented outside tenantry.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot implement a tenantry rule or source trait",
        note = "these traits only name a rule in compile errors, or describe tenantry's own statements; they are not implemented outside tenantry"
    )]
    pub trait Never {}
}

pub(crate) mod expr;
pub(crate) mod keyset;
pub(crate) mod project;
pub(crate) mod run;
pub(crate) mod select;
pub(crate) mod shape;
pub(crate) mod source;
pub(crate) mod write;

use crate::error::Result;
use crate::schema::{Reader, ReaderKind};
pub(crate) use crate::tenant::Tenant;
use crate::tenant::{AuditTag, TenantId};
use crate::value::{Param, Params, Value, tenant_value};
use shape::{DeleteShape, InsertShape, SelectShape, UpdateShape};

/// Who a statement acts for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope {
    /// One tenant: every owned table carries `tenant_column = ?` bound to it.
    Tenant(Tenant),
    /// An audited cross-tenant capability: no tenant predicate.
    Admin(AuditTag),
}

/// Slot 0 of a statement's parameter list is reserved for the tenant, which the executor
/// binds from the scope; the list holds this placeholder there.
pub(crate) const TENANT_PLACEHOLDER: Param = Param::NULL;

/// A statement's parameter list: the tenant slot, with room for a few values.
#[inline]
pub(crate) fn params_with_tenant_slot() -> Params {
    let mut params = Params::new();
    params.push(TENANT_PLACEHOLDER);
    params
}

impl Scope {
    #[inline]
    pub(crate) fn tenant(id: &TenantId) -> Self {
        Scope::Tenant(Tenant::new(id))
    }

    #[inline]
    pub(crate) fn is_scoped(&self) -> bool {
        matches!(self, Scope::Tenant(_))
    }

    /// Slot 0 as a value, for display: the tenant, or nothing when unscoped.
    pub(crate) fn first_param(&self) -> Value {
        match self {
            Scope::Tenant(t) => tenant_value(&t.id),
            Scope::Admin(_) => Value::Null,
        }
    }

    /// Slot 0 as a statement value, for an engine that binds the tenant like any other
    /// value (PostgreSQL's pipeline).
    #[cfg(feature = "postgres")]
    pub(crate) fn tenant_param(&self) -> Param {
        Param::from(self.first_param())
    }

    pub(crate) fn reader(&self) -> Reader<'_> {
        match self {
            Scope::Tenant(t) => Reader(ReaderKind::Tenant(t)),
            Scope::Admin(tag) => Reader(ReaderKind::Admin(*tag)),
        }
    }
}

/// A statement taken apart for the executor; opaque outside tenantry, and impossible to
/// build except from a statement tenantry built.
#[doc(hidden)]
#[derive(Debug)]
pub struct Plan<'a> {
    pub(crate) scope: &'a Scope,
    pub(crate) kind: PlanKind<'a>,
}

impl Plan<'_> {
    /// The tables this statement touches (none for raw SQL).
    pub(crate) fn tables(&self) -> smallvec::SmallVec<[&'static crate::schema::TableInfo; 4]> {
        use shape::Shape;
        let mut check = shape::Check::new(self.scope.is_scoped());
        match &self.kind {
            PlanKind::Select(s, _) => s.visit(&mut check),
            PlanKind::Get { table, .. } => SelectShape::by_key(*table, true).visit(&mut check),
            PlanKind::Update(s, _) => s.visit(&mut check),
            PlanKind::Delete(s, _) => s.visit(&mut check),
            PlanKind::Insert { base, .. } => base.visit(&mut check),
            PlanKind::Raw(..) => {}
        }
        check.tables
    }

    /// Whether the statement only reads.
    pub(crate) fn is_read(&self) -> bool {
        matches!(self.kind, PlanKind::Select(..) | PlanKind::Get { .. })
    }

    /// The tenant the statement is scoped to, if any.
    pub(crate) fn tenant(&self) -> Option<&TenantId> {
        match self.scope {
            Scope::Tenant(t) => Some(&t.id),
            Scope::Admin(_) => None,
        }
    }
}

#[derive(Debug)]
pub(crate) enum PlanKind<'a> {
    Select(&'a SelectShape, &'a [Param]),
    /// [`SelectShape::by_key`] on `table`, scoped: `values` are the tenant's placeholder
    /// and the key.
    Get {
        table: shape::TableRef,
        values: &'a [Param; 2],
    },
    Update(&'a UpdateShape, &'a [Param]),
    Delete(&'a DeleteShape, &'a [Param]),
    /// `rows` rows of values (tenant column excluded), the same number of values each.
    Insert {
        base: &'a InsertShape,
        values: &'a [Param],
        rows: usize,
    },
    Raw(&'static str, &'a [Param]),
}

/// A statement that changes rows: insert, update, delete, or audited raw SQL.
///
/// Only tenantry builds these: there is no way to turn a SQL string or a sea-query
/// statement into one.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an executable tenantry statement",
    label = "`execute` takes a finished insert, update or delete built by tenantry",
    note = "an update runs once it has `.set(column, value)` and says which rows (`.filter(...)`, or `.all_rows()` for every row of the tenant); a delete once it says which rows; queries go to `fetch_all`, `fetch_optional` or `fetch_one`",
    note = "build statements from a table with a tenant, e.g. `Project::update(&tenant)`; SQL text needs an `Admin` capability: `admin.raw_sql(\"...\")`"
)]
pub trait Execute: sealed::Statement {
    #[doc(hidden)]
    fn __plan(&self) -> Plan<'_>;
}

/// A statement that returns rows: a select, a count or an aggregate.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tenantry query",
    label = "the fetch methods take a tenantry query: a `select`, a `get`, a projection or an aggregate",
    note = "build it from a table with a tenant, e.g. `Project::select(&tenant)` or `Project::get(&tenant, id)`",
    note = "inserts, updates and deletes go to `execute`"
)]
pub trait Fetch: sealed::Statement {
    /// One result row.
    type Row;
    #[doc(hidden)]
    fn __plan(&self) -> Plan<'_>;
    #[doc(hidden)]
    fn __decode<R: crate::schema::RowSource + ?Sized>(&self, row: &R) -> Result<Self::Row>;
}

impl<T: sealed::Statement + ?Sized> sealed::Statement for &T {}

impl<E: Execute + ?Sized> Execute for &E {
    fn __plan(&self) -> Plan<'_> {
        (**self).__plan()
    }
}

impl<F: Fetch + ?Sized> Fetch for &F {
    type Row = F::Row;
    fn __plan(&self) -> Plan<'_> {
        (**self).__plan()
    }
    fn __decode<R: crate::schema::RowSource + ?Sized>(&self, row: &R) -> Result<F::Row> {
        (**self).__decode(row)
    }
}

/// SQL rendered in a given dialect, with the parameters it binds, for logs, snapshots and
/// doc tests. Values appear only in `params`, never in `text`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Sql {
    /// The statement text.
    pub text: String,
    /// The values bound to its parameters, in order.
    pub params: Vec<Value>,
}

impl std::fmt::Display for Sql {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}
