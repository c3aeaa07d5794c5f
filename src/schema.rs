//! Table declarations: what the derive knows about a table, and the DDL made from it.

use sea_query::{ColumnDef, Index, SqliteQueryBuilder, Table as SqTable};

use crate::error::{Error, Result};
use crate::tenant::TenantId;
use crate::value::SqlKind;

/// One column of a declared table.
#[derive(Debug)]
#[non_exhaustive]
pub struct ColumnInfo {
    /// Column name, as written in SQL.
    pub name: &'static str,
    /// Declared storage class.
    pub kind: SqlKind,
    /// Whether it accepts `NULL`.
    pub nullable: bool,
    /// Whether a stored value decodes as the field's Rust type (a `bool` column holds 0
    /// or 1, an `i32` column a value in range): checked on import, where values come
    /// from outside.
    pub(crate) accepts: fn(rusqlite::types::ValueRef<'_>) -> bool,
}

/// A unique constraint.
#[derive(Debug)]
#[non_exhaustive]
pub struct UniqueInfo {
    /// Indexes into [`TableInfo::columns`].
    pub columns: &'static [usize],
    /// `true` when declared `#[unique(global)]`: unique across tenants, without the tenant
    /// column. Off by default, because such a constraint reveals other tenants' values.
    pub global: bool,
}

/// Everything tenantry knows about a declared table. Built by `#[derive(Table)]`.
#[derive(Debug)]
#[non_exhaustive]
pub struct TableInfo {
    /// Table name.
    pub name: &'static str,
    /// Columns in declaration order, the tenant column included.
    pub columns: &'static [ColumnInfo],
    /// Index of the tenant column for an owned table; `None` for a global table.
    pub tenant: Option<usize>,
    /// Index of the primary-key column.
    pub primary_key: usize,
    /// Unique constraints.
    pub unique: &'static [UniqueInfo],
    /// Secondary indexes (column indexes, the tenant column not included: it is prepended).
    pub indexes: &'static [&'static [usize]],
    /// Indexes of an owned table declared `index_across_tenants(...)`: without the tenant
    /// column, for work that crosses tenants (a job queue's claim). They are never unique,
    /// so they constrain nothing and cannot reveal another tenant's rows.
    pub indexes_across_tenants: &'static [&'static [usize]],
    /// Rendered by-key statements, filled on first use.
    pub(crate) keyed: crate::rendered::KeyedShapes,
}

#[doc(hidden)]
impl TableInfo {
    pub const fn new(
        name: &'static str,
        columns: &'static [ColumnInfo],
        tenant: Option<usize>,
        primary_key: usize,
        unique: &'static [UniqueInfo],
        indexes: &'static [&'static [usize]],
    ) -> Self {
        TableInfo {
            name,
            columns,
            tenant,
            primary_key,
            unique,
            indexes,
            indexes_across_tenants: &[],
            keyed: crate::rendered::KeyedShapes::new(),
        }
    }

    /// The same declaration with indexes across tenants (see
    /// [`indexes_across_tenants`](TableInfo::indexes_across_tenants)).
    pub const fn with_indexes_across_tenants(mut self, indexes: &'static [&'static [usize]]) -> Self {
        self.indexes_across_tenants = indexes;
        self
    }
}

#[doc(hidden)]
impl ColumnInfo {
    pub const fn new(name: &'static str, kind: SqlKind, nullable: bool) -> Self {
        ColumnInfo { name, kind, nullable, accepts: |_| true }
    }

    /// A column of Rust type `V`.
    pub const fn of<V: crate::value::ColumnValue>(name: &'static str) -> Self {
        ColumnInfo { name, kind: V::KIND, nullable: V::NULLABLE, accepts: |v| V::from_sql(v).is_some() }
    }
}

#[doc(hidden)]
impl UniqueInfo {
    pub const fn new(columns: &'static [usize], global: bool) -> Self {
        UniqueInfo { columns, global }
    }
}

impl TableInfo {
    /// Whether the table is owned by a tenant.
    pub fn is_owned(&self) -> bool {
        self.tenant.is_some()
    }

