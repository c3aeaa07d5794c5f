//! Which tables a statement reads: a type-level list, so a condition can name only
//! columns of tables that are in the statement.

use std::marker::PhantomData;

use crate::error::Result;
use crate::schema::Table;
use crate::value::ColumnValue;

/// The end of a table list.
#[derive(Debug)]
pub struct End;

/// A table list: `H` followed by `R`. `From<A>` is `Tables<A, End>`; a join of `A` and `B`
/// is `Tables<A, Tables<B, End>>`.
#[derive(Debug)]
pub struct Tables<H, R>(PhantomData<(H, R)>);

/// Position marker: the table is the head of the list.
#[derive(Debug)]
pub struct Head;
/// Position marker: the table is somewhere in the tail.
#[derive(Debug)]
pub struct Tail<I>(PhantomData<I>);

/// `Self` is one of the tables of the statement source `S`, at position `I`.
///
/// The position is inferred. A table joined to itself appears the second time as an
/// alias, [`As<T, N>`](As), whose columns are `As::<T, N>::col(..)`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not one of the tables of this statement",
    label = "this column's table is not in the statement",
    note = "conditions, ordering, projections and groups may name only columns of the tables being selected, joined, updated or deleted; join `{Self}` first, or use a subquery; to join a table to itself, join an alias: `As<Table, 1>`"
)]
pub trait InSource<S, I>: crate::query::sealed::InSource<S, I> {
    /// [`Required`] for a table every result row has; [`Optional`] for a left-joined one,
    /// whose columns read as `Option` (a row without a match has `NULL` there).
    type Presence: Presence;
}

impl<H: Named, R> crate::query::sealed::InSource<Tables<H, R>, Head> for H {}
impl<H, R, X, I> crate::query::sealed::InSource<Tables<H, R>, Tail<I>> for X where X: InSource<R, I> {}
impl<H: Named, R> InSource<Tables<H, R>, Head> for H {
    type Presence = Required;
}
impl<H, R, X, I> InSource<Tables<H, R>, Tail<I>> for X
where
    X: InSource<R, I>,
{
    type Presence = X::Presence;
}

/// Whether a table is in every result row: how its column of type `V` reads in a
/// projection or a group.
pub trait Presence: crate::query::sealed::Presence {
    /// `V`, or `V::Nullable` for a left-joined table.
    type Of<V: ColumnValue>: ColumnValue;
}

/// A table every result row has.
#[derive(Debug)]
pub struct Required;
/// A left-joined table: its columns may be `NULL`.
#[derive(Debug)]
pub struct Optional;

impl crate::query::sealed::Presence for Required {}
impl Presence for Required {
    type Of<V: ColumnValue> = V;
}
impl crate::query::sealed::Presence for Optional {}
impl Presence for Optional {
    type Of<V: ColumnValue> = V::Nullable;
}

/// How a column of type `V` of table `T` reads in a projection over source `S`.
pub type Read<T, S, I, V> = <<T as InSource<S, I>>::Presence as Presence>::Of<V>;

/// A table as a statement names it: a table itself, or an alias of one ([`As`]).
pub trait Named: crate::query::sealed::Named + 'static {
    #[doc(hidden)]
    const INFO: &'static crate::schema::TableInfo;
    /// 0 for the table itself; `N` for `As<T, N>`.
    #[doc(hidden)]
    const ALIAS: u8;
}

impl<T: Table> crate::query::sealed::Named for T {}
impl<T: Table> Named for T {
    const INFO: &'static crate::schema::TableInfo = T::INFO;
    const ALIAS: u8 = 0;
}

/// The `N`th alias of table `T`, to join a table to itself: a project and its parent
/// project. Its columns are `As::<T, N>::col(T::column())`; in SQL it has a short name of
/// its own, the table's initials and `N` (`projects AS p1`), and its own tenant
/// predicate like any joined table. `N` starts at 1.
///
/// ```
/// # use tenantry::{As, SqliteDatabase, Table, TenantId};
/// #[derive(Table, Debug)]
/// #[table(name = "alias_doc_projects", owned)]
/// struct Project { #[tenant] user_id: TenantId, #[primary_key] id: i64, parent: Option<i64>, name: String }
/// type Parent = As<Project, 1>;
/// # fn main() -> tenantry::Result<()> {
/// # let db = SqliteDatabase::open_in_memory()?; db.create_table::<Project>()?; let t = TenantId::generate();
/// db.execute(Project::insert(&t, NewProject { id: 1, parent: None, name: "season".into() }))?;
/// db.execute(Project::insert(&t, NewProject { id: 2, parent: Some(1), name: "final".into() }))?;
/// let with_parent = Project::select(&t).join::<Parent>(Parent::col(Project::id()).eq_col(Project::parent()));
/// let rows: Vec<(Project, Project)> = db.fetch_all(with_parent)?;
/// assert_eq!((rows[0].0.name.as_str(), rows[0].1.name.as_str()), ("final", "season"));
/// # Ok(()) }
/// ```
pub struct As<T, const N: u8>(PhantomData<T>);

