//! The README's Rust blocks, compiled: each block is placed, as written, in a function with
//! the setup it leaves out (the tables it names, a database, a tenant), then built with
//! trybuild. The first block, the tour of everyday statements, also runs against an
//! in-memory database.
//!
//! A README block is a fragment of a program, so the setup lives here, one entry per block
//! in order; a block added, removed or reordered without its entry here fails this test.
//! Like the compile-fail suite, it runs with `--all-features` (the blocks use axum, S3
//! and PostgreSQL) and skips with a notice otherwise.

use std::fmt::Write as _;
use std::path::PathBuf;

/// What a README block needs around it.
struct Setup {
    /// How the block's first line starts, to tell that the entries and the blocks still
    /// line up.
    first_line: &'static str,
    /// Items at the top of the file: tables and helpers the block uses but does not declare.
    items: &'static str,
    /// Statements before the block, inside its function.
    before: &'static str,
    /// The block awaits, so its function is `async`.
    is_async: bool,
    /// `main` runs the block (it needs no server and no files).
    run: bool,
}

/// Tables that several blocks name. Declared at the top of a file, so a block's own
/// declaration of `Project` (the first block) stays the one it uses.
const TABLES: &str = r#"
use tenantry::Table;
#[derive(tenantry::Table, Debug, serde::Serialize)]
#[table(name = "readme_export_jobs", owned)]
struct ExportJob {
    #[tenant] user_id: tenantry::TenantId,
    #[primary_key] id: uuid::Uuid,
    project_id: uuid::Uuid,
    #[index] status: String,
    output_key: Option<String>,
}
#[derive(tenantry::Table, Debug)]
#[table(name = "readme_folders", owned)]
struct Folder {
    #[tenant] user_id: tenantry::TenantId,
    #[primary_key] id: uuid::Uuid,
    name: String,
}
#[derive(tenantry::Table, Debug)]
#[table(name = "readme_clips", owned)]
struct Clip {
    #[tenant] user_id: tenantry::TenantId,
    #[primary_key] id: uuid::Uuid,
    folder_id: Option<uuid::Uuid>,
    #[unique] label: String,
    hits: i64,
}
"#;

/// `Project` for the blocks after the first (which declares its own).
const PROJECT: &str = r#"
#[derive(tenantry::Table, Debug, serde::Serialize)]
#[table(name = "readme_projects", owned)]
struct Project {
    #[tenant] user_id: tenantry::TenantId,
    #[primary_key] id: uuid::Uuid,
    name: String,
    #[index] created_at: String,
    parent_id: Option<uuid::Uuid>,
}
fn new_project() -> NewProject {
    NewProject { id: uuid::Uuid::new_v4(), name: "Cup final".into(), created_at: "2026-11-27".into(), parent_id: None }
}
"#;

