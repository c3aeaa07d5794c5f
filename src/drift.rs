//! Schema drift: how a live SQLite table differs from its declaration, in words a person
//! can act on ("`projects.thumbnail`: declared, not in the database: add a migration"),
//! with the migration text for a plain additive change as a suggestion (never applied).

use rusqlite::Connection;

use crate::error::Result;
use crate::schema::{TableInfo, ident};
use crate::value::SqlKind;

/// One way a live table differs from its declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Drift {
    /// The declared table.
    pub table: &'static str,
    /// What differs.
    pub kind: DriftKind,
    /// The migration that would make the database match, for a plain additive change (a
    /// new nullable column, a new index); `None` where a person must decide (a type
    /// change, a new `NOT NULL` column on a table that may hold rows).
    pub suggestion: Option<String>,
}

/// What differs between a live table and its declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DriftKind {
    /// A declared column the table does not have.
    MissingColumn {
        /// The column.
        column: &'static str,
    },
    /// A column the table has and the declaration does not, `NOT NULL` without a default:
    /// every insert tenantry makes would fail. (Extra columns that accept `NULL` or have a
    /// default are left alone.)
    UndeclaredRequiredColumn {
        /// The column, as the database names it.
        column: String,
    },
    /// The column's storage (SQLite's type affinity) differs.
    ColumnType {
        /// The column.
        column: &'static str,
        /// The declared affinity (`TEXT`, `INTEGER`, `REAL`, `BLOB`).
        declared: &'static str,
        /// The live column's declared type, as the database has it.
        live: String,
    },
    /// The column accepts `NULL` in one and not in the other.
    Nullability {
        /// The column.
        column: &'static str,
        /// Whether the declaration accepts `NULL`.
        declared_nullable: bool,
    },
    /// The primary key's columns differ.
    PrimaryKey {
        /// Declared, in order (the tenant column first for an owned table).
        declared: Vec<&'static str>,
        /// Live, in order.
        live: Vec<String>,
    },
    /// PostgreSQL only: the owned table's row-level security is not tenantry's (not
    /// enabled and forced, another policy beside it, a policy that tests something else),
    /// or a role could get past it. The sentence says what and how to fix it.
    RowSecurity {
        /// What is wrong, and the fix.
        why: &'static str,
    },
    /// PostgreSQL only (SQLite refuses to open such a table, `Error::SchemaMismatch`): the
    /// tenant column does not lead the primary key or a unique key not declared global, so
    /// one tenant's rows can collide with another's.
    TenantKeys {
        /// What is wrong.
        why: &'static str,
    },
    /// A declared unique key or index (columns in order) the table does not have.
    MissingIndex {
        /// Its columns, in order.
        columns: Vec<&'static str>,
        /// Whether it is a unique key.
        unique: bool,
    },
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = self.table;
        match &self.kind {
            DriftKind::MissingColumn { column } => {
                write!(f, "{t}.{column}: declared, not in the database: add a migration")
            }
            DriftKind::UndeclaredRequiredColumn { column } => write!(
                f,
                "{t}.{column}: in the database as NOT NULL without a default, not declared: inserts would fail; \
                 declare it, or give it a default"
            ),
            DriftKind::ColumnType { column, declared, live } => {
                write!(f, "{t}.{column}: declared {declared}, the database has {live:?}: migrate the column")
            }
            DriftKind::Nullability { column, declared_nullable: true } => {
                write!(f, "{t}.{column}: declared nullable (Option), NOT NULL in the database")
            }
            DriftKind::Nullability { column, declared_nullable: false } => {
                write!(f, "{t}.{column}: declared NOT NULL, nullable in the database")
            }
            DriftKind::PrimaryKey { declared, live } => {
                write!(f, "{t}: primary key declared ({}), the database has ({})", declared.join(", "), live.join(", "))
            }
            DriftKind::RowSecurity { why } => write!(f, "{t}: row-level security: {why}"),
            DriftKind::TenantKeys { why } => write!(f, "{t}: {why}"),
            DriftKind::MissingIndex { columns, unique } => write!(
                f,
                "{t}: {} ({}) declared, not in the database: add a migration",
                if *unique { "unique key" } else { "index" },
                columns.join(", ")
            ),
        }?;
        if let Some(sql) = &self.suggestion {
            write!(f, "\n    suggested: {sql};")?;
        }
        Ok(())
    }
}