impl<T, const N: u8> std::fmt::Debug for As<T, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "As<{}>", N)
    }
}

impl<T: Table, const N: u8> crate::query::sealed::Named for As<T, N> {}
impl<T: Table, const N: u8> Named for As<T, N> {
    const INFO: &'static crate::schema::TableInfo = T::INFO;
    const ALIAS: u8 = {
        assert!(N > 0, "aliases are numbered from 1: write `As<Table, 1>`; `As<Table, 0>` would be the table itself");
        N
    };
}

impl<T: Table, const N: u8> As<T, N> {
    /// `column` of this alias of `T`.
    pub fn col<V>(column: crate::query::expr::Column<T, V>) -> crate::query::expr::Column<As<T, N>, V> {
        crate::query::expr::Column::retyped(column)
    }
}

impl<T: Table, const N: u8> crate::query::sealed::Elem for As<T, N> {}
/// An alias reads like its table.
impl<T: Table, const N: u8> Elem for As<T, N> {
    type Row = T;
    fn __width() -> usize {
        <T as Elem>::__width()
    }
    fn __decode<R: crate::schema::RowSource + ?Sized>(row: &R, at: usize, r: crate::schema::Reader<'_>) -> Result<T> {
        <T as Elem>::__decode(row, at, r)
    }
}

impl<T: Table, const N: u8> crate::query::sealed::Elem for LeftJoined<As<T, N>> {}
impl<T: Table, const N: u8> Elem for LeftJoined<As<T, N>> {
    type Row = Option<T>;
    fn __width() -> usize {
        <LeftJoined<T> as Elem>::__width()
    }
    fn __decode<R: crate::schema::RowSource + ?Sized>(
        row: &R,
        at: usize,
        r: crate::schema::Reader<'_>,
    ) -> Result<Option<T>> {
        <LeftJoined<T> as Elem>::__decode(row, at, r)
    }
}

/// A table a statement can join: an owned table, or an alias of one.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be joined to a tenant's statement",
    label = "not an owned table",
    note = "joins take tables declared `#[table(owned)]`, or an alias of one (`As<Table, 1>`); global tables need an `Admin` capability"
)]
pub trait Joinable: Named + Elem + crate::query::sealed::Joinable {}
impl<T: crate::schema::Owned> crate::query::sealed::Joinable for T {}
impl<T: crate::schema::Owned> Joinable for T {}
impl<T: crate::schema::Owned, const N: u8> crate::query::sealed::Joinable for As<T, N> {}
impl<T: crate::schema::Owned, const N: u8> Joinable for As<T, N> {}

/// A left-joined table in a source: its row may be missing (`Option<T>` in the result).
#[derive(Debug)]
pub struct LeftJoined<T>(PhantomData<T>);

impl<H: Named, R> crate::query::sealed::InSource<Tables<LeftJoined<H>, R>, Head> for H {}
impl<H: Named, R> InSource<Tables<LeftJoined<H>, R>, Head> for H {
    type Presence = Optional;
}

/// One table of a source as it appears in a result row: the table's row, or for a
/// left-joined table, `Option` of it (`None` when no row matched).
pub trait Elem: crate::query::sealed::Elem + 'static {
    /// The decoded value.
    type Row;
    /// Columns it takes in a result row.
    #[doc(hidden)]
    fn __width() -> usize;
    #[doc(hidden)]
    fn __decode<R: crate::schema::RowSource + ?Sized>(
        row: &R,
        offset: usize,
        reader: crate::schema::Reader<'_>,
    ) -> Result<Self::Row>;
}

