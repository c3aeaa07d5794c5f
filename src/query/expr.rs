//! Typed columns, conditions and orderings.

use std::marker::PhantomData;

use crate::query::shape::{CmpOp, ColRef, Node, Slot, SubShape, TableRef};
use crate::query::source::{InSource, Named, Tables};
use crate::schema::{Owned, Table};
use crate::value::{ColumnValue, IntoSql, Param, Value};

/// A column of table `T` holding values of type `V`. Made by the derive: `Project::name()`.
pub struct Column<T, V> {
    index: u16,
    _t: PhantomData<fn() -> (T, V)>,
}

impl<T, V> Clone for Column<T, V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, V> Copy for Column<T, V> {}

impl<T, V> std::fmt::Debug for Column<T, V>
where
    T: Named,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", T::INFO.name, T::INFO.columns[usize::from(self.index)].name)
    }
}

/// The tenant column of table `T`. It exists so that code naming it gets a clear compile
/// error: it cannot be assigned, compared or ordered on: tenantry sets and checks it.
pub struct TenantColumn<T> {
    _t: PhantomData<fn() -> T>,
}

#[doc(hidden)]
impl<T: Table, V> Column<T, V> {
    pub const fn __new(index: u16) -> Self {
        Column { index, _t: PhantomData }
    }
}

#[doc(hidden)]
impl<T: Table> TenantColumn<T> {
    pub const fn __new() -> Self {
        TenantColumn { _t: PhantomData }
    }
}

/// Never implemented: names the rule when code compares or orders by a tenant column.
#[diagnostic::on_unimplemented(
    message = "the tenant column of `{T}` cannot be compared or ordered by",
    label = "tenantry already filters every statement by its tenant",
    note = "build the statement from the tenant instead (`Table::select(&tenant)`); cross-tenant reads need an `Admin` capability"
)]
pub trait TenantPredicateIsImplicit<T>: crate::query::sealed::Never {}

/// These exist only to turn a mistake into a clear compile error.
impl<T: Table> TenantColumn<T> {
    /// Not available: see [`TenantPredicateIsImplicit`](crate::TenantPredicateIsImplicit).
    pub fn eq<S, X>(self, _value: X) -> Cond<S>
    where
        Self: TenantPredicateIsImplicit<T>,
    {
        unreachable!("the bound cannot be satisfied")
    }
    /// Not available: see [`TenantPredicateIsImplicit`](crate::TenantPredicateIsImplicit).
    pub fn ne<S, X>(self, _value: X) -> Cond<S>
    where
        Self: TenantPredicateIsImplicit<T>,
    {
        unreachable!("the bound cannot be satisfied")
    }
    /// Not available: see [`TenantPredicateIsImplicit`](crate::TenantPredicateIsImplicit).
    pub fn is_in<S, X>(self, _values: X) -> Cond<S>
    where
        Self: TenantPredicateIsImplicit<T>,
    {
        unreachable!("the bound cannot be satisfied")
    }
    /// Not available: see [`TenantPredicateIsImplicit`](crate::TenantPredicateIsImplicit).
    pub fn asc<S>(self) -> OrderBy<S>
    where
        Self: TenantPredicateIsImplicit<T>,
    {
        unreachable!("the bound cannot be satisfied")
    }
    /// Not available: see [`TenantPredicateIsImplicit`](crate::TenantPredicateIsImplicit).
    pub fn desc<S>(self) -> OrderBy<S>
    where
        Self: TenantPredicateIsImplicit<T>,
    {
        unreachable!("the bound cannot be satisfied")
    }
}

impl<T, V> Column<T, V> {
    /// The same column, named through another table type (an alias of `T`).
    pub(crate) fn retyped<U>(column: Column<T, V>) -> Column<U, V> {
        Column { index: column.index, _t: PhantomData }
    }
}

impl<T: Named, V> Column<T, V> {
    pub(crate) fn col_ref(self) -> ColRef {
        ColRef { table: TableRef(T::INFO, T::ALIAS), index: self.index }
    }

