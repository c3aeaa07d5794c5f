//! Projections: chosen columns of the statement's tables (with `DISTINCT`), and aggregates
//! per group (`GROUP BY`, `HAVING`), decoded into tuples. Every table keeps its tenant
//! predicate; only the output changes.

use std::marker::PhantomData;

use crate::error::{Error, Result};
use crate::query::expr::{Column, OrderBy};
use crate::query::select::{Comparable, Numeric, Select};
use crate::query::shape::{Agg, CmpOp, Having as HavingShape, Out};
use crate::query::source::{InSource, Named, Read, Source};
use crate::query::{Fetch, Plan};
use crate::schema::RowSource;
use crate::value::{ColumnValue, IntoSql, Param};

/// The values of one projected row: a tuple of up to six column types, each decoded with
/// its own type (a `bool` column of 7 is an error, not a `true`).
pub trait Values: crate::query::sealed::Values + Sized {
    #[doc(hidden)]
    fn __decode<R: RowSource + ?Sized>(row: &R, table: &'static str) -> Result<Self>;
}

/// Decodes value `index` of a projected row (also for `#[derive(Projection)]`).
pub(crate) fn decode<V: ColumnValue, R: RowSource + ?Sized>(row: &R, index: usize, table: &'static str) -> Result<V> {
    V::from_sql(row.value(index)?).ok_or(Error::Decode { table, column: "projection", expected: V::EXPECTED })
}

/// `Self` holds the values of a projected row of type `T` (a tuple), field for field: what
/// `#[derive(Projection)]` states for its struct.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not hold the projected columns `{T}`",
    note = "derive `Projection` on a struct whose fields, in order, have exactly the types of the projected columns (a left-joined table's columns read as `Option`)"
)]
pub trait FromValues<T>: Values {}

/// The output columns of a projection, for the crate's own use.
#[doc(hidden)]
pub struct Outputs(pub(crate) Vec<Out>);

/// Columns a projection selects: a tuple of up to six columns of the statement's tables,
/// such as `(Project::id(), Project::name())`. A column of a table that is not in the
/// statement does not compile. (The tenant column is not a `Column`: it is never chosen,
/// compared or ordered by the caller.)
#[diagnostic::on_unimplemented(
    message = "these columns cannot be used here: `{Self}`",
    note = "the tenant column is never one of them: tenantry sets and checks it",
    note = "a projection, or an upsert's conflict target or update list, is a tuple of one to six columns of the statement's tables, e.g. `(Project::id(), Project::name())`"
)]
pub trait Columns<S, I>: crate::query::sealed::Columns<S, I> {
    /// The decoded row: the tuple of the columns' types.
    type Values: Values;
    #[doc(hidden)]
    fn __outputs(&self) -> Outputs;
}

macro_rules! tuples {
    ($(($($t:ident $v:ident $i:ident $n:tt),+))*) => {$(
        impl<$($v: ColumnValue),+> crate::query::sealed::Values for ($($v,)+) {}
        impl<$($v: ColumnValue),+> Values for ($($v,)+) {
            fn __decode<R: RowSource + ?Sized>(row: &R, table: &'static str) -> Result<Self> {
                Ok(($(decode::<$v, R>(row, $n, table)?,)+))
            }
        }
        impl<S, $($t: Named, $v: ColumnValue, $i),+> crate::query::sealed::Columns<S, ($($i,)+)> for ($(Column<$t, $v>,)+)
        where $($t: InSource<S, $i>),+ {}
        impl<S, $($t: Named, $v: ColumnValue, $i),+> Columns<S, ($($i,)+)> for ($(Column<$t, $v>,)+)
        where $($t: InSource<S, $i>),+
        {
            type Values = ($(Read<$t, S, $i, $v>,)+);
            fn __outputs(&self) -> Outputs {
                Outputs(vec![$(Out::Col(self.$n.col_ref())),+])
            }
        }
    )*};
}

