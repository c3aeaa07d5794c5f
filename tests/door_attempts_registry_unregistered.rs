//! Hand-written `Table` impls through `__private` that are never submitted to the link-time
//! registry (no `inventory::submit!`). `check_registry` and `verify_live` walk the
//! registry only, so such a declaration is never validated, never compared with the live
//! schema, and is not refused for a reserved name: the executor's `Check` only asks that a
//! scoped table has *some* tenant column. They do not poison the registry (nothing is
//! registered), but they have their own binary to keep the hostile types apart.
//!
//! Three of the four attempts below (31, 32, 34) got through before the fix: each reached
//! another tenant with no `Admin`. Guard: the renderer's `Check::table` refuses any table
//! whose declaration is not in the registry (`Error::UnregisteredTable`), before any SQL
//! is written; seen failing with that check removed (the three attacks succeeded).
mod common;

use std::sync::Arc;

use common::{NewProject, Project};
use tenantry::__private::{OwnedSeal, Reader, RowSource, TableInfo, TableSeal};
use tenantry::auth::{Auth, MemoryMailer, Merge};
use tenantry::{Admin, Column, ColumnInfo, Error, Owned, SqlKind, SqliteDatabase, Table, TenantId, Value};
use uuid::Uuid;

/// The attacker knows its own account id (it is in its object keys) and hard-codes it.
const ATTACKER: &str = "a77ac4e5-0000-4000-8000-000000000001";

/// A `Table` impl by hand: `$info` describes the table; the row type is empty.
macro_rules! hand_written {
    ($ty:ident, $info:ident, $new:ty, |$n:ident, $out:ident| $push:block) => {
        struct $ty;
        impl TableSeal for $ty {}
        impl OwnedSeal for $ty {}
        impl Owned for $ty {}
        impl Table for $ty {
            const INFO: &'static TableInfo = &$info;
            type Key = String;
            type New = $new;
            fn __decode<R: RowSource + ?Sized>(_: &R, _: usize, _: Reader<'_>) -> tenantry::Result<Self> {
                Ok($ty)
            }
            fn __push_new($n: $new, $out: &mut tenantry::__private::RowValues) $push
            fn __key(&self) -> Value {
                Value::Null
            }
            fn __tenant(&self) -> Option<TenantId> {
                None
            }
        }
    };
}

/// `sessions` (reserved), with the "tenant" marker on `created_at`: a scoped insert binds
/// the attacker's id there, and every other column, `user_id` included, comes from the row.
static SESSION_COLUMNS: [ColumnInfo; 4] = [
    ColumnInfo::new("id", SqlKind::Text, false),
    ColumnInfo::new("user_id", SqlKind::Text, false),
    ColumnInfo::new("expires_at", SqlKind::Text, false),
    ColumnInfo::new("created_at", SqlKind::Text, false),
];
static SESSIONS: TableInfo = TableInfo::new("sessions", &SESSION_COLUMNS, Some(3), 0, &[], &[]);
hand_written!(ForgedSessions, SESSIONS, (String, String, String), |new, out| {
    out.extend([Value::from(new.0), Value::from(new.1), Value::from(new.2)].map(Into::into));
});

/// `projects` with the tenant marker on `name` and `user_id` as plain data.
static PROJECT_COLUMNS: [ColumnInfo; 4] = [
    ColumnInfo::new("user_id", SqlKind::Text, false),
    ColumnInfo::new("id", SqlKind::Uuid, false),
    ColumnInfo::new("name", SqlKind::Text, false),
    ColumnInfo::new("created_at", SqlKind::Text, false),
];
static PROJECTS: TableInfo = TableInfo::new("projects", &PROJECT_COLUMNS, Some(2), 1, &[], &[]);
hand_written!(ForgedProjects, PROJECTS, (), |_new, _out| {});