    /// The column's SQL name.
    pub fn name(self) -> &'static str {
        T::INFO.columns.get(usize::from(self.index)).map_or("?", |c| c.name)
    }
}

/// The values of a condition or subquery, before they join a statement's parameters:
/// room for two inline (most conditions bind one), so a condition stays small to move.
pub(crate) type CondValues = smallvec::SmallVec<[Param; 2]>;

/// A condition over the tables of source `S` (inferred from where it is used).
///
/// Build one from a column (`Project::name().eq("x")`), combine with [`and`](Cond::and),
/// [`or`](Cond::or), [`not`](Cond::not). However it is combined, it is ANDed with the
/// tenant predicate of every owned table in the statement: an `OR` never widens past it.
pub struct Cond<S> {
    pub(crate) node: Node,
    pub(crate) values: CondValues,
    _s: PhantomData<fn() -> S>,
}

impl<S> std::fmt::Debug for Cond<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cond").field("node", &self.node).finish_non_exhaustive()
    }
}

impl<S> Cond<S> {
    /// Slots in a fresh condition start at 0; appending shifts them.
    fn new(node: Node, values: CondValues) -> Self {
        Cond { node, values, _s: PhantomData }
    }

    fn combine(mut self, other: Cond<S>, and: bool) -> Self {
        let mut rhs = other.node;
        rhs.shift(self.values.len() as Slot);
        self.values.extend(other.values);
        let node = match (self.node, and) {
            (Node::And(mut v), true) => {
                v.push(rhs);
                Node::And(v)
            }
            (Node::Or(mut v), false) => {
                v.push(rhs);
                Node::Or(v)
            }
            (lhs, true) => Node::And(vec![lhs, rhs]),
            (lhs, false) => Node::Or(vec![lhs, rhs]),
        };
        Cond::new(node, self.values)
    }

    /// `primary_key = key` on `T`, for statements tenantry builds from a row it holds.
    pub(crate) fn primary_key_eq<T: Table>(key: Value) -> Self {
        let pk = ColRef { table: TableRef::of(T::INFO), index: T::INFO.primary_key as u16 };
        Cond::new(Node::Cmp(pk, CmpOp::Eq, 0), smallvec::smallvec![Param::from(key)])
    }

    /// Both conditions.
    ///
    /// ```
    /// # use tenantry::{Dialect, Having, Table, TenantId, exists};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_and", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::select(&t).filter(Note::words().gt(10).and(Note::words().lt(100)).or(Note::title().eq("x")));
    /// assert_eq!(q.to_sql()?.text, r#"SELECT user_id, id, folder_id, title, words FROM doc_notes_and WHERE user_id = ? AND ((words > ? AND words < ?) OR title = ?)"#);
    /// # Ok(()) }
    /// ```
    pub fn and(self, other: Cond<S>) -> Self {
        self.combine(other, true)
    }

    /// Either condition (still within the tenant: the tenant predicate is outside it).
    ///
    /// ```
    /// # use tenantry::{Dialect, Having, Table, TenantId, exists};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_or", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::select(&t).filter(Note::title().eq("a").or(Note::title().eq("b")));
    /// assert_eq!(q.to_sql()?.text, r#"SELECT user_id, id, folder_id, title, words FROM doc_notes_or WHERE user_id = ? AND (title = ? OR title = ?)"#);
    /// # Ok(()) }
    /// ```
    pub fn or(self, other: Cond<S>) -> Self {
        self.combine(other, false)
    }

    /// The negation (still within the tenant).
    ///
    /// ```
    /// # use tenantry::{Dialect, Having, Table, TenantId, exists};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_not", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::select(&t).filter(Note::title().eq("x").not());
    /// assert_eq!(q.to_sql()?.text, r#"SELECT user_id, id, folder_id, title, words FROM doc_notes_not WHERE user_id = ? AND (NOT title = ?)"#);
    /// # Ok(()) }
    /// ```
    #[allow(clippy::should_implement_trait, reason = "builder reads better as a method; `!` also works")]
    pub fn not(self) -> Self {
        Cond::new(Node::Not(Box::new(self.node)), self.values)
    }

