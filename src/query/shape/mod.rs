//! Statement shapes: the structure of a statement with its values replaced by parameter
//! slots. A shape is checked (`check`), rendered to SQL by sea-query (`render`) once, then
//! served from a cache (`cache`), so building a scoped statement costs a hash lookup, not
//! a render.

mod cache;
mod check;
mod render;

use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use sea_query::{
    DeleteStatement, InsertStatement, PostgresQueryBuilder, QueryStatementWriter, SelectStatement, SqliteQueryBuilder,
    UpdateStatement,
};

use cache::{DELETES, INSERTS, SELECTS, UPDATES, is_by_key};
pub(crate) use cache::{RenderedRef, ShapeCache};
pub(crate) use check::Check;
use render::Marks;

use crate::error::{Error, Result};
pub(crate) use crate::rendered::{Rendered, Slot, TENANT_SLOT};
use crate::schema::TableInfo;
use crate::value::SqlKind;

/// A table in a shape, compared by identity of its static declaration, and its alias
/// number (0: the table itself; `n`: the `n`th alias, `As<T, n>`, for a self-join).
#[derive(Clone, Copy, Debug)]
pub(crate) struct TableRef(pub(crate) &'static TableInfo, pub(crate) u8);

impl TableRef {
    /// The table itself, without an alias.
    #[inline]
    pub(crate) fn of(info: &'static TableInfo) -> Self {
        TableRef(info, 0)
    }

    /// The SQL name of an alias where the statement gives no short names (an update or a
    /// delete): `{table}_{n}`.
    pub(crate) fn alias(self) -> String {
        format!("{}_{}", self.0.name, self.1)
    }
}

impl PartialEq for TableRef {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0) && self.1 == other.1
    }
}
impl Eq for TableRef {}
impl Hash for TableRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::ptr::hash(self.0, state);
        self.1.hash(state);
    }
}

/// A column: its table and its index in the table's declaration.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct ColRef {
    pub(crate) table: TableRef,
    pub(crate) index: u16,
}

