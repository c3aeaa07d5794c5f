//! The operator command line, embedded in the application (feature `cli`).
//!
//! The table registry is linked into the application's binary, so the command line is a
//! library call from a small binary of the application's own, configured like the
//! application (the same database, layout, migrations and bucket):
//!
//! ```no_run
//! // src/bin/ops.rs
//! use tenantry::cli::Operator;
//! use tenantry::{Admin, Layout, Migrations};
//!
//! fn main() -> std::process::ExitCode {
//!     let admin = Admin::new("operator command line");
//!     let migrations = Migrations::new(&admin).add(2, "thumbnails", "ALTER TABLE projects ADD COLUMN thumbnail TEXT");
//!     Operator::new(&admin, "data/app.db")
//!         .migrations(&migrations)
//!         .layout(|db| Layout::builder(db).per_tenant("data/tenants"))
//!         .objects_at("data/objects")
//!         .accounts()
//!         .run()
//! }
//! ```
//!
//! ```text
//! ops --reason "release 42" migrate --dry-run
//! ops --reason "ticket 1234" tenant show 5f0c7d1e-…
//! ops --reason "ticket 1234" tenant export 5f0c7d1e-… --out alice.json
//! ops --reason "GDPR erasure, ticket 1240" tenant delete 5f0c7d1e-… --yes
//! ops --reason "nightly" --json audit
//! ```
//!
//! Every command needs `--reason`, which the [audit hook](crate::set_audit_hook) receives
//! ([`AuditAction::Command`]) before anything runs.
//! `--json` prints one JSON object on standard output instead of text. Progress bars go to
//! standard error, only on a terminal. Destructive commands (`tenant delete`, `move`,
//! `import`) ask to type the tenant's id back, or take `--yes`; without a terminal and
//! without `--yes` they refuse.
//!
//! Exit status: 0 done (and, for `audit`, nothing found); 1 failed; 2 bad usage;
//! 3 `audit` found faults; 4 not confirmed.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::{Admin, AuditAction, Layout, LayoutBuilder, Location, Migrations, Progress, SqliteDatabase, TenantStore};

/// Done; for `audit`, nothing found.
pub const EXIT_OK: u8 = 0;
/// The command failed (the message says why).
pub const EXIT_FAILED: u8 = 1;
/// The command line was not understood.
pub const EXIT_USAGE: u8 = 2;
/// `audit` found isolation faults.
pub const EXIT_FINDINGS: u8 = 3;
/// A destructive command was not confirmed.
pub const EXIT_NOT_CONFIRMED: u8 = 4;

type MakeLayout<'a> = Box<dyn Fn(SqliteDatabase) -> LayoutBuilder + 'a>;

/// The application's storage, as the command line operates it. Built from an [`Admin`]:
/// every command works across tenants.
pub struct Operator<'a> {
    admin: &'a Admin,
    database: PathBuf,
    migrations: Option<Migrations>,
    layout: Option<MakeLayout<'a>>,
    /// The bucket, or why it could not be opened (reported by each command that needs it).
    store: Option<std::result::Result<TenantStore, String>>,
    accounts: bool,
    #[cfg(feature = "postgres")]
    postgres: Option<(String, Migrations)>,
}

impl std::fmt::Debug for Operator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operator").field("database", &self.database).finish_non_exhaustive()
    }
}

