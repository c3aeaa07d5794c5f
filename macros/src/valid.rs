//! Checks on a declaration; every failure says how to fix it.

use crate::ast::Table;
use crate::attr::{Errors, Ownership};

/// Generated associated functions; a field with one of these names would clash.
const RESERVED: &[&str] = &[
    "select",
    "get",
    "insert",
    "insert_many",
    "upsert",
    "update",
    "delete",
    "delete_by_key",
    "subquery",
    "admin_select",
    "admin_update",
    "admin_delete",
    "admin_insert",
];

pub(crate) fn check(table: &Table<'_>, errors: &mut Errors) {
    if !table.input.generics.params.is_empty() {
        errors.at(&table.input.generics, "a tenantry table cannot be generic");
    }
    let ident = table.ident;
    match table.attr.ownership.as_slice() {
        [] => errors.at(
            ident,
            format!(
                "`{ident}` does not declare who owns its rows: add `#[table(name = \"...\", owned)]` for per-tenant rows (with one `#[tenant]` field) or `#[table(name = \"...\", global)]` for a table without a tenant"
            ),
        ),
        [_] => {}
        [_, (_, second), ..] => errors.at(second, "declare either `owned` or `global`, once"),
    }
    if table.attr.seen && table.name().is_none() {
        errors.at(ident, "add the SQL table name: `#[table(name = \"...\", ...)]`");
    }
    if let Some(name) = table.name()
        && !is_sql_identifier(&name.value())
    {
        errors.at(
            name,
            "a table name must be a plain SQL identifier: ASCII letters, digits and `_`, not starting with a digit, at most 63 bytes",
        );
    }
    if let Some(name) = table.name()
        && is_reserved_table(&name.value())
    {
        errors.at(
            name,
            format!(
                "`{}` is reserved for tenantry's own tables (users, sessions, login tokens, OAuth sign-ins, tenant locations); reach accounts through `tenantry::auth`, and name your table otherwise (no `tenantry_` or `sqlite_` prefix)",
                name.value()
            ),
        );
    }

    let tenants: Vec<_> = table.fields.iter().filter_map(|f| f.attr.tenant.as_ref()).collect();
    match (table.ownership(), tenants.as_slice()) {
        (Some(Ownership::Owned), []) => errors.at(
            ident,
            format!("owned table `{ident}` needs exactly one `#[tenant]` field of type `tenantry::TenantId`, e.g. `#[tenant] user_id: TenantId`; or declare the table `global`"),
        ),
        (Some(Ownership::Owned), [_, extra @ ..]) => {
            for t in extra {
                errors.at(t, "a table has exactly one tenant column: remove this second `#[tenant]`");
            }
        }
        (Some(Ownership::Global), found) => {
            for t in found {
                errors.at(t, "a `global` table has no tenant column: remove `#[tenant]`, or declare the table `owned`");
            }
        }
        _ => {}
    }

    let keys: Vec<_> = table.fields.iter().filter_map(|f| f.attr.primary_key.as_ref()).collect();
    match keys.as_slice() {
        [] => errors.at(ident, format!("`{ident}` needs one `#[primary_key]` field")),
        [_] => {}
        [_, extra @ ..] => {
            for k in extra {
                errors.at(k, "one `#[primary_key]` per table (the tenant column is added to it automatically)");
            }
        }
    }

    for field in &table.fields {
        let a = &field.attr;
        if let Some(t) = &a.tenant
            && (a.primary_key.is_some() || a.unique.is_some() || a.index)
        {
            errors.at(
                t,
                "the tenant column takes no other attribute: tenantry already leads every key and index with it",
            );
        }
        let name = field.ident.to_string();
        if RESERVED.contains(&name.as_str()) {
            errors.at(
                field.ident,
                format!("a field named `{name}` would clash with the generated `{ident}::{name}` statement constructor; rename the field"),
            );
        }
        if !is_sql_identifier(name.trim_start_matches("r#")) {
            errors.at(
                field.ident,
                "a column name must be a plain SQL identifier: ASCII letters, digits and `_`, at most 63 bytes",
            );
        }
    }

    // SQLite compares identifiers without case: `USER_ID` is the tenant column `user_id`.
    for (i, a) in table.fields.iter().enumerate() {
        let a_name = a.ident.to_string();
        for b in &table.fields[..i] {
            let b_name = b.ident.to_string();
            if a_name.trim_start_matches("r#").eq_ignore_ascii_case(b_name.trim_start_matches("r#")) {
                errors.at(
                    a.ident,
                    format!(
                        "`{a_name}` and `{b_name}` name the same SQL column (SQLite ignores case in names); rename one"
                    ),
                );
            }
        }
    }

    for (keyword, cols) in &table.attr.cross_indexes {
        if table.ownership() == Some(Ownership::Global) {
            errors.at(
                keyword,
                "a `global` table has no tenant column, so every index is across tenants already: use `index(...)`",
            );
        }
        if cols.is_empty() {
            errors.at(keyword, "`index_across_tenants(...)` needs at least one column");
        }
        for col in cols {
            match table.position(col) {
                None => errors.at(col, format!("`{col}` is not a field of `{ident}`")),
                Some(i) if Some(i) == table.tenant() => errors.at(
                    col,
                    "an index across tenants leaves the tenant column out; for one that leads with it, use `index(...)`",
                ),
                Some(_) => {}
            }
        }
    }

    for cols in &table.attr.indexes {
        if cols.is_empty() {
            errors.at(ident, "`index(...)` needs at least one column");
        }
        for col in cols {
            match table.position(col) {
                None => errors.at(col, format!("`{col}` is not a field of `{ident}`")),
                Some(i) if Some(i) == table.tenant() => {
                    errors.at(col, "leave the tenant column out of `index(...)`: it leads every index already")
                }
                Some(_) => {}
            }
        }
    }
}

/// The library refuses these at open too (`tenantry::Error::ReservedTable`): keep the
/// lists in step with `RESERVED_TABLES` in the library's `src/schema.rs`.
const RESERVED_TABLES: &[&str] = &[
    "users",
    "sessions",
    "login_tokens",
    "auth_rate_limits",
    "oauth_states",
    "tenantry_migrations",
    "tenantry_tenant_locations",
];
const RESERVED_PREFIXES: &[&str] = &["sqlite_", "tenantry_"];

fn is_reserved_table(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    RESERVED_TABLES.contains(&lower.as_str()) || RESERVED_PREFIXES.iter().any(|p| lower.starts_with(p))
}

/// A plain SQL identifier of at most 63 bytes (PostgreSQL's limit, so a name means the
/// same on both engines).
fn is_sql_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    s.len() <= 63
        && matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
