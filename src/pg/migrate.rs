//! The migration runner and the drift check on PostgreSQL: the same records, plan and
//! comparison as on SQLite ([`crate::migrate`], [`crate::drift`]), read from PostgreSQL's
//! catalogue.

use tokio_postgres::{Client, GenericClient, NoTls, Transaction};

use crate::drift::{Drift, DriftKind, Engine, LiveColumn, LiveTable, compare};
use crate::error::{Error, Result};
use crate::migrate::{APP, MigrationReport, MigrationStep, Migrations, Next, RECORDS_DDL, Recorded, Runner, Step};
use crate::schema::{TableInfo, ident};
use crate::tenant::AuditAction;

use super::PgDatabase;

/// The advisory lock every migration transaction takes first ('tenantry' in ASCII), so two
/// processes migrating at once run one after the other.
const LOCK: i64 = 0x7465_6e61_6e74_7279;

impl PgDatabase {
    /// Brings the PostgreSQL schema to the newest of `migrations`, connected as the owner
    /// role (`owner_url`), each migration in a transaction of its own with its record.
    /// A new schema gets every declared table with its row-level security
    /// ([`postgres_schema`](crate::postgres_schema)) as version 1.
    ///
    /// Each transaction first takes an advisory lock, so two processes starting at once
    /// apply each migration once; a process killed half-way leaves each migration applied
    /// or not, and a rerun goes on. Same refusals as [`SqliteDatabase::migrate`](crate::SqliteDatabase::migrate).
    /// Blocks (on a thread of its own, so it may be called anywhere).
    pub fn migrate(owner_url: &str, migrations: &Migrations) -> Result<MigrationReport> {
        run(owner_url, migrations, false)
    }

    /// What [`migrate`](Self::migrate) would do, without doing it.
    pub fn pending_migrations(owner_url: &str, migrations: &Migrations) -> Result<MigrationReport> {
        run(owner_url, migrations, true)
    }

    /// How each declared table in the database differs from its declaration: columns,
    /// types, nullability, primary and unique keys, indexes, and for an owned table its
    /// row-level security as [`check_rls`](Self::check_rls) sees it from the application
    /// role. Empty when they agree; a table not created yet is not a difference.
    pub fn schema_drift(&self) -> Result<Vec<Drift>> {
        self.block(self.schema_drift_async())
    }

    /// Refuses with [`Error::SchemaDrift`] unless [`schema_drift`](Self::schema_drift) is
    /// empty: call it at start-up, as [`SqliteDatabase::open`](crate::SqliteDatabase::open) does.
    pub fn check_schema(&self) -> Result<()> {
        let drift = self.schema_drift()?;
        if drift.is_empty() { Ok(()) } else { Err(Error::SchemaDrift { drift }) }
    }

    pub(crate) async fn schema_drift_async(&self) -> Result<Vec<Drift>> {
        let conn = self.tenants.get().await.map_err(|source| Error::PostgresPool { source })?;
        let client: &Client = &conn;
        let mut out = Vec::new();
        for info in crate::tables() {
            let Some(live) = live_table(client, info.name).await? else { continue };
            out.extend(compare(info, &live, Engine::Postgres));
            if let Some(column) = info.tenant_column() {
                if let Some(why) = tenant_keys(info, column, &live, &unique_keys(client, info.name).await?) {
                    out.push(Drift { table: info.name, kind: DriftKind::TenantKeys { why }, suggestion: None });
                }
                match super::check::check_relations(client, info.name, column).await {
                    Ok(()) => {}
                    Err(Error::RlsBypassed { why, .. }) => {
                        out.push(Drift { table: info.name, kind: DriftKind::RowSecurity { why }, suggestion: None });
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(out)
    }
}

/// The columns and indexes of `table` in the current schema, or `None` if there is none.
async fn live_table(client: &impl GenericClient, table: &str) -> Result<Option<LiveTable>> {
    let columns = client
        .query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.atthasdef,
                    COALESCE((SELECT k.ord FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                              WHERE i.indrelid = a.attrelid AND i.indisprimary AND k.attnum = a.attnum), 0)
             FROM pg_attribute a
             WHERE a.attrelid = to_regclass(quote_ident($1)) AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum",
            &[&table],
        )
        .await
        .map_err(Error::Postgres)?;
    if columns.is_empty() {
        return Ok(None);
    }
    let columns = columns
        .iter()
        .map(|r| LiveColumn {
            name: r.get(0),
            declared_type: r.get(1),
            not_null: r.get(2),
            has_default: r.get(3),
            pk_position: r.get(4),
        })
        .collect();
    let indexes = client
        .query(
            "SELECT i.indisunique,
                    ARRAY(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                          WHERE k.ord <= i.indnkeyatts ORDER BY k.ord)
             FROM pg_index i WHERE i.indrelid = to_regclass(quote_ident($1))
               AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL",
            &[&table],
        )
        .await
        .map_err(Error::Postgres)?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    Ok(Some(LiveTable { columns, indexes }))
}

fn run(owner_url: &str, migrations: &Migrations, dry_run: bool) -> Result<MigrationReport> {
    let tables: Vec<&'static TableInfo> = crate::tables().collect();
    let runner = Runner::app(migrations, &tables)?;
    // A thread of its own with a runtime of its own: callable from async code too.
    std::thread::scope(|s| {
        s.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::Io { what: "start a runtime for the migration", source: e })?;
            runtime.block_on(async {
                let (mut client, connection) =
                    tokio_postgres::connect(owner_url, NoTls).await.map_err(Error::Postgres)?;
                let driver = tokio::spawn(connection);
                let result = migrate(&mut client, &runner, migrations.grant(), &tables, dry_run).await;
                drop(client);
                let _ = driver.await;
                result
            })
        })
        .join()
        .unwrap_or_else(|_| {
            Err(Error::Io { what: "run the migration", source: std::io::Error::other("the migration thread panicked") })
        })
    })
}