#[derive(Parser)]
#[command(
    name = "ops",
    about = "Operate a tenantry application: migrations, one tenant's data, the isolation audit, sweeps",
    after_help = "Exit status: 0 done (audit: nothing found), 1 failed, 2 bad usage, 3 audit found faults, 4 not confirmed."
)]
struct Cli {
    /// Why you run this: sent to the application's audit hook with the command. Required.
    #[arg(long, global = true, value_name = "TEXT")]
    reason: Option<String>,
    /// Print one JSON object on standard output instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations: the shared database, the account tables, every tenant's
    /// file and PostgreSQL.
    Migrate {
        /// Say what would run; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// One tenant's data.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Scan the databases, tenant files and bucket for isolation faults (exit status 3 on
    /// any finding).
    Audit,
    /// Remove expired sessions and links, finished rate-limit windows and anonymous users
    /// nobody can reach.
    Sweep,
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Where the tenant lives and how many rows and objects it has.
    Show { tenant: Uuid },
    /// Write the tenant's rows (and object keys) as JSON.
    Export {
        tenant: Uuid,
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Write an export back for the tenant (all of it or nothing).
    Import {
        tenant: Uuid,
        /// The export, as written by `tenant export`.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Delete the tenant's rows, its database file and its objects.
    Delete {
        tenant: Uuid,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Move the tenant's per-tenant tables into its own file or the shared database.
    Move {
        tenant: Uuid,
        /// Where to.
        #[arg(long, value_enum)]
        to: Place,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Place {
    Own,
    Shared,
}

/// What a command printed and how it ends.
struct Outcome {
    text: String,
    json: Json,
    code: u8,
}

impl Outcome {
    fn ok(text: String, json: Json) -> Self {
        Outcome { text, json, code: EXIT_OK }
    }
}

impl<'a> Operator<'a> {
    /// The application whose shared database is the SQLite file at `database`.
    pub fn new(admin: &'a Admin, database: impl Into<PathBuf>) -> Self {
        Operator {
            admin,
            database: database.into(),
            migrations: None,
            layout: None,
            store: None,
            accounts: false,
            #[cfg(feature = "postgres")]
            postgres: None,
        }
    }

    /// The shared database's migrations ([`SqliteDatabase::migrate`]).
    pub fn migrations(mut self, migrations: &Migrations) -> Self {
        self.migrations = Some(migrations.clone());
        self
    }

    /// The application's layout, from its shared database (default: layout A). Give it
    /// the same per-tenant root, shared tables and tenant migrations as the application.
    pub fn layout(mut self, layout: impl Fn(SqliteDatabase) -> LayoutBuilder + 'a) -> Self {
        self.layout = Some(Box::new(layout));
        self
    }

    /// The application's bucket, for `tenant show|export|delete` and `audit`.
    pub fn objects(mut self, store: TenantStore) -> Self {
        self.store = Some(Ok(store));
        self
    }

    /// The local object store under `root` ([`TenantStore::local`]). A directory that does
    /// not exist is an error for every command that needs the bucket (a mistyped path must
    /// not read as an empty bucket).
    pub fn objects_at(mut self, root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        self.store = Some(if root.is_dir() {
            TenantStore::local(&root).map_err(|e| e.to_string())
        } else {
            Err(format!("the object store directory {} does not exist", root.display()))
        });
        self
    }

    /// The application uses tenantry's accounts ([`Auth`](crate::auth::Auth)): `migrate`
    /// brings the account tables up to date, and `sweep` is available.
    pub fn accounts(mut self) -> Self {
        self.accounts = true;
        self
    }

    /// Also migrate the PostgreSQL schema, connected as its owner role
    /// ([`PgDatabase::migrate`](crate::PgDatabase::migrate)).
    #[cfg(feature = "postgres")]
    pub fn postgres(mut self, owner_url: impl Into<String>, migrations: &Migrations) -> Self {
        self.postgres = Some((owner_url.into(), migrations.clone()));
        self
    }

    /// Parses the process's arguments and runs the command; returns the exit status.
    pub fn run(self) -> ExitCode {
        self.run_from(std::env::args_os())
    }

    /// Parses `args` (the program name first) and runs the command.
    pub fn run_from<I, T>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let cli = match Cli::try_parse_from(&args) {
            Ok(cli) => cli,
            Err(e) => {
                let _ = e.print();
                return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
            }
        };
        let Some(reason) = cli.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) else {
            eprintln!("error: --reason is required: say why you run this (it goes to the audit hook)");
            return ExitCode::from(EXIT_USAGE);
        };
        let line: Vec<String> = args.iter().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
        self.admin.tag().fire(AuditAction::Command { command: &line.join(" "), reason });
        let outcome = self.command(&cli).unwrap_or_else(|e| Outcome {
            text: format!("error: {}", chain(&e)),
            json: json!({ "ok": false, "error": chain(&e) }),
            code: EXIT_FAILED,
        });
        if cli.json {
            let mut json = outcome.json;
            if let Json::Object(map) = &mut json {
                map.entry("ok").or_insert(Json::Bool(outcome.code == EXIT_OK));
                map.insert("exit".into(), json!(outcome.code));
            }
            // A closed pipe (`ops .. | head`) is not an error of the command.
            let _ = writeln!(std::io::stdout().lock(), "{json}");
        } else if outcome.code == EXIT_OK || outcome.code == EXIT_FINDINGS {
            let _ = writeln!(std::io::stdout().lock(), "{}", outcome.text);
        } else {
            eprintln!("{}", outcome.text);
        }
        ExitCode::from(outcome.code)
    }

    fn command(&self, cli: &Cli) -> Result<Outcome> {
        match &cli.command {
            Command::Migrate { dry_run } => self.migrate(*dry_run, cli.json),
            Command::Tenant { command } => self.tenant(command, cli.json),
            Command::Audit => self.audit(cli.json),
            Command::Sweep => self.sweep(),
        }
    }

    /// The shared database, opened without the drift check (a migration may be what
    /// brings it in line; `audit` and `migrate` report drift themselves).
    fn database(&self) -> Result<SqliteDatabase> {
        SqliteDatabase::builder(&self.database).without_drift_check().open()
    }

    fn layout_of(&self, db: SqliteDatabase) -> Result<Layout> {
        match &self.layout {
            Some(make) => make(db).build(),
            None => Layout::shared(db),
        }
    }

    /// The layout over the existing database, creating nothing in it (commands other than
    /// `migrate` never make tables: a database is made by its migrations).
    fn open_layout(&self) -> Result<Layout> {
        if !self.database.is_file() {
            return Err(Error::Io {
                what: "open the database",
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("{} does not exist; run `migrate` first", self.database.display()),
                ),
            });
        }
        let db = self.database()?;
        match &self.layout {
            Some(make) => make(db).build_without_tables(),
            None => Layout::builder(db).build_without_tables(),
        }
    }

    /// The bucket, if the application has one.
    fn store(&self) -> Result<Option<&TenantStore>> {
        match &self.store {
            None => Ok(None),
            Some(Ok(store)) => Ok(Some(store)),
            Some(Err(why)) => {
                Err(Error::Io { what: "open the object store", source: std::io::Error::other(why.clone()) })
            }
        }
    }

    fn migrate(&self, dry_run: bool, quiet: bool) -> Result<Outcome> {
        if dry_run && !self.database.is_file() {
            // Nothing to open, and a dry run creates nothing: a new database.
            let text = format!("shared database: {} does not exist: migrate creates it", self.database.display());
            let json = json!({ "command": "migrate", "dry_run": true, "shared": { "created": true, "applied": [] } });
            return Ok(Outcome::ok(text, json));
        }
        let db = self.database()?;
        let none = Migrations::new(self.admin);
        let migrations = self.migrations.as_ref().unwrap_or(&none);
        let shared = if dry_run { db.pending_migrations(migrations)? } else { db.migrate(migrations)? };
        let mut text = vec![format!(
            "shared database: {}{}",
            if shared.created { "created the declared tables; " } else { "" },
            steps(&shared.applied, dry_run)
        )];
        let mut out = json!({ "command": "migrate", "dry_run": dry_run, "shared": report_json(&shared) });
        let mut code = EXIT_OK;
        if self.accounts && !dry_run {
            let n = crate::auth::Auth::migrate(self.admin, &db)?;
            text.push(format!("account tables: {n} migration(s) applied"));
            out["accounts"] = json!({ "applied": n });
        }
        let layout = if dry_run { self.open_layout()? } else { self.layout_of(db.clone())? };
        let bar = bar(quiet);
        let draw = |p: Progress<'_>| draw(&bar, p);
        let fleet =
            if dry_run { layout.pending_fleet(self.admin, draw)? } else { layout.migrate_fleet(self.admin, draw)? };
        bar.finish_and_clear();
        text.push(format!(
            "tenant databases: {} {}, {} up to date, {} failed",
            fleet.migrated,
            if dry_run { "to migrate" } else { "migrated" },
            fleet.up_to_date,
            fleet.failed.len()
        ));
        for (tenant, e) in &fleet.failed {
            text.push(format!("  {tenant}: {}", chain(e)));
            code = EXIT_FAILED;
        }
        out["tenants"] = json!({
            "migrated": fleet.migrated,
            "up_to_date": fleet.up_to_date,
            "failed": fleet.failed.iter().map(|(t, e)| json!({ "tenant": t.to_string(), "error": chain(e) })).collect::<Vec<_>>(),
        });
        #[cfg(feature = "postgres")]
        if let Some((url, migrations)) = &self.postgres {
            let pg = if dry_run {
                crate::PgDatabase::pending_migrations(url, migrations)?
            } else {
                crate::PgDatabase::migrate(url, migrations)?
            };
            text.push(format!(
                "postgresql: {}{}",
                if pg.created { "created the declared tables; " } else { "" },
                steps(&pg.applied, dry_run)
            ));
            out["postgres"] = report_json(&pg);
        }
        if !dry_run {
            let drift = db.schema_drift()?;
            for d in &drift {
                text.push(format!("drift after migrating: {d}"));
                code = EXIT_FAILED;
            }
            out["drift"] = json!(drift.iter().map(ToString::to_string).collect::<Vec<_>>());
        }
        Ok(Outcome { text: text.join("\n"), json: out, code })
    }

    fn tenant(&self, command: &TenantCommand, quiet: bool) -> Result<Outcome> {
        let layout = self.open_layout()?;
        let admin = self.admin;
        match command {
            TenantCommand::Show { tenant } => {
                let t = admin.mint_tenant(*tenant);
                let location = match layout.location(&t)? {
                    Location::OwnFile => "own",
                    Location::Shared => "shared",
                };
                let file = layout.tenant_path(&t).filter(|p| p.exists());
                let rows = layout.row_counts(&t)?;
                let objects = match self.store()? {
                    Some(store) => Some(block_on(store.list(&crate::TenantPrefix::root(&t)))?.len()),
                    None => None,
                };
                let mut text = vec![format!("tenant {t}"), format!("  location: {location}")];
                if let Some(file) = &file {
                    text.push(format!("  file: {}", file.display()));
                }
                text.extend(rows.iter().map(|(table, n)| format!("  {table}: {n} row(s)")));
                if let Some(n) = objects {
                    text.push(format!("  objects: {n}"));
                }
                let json = json!({
                    "command": "tenant show", "tenant": t.to_string(), "location": location,
                    "file": file.map(|f| f.display().to_string()),
                    "rows": rows.iter().map(|(table, n)| (table.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
                    "objects": objects,
                });
                Ok(Outcome::ok(text.join("\n"), json))
            }
            TenantCommand::Export { tenant, out } => {
                let t = admin.mint_tenant(*tenant);
                let mut export = layout.export_tenant(&t)?;
                if let Some(store) = self.store()? {
                    let keys = block_on(store.list(&crate::TenantPrefix::root(&t)))?;
                    export.objects = keys.iter().map(|k| k.as_str().to_owned()).collect();
                }
                let rows: usize = export.tables.values().map(Vec::len).sum();
                let body = serde_json::to_string_pretty(&export)
                    .map_err(|e| Error::Io { what: "write the export", source: std::io::Error::other(e) })?;
                let summary = format!("exported {rows} row(s) and {} object key(s)", export.objects.len());
                match out {
                    Some(path) => {
                        write_new(path, body.as_bytes())?;
                        let json = json!({ "command": "tenant export", "rows": rows, "objects": export.objects.len(), "file": path.display().to_string() });
                        Ok(Outcome::ok(format!("{summary} to {}", path.display()), json))
                    }
                    None if quiet => {
                        Ok(Outcome::ok(String::new(), json!({ "command": "tenant export", "export": export })))
                    }
                    None => Ok(Outcome::ok(body, json!({}))),
                }
            }
            TenantCommand::Import { tenant, from, yes } => {
                let text =
                    std::fs::read_to_string(from).map_err(|source| Error::Io { what: "read the export", source })?;
                let export: crate::TenantExport = serde_json::from_str(&text).map_err(|e| Error::Io {
                    what: "parse the export (JSON written by `tenant export`)",
                    source: e.into(),
                })?;
                if !confirmed(*tenant, "import rows for", *yes) {
                    return Ok(not_confirmed());
                }
                let n = layout.import_tenant(&admin.mint_tenant(*tenant), &export)?;
                Ok(Outcome::ok(format!("imported {n} row(s)"), json!({ "command": "tenant import", "rows": n })))
            }
            TenantCommand::Delete { tenant, yes } => {
                if !confirmed(*tenant, "delete every row, the file and every object of", *yes) {
                    return Ok(not_confirmed());
                }
                let store = self.store()?;
                let t = admin.mint_tenant(*tenant);
                let rows = layout.delete_tenant(&t)?;
                let objects = match store {
                    Some(store) => block_on(store.delete_prefix(&crate::TenantPrefix::root(&t)))?,
                    None => 0,
                };
                Ok(Outcome::ok(
                    format!("deleted {rows} row(s) and {objects} object(s)"),
                    json!({ "command": "tenant delete", "rows": rows, "objects": objects }),
                ))
            }
            TenantCommand::Move { tenant, to, yes } => {
                let (to, name) = match to {
                    Place::Own => (Location::OwnFile, "own"),
                    Place::Shared => (Location::Shared, "shared"),
                };
                if !confirmed(*tenant, "move the per-tenant tables of", *yes) {
                    return Ok(not_confirmed());
                }
                layout.move_tenant(&admin.mint_tenant(*tenant), to)?;
                Ok(Outcome::ok(format!("moved to {name}"), json!({ "command": "tenant move", "to": name })))
            }
        }
    }

    fn audit(&self, quiet: bool) -> Result<Outcome> {
        let layout = self.open_layout()?;
        let bar = bar(quiet);
        let mut report = layout.audit(self.admin, |p| draw(&bar, p))?;
        bar.finish_and_clear();
        let mut objects_scanned = false;
        if let Some(store) = self.store()? {
            report.findings.extend(block_on(store.audit(self.admin, &report.known_tenants))?);
            objects_scanned = true;
        }
        let drift = layout.shared_database().schema_drift()?;
        let mut text: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
        text.extend(drift.iter().map(|d| format!("shared: drift: {d}")));
        let faults = report.findings.len() + drift.len();
        text.push(format!(
            "{faults} finding(s) in {} database(s){}",
            report.databases,
            if objects_scanned { " and the bucket" } else { "" }
        ));
        let json = json!({
            "command": "audit",
            "databases": report.databases,
            "bucket": objects_scanned,
            "findings": report.findings.iter().map(finding_json).chain(drift.iter().map(|d| json!({ "kind": "drift", "table": d.table, "message": d.to_string() }))).collect::<Vec<_>>(),
        });
        Ok(Outcome { text: text.join("\n"), json, code: if faults == 0 { EXIT_OK } else { EXIT_FINDINGS } })
    }

    fn sweep(&self) -> Result<Outcome> {
        if !self.accounts {
            return Err(Error::Io {
                what: "sweep",
                source: std::io::Error::other("this application does not use tenantry's accounts (Operator::accounts)"),
            });
        }
        let layout = self.open_layout()?;
        let db = layout.shared_database().clone();
        let auth = crate::auth::Auth::builder(self.admin, db).layout(layout).build()?;
        let s = auth.sweep(self.admin)?;
        Ok(Outcome::ok(
            format!(
                "removed {} session(s), {} login link(s), {} rate-limit window(s), {} anonymous user(s)",
                s.sessions, s.login_tokens, s.rate_limits, s.anonymous_users
            ),
            json!({
                "command": "sweep", "sessions": s.sessions, "login_tokens": s.login_tokens,
                "rate_limits": s.rate_limits, "anonymous_users": s.anonymous_users,
            }),
        ))
    }
}

/// The error and its sources, as one line.
fn chain(e: &Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn steps(applied: &[crate::MigrationStep], dry_run: bool) -> String {
    if applied.is_empty() {
        return "up to date".into();
    }
    let list: Vec<String> = applied.iter().map(|s| format!("{} ({})", s.version, s.name)).collect();
    format!("{} {}", if dry_run { "would apply" } else { "applied" }, list.join(", "))
}

fn report_json(r: &crate::MigrationReport) -> Json {
    json!({
        "created": r.created,
        "applied": r.applied.iter().map(|s| json!({ "version": s.version, "name": s.name })).collect::<Vec<_>>(),
    })
}

fn finding_json(f: &crate::Finding) -> Json {
    use crate::Finding as F;
    let kind = match f {
        F::MisplacedRows { .. } => "misplaced_rows",
        F::TenantKeys { .. } => "tenant_keys",
        F::StrayFile { .. } => "stray_file",
        F::UnreadableFile { .. } => "unreadable_file",
        F::UnknownTenantFile { .. } => "unknown_tenant_file",
        F::ObjectOutsideTenant { .. } => "object_outside_tenant",
        F::UnknownTenantPrefix { .. } => "unknown_tenant_prefix",
    };
    json!({ "kind": kind, "message": f.to_string() })
}

fn bar(quiet: bool) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn draw(bar: &indicatif::ProgressBar, p: Progress<'_>) {
    bar.set_length(p.total as u64);
    bar.set_position(p.done as u64);
    bar.set_message(p.task.to_owned());
}

/// Asks to type the tenant's id back, unless `yes`; without a terminal, refuses.
fn confirmed(tenant: Uuid, what: &str, yes: bool) -> bool {
    if yes {
        return true;
    }
    if !std::io::stdin().is_terminal() {
        eprintln!("not confirmed: pass --yes to {what} tenant {tenant} without a terminal");
        return false;
    }
    eprint!("This will {what} tenant {tenant}.\nType the tenant's id to confirm: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).is_ok() && answer.trim() == tenant.to_string()
}

fn not_confirmed() -> Outcome {
    Outcome {
        text: "not confirmed; nothing changed".into(),
        json: json!({ "confirmed": false }),
        code: EXIT_NOT_CONFIRMED,
    }
}

/// Writes a new file (never over an existing one: an export is not a place to lose data),
/// readable by its owner only (it holds a tenant's data).
fn write_new(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|source| Error::Io { what: "create the export file", source })?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|source| Error::Io { what: "write the export file", source })
}

/// Runs an object-store future on a runtime of its own (the S3 backend needs tokio's).
fn block_on<T>(work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Io { what: "start a runtime for the object store", source })?
        .block_on(work)
}
