//! `INSERT`, `UPDATE`, `DELETE`, and audited raw SQL.

use std::marker::PhantomData;

use crate::error::Result;
use crate::query::expr::{Column, Cond};
use crate::query::project::Columns;
use crate::query::shape::{Conflict, DeleteShape, InsertShape, Node, Slot, TableRef, UpdateShape};
use crate::query::source::{End, Tables};
use crate::query::{Execute, Plan, PlanKind, Scope, params_with_tenant_slot};
use crate::schema::Table;
use crate::tenant::Admin;
use crate::value::{IntoSql, Param, Params, RowValues, Value};

/// An `INSERT` of one or many rows of `T`. The tenant column is set from the token, never
/// from the row (the insert form has no tenant field). Many rows are sent in chunks under
/// SQLite's and D1's 100-parameter limit, inside one transaction: all or nothing.
pub struct Insert<T> {
    shape: InsertShape,
    values: RowValues,
    rows: usize,
    scope: Scope,
    _t: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Insert<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Insert").field("shape", &self.shape).field("rows", &self.rows).finish_non_exhaustive()
    }
}

impl<T: Table> Insert<T> {
    pub(crate) fn new(scope: Scope, rows: impl IntoIterator<Item = T::New>, upsert: bool) -> Self {
        // `T::upsert`: on the primary key, every other column updated.
        let info = T::INFO;
        let conflict = upsert.then(|| Conflict {
            key: vec![info.primary_key as u16],
            update: (0..info.columns.len())
                .filter(|i| Some(*i) != info.tenant && *i != info.primary_key)
                .map(|i| i as u16)
                .collect(),
        });
        let rows = rows.into_iter();
        // Sized once for the rows the iterator says it has (one, for `insert`).
        let per_row = info.columns.len() - usize::from(info.tenant.is_some());
        let mut values = RowValues::with_capacity(rows.size_hint().0.saturating_mul(per_row));
        let mut count = 0;
        for row in rows {
            T::__push_new(row, &mut values);
            count += 1;
        }
        Insert {
            shape: InsertShape { scoped: scope.is_scoped(), table: TableRef::of(T::INFO), rows: 0, conflict },
            values,
            rows: count,
            scope,
            _t: PhantomData,
        }
    }

    /// `ON CONFLICT`: when a row with the same `key` (the primary key, or a declared
    /// `#[unique]` key, as a tuple of its columns) already exists for the tenant, do what
    /// [`OnConflict`] says instead of failing. The tenant column is always part of the
    /// conflict target, so the existing row is the tenant's own, never another's.
    ///
    /// ```
    /// # use tenantry::{SqliteDatabase, Table, TenantId};
    /// #[derive(Table, Debug)]
    /// #[table(name = "upsert_doc_clips", owned)]
    /// struct Clip { #[tenant] user_id: TenantId, #[primary_key] id: i64, #[unique] label: String, hits: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let db = SqliteDatabase::open_in_memory()?; db.create_table::<Clip>()?; let t = TenantId::generate();
    /// let save = |id, hits| Clip::insert(&t, NewClip { id, label: "intro".into(), hits })
    ///     .on_conflict((Clip::label(),))
    ///     .do_update((Clip::hits(),));
    /// assert_eq!(
    ///     save(1, 1).to_sql()?.text,
    ///     r#"INSERT INTO upsert_doc_clips (user_id, id, "label", hits) VALUES (?, ?, ?, ?) ON CONFLICT (user_id, "label") DO UPDATE SET hits = excluded.hits"#
    /// );
    /// db.execute(save(1, 1))?;
    /// db.execute(save(2, 5))?; // same label: the row with id 1 gets hits = 5
    /// assert_eq!(db.fetch_one(Clip::get(&t, 1))?.hits, 5);
    /// # Ok(()) }
    /// ```
    pub fn on_conflict<C: Columns<Tables<T, End>, I>, I>(self, key: C) -> OnConflict<T> {
        let key = key.__outputs().0.iter().filter_map(|o| o.column()).map(|c| c.index).collect();
        OnConflict { insert: self, key }
    }

    /// The SQLite SQL and parameters of the first chunk.
    pub fn to_sql(&self) -> Result<crate::Sql> {
        crate::query::run::explain(&self.__plan())
    }

    /// The SQL and parameters in `dialect`.
    pub fn to_sql_in(&self, dialect: crate::Dialect) -> Result<crate::Sql> {
        crate::query::run::explain_in(&self.__plan(), dialect)
    }
}

/// An insert's conflict target, waiting for what to do on a conflict.
#[must_use = "say what a conflict does: `.do_update((columns,))` or `.do_nothing()`"]
pub struct OnConflict<T> {
    insert: Insert<T>,
    key: Vec<u16>,
}