tuples! {
    (T0 V0 I0 0)
    (T0 V0 I0 0, T1 V1 I1 1)
    (T0 V0 I0 0, T1 V1 I1 1, T2 V2 I2 2)
    (T0 V0 I0 0, T1 V1 I1 1, T2 V2 I2 2, T3 V3 I3 3)
    (T0 V0 I0 0, T1 V1 I1 1, T2 V2 I2 2, T3 V3 I3 3, T4 V4 I4 4)
    (T0 V0 I0 0, T1 V1 I1 1, T2 V2 I2 2, T3 V3 I3 3, T4 V4 I4 4, T5 V5 I5 5)
}

impl<S: Source> Select<S> {
    /// `SELECT` chosen columns instead of whole rows; each row is a tuple.
    ///
    /// ```
    /// # use tenantry::{SqliteDatabase, Table, TenantId};
    /// # #[derive(Table, Debug)] #[table(name = "proj_doc", owned)]
    /// # struct Project { #[tenant] user_id: TenantId, #[primary_key] id: i64, name: String, status: String }
    /// # fn main() -> tenantry::Result<()> {
    /// # let db = SqliteDatabase::open_in_memory()?; db.create_table::<Project>()?; let t = TenantId::generate();
    /// let names = Project::select(&t).columns((Project::id(), Project::name())).order_by(Project::id().asc());
    /// assert_eq!(names.to_sql()?.text, r#"SELECT id, "name" FROM proj_doc WHERE user_id = ? ORDER BY id ASC"#);
    /// let rows: Vec<(i64, String)> = db.fetch_all(names)?;
    /// # assert!(rows.is_empty()); Ok(()) }
    /// ```
    pub fn columns<C: Columns<S, I>, I>(mut self, columns: C) -> Projected<S, C::Values> {
        self.p.shape.set_out(columns.__outputs().0);
        Projected { select: self, _r: PhantomData }
    }

    /// `GROUP BY column`, for one aggregate per group: `.count()`, `.sum(..)`, `.avg(..)`,
    /// `.min(..)`, `.max(..)`, optionally `.having(..)`.
    ///
    /// ```
    /// # use tenantry::{SqliteDatabase, Having, Table, TenantId};
    /// # #[derive(Table, Debug)] #[table(name = "group_doc", owned)]
    /// # struct Job { #[tenant] user_id: TenantId, #[primary_key] id: i64, status: String }
    /// # fn main() -> tenantry::Result<()> {
    /// # let db = SqliteDatabase::open_in_memory()?; db.create_table::<Job>()?; let t = TenantId::generate();
    /// for (id, status) in [(1, "done"), (2, "done"), (3, "queued")] {
    ///     db.execute(Job::insert(&t, NewJob { id, status: status.into() }))?;
    /// }
    /// let per_status = Job::select(&t).group_by(Job::status()).count().order_by(Job::status().asc());
    /// assert_eq!(
    ///     per_status.to_sql()?.text,
    ///     r#"SELECT status, COUNT(*) FROM group_doc WHERE user_id = ? GROUP BY status ORDER BY status ASC"#
    /// );
    /// assert_eq!(db.fetch_all(per_status)?, [("done".to_owned(), 2), ("queued".to_owned(), 1)]);
    /// let busy = Job::select(&t).group_by(Job::status()).having(Having::count().ge(2)).count();
    /// assert_eq!(db.fetch_all(busy)?, [("done".to_owned(), 2)]);
    /// # Ok(()) }
    /// ```
    pub fn group_by<T, K: ColumnValue, I>(mut self, column: Column<T, K>) -> Grouped<S, Read<T, S, I, K>>
    where
        T: Named + InSource<S, I>,
    {
        self.p.shape.group_by(column.col_ref());
        Grouped { select: self, _k: PhantomData }
    }
}

/// A `SELECT` of chosen columns or of one aggregate per group; rows are tuples.
pub struct Projected<S, R> {
    select: Select<S>,
    _r: PhantomData<fn() -> R>,
}

impl<S, R> std::fmt::Debug for Projected<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projected").field("shape", &self.select.p.shape).finish_non_exhaustive()
    }
}

impl<S: Source, R> Projected<S, R> {
    /// The same rows, decoded into a struct of your own (`#[derive(Projection)]`) whose
    /// fields have the projected columns' types, in order.
    pub fn into_rows<T: FromValues<R>>(self) -> Projected<S, T> {
        Projected { select: self.select, _r: PhantomData }
    }

