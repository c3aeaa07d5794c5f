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
use crate::error::{Error, Result};
use crate::rendered::Rendered;
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
    /// The short name of each table of a query that names several ([`short_names`]).
    pub(super) short: Vec<(TableRef, String)>,
}

impl Marks {
    fn mark(&mut self, slot: Slot) -> Expr {
        Expr::val(i64::from(slot))
    }

    /// The short name `table` goes by in this statement, if it has one.
    fn short(&self, table: TableRef) -> Option<&str> {
        self.short.iter().find(|(t, _)| *t == table).map(|(_, name)| name.as_str())
    }
}

/// Short names for the tables of a query that names several, as a person writes them:
/// the initials of each table's name (`export_jobs` is `ej`), an alias's number after
/// them (`As<ExportJob, 1>` is `ej1`), and a number more where two would be the same
/// (`projects` and `plans`: `p`, `p2`). SQL compares names without regard to case, so
/// neither does this. Shorter text is cheaper for the statement cache to hash and compare
/// on every run; the same table in a subquery has the same name, as it had before.
pub(super) fn short_names(tables: &[TableRef]) -> Vec<(TableRef, String)> {
    let mut out: Vec<(TableRef, String)> = Vec::with_capacity(tables.len());
    for &table in tables {
        let mut base: String = table.0.name.split('_').filter_map(|word| word.chars().next()).collect();
        if base.is_empty() {
            base.push('t');
        }
        if table.1 != 0 {
            base.push_str(&table.1.to_string());
        }
        let mut name = base.clone();
        let mut n = 2;
        while out.iter().any(|(_, taken)| taken.eq_ignore_ascii_case(&name)) {
            name = format!("{base}{n}");
            n += 1;
        }
        out.push((table, name));
    }
    out
}

/// Numbers the placeholders of a statement whose tenant predicate appears more than once
/// (a join, a subquery) so that the tenant is one parameter, `?1` (`$1`), bound once; the
/// others follow in order (`?2`, `?3`, ...). A statement with one tenant placeholder or
/// none keeps sea-query's text.
pub(super) fn tenant_once(r: Rendered, dialect: Dialect) -> Result<Rendered> {
    if r.slots.iter().filter(|s| **s == TENANT_SLOT).count() < 2 {
        return Ok(r);
    }
    let (mark, prefix) = match dialect {
        Dialect::Sqlite => ('?', "?"),
        Dialect::Postgres => ('$', "$"),
    };
    const MISMATCH: Error = Error::Internal { why: "a rendered statement's placeholders did not match its values" };
    let mut sql = String::with_capacity(r.sql.len() + 2 * r.slots.len());
    let mut slots = vec![TENANT_SLOT];
    let mut marks = r.slots.iter();
    let mut quote = None;
    let mut chars = r.sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            // A doubled quote inside a quoted name closes and reopens it: same result.
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == mark => {
                // PostgreSQL's `$n`: sea-query numbers them in order, so the digits go.
                while dialect == Dialect::Postgres && chars.next_if(char::is_ascii_digit).is_some() {}
                let slot = *marks.next().ok_or(MISMATCH)?;
                let number = if slot == TENANT_SLOT {
                    1
                } else {
                    slots.push(slot);
                    slots.len()
                };
                sql.push_str(prefix);
                sql.push_str(&number.to_string());
                continue;
            }
            None => {}
        }
        sql.push(c);
    }
    if marks.next().is_some() || quote.is_some() {
        return Err(MISMATCH);
    }
    Ok(Rendered { sql, slots })
}