async fn migrate(
    client: &mut Client,
    runner: &Runner<'_>,
    grant: Option<&str>,
    tables: &[&'static TableInfo],
    dry_run: bool,
) -> Result<MigrationReport> {
    let pg = |e| Error::Postgres(e);
    let mut report = MigrationReport::default();
    loop {
        let tx = client.transaction().await.map_err(pg)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK]).await.map_err(pg)?;
        tx.batch_execute(RECORDS_DDL).await.map_err(pg)?;
        let recorded = Recorded {
            applied: tx
                .query("SELECT version, checksum FROM tenantry_schema_migrations WHERE scope = $1", &[&APP])
                .await
                .map_err(pg)?
                .iter()
                .map(|r| (r.get::<_, i32>(0) as u32, r.get(1)))
                .collect(),
            legacy: 0,
        };
        let mut missing = Vec::new();
        for info in tables {
            let exists: bool = tx
                .query_one("SELECT to_regclass(quote_ident($1)) IS NOT NULL", &[&info.name])
                .await
                .map_err(pg)?
                .get(0);
            if !exists {
                missing.push(*info);
            }
        }
        let fresh = missing.len() == tables.len();
        if dry_run {
            return runner.pending(&recorded, fresh);
        }
        let mut current: Option<Step> = None;
        let step = async {
            let mut done = false;
            match runner.next(&recorded)? {
                Next::Done => {
                    // Declared tables the schema still lacks (declared since), with their
                    // row-level security.
                    for info in &missing {
                        create(&tx, info).await?;
                    }
                    done = true;
                }
                // No older build kept PostgreSQL versions elsewhere.
                Next::Adopt(_) => {}
                Next::Baseline => {
                    record(&tx, 1, "declared tables", "").await?;
                    if fresh {
                        for info in &missing {
                            create(&tx, info).await?;
                        }
                        for step in runner.steps.iter().filter(|s| s.declared) {
                            record(&tx, step.version, step.name, &step.checksum()).await?;
                        }
                    }
                    report.created = fresh;
                }
                Next::Apply(step) => {
                    current = Some(*step);
                    runner.tag.fire(AuditAction::Unscoped { sql: step.sql });
                    tx.batch_execute(&plpgsql_block(step.sql)?).await.map_err(pg)?;
                    protect(&tx, tables).await?;
                    record(&tx, step.version, step.name, &step.checksum()).await?;
                    report.applied.push(MigrationStep { version: step.version, name: step.name });
                }
            }
            // Once every table exists: the last transaction of the run.
            if let Some(role) = grant.filter(|_| done) {
                let names: Vec<String> = tables.iter().map(|t| ident(t.name)).collect();
                tx.batch_execute(&format!(
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {} TO {}",
                    names.join(", "),
                    ident(role)
                ))
                .await
                .map_err(pg)?;
            }
            Ok(done)
        }
        .await;
        let done = match step {
            Ok(done) => done,
            Err(e) => {
                return Err(match (current, e) {
                    (Some(s), e) => {
                        Error::MigrationFailed { scope: APP, version: s.version, name: s.name, source: Box::new(e) }
                    }
                    (None, e) => e,
                });
            }
        };
        tx.commit().await.map_err(pg)?;
        if done {
            return Ok(report);
        }
    }
}