    /// Name of the tenant column, for an owned table.
    pub fn tenant_column(&self) -> Option<&'static str> {
        self.tenant.map(|i| self.columns[i].name)
    }

    /// Columns a key or index spans: the tenant column first (for owned tables), then `cols`.
    pub(crate) fn scoped_columns(&self, cols: &[usize], global: bool) -> Vec<&'static str> {
        let tenant = if global { None } else { self.tenant };
        tenant.into_iter().chain(cols.iter().copied()).map(|i| self.columns[i].name).collect()
    }

    /// The SQLite DDL: `CREATE TABLE` then one `CREATE INDEX` per declared index.
    ///
    /// The primary key and every unique key of an owned table lead with the tenant column,
    /// so two tenants may hold the same ids without conflict and a conflict never reveals
    /// another tenant's row.
    pub fn sqlite_ddl(&self) -> Vec<String> {
        self.ddl_with::<SqliteQueryBuilder>(|def, kind| match kind {
            SqlKind::Text | SqlKind::Uuid => def.text(),
            SqlKind::Integer => def.integer(),
            SqlKind::Real => def.double(),
            SqlKind::Blob => def.blob(),
        })
    }

    /// `CREATE TABLE` and `CREATE INDEX` statements in `B`'s dialect, with `column_type`
    /// choosing each column's type: the one place both dialects' DDL is made.
    fn ddl_with<B: sea_query::backend::SchemaBuilder + Default>(
        &self,
        column_type: impl Fn(&mut ColumnDef, SqlKind) -> &mut ColumnDef,
    ) -> Vec<String> {
        let mut create = SqTable::create();
        create.table(self.name).if_not_exists();
        for column in self.columns {
            let mut def = ColumnDef::new(column.name);
            column_type(&mut def, column.kind);
            if !column.nullable {
                def.not_null();
            }
            create.col(def);
        }
        let mut pk = Index::create();
        for name in self.scoped_columns(&[self.primary_key], false) {
            pk.col(name);
        }
        create.primary_key(&mut pk);
        for unique in self.unique {
            let mut idx = Index::create();
            idx.unique();
            for name in self.scoped_columns(unique.columns, unique.global) {
                idx.col(name);
            }
            create.index(&mut idx);
        }
        let mut out = vec![create.to_string(B::default())];
        let scoped = self.indexes.iter().map(|cols| (cols, false));
        let across = self.indexes_across_tenants.iter().map(|cols| (cols, true));
        for (cols, across) in scoped.chain(across) {
            let names = self.scoped_columns(cols, across);
            let mut idx = Index::create();
            let marker = if across { "x_" } else { "" };
            idx.if_not_exists().name(format!("idx_{}_{marker}{}", self.name, names.join("_"))).table(self.name);
            for name in names {
                idx.col(name);
            }
            out.push(idx.to_string(B::default()));
        }
        out
    }
}

/// A result row: column values by position, as SQLite's value model (PostgreSQL rows are
/// converted into it, so one derive decodes rows of every engine).
#[doc(hidden)]
pub trait RowSource {
    /// The value at `index`.
    fn value(&self, index: usize) -> rusqlite::Result<rusqlite::types::ValueRef<'_>>;
}

impl RowSource for rusqlite::Row<'_> {
    #[inline]
    fn value(&self, index: usize) -> rusqlite::Result<rusqlite::types::ValueRef<'_>> {
        self.get_ref(index)
    }
}

impl TableInfo {
    /// The PostgreSQL DDL: `CREATE TABLE` (UUIDs as `uuid`, the tenant column leading the
    /// primary key and every unique key, so the table can be distributed by it) and one
    /// `CREATE INDEX` per declared index, leading with the tenant column.
    pub fn postgres_ddl(&self) -> Vec<String> {
        self.ddl_with::<sea_query::PostgresQueryBuilder>(|def, kind| match kind {
            SqlKind::Text => def.text(),
            SqlKind::Integer => def.big_integer(),
            SqlKind::Real => def.double(),
            SqlKind::Blob => def.binary(),
            SqlKind::Uuid => def.uuid(),
        })
    }