impl<T> std::fmt::Debug for OnConflict<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnConflict").field("key", &self.key).finish_non_exhaustive()
    }
}

impl<T: Table> OnConflict<T> {
    /// `DO UPDATE SET column = excluded.column` for each of `columns` (a tuple); the
    /// other columns of the existing row keep their values.
    pub fn do_update<C: Columns<Tables<T, End>, I>, I>(mut self, columns: C) -> Insert<T> {
        let update = columns.__outputs().0.iter().filter_map(|o| o.column()).map(|c| c.index).collect();
        self.insert.shape.conflict = Some(Conflict { key: self.key, update });
        self.insert
    }

    /// `DO NOTHING`: the existing row stays as it is (the insert counts 0 rows).
    pub fn do_nothing(mut self) -> Insert<T> {
        self.insert.shape.conflict = Some(Conflict { key: self.key, update: Vec::new() });
        self.insert
    }
}

impl<T> crate::query::sealed::Statement for Insert<T> {}
impl<T> crate::query::sealed::Statement for Update<T> {}
impl<T> crate::query::sealed::Statement for Delete<T> {}
impl crate::query::sealed::Statement for RawSql {}

impl<T: Table> Execute for Insert<T> {
    fn __plan(&self) -> Plan<'_> {
        Plan { scope: &self.scope, kind: PlanKind::Insert { base: &self.shape, values: &self.values, rows: self.rows } }
    }
}

/// A column that an `UPDATE` of `T` may assign.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be assigned in an update of `{T}`",
    label = "not assignable here",
    note = "the tenant column is set by tenantry on insert and never changes (moving rows between tenants is an explicit transfer); other columns must belong to `{T}`"
)]
pub trait Assign<T>: crate::query::sealed::Assign<T> {
    /// The column's value type.
    type Value;
    #[doc(hidden)]
    fn __index(&self) -> u16;
}

impl<T: Table, V> crate::query::sealed::Assign<T> for Column<T, V> {}
impl<T: Table, V> Assign<T> for Column<T, V> {
    type Value = V;
    fn __index(&self) -> u16 {
        self.col_ref().index
    }
}

/// `UPDATE` of `T` before its first `SET`: not executable yet.
#[must_use = "an update needs at least one `.set(column, value)`"]
pub struct UpdateBuilder<T> {
    scope: Scope,
    _t: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for UpdateBuilder<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateBuilder").finish_non_exhaustive()
    }
}

impl<T: Table> UpdateBuilder<T> {
    pub(crate) fn new(scope: Scope) -> Self {
        UpdateBuilder { scope, _t: PhantomData }
    }

    /// `SET column = value`.
    ///
    /// ```
    /// # use tenantry::{Dialect, Table, TenantId};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_update_set", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::update(&t).set(Note::title(), "renamed").filter(Note::id().eq(1));
    /// assert_eq!(q.to_sql()?.text, r#"UPDATE doc_notes_update_set SET title = ? WHERE user_id = ? AND id = ?"#);
    /// assert_eq!(q.to_sql_in(Dialect::Postgres)?.text, r#"UPDATE doc_notes_update_set SET title = $1 WHERE user_id = $2 AND id = $3"#);
    /// # Ok(()) }
    /// ```
    #[inline]
    pub fn set<C: Assign<T>>(self, column: C, value: impl IntoSql<C::Value>) -> UnfilteredUpdate<T> {
        // Built whole, with its first `SET` (slot 1), rather than empty and then moved
        // through `Update::set`: one copy of the statement fewer.
        let table = TableRef::of(T::INFO);
        let mut params = params_with_tenant_slot();
        params.push(value.__into_param());
        UnfilteredUpdate(Update {
            shape: UpdateShape {
                scoped: self.scope.is_scoped(),
                table,
                sets: smallvec::smallvec![(crate::query::shape::ColRef { table, index: column.__index() }, 1)],
                cond: None,
            },
            params,
            scope: self.scope,
            _t: PhantomData,
        })
    }
}

/// An `UPDATE` with its `SET`s that does not yet say which rows: it does not run until it
/// does, with [`filter`](UnfilteredUpdate::filter), or with
/// [`all_rows`](UnfilteredUpdate::all_rows) to change every row of the tenant on purpose
/// (the same opt-in a delete asks for).
///
/// ```compile_fail
/// # use tenantry::{SqliteDatabase, Table, TenantId};
/// # #[derive(Table)] #[table(name = "unfiltered_doc", owned)]
/// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, body: String }
/// # let db = SqliteDatabase::open_in_memory().unwrap(); let t = TenantId::generate();
/// db.execute(Note::update(&t).set(Note::body(), "every note"))?; // needs .filter(..) or .all_rows()
/// # Ok::<(), tenantry::Error>(())
/// ```
#[must_use = "an update needs `.filter(...)` or `.all_rows()` before it runs"]
pub struct UnfilteredUpdate<T>(Update<T>);

