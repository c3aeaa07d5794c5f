//! TEMPORARY red-team scratch; deleted before handing back.
#![allow(non_snake_case, dead_code)]
use tenantry::{Admin, Database, Table, TenantId};
use uuid::Uuid;

#[derive(Table, Debug)]
#[table(name = "projects", owned)]
struct Project {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    id: Uuid,
    name: String,
}

#[derive(Table, Debug)]
#[table(name = "settings", owned)]
struct Setting {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    key: String,
    value: String,
}

// Bypass A: a global "mirror" of an owned SQL table, made joinable by an unsealed marker impl.
#[derive(Table, Debug)]
#[table(name = "projects", global)]
struct AllProjects {
    #[primary_key]
    id: Uuid,
    user_id: String,
    name: String,
}
impl tenantry::Owned for AllProjects {}

// Bypass B: an owned mirror whose data field differs from the tenant column only in case.
#[derive(Table, Debug)]
#[table(name = "projects", owned)]
struct ProjectsCase {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    id: Uuid,
    USER_ID: String,
}

// Bypass C: an owned mirror with `#[tenant]` on a data column, so the real tenant column is a plain field.
#[derive(Table, Debug)]
#[table(name = "projects", owned)]
struct ProjectsPlant {
    #[tenant]
    name: TenantId,
    #[primary_key]
    id: Uuid,
    user_id: String,
}

// Bypass D (hidden API): Assign for TenantColumn, allowed by the orphan rule.
impl tenantry::Assign<Project> for tenantry::TenantColumn<Project> {
    type Value = String;
    fn __index(&self) -> u16 {
        0
    }
}

// Bypass E: fake InSource (unsealed).
#[derive(Table, Debug)]
#[table(name = "feature_flags", global)]
struct FeatureFlag {
    #[primary_key]
    name: String,
    enabled: bool,
}

fn setup() -> (Database, TenantId, TenantId, Uuid) {
    let db = Database::open_in_memory().unwrap();
    db.create_table::<Project>().unwrap();
    db.create_table::<Setting>().unwrap();
    let alice = TenantId::generate();
    let mallory = TenantId::generate();
    let id = Uuid::new_v4();
    db.execute(Project::insert(
        &alice,
        NewProject {
            id,
            name: "alice secret".into(),
        },
    ))
    .unwrap();
    db.execute(Setting::insert(
        &mallory,
        NewSetting {
            key: "k".into(),
            value: "v".into(),
        },
    ))
    .unwrap();
    (db, alice, mallory, id)
}

#[test]
fn a_read_all_tenants_via_global_mirror_join() {
    let (db, alice, mallory, _) = setup();
    let q = Setting::select(&mallory).join::<AllProjects>(AllProjects::name().ne(""));
    println!("{}", q.to_sql().unwrap());
    let rows = db.fetch_all(q).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1.name, "alice secret");
    assert_eq!(rows[0].1.user_id, alice.to_string());
}

#[test]
fn b_case_mirror_moves_rows_to_another_tenant() {
    let (db, alice, mallory, _) = setup();
    let mine = Uuid::new_v4();
    db.execute(Project::insert(
        &mallory,
        NewProject {
            id: mine,
            name: "planted".into(),
        },
    ))
    .unwrap();
    let u = ProjectsCase::update(&mallory)
        .set(ProjectsCase::USER_ID(), alice.to_string())
        .filter(ProjectsCase::id().eq(mine));
    println!("{}", u.to_sql().unwrap());
    assert_eq!(db.execute(u).unwrap(), 1);
    let alices = db.fetch_all(Project::select(&alice)).unwrap();
    assert_eq!(alices.len(), 2, "mallory planted a row in alice's tenant");
}

#[test]
fn c_plant_via_mirror_insert() {
    let (db, alice, mallory, _) = setup();
    let ins = ProjectsPlant::insert(
        &mallory,
        NewProjectsPlant {
            id: Uuid::new_v4(),
            user_id: alice.to_string(),
        },
    );
    println!("{}", ins.to_sql().unwrap());
    db.execute(ins).unwrap();
    let alices = db.fetch_all(Project::select(&alice)).unwrap();
    assert_eq!(alices.len(), 2);
}

#[test]
fn d_assign_tenant_column_hidden_api() {
    let (db, alice, mallory, _) = setup();
    let mine = Uuid::new_v4();
    db.execute(Project::insert(
        &mallory,
        NewProject {
            id: mine,
            name: "planted".into(),
        },
    ))
    .unwrap();
    let u = Project::update(&mallory).set(Project::user_id(), alice.to_string());
    println!("{}", u.to_sql().unwrap());
    assert_eq!(db.execute(u).unwrap(), 1);
    assert_eq!(db.fetch_all(Project::select(&alice)).unwrap().len(), 2);
}

#[test]
fn e_column_new_hidden_api() {
    let (db, alice, mallory, _) = setup();
    let mine = Uuid::new_v4();
    db.execute(Project::insert(
        &mallory,
        NewProject {
            id: mine,
            name: "planted".into(),
        },
    ))
    .unwrap();
    let tenant_col = tenantry::Column::<Project, String>::__new(0);
    let u = Project::update(&mallory).set(tenant_col, alice.to_string());
    assert_eq!(db.execute(u).unwrap(), 1);
    assert_eq!(db.fetch_all(Project::select(&alice)).unwrap().len(), 2);
}

#[test]
fn f_leaked_reason_and_sql() {
    let db = Database::open_in_memory().unwrap();
    let who = String::from("dynamic");
    let admin = Admin::new(Box::leak(format!("reason {who}").into_boxed_str()));
    let sql: &'static str = format!("CREATE TABLE {who} (x TEXT)").leak();
    db.execute(admin.raw_sql(sql)).unwrap();
}

#[test]
fn g_global_table_joined_into_tenant_statement() {
    impl tenantry::Owned for FeatureFlag {}
    let (db, _alice, mallory, _) = setup();
    db.create_table::<FeatureFlag>().unwrap();
    let admin = Admin::new("seed");
    db.execute(FeatureFlag::admin_insert(
        &admin,
        [NewFeatureFlag {
            name: "beta".into(),
            enabled: true,
        }],
    ))
    .unwrap();
    let rows = db
        .fetch_all(Setting::select(&mallory).join::<FeatureFlag>(FeatureFlag::enabled().eq(true)))
        .unwrap();
    assert_eq!(rows.len(), 1);
}

#[test]
fn h_fake_insource_compiles() {
    impl tenantry::InSource<tenantry::Src<Project, tenantry::Nil>, tenantry::Here> for Setting {}
    let (db, _alice, mallory, _) = setup();
    let q = Project::select(&mallory).filter(Setting::key().eq("k"));
    println!("{:?}", q.to_sql());
    println!("{:?}", db.fetch_all(q).map(|v| v.len()));
}

#[test]
fn i_admin_select_mints_tenants_without_mint_audit() {
    let (db, alice, _mallory, _) = setup();
    let admin = Admin::new("list");
    let rows = db.fetch_all(Project::admin_select(&admin)).unwrap();
    assert_eq!(rows[0].user_id, alice);
    let stolen: TenantId = rows[0].user_id;
    assert_eq!(db.fetch_all(Project::select(&stolen)).unwrap().len(), 1);
}