fn setups() -> Vec<Setup> {
    vec![
        Setup {
            first_line: "use tenantry::{SqliteDatabase, Table, TenantId};",
            items: "use tenantry::Having;",
            before: r#"
    let db = SqliteDatabase::open_in_memory()?;
    db.create_table::<Project>()?;
    db.create_table::<ExportJob>()?;
    db.create_table::<Folder>()?;
    db.create_table::<Clip>()?;
    let tenant = TenantId::generate();
    let t = &tenant;
    let id = Uuid::new_v4();
    let new_clip = NewClip { id: Uuid::new_v4(), folder_id: None, label: "intro".into(), hits: 1 };
"#,
            is_async: false,
            run: true,
        },
        Setup {
            first_line: "use axum::{Router, routing::get, extract::State, middleware, Json};",
            items: r#"
struct ApiError(tenantry::Error);
impl From<tenantry::Error> for ApiError {
    fn from(e: tenantry::Error) -> Self { ApiError(e) }
}
impl axum::response::IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        (axum::http::StatusCode::INTERNAL_SERVER_ERROR, self.0.to_string()).into_response()
    }
}
#[derive(serde::Deserialize)]
struct LoginForm { email: String, caller: String }
#[derive(serde::Deserialize)]
struct ProjectForm { name: String, created_at: String }
"#,
            before: r#"
    let admin = tenantry::Admin::new("readme");
    let db = tenantry::SqliteDatabase::open_in_memory()?;
    let layout = tenantry::Layout::shared(db.clone())?;
    let auth = tenantry::auth::Auth::builder(&admin, db).build()?;
"#,
            is_async: true,
            run: false,
        },
        Setup {
            first_line: "use tenantry::{ObjectKey, Segment, TenantPrefix, TenantStore};",
            items: "use std::time::Duration;\nuse uuid::Uuid;\nstruct Event { key: String }",
            before: r#"
    let tenant = tenantry::TenantId::generate();
    let job_id = Uuid::new_v4();
    let store = TenantStore::in_memory();
    let bytes = bytes::Bytes::from_static(b"video");
    let event = Event { key: String::new() };
"#,
            is_async: true,
            run: false,
        },
        Setup {
            first_line: "// One of these, at start-up (each takes the shared database):",
            items: r#"
use tenantry::Layout;
#[derive(tenantry::Table, Debug)]
#[table(name = "readme_wallets", owned)]
struct Wallet { #[tenant] user_id: tenantry::TenantId, #[primary_key] id: uuid::Uuid, cents: i64 }
#[derive(tenantry::Table, Debug)]
#[table(name = "readme_ledger", owned)]
struct Ledger { #[tenant] user_id: tenantry::TenantId, #[primary_key] id: uuid::Uuid, cents: i64 }
"#,
            before: r#"
    let db = tenantry::SqliteDatabase::open_in_memory()?;
    let tenant = tenantry::TenantId::generate();
    let row = new_project();
"#,
            is_async: false,
            run: false,
        },
        Setup {
            first_line: "let jobs = Jobs::new(&layout)?;",
            items: r#"
use std::time::Duration;
use tenantry::Admin;
use tenantry::jobs::{ClaimedJob, Jobs};
fn render(_: &ClaimedJob) -> Result<Option<String>, std::io::Error> { Ok(None) }
"#,
            before: r#"
    let layout = tenantry::Layout::shared(tenantry::SqliteDatabase::open_in_memory()?)?;
    let tenant = tenantry::TenantId::generate();
"#,
            is_async: false,
            run: false,
        },
        Setup {
            first_line: "// As the owner role, once: tables (uuid columns; the tenant column leads every key and",
            items: "use tenantry::{Async, PgDatabase};",
            before: r#"
    let mut owner = postgres::Client::connect("postgres://owner@db/clips", postgres::NoTls)?;
    let tenant = tenantry::TenantId::generate();
    let new_project = new_project();
"#,
            is_async: true,
            run: false,
        },
        Setup {
            first_line: "use tenantry::auth::{Auth, Merge};",
            items: "use tenantry::Admin;",
            before: r#"
    let db = tenantry::SqliteDatabase::open_in_memory()?;
    let mailer: std::sync::Arc<dyn tenantry::auth::Mailer> = std::sync::Arc::new(tenantry::auth::MemoryMailer::default());
    let cookie_header = "";
    let client_ip = "203.0.113.7";
    let token_from_the_confirm_form = String::new();
"#,
            is_async: false,
            run: false,
        },
        Setup {
            first_line: "let admin = Admin::new(\"schema migrations\");",
            items: "use tenantry::{Admin, Layout, Migrations, PgDatabase, SqliteDatabase};",
            before: r#"
    let tenant_migrations = Migrations::new(&Admin::new("tenant file migrations"));
    let owner_url = "postgres://owner@db/clips";
"#,
            is_async: false,
            run: false,
        },
        Setup {
            first_line: "// src/bin/ops.rs",
            items: r#"
use tenantry::{Admin, Layout};
mod app {
    pub fn migrations(admin: &tenantry::Admin) -> tenantry::Migrations { tenantry::Migrations::new(admin) }
}
"#,
            before: "",
            is_async: false,
            run: false,
        },
    ]
}

/// The README's ```rust blocks, in order.
fn blocks(readme: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```rust") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "the README ends inside a ```rust block");
    blocks
}

fn program(block: &str, setup: &Setup) -> String {
    let mut out = String::from("#![allow(unused, dead_code, unreachable_code, clippy::all)]\n");
    out.push_str(TABLES);
    if !block.contains("struct Project") {
        out.push_str(PROJECT);
    }
    out.push_str(setup.items);
    out.push('\n');
    let (asyncness, call) = if setup.is_async { ("async ", ".await") } else { ("", "") };
    let body = if setup.run { format!("block(){call}.unwrap();") } else { String::new() };
    let main = if setup.is_async && setup.run {
        format!("#[tokio::main(flavor = \"current_thread\")]\nasync fn main() {{ {body} }}\n")
    } else {
        format!("fn main() {{ {body} }}\n")
    };
    out.push_str(&main);
    writeln!(out, "{asyncness}fn block() -> Result<(), Box<dyn std::error::Error>> {{").unwrap();
    out.push_str(setup.before);
    out.push_str("// ---- the README block ----\n");
    out.push_str(block);
    out.push_str("// ---- end of the README block ----\n    Ok(())\n}\n");
    out
}

#[test]
fn readme_blocks_compile() {
    if !cfg!(all(feature = "object-store", feature = "s3", feature = "axum", feature = "postgres", feature = "cli")) {
        eprintln!(
            "notice: the README blocks are compiled with --all-features (cargo test --workspace --all-features); skipped"
        );
        return;
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let blocks = blocks(&readme);
    let setups = setups();
    let firsts: Vec<&str> = blocks.iter().map(|b| b.lines().next().unwrap_or("")).collect();
    let lined_up = firsts.len() == setups.len() && firsts.iter().zip(&setups).all(|(f, s)| f.starts_with(s.first_line));
    assert!(
        lined_up,
        "README blocks and their setups in tests/readme.rs no longer line up: the blocks start {firsts:#?}"
    );

    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("readme-blocks");
    std::fs::create_dir_all(&dir).unwrap();
    let t = trybuild::TestCases::new();
    for (i, (block, setup)) in blocks.iter().zip(&setups).enumerate() {
        let path = dir.join(format!("readme_block_{}.rs", i + 1));
        std::fs::write(&path, program(block, setup)).unwrap();
        t.pass(&path);
    }
}