    /// Row-level security for an owned table (empty for a global one): `ENABLE` and
    /// `FORCE` (so even the owner is filtered), and one policy that admits a row, for
    /// reading and writing (`WITH CHECK`), only when its tenant column equals the
    /// transaction's `tenantry.tenant_id` setting. An unset or empty setting matches no
    /// row.
    pub fn postgres_row_security(&self) -> Vec<String> {
        let Some(col) = self.tenant_column() else { return Vec::new() };
        let setting = "NULLIF(current_setting('tenantry.tenant_id', true), '')::uuid";
        let (table, col) = (ident(self.name), ident(col));
        vec![
            format!("ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"),
            format!("ALTER TABLE {table} FORCE ROW LEVEL SECURITY"),
            format!("DROP POLICY IF EXISTS tenantry_tenant ON {table}"),
            format!(
                "CREATE POLICY tenantry_tenant ON {table} USING ({col} = {setting}) WITH CHECK ({col} = {setting})"
            ),
        ]
    }

    /// The Citus statement for this table, run after its DDL: an owned table is
    /// distributed by its tenant column (`create_distributed_table`; every owned table
    /// alike, so Citus co-locates one tenant's rows of every table on one worker, where
    /// tenantry's joins, which equate the tenant columns, run whole); a global table
    /// becomes a reference table (`create_reference_table`: a copy on every worker, so
    /// scoped statements may join it). [`Error::NotDistributable`] for an owned table
    /// with a `#[unique(global)]` key, which Citus cannot enforce across workers.
    /// tenantry does not run Citus; see the README for what Citus forwards and checks.
    pub fn citus_distribution(&self) -> Result<String, Error> {
        // Both arguments are text literals; declared names are plain identifiers (checked
        // when registered), so they hold no quote.
        let name = self.name;
        let invalid = Error::InvalidDeclaration { table: name, why: "a name is not a plain SQL identifier" };
        if !is_plain_ident(name) {
            return Err(invalid);
        }
        match self.tenant_column() {
            None => Ok(format!("SELECT create_reference_table('{name}')")),
            Some(_) if self.unique.iter().any(|u| u.global) => Err(Error::NotDistributable { table: name }),
            Some(col) if is_plain_ident(col) => Ok(format!("SELECT create_distributed_table('{name}', '{col}')")),
            Some(_) => Err(invalid),
        }
    }
}

/// Who a row is decoded for (opaque: what generated `__decode` impls pass along).
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct Reader<'a>(pub(crate) ReaderKind<'a>);

/// Who a row is decoded for.
#[derive(Clone, Copy)]
pub(crate) enum ReaderKind<'a> {
    /// A scoped statement: every row must carry this tenant.
    Tenant(&'a crate::tenant::Tenant),
    /// An audited cross-tenant statement: the stored tenant is taken as it is, and each
    /// id so minted reaches the audit hook.
    Admin(crate::tenant::AuditTag),
}

/// A declared table. Implemented by `#[derive(Table)]`; the derive's checks (ownership,
/// exactly one tenant column, one primary key) are what make the implementation sound.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tenantry table",
    note = "declare it with `#[derive(tenantry::Table)]` and `#[table(name = \"...\", owned)]` or `global`"
)]
pub trait Table: TableSeal + Sized + 'static {
    /// What the derive recorded about the table.
    const INFO: &'static TableInfo;
    /// Type of the primary-key column.
    type Key;
    /// The insert form: every column but the tenant column, which is set from the token.
    type New;

    #[doc(hidden)]
    fn __decode<R: RowSource + ?Sized>(row: &R, offset: usize, reader: Reader<'_>) -> Result<Self>;
    #[doc(hidden)]
    fn __push_new(new: Self::New, out: &mut crate::value::RowValues);
    #[doc(hidden)]
    fn __key(&self) -> crate::Value;
    /// The value of column `index` (the tenant column's as its UUID). The derive writes
    /// it; `NULL` for a hand-written impl (which no statement accepts anyway).
    #[doc(hidden)]
    fn __value(&self, index: usize) -> crate::Value {
        let _ = index;
        crate::Value::Null
    }
    #[doc(hidden)]
    fn __tenant(&self) -> Option<TenantId>;
}

/// A table whose rows each belong to one tenant (`#[table(owned)]`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tenant-owned table",
    note = "scoped statements, joins and subqueries take only tables declared `#[table(owned)]`; global tables need an `Admin` capability"
)]
pub trait Owned: Table + OwnedSeal {}

