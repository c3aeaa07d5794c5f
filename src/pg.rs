//! PostgreSQL backend (feature `postgres`): the same statements, rendered for PostgreSQL,
//! with row-level security as a second wall.
//!
//! Every tenant-scoped statement runs in a transaction that first sets
//! `tenantry.tenant_id` with `set_config(.., true)` (local to that transaction, never a
//! session `SET`), so a pooled connection cannot carry one tenant's setting into another's
//! work. The policies from [`TableInfo::rls_postgres`] then filter every row by it, even if
//! a tenantry statement lost its tenant predicate, and for hand-written SQL run inside such
//! a transaction. They do not stop code that sends arbitrary SQL as the application role
//! from calling `set_config` itself. Cross-tenant statements ([`Admin`]) run only on a
//! separately configured connection ([`PgDatabase::with_admin`]).
//!
//! Role setup the application needs (see the README): an owner role that runs the DDL and
//! owns the database, a login role for the application granted only `SELECT, INSERT,
//! UPDATE, DELETE` (not a superuser, no `BYPASSRLS` or `CREATEROLE`, owning nothing), and,
//! for admin work, a separate role with `BYPASSRLS` (under `FORCE` the owner sees no row).
//! [`PgDatabase::check_rls`] fails loudly when the application role could get past the
//! policies.
//!
//! [`Admin`]: crate::Admin

use std::collections::HashMap;
use std::sync::Arc;

use bytes::BytesMut;
use postgres::fallible_iterator::FallibleIterator as _;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls, Statement};

use crate::error::{Error, Result};
use crate::query::run::{self, Binds, Engine};
use crate::query::shape::{Dialect, Rendered};
use crate::query::{Execute, Fetch, Plan, Scope};
use crate::schema::{RowSource, TableInfo};
use crate::value::Value;

/// A pooled connection with its prepared statements.
pub(crate) struct PgConn {
    client: Client,
    statements: HashMap<Arc<str>, Statement>,
}

struct Manager {
    config: postgres::Config,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = postgres::Error;
    fn connect(&self) -> std::result::Result<PgConn, postgres::Error> {
        Ok(PgConn { client: self.config.connect(NoTls)?, statements: HashMap::new() })
    }
    fn is_valid(&self, conn: &mut PgConn) -> std::result::Result<(), postgres::Error> {
        conn.client.simple_query("").map(drop)
    }
    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.client.is_closed()
    }
}

type Pool = r2d2::Pool<Manager>;

fn pool(url: &str, max: u32) -> Result<Pool> {
    let config: postgres::Config = url.parse().map_err(Error::Postgres)?;
    // No test query on checkout (a round trip per statement); a connection that broke is
    // found by `has_broken` when it is returned.
    r2d2::Pool::builder()
        .max_size(max.max(1))
        .test_on_check_out(false)
        .build(Manager { config })
        .map_err(|source| Error::PostgresPool { source })
}

/// A value bound to a PostgreSQL parameter, converted to the type the server expects.
struct Param<'a>(&'a Value);

impl std::fmt::Debug for Param<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Param")
    }
}

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        // Each value binds only to a type that holds it exactly; anything else is an error,
        // never bytes reinterpreted as another type.
        match (self.0, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Integer(i), t) if *t == Type::INT8 => i.to_sql(ty, out),
            (Value::Integer(i), t) if *t == Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
            (Value::Integer(i), t) if *t == Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
            (Value::Integer(i @ (0 | 1)), t) if *t == Type::BOOL => (*i == 1).to_sql(ty, out),
            (Value::Real(r), t) if *t == Type::FLOAT8 => r.to_sql(ty, out),
            (Value::Text(s), t) if [Type::TEXT, Type::VARCHAR, Type::BPCHAR, Type::NAME].contains(t) => {
                s.as_str().to_sql(ty, out)
            }
            (Value::Text(s), t) if *t == Type::UUID => uuid::Uuid::parse_str(s)?.to_sql(ty, out),
            (Value::Blob(b), t) if *t == Type::BYTEA => b.as_slice().to_sql(ty, out),
            (Value::Uuid(u), t) if *t == Type::UUID => u.to_sql(ty, out),
            (Value::Uuid(u), t) if [Type::TEXT, Type::VARCHAR].contains(t) => {
                u.hyphenated().to_string().to_sql(ty, out)
            }
            _ => Err(format!("a {} value cannot be bound to a parameter of type {ty}", kind_name(self.0)).into()),
        }
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Integer(_) => "integer",
        Value::Real(_) => "real",
        Value::Text(_) => "text",
        Value::Blob(_) => "blob",
        Value::Uuid(_) => "uuid",
    }
}