    /// Appends this condition's values to `params`, shifting its slots to match.
    #[inline(always)]
    pub(crate) fn append_to<A: smallvec::Array<Item = Param>>(self, params: &mut smallvec::SmallVec<A>) -> Node {
        let mut node = self.node;
        // Inline, an emptied list owns nothing, so it is forgotten instead of dropped: the
        // drop is an out-of-line call on every statement built.
        let inline = !self.values.spilled();
        if self.values.is_empty() {
            if inline {
                std::mem::forget(self.values);
            }
            return node;
        }
        node.shift(params.len() as Slot);
        // One push per value: cheaper than `extend` for the usual one or two.
        let mut values = self.values.into_iter();
        for v in values.by_ref() {
            params.push(v);
        }
        if inline {
            std::mem::forget(values);
        }
        node
    }
}

impl<S> std::ops::Not for Cond<S> {
    type Output = Cond<S>;
    fn not(self) -> Cond<S> {
        Cond::not(self)
    }
}

/// An ordering term: `Project::created_at().desc()`.
pub struct OrderBy<S> {
    pub(crate) col: ColRef,
    pub(crate) desc: bool,
    _s: PhantomData<fn() -> S>,
}

impl<T: Named, V: ColumnValue> Column<T, V> {
    fn cmp<S, I>(self, op: CmpOp, v: impl IntoSql<V>) -> Cond<S>
    where
        T: InSource<S, I>,
    {
        Cond::new(Node::Cmp(self.col_ref(), op, 0), smallvec::smallvec![v.__into_param()])
    }

    /// `column = value`
    pub fn eq<S, I>(self, v: impl IntoSql<V>) -> Cond<S>
    where
        T: InSource<S, I>,
    {
        self.cmp(CmpOp::Eq, v)
    }
    /// `column <> value`
    pub fn ne<S, I>(self, v: impl IntoSql<V>) -> Cond<S>
    where
        T: InSource<S, I>,
    {
        self.cmp(CmpOp::Ne, v)
    }
    /// `column < value`
    pub fn lt<S, I>(self, v: impl IntoSql<V>) -> Cond<S>
    where
        T: InSource<S, I>,
    {
        self.cmp(CmpOp::Lt, v)
    }
    /// `column <= value`
    pub fn le<S, I>(self, v: impl IntoSql<V>) -> Cond<S>
    where
        T: InSource<S, I>,
    {
        self.cmp(CmpOp::Le, v)
    }
    /// `column > value`
    pub fn gt<S, I>(self, v: impl IntoSql<V>) -> Cond<S>
    where
        T: InSource<S, I>,
    {
        self.cmp(CmpOp::Gt, v)
    }
    /// `column >= value`
    pub fn ge<S, I>(self, v: impl IntoSql<V>) -> Cond<S>
    where
        T: InSource<S, I>,
    {
        self.cmp(CmpOp::Ge, v)
    }

    /// `column IN (v1, v2, ...)`; an empty list matches nothing.
    ///
    /// ```
    /// # use tenantry::{Dialect, Having, Table, TenantId, exists};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_is_in", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::select(&t).filter(Note::id().is_in([1, 2, 3]));
    /// assert_eq!(q.to_sql()?.text, r#"SELECT user_id, id, folder_id, title, words FROM doc_notes_is_in WHERE user_id = ? AND id IN (?, ?, ?)"#);
    /// assert_eq!(q.to_sql_in(Dialect::Postgres)?.text, r#"SELECT user_id, id, folder_id, title, words FROM doc_notes_is_in WHERE user_id = $1 AND id IN ($2, $3, $4)"#);
    /// # Ok(()) }
    /// ```
    pub fn is_in<S, I, X: IntoSql<V>>(self, values: impl IntoIterator<Item = X>) -> Cond<S>
    where
        T: InSource<S, I>,
    {
        self.in_list(values, false)
    }

