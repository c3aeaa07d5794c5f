//! Which tables a statement reads: a type-level list, so a condition can name only
//! columns of tables that are in the statement.

use std::marker::PhantomData;

use crate::error::Result;
use crate::schema::Table;

/// The end of a table list.
#[derive(Debug)]
pub struct Nil;

/// A table list: `H` followed by `R`. `From<A>` is `Src<A, Nil>`; a join of `A` and `B`
/// is `Src<A, Src<B, Nil>>`.
#[derive(Debug)]
pub struct Src<H, R>(PhantomData<(H, R)>);

/// Position marker: the table is the head of the list.
#[derive(Debug)]
pub struct Here;
/// Position marker: the table is somewhere in the tail.
#[derive(Debug)]
pub struct There<I>(PhantomData<I>);

/// `Self` is one of the tables of the statement source `S`, at position `I`.
///
/// The position is inferred; a table that appears twice (a self-join) is ambiguous and
/// not supported.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not one of the tables of this statement",
    label = "this column's table is not in the statement",
    note = "conditions, ordering, projections and groups may name only columns of the tables being selected, joined, updated or deleted; join `{Self}` first, or use a subquery"
)]
pub trait InSource<S, I>: crate::query::sealed::InSource<S, I> {}

impl<H: Table, R> crate::query::sealed::InSource<Src<H, R>, Here> for H {}
impl<H, R, X, I> crate::query::sealed::InSource<Src<H, R>, There<I>> for X where X: InSource<R, I> {}
impl<H: Table, R> InSource<Src<H, R>, Here> for H {}
impl<H, R, X, I> InSource<Src<H, R>, There<I>> for X where X: InSource<R, I> {}

/// A statement source: the tables a row of the result is made of.
pub trait Source: 'static {
    /// One result row: the table's row, or a tuple of rows for a join.
    type Row;
    #[doc(hidden)]
    fn __decode<R: crate::schema::RowSource + ?Sized>(row: &R, reader: crate::schema::Reader<'_>) -> Result<Self::Row>;
}

impl<A: Table> Source for Src<A, Nil> {
    type Row = A;
    fn __decode<R: crate::schema::RowSource + ?Sized>(row: &R, reader: crate::schema::Reader<'_>) -> Result<A> {
        A::__decode(row, 0, reader)
    }
}

impl<A: Table, B: Table> Source for Src<A, Src<B, Nil>> {
    type Row = (A, B);
    fn __decode<R: crate::schema::RowSource + ?Sized>(row: &R, reader: crate::schema::Reader<'_>) -> Result<(A, B)> {
        let a = A::__decode(row, 0, reader)?;
        Ok((a, B::__decode(row, A::INFO.columns.len(), reader)?))
    }
}

impl<A: Table, B: Table, C: Table> Source for Src<A, Src<B, Src<C, Nil>>> {
    type Row = (A, B, C);
    fn __decode<R: crate::schema::RowSource + ?Sized>(row: &R, reader: crate::schema::Reader<'_>) -> Result<(A, B, C)> {
        let a = A::__decode(row, 0, reader)?;
        let b = B::__decode(row, A::INFO.columns.len(), reader)?;
        Ok((a, b, C::__decode(row, A::INFO.columns.len() + B::INFO.columns.len(), reader)?))
    }
}

/// Appending a joined table to a source.
#[diagnostic::on_unimplemented(
    message = "cannot join another table onto `{Self}`",
    note = "a statement joins at most three tables"
)]
pub trait Append<U> {
    /// The source with `U` at the end.
    type Out: Source;
}

impl<A: Table, U: Table> Append<U> for Src<A, Nil> {
    type Out = Src<A, Src<U, Nil>>;
}
impl<A: Table, B: Table, U: Table> Append<U> for Src<A, Src<B, Nil>> {
    type Out = Src<A, Src<B, Src<U, Nil>>>;
}