/// A PostgreSQL row in SQLite's value model, so the derive's decoding serves both engines.
struct PgRow(Vec<rusqlite::types::Value>);

impl RowSource for PgRow {
    fn value(&self, index: usize) -> rusqlite::Result<rusqlite::types::ValueRef<'_>> {
        self.0.get(index).map(rusqlite::types::ValueRef::from).ok_or(rusqlite::Error::InvalidColumnIndex(index))
    }
}

fn convert(row: &postgres::Row) -> Result<PgRow> {
    use rusqlite::types::Value as V;
    let mut out = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let ty = col.type_();
        let v = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i).map(|v| v.map_or(V::Null, V::Integer))
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i).map(|v| v.map_or(V::Null, |x| V::Integer(x.into())))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i).map(|v| v.map_or(V::Null, |x| V::Integer(x.into())))
        } else if *ty == Type::FLOAT8 {
            row.try_get::<_, Option<f64>>(i).map(|v| v.map_or(V::Null, V::Real))
        } else if *ty == Type::BYTEA {
            row.try_get::<_, Option<Vec<u8>>>(i).map(|v| v.map_or(V::Null, V::Blob))
        } else if *ty == Type::UUID {
            row.try_get::<_, Option<uuid::Uuid>>(i).map(|v| v.map_or(V::Null, |u| V::Text(u.hyphenated().to_string())))
        } else {
            row.try_get::<_, Option<String>>(i).map(|v| v.map_or(V::Null, V::Text))
        };
        out.push(v.map_err(Error::Postgres)?);
    }
    Ok(PgRow(out))
}

/// A PostgreSQL database: a pool for tenant-scoped work (through row-level security) and,
/// optionally, one for audited cross-tenant work.
#[derive(Clone)]
pub struct PgDatabase {
    tenants: Pool,
    admin: Option<Pool>,
}

impl std::fmt::Debug for PgDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgDatabase").finish_non_exhaustive()
    }
}

/// A unique violation (always within one tenant: keys lead with the tenant column) as
/// [`Error::Conflict`], like SQLite's; anything else as [`Error::Postgres`].
fn conflict_or(e: postgres::Error, table: &'static str) -> Error {
    if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) {
        Error::Conflict { table, source: Box::new(e) }
    } else {
        Error::Postgres(e)
    }
}

/// Prepared statements kept per connection; beyond this the cache starts over (IN lists
/// of many lengths are many statements).
const STATEMENT_CACHE: usize = 256;

/// Runs `sql` prepared (once per connection) with `params`.
fn prepared(
    tx: &mut postgres::Transaction<'_>,
    cache: &mut HashMap<Arc<str>, Statement>,
    sql: &str,
) -> Result<Statement> {
    if let Some(s) = cache.get(sql) {
        return Ok(s.clone());
    }
    let stmt = tx.prepare(sql).map_err(Error::Postgres)?;
    if cache.len() >= STATEMENT_CACHE {
        cache.clear();
    }
    cache.insert(Arc::from(sql), stmt.clone());
    Ok(stmt)
}

fn as_refs<'a>(params: &'a [Param<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

/// An open PostgreSQL transaction and its connection's prepared statements, as an
/// [`Engine`]: how a plan becomes statements is `query::run`, shared with SQLite.
struct Pg<'a, 'c> {
    tx: &'a mut postgres::Transaction<'c>,
    cache: &'a mut HashMap<Arc<str>, Statement>,
}

impl Pg<'_, '_> {
    /// The prepared statement and its parameters, the tenant's slot bound as a `uuid`.
    fn bound<'v>(
        &mut self,
        sql: &Rendered,
        binds: Binds<'v>,
        tenant: &'v Value,
    ) -> Result<(Statement, Vec<Param<'v>>)> {
        let stmt = prepared(self.tx, self.cache, &sql.sql)?;
        let ps = sql.slots.iter().map(|s| Param(binds.value(*s).unwrap_or(tenant))).collect();
        Ok((stmt, ps))
    }
}

impl Engine for Pg<'_, '_> {
    const DIALECT: Dialect = Dialect::Postgres;
    type Row<'r> = PgRow;