/// `projects` with a "tenant column" named like the attacker's id: in SQLite an unknown
/// double-quoted name can fall back to a string literal, which would make the tenant
/// predicate `'<id>' = '<id>'`, true for every row.
static DQS_COLUMNS: [ColumnInfo; 5] = [
    ColumnInfo::new("user_id", SqlKind::Text, false),
    ColumnInfo::new("id", SqlKind::Uuid, false),
    ColumnInfo::new("name", SqlKind::Text, false),
    ColumnInfo::new("created_at", SqlKind::Text, false),
    ColumnInfo::new(ATTACKER, SqlKind::Text, false),
];
static DQS: TableInfo = TableInfo::new("projects", &DQS_COLUMNS, Some(4), 1, &[], &[]);
hand_written!(LiteralTenant, DQS, (), |_new, _out| {});

/// `users` (reserved), owned by its own `id`: the attacker's row is "its tenant's row".
static USER_COLUMNS: [ColumnInfo; 2] =
    [ColumnInfo::new("id", SqlKind::Text, false), ColumnInfo::new("email", SqlKind::Text, true)];
static USERS: TableInfo = TableInfo::new("users", &USER_COLUMNS, Some(0), 1, &[], &[]);
hand_written!(ForgedUsers, USERS, (), |_new, _out| {});

fn attacker() -> TenantId {
    Admin::new("test harness: the attacker's own session").mint_tenant(Uuid::parse_str(ATTACKER).unwrap())
}

fn sha256_hex(text: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum (coreutils)");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_owned()
}

fn auth_over(db: &SqliteDatabase) -> (Auth, Arc<MemoryMailer>) {
    let mail = Arc::new(MemoryMailer::default());
    let admin = Admin::new("test harness: the application's auth service");
    (Auth::builder(&admin, db.clone()).mailer(mail.clone()).build().unwrap(), mail)
}

// Attempt 31 (a bypass before the fix): plant a session for the victim. An unregistered hand-written
// `Table` over the reserved `sessions` table puts the tenant marker on `created_at`; the
// attacker's scoped insert writes `id = sha256(token)`, `user_id = <victim>` and resolves
// the token: it now holds the victim's `TenantId`, with no `Admin`. Guard: the
// executor refuses a table whose `INFO` is not a registered, checked declaration (reserved
// names are refused at registration). Before the fix: nothing stopped it.
#[test]
fn an_unregistered_table_cannot_plant_a_session_for_another_user() {
    let db = common::open_seed_db();
    let (auth, _mail) = auth_over(&db);
    let victim = auth.start_anonymous().unwrap();
    let attacker = attacker();
    let token = "5".repeat(64);
    let row = (sha256_hex(&token), victim.identity.tenant().to_string(), "9999-12-31 23:59:59".to_owned());
    let planted = db.execute(tenantry::__private::insert::<ForgedSessions>(&attacker, row));
    let stolen = auth.resolve(&token).unwrap();
    assert!(matches!(planted, Err(Error::UnregisteredTable { table: "sessions" })), "{planted:?}");
    assert!(
        stolen.is_none(),
        "planted session resolved to the victim: {:?} (insert: {planted:?})",
        stolen.map(|i| *i.tenant())
    );
}

// Attempt 32 (a bypass before the fix): write into the victim's tenant. An unregistered hand-written
// `Table` over `projects` with the tenant marker on `name`: the attacker inserts its own
// project named after its own id (ordinary API), then "updates its own rows" through the
// forged table: `UPDATE projects SET user_id = <victim> WHERE name = <attacker>`. The
// `TenantColumnAssigned` check compares with the forged tenant column (`name`), so the
// real tenant column is assignable. Guard: the executor refuses an unregistered
// `INFO` (or `verify_live` covers it). Before the fix: the victim got a row the attacker wrote.
#[test]
fn an_unregistered_table_cannot_move_rows_into_another_tenant() {
    let db = common::open_seed_db();
    let attacker = attacker();
    let victim = TenantId::generate();
    db.execute(Project::insert(
        &attacker,
        NewProject { id: Uuid::new_v4(), name: ATTACKER.into(), created_at: "x".into() },
    ))
    .unwrap();
    let update = tenantry::__private::update::<ForgedProjects>(&attacker)
        .set(Column::<ForgedProjects, String>::__new(0), victim.to_string())
        .all_rows();
    let result = db.execute(update);
    let planted = db.fetch_all(Project::select(&victim)).unwrap();
    assert!(matches!(result, Err(Error::UnregisteredTable { table: "projects" })), "{result:?}");
    assert!(planted.is_empty(), "the victim now owns {planted:?}");
}