impl<T> std::fmt::Debug for UnfilteredUpdate<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("UnfilteredUpdate").field(&self.0.shape).finish()
    }
}

impl<T: Table> UnfilteredUpdate<T> {
    /// Another `SET column = value`.
    ///
    /// ```
    /// # use tenantry::{Dialect, Table, TenantId};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_update_set_more", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::update(&t).set(Note::title(), "renamed").set(Note::words(), 0).all_rows();
    /// assert_eq!(q.to_sql()?.text, r#"UPDATE doc_notes_update_set_more SET title = ?, words = ? WHERE user_id = ?"#);
    /// # Ok(()) }
    /// ```
    #[inline]
    pub fn set<C: Assign<T>>(self, column: C, value: impl IntoSql<C::Value>) -> Self {
        UnfilteredUpdate(self.0.set(column, value))
    }

    /// Restricts the rows updated (ANDed with the tenant predicate).
    ///
    /// ```
    /// # use tenantry::{Dialect, Table, TenantId};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_update_filter", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::update(&t).set(Note::words(), 0).filter(Note::words().lt(0));
    /// assert_eq!(q.to_sql()?.text, r#"UPDATE doc_notes_update_filter SET words = ? WHERE user_id = ? AND words < ?"#);
    /// # Ok(()) }
    /// ```
    #[inline]
    pub fn filter(mut self, cond: Cond<Tables<T, End>>) -> Update<T> {
        // Changed where it is, then moved once.
        self.0.and_where(cond);
        self.0
    }

    /// Updates every row of the tenant, on purpose.
    ///
    /// ```
    /// # use tenantry::{Dialect, Table, TenantId};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_update_all_rows", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::update(&t).set(Note::words(), 0).all_rows();
    /// assert_eq!(q.to_sql()?.text, r#"UPDATE doc_notes_update_all_rows SET words = ? WHERE user_id = ?"#);
    /// # Ok(()) }
    /// ```
    pub fn all_rows(self) -> Update<T> {
        self.0
    }
}

/// An `UPDATE` of `T`'s rows of one tenant, restricted by its filters (or, after
/// [`UnfilteredUpdate::all_rows`], all of them).
pub struct Update<T> {
    shape: UpdateShape,
    params: Params,
    scope: Scope,
    _t: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Update<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Update").field("shape", &self.shape).finish_non_exhaustive()
    }
}

impl<T: Table> Update<T> {
    /// Another `SET column = value`.
    #[inline]
    pub fn set<C: Assign<T>>(mut self, column: C, value: impl IntoSql<C::Value>) -> Self {
        let col = crate::query::shape::ColRef { table: TableRef::of(T::INFO), index: column.__index() };
        self.params.push(value.__into_param());
        self.shape.sets.push((col, (self.params.len() - 1) as Slot));
        self
    }

    /// Restricts the rows updated (ANDed with the tenant predicate).
    #[inline]
    pub fn filter(mut self, cond: Cond<Tables<T, End>>) -> Self {
        self.and_where(cond);
        self
    }

    #[inline]
    fn and_where(&mut self, cond: Cond<Tables<T, End>>) {
        let node = cond.append_to(&mut self.params);
        self.shape.cond = Some(Node::and(self.shape.cond.take(), node));
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

impl<T: Table> Execute for Update<T> {
    fn __plan(&self) -> Plan<'_> {
        Plan { scope: &self.scope, kind: PlanKind::Update(&self.shape, &self.params) }
    }
}

/// `DELETE` from `T` before it says which rows: not executable yet. Call
/// [`filter`](DeleteBuilder::filter), or [`all_rows`](DeleteBuilder::all_rows) to delete
/// every row of the tenant on purpose.
#[must_use = "a delete needs `.filter(...)` or `.all_rows()`"]
pub struct DeleteBuilder<T> {
    scope: Scope,
    _t: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for DeleteBuilder<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeleteBuilder").finish_non_exhaustive()
    }
}

impl<T: Table> DeleteBuilder<T> {
    pub(crate) fn new(scope: Scope) -> Self {
        DeleteBuilder { scope, _t: PhantomData }
    }