    fn query<F>(&mut self, sql: &Rendered, binds: Binds<'_>, mut each: F) -> Result<()>
    where
        F: for<'r> FnMut(&PgRow) -> Result<bool>,
    {
        let tenant = binds.scope.first_param();
        let (stmt, ps) = self.bound(sql, binds, &tenant)?;
        // Streamed: rows past the last one wanted are neither collected nor converted.
        let mut rows = self.tx.query_raw(&stmt, as_refs(&ps)).map_err(Error::Postgres)?;
        while let Some(row) = rows.next().map_err(Error::Postgres)? {
            if !each(&convert(&row)?)? {
                break;
            }
        }
        Ok(())
    }

    fn write(&mut self, sql: &Rendered, binds: Binds<'_>, table: &'static str) -> Result<usize> {
        let tenant = binds.scope.first_param();
        let (stmt, ps) = self.bound(sql, binds, &tenant)?;
        Ok(self.tx.execute(&stmt, &as_refs(&ps)).map_err(|e| conflict_or(e, table))? as usize)
    }

    fn write_raw(&mut self, sql: &'static str, values: &[Value]) -> Result<usize> {
        let ps: Vec<Param<'_>> = values.iter().map(Param).collect();
        Ok(self.tx.execute(sql, &as_refs(&ps)).map_err(Error::Postgres)? as usize)
    }

    /// Every statement runs inside a transaction already: its writes commit together.
    fn atomically<R>(&mut self, f: impl FnOnce(&mut Self) -> Result<R>) -> Result<R> {
        f(self)
    }
}

/// Several statements of one tenant in one PostgreSQL transaction (see
/// [`PgDatabase::transaction`]). A statement for another tenant, or a cross-tenant one, is
/// refused: the transaction's row-level-security setting is this tenant's.
pub struct PgTransaction<'a, 'c> {
    tx: &'a mut postgres::Transaction<'c>,
    cache: &'a mut HashMap<Arc<str>, Statement>,
    tenant: crate::TenantId,
    /// A statement failed on the server: PostgreSQL has aborted the transaction, and its
    /// `COMMIT` would be a rollback.
    aborted: bool,
}

impl std::fmt::Debug for PgTransaction<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTransaction").field("tenant", &self.tenant).finish_non_exhaustive()
    }
}

impl PgTransaction<'_, '_> {
    fn check(&self, plan: &Plan<'_>) -> Result<()> {
        match plan.tenant() {
            Some(t) if *t == self.tenant => Ok(()),
            _ => Err(Error::ForeignStatement),
        }
    }

    /// Notes an error that the server reported (it aborted the transaction), whether or
    /// not the caller goes on to handle it.
    fn note<T>(&mut self, out: Result<T>) -> Result<T> {
        if let Err(e) = &out {
            self.aborted |= aborts_transaction(e);
            forget_stale(self.cache, e);
        }
        out
    }

    /// All rows of a query.
    pub fn fetch_all<Q: Fetch>(&mut self, query: Q) -> Result<Vec<Q::Row>> {
        self.check(&query.__plan())?;
        let out = run::fetch_all(&mut Pg { tx: self.tx, cache: self.cache }, &query);
        self.note(out)
    }

    /// The first row of a query, or `None`.
    pub fn fetch_optional<Q: Fetch>(&mut self, query: Q) -> Result<Option<Q::Row>> {
        self.check(&query.__plan())?;
        let out = run::fetch_optional(&mut Pg { tx: self.tx, cache: self.cache }, &query);
        self.note(out)
    }

    /// The first row of a query, or [`Error::NotFound`].
    pub fn fetch_one<Q: Fetch>(&mut self, query: Q) -> Result<Q::Row> {
        self.fetch_optional(query)?.ok_or(Error::NotFound)
    }

    /// Runs an insert, update or delete of this tenant.
    pub fn execute<E: Execute>(&mut self, statement: E) -> Result<usize> {
        let plan = statement.__plan();
        self.check(&plan)?;
        let out = run::execute(&mut Pg { tx: self.tx, cache: self.cache }, &plan);
        self.note(out)
    }
}

/// Whether `e` was reported by the server, which aborts the transaction the statement ran
/// in. Errors found before anything was sent (a value of the wrong type, a statement for
/// another tenant, a row that does not decode) leave the transaction usable.
fn aborts_transaction(e: &Error) -> bool {
    match e {
        Error::Postgres(pe) => pe.as_db_error().is_some(),
        // Only ever a unique violation the server reported (`conflict_or`).
        Error::Conflict { .. } => true,
        _ => false,
    }
}

