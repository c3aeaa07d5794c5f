// Normal tenant-scoped reads compile and return only the tenant's rows: select with
// filter/order/limit, get, join, IN (subquery), EXISTS, count/sum, OptionalExtension.

use tenantry::{SqliteDatabase, Error, OptionalExtension, Table, TenantId, exists, not_exists};
use uuid::Uuid;

#[derive(Table, Debug, Clone, PartialEq)]
#[table(name = "projects", owned)]
pub struct Project {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: Uuid,
    pub name: String,
    #[index]
    pub created_at: String,
}

#[derive(Table, Debug, Clone, PartialEq)]
#[table(name = "export_jobs", owned)]
pub struct ExportJob {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: Uuid,
    pub project_id: Uuid,
    pub status: String,
    pub progress: i64,
}

fn project(name: &str, created_at: &str) -> NewProject {
    NewProject { id: Uuid::new_v4(), name: name.into(), created_at: created_at.into() }
}

fn main() -> tenantry::Result<()> {
    let db = SqliteDatabase::open_in_memory()?;
    db.create_table::<Project>()?;
    db.create_table::<ExportJob>()?;
    let alice = TenantId::generate();
    let bob = TenantId::generate();

    let a1 = project("Cup final", "2026-01-01");
    let a2 = project("League final", "2026-02-01");
    let a3 = project("Training", "2026-03-01");
    let b1 = project("Bob's final", "2026-04-01");
    db.execute(Project::insert_many(&alice, [a1.clone(), a2.clone(), a3.clone()]))?;
    db.execute(Project::insert(&bob, b1.clone()))?;
    db.execute(ExportJob::insert(
        &alice,
        NewExportJob { id: Uuid::new_v4(), project_id: a1.id, status: "done".into(), progress: 100 },
    ))?;
    db.execute(ExportJob::insert(
        &alice,
        NewExportJob { id: Uuid::new_v4(), project_id: a2.id, status: "queued".into(), progress: 20 },
    ))?;
    // Bob's job points at Alice's project id: it must never join to her row.
    db.execute(ExportJob::insert(
        &bob,
        NewExportJob { id: Uuid::new_v4(), project_id: a3.id, status: "done".into(), progress: 7 },
    ))?;

    // select / filter / order / limit / offset
    let finals = db.fetch_all(
        Project::select(&alice)
            .filter(Project::name().like("%final%").or(Project::name().eq("nothing")))
            .order_by(Project::created_at().desc())
            .limit(10),
    )?;
    assert_eq!(finals.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["League final", "Cup final"]);
    assert!(finals.iter().all(|p| p.user_id == alice));
    let second = db.fetch_all(Project::select(&alice).order_by(Project::created_at().asc()).offset(1).limit(1))?;
    assert_eq!(second[0].id, a2.id);

    // get: another tenant's row looks missing
    assert_eq!(db.fetch_one(Project::get(&alice, a1.id))?.name, "Cup final");
    assert!(db.fetch_optional(Project::get(&bob, a1.id))?.is_none());
    assert!(matches!(db.fetch_one(Project::get(&bob, a1.id)), Err(Error::NotFound)));
    assert_eq!(db.fetch_one(Project::get(&bob, a1.id)).optional()?, None);
    // A get extended: one more condition, or any `Select` method after `into_select`.
    assert!(db.fetch_optional(Project::get(&alice, a1.id).filter(Project::name().eq("Cup final")))?.is_some());
    assert!(db.fetch_optional(Project::get(&alice, a1.id).filter(Project::name().eq("other")))?.is_none());
    assert_eq!(db.fetch_one(Project::get(&alice, a1.id).into_select().count())?, 1);
    assert_eq!(db.fetch_one(Project::get(&bob, a1.id).into_select().count())?, 0);
    let get = Project::get(&alice, a1.id);
    assert_eq!(get.to_sql()?.params, vec![tenantry::Value::Uuid(alice.as_uuid()), tenantry::Value::Uuid(a1.id)]);
    assert_eq!(db.fetch_one(&get)?.id, db.fetch_one(get.clone())?.id);

    // join: both tables carry the tenant predicate
    let joined = db.fetch_all(
        Project::select(&alice)
            .join::<ExportJob>(ExportJob::project_id().eq_col(Project::id()))
            .filter(ExportJob::status().eq("done")),
    )?;
    assert_eq!(joined.len(), 1);
    assert_eq!((joined[0].0.id, joined[0].1.progress), (a1.id, 100));
    let bobs_join = db.fetch_all(
        Project::select(&bob).join::<ExportJob>(ExportJob::project_id().eq_col(Project::id())),
    )?;
    assert!(bobs_join.is_empty(), "Bob's job must not join Alice's project");

    // IN (subquery), NOT IN, EXISTS, NOT EXISTS
    let with_jobs = db.fetch_all(
        Project::select(&alice).filter(Project::id().in_subquery(ExportJob::subquery().select(ExportJob::project_id()))),
    )?;
    assert_eq!(with_jobs.len(), 2);
    let without = db.fetch_all(
        Project::select(&alice).filter(Project::id().not_in_subquery(ExportJob::subquery().select(ExportJob::project_id()))),
    )?;
    assert_eq!(without.iter().map(|p| p.id).collect::<Vec<_>>(), [a3.id]);
    let done = db.fetch_all(Project::select(&alice).filter(exists(
        ExportJob::subquery()
            .filter(ExportJob::project_id().eq_col(Project::id()))
            .filter(ExportJob::status().eq("done")),
    )))?;
    assert_eq!(done.iter().map(|p| p.id).collect::<Vec<_>>(), [a1.id]);
    // Bob's job on a3 is invisible inside Alice's subquery.
    let idle = db.fetch_all(
        Project::select(&alice)
            .filter(not_exists(ExportJob::subquery().filter(ExportJob::project_id().eq_col(Project::id())))),
    )?;
    assert_eq!(idle.iter().map(|p| p.id).collect::<Vec<_>>(), [a3.id]);

    // count / sum / avg / min / max
    assert_eq!(db.fetch_one(Project::select(&alice).count())?, 3);
    assert_eq!(db.fetch_one(Project::select(&bob).count())?, 1);
    assert_eq!(db.fetch_one(ExportJob::select(&alice).sum(ExportJob::progress()))?, Some(120));
    assert_eq!(db.fetch_one(ExportJob::select(&bob).sum(ExportJob::progress()))?, Some(7));
    assert_eq!(db.fetch_one(ExportJob::select(&alice).avg(ExportJob::progress()))?, Some(60.0));
    assert_eq!(db.fetch_one(Project::select(&alice).max(Project::created_at()))?, Some("2026-03-01".to_owned()));
    let nobody = TenantId::generate();
    assert_eq!(db.fetch_one(ExportJob::select(&nobody).sum(ExportJob::progress()))?, None);

    // to_sql shows the tenant predicate and binds the tenant first
    let sql = Project::select(&alice).filter(Project::name().eq("x")).to_sql()?;
    assert!(sql.text.contains("WHERE user_id = ?"), "{}", sql.text);
    assert_eq!(sql.params[0], tenantry::Value::Uuid(alice.as_uuid()));
    let _ = b1;
    Ok(())
}