    /// `SELECT DISTINCT`: each different row once.
    ///
    /// ```
    /// # use tenantry::{Dialect, Having, Table, TenantId, exists};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_distinct", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::select(&t).columns((Note::title(),)).distinct();
    /// assert_eq!(q.to_sql()?.text, r#"SELECT DISTINCT title FROM doc_notes_distinct WHERE user_id = ?"#);
    /// # Ok(()) }
    /// ```
    pub fn distinct(mut self) -> Self {
        self.select.p.shape.set_distinct();
        self
    }

    /// Adds an ordering term.
    pub fn order_by(mut self, order: OrderBy<S>) -> Self {
        self.select = self.select.order_by(order);
        self
    }

    /// At most `n` rows.
    pub fn limit(mut self, n: u64) -> Self {
        self.select = self.select.limit(n);
        self
    }

    /// Skips the first `n` rows.
    pub fn offset(mut self, n: u64) -> Self {
        self.select = self.select.offset(n);
        self
    }

    /// The SQLite SQL and parameters this statement runs.
    pub fn to_sql(&self) -> Result<crate::Sql> {
        self.select.to_sql()
    }

    /// The SQL and parameters in `dialect`.
    pub fn to_sql_in(&self, dialect: crate::Dialect) -> Result<crate::Sql> {
        self.select.to_sql_in(dialect)
    }
}

impl<S, R> crate::query::sealed::Statement for Projected<S, R> {}

impl<S: Source, R: Values> Fetch for Projected<S, R> {
    type Row = R;
    fn __plan(&self) -> Plan<'_> {
        self.select.__plan()
    }
    fn __decode<Rw: RowSource + ?Sized>(&self, row: &Rw) -> Result<R> {
        R::__decode(row, self.select.p.shape.from.0.name)
    }
}

/// A `SELECT ... GROUP BY key`, waiting for its aggregate.
#[must_use = "a grouped select needs its aggregate: `.count()`, `.sum(..)`, `.avg(..)`, `.min(..)` or `.max(..)`"]
pub struct Grouped<S, K> {
    select: Select<S>,
    _k: PhantomData<fn() -> K>,
}

impl<S, K> std::fmt::Debug for Grouped<S, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grouped").field("shape", &self.select.p.shape).finish_non_exhaustive()
    }
}

impl<S: Source, K: ColumnValue> Grouped<S, K> {
    /// `HAVING` a condition on an aggregate of the group (`Having::count().ge(2)`); several
    /// are ANDed.
    ///
    /// ```
    /// # use tenantry::{Dialect, Having, Table, TenantId, exists};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_having", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::select(&t).group_by(Note::title()).having(Having::count().ge(2)).count();
    /// assert_eq!(q.to_sql()?.text, r#"SELECT title, COUNT(*) FROM doc_notes_having WHERE user_id = ? GROUP BY title HAVING COUNT(*) >= ?"#);
    /// # Ok(()) }
    /// ```
    pub fn having(mut self, having: Having<S>) -> Self {
        let slot = self.select.push(having.value);
        self.select.p.shape.having(HavingShape { agg: having.agg, op: having.op, slot });
        self
    }

    fn aggregate<R>(mut self, agg: Agg) -> Projected<S, R> {
        let key = self.select.p.shape.tail().group[0];
        self.select.p.shape.set_out(vec![Out::Col(key), Out::Agg(agg)]);
        Projected { select: self.select, _r: PhantomData }
    }

    /// `key, COUNT(*)` per group.
    pub fn count(self) -> Projected<S, (K, i64)> {
        self.aggregate(Agg::Count)
    }

    /// `key, SUM(column)` per group.
    ///
    /// ```
    /// # use tenantry::{Dialect, Having, Table, TenantId, exists};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_group_sum", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::select(&t).group_by(Note::title()).sum(Note::words());
    /// assert_eq!(q.to_sql()?.text, r#"SELECT title, SUM(words) FROM doc_notes_group_sum WHERE user_id = ? GROUP BY title"#);
    /// assert_eq!(q.to_sql_in(Dialect::Postgres)?.text, r#"SELECT title, CAST(SUM(words) AS BIGINT) FROM doc_notes_group_sum WHERE user_id = $1 GROUP BY title"#);
    /// # Ok(()) }
    /// ```
    pub fn sum<T, V: Numeric, I>(self, column: Column<T, V>) -> Projected<S, (K, Option<V::Base>)>
    where
        T: Named + InSource<S, I>,
    {
        self.aggregate(Agg::Sum(column.col_ref()))
    }