/// After a schema change or a `DEALLOCATE` this connection's prepared statements are
/// unusable: forget them, so the next use prepares afresh.
fn forget_stale(statements: &mut HashMap<Arc<str>, Statement>, e: &Error) {
    if let Error::Postgres(pe) = e
        && pe.code().is_some_and(|c| {
            *c == postgres::error::SqlState::FEATURE_NOT_SUPPORTED
                || *c == postgres::error::SqlState::INVALID_SQL_STATEMENT_NAME
        })
    {
        statements.clear();
    }
}

impl PgDatabase {
    /// Runs `f` in one transaction for `tenant` (the tenant set once, for the whole
    /// transaction): commits when it returns `Ok`, rolls back on `Err` or panic.
    ///
    /// PostgreSQL aborts a transaction at its first failed statement. If a statement
    /// inside failed on the server (a conflict, say) and `f` handled that error and
    /// returned `Ok`, nothing is committed and this returns [`Error::TransactionAborted`]:
    /// never `Ok` for work that was rolled back. (SQLite undoes only the failed statement;
    /// to keep going after an error on both engines, use a new transaction.)
    pub fn transaction<R>(
        &self,
        tenant: &crate::TenantId,
        f: impl FnOnce(&mut PgTransaction<'_, '_>) -> Result<R>,
    ) -> Result<R> {
        let scope = Scope::tenant(tenant);
        self.transaction_in(&scope, |tx, cache| {
            let mut t = PgTransaction { tx, cache, tenant: *tenant, aborted: false };
            let out = f(&mut t)?;
            if t.aborted {
                return Err(Error::TransactionAborted);
            }
            Ok(out)
        })
    }

    /// Connects the tenant pool (at most `max` connections) with the application's role,
    /// e.g. `postgres://app:secret@localhost/clips`.
    ///
    /// Like [`Database::open`](crate::Database::open), it first checks every declaration in
    /// the program (identifiers, reserved names, duplicates).
    pub fn connect(url: &str, max: u32) -> Result<Self> {
        crate::registry::check_registry()?;
        Ok(PgDatabase { tenants: pool(url, max)?, admin: None })
    }

    /// Adds the connection used for [`Admin`](crate::Admin) statements: a role with
    /// `BYPASSRLS` (or the owner), configured explicitly.
    pub fn with_admin(mut self, url: &str, max: u32) -> Result<Self> {
        self.admin = Some(pool(url, max)?);
        Ok(self)
    }