    /// `column NOT IN (v1, v2, ...)`; an empty list matches everything (of the tenant).
    ///
    /// ```
    /// # use tenantry::{Dialect, Having, Table, TenantId, exists};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_not_in", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::select(&t).filter(Note::id().not_in([1, 2]));
    /// assert_eq!(q.to_sql()?.text, r#"SELECT user_id, id, folder_id, title, words FROM doc_notes_not_in WHERE user_id = ? AND id NOT IN (?, ?)"#);
    /// # Ok(()) }
    /// ```
    pub fn not_in<S, I, X: IntoSql<V>>(self, values: impl IntoIterator<Item = X>) -> Cond<S>
    where
        T: InSource<S, I>,
    {
        self.in_list(values, true)
    }

    fn in_list<S, X: IntoSql<V>>(self, values: impl IntoIterator<Item = X>, negated: bool) -> Cond<S> {
        let values: CondValues = values.into_iter().map(IntoSql::__into_param).collect();
        // SQLite refuses statements with more than 32766 parameters with a typed error at
        // execution; a list is never truncated here.
        let len = values.len() as u32;
        Cond::new(Node::In { col: self.col_ref(), first: 0, len, negated }, values)
    }

    /// `column = other_column`, e.g. a join condition
    /// `ExportJob::project_id().eq_col(Project::id())`. The columns hold the same type, or
    /// one holds the `Option` of the other's (a nullable foreign key meets the key it
    /// points to; `NULL` matches nothing).
    pub fn eq_col<S, I, J, U, W>(self, other: Column<U, W>) -> Cond<S>
    where
        T: InSource<S, I>,
        U: Named + InSource<S, J>,
        V: ComparableWith<W>,
    {
        Cond::new(Node::ColCmp(self.col_ref(), CmpOp::Eq, other.col_ref()), CondValues::new())
    }

    /// `column IN (SELECT ...)` over a subquery made with `Table::subquery()`; in a scoped
    /// statement the subquery carries the same tenant predicate.
    ///
    /// ```
    /// # use tenantry::{Dialect, Having, Table, TenantId, exists};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_in_sub", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # #[derive(Table, Debug)] #[table(name = "doc_folders_in_sub", owned)]
    /// # struct Folder { #[tenant] user_id: TenantId, #[primary_key] id: i64, name: String }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::select(&t).filter(Note::id().in_subquery(Folder::subquery().select(Folder::id()).filter(Folder::name().eq("inbox"))));
    /// assert_eq!(q.to_sql()?.text, r#"SELECT dnis.user_id, dnis.id, dnis.folder_id, dnis.title, dnis.words FROM doc_notes_in_sub AS dnis WHERE dnis.user_id = ?1 AND dnis.id IN (SELECT dfis.id FROM doc_folders_in_sub AS dfis WHERE dfis.user_id = ?1 AND dfis."name" = ?2)"#);
    /// # Ok(()) }
    /// ```
    pub fn in_subquery<S, I, Q>(self, sub: Q) -> Cond<S>
    where
        T: InSource<S, I>,
        Q: SubqueryOf<S, V>,
    {
        let SubParts(shape, values) = sub.__into_parts();
        Cond::new(Node::InSub { col: self.col_ref(), sub: Box::new(shape), negated: false }, values)
    }

    /// `column NOT IN (SELECT ...)`.
    pub fn not_in_subquery<S, I, Q>(self, sub: Q) -> Cond<S>
    where
        T: InSource<S, I>,
        Q: SubqueryOf<S, V>,
    {
        let SubParts(shape, values) = sub.__into_parts();
        Cond::new(Node::InSub { col: self.col_ref(), sub: Box::new(shape), negated: true }, values)
    }

    /// Ascending order.
    pub fn asc<S, I>(self) -> OrderBy<S>
    where
        T: InSource<S, I>,
    {
        OrderBy { col: self.col_ref(), desc: false, _s: PhantomData }
    }

    /// Descending order.
    pub fn desc<S, I>(self) -> OrderBy<S>
    where
        T: InSource<S, I>,
    {
        OrderBy { col: self.col_ref(), desc: true, _s: PhantomData }
    }
}