impl ColRef {
    /// The column, qualified by its table where the statement names more than one table
    /// (or one table twice, through a subquery).
    pub(super) fn expr(self, m: &Marks) -> Expr {
        let name = self.table.0.columns[usize::from(self.index)].name;
        match (m.qualify, m.short(self.table), self.table.1) {
            (false, ..) => Expr::col(name),
            (true, Some(short), _) => Expr::col((Alias::new(short), name)),
            (true, None, 0) => Expr::col((self.table.0.name, name)),
            (true, None, _) => Expr::col((Alias::new(self.table.alias()), name)),
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
        match m.short(self.table) {
            Some(short) => q.from_as(self.table.0.name, Alias::new(short)),
            None => q.from(self.table.0.name),
        };
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
    let tail = s.tail();
    if !tail.out.is_empty() {
        for out in &tail.out {
            q.expr(match out {
                Out::Col(c) => c.expr(m),
                Out::Agg(a) => aggregate(*a, m),
            });
        }
    } else if let Some(agg) = tail.agg {
        q.expr(aggregate(agg, m));
    } else {
        for table in std::iter::once(s.from).chain(s.joins.iter().map(|j| j.table)) {
            for index in 0..table.0.columns.len() as u16 {
                q.expr(ColRef { table, index }.expr(m));
            }
        }
    }
    if tail.distinct {
        q.distinct();
    }
    match m.short(s.from) {
        Some(short) => q.from_as(s.from.0.name, Alias::new(short)),
        None => q.from(s.from.0.name),
    };
    for join in &s.joins {
        // The join condition and the joined table's own tenant predicate, together.
        let on = where_clause(join.table, Some(&join.on), m);
        let kind = if join.left { JoinType::LeftJoin } else { JoinType::Join };
        match (m.short(join.table), join.table.1) {
            (Some(short), _) => q.join_as(kind, join.table.0.name, Alias::new(short), on),
            (None, 0) => q.join(kind, join.table.0.name, on),
            (None, _) => q.join_as(kind, join.table.0.name, Alias::new(join.table.alias()), on),
        };
    }
    q.cond_where(where_clause(s.from, s.cond.as_ref(), m));
    for col in &tail.group {
        q.add_group_by([col.expr(m)]);
    }
    for h in &tail.having {
        let (agg, mark) = (aggregate(h.agg, m), m.mark(h.slot));
        q.and_having(compare(agg, h.op, mark));
    }
    for (col, desc) in &tail.order {
        q.order_by_expr(col.expr(m), if *desc { Order::Desc } else { Order::Asc });
    }
    if let Some(limit) = s.limit {
        q.limit(u64::from(limit));
    }
    if let Some(offset) = tail.offset {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(sql: &str, slots: &[Slot]) -> Rendered {
        Rendered { sql: sql.to_owned(), slots: slots.to_vec() }
    }

    #[test]
    fn the_tenant_is_one_numbered_parameter_when_it_appears_twice() {
        let r = rendered(
            r#"SELECT "a?" FROM "t" JOIN "u" ON "u"."user_id" = ? WHERE "t"."user_id" = ? AND "t"."x" = ?"#,
            &[0, 0, 3],
        );
        let r = tenant_once(r, Dialect::Sqlite).unwrap();
        assert_eq!(
            r.sql,
            r#"SELECT "a?" FROM "t" JOIN "u" ON "u"."user_id" = ?1 WHERE "t"."user_id" = ?1 AND "t"."x" = ?2"#
        );
        assert_eq!(r.slots, [TENANT_SLOT, 3]);

        // A value before the first tenant placeholder still gets its own number.
        let r = rendered(
            r#"UPDATE "t" SET "n" = ? WHERE "t"."user_id" = ? AND "t"."id" IN (SELECT "id" FROM "u" WHERE "u"."user_id" = ?)"#,
            &[1, 0, 0],
        );
        let r = tenant_once(r, Dialect::Sqlite).unwrap();
        assert_eq!(
            r.sql,
            r#"UPDATE "t" SET "n" = ?2 WHERE "t"."user_id" = ?1 AND "t"."id" IN (SELECT "id" FROM "u" WHERE "u"."user_id" = ?1)"#
        );
        assert_eq!(r.slots, [TENANT_SLOT, 1]);
    }

    #[test]
    fn postgres_placeholders_are_renumbered_past_nine() {
        let mut sql = String::from(r#"SELECT 1 FROM "t" WHERE "t"."user_id" = $1"#);
        let mut slots = vec![0];
        for n in 2..=11 {
            sql.push_str(&format!(" AND \"t\".\"c$\" = ${n}"));
            slots.push(n);
        }
        sql.push_str(r#" AND EXISTS(SELECT 1 FROM "u" WHERE "u"."user_id" = $12)"#);
        slots.push(0);
        let r = tenant_once(Rendered { sql, slots }, Dialect::Postgres).unwrap();
        assert!(
            r.sql.ends_with(r#""t"."c$" = $11 AND EXISTS(SELECT 1 FROM "u" WHERE "u"."user_id" = $1)"#),
            "{}",
            r.sql
        );
        assert_eq!(r.slots, [0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    }

    #[test]
    fn postgres_values_before_the_tenant_are_renumbered_after_it() {
        let r = rendered(
            r#"UPDATE "t" SET "n" = $1, "m" = $2 WHERE "t"."user_id" = $3 AND EXISTS(SELECT 1 FROM "u" WHERE "u"."user_id" = $4 AND "u"."k" = $5)"#,
            &[1, 2, 0, 0, 3],
        );
        let r = tenant_once(r, Dialect::Postgres).unwrap();
        assert_eq!(
            r.sql,
            r#"UPDATE "t" SET "n" = $2, "m" = $3 WHERE "t"."user_id" = $1 AND EXISTS(SELECT 1 FROM "u" WHERE "u"."user_id" = $1 AND "u"."k" = $4)"#
        );
        assert_eq!(r.slots, [TENANT_SLOT, 1, 2, 3]);
    }

    #[test]
    fn quoted_text_is_copied_as_it_is() {
        // A doubled quote inside a name, and a string literal, each holding a `?`.
        let r = rendered(
            r#"SELECT "a""?" FROM "t" WHERE 'x?''?' = ? AND "t"."user_id" = ? AND "u"."user_id" = ?"#,
            &[1, 0, 0],
        );
        let r = tenant_once(r, Dialect::Sqlite).unwrap();
        assert_eq!(r.sql, r#"SELECT "a""?" FROM "t" WHERE 'x?''?' = ?2 AND "t"."user_id" = ?1 AND "u"."user_id" = ?1"#);
        assert_eq!(r.slots, [TENANT_SLOT, 1]);
    }

    #[test]
    fn one_tenant_placeholder_keeps_the_text() {
        let r =
            tenant_once(rendered(r#"SELECT "id" FROM "t" WHERE "user_id" = ? AND "id" = ?"#, &[0, 1]), Dialect::Sqlite)
                .unwrap();
        assert_eq!(r.sql, r#"SELECT "id" FROM "t" WHERE "user_id" = ? AND "id" = ?"#);
        assert_eq!(r.slots, [0, 1]);
    }

    #[test]
    fn placeholders_that_do_not_match_the_values_are_an_error() {
        for (sql, slots) in [
            (r#"SELECT 1 FROM "t" WHERE "user_id" = ? AND "u"."user_id" = ? AND "x" = ?"#, &[0, 0][..]),
            (r#"SELECT 1 FROM "t" WHERE "user_id" = ?"#, &[0, 0][..]),
            // A quote left open: the placeholders after it are not found.
            (r#"SELECT 1 FROM "t WHERE "user_id" = ? AND "u"."user_id" = ?"#, &[0, 0][..]),
        ] {
            assert!(matches!(tenant_once(rendered(sql, slots), Dialect::Sqlite), Err(Error::Internal { .. })));
        }
    }
}