/// SQLite's type affinity of a declared column type (the rules of "Datatypes In SQLite",
/// 3.1), which is what decides how values are stored.
fn affinity(declared: &str) -> &'static str {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        "INTEGER"
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        "TEXT"
    } else if t.is_empty() || t.contains("BLOB") {
        "BLOB"
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        "REAL"
    } else {
        "NUMERIC"
    }
}

fn declared_affinity(kind: SqlKind) -> &'static str {
    match kind {
        SqlKind::Text | SqlKind::Uuid => "TEXT",
        SqlKind::Integer => "INTEGER",
        SqlKind::Real => "REAL",
        SqlKind::Blob => "BLOB",
    }
}

/// A live column, as the engine's catalogue has it.
pub(crate) struct LiveColumn {
    pub(crate) name: String,
    /// The declared type: SQLite's as written, PostgreSQL's `format_type`.
    pub(crate) declared_type: String,
    pub(crate) not_null: bool,
    pub(crate) has_default: bool,
    /// Position in the primary key, from 1; 0 when not in it.
    pub(crate) pk_position: i64,
}

/// What an engine's catalogue says about a table: its columns, and every index on it
/// (the primary key's and unique constraints' included) as whether unique and its columns
/// in order.
pub(crate) struct LiveTable {
    pub(crate) columns: Vec<LiveColumn>,
    pub(crate) indexes: Vec<(bool, Vec<String>)>,
}

/// Where a table lives, for the type comparison and the suggested SQL.
#[derive(Clone, Copy)]
pub(crate) enum Engine {
    Sqlite,
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Postgres,
}

impl Engine {
    fn declared_type(self, kind: SqlKind) -> &'static str {
        match self {
            Engine::Sqlite => declared_affinity(kind),
            Engine::Postgres => match kind {
                SqlKind::Text => "text",
                SqlKind::Integer => "bigint",
                SqlKind::Real => "double precision",
                SqlKind::Blob => "bytea",
                SqlKind::Uuid => "uuid",
            },
        }
    }

    fn same_type(self, kind: SqlKind, live: &str) -> bool {
        match self {
            Engine::Sqlite => affinity(live) == declared_affinity(kind),
            Engine::Postgres => live == self.declared_type(kind),
        }
    }

    fn ddl(self, info: &TableInfo) -> Vec<String> {
        match self {
            Engine::Sqlite => info.sqlite_ddl(),
            Engine::Postgres => info.postgres_ddl(),
        }
    }
}

