//! Statement shapes: the structure of a statement with its values replaced by parameter
//! slots. A shape is rendered to SQL by sea-query once, then served from a cache, so
//! building a scoped statement costs a hash lookup, not a render.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock, OnceLock, RwLock};

use rustc_hash::FxHashMap;
use sea_query::{
    Alias, Asterisk, Condition, DeleteStatement, Expr, ExprTrait, Func, InsertStatement, OnConflict, Order,
    PostgresQueryBuilder, Query, QueryStatementWriter, SelectStatement, SimpleExpr, SqliteQueryBuilder,
    UpdateStatement,
};

use crate::error::{Error, Result};
pub(crate) use crate::rendered::{Rendered, Slot, TENANT_SLOT};
use crate::schema::TableInfo;
use crate::value::SqlKind;

/// A table in a shape, compared by identity of its static declaration.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TableRef(pub(crate) &'static TableInfo);

impl PartialEq for TableRef {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}
impl Eq for TableRef {}
impl Hash for TableRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::ptr::hash(self.0, state)
    }
}

/// A column: its table and its index in the table's declaration.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct ColRef {
    pub(crate) table: TableRef,
    pub(crate) index: u16,
}

impl ColRef {
    fn kind(self) -> SqlKind {
        self.table.0.columns[usize::from(self.index)].kind
    }

