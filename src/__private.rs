//! What generated code calls. Not a public API: no stability, no docs.

pub use crate::keys::{KeyReader, KeyWriter};
pub use crate::query::Plan;
pub use crate::query::expr::SubParts;
pub use crate::registry::Registered;
pub use crate::schema::{ColumnInfo, TableInfo, UniqueInfo};
pub use crate::schema::{GlobalSeal, OwnedSeal, Reader, RowSource, TableSeal};
pub use crate::value::{Param, RowValues, SqlKind};
pub use inventory;

use crate::error::Result;
use crate::query::Scope;
use crate::query::expr::Subquery;
use crate::query::select::{Get, Select};
use crate::query::shape::TableRef;
use crate::query::source::{End, Tables};
use crate::query::write::{Delete, DeleteBuilder, Insert, UpdateBuilder};
use crate::schema::{Global, Owned, Table};
use crate::tenant::{Admin, TenantId};
use crate::value::{ColumnValue, IntoSql};

#[inline]
pub fn decode<V: ColumnValue, R: RowSource + ?Sized>(
    row: &R,
    at: usize,
    info: &'static TableInfo,
    index: usize,
) -> Result<V> {
    crate::schema::decode_column(row, at, info, index)
}

#[inline]
pub fn decode_tenant<R: RowSource + ?Sized>(
    row: &R,
    at: usize,
    info: &'static TableInfo,
    reader: Reader<'_>,
) -> Result<TenantId> {
    crate::schema::decode_tenant(row, at, info, reader.0)
}

pub fn push<V: ColumnValue>(value: V, out: &mut RowValues) {
    out.push(Param::from(value.into_value()));
}

pub fn select<T: Owned>(tenant: &TenantId) -> Select<Tables<T, End>> {
    Select::new(TableRef::of(T::INFO), Scope::tenant(tenant))
}

pub fn get<T: Owned, K: IntoSql<T::Key>>(tenant: &TenantId, value: K) -> Get<T> {
    Get::new(Scope::tenant(tenant), value.__into_param())
}

pub fn insert<T: Owned>(tenant: &TenantId, row: T::New) -> Insert<T> {
    Insert::new(Scope::tenant(tenant), [row], false)
}

pub fn insert_many<T: Owned>(tenant: &TenantId, rows: impl IntoIterator<Item = T::New>) -> Insert<T> {
    Insert::new(Scope::tenant(tenant), rows, false)
}

pub fn upsert<T: Owned>(tenant: &TenantId, row: T::New) -> Insert<T> {
    Insert::new(Scope::tenant(tenant), [row], true)
}

pub fn update<T: Owned>(tenant: &TenantId) -> UpdateBuilder<T> {
    UpdateBuilder::new(Scope::tenant(tenant))
}

pub fn delete<T: Owned>(tenant: &TenantId) -> DeleteBuilder<T> {
    DeleteBuilder::new(Scope::tenant(tenant))
}

pub fn delete_by_key<T: Owned, K: IntoSql<T::Key>>(tenant: &TenantId, value: K) -> Delete<T> {
    Delete::by_key(Scope::tenant(tenant), value.__into_param())
}

pub fn subquery<T: Owned, O>() -> Subquery<T, O, ()> {
    Subquery::__new()
}

pub fn admin_select<T: Table>(admin: &Admin) -> Select<Tables<T, End>> {
    Select::new(TableRef::of(T::INFO), admin.scope())
}

pub fn admin_update<T: Table>(admin: &Admin) -> UpdateBuilder<T> {
    UpdateBuilder::new(admin.scope())
}

pub fn admin_delete<T: Table>(admin: &Admin) -> DeleteBuilder<T> {
    DeleteBuilder::new(admin.scope())
}

pub fn admin_insert<T: Global>(admin: &Admin, rows: impl IntoIterator<Item = T::New>) -> Insert<T> {
    Insert::new(admin.scope(), rows, false)
}

/// Compiles only when a `#[tenant]` field is a `TenantId`.
#[diagnostic::on_unimplemented(
    message = "a `#[tenant]` field must have the type `tenantry::TenantId`, not `{Self}`",
    note = "tenantry fills the tenant column from the statement's `TenantId`; declare the field as `user_id: TenantId`"
)]
pub trait TenantField {
    fn from_tenant(t: TenantId) -> Self;
    fn to_tenant(&self) -> TenantId;
}
impl TenantField for TenantId {
    fn from_tenant(t: TenantId) -> Self {
        t
    }
    fn to_tenant(&self) -> TenantId {
        *self
    }
}

/// Returned by the stand-in methods below; never constructed.
pub enum Unavailable {}

/// Never implemented: names the rule when tenant-scoped statements are asked of a global table.
#[diagnostic::on_unimplemented(
    message = "`{T}` is a global table: it has no tenant column, so it has no tenant-scoped statements",
    label = "not available on a global table",
    note = "global tables are reached with an `Admin` capability: `{T}::admin_select(&admin)`, `admin_insert`, `admin_update`, `admin_delete`"
)]
pub trait GlobalTableHasNoTenant<T>: crate::query::sealed::Never {}

/// Never implemented: names the rule when an owned table is inserted into without a tenant.
#[diagnostic::on_unimplemented(
    message = "rows of `{T}` belong to a tenant: insert them with the tenant's `TenantId`",
    label = "not available on an owned table",
    note = "use `{T}::insert(&tenant, row)`; to act for an existing tenant from an admin job, mint it with `admin.mint_tenant(id)`"
)]
pub trait OwnedRowsNeedATenant<T>: crate::query::sealed::Never {}

/// Sealing for `Values`, for `#[derive(Projection)]`.
pub use crate::query::sealed::Values as ValuesSeal;

/// Decodes value `index` of a projected row, for `#[derive(Projection)]`.
pub fn decode_value<V: ColumnValue, R: RowSource + ?Sized>(row: &R, index: usize, table: &'static str) -> Result<V> {
    crate::query::project::decode(row, index, table)
}
