//! `SELECT`: rows, joins, counts and aggregates.

use std::marker::PhantomData;

use crate::error::{Error, Result};
use crate::query::expr::{Column, Cond, OrderBy};
use crate::query::shape::{Agg, Join, SelectShape, Slot, TableRef};
use crate::query::source::{Append, End, InSource, Joinable, LeftJoined, Named, Source, Tables};
use crate::query::{Fetch, Plan, PlanKind, Scope, params_with_tenant_slot};
use crate::schema::Table;
use crate::value::{ColumnValue, Param, Params, Value};

/// A `SELECT` over the tables of `S`, scoped to one tenant.
///
/// Made by `Table::select(&tenant)` or `Table::get(&tenant, key)`; every owned table in it
/// carries the tenant predicate, and every row it returns is checked to carry the tenant.
pub struct Select<S> {
    pub(crate) p: Parts,
    _s: PhantomData<fn() -> S>,
}

/// What a [`Select`] holds, in one value: a join, which changes the statement's type,
/// moves it as one copy, not one per field.
#[derive(Clone)]
pub(crate) struct Parts {
    pub(crate) shape: SelectShape,
    pub(crate) params: Params,
    pub(crate) scope: Scope,
}

impl<S> Clone for Select<S> {
    fn clone(&self) -> Self {
        Select { p: self.p.clone(), _s: PhantomData }
    }
}

impl<S> std::fmt::Debug for Select<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Select").field("shape", &self.p.shape).finish_non_exhaustive()
    }
}

