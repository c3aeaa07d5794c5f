//! [`PgDatabase::check_rls`]: whether row-level security really binds the application
//! role, and the catalogue queries it runs.

use tokio_postgres::{Client, GenericClient};

use crate::error::{Error, Result};

use super::PgDatabase;

impl PgDatabase {
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
        self.block(self.check_rls_async())
    }

    pub(crate) async fn check_rls_async(&self) -> Result<()> {
        let conn = self.tenants.get().await.map_err(|source| Error::PostgresPool { source })?;
        let client: &Client = &conn;
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
            .await
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
            check_relations(client, info.name, column).await?;
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
/// [`TableInfo::postgres_row_security`] creates, as a `format()` pattern: `%I` is the tenant column.
/// The server renders the stored policy from its parsed form, so any spelling of the same
/// policy renders alike and any other policy does not; `tests/postgres.rs` runs the
/// generated policy, respellings of it and altered ones through this comparison.
///
/// [`TableInfo::postgres_row_security`]: crate::TableInfo::postgres_row_security
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
pub(super) async fn check_relations(client: &Client, table: &'static str, column: &str) -> Result<()> {
    relations(client, table, column, true).await
}

/// The same checks of the table itself, without those of the connection's role (the
/// migration runner's, which is the owner).
pub(super) async fn check_policies(client: &impl GenericClient, table: &'static str, column: &str) -> Result<()> {
    relations(client, table, column, false).await
}

async fn relations(client: &impl GenericClient, table: &'static str, column: &str, roles: bool) -> Result<()> {
    let rows = client.query(RELATIONS_SQL, &[&table, &POLICY_EXPR, &column]).await.map_err(Error::Postgres)?;
    if !rows.first().is_some_and(|r| r.get::<_, bool>(0)) {
        return Err(Error::RlsBypassed { why: "the table does not exist", table: Some(table) });
    }
    let refuse = |why| Err(Error::RlsBypassed { why, table: Some(table) });
    for row in &rows {
        let child = !row.get::<_, bool>(0);
        if roles && row.get::<_, bool>(1) {
            return refuse(if child {
                "the role owns a child table or partition of the table; make the owner role own it"
            } else {
                "the role owns the table"
            });
        }
        if roles && row.get::<_, bool>(2) {
            return refuse(
                "the role may TRUNCATE the table (or a child), which ignores row-level security; \
                 REVOKE TRUNCATE (grant only SELECT, INSERT, UPDATE, DELETE)",
            );
        }
        if roles && row.get::<_, bool>(3) {
            return refuse(
                "the role may create triggers on the table (or a child), whose code then runs for whoever \
                 writes it, the admin role included; REVOKE TRIGGER (grant only SELECT, INSERT, UPDATE, DELETE)",
            );
        }
        if roles && row.get::<_, bool>(4) {
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
                 recreate it with postgres_schema's statements",
            );
        }
        if !expr {
            return refuse(
                "tenantry's policy does not compare the tenant column with the transaction's tenant \
                 for both reads and writes; recreate it with postgres_schema's statements",
            );
        }
    }
    Ok(())
}
