//! The operator command line driven end to end: this test binary is also the application's
//! `ops` binary (with `TENANTRY_OPS_DIR` set it runs `Operator::run`), and the tests spawn
//! it as a process on a temporary database, tenant files and local bucket, checking its
//! output (text and `--json`), its exit status and what it changed.
//!
//! Two tenants with the same row ids and object names throughout: every command on one
//! leaves the other untouched. Guards: `Operator` takes tenants only through
//! `Admin::tenant` (audited; the hook's log is checked), confirmation for destructive
//! commands (seen failing with `confirmed` returning true: the unconfirmed delete ran).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use serde_json::Value as Json;
use tenantry::auth::{Auth, Merge, VerifiedEmail};
use tenantry::cli::Operator;
use tenantry::{
    Admin, Layout, LayoutBuilder, Migrations, ObjectKey, Segment, SqliteDatabase, Table, TenantId, TenantStore,
};
use uuid::Uuid;

#[derive(Table, Debug)]
#[table(name = "cli_projects", owned)]
struct Project {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    id: i64,
    name: String,
}

#[derive(ObjectKey)]
#[key("{tenant}/uploads/{name}")]
struct Upload {
    name: Segment,
}

fn migrations(admin: &Admin) -> Migrations {
    Migrations::new(admin).add(
        2,
        "projects by name",
        "CREATE INDEX IF NOT EXISTS cli_by_name ON cli_projects (user_id, name)",
    )
}

fn layout(db: SqliteDatabase, dir: &Path) -> LayoutBuilder {
    Layout::builder(db).per_tenant(dir.join("tenants"))
}

fn main() -> ExitCode {
    if let Some(dir) = std::env::var_os("TENANTRY_OPS_DIR") {
        return ops(PathBuf::from(dir));
    }
    let tests: &[(&str, fn())] =
        &[("usage_errors_exit_2", usage_errors_exit_2), ("a_whole_operation_end_to_end", a_whole_operation_end_to_end)];
    for (name, test) in tests {
        println!("test {name} ...");
        test();
        println!("test {name} ... ok");
    }
    ExitCode::SUCCESS
}