    /// `key, AVG(column)` per group.
    pub fn avg<T, V: Numeric, I>(self, column: Column<T, V>) -> Projected<S, (K, Option<f64>)>
    where
        T: Named + InSource<S, I>,
    {
        self.aggregate(Agg::Avg(column.col_ref()))
    }

    /// `key, MIN(column)` per group.
    pub fn min<T, V: Comparable, I>(self, column: Column<T, V>) -> Projected<S, (K, Option<V::Base>)>
    where
        T: Named + InSource<S, I>,
    {
        self.aggregate(Agg::Min(column.col_ref()))
    }

    /// `key, MAX(column)` per group.
    pub fn max<T, V: Comparable, I>(self, column: Column<T, V>) -> Projected<S, (K, Option<V::Base>)>
    where
        T: Named + InSource<S, I>,
    {
        self.aggregate(Agg::Max(column.col_ref()))
    }
}

/// A `HAVING` condition on a group's aggregate: `Having::count().ge(2)` keeps the groups
/// of at least two rows; `Having::sum(Job::progress()).gt(100)` those whose total exceeds
/// 100. Typed by the statement's tables, like a filter.
pub struct Having<S> {
    agg: Agg,
    op: CmpOp,
    value: Param,
    _s: PhantomData<fn() -> S>,
}

impl<S> std::fmt::Debug for Having<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Having").field("agg", &self.agg).field("op", &self.op).finish_non_exhaustive()
    }
}

impl<S> Having<S> {
    /// `COUNT(*)` of the group.
    pub fn count() -> HavingAgg<S, i64> {
        HavingAgg { agg: Agg::Count, _s: PhantomData }
    }

    /// `SUM(column)` over the group.
    pub fn sum<T, V: Numeric, I>(column: Column<T, V>) -> HavingAgg<S, V::Base>
    where
        T: Named + InSource<S, I>,
    {
        HavingAgg { agg: Agg::Sum(column.col_ref()), _s: PhantomData }
    }

    /// `AVG(column)` over the group.
    pub fn avg<T, V: Numeric, I>(column: Column<T, V>) -> HavingAgg<S, f64>
    where
        T: Named + InSource<S, I>,
    {
        HavingAgg { agg: Agg::Avg(column.col_ref()), _s: PhantomData }
    }

    /// `MIN(column)` over the group.
    pub fn min<T, V: Comparable, I>(column: Column<T, V>) -> HavingAgg<S, V::Base>
    where
        T: Named + InSource<S, I>,
    {
        HavingAgg { agg: Agg::Min(column.col_ref()), _s: PhantomData }
    }

    /// `MAX(column)` over the group.
    pub fn max<T, V: Comparable, I>(column: Column<T, V>) -> HavingAgg<S, V::Base>
    where
        T: Named + InSource<S, I>,
    {
        HavingAgg { agg: Agg::Max(column.col_ref()), _s: PhantomData }
    }
}

/// An aggregate of a group, to compare with a value of type `V`.
pub struct HavingAgg<S, V> {
    agg: Agg,
    _s: PhantomData<fn() -> (S, V)>,
}

impl<S, V> std::fmt::Debug for HavingAgg<S, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HavingAgg").field("agg", &self.agg).finish()
    }
}

macro_rules! having_ops {
    ($($name:ident $op:ident $sql:literal),*) => {
        impl<S, V: ColumnValue> HavingAgg<S, V> {$(
            #[doc = concat!("`aggregate ", $sql, " value`")]
            pub fn $name(self, value: impl IntoSql<V>) -> Having<S> {
                Having { agg: self.agg, op: CmpOp::$op, value: value.__into_param(), _s: PhantomData }
            }
        )*}
    };
}

having_ops!(eq Eq "=", ne Ne "<>", lt Lt "<", le Le "<=", gt Gt ">", ge Ge ">=");