impl<T: Table> crate::query::sealed::Elem for T {}
impl<T: Table> Elem for T {
    type Row = T;
    fn __width() -> usize {
        T::INFO.columns.len()
    }
    fn __decode<R: crate::schema::RowSource + ?Sized>(
        row: &R,
        offset: usize,
        reader: crate::schema::Reader<'_>,
    ) -> Result<T> {
        T::__decode(row, offset, reader)
    }
}

impl<T: Table> crate::query::sealed::Elem for LeftJoined<T> {}
impl<T: Table> Elem for LeftJoined<T> {
    type Row = Option<T>;
    fn __width() -> usize {
        T::INFO.columns.len()
    }
    fn __decode<R: crate::schema::RowSource + ?Sized>(
        row: &R,
        offset: usize,
        reader: crate::schema::Reader<'_>,
    ) -> Result<Option<T>> {
        // A left join that matched nothing fills the table's columns with NULL; the tenant
        // column (or the key, for a table without one) is never NULL in a stored row.
        let marker = T::INFO.tenant.unwrap_or(T::INFO.primary_key);
        if row.value(offset + marker)? == rusqlite::types::ValueRef::Null {
            return Ok(None);
        }
        T::__decode(row, offset, reader).map(Some)
    }
}

/// A statement source: the tables a row of the result is made of.
pub trait Source: crate::query::sealed::Source + 'static {
    /// One result row: the table's row, or a tuple of rows for a join.
    type Row;
    #[doc(hidden)]
    fn __decode<R: crate::schema::RowSource + ?Sized>(row: &R, reader: crate::schema::Reader<'_>) -> Result<Self::Row>;
    /// The value of column `index` of the first table's row in `row` (for a cursor).
    #[doc(hidden)]
    fn __first_value(row: &Self::Row, index: usize) -> crate::Value;
}

impl<A: Table> crate::query::sealed::Source for Tables<A, End> {}
impl<A: Table> Source for Tables<A, End> {
    type Row = A;
    fn __decode<R: crate::schema::RowSource + ?Sized>(row: &R, reader: crate::schema::Reader<'_>) -> Result<A> {
        A::__decode(row, 0, reader)
    }
    fn __first_value(row: &A, index: usize) -> crate::Value {
        row.__value(index)
    }
}

/// The source type of a list of elements: `src!(A, B)` is `Tables<A, Tables<B, End>>`.
macro_rules! src {
    ($h:ty) => { Tables<$h, End> };
    ($h:ty, $($t:ty),+) => { Tables<$h, src!($($t),+)> };
}

/// `Source` for a join of the first table and the elements after it, and `Append` of one
/// more element to the list one shorter.
macro_rules! joins {
    ($(($($e:ident),+))*) => {$(
        impl<A: Table, $($e: Elem),+> crate::query::sealed::Source for src!(A, $($e),+) {}
        impl<A: Table, $($e: Elem),+> Source for src!(A, $($e),+) {
            type Row = (A, $($e::Row),+);
            #[allow(unused_assignments)]
            fn __decode<R: crate::schema::RowSource + ?Sized>(
                row: &R,
                reader: crate::schema::Reader<'_>,
            ) -> Result<Self::Row> {
                let mut offset = 0;
                let a = A::__decode(row, offset, reader)?;
                offset += A::INFO.columns.len();
                Ok((a, $({
                    let e = $e::__decode(row, offset, reader)?;
                    offset += $e::__width();
                    e
                }),+))
            }
            fn __first_value(row: &Self::Row, index: usize) -> crate::Value {
                row.0.__value(index)
            }
        }
    )*};
}

joins! {
    (B)
    (B, C)
    (B, C, D)
    (B, C, D, E)
    (B, C, D, E, F)
}

/// Appending a joined table (or, for a left join, `LeftJoined<table>`) to a source.
#[diagnostic::on_unimplemented(
    message = "cannot join another table onto `{Self}`",
    note = "a statement joins at most six tables"
)]
pub trait Append<U>: crate::query::sealed::Append<U> {
    /// The source with `U` at the end.
    type Out: Source;
}

macro_rules! appends {
    ($(($($e:ident),*))*) => {$(
        impl<A: Table, $($e: Elem,)* U: Elem> crate::query::sealed::Append<U> for src!(A $(, $e)*) {}
        impl<A: Table, $($e: Elem,)* U: Elem> Append<U> for src!(A $(, $e)*) {
            type Out = src!(A $(, $e)*, U);
        }
    )*};
}

appends! {
    ()
    (B)
    (B, C)
    (B, C, D)
    (B, C, D, E)
}