/// How `info`'s live table differs from it; empty when they agree or the table does not
/// exist yet (it is created from the declaration).
pub(crate) fn table_drift(conn: &Connection, info: &'static TableInfo) -> Result<Vec<Drift>> {
    let columns: Vec<LiveColumn> = conn
        .prepare(&format!("PRAGMA table_info({})", ident(info.name)))?
        .query_map([], |r| {
            Ok(LiveColumn {
                name: r.get(1)?,
                declared_type: r.get(2)?,
                not_null: r.get(3)?,
                has_default: r.get::<_, Option<String>>(4)?.is_some(),
                pk_position: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    if columns.is_empty() {
        return Ok(Vec::new());
    }
    let indexes = indexes(conn, info.name)?;
    Ok(compare(info, &LiveTable { columns, indexes }, Engine::Sqlite))
}

/// How the live table differs from the declaration, on either engine.
pub(crate) fn compare(info: &'static TableInfo, live: &LiveTable, engine: Engine) -> Vec<Drift> {
    let mut out = Vec::new();
    let mut drift = |kind, suggestion| out.push(Drift { table: info.name, kind, suggestion });
    let find = |name: &str| live.columns.iter().find(|c| c.name.eq_ignore_ascii_case(name));
    for column in info.columns {
        let declared = engine.declared_type(column.kind);
        match find(column.name) {
            None => {
                // A new column can be added in place when it accepts NULL (existing rows
                // get NULL); a NOT NULL one needs a value for them, which a person picks.
                let suggestion = column
                    .nullable
                    .then(|| format!("ALTER TABLE {} ADD COLUMN {} {declared}", ident(info.name), ident(column.name)));
                drift(DriftKind::MissingColumn { column: column.name }, suggestion);
            }
            Some(c) => {
                if !engine.same_type(column.kind, &c.declared_type) {
                    drift(DriftKind::ColumnType { column: column.name, declared, live: c.declared_type.clone() }, None);
                }
                // SQLite reports a primary-key column as nullable unless declared NOT NULL;
                // tenantry declares every key column NOT NULL.
                if c.not_null == column.nullable {
                    drift(DriftKind::Nullability { column: column.name, declared_nullable: column.nullable }, None);
                }
            }
        }
    }
    for c in &live.columns {
        let declared = info.columns.iter().any(|d| d.name.eq_ignore_ascii_case(&c.name));
        if !declared && c.not_null && !c.has_default && c.pk_position == 0 {
            drift(DriftKind::UndeclaredRequiredColumn { column: c.name.clone() }, None);
        }
    }
    let declared_pk = info.scoped_columns(&[info.primary_key], false);
    let mut live_pk: Vec<&LiveColumn> = live.columns.iter().filter(|c| c.pk_position > 0).collect();
    live_pk.sort_by_key(|c| c.pk_position);
    let live_pk: Vec<String> = live_pk.into_iter().map(|c| c.name.clone()).collect();
    if !same_columns(&declared_pk, &live_pk) {
        drift(DriftKind::PrimaryKey { declared: declared_pk, live: live_pk }, None);
    }
    let ddl = engine.ddl(info);
    let declared_indexes = info
        .unique
        .iter()
        .map(|u| (info.scoped_columns(u.columns, u.global), true))
        .chain(info.indexes.iter().map(|cols| (info.scoped_columns(cols, false), false)))
        .chain(info.indexes_across_tenants.iter().map(|cols| (info.scoped_columns(cols, true), false)));
    for (columns, unique) in declared_indexes {
        // A unique key is also served by an index on the same columns only if it is
        // unique; a plain index by any index on them.
        let present = live.indexes.iter().any(|(u, cols)| same_columns(&columns, cols) && (*u || !unique));
        if !present {
            // The declaration's own CREATE INDEX (a unique key is a table constraint:
            // written here as a unique index, which both engines treat alike).
            let suggestion = if unique {
                Some(format!(
                    "CREATE UNIQUE INDEX IF NOT EXISTS {} ON {} ({})",
                    ident(&format!("uq_{}_{}", info.name, columns.join("_"))),
                    ident(info.name),
                    columns.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ")
                ))
            } else {
                ddl.iter().skip(1).find(|sql| sql.contains(&format!("({})", quoted_list(&columns)))).cloned()
            };
            drift(DriftKind::MissingIndex { columns, unique }, suggestion);
        }
    }
    out
}

/// `"a", "b"`: how sea-query lists index columns.
fn quoted_list(columns: &[&str]) -> String {
    columns.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ")
}

fn same_columns(declared: &[&str], live: &[String]) -> bool {
    declared.len() == live.len() && declared.iter().zip(live).all(|(d, l)| d.eq_ignore_ascii_case(l))
}

/// Every index on `table` (the primary key's and unique constraints' included):
/// whether unique, and its columns in order.
fn indexes(conn: &Connection, table: &str) -> Result<Vec<(bool, Vec<String>)>> {
    let list: Vec<(String, bool)> = conn
        .prepare(&format!("PRAGMA index_list({})", ident(table)))?
        .query_map([], |r| Ok((r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::with_capacity(list.len());
    for (name, unique) in list {
        let cols: Vec<String> = conn
            .prepare(&format!("PRAGMA index_info({})", ident(&name)))?
            .query_map([], |r| r.get::<_, Option<String>>(2))?
            .map(|c| c.map(Option::unwrap_or_default))
            .collect::<rusqlite::Result<_>>()?;
        out.push((unique, cols));
    }
    Ok(out)
}

/// How every declared table that exists on `conn` differs from its declaration.
pub(crate) fn schema_drift(conn: &Connection) -> Result<Vec<Drift>> {
    let mut out = Vec::new();
    for info in crate::tables() {
        out.extend(table_drift(conn, info)?);
    }
    Ok(out)
}