/// Clamps a row count to what SQLite's signed 64-bit integers carry; a limit above
/// `i64::MAX` means the same as `i64::MAX`.
fn count_value(n: u64) -> Value {
    Value::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

impl<S: Source> Select<S> {
    pub(crate) fn new(from: TableRef, scope: Scope) -> Self {
        Select {
            p: Parts { shape: SelectShape::whole(from, scope.is_scoped()), params: params_with_tenant_slot(), scope },
            _s: PhantomData,
        }
    }

    /// `tenant = ? AND primary_key = ?`, built without intermediate conditions.
    pub(crate) fn by_key(from: TableRef, scope: Scope, key: Param) -> Self {
        let mut params = params_with_tenant_slot();
        params.push(key);
        Select { p: Parts { shape: SelectShape::by_key(from, scope.is_scoped()), params, scope }, _s: PhantomData }
    }

    pub(crate) fn push(&mut self, v: Param) -> Slot {
        self.p.params.push(v);
        (self.p.params.len() - 1) as Slot
    }

    /// Adds a condition, ANDed with earlier ones and with the tenant predicate.
    ///
    /// ```
    /// # use tenantry::{Dialect, Table, TenantId};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_filter", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::select(&t).filter(Note::words().gt(100));
    /// assert_eq!(q.to_sql()?.text, r#"SELECT user_id, id, folder_id, title, words FROM doc_notes_filter WHERE user_id = ? AND words > ?"#);
    /// assert_eq!(q.to_sql_in(Dialect::Postgres)?.text, r#"SELECT user_id, id, folder_id, title, words FROM doc_notes_filter WHERE user_id = $1 AND words > $2"#);
    /// # Ok(()) }
    /// ```
    #[inline]
    pub fn filter(mut self, cond: Cond<S>) -> Self {
        let node = cond.append_to(&mut self.p.params);
        self.p.shape.and_where(node);
        self
    }

    /// Adds an ordering term (`Project::created_at().desc()`).
    ///
    /// ```
    /// # use tenantry::{Dialect, Table, TenantId};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_order_by", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::select(&t).order_by(Note::words().desc());
    /// assert_eq!(q.to_sql()?.text, r#"SELECT user_id, id, folder_id, title, words FROM doc_notes_order_by WHERE user_id = ? ORDER BY words DESC"#);
    /// # Ok(()) }
    /// ```
    pub fn order_by(mut self, order: OrderBy<S>) -> Self {
        self.p.shape.order_by(order.col, order.desc);
        self
    }

    /// At most `n` rows (a bound parameter, so one cached statement serves every limit).
    ///
    /// ```
    /// # use tenantry::{Dialect, Table, TenantId};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_limit", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::select(&t).limit(10);
    /// assert_eq!(q.to_sql()?.text, r#"SELECT user_id, id, folder_id, title, words FROM doc_notes_limit WHERE user_id = ? LIMIT ?"#);
    /// # Ok(()) }
    /// ```
    pub fn limit(mut self, n: u64) -> Self {
        let slot = self.push(Param::from(count_value(n)));
        self.p.shape.set_limit(slot);
        self
    }

    /// Skips the first `n` rows.
    ///
    /// ```
    /// # use tenantry::{Dialect, Table, TenantId};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_offset", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::select(&t).order_by(Note::id().asc()).limit(10).offset(20);
    /// assert_eq!(q.to_sql()?.text, r#"SELECT user_id, id, folder_id, title, words FROM doc_notes_offset WHERE user_id = ? ORDER BY id ASC LIMIT ? OFFSET ?"#);
    /// # Ok(()) }
    /// ```
    pub fn offset(mut self, n: u64) -> Self {
        if self.p.shape.limit.is_none() {
            // SQLite needs a LIMIT before an OFFSET; i64::MAX means "no limit" to SQLite and
            // PostgreSQL alike (PostgreSQL refuses SQLite's usual -1).
            let slot = self.push(Param::from(Value::Integer(i64::MAX)));
            self.p.shape.set_limit(slot);
        }
        let slot = self.push(Param::from(count_value(n)));
        self.p.shape.set_offset(slot);
        self
    }

    /// `INNER JOIN` another owned table (or an alias of one, [`As`](crate::As), to join a
    /// table to itself), `on` a condition over both. The joined table gets its own tenant
    /// predicate, bound to this statement's tenant, inside the `ON` clause.
    ///
    /// ```
    /// # use tenantry::{Dialect, Table, TenantId};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_join", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # #[derive(Table, Debug)] #[table(name = "doc_folders_join", owned)]
    /// # struct Folder { #[tenant] user_id: TenantId, #[primary_key] id: i64, name: String }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::select(&t).join::<Folder>(Folder::id().eq_col(Note::folder_id()));
    /// assert_eq!(q.to_sql()?.text, r#"SELECT dnj.user_id, dnj.id, dnj.folder_id, dnj.title, dnj.words, dfj.user_id, dfj.id, dfj."name" FROM doc_notes_join AS dnj JOIN doc_folders_join AS dfj ON dfj.user_id = ?1 AND dfj.id = dnj.folder_id WHERE dnj.user_id = ?1"#);
    /// # Ok(()) }
    /// ```
    #[inline]
    pub fn join<U: Joinable>(self, on: Cond<<S as Append<U>>::Out>) -> Select<<S as Append<U>>::Out>
    where
        S: Append<U>,
    {
        self.joined(TableRef(U::INFO, U::ALIAS), on, false)
    }

    /// `LEFT JOIN` another owned table: every row of the statement so far, with `U`'s
    /// matching row or `None`. `U`'s tenant predicate sits in the `ON` clause beside `on`,
    /// so another tenant's row never matches (it is not in `WHERE`, which would drop the
    /// rows without a match).
    ///
    /// ```
    /// # use tenantry::{SqliteDatabase, Table, TenantId};
    /// # #[derive(Table, Debug)] #[table(name = "lj_folders", owned)]
    /// # struct Folder { #[tenant] user_id: TenantId, #[primary_key] id: i64, name: String }
    /// # #[derive(Table, Debug)] #[table(name = "lj_clips", owned)]
    /// # struct Clip { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64> }
    /// # fn main() -> tenantry::Result<()> {
    /// # let db = SqliteDatabase::open_in_memory()?; db.create_table::<Folder>()?; db.create_table::<Clip>()?;
    /// # let t = TenantId::generate();
    /// let q = Clip::select(&t).left_join::<Folder>(Folder::id().eq_col(Clip::folder_id()));
    /// assert_eq!(
    ///     q.to_sql()?.text,
    ///     r#"SELECT lc.user_id, lc.id, lc.folder_id, lf.user_id, lf.id, lf."name" FROM lj_clips AS lc LEFT JOIN lj_folders AS lf ON lf.user_id = ?1 AND lf.id = lc.folder_id WHERE lc.user_id = ?1"#
    /// );
    /// db.execute(Clip::insert(&t, NewClip { id: 1, folder_id: None }))?;
    /// let rows: Vec<(Clip, Option<Folder>)> = db.fetch_all(q)?;
    /// assert!(rows[0].1.is_none());
    /// # Ok(()) }
    /// ```
    #[inline]
    pub fn left_join<U: Joinable>(
        self,
        on: Cond<<S as Append<LeftJoined<U>>>::Out>,
    ) -> Select<<S as Append<LeftJoined<U>>>::Out>
    where
        S: Append<LeftJoined<U>>,
    {
        self.joined(TableRef(U::INFO, U::ALIAS), on, true)
    }

    /// `INNER JOIN` any table, a global one included, in a cross-tenant statement (one
    /// built from `T::admin_select(&admin)`, audited when it runs). A tenant's statement
    /// refuses a global table when it runs ([`Error::NotOwned`]): a global table has no
    /// tenant column to scope it by.
    ///
    /// ```
    /// # use tenantry::{Admin, SqliteDatabase, Table, TenantId};
    /// # #[derive(Table, Debug)] #[table(name = "aj_projects", owned)]
    /// # struct Project { #[tenant] user_id: TenantId, #[primary_key] id: i64, plan: String }
    /// # #[derive(Table, Debug)] #[table(name = "aj_plans", global)]
    /// # struct Plan { #[primary_key] name: String, price: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// let admin = Admin::new("billing report joins projects with plans");
    /// let q = Project::admin_select(&admin).admin_join::<Plan>(&admin, Plan::name().eq_col(Project::plan()));
    /// assert_eq!(
    ///     q.to_sql()?.text,
    ///     r#"SELECT ap.user_id, ap.id, ap."plan", ap2."name", ap2.price FROM aj_projects AS ap JOIN aj_plans AS ap2 ON ap2."name" = ap."plan" WHERE TRUE"#
    /// );
    /// # Ok(()) }
    /// ```
    pub fn admin_join<U: Table>(
        self,
        admin: &crate::Admin,
        on: Cond<<S as Append<U>>::Out>,
    ) -> Select<<S as Append<U>>::Out>
    where
        S: Append<U>,
    {
        let _ = admin; // the capability is the point: a cross-tenant join is deliberate
        self.joined(TableRef::of(U::INFO), on, false)
    }

    /// [`admin_join`](Self::admin_join) as a `LEFT JOIN`.
    pub fn admin_left_join<U: Table>(
        self,
        admin: &crate::Admin,
        on: Cond<<S as Append<LeftJoined<U>>>::Out>,
    ) -> Select<<S as Append<LeftJoined<U>>>::Out>
    where
        S: Append<LeftJoined<U>>,
    {
        let _ = admin; // the capability is the point: a cross-tenant join is deliberate
        self.joined(TableRef::of(U::INFO), on, true)
    }

    /// Adds a join of `table` on `on`; the statement's source becomes `O`.
    #[inline]
    fn joined<O>(mut self, table: TableRef, on: Cond<O>, left: bool) -> Select<O> {
        let on = on.append_to(&mut self.p.params);
        self.p.shape.join(Join { table, on, left });
        Select { p: self.p, _s: PhantomData }
    }

    fn aggregate<R>(mut self, agg: Agg) -> Aggregate<S, R> {
        self.p.shape.set_aggregate(agg);
        Aggregate { select: self, _r: PhantomData }
    }

    /// `SELECT COUNT(*)`.
    ///
    /// ```
    /// # use tenantry::{Dialect, Table, TenantId};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_count", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::select(&t).count();
    /// assert_eq!(q.to_sql()?.text, r#"SELECT COUNT(*) FROM doc_notes_count WHERE user_id = ?"#);
    /// # Ok(()) }
    /// ```
    pub fn count(self) -> Aggregate<S, i64> {
        self.aggregate(Agg::Count)
    }

    /// `SELECT SUM(column)`; `None` when no row matches.
    ///
    /// ```
    /// # use tenantry::{Dialect, Table, TenantId};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_sum", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::select(&t).sum(Note::words());
    /// assert_eq!(q.to_sql()?.text, r#"SELECT SUM(words) FROM doc_notes_sum WHERE user_id = ?"#);
    /// assert_eq!(q.to_sql_in(Dialect::Postgres)?.text, r#"SELECT CAST(SUM(words) AS BIGINT) FROM doc_notes_sum WHERE user_id = $1"#);
    /// # Ok(()) }
    /// ```
    pub fn sum<T, V: Numeric, I>(self, column: Column<T, V>) -> Aggregate<S, Option<V::Base>>
    where
        T: Named + InSource<S, I>,
    {
        self.aggregate(Agg::Sum(column.col_ref()))
    }

    /// `SELECT AVG(column)`; `None` when no row matches.
    ///
    /// ```
    /// # use tenantry::{Dialect, Table, TenantId};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_avg", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::select(&t).avg(Note::words());
    /// assert_eq!(q.to_sql()?.text, r#"SELECT AVG(words) FROM doc_notes_avg WHERE user_id = ?"#);
    /// assert_eq!(q.to_sql_in(Dialect::Postgres)?.text, r#"SELECT CAST(AVG(words) AS DOUBLE PRECISION) FROM doc_notes_avg WHERE user_id = $1"#);
    /// # Ok(()) }
    /// ```
    pub fn avg<T, V: Numeric, I>(self, column: Column<T, V>) -> Aggregate<S, Option<f64>>
    where
        T: Named + InSource<S, I>,
    {
        self.aggregate(Agg::Avg(column.col_ref()))
    }

    /// `SELECT MIN(column)`; `None` when no row matches.
    ///
    /// ```
    /// # use tenantry::{Dialect, Table, TenantId};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_min", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::select(&t).min(Note::title());
    /// assert_eq!(q.to_sql()?.text, r#"SELECT MIN(title) FROM doc_notes_min WHERE user_id = ?"#);
    /// # Ok(()) }
    /// ```
    pub fn min<T, V: Comparable, I>(self, column: Column<T, V>) -> Aggregate<S, Option<V::Base>>
    where
        T: Named + InSource<S, I>,
    {
        self.aggregate(Agg::Min(column.col_ref()))
    }

    /// `SELECT MAX(column)`; `None` when no row matches.
    ///
    /// ```
    /// # use tenantry::{Dialect, Table, TenantId};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_max", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::select(&t).max(Note::words());
    /// assert_eq!(q.to_sql()?.text, r#"SELECT MAX(words) FROM doc_notes_max WHERE user_id = ?"#);
    /// # Ok(()) }
    /// ```
    pub fn max<T, V: Comparable, I>(self, column: Column<T, V>) -> Aggregate<S, Option<V::Base>>
    where
        T: Named + InSource<S, I>,
    {
        self.aggregate(Agg::Max(column.col_ref()))
    }

    /// The SQLite SQL and parameters this statement runs.
    pub fn to_sql(&self) -> Result<crate::Sql> {
        crate::query::run::explain(&self.__plan())
    }

    /// The SQL and parameters in `dialect`.
    pub fn to_sql_in(&self, dialect: crate::Dialect) -> Result<crate::Sql> {
        crate::query::run::explain_in(&self.__plan(), dialect)
    }
}

/// `Table::get(&tenant, key)`: the tenant's row with this primary key, or no row (another
/// tenant's row with the same key looks missing).
///
/// Its own type rather than a [`Select`]: the statement is always the same, rendered once
/// per table, so nothing is built or looked up per call. [`into_select`](Self::into_select)
/// (or [`filter`](Self::filter)) turns it into a `Select` to add to it.
///
/// ```
/// # use tenantry::{Table, TenantId};
/// # #[derive(Table, Debug)] #[table(name = "doc_notes_get", owned)]
/// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, title: String }
/// # fn main() -> tenantry::Result<()> {
/// # let t = TenantId::generate();
/// let q = Note::get(&t, 7);
/// assert_eq!(q.to_sql()?.text, r#"SELECT user_id, id, title FROM doc_notes_get WHERE user_id = ? AND id = ?"#);
/// let q = Note::get(&t, 7).filter(Note::title().like("draft%"));
/// assert_eq!(q.to_sql()?.text, r#"SELECT user_id, id, title FROM doc_notes_get WHERE user_id = ? AND (id = ? AND title LIKE ?)"#);
/// # Ok(()) }
/// ```
pub struct Get<T> {
    scope: Scope,
    /// The tenant's placeholder (slot 0) and the key (slot 1).
    values: [Param; 2],
    _t: PhantomData<fn() -> T>,
}

impl<T: Table> Get<T> {
    pub(crate) fn new(scope: Scope, key: Param) -> Self {
        Get { scope, values: [crate::query::TENANT_PLACEHOLDER, key], _t: PhantomData }
    }

    /// The same statement as a [`Select`], to add conditions, a projection, a count...
    pub fn into_select(self) -> Select<Tables<T, End>> {
        let [_, key] = self.values;
        Select::by_key(TableRef::of(T::INFO), self.scope, key)
    }

    /// Adds a condition: the row is returned only if it also holds.
    pub fn filter(self, cond: Cond<Tables<T, End>>) -> Select<Tables<T, End>> {
        self.into_select().filter(cond)
    }

    /// The SQLite SQL and parameters this statement runs.
    pub fn to_sql(&self) -> Result<crate::Sql> {
        crate::query::run::explain(&self.__plan())
    }

    /// The SQL and parameters in `dialect`.
    pub fn to_sql_in(&self, dialect: crate::Dialect) -> Result<crate::Sql> {
        crate::query::run::explain_in(&self.__plan(), dialect)
    }
}

impl<T> Clone for Get<T> {
    fn clone(&self) -> Self {
        Get { scope: self.scope, values: self.values.clone(), _t: PhantomData }
    }
}

impl<T: Table> std::fmt::Debug for Get<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Get").field("table", &T::INFO.name).finish_non_exhaustive()
    }
}