/// A table without a tenant column (`#[table(global)]`), reachable only through an
/// [`Admin`](crate::Admin) capability or the auth layer.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a global table",
    note = "tenant-owned tables are reached with a `TenantId`, e.g. `Table::select(&tenant)`"
)]
pub trait Global: Table + GlobalSeal {}

/// Decodes column `index` of `info` at result position `at`.
pub(crate) fn decode_column<V: crate::ColumnValue, R: RowSource + ?Sized>(
    row: &R,
    at: usize,
    info: &'static TableInfo,
    index: usize,
) -> Result<V> {
    let value = row.value(at)?;
    V::from_sql(value).ok_or_else(|| Error::Decode {
        table: info.name,
        column: info.columns[index].name,
        expected: V::EXPECTED,
    })
}

/// Decodes the tenant column: it must equal the reader's tenant, which is then returned
/// (a stored value never becomes a `TenantId` on a scoped path).
pub(crate) fn decode_tenant<R: RowSource + ?Sized>(
    row: &R,
    at: usize,
    info: &'static TableInfo,
    reader: ReaderKind<'_>,
) -> Result<TenantId> {
    let stored = row.value(at)?;
    let mismatch = || Error::TenantMismatch { table: info.name };
    match reader {
        ReaderKind::Tenant(t) => {
            if stored.as_bytes().ok() == Some(&t.text()[..]) {
                Ok(t.id)
            } else {
                Err(mismatch())
            }
        }
        ReaderKind::Admin(tag) => {
            let id = stored.as_bytes().ok().and_then(crate::tenant::parse_canonical_uuid).ok_or(Error::Decode {
                table: info.name,
                column: info.columns[info.tenant.unwrap_or(0)].name,
                expected: "tenant id",
            })?;
            tag.fire(crate::tenant::AuditAction::MintTenant { tenant: id });
            Ok(TenantId::from_trusted(id))
        }
    }
}

/// Implemented by the derive only. Code that implements these by hand is using hidden API;
/// the executor still refuses a table without a tenant column in a scoped statement.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not declared with `#[derive(tenantry::Table)]`",
    note = "tables are declared only by the derive, which checks ownership, the tenant column and the keys"
)]
pub trait TableSeal {}
/// See [`TableSeal`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not declared `#[table(owned)]`, so it cannot be marked `Owned`",
    note = "only the derive makes a table owned, with its `#[tenant]` column; a global table cannot join a tenant-scoped statement"
)]
pub trait OwnedSeal {}
/// See [`TableSeal`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not declared `#[table(global)]`, so it cannot be marked `Global`",
    note = "only the derive declares a table's ownership"
)]
pub trait GlobalSeal {}

// ---- identifiers: what a declaration may name, and how SQL text writes it ----

/// Longest identifier accepted (PostgreSQL's limit, so a name means the same on both).
pub(crate) const MAX_IDENT: usize = 63;

/// Table names the library's own tables use, and prefixes it keeps for itself. A
/// declaration over any of them is refused, like a table declared twice.
pub(crate) const RESERVED_TABLES: &[&str] = &[
    "users",
    "sessions",
    "login_tokens",
    "auth_rate_limits",
    "oauth_states",
    "tenantry_migrations",
    "tenantry_tenant_locations",
];
/// Prefixes no declared table may use: SQLite's internal tables and tenantry's own.
pub(crate) const RESERVED_PREFIXES: &[&str] = &["sqlite_", "tenantry_"];