impl<T: Named, V: ColumnValue> Column<T, Option<V>> {
    /// `column IS NULL`
    ///
    /// ```
    /// # use tenantry::{Dialect, Having, Table, TenantId, exists};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_is_null", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::select(&t).filter(Note::folder_id().is_null());
    /// assert_eq!(q.to_sql()?.text, r#"SELECT user_id, id, folder_id, title, words FROM doc_notes_is_null WHERE user_id = ? AND folder_id IS NULL"#);
    /// # Ok(()) }
    /// ```
    pub fn is_null<S, I>(self) -> Cond<S>
    where
        T: InSource<S, I>,
    {
        Cond::new(Node::Null { col: self.col_ref(), negated: false }, CondValues::new())
    }
    /// `column IS NOT NULL`
    ///
    /// ```
    /// # use tenantry::{Dialect, Having, Table, TenantId, exists};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_is_not_null", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::select(&t).filter(Note::folder_id().is_not_null());
    /// assert_eq!(q.to_sql()?.text, r#"SELECT user_id, id, folder_id, title, words FROM doc_notes_is_not_null WHERE user_id = ? AND folder_id IS NOT NULL"#);
    /// # Ok(()) }
    /// ```
    pub fn is_not_null<S, I>(self) -> Cond<S>
    where
        T: InSource<S, I>,
    {
        Cond::new(Node::Null { col: self.col_ref(), negated: true }, CondValues::new())
    }
}

/// Column types whose columns can be compared with each other: the same type, or a type
/// and its `Option` (either way round). Sealed.
#[diagnostic::on_unimplemented(
    message = "a `{Self}` column cannot be compared with a `{W}` column",
    label = "the other column holds `{W}`",
    note = "a column condition compares columns of one type, or a nullable column with its non-null type (`Option<Uuid>` with `Uuid`)"
)]
pub trait ComparableWith<W>: crate::query::sealed::ComparableWith<W> {}
impl<V: ColumnValue> crate::query::sealed::ComparableWith<V> for V {}
impl<V: ColumnValue> ComparableWith<V> for V {}
impl<V: ColumnValue> crate::query::sealed::ComparableWith<V> for Option<V> {}
impl<V: ColumnValue> ComparableWith<V> for Option<V> {}
impl<V: ColumnValue> crate::query::sealed::ComparableWith<Option<V>> for V {}
impl<V: ColumnValue> ComparableWith<Option<V>> for V {}

/// Text columns (nullable or not) support `LIKE`.
pub trait TextValue {}
impl TextValue for String {}
impl TextValue for Option<String> {}

impl<T: Named, V: ColumnValue + TextValue> Column<T, V> {
    /// `column LIKE pattern` (SQLite's `LIKE`: `%` and `_` wildcards, ASCII case-insensitive).
    ///
    /// ```
    /// # use tenantry::{Dialect, Having, Table, TenantId, exists};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_like", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::select(&t).filter(Note::title().like("%clip%"));
    /// assert_eq!(q.to_sql()?.text, r#"SELECT user_id, id, folder_id, title, words FROM doc_notes_like WHERE user_id = ? AND title LIKE ?"#);
    /// # Ok(()) }
    /// ```
    pub fn like<S, I>(self, pattern: &str) -> Cond<S>
    where
        T: InSource<S, I>,
    {
        Cond::new(
            Node::Like { col: self.col_ref(), pattern: 0, negated: false },
            smallvec::smallvec![Param::text(pattern)],
        )
    }
    /// `column NOT LIKE pattern`
    pub fn not_like<S, I>(self, pattern: &str) -> Cond<S>
    where
        T: InSource<S, I>,
    {
        Cond::new(
            Node::Like { col: self.col_ref(), pattern: 0, negated: true },
            smallvec::smallvec![Param::text(pattern)],
        )
    }
}

/// Variance-neutral marker for [`Subquery`]'s type parameters.
type SubMarker<T, O, P> = fn() -> (T, O, P);