impl ColRef {
    pub(crate) fn kind(self) -> SqlKind {
        self.table.0.columns[usize::from(self.index)].kind
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
    /// `(a, b, ..) <op> (?, ?, ..)`: a row-value comparison (a keyset page), its values
    /// in consecutive slots from `first`.
    RowCmp {
        cols: Vec<ColRef>,
        op: CmpOp,
        first: Slot,
    },
    In {
        col: ColRef,
        first: Slot,
        len: u32,
        negated: bool,
    },
    Like {
        col: ColRef,
        pattern: Slot,
        negated: bool,
    },
    Null {
        col: ColRef,
        negated: bool,
    },
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    InSub {
        col: ColRef,
        sub: Box<SubShape>,
        negated: bool,
    },
    Exists {
        sub: Box<SubShape>,
        negated: bool,
    },
}

impl Node {
    /// `prev AND node` (flattened), or `node` alone.
    #[inline]
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
            Node::RowCmp { first, .. } => *first += by,
            Node::And(nodes) | Node::Or(nodes) => nodes.iter_mut().for_each(|n| n.shift(by)),
            Node::Not(node) => node.shift(by),
            Node::InSub { sub, .. } | Node::Exists { sub, .. } => {
                if let Some(cond) = &mut sub.cond {
                    cond.shift(by);
                }
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
    /// `LEFT JOIN`: the table's tenant predicate stays in the `ON` clause with the join
    /// condition, so a row of it matches only when it is the tenant's.
    pub(crate) left: bool,
}

/// One output column of a projection: a column, or an aggregate over the group.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Out {
    Col(ColRef),
    Agg(Agg),
}

impl Out {
    /// The column, when this output is one.
    pub(crate) fn column(&self) -> Option<ColRef> {
        match self {
            Out::Col(c) => Some(*c),
            Out::Agg(_) => None,
        }
    }
}

/// `HAVING aggregate <op> value`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Having {
    pub(crate) agg: Agg,
    pub(crate) op: CmpOp,
    pub(crate) slot: Slot,
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct SelectShape {
    pub(crate) scoped: bool,
    pub(crate) from: TableRef,
    /// Inline for the usual one join: no allocation per joined statement.
    pub(crate) joins: smallvec::SmallVec<[Join; 1]>,
    pub(crate) cond: Option<Node>,
    pub(crate) order: Vec<(ColRef, bool)>,
    pub(crate) limit: Option<Slot>,
    pub(crate) offset: Option<Slot>,
    pub(crate) agg: Option<Agg>,
    /// Chosen output columns (a projection); empty: whole rows, or `agg`.
    pub(crate) out: Vec<Out>,
    pub(crate) distinct: bool,
    pub(crate) group: Vec<ColRef>,
    pub(crate) having: Vec<Having>,
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct InsertShape {
    pub(crate) scoped: bool,
    pub(crate) table: TableRef,
    pub(crate) rows: u32,
    pub(crate) conflict: Option<Conflict>,
}

/// `ON CONFLICT (tenant, key...) DO UPDATE SET update... | DO NOTHING`: `key` and `update`
/// are column indexes of the table (never the tenant column).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Conflict {
    pub(crate) key: Vec<u16>,
    pub(crate) update: Vec<u16>,
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct UpdateShape {
    pub(crate) scoped: bool,
    pub(crate) table: TableRef,
    /// Inline for the usual one or two columns: no allocation per update.
    pub(crate) sets: smallvec::SmallVec<[(ColRef, Slot); 2]>,
    pub(crate) cond: Option<Node>,
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct DeleteShape {
    pub(crate) scoped: bool,
    pub(crate) table: TableRef,
    pub(crate) cond: Option<Node>,
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
    /// Whether a statement of this kind that names several tables gives each a short
    /// name (`"projects" AS "p"`). A query does; an update or a delete keeps its table's
    /// own name.
    const SHORT_NAMES: bool = false;
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
        // Several tables, a table under an alias too (a self-join), or a subquery.
        let qualify = check.refs.len() > 1 || check.subquery;
        let short = if qualify && Self::SHORT_NAMES { render::short_names(&check.refs) } else { Vec::new() };
        let stmt = self.statement(&mut Marks { scoped: self.scoped(), dialect, qualify, short });
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
        render::tenant_once(Rendered { sql, slots }, dialect)
    }

    /// The per-table slots for this shape, when it is one every owned table has (`get`,
    /// `delete_by_key`, a one-row `insert`); those skip the hash lookup.
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

impl SelectShape {
    /// `tenant = ? AND primary_key = ?` on `table`, the key in slot 1: what `Table::get`
    /// runs.
    pub(crate) fn by_key(table: TableRef, scoped: bool) -> SelectShape {
        let pk = ColRef { table, index: table.0.primary_key as u16 };
        SelectShape { cond: Some(Node::Cmp(pk, CmpOp::Eq, 1)), ..SelectShape::whole(table, scoped) }
    }

    /// Every row of `table` (for a tenant, when `scoped`): what `Table::select` starts from.
    #[inline]
    pub(crate) fn whole(table: TableRef, scoped: bool) -> SelectShape {
        SelectShape {
            scoped,
            from: table,
            joins: smallvec::SmallVec::new(),
            cond: None,
            order: Vec::new(),
            limit: None,
            offset: None,
            agg: None,
            out: Vec::new(),
            distinct: false,
            group: Vec::new(),
            having: Vec::new(),
        }
    }

    /// The rendering of [`by_key`](Self::by_key) for a tenant, from the table's own slot
    /// (rendered on first use).
    pub(crate) fn by_key_rendered(table: TableRef, dialect: Dialect) -> Result<RenderedRef> {
        match table.0.keyed.get[dialect.index()].get() {
            Some(r) => Ok(RenderedRef::Static(r)),
            None => SelectShape::by_key(table, true).rendered_in(dialect),
        }
    }
}

impl Shape for SelectShape {
    const SHORT_NAMES: bool = true;
    fn scoped(&self) -> bool {
        self.scoped
    }
    fn keyed_slot(&self) -> Option<&'static [OnceLock<Rendered>; 2]> {
        let plain = self.joins.is_empty()
            && self.out.is_empty()
            && self.group.is_empty()
            && !self.distinct
            && self.having.is_empty()
            && self.order.is_empty()
            && self.limit.is_none()
            && self.offset.is_none()
            && self.agg.is_none();
        (plain && is_by_key(self.scoped, self.from, self.cond.as_ref(), 1)).then_some(&self.from.0.keyed.get)
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
        let aggs = self.out.iter().filter_map(|o| match o {
            Out::Agg(a) => Some(*a),
            Out::Col(_) => None,
        });
        for agg in self.agg.into_iter().chain(aggs).chain(self.having.iter().map(|h| h.agg)) {
            if let Agg::Sum(c) | Agg::Min(c) | Agg::Max(c) | Agg::Avg(c) = agg {
                v.column(c);
            }
        }
        for out in &self.out {
            if let Out::Col(c) = out {
                v.column(*c);
            }
        }
        for c in &self.group {
            v.column(*c);
        }
    }
    fn cache() -> &'static ShapeCache<Self> {
        &SELECTS
    }
    type Statement = SelectStatement;
    fn statement(&self, m: &mut Marks) -> SelectStatement {
        render::select(self, m)
    }
}

impl Shape for InsertShape {
    fn scoped(&self) -> bool {
        self.scoped
    }
    fn keyed_slot(&self) -> Option<&'static [OnceLock<Rendered>; 2]> {
        let one_row = self.scoped
            && self.table.0.tenant.is_some()
            && self.table.1 == 0
            && self.rows == 1
            && self.conflict.is_none();
        one_row.then_some(&self.table.0.keyed.insert)
    }
    fn visit(&self, v: &mut Check) {
        v.table(self.table);
        if let Some(conflict) = &self.conflict {
            v.conflict_key(self.table, &conflict.key);
            for &index in &conflict.update {
                v.assigned(ColRef { table: self.table, index });
            }
        }
    }
    fn cache() -> &'static ShapeCache<Self> {
        &INSERTS
    }
    type Statement = InsertStatement;
    fn statement(&self, m: &mut Marks) -> InsertStatement {
        render::insert(self, m)
    }
}

impl Shape for UpdateShape {
    fn scoped(&self) -> bool {
        self.scoped
    }
    fn keyed_slot(&self) -> Option<&'static [OnceLock<Rendered>; 2]> {
        // `SET column = ?1 WHERE tenant = ? AND key = ?2`, the column of this table.
        let [(column, 1)] = self.sets.as_slice() else { return None };
        let info = self.table.0;
        (column.table == self.table && is_by_key(self.scoped, self.table, self.cond.as_ref(), 2))
            .then(|| info.keyed.update_one(info.columns.len(), usize::from(column.index)))
            .flatten()
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
        render::update(self, m)
    }
}

impl Shape for DeleteShape {
    fn scoped(&self) -> bool {
        self.scoped
    }
    fn keyed_slot(&self) -> Option<&'static [OnceLock<Rendered>; 2]> {
        is_by_key(self.scoped, self.table, self.cond.as_ref(), 1).then_some(&self.table.0.keyed.delete)
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
        render::delete(self, m)
    }
}