    /// Deletes the rows matching `cond` (and the tenant predicate).
    ///
    /// ```
    /// # use tenantry::{Dialect, Table, TenantId};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_delete_filter", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::delete(&t).filter(Note::words().lt(1));
    /// assert_eq!(q.to_sql()?.text, r#"DELETE FROM doc_notes_delete_filter WHERE user_id = ? AND words < ?"#);
    /// assert_eq!(q.to_sql_in(Dialect::Postgres)?.text, r#"DELETE FROM doc_notes_delete_filter WHERE user_id = $1 AND words < $2"#);
    /// # Ok(()) }
    /// ```
    pub fn filter(self, cond: Cond<Tables<T, End>>) -> Delete<T> {
        self.all_rows().filter(cond)
    }

    /// Deletes every row of `T` in scope (all of the tenant's rows).
    ///
    /// ```
    /// # use tenantry::{Dialect, Table, TenantId};
    /// # #[derive(Table, Debug)] #[table(name = "doc_notes_delete_all_rows", owned)]
    /// # struct Note { #[tenant] user_id: TenantId, #[primary_key] id: i64, folder_id: Option<i64>, title: String, words: i64 }
    /// # fn main() -> tenantry::Result<()> {
    /// # let t = TenantId::generate();
    /// let q = Note::delete(&t).all_rows();
    /// assert_eq!(q.to_sql()?.text, r#"DELETE FROM doc_notes_delete_all_rows WHERE user_id = ?"#);
    /// # Ok(()) }
    /// ```
    pub fn all_rows(self) -> Delete<T> {
        Delete {
            shape: DeleteShape { scoped: self.scope.is_scoped(), table: TableRef::of(T::INFO), cond: None },
            params: params_with_tenant_slot(),
            scope: self.scope,
            _t: PhantomData,
        }
    }
}

/// A `DELETE` from `T`, scoped to one tenant.
pub struct Delete<T> {
    shape: DeleteShape,
    params: Params,
    scope: Scope,
    _t: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Delete<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delete").field("shape", &self.shape).finish_non_exhaustive()
    }
}

impl<T: Table> Delete<T> {
    /// `tenant = ? AND primary_key = ?`, built without intermediate conditions.
    pub(crate) fn by_key(scope: Scope, key: Param) -> Self {
        let mut delete = DeleteBuilder::<T>::new(scope).all_rows();
        delete.params.push(key);
        let pk = crate::query::shape::ColRef { table: TableRef::of(T::INFO), index: T::INFO.primary_key as u16 };
        delete.shape.cond = Some(Node::Cmp(pk, crate::query::shape::CmpOp::Eq, (delete.params.len() - 1) as Slot));
        delete
    }

    /// Restricts the rows deleted further.
    pub fn filter(mut self, cond: Cond<Tables<T, End>>) -> Self {
        let node = cond.append_to(&mut self.params);
        self.shape.cond = Some(Node::and(self.shape.cond.take(), node));
        self
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

impl<T: Table> Execute for Delete<T> {
    fn __plan(&self) -> Plan<'_> {
        Plan { scope: &self.scope, kind: PlanKind::Delete(&self.shape, &self.params) }
    }
}

/// Raw SQL, allowed only through an [`Admin`] capability and reported to the audit hook
/// each time it runs. The text is a `&'static str`, so it cannot be assembled from input;
/// values go in as bound parameters with [`bind`](RawSql::bind).
///
/// ```
/// # fn main() -> tenantry::Result<()> {
/// let db = tenantry::SqliteDatabase::open_in_memory()?;
/// let admin = tenantry::Admin::new("doc example: raw SQL");
/// db.execute(admin.raw_sql("CREATE TABLE notes (body TEXT)"))?;
/// db.execute(admin.raw_sql("INSERT INTO notes (body) VALUES (?)").bind("hi"))?;
/// let bodies = db.fetch_raw(admin.raw_sql("SELECT body FROM notes"), |row| row.get::<_, String>(0))?;
/// assert_eq!(bodies, ["hi"]);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RawSql {
    pub(crate) sql: &'static str,
    pub(crate) params: Params,
    pub(crate) scope: Scope,
}

impl RawSql {
    /// Binds the next `?`.
    pub fn bind(mut self, value: impl Into<Value>) -> Self {
        self.params.push(Param::from(value.into()));
        self
    }
}

impl Admin {
    /// Raw SQL, audited. See [`RawSql`].
    pub fn raw_sql(&self, sql: &'static str) -> RawSql {
        RawSql { sql, params: Params::new(), scope: Scope::Admin(self.tag()) }
    }

    pub(crate) fn scope(&self) -> Scope {
        Scope::Admin(self.tag())
    }
}

impl Execute for RawSql {
    fn __plan(&self) -> Plan<'_> {
        Plan { scope: &self.scope, kind: PlanKind::Raw(self.sql, &self.params) }
    }
}
