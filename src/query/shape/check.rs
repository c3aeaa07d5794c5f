//! The rules every shape meets before it is rendered.

use super::{ColRef, Node, SubShape, TableRef};
use crate::error::Error;
use crate::schema::TableInfo;

/// The rules a shape must meet before it is rendered, whatever built it. The typed API
/// cannot break them; this is the second wall for code that reaches hidden items or
/// implements a sealed trait by hand. It runs once per shape (results are cached).
pub(crate) struct Check {
    scoped: bool,
    pub(super) error: Option<Error>,
    /// Every table the statement touches, in visiting order (for routing in layouts).
    pub(crate) tables: smallvec::SmallVec<[&'static TableInfo; 4]>,
    /// Whether the statement has a subquery.
    pub(super) subquery: bool,
    /// Every table (and alias of one) the statement names, in visiting order.
    pub(super) refs: smallvec::SmallVec<[TableRef; 4]>,
}

impl Check {
    pub(crate) fn new(scoped: bool) -> Self {
        Check {
            scoped,
            error: None,
            tables: smallvec::SmallVec::new(),
            subquery: false,
            refs: smallvec::SmallVec::new(),
        }
    }
}

impl Check {
    pub(super) fn fail(&mut self, e: Error) {
        self.error.get_or_insert(e);
    }

    /// A table must be a registered declaration (checked when a database opens), and
    /// in a tenant-scoped statement it must have a tenant column.
    pub(super) fn table(&mut self, t: TableRef) {
        if !self.refs.contains(&t) {
            self.refs.push(t);
        }
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

    pub(super) fn column(&mut self, c: ColRef) {
        self.table(c.table);
        if usize::from(c.index) >= c.table.0.columns.len() {
            self.fail(Error::InvalidColumn { table: c.table.0.name });
        }
    }

    /// No statement assigns a tenant column (by index, or by a name SQLite would treat as
    /// the same column): ownership changes only through an explicit transfer.
    /// An upsert's conflict target must be the primary key or a declared unique key that
    /// leads with the tenant (not `#[unique(global)]`): a conflict on any other key could
    /// be with another tenant's row, and would update it.
    pub(super) fn conflict_key(&mut self, table: TableRef, key: &[u16]) {
        let info = table.0;
        let mut mine: Vec<usize> = key.iter().map(|&i| usize::from(i)).collect();
        mine.sort_unstable();
        let same = |cols: &[usize]| {
            let mut cols = cols.to_vec();
            cols.sort_unstable();
            cols == mine
        };
        let declared = same(&[info.primary_key]) || info.unique.iter().any(|u| !u.global && same(u.columns));
        if !declared {
            self.fail(Error::NoSuchUniqueKey { table: info.name });
        }
    }

    pub(super) fn assigned(&mut self, c: ColRef) {
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

    pub(super) fn node(&mut self, n: &Node) {
        match n {
            Node::Cmp(c, ..) | Node::In { col: c, .. } | Node::Like { col: c, .. } | Node::Null { col: c, .. } => {
                self.column(*c)
            }
            Node::RowCmp { cols, .. } => cols.iter().for_each(|c| self.column(*c)),
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

    pub(super) fn sub(&mut self, sub: &SubShape) {
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