/// The application's `ops` binary.
fn ops(dir: PathBuf) -> ExitCode {
    let log = dir.join("audit.log");
    tenantry::set_audit_hook(move |event| {
        if let tenantry::AuditAction::Command { command, reason } = event.action {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
            writeln!(f, "{reason}\t{command}").unwrap();
        }
    });
    let admin = Admin::new("cli test's operator command line");
    let args = std::env::args_os().skip(1);
    Operator::new(&admin, dir.join("app.db"))
        .migrations(&migrations(&admin))
        .layout(|db| layout(db, &dir))
        .objects_at(dir.join("objects"))
        .accounts()
        .run_from(std::iter::once("ops".into()).chain(args))
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Json {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

fn run(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(args)
        .env("TENANTRY_OPS_DIR", dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn temp() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tenantry-cli-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn usage_errors_exit_2() {
    let dir = temp();
    let no_reason = run(&dir, &["migrate"]);
    assert_eq!(no_reason.code, 2, "{no_reason:?}", no_reason = no_reason.stderr);
    assert!(no_reason.stderr.contains("--reason is required"), "{}", no_reason.stderr);
    assert_eq!(run(&dir, &["--reason", "x", "tenant", "show", "not-a-uuid"]).code, 2);
    assert_eq!(run(&dir, &["--reason", "x", "launch"]).code, 2);
    assert_eq!(run(&dir, &["--reason", "  ", "audit"]).code, 2, "a blank reason is no reason");
    let help = run(&dir, &["--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("Exit status"), "{}", help.stdout);
    assert!(!dir.join("app.db").exists(), "a usage error opens nothing");
    std::fs::remove_dir_all(dir).ok();
}

fn rows(dir: &Path, t: &TenantId) -> Vec<String> {
    let db = SqliteDatabase::open(dir.join("app.db")).unwrap();
    let layout = layout(db, dir).build().unwrap();
    layout.fetch_all(Project::select(t)).unwrap().into_iter().map(|p| p.name).collect()
}

fn a_whole_operation_end_to_end() {
    let dir = temp();
    // A dry run on a new database: it would create the tables, and writes nothing.
    let dry = run(&dir, &["--reason", "first release", "--json", "migrate", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    let json = dry.json();
    assert_eq!((json["ok"].as_bool(), json["shared"]["created"].as_bool()), (Some(true), Some(true)));
    assert!(!dir.join("app.db").exists(), "the dry run created nothing");

    let migrate = run(&dir, &["--reason", "first release", "migrate"]);
    assert_eq!(migrate.code, 0, "{}", migrate.stderr);
    assert!(
        migrate.stdout.contains("shared database: created the declared tables; applied 2 (projects by name)"),
        "{}",
        migrate.stdout
    );
    assert!(migrate.stdout.contains("tenant databases: 0 migrated, 0 up to date, 0 failed"), "{}", migrate.stdout);

    // The bucket's directory does not exist yet: a command that needs it fails, by name,
    // rather than reading an empty bucket.
    let no_bucket = run(&dir, &["--reason", "ticket 0", "tenant", "show", &Uuid::new_v4().to_string()]);
    assert_eq!(no_bucket.code, 1, "{}", no_bucket.stdout);
    assert!(no_bucket.stderr.contains("objects does not exist"), "{}", no_bucket.stderr);

    // Two accounts with the same ids, rows and object names.
    let admin = Admin::new("cli test seeds two accounts");
    let (alice, bob) = {
        let db = SqliteDatabase::open(dir.join("app.db")).unwrap();
        let layout = layout(db.clone(), &dir).build().unwrap();
        let auth = Auth::builder(&admin, db).layout(layout).build().unwrap();
        let account = |email: &str| {
            let proof = VerifiedEmail::new(&admin, email).unwrap();
            *auth.login_verified(proof, None, Merge::IntoAccount).unwrap().session.identity.tenant()
        };
        (account("alice@example.com"), account("bob@example.com"))
    };
    {
        let layout = layout(SqliteDatabase::open(dir.join("app.db")).unwrap(), &dir).build().unwrap();
        let store = TenantStore::local(dir.join("objects")).unwrap();
        for (t, name) in [(&alice, "alice's"), (&bob, "bob's")] {
            layout.execute(Project::insert(t, NewProject { id: 1, name: name.into() })).unwrap();
            let key = Upload { name: Segment::new("a.txt").unwrap() }.key(t).unwrap();
            futures::executor::block_on(store.put(&key, name.as_bytes().to_vec())).unwrap();
        }
    }
    let (a, b) = (alice.to_string(), bob.to_string());

    let show = run(&dir, &["--reason", "ticket 1", "--json", "tenant", "show", &a]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    let json = show.json();
    assert_eq!(json["rows"]["cli_projects"], 1);
    assert_eq!(json["objects"], 1);
    assert_eq!(json["location"], "own");
    let text = run(&dir, &["--reason", "ticket 1", "tenant", "show", &a]);
    assert!(text.stdout.contains("cli_projects: 1 row(s)") && text.stdout.contains("objects: 1"), "{}", text.stdout);

    let export = dir.join("alice.json");
    let exported = run(&dir, &["--reason", "ticket 2", "tenant", "export", &a, "--out", export.to_str().unwrap()]);
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&export).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "an export holds a tenant's data: its owner's only");
    }
    let file: Json = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    assert_eq!(file["tables"]["cli_projects"].as_array().unwrap().len(), 1);
    assert_eq!(file["objects"][0], format!("{a}/uploads/a.txt"));
    // An export never overwrites a file.
    let again = run(&dir, &["--reason", "ticket 2", "tenant", "export", &a, "--out", export.to_str().unwrap()]);
    assert_eq!(again.code, 1, "{}", again.stderr);

    // Without a terminal and without --yes, a deletion is refused and changes nothing.
    let refused = run(&dir, &["--reason", "ticket 3", "tenant", "delete", &a]);
    assert_eq!(refused.code, 4, "{}", refused.stderr);
    assert_eq!(rows(&dir, &alice), ["alice's"]);
    let deleted = run(&dir, &["--reason", "ticket 3", "--json", "tenant", "delete", &a, "--yes"]);
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    assert_eq!((deleted.json()["rows"].as_u64(), deleted.json()["objects"].as_u64()), (Some(1), Some(1)));
    assert!(rows(&dir, &alice).is_empty());
    assert_eq!(rows(&dir, &bob), ["bob's"], "the other tenant is untouched");
    assert!(dir.join("objects").join(&b).join("uploads").join("a.txt").exists());

    let imported =
        run(&dir, &["--reason", "ticket 4", "tenant", "import", &a, "--from", export.to_str().unwrap(), "--yes"]);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    assert_eq!(rows(&dir, &alice), ["alice's"]);

    let moved = run(&dir, &["--reason", "ticket 5", "--json", "tenant", "move", &b, "--to", "shared", "--yes"]);
    assert_eq!(moved.code, 0, "{}", moved.stderr);
    assert_eq!(run(&dir, &["--reason", "ticket 5", "--json", "tenant", "show", &b]).json()["location"], "shared");
    assert_eq!(rows(&dir, &bob), ["bob's"]);

    // The audit: clean, then a planted object outside any tenant (exit status 3).
    let clean = run(&dir, &["--reason", "nightly", "--json", "audit"]);
    assert_eq!(clean.code, 0, "{} {}", clean.stdout, clean.stderr);
    assert_eq!(clean.json()["findings"], Json::Array(Vec::new()));
    std::fs::write(dir.join("objects").join("loose.txt"), b"x").unwrap();
    let found = run(&dir, &["--reason", "nightly", "--json", "audit"]);
    assert_eq!(found.code, 3, "{}", found.stdout);
    assert_eq!(found.json()["findings"][0]["kind"], "object_outside_tenant");
    assert_eq!(found.json()["ok"], false);
    let text = run(&dir, &["--reason", "nightly", "audit"]);
    assert_eq!(text.code, 3);
    assert!(text.stdout.contains("object \"loose.txt\": not under any tenant's prefix"), "{}", text.stdout);

    let sweep = run(&dir, &["--reason", "hourly", "--json", "sweep"]);
    assert_eq!(sweep.code, 0, "{}", sweep.stderr);
    assert_eq!(sweep.json()["sessions"], 0);

    // Migrations again: all up to date; tenant files counted.
    let again = run(&dir, &["--reason", "release 2", "--json", "migrate"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.json()["tenants"]["up_to_date"], 1);
    assert_eq!(again.json()["drift"], Json::Array(Vec::new()));

    // A failure: exit 1 and the message, no panic.
    let missing =
        run(&dir, &["--reason", "ticket 6", "tenant", "import", &a, "--from", "/nonexistent/x.json", "--yes"]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.starts_with("error: "), "{}", missing.stderr);

    // Every command reached the audit hook with its reason, before it ran.
    let log = std::fs::read_to_string(dir.join("audit.log")).unwrap();
    for reason in ["first release", "ticket 1", "ticket 3", "nightly", "hourly"] {
        assert!(log.lines().any(|l| l.starts_with(&format!("{reason}\t"))), "{reason} missing from {log}");
    }
    assert!(
        log.lines().any(|l| l.starts_with("ticket 3\t") && l.ends_with(&format!("tenant delete {a} --yes"))),
        "{log}"
    );
    std::fs::remove_dir_all(dir).ok();
}