    /// Runs `f` in a transaction on the pool `scope` calls for, with the tenant set for
    /// that transaction only.
    fn transaction_in<R>(
        &self,
        scope: &Scope,
        f: impl FnOnce(&mut postgres::Transaction<'_>, &mut HashMap<Arc<str>, Statement>) -> Result<R>,
    ) -> Result<R> {
        let pool = match scope {
            Scope::Tenant(_) => &self.tenants,
            Scope::Admin(_) => self.admin.as_ref().ok_or(Error::NoAdminConnection)?,
        };
        let mut conn = pool.get().map_err(|source| Error::PostgresPool { source })?;
        let PgConn { client, statements } = &mut *conn;
        let mut tx = client.transaction().map_err(Error::Postgres)?;
        if let Scope::Tenant(t) = scope {
            // Prepared once per connection, like every other statement.
            let set = prepared(&mut tx, statements, "SELECT set_config('tenantry.tenant_id', $1, true)")?;
            tx.execute(&set, &[&t.id.to_string()]).map_err(Error::Postgres)?;
        }
        let out = match f(&mut tx, statements) {
            Ok(out) => out,
            Err(e) => {
                forget_stale(statements, &e);
                return Err(e);
            }
        };
        tx.commit().map_err(Error::Postgres)?;
        Ok(out)
    }

    /// All rows of a query.
    pub fn fetch_all<Q: Fetch>(&self, query: Q) -> Result<Vec<Q::Row>> {
        let plan = query.__plan();
        self.transaction_in(plan.scope, |tx, cache| run::fetch_all(&mut Pg { tx, cache }, &query))
    }

    /// The first row of a query, or `None`; the rest of the result is not read.
    pub fn fetch_optional<Q: Fetch>(&self, query: Q) -> Result<Option<Q::Row>> {
        let plan = query.__plan();
        self.transaction_in(plan.scope, |tx, cache| run::fetch_optional(&mut Pg { tx, cache }, &query))
    }

    /// The first row of a query, or [`Error::NotFound`].
    pub fn fetch_one<Q: Fetch>(&self, query: Q) -> Result<Q::Row> {
        self.fetch_optional(query)?.ok_or(Error::NotFound)
    }

    /// Runs an insert, update, delete or raw statement (raw SQL in PostgreSQL's dialect,
    /// `$1`-style parameters); returns the rows changed.
    pub fn execute<E: Execute>(&self, statement: E) -> Result<usize> {
        let plan = statement.__plan();
        self.transaction_in(plan.scope, |tx, cache| run::execute(&mut Pg { tx, cache }, &plan))
    }

    /// Fails loudly unless row-level security really binds the tenant connection's role.
    ///
    /// Refused, each with an [`Error::RlsBypassed`] that names the fix: a role that is (or
    /// is a member of) a superuser, a `BYPASSRLS` role or a `CREATEROLE` role; a role that
    /// owns an owned table or the database; a role that may `TRUNCATE`, `TRIGGER` or
    /// `REFERENCES` an owned table; an owned table without `ENABLE` and `FORCE ROW LEVEL
    /// SECURITY`, or whose only policy is not exactly tenantry's (compared as PostgreSQL
    /// renders it: what it tests, for reads and writes, permissive, for every command and
    /// role); and a child table or partition of an owned table that fails any of this.
    pub fn check_rls(&self) -> Result<()> {
        let mut conn = self.tenants.get().map_err(|source| Error::PostgresPool { source })?;
        let client = &mut conn.client;
        // Membership counts: a role that can act as a superuser, a BYPASSRLS role, a
        // CREATEROLE role or the table's owner gets past the policies too.
        let role = client
            .query_one(
                "SELECT
                   EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolsuper AND pg_has_role(current_user, r.oid, 'MEMBER')),
                   EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolbypassrls AND pg_has_role(current_user, r.oid, 'MEMBER')),
                   EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolcreaterole AND pg_has_role(current_user, r.oid, 'MEMBER')),
                   COALESCE((SELECT pg_has_role(current_user, d.datdba, 'MEMBER')
                             FROM pg_database d WHERE d.datname = current_database()), false)",
                &[],
            )
            .map_err(Error::Postgres)?;
        if role.get::<_, bool>(0) {
            return Err(Error::RlsBypassed { why: "the role is a superuser", table: None });
        }
        if role.get::<_, bool>(1) {
            return Err(Error::RlsBypassed { why: "the role has BYPASSRLS", table: None });
        }
        if role.get::<_, bool>(2) {
            return Err(Error::RlsBypassed {
                why: "the role has CREATEROLE, so it can grant itself the owner's or a BYPASSRLS role; \
                      ALTER ROLE .. NOCREATEROLE (and leave it out of CREATEROLE roles)",
                table: None,
            });
        }
        for info in crate::owned_tables() {
            let Some(column) = info.tenant_column() else { continue };
            check_relations(client, info.name, column)?;
        }
        if role.get::<_, bool>(3) {
            return Err(Error::RlsBypassed {
                why: "the role owns the database, so it can create schemas and objects the tables' users resolve; \
                      make the owner role own it (ALTER DATABASE .. OWNER TO ..)",
                table: None,
            });
        }
        Ok(())
    }
}

/// PostgreSQL's rendering (`pg_get_expr`) of both expressions of the policy that
/// [`TableInfo::rls_postgres`] creates, as a `format()` pattern: `%I` is the tenant column.
/// The server renders the stored policy from its parsed form, so any spelling of the same
/// policy renders alike and any other policy does not; `tests/postgres.rs` runs the
/// generated policy, respellings of it and altered ones through this comparison.
const POLICY_EXPR: &str = "(%I = (NULLIF(current_setting('tenantry.tenant_id'::text, true), ''::text))::uuid)";

/// What `check_relations` reads about an owned table and each table that inherits from it
/// (children and partitions, at any depth), the owned table first.
const RELATIONS_SQL: &str = "
    WITH RECURSIVE tree(oid, root) AS (
        SELECT c.oid, true FROM pg_class c WHERE c.oid = to_regclass(quote_ident($1))
      UNION
        SELECT i.inhrelid, false FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid
    ), mine AS (
        SELECT r.oid FROM pg_roles r WHERE pg_has_role(current_user, r.oid, 'MEMBER')
    )
    SELECT t.root,
           pg_has_role(current_user, c.relowner, 'MEMBER'),
           EXISTS (SELECT 1 FROM mine m WHERE has_table_privilege(m.oid, c.oid, 'TRUNCATE')),
           EXISTS (SELECT 1 FROM mine m WHERE has_table_privilege(m.oid, c.oid, 'TRIGGER')),
           EXISTS (SELECT 1 FROM mine m WHERE has_any_column_privilege(m.oid, c.oid, 'REFERENCES')),
           c.relrowsecurity AND c.relforcerowsecurity,
           (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid),
           EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenantry_tenant'),
           EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenantry_tenant'
                     AND p.polpermissive AND p.polcmd = '*' AND p.polroles = '{0}'::oid[]),
           EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenantry_tenant'
                     AND pg_get_expr(p.polqual, p.polrelid) = format($2, $3::text)
                     AND pg_get_expr(p.polwithcheck, p.polrelid) = format($2, $3::text))
    FROM tree t JOIN pg_class c ON c.oid = t.oid
    ORDER BY t.root DESC";