/// Whether `name` is a plain SQL identifier: an ASCII letter or `_`, then ASCII letters,
/// digits or `_`, at most [`MAX_IDENT`] bytes.
pub(crate) fn is_plain_ident(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_IDENT
        && (bytes[0].is_ascii_alphabetic() || bytes[0] == b'_')
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// Whether `name` is reserved for the library's own tables.
pub(crate) fn is_reserved(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    RESERVED_TABLES.contains(&lower.as_str()) || RESERVED_PREFIXES.iter().any(|p| lower.starts_with(p))
}

/// The identifier quoted for SQLite and PostgreSQL: in double quotes, with any double
/// quote inside doubled, so whatever the name holds it stays one identifier.
pub(crate) fn ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Checks what a declaration says about itself: names, index bounds, the tenant column.
pub(crate) fn check_declaration(info: &'static TableInfo) -> Result<()> {
    let bad = |why: &'static str| Error::InvalidDeclaration { table: info.name, why };
    if !is_plain_ident(info.name) {
        return Err(bad("the table name is not a plain SQL identifier (ASCII letters, digits, `_`; at most 63 bytes)"));
    }
    if is_reserved(info.name) {
        return Err(Error::ReservedTable { table: info.name });
    }
    if info.columns.is_empty() {
        return Err(bad("it has no columns"));
    }
    for (i, column) in info.columns.iter().enumerate() {
        if !is_plain_ident(column.name) {
            return Err(bad(
                "a column name is not a plain SQL identifier (ASCII letters, digits, `_`; at most 63 bytes)",
            ));
        }
        if info.columns[..i].iter().any(|c| c.name.eq_ignore_ascii_case(column.name)) {
            return Err(bad("two columns have the same name"));
        }
    }
    let in_range = |i: usize| i < info.columns.len();
    if !in_range(info.primary_key)
        || info.tenant.is_some_and(|t| !in_range(t) || t == info.primary_key)
        || info.unique.iter().any(|u| u.columns.is_empty() || !u.columns.iter().all(|&c| in_range(c)))
        || info
            .indexes
            .iter()
            .chain(info.indexes_across_tenants)
            .any(|cols| cols.is_empty() || !cols.iter().all(|&c| in_range(c)))
    {
        return Err(bad("a key, index or tenant column is out of range"));
    }
    if let Some(t) = info.tenant {
        let column = &info.columns[t];
        if column.nullable || !matches!(column.kind, SqlKind::Uuid | SqlKind::Text) {
            return Err(bad("the tenant column must be a non-null tenant id"));
        }
        if info.unique.iter().any(|u| u.columns.contains(&t)) || info.indexes.iter().any(|cols| cols.contains(&t)) {
            return Err(bad("the tenant column is already part of every key and index"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod ident_tests {
    use super::*;

    #[test]
    fn quoting_keeps_a_hostile_name_one_identifier() {
        assert_eq!(ident("projects"), r#""projects""#);
        assert_eq!(ident(r#"main"."projects"#), r#""main"".""projects""#);
        assert_eq!(ident(r#"user_id" IS NOT NULL OR "user_id"#), r#""user_id"" IS NOT NULL OR ""user_id""#);
    }

    #[test]
    fn plain_identifiers_only() {
        for ok in ["projects", "_x", "a1_b2", &"a".repeat(63)] {
            assert!(is_plain_ident(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a b", "a\"b", "main.projects", "é", &"a".repeat(64), "a;", "a\0"] {
            assert!(!is_plain_ident(bad), "{bad:?}");
        }
    }

    /// The derive refuses reserved names at compile time from its own copy of these lists
    /// (a proc-macro crate cannot share a constant with the library): the copies must agree.
    #[test]
    fn the_derive_reserves_the_same_names() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/macros/src/valid.rs");
        let Ok(derive) = std::fs::read_to_string(path) else {
            eprintln!("skipped: {path} is not beside this crate");
            return;
        };
        let listed = |name: &str| -> Vec<String> {
            let start = derive.find(&format!("const {name}: &[&str] =")).expect("the list is in the derive");
            let list = &derive[start..];
            let list = &list[list.find('[').unwrap()..list.find(';').unwrap()];
            list.split('"').skip(1).step_by(2).map(str::to_owned).collect()
        };
        assert_eq!(listed("RESERVED_TABLES"), RESERVED_TABLES);
        assert_eq!(listed("RESERVED_PREFIXES"), RESERVED_PREFIXES);
    }

    #[test]
    fn reserved_names_ignore_case() {
        for name in ["users", "SESSIONS", "Login_Tokens", "OAuth_States", "tenantry_anything", "sqlite_master"] {
            assert!(is_reserved(name), "{name}");
        }
        assert!(!is_reserved("projects"));
        assert!(!is_reserved("user_settings"));
    }
}