/// Creates a declared table with its row-level security.
async fn create(tx: &Transaction<'_>, info: &TableInfo) -> Result<()> {
    for sql in info.postgres_ddl().into_iter().chain(info.postgres_row_security()) {
        tx.batch_execute(&sql).await.map_err(Error::Postgres)?;
    }
    Ok(())
}

/// The delimiter of the block a migration runs in.
const BLOCK: &str = "$tenantry_migration$";

/// A migration's SQL as the body of a PL/pgSQL block: PostgreSQL refuses `COMMIT`,
/// `ROLLBACK` and the like inside it when it runs in a transaction, so a migration cannot
/// commit part of itself without its record.
fn plpgsql_block(sql: &str) -> Result<String> {
    if sql.contains(BLOCK) {
        return Err(Error::InvalidMigrations);
    }
    let body = sql.trim_end();
    // The last statement's terminator, on a line of its own (the SQL may end in a
    // comment), unless its last line of code already ends with one.
    let last_code = body.lines().rev().map(|l| l.split("--").next().unwrap_or("").trim()).find(|l| !l.is_empty());
    let end = if last_code.is_some_and(|l| l.ends_with(';')) { "" } else { "\n;" };
    Ok(format!("DO {BLOCK} BEGIN\n{body}{end}\nEND {BLOCK}"))
}

/// After a migration, every declared owned table that exists has tenantry's row-level
/// security (added to a table the migration created without any) and its tenant column
/// leading its keys; otherwise the migration rolls back.
async fn protect(tx: &Transaction<'_>, tables: &[&'static TableInfo]) -> Result<()> {
    for info in tables {
        let Some(column) = info.tenant_column() else { continue };
        let Some(live) = live_table(tx, info.name).await? else { continue };
        let bare: bool = tx
            .query_one(
                "SELECT NOT c.relrowsecurity AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)
                 FROM pg_class c WHERE c.oid = to_regclass(quote_ident($1))",
                &[&info.name],
            )
            .await
            .map_err(Error::Postgres)?
            .get(0);
        if bare {
            for sql in info.postgres_row_security() {
                tx.batch_execute(&sql).await.map_err(Error::Postgres)?;
            }
        }
        super::check::check_policies(tx, info.name, column).await?;
        if let Some(why) = tenant_keys(info, column, &live, &unique_keys(tx, info.name).await?) {
            return Err(Error::SchemaMismatch { table: info.name, why });
        }
    }
    Ok(())
}

/// The key columns of every unique index on `table`, partial ones included (a partial
/// unique index is still unique across the rows it covers); an expression is `""`.
async fn unique_keys(client: &impl GenericClient, table: &str) -> Result<Vec<Vec<String>>> {
    let rows = client
        .query(
            "SELECT ARRAY(SELECT COALESCE(a.attname::text, '') FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                          LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                          WHERE k.ord <= i.indnkeyatts ORDER BY k.ord)
             FROM pg_index i WHERE i.indrelid = to_regclass(quote_ident($1)) AND i.indisunique",
            &[&table],
        )
        .await
        .map_err(Error::Postgres)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// What is wrong with the live table's keys, if its tenant column does not lead the
/// primary key and every unique key not declared global.
fn tenant_keys(info: &TableInfo, column: &str, live: &LiveTable, unique: &[Vec<String>]) -> Option<&'static str> {
    let leads = |cols: &[String]| cols.first().is_some_and(|c| c == column);
    let pk: Vec<String> = {
        let mut pk: Vec<&LiveColumn> = live.columns.iter().filter(|c| c.pk_position > 0).collect();
        pk.sort_by_key(|c| c.pk_position);
        pk.into_iter().map(|c| c.name.clone()).collect()
    };
    if !leads(&pk) {
        return Some("the declared tenant column does not lead the primary key");
    }
    for cols in unique {
        if !leads(cols) && !crate::tablesql::declared_global(info, cols) {
            return Some("a unique key does not lead with the declared tenant column");
        }
    }
    None
}

async fn record(tx: &tokio_postgres::Transaction<'_>, version: u32, name: &str, checksum: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO tenantry_schema_migrations (scope, version, name, checksum, applied_at)
         VALUES ($1, $2, $3, $4, to_char(now() AT TIME ZONE 'utc', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))",
        &[&APP, &(version as i32), &name, &checksum],
    )
    .await
    .map_err(Error::Postgres)?;
    Ok(())
}