/// Checks one owned table, and every child table or partition of it, for `check_rls`.
fn check_relations(client: &mut Client, table: &'static str, column: &str) -> Result<()> {
    let rows = client.query(RELATIONS_SQL, &[&table, &POLICY_EXPR, &column]).map_err(Error::Postgres)?;
    if !rows.first().is_some_and(|r| r.get::<_, bool>(0)) {
        return Err(Error::RlsBypassed { why: "the table does not exist", table: Some(table) });
    }
    let refuse = |why| Err(Error::RlsBypassed { why, table: Some(table) });
    for row in &rows {
        let child = !row.get::<_, bool>(0);
        if row.get::<_, bool>(1) {
            return refuse(if child {
                "the role owns a child table or partition of the table; make the owner role own it"
            } else {
                "the role owns the table"
            });
        }
        if row.get::<_, bool>(2) {
            return refuse(
                "the role may TRUNCATE the table (or a child), which ignores row-level security; \
                 REVOKE TRUNCATE (grant only SELECT, INSERT, UPDATE, DELETE)",
            );
        }
        if row.get::<_, bool>(3) {
            return refuse(
                "the role may create triggers on the table (or a child), whose code then runs for whoever \
                 writes it, the admin role included; REVOKE TRIGGER (grant only SELECT, INSERT, UPDATE, DELETE)",
            );
        }
        if row.get::<_, bool>(4) {
            return refuse(
                "the role may reference the table (or a child) from a foreign key, whose checks see every \
                 tenant's keys; REVOKE REFERENCES (grant only SELECT, INSERT, UPDATE, DELETE)",
            );
        }
        let forced = row.get::<_, bool>(5);
        let only_one = row.get::<_, i64>(6) == 1 && row.get::<_, bool>(7);
        let kind = row.get::<_, bool>(8);
        let expr = row.get::<_, bool>(9);
        if child && !(forced && only_one && kind && expr) {
            return refuse(
                "a child table or partition of the table lacks row-level security enabled and forced with \
                 tenantry's policy; run the same ENABLE, FORCE and CREATE POLICY statements on it",
            );
        }
        if !forced {
            return refuse("row-level security is not enabled and forced");
        }
        // Exactly tenantry's policy: any other permissive policy would widen it.
        if !only_one {
            return refuse("the table has policies other than tenantry's; drop them");
        }
        if !kind {
            return refuse(
                "tenantry's policy is not permissive for all commands and all roles; \
                 recreate it with schema_postgres's statements",
            );
        }
        if !expr {
            return refuse(
                "tenantry's policy does not compare the tenant column with the transaction's tenant \
                 for both reads and writes; recreate it with schema_postgres's statements",
            );
        }
    }
    Ok(())
}

/// The PostgreSQL schema for `tables`: DDL, then row-level security for owned ones. Run
/// it as the owner role; then grant the application role `SELECT, INSERT, UPDATE, DELETE`.
pub fn schema_postgres(tables: &[&'static TableInfo]) -> Vec<String> {
    tables.iter().flat_map(|t| t.ddl_postgres().into_iter().chain(t.rls_postgres())).collect()
}

impl crate::query::sealed::Executor for PgDatabase {}
impl crate::Executor for PgDatabase {
    fn fetch_all<Q: Fetch>(&self, query: Q) -> Result<Vec<Q::Row>> {
        PgDatabase::fetch_all(self, query)
    }
    fn fetch_optional<Q: Fetch>(&self, query: Q) -> Result<Option<Q::Row>> {
        PgDatabase::fetch_optional(self, query)
    }
    fn execute<E: Execute>(&self, statement: E) -> Result<usize> {
        PgDatabase::execute(self, statement)
    }
}