impl<T> crate::query::sealed::Statement for Get<T> {}

impl<T: Table> Fetch for Get<T> {
    type Row = T;
    fn __plan(&self) -> Plan<'_> {
        Plan { scope: &self.scope, kind: PlanKind::Get { table: TableRef::of(T::INFO), values: &self.values } }
    }
    fn __decode<R: crate::schema::RowSource + ?Sized>(&self, row: &R) -> Result<T> {
        <T as crate::query::source::Elem>::__decode(row, 0, self.scope.reader())
    }
}

impl<S> crate::query::sealed::Statement for Select<S> {}
impl<S, R> crate::query::sealed::Statement for Aggregate<S, R> {}

impl<S: Source> Fetch for Select<S> {
    type Row = S::Row;
    fn __plan(&self) -> Plan<'_> {
        Plan { scope: &self.p.scope, kind: PlanKind::Select(&self.p.shape, &self.p.params) }
    }
    fn __decode<R: crate::schema::RowSource + ?Sized>(&self, row: &R) -> Result<S::Row> {
        S::__decode(row, self.p.scope.reader())
    }
}

/// A single-value query: `COUNT(*)`, `SUM`, `AVG`, `MIN`, `MAX`. Fetch it with
/// [`SqliteDatabase::fetch_one`](crate::SqliteDatabase::fetch_one).
pub struct Aggregate<S, R> {
    select: Select<S>,
    _r: PhantomData<fn() -> R>,
}

