//! Shapes to sea-query statements. Each slot is rendered as a distinct integer mark, read
//! back from sea-query's value list to learn which slot each placeholder binds.

use sea_query::{
    Alias, Asterisk, Condition, DeleteStatement, Expr, ExprTrait, Func, InsertStatement, JoinType, OnConflict, Order,
    Query, SelectStatement, SimpleExpr, UpdateStatement,
};

use super::{
    Agg, CmpOp, ColRef, DeleteShape, Dialect, InsertShape, Node, Out, SelectShape, Slot, SubShape, TENANT_SLOT,
    TableRef, UpdateShape,
};
use crate::value::SqlKind;

/// Hands out the placeholder values that stand for slots during rendering. Each slot is
/// rendered as a distinct integer; reading them back from sea-query's value list tells
/// which slot each `?` binds, whatever order sea-query emits them in.
pub(crate) struct Marks {
    pub(super) scoped: bool,
    pub(super) dialect: Dialect,
    /// Columns are written `table.column` (else `column`, shorter for the statement
    /// cache to hash and compare).
    pub(super) qualify: bool,
}

impl Marks {
    fn mark(&mut self, slot: Slot) -> Expr {
        Expr::val(i64::from(slot))
    }
}

impl ColRef {
    /// The column, qualified by its table where the statement names more than one table
    /// (or one table twice, through a subquery).
    pub(super) fn expr(self, m: &Marks) -> Expr {
        let name = self.table.0.columns[usize::from(self.index)].name;
        match (m.qualify, self.table.1) {
            (false, _) => Expr::col(name),
            (true, 0) => Expr::col((self.table.0.name, name)),
            (true, _) => Expr::col((Alias::new(self.table.alias()), name)),
        }
    }
}

impl Node {
    pub(super) fn render(&self, m: &mut Marks) -> Condition {
        match self {
            Node::Cmp(col, op, slot) => Condition::all().add(compare(col.expr(m), *op, m.mark(*slot))),
            Node::ColCmp(a, op, b) => Condition::all().add(compare(a.expr(m), *op, b.expr(m))),
            Node::RowCmp { cols, op, first } => {
                let left = Expr::tuple(cols.iter().map(|c| c.expr(m)));
                let right = Expr::tuple((*first..).take(cols.len()).map(|s| m.mark(s)));
                Condition::all().add(compare(left, *op, right))
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

/// An aggregate as SQL. PostgreSQL sums and averages bigints as numeric: cast back to
/// what the column's Rust type decodes.
fn aggregate(agg: Agg, m: &Marks) -> Expr {
    match agg {
        Agg::Count => Func::count(Expr::col(Asterisk)).into(),
        Agg::Sum(c) if m.dialect == Dialect::Postgres && c.kind() == SqlKind::Integer => {
            Func::cast_as(Func::sum(c.expr(m)), "BIGINT").into()
        }
        Agg::Sum(c) => Func::sum(c.expr(m)).into(),
        Agg::Min(c) => Func::min(c.expr(m)).into(),
        Agg::Max(c) => Func::max(c.expr(m)).into(),
        Agg::Avg(c) if m.dialect == Dialect::Postgres => Func::cast_as(Func::avg(c.expr(m)), "DOUBLE PRECISION").into(),
        Agg::Avg(c) => Func::avg(c.expr(m)).into(),
    }
}

fn compare(l: Expr, op: CmpOp, r: Expr) -> Expr {
    match op {
        CmpOp::Eq => l.eq(r),
        CmpOp::Ne => l.ne(r),
        CmpOp::Lt => l.lt(r),
        CmpOp::Le => l.lte(r),
        CmpOp::Gt => l.gt(r),
        CmpOp::Ge => l.gte(r),
    }
}

pub(super) fn select(s: &SelectShape, m: &mut Marks) -> SelectStatement {
    let mut q = Query::select();
    if !s.out.is_empty() {
        for out in &s.out {
            q.expr(match out {
                Out::Col(c) => c.expr(m),
                Out::Agg(a) => aggregate(*a, m),
            });
        }
    } else if let Some(agg) = s.agg {
        q.expr(aggregate(agg, m));
    } else {
        for table in std::iter::once(s.from).chain(s.joins.iter().map(|j| j.table)) {
            for index in 0..table.0.columns.len() as u16 {
                q.expr(ColRef { table, index }.expr(m));
            }
        }
    }
    if s.distinct {
        q.distinct();
    }
    q.from(s.from.0.name);
    for join in &s.joins {
        // The join condition and the joined table's own tenant predicate, together.
        let on = where_clause(join.table, Some(&join.on), m);
        let kind = if join.left { JoinType::LeftJoin } else { JoinType::InnerJoin };
        match join.table.1 {
            0 => q.join(kind, join.table.0.name, on),
            _ => q.join_as(kind, join.table.0.name, Alias::new(join.table.alias()), on),
        };
    }
    q.cond_where(where_clause(s.from, s.cond.as_ref(), m));
    for col in &s.group {
        q.add_group_by([col.expr(m)]);
    }
    for h in &s.having {
        let (agg, mark) = (aggregate(h.agg, m), m.mark(h.slot));
        q.and_having(compare(agg, h.op, mark));
    }
    for (col, desc) in &s.order {
        q.order_by_expr(col.expr(m), if *desc { Order::Desc } else { Order::Asc });
    }
    if let Some(limit) = s.limit {
        q.limit(u64::from(limit));
    }
    if let Some(offset) = s.offset {
        q.offset(u64::from(offset));
    }
    q
}

pub(super) fn insert(s: &InsertShape, m: &mut Marks) -> InsertStatement {
    let info = s.table.0;
    let mut q = Query::insert();
    q.into_table(info.name).columns(info.columns.iter().map(|c| Alias::new(c.name)));
    // Slot 0 is the tenant; the row values follow, row after row.
    let per_row = info.columns.len() - usize::from(info.tenant.is_some());
    for row in 0..s.rows as usize {
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
    if let Some(conflict) = &s.conflict {
        let name = |i: usize| Alias::new(info.columns[i].name);
        let key: Vec<Alias> =
            info.tenant.into_iter().chain(conflict.key.iter().map(|&i| usize::from(i))).map(name).collect();
        let mut on = OnConflict::columns(key);
        if conflict.update.is_empty() {
            on.do_nothing();
        } else {
            on.update_columns(conflict.update.iter().map(|&i| name(usize::from(i))));
        }
        q.on_conflict(on);
    }
    q
}

pub(super) fn update(s: &UpdateShape, m: &mut Marks) -> UpdateStatement {
    let info = s.table.0;
    let mut q = Query::update();
    q.table(info.name);
    for (col, slot) in &s.sets {
        q.value(Alias::new(info.columns[usize::from(col.index)].name), m.mark(*slot));
    }
    q.cond_where(where_clause(s.table, s.cond.as_ref(), m));
    q
}

pub(super) fn delete(s: &DeleteShape, m: &mut Marks) -> DeleteStatement {
    let mut q = Query::delete();
    q.from_table(s.table.0.name);
    q.cond_where(where_clause(s.table, s.cond.as_ref(), m));
    q
}
