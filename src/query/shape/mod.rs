//! Statement shapes: the structure of a statement with its values replaced by parameter
//! slots. A shape is checked (`check`), rendered to SQL by sea-query (`render`) once, then
//! served from a cache (`cache`), so building a scoped statement costs a hash lookup, not
//! a render.

mod bare;
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

/// A digest of the steps that built a select: the word the shape cache hashes, so a
/// lookup hashes one word instead of walking the tree (most steps are constant after
/// inlining: `filter(Project::id().eq(id))` digests a column and an operator known at
/// compile time).
///
/// It names kinds, tables, columns and operators, never slots or values. Equality of
/// shapes compares the digest and then every field: equal digests never make two
/// different shapes one cache entry, and an equal shape built by other steps (two
/// `filter`s or one `and`) is a second entry, rendered once more, never a wrong statement.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub(crate) struct Digest(u64);

impl Digest {
    #[inline(always)]
    fn mix(&mut self, word: u64) {
        // FxHash's step: a rotate, an xor and a multiply.
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0xf135_7aea_2e62_a9c5);
    }

    /// A table: its declaration's address, its alias number in the top byte.
    #[inline(always)]
    fn table(&mut self, t: TableRef) {
        self.mix(Self::table_word(t));
    }

    /// A column: its table's word with the column's index above the address bits.
    #[inline(always)]
    fn column(&mut self, c: ColRef) {
        self.mix(Self::table_word(c.table) ^ u64::from(c.index) << 40);
    }

    #[inline(always)]
    fn table_word(t: TableRef) -> u64 {
        std::ptr::from_ref(t.0) as usize as u64 ^ u64::from(t.1) << 56
    }

    #[inline(always)]
    fn agg(&mut self, agg: Agg) {
        let (kind, col) = match agg {
            Agg::Count => (1, None),
            Agg::Sum(c) => (2, Some(c)),
            Agg::Min(c) => (3, Some(c)),
            Agg::Max(c) => (4, Some(c)),
            Agg::Avg(c) => (5, Some(c)),
        };
        self.mix(kind);
        if let Some(c) = col {
            self.column(c);
        }
    }

    /// A condition after `step` (the step's bits ride on the condition's first word):
    /// its kind, columns and operators, and the length of an `IN` list.
    #[inline(always)]
    fn node(&mut self, step: u64, node: &Node) {
        match node {
            Node::Cmp(c, op, _) => {
                self.mix(step | 1 << 8 | *op as u64);
                self.column(*c);
            }
            Node::ColCmp(a, op, b) => {
                self.mix(step | 2 << 8 | *op as u64);
                self.column(*a);
                self.column(*b);
            }
            Node::In { col, len, negated, .. } => {
                self.mix(step | 3 << 8 | u64::from(*negated) | u64::from(*len) << 24);
                self.column(*col);
            }
            Node::Like { col, negated, .. } => {
                self.mix(step | 4 << 8 | u64::from(*negated));
                self.column(*col);
            }
            Node::Null { col, negated } => {
                self.mix(step | 5 << 8 | u64::from(*negated));
                self.column(*col);
            }
            Node::RowCmp { .. }
            | Node::And(_)
            | Node::Or(_)
            | Node::Not(_)
            | Node::InSub { .. }
            | Node::Exists { .. } => self.composite(step, node),
        }
    }

    /// The conditions of an `AND` or an `OR` (`head` names which), in order.
    fn all(&mut self, head: u64, nodes: &[Node]) {
        self.mix(head | (nodes.len() as u64) << 24);
        nodes.iter().for_each(|n| self.node(0, n));
    }

    fn sub(&mut self, sub: &SubShape) {
        self.table(sub.table);
        if let Some(c) = sub.column {
            self.column(c);
        }
        if let Some(cond) = &sub.cond {
            self.node(0, cond);
        }
    }

    fn composite(&mut self, step: u64, node: &Node) {
        match node {
            Node::RowCmp { cols, op, .. } => {
                self.mix(step | 6 << 8 | *op as u64 | (cols.len() as u64) << 24);
                cols.iter().for_each(|c| self.column(*c));
            }
            Node::And(nodes) => self.all(step | 7 << 8, nodes),
            Node::Or(nodes) => self.all(step | 8 << 8, nodes),
            Node::Not(inner) => {
                self.mix(step | 9 << 8);
                self.node(0, inner);
            }
            Node::InSub { col, sub, negated } => {
                self.mix(step | 10 << 8 | u64::from(*negated));
                self.column(*col);
                self.sub(sub);
            }
            Node::Exists { sub, negated } => {
                self.mix(step | 11 << 8 | u64::from(*negated));
                self.sub(sub);
            }
            Node::Cmp(..) | Node::ColCmp(..) | Node::In { .. } | Node::Like { .. } | Node::Null { .. } => {
                self.node(step, node)
            }
        }
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
    /// `prev AND node` (flattened), or `node` alone: the first condition, the usual
    /// case, is a move, inlined.
    #[inline(always)]
    pub(crate) fn and(prev: Option<Node>, node: Node) -> Node {
        match prev {
            None => node,
            Some(prev) => Node::and_after(prev, node),
        }
    }

    fn and_after(prev: Node, node: Node) -> Node {
        match prev {
            Node::And(mut all) => {
                all.push(node);
                Node::And(all)
            }
            prev => Node::And(vec![prev, node]),
        }
    }

    /// Moves every slot by `by`, when a condition is appended after other parameters: a
    /// single comparison inlined, a tree in a call.
    #[inline(always)]
    pub(crate) fn shift(&mut self, by: Slot) {
        match self {
            Node::Cmp(_, _, s) => *s += by,
            Node::In { first, .. } | Node::RowCmp { first, .. } => *first += by,
            Node::Like { pattern, .. } => *pattern += by,
            Node::ColCmp(..) | Node::Null { .. } => {}
            Node::And(_) | Node::Or(_) | Node::Not(_) | Node::InSub { .. } | Node::Exists { .. } => self.shift_tree(by),
        }
    }

    fn shift_tree(&mut self, by: Slot) {
        match self {
            Node::And(nodes) | Node::Or(nodes) => nodes.iter_mut().for_each(|n| n.shift(by)),
            Node::Not(node) => node.shift(by),
            Node::InSub { sub, .. } | Node::Exists { sub, .. } => {
                if let Some(cond) = &mut sub.cond {
                    cond.shift(by);
                }
            }
            Node::Cmp(..)
            | Node::In { .. }
            | Node::RowCmp { .. }
            | Node::Like { .. }
            | Node::ColCmp(..)
            | Node::Null { .. } => self.shift(by),
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

/// A select's structure. Its fields are read anywhere in the crate but changed only
/// through the methods below, each of which also digests the change.
#[derive(Clone, Eq)]
pub(crate) struct SelectShape {
    /// The steps that built it (compared first: unequal digests end a comparison early).
    digest: Digest,
    pub(crate) scoped: bool,
    pub(crate) from: TableRef,
    /// Inline for the usual one join: no allocation per joined statement.
    pub(crate) joins: smallvec::SmallVec<[Join; 1]>,
    pub(crate) cond: Option<Node>,
    pub(crate) limit: Option<Slot>,
    /// The rest, boxed once one of them is set: a statement without them (a get, a join,
    /// a filter) is smaller to move and quicker to compare.
    tail: Option<Box<Tail>>,
}

/// The parts of a select that most statements leave empty.
#[derive(Clone, PartialEq, Eq, Default, Debug)]
pub(crate) struct Tail {
    pub(crate) order: Vec<(ColRef, bool)>,
    pub(crate) offset: Option<Slot>,
    pub(crate) agg: Option<Agg>,
    /// Chosen output columns (a projection); empty: whole rows, or `agg`.
    pub(crate) out: Vec<Out>,
    pub(crate) distinct: bool,
    pub(crate) group: Vec<ColRef>,
    pub(crate) having: Vec<Having>,
}

/// What a select without a tail has.
static NO_TAIL: Tail = Tail {
    order: Vec::new(),
    offset: None,
    agg: None,
    out: Vec::new(),
    distinct: false,
    group: Vec::new(),
    having: Vec::new(),
};

// The steps a select's digest tells apart, in bits 16-19 of a step's first word (a
// condition's kind sits in bits 8-11, its operator or flag in the low bits, a length
// from bit 24; a join's `LEFT` is bit 20).
const STEP_WHERE: u64 = 1 << 16;
const STEP_JOIN: u64 = 2 << 16;
const STEP_ORDER: u64 = 3 << 16;
const STEP_SET_ORDER: u64 = 4 << 16;
const STEP_LIMIT: u64 = 5 << 16;
const STEP_OFFSET: u64 = 6 << 16;
const STEP_AGGREGATE: u64 = 7 << 16;
const STEP_OUT: u64 = 8 << 16;
const STEP_GROUP: u64 = 9 << 16;
const STEP_DISTINCT: u64 = 10 << 16;
const STEP_HAVING: u64 = 11 << 16;

impl std::fmt::Debug for SelectShape {
    // Without the digest: it mixes in addresses, so it differs from run to run.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Every field named, so one added later is not left out of the output.
        let SelectShape { digest: _, scoped, from, joins, cond, limit, tail } = self;
        f.debug_struct("SelectShape")
            .field("scoped", scoped)
            .field("from", from)
            .field("joins", joins)
            .field("cond", cond)
            .field("limit", limit)
            .field("tail", tail)
            .finish()
    }
}

/// Every field, as the derive would compare them, with the usual condition kinds
/// compared inline: a cache hit compares the whole shape, and calls per node were half
/// of that comparison. The patterns name every field, so one added later cannot be left
/// out of the comparison without a compile error.
impl PartialEq for SelectShape {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        let SelectShape { digest, scoped, from, joins, cond, limit, tail } = self;
        *digest == other.digest
            && *scoped == other.scoped
            && *from == other.from
            && joins.len() == other.joins.len()
            && joins.iter().zip(&other.joins).all(|(a, b)| {
                let Join { table, on, left } = a;
                *table == b.table && *left == b.left && on.same(&b.on)
            })
            && match (cond, &other.cond) {
                (Some(a), Some(b)) => a.same(b),
                (a, b) => a.is_none() && b.is_none(),
            }
            && *limit == other.limit
            && *tail == other.tail
    }
}

impl Node {
    /// `==`, with a single comparison (the usual `WHERE` and `ON`) compared inline.
    #[inline(always)]
    fn same(&self, other: &Node) -> bool {
        match (self, other) {
            (Node::Cmp(col, op, slot), Node::Cmp(col2, op2, slot2)) => col == col2 && op == op2 && slot == slot2,
            (Node::ColCmp(a, op, b), Node::ColCmp(a2, op2, b2)) => a == a2 && op == op2 && b == b2,
            _ => self == other,
        }
    }
}

impl Hash for SelectShape {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Consistent with equality, which compares the digest too.
        state.write_u64(self.digest.0);
    }
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
    /// name (`projects AS p`). A query does; an update or a delete keeps its table's
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
        render::tenant_once(Rendered { sql: bare::bare_names(sql), slots }, dialect)
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
        let mut shape = SelectShape::whole(table, scoped);
        shape.and_where(Node::Cmp(pk, CmpOp::Eq, 1));
        shape
    }

    /// Every row of `table` (for a tenant, when `scoped`): what `Table::select` starts from.
    #[inline]
    pub(crate) fn whole(table: TableRef, scoped: bool) -> SelectShape {
        let mut digest = Digest::default();
        digest.mix(Digest::table_word(table) ^ u64::from(scoped) << 63);
        SelectShape {
            digest,
            scoped,
            from: table,
            joins: smallvec::SmallVec::new(),
            cond: None,
            limit: None,
            tail: None,
        }
    }

    /// Ordering, offset, aggregates, projection and grouping (all empty without a tail).
    #[inline]
    pub(crate) fn tail(&self) -> &Tail {
        self.tail.as_deref().unwrap_or(&NO_TAIL)
    }

    fn tail_mut(&mut self) -> &mut Tail {
        self.tail.get_or_insert_default()
    }

    /// `WHERE .. AND node`.
    #[inline(always)]
    pub(crate) fn and_where(&mut self, node: Node) {
        self.digest.node(STEP_WHERE, &node);
        self.cond = Some(Node::and(self.cond.take(), node));
    }

    /// A join of `join.table` on `join.on`.
    #[inline(always)]
    pub(crate) fn join(&mut self, join: Join) {
        self.digest.table(join.table);
        self.digest.node(STEP_JOIN | u64::from(join.left) << 20, &join.on);
        self.joins.push(join);
    }

    /// Another ordering term.
    #[inline(always)]
    pub(crate) fn order_by(&mut self, col: ColRef, desc: bool) {
        self.digest.mix(STEP_ORDER | u64::from(desc));
        self.digest.column(col);
        self.tail_mut().order.push((col, desc));
    }

    /// The ordering, replaced by `terms` (a keyset's).
    pub(crate) fn set_order(&mut self, terms: &[(ColRef, bool)]) {
        self.digest.mix(STEP_SET_ORDER | terms.len() as u64);
        for &(col, desc) in terms {
            self.digest.mix(u64::from(desc));
            self.digest.column(col);
        }
        self.tail_mut().order = terms.to_vec();
    }

    /// `LIMIT` the value in `slot`.
    #[inline(always)]
    pub(crate) fn set_limit(&mut self, slot: Slot) {
        self.digest.mix(STEP_LIMIT);
        self.limit = Some(slot);
    }

    /// `OFFSET` the value in `slot`.
    #[inline(always)]
    pub(crate) fn set_offset(&mut self, slot: Slot) {
        self.digest.mix(STEP_OFFSET);
        self.tail_mut().offset = Some(slot);
    }

    /// One aggregate over the rows (no ordering: one row comes back).
    pub(crate) fn set_aggregate(&mut self, agg: Agg) {
        self.digest.mix(STEP_AGGREGATE);
        self.digest.agg(agg);
        let tail = self.tail_mut();
        tail.agg = Some(agg);
        tail.order.clear();
    }

    /// The output columns, replaced by `out` (a projection, or a group's key and
    /// aggregate); no single aggregate.
    pub(crate) fn set_out(&mut self, out: Vec<Out>) {
        self.digest.mix(STEP_OUT | out.len() as u64);
        for o in &out {
            match *o {
                Out::Col(c) => self.digest.column(c),
                Out::Agg(a) => self.digest.agg(a),
            }
        }
        let tail = self.tail_mut();
        tail.out = out;
        tail.agg = None;
    }

    /// `GROUP BY .., col`; no single aggregate.
    pub(crate) fn group_by(&mut self, col: ColRef) {
        self.digest.mix(STEP_GROUP);
        self.digest.column(col);
        let tail = self.tail_mut();
        tail.group.push(col);
        tail.agg = None;
    }

    /// `SELECT DISTINCT`.
    pub(crate) fn set_distinct(&mut self) {
        self.digest.mix(STEP_DISTINCT);
        self.tail_mut().distinct = true;
    }

    /// Another `HAVING` term.
    pub(crate) fn having(&mut self, having: Having) {
        self.digest.mix(STEP_HAVING | having.op as u64);
        self.digest.agg(having.agg);
        self.tail_mut().having.push(having);
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
        let plain = self.joins.is_empty() && self.limit.is_none() && self.tail.is_none();
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
        let tail = self.tail();
        for (c, _) in &tail.order {
            v.column(*c);
        }
        let aggs = tail.out.iter().filter_map(|o| match o {
            Out::Agg(a) => Some(*a),
            Out::Col(_) => None,
        });
        for agg in tail.agg.into_iter().chain(aggs).chain(tail.having.iter().map(|h| h.agg)) {
            if let Agg::Sum(c) | Agg::Min(c) | Agg::Max(c) | Agg::Avg(c) = agg {
                v.column(c);
            }
        }
        for out in &tail.out {
            if let Out::Col(c) = out {
                v.column(*c);
            }
        }
        for c in &tail.group {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ColumnInfo;

    static NOTES: TableInfo = TableInfo::new(
        "digest_notes",
        &[
            ColumnInfo::new("user_id", SqlKind::Uuid, false),
            ColumnInfo::new("id", SqlKind::Integer, false),
            ColumnInfo::new("title", SqlKind::Text, false),
            ColumnInfo::new("words", SqlKind::Integer, false),
        ],
        Some(0),
        1,
        &[],
        &[],
    );
    // Registered, as a derive would, because rendering refuses an undeclared table. Other
    // unit tests of this binary that walk `tables()` see it too.
    inventory::submit!(crate::registry::Registered(&NOTES));

    fn col(index: u16) -> ColRef {
        ColRef { table: TableRef::of(&NOTES), index }
    }

    #[test]
    fn shapes_that_differ_only_in_slots_share_a_digest_but_never_a_rendering() {
        // Guard: equality compares every field after the digest, so the cache (which
        // hashes the digest alone) keeps the two apart.
        let build = |first: Slot, second: Slot| {
            let mut s = SelectShape::whole(TableRef::of(&NOTES), true);
            s.and_where(Node::Cmp(col(2), CmpOp::Eq, first));
            s.and_where(Node::Cmp(col(3), CmpOp::Gt, second));
            s
        };
        let (a, b) = (build(1, 2), build(2, 1));
        assert_eq!(a.digest, b.digest);
        assert_ne!(a, b);
        for _ in 0..2 {
            let ra = a.rendered_in(Dialect::Sqlite).unwrap();
            let rb = b.rendered_in(Dialect::Sqlite).unwrap();
            assert_eq!(ra.sql, rb.sql);
            assert_eq!(ra.slots, [TENANT_SLOT, 1, 2]);
            assert_eq!(rb.slots, [TENANT_SLOT, 2, 1]);
        }
    }

    #[test]
    fn equality_tells_apart_every_field_even_when_the_digests_are_equal() {
        // Guard: `SelectShape`'s hand-written `eq` (and `Node::same`, its inline fast
        // path for one comparison) compares every field; a digest is only a hash. Each
        // shape below differs from the base in one field; its digest is then forced to
        // the base's, as a collision would make it. Seen failing with the slot left out
        // of `Node::same`'s `Cmp` arm.
        let base = || {
            let mut s = SelectShape::whole(TableRef::of(&NOTES), true);
            s.and_where(Node::Cmp(col(2), CmpOp::Eq, 1));
            s.join(Join { table: TableRef(&NOTES, 1), on: Node::ColCmp(col(1), CmpOp::Eq, col(2)), left: false });
            s
        };
        let changed = |step: &dyn Fn(&mut SelectShape)| {
            let mut s = base();
            step(&mut s);
            s.digest = base().digest;
            s
        };
        let on = |s: &mut SelectShape, node: Node, left: bool, table: TableRef| {
            s.joins[0] = Join { table, on: node, left };
        };
        let variants = [
            changed(&|s| s.scoped = false),
            changed(&|s| s.from = TableRef(&NOTES, 2)),
            changed(&|s| s.cond = Some(Node::Cmp(col(2), CmpOp::Eq, 2))),
            changed(&|s| s.cond = Some(Node::Cmp(col(3), CmpOp::Eq, 1))),
            changed(&|s| s.cond = Some(Node::Cmp(col(2), CmpOp::Ne, 1))),
            changed(&|s| s.cond = Some(Node::Like { col: col(2), pattern: 1, negated: false })),
            changed(&|s| s.cond = None),
            changed(&|s| on(s, Node::ColCmp(col(3), CmpOp::Eq, col(2)), false, TableRef(&NOTES, 1))),
            changed(&|s| on(s, Node::ColCmp(col(1), CmpOp::Ne, col(2)), false, TableRef(&NOTES, 1))),
            changed(&|s| on(s, Node::ColCmp(col(1), CmpOp::Eq, col(3)), false, TableRef(&NOTES, 1))),
            changed(&|s| on(s, Node::ColCmp(col(1), CmpOp::Eq, col(2)), true, TableRef(&NOTES, 1))),
            changed(&|s| on(s, Node::ColCmp(col(1), CmpOp::Eq, col(2)), false, TableRef(&NOTES, 3))),
            changed(&|s| on(s, Node::Cmp(col(1), CmpOp::Eq, 1), false, TableRef(&NOTES, 1))),
            changed(&|s| s.joins.clear()),
            changed(&|s| s.order_by(col(3), false)),
            changed(&|s| s.set_limit(1)),
            changed(&|s| s.set_offset(1)),
            changed(&|s| s.set_aggregate(Agg::Count)),
            changed(&|s| s.set_out(vec![Out::Col(col(2))])),
            changed(&|s| s.set_distinct()),
            changed(&|s| s.group_by(col(2))),
            changed(&|s| s.having(Having { agg: Agg::Count, op: CmpOp::Ge, slot: 1 })),
        ];
        assert_eq!(base(), base());
        for (i, v) in variants.iter().enumerate() {
            assert_eq!(v.digest, base().digest);
            assert_ne!(*v, base(), "variant {i} compared equal to the base");
            assert_ne!(base(), *v, "variant {i} compared equal to the base");
        }
        // The same with a tail on both sides: each of its fields is compared too.
        let with_tail = || {
            let mut s = base();
            s.order_by(col(3), false);
            s.set_offset(2);
            s
        };
        let changed_tail = |step: &dyn Fn(&mut Tail)| {
            let mut s = with_tail();
            step(s.tail_mut());
            s
        };
        let variants = [
            changed_tail(&|t| t.order[0].1 = true),
            changed_tail(&|t| t.order.push((col(2), false))),
            changed_tail(&|t| t.offset = Some(3)),
            changed_tail(&|t| t.agg = Some(Agg::Count)),
            changed_tail(&|t| t.out.push(Out::Col(col(2)))),
            changed_tail(&|t| t.distinct = true),
            changed_tail(&|t| t.group.push(col(2))),
            changed_tail(&|t| t.having.push(Having { agg: Agg::Count, op: CmpOp::Ge, slot: 1 })),
        ];
        assert_eq!(with_tail(), with_tail());
        for (i, v) in variants.iter().enumerate() {
            assert_eq!(v.digest, with_tail().digest);
            assert_ne!(*v, with_tail(), "tail variant {i} compared equal to the base");
        }
    }

    #[test]
    fn the_digest_tells_apart_every_step_kind_column_operator_and_list_length() {
        let built = |step: &dyn Fn(&mut SelectShape)| {
            let mut s = SelectShape::whole(TableRef::of(&NOTES), true);
            step(&mut s);
            s.digest
        };
        let digest = |node: Node| built(&|s| s.and_where(node.clone()));
        let cmp = |c, op| Node::Cmp(col(c), op, 1);
        let sub = |cond| Box::new(SubShape { table: TableRef::of(&NOTES), column: Some(col(1)), cond });
        let all = [
            built(&|_| {}),
            digest(cmp(2, CmpOp::Eq)),
            digest(cmp(3, CmpOp::Eq)),
            digest(cmp(2, CmpOp::Ne)),
            digest(Node::ColCmp(col(2), CmpOp::Eq, col(3))),
            digest(Node::ColCmp(col(3), CmpOp::Eq, col(2))),
            digest(Node::Like { col: col(2), pattern: 1, negated: false }),
            digest(Node::Like { col: col(2), pattern: 1, negated: true }),
            digest(Node::Null { col: col(2), negated: false }),
            digest(Node::Null { col: col(2), negated: true }),
            digest(Node::In { col: col(2), first: 1, len: 2, negated: false }),
            digest(Node::In { col: col(2), first: 1, len: 3, negated: false }),
            digest(Node::RowCmp { cols: vec![col(3), col(1)], op: CmpOp::Lt, first: 1 }),
            digest(Node::RowCmp { cols: vec![col(3), col(1)], op: CmpOp::Gt, first: 1 }),
            digest(Node::And(vec![cmp(2, CmpOp::Eq), cmp(3, CmpOp::Eq)])),
            digest(Node::Or(vec![cmp(2, CmpOp::Eq), cmp(3, CmpOp::Eq)])),
            digest(Node::Not(Box::new(cmp(2, CmpOp::Eq)))),
            digest(Node::InSub { col: col(1), sub: sub(None), negated: false }),
            digest(Node::InSub { col: col(1), sub: sub(Some(cmp(2, CmpOp::Eq))), negated: false }),
            digest(Node::Exists { sub: sub(None), negated: false }),
            digest(Node::Exists { sub: sub(None), negated: true }),
            built(&|s| {
                s.join(Join { table: TableRef(&NOTES, 1), on: Node::ColCmp(col(1), CmpOp::Eq, col(1)), left: false })
            }),
            built(&|s| {
                s.join(Join { table: TableRef(&NOTES, 1), on: Node::ColCmp(col(1), CmpOp::Eq, col(1)), left: true })
            }),
            built(&|s| s.order_by(col(3), false)),
            built(&|s| s.order_by(col(3), true)),
            built(&|s| s.set_order(&[(col(3), false)])),
            built(&|s| s.set_limit(1)),
            built(&|s| s.set_offset(1)),
            built(&|s| s.set_aggregate(Agg::Count)),
            built(&|s| s.set_aggregate(Agg::Sum(col(3)))),
            built(&|s| s.set_out(vec![Out::Col(col(2))])),
            built(&|s| s.group_by(col(2))),
            built(&|s| s.set_distinct()),
            built(&|s| s.having(Having { agg: Agg::Count, op: CmpOp::Ge, slot: 1 })),
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // Two steps or one `AND`: the same statement, digested by its steps (a second
        // cache entry, accepted: the digest is not worth a canonical form). Each is
        // rendered on its own; both render the same SQL.
        let mut two = SelectShape::whole(TableRef::of(&NOTES), true);
        two.and_where(Node::Cmp(col(2), CmpOp::Eq, 1));
        two.and_where(Node::Cmp(col(3), CmpOp::Eq, 2));
        let mut one = SelectShape::whole(TableRef::of(&NOTES), true);
        one.and_where(Node::And(vec![Node::Cmp(col(2), CmpOp::Eq, 1), Node::Cmp(col(3), CmpOp::Eq, 2)]));
        assert_ne!(two.digest, one.digest);
        assert_eq!(two.render(Dialect::Sqlite).unwrap().sql, one.render(Dialect::Sqlite).unwrap().sql);
    }
}
