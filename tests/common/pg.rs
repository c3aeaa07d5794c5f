//! PostgreSQL test helpers: connection URLs from `.ci/run`, and the seed schema.

use postgres::{Client, NoTls};
use tenantry::{Table, schema_postgres};

use super::{ExportJob, Project, Setting, WorkingClip};

/// The roles `.ci/run` creates.
pub struct Urls {
    pub owner: String,
    pub app: String,
    pub admin: String,
    pub superuser: String,
}

pub fn urls() -> Option<Urls> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    match (
        var("TENANTRY_PG_OWNER_URL"),
        var("TENANTRY_PG_APP_URL"),
        var("TENANTRY_PG_ADMIN_URL"),
        var("TENANTRY_PG_SUPER_URL"),
    ) {
        (Some(owner), Some(app), Some(admin), Some(superuser)) => Some(Urls { owner, app, admin, superuser }),
        _ => {
            eprintln!(
                "notice: TENANTRY_PG_*_URL are not set; skipping the PostgreSQL tests (.ci/run starts PostgreSQL)"
            );
            None
        }
    }
}

/// Drops and recreates the seed tables with row-level security, as the owner, and grants
/// the application and admin roles what they need.
pub fn reset_schema(owner: &str) {
    let mut c = Client::connect(owner, NoTls).unwrap();
    let tables = [Project::INFO, ExportJob::INFO, WorkingClip::INFO, Setting::INFO];
    for t in tables {
        c.batch_execute(&format!("DROP TABLE IF EXISTS \"{}\" CASCADE", t.name)).unwrap();
    }
    for sql in schema_postgres(&tables) {
        c.batch_execute(&sql).unwrap();
    }
    for t in tables {
        c.batch_execute(&format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON \"{}\" TO tenantry_app, tenantry_admin",
            t.name
        ))
        .unwrap();
    }
}

/// Empties the seed tables (as the owner), between property-test cases.
pub fn truncate(owner: &str) {
    let mut c = Client::connect(owner, NoTls).unwrap();
    c.batch_execute("TRUNCATE projects, export_jobs, working_clips, settings").unwrap();
}