impl<S: Source, R> Aggregate<S, R> {
    /// The SQLite SQL and parameters this statement runs.
    pub fn to_sql(&self) -> Result<crate::Sql> {
        self.select.to_sql()
    }

    /// The SQL and parameters in `dialect`.
    pub fn to_sql_in(&self, dialect: crate::Dialect) -> Result<crate::Sql> {
        self.select.to_sql_in(dialect)
    }
}

impl<S, R> std::fmt::Debug for Aggregate<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.select.fmt(f)
    }
}

impl<S: Source, R: ColumnValue> Fetch for Aggregate<S, R> {
    type Row = R;
    fn __plan(&self) -> Plan<'_> {
        self.select.__plan()
    }
    fn __decode<Rw: crate::schema::RowSource + ?Sized>(&self, row: &Rw) -> Result<R> {
        R::from_sql(row.value(0)?).ok_or(Error::Decode {
            table: self.select.p.shape.from.0.name,
            column: "aggregate",
            expected: R::EXPECTED,
        })
    }
}

/// Column types that `SUM` and `AVG` accept.
pub trait Numeric: ColumnValue {
    /// The type without `Option`.
    type Base: ColumnValue;
}
/// Column types that `MIN` and `MAX` accept.
pub trait Comparable: ColumnValue {
    /// The type without `Option`.
    type Base: ColumnValue;
}

macro_rules! agg_types {
    (numeric: $($n:ty),*; comparable: $($c:ty),*) => {
        $(
            impl Numeric for $n { type Base = $n; }
            impl Numeric for Option<$n> { type Base = $n; }
        )*
        $(
            impl Comparable for $c { type Base = $c; }
            impl Comparable for Option<$c> { type Base = $c; }
        )*
    };
}
agg_types!(numeric: i64, i32, f64; comparable: i64, i32, f64, String, uuid::Uuid);
