//! PostgreSQL test helpers: connection URLs from `.ci/run`, and the seed schema.

use postgres::{Client, NoTls};
use tenantry::{Table, postgres_schema};

use super::{ExportJob, Project, Setting, WorkingClip};

/// The roles `.ci/run` creates: a URL each, and the role names taken from those URLs
/// (never hard-coded, so the tests run against any roles the environment names).
pub struct Urls {
    pub owner: String,
    pub app: String,
    pub admin: String,
    pub superuser: String,
    /// The application role's name, quoted for SQL.
    pub app_role: String,
    /// The admin (`BYPASSRLS`) role's name, quoted for SQL.
    pub admin_role: String,
    /// The owner role's name, quoted for SQL.
    pub owner_role: String,
}

/// The user a connection URL logs in as, quoted as an SQL identifier.
pub fn role_of(url: &str) -> String {
    let config: postgres::Config = url.parse().expect("TENANTRY_PG_*_URL is a valid PostgreSQL URL");
    let user = config.get_user().expect("TENANTRY_PG_*_URL names a user");
    format!("\"{}\"", user.replace('"', "\"\""))
}

/// Held by a test for as long as it uses the shared database: the tests of one binary
/// run on parallel threads, and each starts from a fresh schema.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERVER: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERVER.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The URLs, or `None` (after a notice) when they are not set; under `CI=true` their
/// absence fails the test instead (`server_missing`).
pub fn urls() -> Option<Urls> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    match (
        var("TENANTRY_PG_OWNER_URL"),
        var("TENANTRY_PG_APP_URL"),
        var("TENANTRY_PG_ADMIN_URL"),
        var("TENANTRY_PG_SUPER_URL"),
    ) {
        (Some(owner), Some(app), Some(admin), Some(superuser)) => Some(Urls {
            app_role: role_of(&app),
            admin_role: role_of(&admin),
            owner_role: role_of(&owner),
            owner,
            app,
            admin,
            superuser,
        }),
        _ => {
            super::server_missing(
                "PostgreSQL is not configured: TENANTRY_PG_OWNER_URL, TENANTRY_PG_APP_URL, TENANTRY_PG_ADMIN_URL and TENANTRY_PG_SUPER_URL must all be set",
            );
            None
        }
    }
}

/// Drops and recreates the seed tables with row-level security, as the owner, and grants
/// the application and admin roles exactly what the README tells users to grant.
pub fn reset_schema(urls: &Urls) {
    let mut c = Client::connect(&urls.owner, NoTls).unwrap();
    let tables = [Project::INFO, ExportJob::INFO, WorkingClip::INFO, Setting::INFO];
    for t in tables {
        c.batch_execute(&format!("DROP TABLE IF EXISTS \"{}\" CASCADE", t.name)).unwrap();
    }
    for sql in postgres_schema(&tables) {
        c.batch_execute(&sql).unwrap();
    }
    for t in tables {
        c.batch_execute(&format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON \"{}\" TO {}, {}",
            t.name, urls.app_role, urls.admin_role
        ))
        .unwrap();
    }
}

/// Empties the seed tables as the owner (who may truncate; the application role may
/// not), between property-test cases.
pub fn truncate(urls: &Urls) {
    let mut c = Client::connect(&urls.owner, NoTls).unwrap();
    c.batch_execute("TRUNCATE projects, export_jobs, working_clips, settings").unwrap();
}