/// A subquery over owned table `T`, for use inside a statement whose source is `O`.
///
/// It has no tenant of its own and cannot be executed: embedded in a scoped statement,
/// it takes that statement's tenant. So a subquery can never reach another tenant.
/// `P` is the projected column type (`()` before [`Subquery::select`]).
pub struct Subquery<T, O, P = ()> {
    cond: Option<Node>,
    column: Option<ColRef>,
    values: CondValues,
    _t: PhantomData<SubMarker<T, O, P>>,
}

/// `Self` is a subquery usable in a statement over source `S`, projecting a `P`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a subquery here",
    note = "`IN` and `exists` take only subqueries built with `Table::subquery()` for this statement: they take its tenant, so they cannot be unscoped",
    note = "for `IN`, the subquery `.select(...)`s one column of the `IN` column's type"
)]
pub trait SubqueryOf<S, P>: crate::query::sealed::SubqueryOf<S, P> {
    #[doc(hidden)]
    fn __into_parts(self) -> SubParts;
}
impl<T: Owned, O, P> crate::query::sealed::SubqueryOf<O, P> for Subquery<T, O, P> {}
impl<T: Owned, O, P> SubqueryOf<O, P> for Subquery<T, O, P> {
    fn __into_parts(self) -> SubParts {
        // Slots count from 0 within the subquery; `Cond::append_to` shifts them later.
        SubParts(SubShape { table: TableRef::of(T::INFO), column: self.column, cond: self.cond }, self.values)
    }
}

/// A subquery taken apart; opaque outside tenantry.
#[doc(hidden)]
#[derive(Debug)]
pub struct SubParts(pub(crate) SubShape, pub(crate) CondValues);

impl<T: Owned, O> Subquery<T, O, ()> {
    #[doc(hidden)]
    pub fn __new() -> Self {
        Subquery { cond: None, column: None, values: CondValues::new(), _t: PhantomData }
    }

    /// Projects one column: `SELECT column FROM ...`, for `IN (subquery)`.
    pub fn select<V>(self, column: Column<T, V>) -> Subquery<T, O, V> {
        Subquery { cond: self.cond, column: Some(column.col_ref()), values: self.values, _t: PhantomData }
    }
}

impl<T: Owned, O, P> Subquery<T, O, P> {
    /// Filters the subquery. The condition may name columns of `T` and of the enclosing
    /// statement's tables (a correlated subquery).
    pub fn filter(mut self, cond: Cond<Tables<T, O>>) -> Self {
        let node = cond.append_to(&mut self.values);
        self.cond = Some(Node::and(self.cond.take(), node));
        self
    }
}

/// `EXISTS (subquery)`.
///
/// ```
/// # use tenantry::{Dialect, Having, Table, TenantId, exists};
/// # #[derive(Table, Debug)] #[table(name = "doc_notes_exists", owned)]
/// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
/// # #[derive(Table, Debug)] #[table(name = "doc_folders_exists", owned)]
/// # struct Folder { #[tenant] user_id: TenantId, #[primary_key] id: i64, name: String }
/// # fn main() -> tenantry::Result<()> {
/// # let t = TenantId::generate();
/// let q = Folder::select(&t).filter(exists(Note::subquery().filter(Note::folder_id().eq_col(Folder::id()))));
/// assert_eq!(q.to_sql()?.text, r#"SELECT dfe.user_id, dfe.id, dfe."name" FROM doc_folders_exists AS dfe WHERE dfe.user_id = ?1 AND EXISTS(SELECT 1 FROM doc_notes_exists AS dne WHERE dne.user_id = ?1 AND dne.folder_id = dfe.id)"#);
/// # Ok(()) }
/// ```
pub fn exists<S, P>(sub: impl SubqueryOf<S, P>) -> Cond<S> {
    let SubParts(shape, values) = sub.__into_parts();
    Cond::new(Node::Exists { sub: Box::new(shape), negated: false }, values)
}

/// `NOT EXISTS (subquery)`.
pub fn not_exists<S, P>(sub: impl SubqueryOf<S, P>) -> Cond<S> {
    let SubParts(shape, values) = sub.__into_parts();
    Cond::new(Node::Exists { sub: Box::new(shape), negated: true }, values)
}