    /// The column, qualified by its table where the statement names more than one table
    /// (or one table twice, through a subquery).
    fn expr(self, m: &Marks) -> Expr {
        let name = self.table.0.columns[usize::from(self.index)].name;
        if m.qualify { Expr::col((self.table.0.name, name)) } else { Expr::col(name) }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A condition tree. Values are slots; their contents live in the statement.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Node {
    Cmp(ColRef, CmpOp, Slot),
    ColCmp(ColRef, CmpOp, ColRef),
    In { col: ColRef, first: Slot, len: u32, negated: bool },
    Like { col: ColRef, pattern: Slot, negated: bool },
    Null { col: ColRef, negated: bool },
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    InSub { col: ColRef, sub: Box<SubShape>, negated: bool },
    Exists { sub: Box<SubShape>, negated: bool },
}

impl Node {
    /// `prev AND node` (flattened), or `node` alone.
    pub(crate) fn and(prev: Option<Node>, node: Node) -> Node {
        match prev {
            None => node,
            Some(Node::And(mut all)) => {
                all.push(node);
                Node::And(all)
            }
            Some(prev) => Node::And(vec![prev, node]),
        }
    }

    /// Moves every slot by `by`, when a condition is appended after other parameters.
    pub(crate) fn shift(&mut self, by: Slot) {
        match self {
            Node::Cmp(_, _, s) => *s += by,
            Node::In { first, .. } => *first += by,
            Node::Like { pattern, .. } => *pattern += by,
            Node::ColCmp(..) | Node::Null { .. } => {}
            Node::And(nodes) | Node::Or(nodes) => nodes.iter_mut().for_each(|n| n.shift(by)),
            Node::Not(node) => node.shift(by),
            Node::InSub { sub, .. } | Node::Exists { sub, .. } => {
                if let Some(cond) = &mut sub.cond {
                    cond.shift(by);
                }
            }
        }
    }

    fn render(&self, m: &mut Marks) -> Condition {
        match self {
            Node::Cmp(col, op, slot) => {
                let (l, r) = (col.expr(m), m.mark(*slot));
                Condition::all().add(match op {
                    CmpOp::Eq => l.eq(r),
                    CmpOp::Ne => l.ne(r),
                    CmpOp::Lt => l.lt(r),
                    CmpOp::Le => l.lte(r),
                    CmpOp::Gt => l.gt(r),
                    CmpOp::Ge => l.gte(r),
                })
            }
            Node::ColCmp(a, op, b) => {
                let (l, r) = (a.expr(m), b.expr(m));
                Condition::all().add(match op {
                    CmpOp::Eq => l.eq(r),
                    CmpOp::Ne => l.ne(r),
                    CmpOp::Lt => l.lt(r),
                    CmpOp::Le => l.lte(r),
                    CmpOp::Gt => l.gt(r),
                    CmpOp::Ge => l.gte(r),
                })
            }
            Node::In { col, first, len, negated } => {
                if *len == 0 {
                    // `x IN ()` is false and `x NOT IN ()` true, whatever x is.
                    let constant = if *negated { "1 = 1" } else { "1 = 0" };
                    return Condition::all().add(Expr::cust(constant));
                }
                let marks: Vec<Expr> = (0..*len).map(|i| m.mark(first + i)).collect();
                let e = col.expr(m);
                Condition::all().add(if *negated { e.is_not_in(marks) } else { e.is_in(marks) })
            }
            Node::Like { col, pattern, negated } => {
                let e = col.expr(m);
                let p = m.mark(*pattern);
                Condition::all().add(if *negated {
                    e.binary(sea_query::BinOper::NotLike, p)
                } else {
                    e.binary(sea_query::BinOper::Like, p)
                })
            }
            Node::Null { col, negated } => {
                let e = col.expr(m);
                Condition::all().add(if *negated { e.is_not_null() } else { e.is_null() })
            }
            Node::And(nodes) => nodes.iter().fold(Condition::all(), |c, n| c.add(n.render(m))),
            Node::Or(nodes) => nodes.iter().fold(Condition::any(), |c, n| c.add(n.render(m))),
            Node::Not(node) => node.render(m).not(),
            Node::InSub { col, sub, negated } => {
                let e = col.expr(m);
                let q = sub.render(m);
                Condition::all().add(if *negated { e.not_in_subquery(q) } else { e.in_subquery(q) })
            }
            Node::Exists { sub, negated } => {
                let q = sub.render(m);
                Condition::all().add(if *negated { Expr::not_exists(q) } else { Expr::exists(q) })
            }
        }
    }
}

/// A subquery: always over an owned table; in a scoped statement it carries the same
/// tenant predicate (slot 0) as the statement it is embedded in.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct SubShape {
    pub(crate) table: TableRef,
    pub(crate) column: Option<ColRef>,
    pub(crate) cond: Option<Node>,
}

impl SubShape {
    fn render(&self, m: &mut Marks) -> SelectStatement {
        let mut q = Query::select();
        match self.column {
            Some(col) => q.expr(col.expr(m)),
            None => q.expr(Expr::cust("1")),
        };
        q.from(self.table.0.name);
        q.cond_where(where_clause(self.table, self.cond.as_ref(), m));
        q
    }
}

/// `table.user_id = <tenant>` (for an owned table in a scoped statement) `AND (cond)`.
fn where_clause(table: TableRef, cond: Option<&Node>, m: &mut Marks) -> Condition {
    let mut all = Condition::all();
    if let (true, Some(tenant)) = (m.scoped, table.0.tenant) {
        let col = ColRef { table, index: tenant as u16 };
        all = all.add(col.expr(m).eq(m.mark(TENANT_SLOT)));
    }
    if let Some(cond) = cond {
        all = all.add(cond.render(m));
    }
    all
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Agg {
    Count,
    Sum(ColRef),
    Min(ColRef),
    Max(ColRef),
    Avg(ColRef),
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Join {
    pub(crate) table: TableRef,
    pub(crate) on: Node,
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct SelectShape {
    pub(crate) scoped: bool,
    pub(crate) from: TableRef,
    pub(crate) joins: Vec<Join>,
    pub(crate) cond: Option<Node>,
    pub(crate) order: Vec<(ColRef, bool)>,
    pub(crate) limit: Option<Slot>,
    pub(crate) offset: Option<Slot>,
    pub(crate) agg: Option<Agg>,
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct InsertShape {
    pub(crate) scoped: bool,
    pub(crate) table: TableRef,
    pub(crate) rows: u32,
    pub(crate) upsert: bool,
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct UpdateShape {
    pub(crate) scoped: bool,
    pub(crate) table: TableRef,
    pub(crate) sets: Vec<(ColRef, Slot)>,
    pub(crate) cond: Option<Node>,
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct DeleteShape {
    pub(crate) scoped: bool,
    pub(crate) table: TableRef,
    pub(crate) cond: Option<Node>,
}

/// The rules a shape must meet before it is rendered, whatever built it. The typed API
/// cannot break them; this is the second wall for code that reaches hidden items or
/// implements a sealed trait by hand. It runs once per shape (results are cached).
pub(crate) struct Check {
    scoped: bool,
    error: Option<Error>,
    /// Every table the statement touches, in visiting order (for routing in layouts).
    pub(crate) tables: smallvec::SmallVec<[&'static TableInfo; 4]>,
    /// Whether the statement has a subquery.
    subquery: bool,
}

impl Check {
    pub(crate) fn new(scoped: bool) -> Self {
        Check { scoped, error: None, tables: smallvec::SmallVec::new(), subquery: false }
    }
}

impl Check {
    fn fail(&mut self, e: Error) {
        self.error.get_or_insert(e);
    }

    /// A table must be a registered declaration (checked when a database opens), and
    /// in a tenant-scoped statement it must have a tenant column.
    fn table(&mut self, t: TableRef) {
        if !self.tables.iter().any(|seen| std::ptr::eq(*seen, t.0)) {
            self.tables.push(t.0);
            if !crate::registry::is_registered(t.0) {
                self.fail(Error::UnregisteredTable { table: t.0.name });
            }
        }
        if self.scoped && t.0.tenant.is_none() {
            self.fail(Error::NotOwned { table: t.0.name });
        }
    }

    fn column(&mut self, c: ColRef) {
        self.table(c.table);
        if usize::from(c.index) >= c.table.0.columns.len() {
            self.fail(Error::InvalidColumn { table: c.table.0.name });
        }
    }

    /// No statement assigns a tenant column (by index, or by a name SQLite would treat as
    /// the same column): ownership changes only through an explicit transfer.
    fn assigned(&mut self, c: ColRef) {
        self.column(c);
        let info = c.table.0;
        let Some(name) = info.columns.get(usize::from(c.index)).map(|col| col.name) else {
            return;
        };
        if let Some(tenant) = info.tenant_column()
            && name.eq_ignore_ascii_case(tenant)
        {
            self.fail(Error::TenantColumnAssigned { table: info.name });
        }
    }

    fn node(&mut self, n: &Node) {
        match n {
            Node::Cmp(c, ..) | Node::In { col: c, .. } | Node::Like { col: c, .. } | Node::Null { col: c, .. } => {
                self.column(*c)
            }
            Node::ColCmp(a, _, b) => {
                self.column(*a);
                self.column(*b);
            }
            Node::And(nodes) | Node::Or(nodes) => nodes.iter().for_each(|n| self.node(n)),
            Node::Not(n) => self.node(n),
            Node::InSub { col, sub, .. } => {
                self.column(*col);
                self.sub(sub);
            }
            Node::Exists { sub, .. } => self.sub(sub),
        }
    }

    fn sub(&mut self, sub: &SubShape) {
        self.subquery = true;
        self.table(sub.table);
        if let Some(c) = sub.column {
            self.column(c);
        }
        if let Some(n) = &sub.cond {
            self.node(n);
        }
    }
}

/// Hands out the placeholder values that stand for slots during rendering. Each slot is
/// rendered as a distinct integer; reading them back from sea-query's value list tells
/// which slot each `?` binds, whatever order sea-query emits them in.
pub(crate) struct Marks {
    scoped: bool,
    dialect: Dialect,
    /// Columns are written `table.column` (else `column`, shorter for the statement
    /// cache to hash and compare).
    qualify: bool,
}

impl Marks {
    fn mark(&mut self, slot: Slot) -> Expr {
        Expr::val(i64::from(slot))
    }
}

/// The SQL dialects tenantry renders.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Dialect {
    /// SQLite (also Cloudflare D1 and Durable Object storage).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Dialect {
    pub(crate) fn index(self) -> usize {
        match self {
            Dialect::Sqlite => 0,
            Dialect::Postgres => 1,
        }
    }
}

pub(crate) trait Shape: Clone + Eq + Hash + Send + Sync + 'static {
    fn scoped(&self) -> bool;
    type Statement: QueryStatementWriter;
    fn statement(&self, m: &mut Marks) -> Self::Statement;
    fn cache() -> &'static ShapeCache<Self>;
    /// Every table the statement touches, with the columns it names.
    fn visit(&self, v: &mut Check);

    fn render(&self, dialect: Dialect) -> Result<Rendered> {
        let mut check = Check::new(self.scoped());
        self.visit(&mut check);
        if let Some(e) = check.error {
            return Err(e);
        }
        let qualify = check.tables.len() > 1 || check.subquery;
        let stmt = self.statement(&mut Marks { scoped: self.scoped(), dialect, qualify });
        let (sql, values) = match dialect {
            Dialect::Sqlite => stmt.build(SqliteQueryBuilder),
            Dialect::Postgres => stmt.build(PostgresQueryBuilder),
        };
        let slots = values
            .into_iter()
            .map(|v| match v {
                sea_query::Value::BigInt(Some(i)) => Slot::try_from(i).ok(),
                // `LIMIT` and `OFFSET` marks come back unsigned.
                sea_query::Value::BigUnsigned(Some(i)) => Slot::try_from(i).ok(),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .ok_or(Error::Internal { why: "a statement rendered with an inline value" })?;
        Ok(Rendered { sql, slots })
    }

    /// The per-table slots for this shape, when it is one of the by-key shapes every table
    /// has (`get`, `delete_by_key`); those skip the hash lookup.
    fn keyed_slot(&self) -> Option<&'static [OnceLock<Rendered>; 2]> {
        None
    }

    /// The rendering in `dialect`, from a cache when this shape was seen before.
    fn rendered_in(&self, dialect: Dialect) -> Result<RenderedRef> {
        if let Some(slots) = self.keyed_slot() {
            let slot = &slots[dialect.index()];
            if let Some(r) = slot.get() {
                return Ok(RenderedRef::Static(r));
            }
            // Two threads may render at once; both results are identical and one is kept.
            let _ = slot.set(self.render(dialect)?);
            if let Some(r) = slot.get() {
                return Ok(RenderedRef::Static(r));
            }
        }
        Self::cache().get_or_render(self, dialect).map(RenderedRef::Shared)
    }
}

/// A rendering from a per-table slot or from the shape cache.
pub(crate) enum RenderedRef {
    Static(&'static Rendered),
    Shared(Arc<Rendered>),
}

impl std::ops::Deref for RenderedRef {
    type Target = Rendered;
    fn deref(&self) -> &Rendered {
        match self {
            RenderedRef::Static(r) => r,
            RenderedRef::Shared(r) => r,
        }
    }
}

/// `tenant = ? AND primary_key = ?` on `table`, with the key in slot 1: exactly the
/// condition `Table::get` and `Table::delete_by_key` build, and nothing else.
fn is_by_key(scoped: bool, table: TableRef, cond: Option<&Node>) -> bool {
    let pk = ColRef { table, index: table.0.primary_key as u16 };
    scoped && table.0.tenant.is_some() && cond == Some(&Node::Cmp(pk, CmpOp::Eq, 1))
}

/// Shapes beyond this many are rendered each time rather than cached (IN lists of many
/// lengths, for instance), so the cache cannot grow without bound.
const CACHE_LIMIT: usize = 4096;

type ShapeMap<K> = LazyLock<RwLock<FxHashMap<K, Arc<Rendered>>>>;

pub(crate) struct ShapeCache<K> {
    /// One map per dialect.
    maps: [ShapeMap<K>; 2],
}

impl<K: Shape> ShapeCache<K> {
    pub(crate) const fn new() -> Self {
        ShapeCache {
            maps: [
                LazyLock::new(|| RwLock::new(FxHashMap::default())),
                LazyLock::new(|| RwLock::new(FxHashMap::default())),
            ],
        }
    }

    fn get_or_render(&self, shape: &K, dialect: Dialect) -> Result<Arc<Rendered>> {
        let map = &self.maps[dialect.index()];
        if let Some(hit) = map.read().unwrap_or_else(|p| p.into_inner()).get(shape) {
            return Ok(Arc::clone(hit));
        }
        let rendered = Arc::new(shape.render(dialect)?);
        let mut map = map.write().unwrap_or_else(|p| p.into_inner());
        if map.len() < CACHE_LIMIT {
            map.insert(shape.clone(), Arc::clone(&rendered));
        }
        Ok(rendered)
    }
}

static SELECTS: ShapeCache<SelectShape> = ShapeCache::new();
static INSERTS: ShapeCache<InsertShape> = ShapeCache::new();
static UPDATES: ShapeCache<UpdateShape> = ShapeCache::new();
static DELETES: ShapeCache<DeleteShape> = ShapeCache::new();

impl Shape for SelectShape {
    fn scoped(&self) -> bool {
        self.scoped
    }
    fn keyed_slot(&self) -> Option<&'static [OnceLock<Rendered>; 2]> {
        let plain = self.joins.is_empty()
            && self.order.is_empty()
            && self.limit.is_none()
            && self.offset.is_none()
            && self.agg.is_none();
        (plain && is_by_key(self.scoped, self.from, self.cond.as_ref())).then_some(&self.from.0.keyed.get)
    }
    fn visit(&self, v: &mut Check) {
        v.table(self.from);
        for join in &self.joins {
            v.table(join.table);
            v.node(&join.on);
        }
        if let Some(n) = &self.cond {
            v.node(n);
        }
        for (c, _) in &self.order {
            v.column(*c);
        }
        if let Some(Agg::Sum(c) | Agg::Min(c) | Agg::Max(c) | Agg::Avg(c)) = self.agg {
            v.column(c);
        }
    }
    fn cache() -> &'static ShapeCache<Self> {
        &SELECTS
    }
    type Statement = SelectStatement;
    fn statement(&self, m: &mut Marks) -> SelectStatement {
        let mut q = Query::select();
        match self.agg {
            None => {
                for table in std::iter::once(self.from).chain(self.joins.iter().map(|j| j.table)) {
                    for index in 0..table.0.columns.len() as u16 {
                        q.expr(ColRef { table, index }.expr(m));
                    }
                }
            }
            Some(Agg::Count) => {
                q.expr(Func::count(Expr::col(Asterisk)));
            }
            // PostgreSQL sums and averages bigints as numeric: cast back to what the
            // column's Rust type decodes.
            Some(Agg::Sum(c)) if m.dialect == Dialect::Postgres && c.kind() == SqlKind::Integer => {
                q.expr(Func::cast_as(Func::sum(c.expr(m)), "BIGINT"));
            }
            Some(Agg::Sum(c)) => {
                q.expr(Func::sum(c.expr(m)));
            }
            Some(Agg::Min(c)) => {
                q.expr(Func::min(c.expr(m)));
            }
            Some(Agg::Max(c)) => {
                q.expr(Func::max(c.expr(m)));
            }
            Some(Agg::Avg(c)) if m.dialect == Dialect::Postgres => {
                q.expr(Func::cast_as(Func::avg(c.expr(m)), "DOUBLE PRECISION"));
            }
            Some(Agg::Avg(c)) => {
                q.expr(Func::avg(c.expr(m)));
            }
        }
        q.from(self.from.0.name);
        for join in &self.joins {
            // The join condition and the joined table's own tenant predicate, together.
            let on = where_clause(join.table, Some(&join.on), m);
            q.inner_join(join.table.0.name, on);
        }
        q.cond_where(where_clause(self.from, self.cond.as_ref(), m));
        for (col, desc) in &self.order {
            q.order_by_expr(col.expr(m), if *desc { Order::Desc } else { Order::Asc });
        }
        if let Some(limit) = self.limit {
            q.limit(u64::from(limit));
        }
        if let Some(offset) = self.offset {
            q.offset(u64::from(offset));
        }
        q
    }
}

impl Shape for InsertShape {
    fn scoped(&self) -> bool {
        self.scoped
    }
    fn visit(&self, v: &mut Check) {
        v.table(self.table);
    }
    fn cache() -> &'static ShapeCache<Self> {
        &INSERTS
    }
    type Statement = InsertStatement;
    fn statement(&self, m: &mut Marks) -> InsertStatement {
        let info = self.table.0;
        let mut q = Query::insert();
        q.into_table(info.name).columns(info.columns.iter().map(|c| Alias::new(c.name)));
        // Slot 0 is the tenant; the row values follow, row after row.
        let per_row = info.columns.len() - usize::from(info.tenant.is_some());
        for row in 0..self.rows as usize {
            let mut next = 1 + row * per_row;
            let values: Vec<SimpleExpr> = (0..info.columns.len())
                .map(|i| {
                    if Some(i) == info.tenant {
                        m.mark(TENANT_SLOT)
                    } else {
                        next += 1;
                        m.mark((next - 1) as Slot)
                    }
                })
                .collect();
            q.values_panic(values);
        }
        if self.upsert {
            let key: Vec<Alias> = std::iter::once(info.tenant)
                .flatten()
                .chain([info.primary_key])
                .map(|i| Alias::new(info.columns[i].name))
                .collect();
            let rest: Vec<Alias> = (0..info.columns.len())
                .filter(|i| Some(*i) != info.tenant && *i != info.primary_key)
                .map(|i| Alias::new(info.columns[i].name))
                .collect();
            let mut on = OnConflict::columns(key);
            if rest.is_empty() {
                on.do_nothing();
            } else {
                on.update_columns(rest);
            }
            q.on_conflict(on);
        }
        q
    }
}

impl Shape for UpdateShape {
    fn scoped(&self) -> bool {
        self.scoped
    }
    fn visit(&self, v: &mut Check) {
        v.table(self.table);
        for (c, _) in &self.sets {
            v.assigned(*c);
        }
        if let Some(n) = &self.cond {
            v.node(n);
        }
    }
    fn cache() -> &'static ShapeCache<Self> {
        &UPDATES
    }
    type Statement = UpdateStatement;
    fn statement(&self, m: &mut Marks) -> UpdateStatement {
        let info = self.table.0;
        let mut q = Query::update();
        q.table(info.name);
        for (col, slot) in &self.sets {
            q.value(Alias::new(info.columns[usize::from(col.index)].name), m.mark(*slot));
        }
        q.cond_where(where_clause(self.table, self.cond.as_ref(), m));
        q
    }
}

impl Shape for DeleteShape {
    fn scoped(&self) -> bool {
        self.scoped
    }
    fn keyed_slot(&self) -> Option<&'static [OnceLock<Rendered>; 2]> {
        is_by_key(self.scoped, self.table, self.cond.as_ref()).then_some(&self.table.0.keyed.delete)
    }
    fn visit(&self, v: &mut Check) {
        v.table(self.table);
        if let Some(n) = &self.cond {
            v.node(n);
        }
    }
    fn cache() -> &'static ShapeCache<Self> {
        &DELETES
    }
    type Statement = DeleteStatement;
    fn statement(&self, m: &mut Marks) -> DeleteStatement {
        let mut q = Query::delete();
        q.from_table(self.table.0.name);
        q.cond_where(where_clause(self.table, self.cond.as_ref(), m));
        q
    }
}
