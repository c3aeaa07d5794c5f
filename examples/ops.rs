//! The operator command line of the video-clip service (`server.rs`): the same tables,
//! migrations, layout and bucket, linked into a binary of the application's own, so every
//! command knows the application's schema.
//!
//! Run (the data directory as the server's; `LAYOUT=per-tenant` as the server was run):
//!
//! ```text
//! cargo run --example ops --features cli -- --reason "release 42" migrate --dry-run
//! cargo run --example ops --features cli -- --reason "ticket 1234" tenant show <tenant id>
//! cargo run --example ops --features cli -- --reason "nightly" --json audit
//! ```
//!
//! `TENANTRY_DATA` names the data directory (default: the server's, under the system's
//! temporary directory).

use std::path::PathBuf;
use std::process::ExitCode;

use tenantry::Admin;
use tenantry::cli::Operator;

#[path = "common/app.rs"]
mod app;

fn main() -> ExitCode {
    let dir = std::env::var_os("TENANTRY_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("tenantry-server"));
    // Every command crosses tenants: one audited capability for the command line, and an
    // audit hook that writes each use (with the operator's --reason) to standard error.
    tenantry::set_audit_hook(|event| {
        if let tenantry::AuditAction::Command { command, reason } = event.action {
            eprintln!("audit: {command} (reason: {reason})");
        }
    });
    let admin = Admin::new("the video-clip service's operator command line");
    Operator::new(&admin, dir.join("app.db"))
        .migrations(&app::migrations(&admin))
        .layout(|db| app::layout(db, &dir))
        .objects_at(dir.join("objects"))
        .accounts()
        .run()
}