// Attempt 33: the string-literal fallback. The forged tenant column is named like the
// attacker's own id, so an unqualified `"<id>" = ?` would be `'<id>' = '<id>'` (true for
// every row) and re-own every tenant's rows to the attacker. Guards: the declaration is not
// registered (`UnregisteredTable`); behind that, every connection tenantry opens has
// double-quoted string literals turned off, so a quoted name that is no column is an error.
#[test]
fn a_tenant_column_named_like_a_literal_matches_no_row() {
    let db = common::open_seed_db();
    let attacker = attacker();
    let victim = TenantId::generate();
    db.execute(Project::insert(
        &victim,
        NewProject { id: Uuid::new_v4(), name: "secret".into(), created_at: "x".into() },
    ))
    .unwrap();
    let update = tenantry::__private::update::<LiteralTenant>(&attacker)
        .set(Column::<LiteralTenant, String>::__new(0), ATTACKER.to_owned())
        .all_rows();
    // Refused before rendering: the declaration is not registered. (Before that check, the
    // second guard held: the column was written `"projects"."<id>"`, and SQLite answered
    // `no such column`; single-table statements now write `"<id>"`, which the connection's
    // DQS setting refuses the same way: tests/doors.rs checks that setting.)
    assert!(matches!(update.to_sql(), Err(Error::UnregisteredTable { .. })));
    let err = db.execute(update).unwrap_err();
    assert!(matches!(err, Error::UnregisteredTable { table: "projects" }), "{err:?}");
    assert_eq!(db.fetch_all(Project::select(&victim)).unwrap().len(), 1);
    assert!(db.fetch_all(Project::select(&attacker)).unwrap().is_empty());
}

// Attempt 34 (a bypass before the fix): pre-claim an address. An unregistered hand-written `Table`
// over the reserved `users` table, "owned" by its `id`, lets the attacker's anonymous user
// set its own `email` to an address nobody has verified. When the real owner of that
// address signs in by magic link, the login lands in the attacker's user (same tenant),
// whose anonymous session the attacker still holds: everything the victim stores is the
// attacker's to read. Guard: as above. Before the fix: the victim signed in to the
// attacker's tenant.
#[test]
fn an_unregistered_table_cannot_claim_an_email_for_an_anonymous_user() {
    let db = common::open_seed_db();
    let (auth, mail) = auth_over(&db);
    let me = auth.start_anonymous().unwrap();
    let claim = tenantry::__private::update::<ForgedUsers>(me.identity.tenant())
        .set(Column::<ForgedUsers, Option<String>>::__new(1), Some("ceo@example.com".to_owned()))
        .all_rows();
    let claimed = db.execute(claim);
    auth.request_link("ceo@example.com", "203.0.113.5", None).unwrap();
    let token = mail.sent()[0].body.split("token=").nth(1).unwrap().trim().to_owned();
    let ceo = auth.verify_link(&token, None, Merge::KeepSeparate).unwrap();
    assert!(matches!(claimed, Err(Error::UnregisteredTable { table: "users" })), "{claimed:?}");
    assert!(
        ceo.session.identity.tenant() != me.identity.tenant(),
        "the CEO signed in to the attacker's tenant (claim: {claimed:?})"
    );
}
