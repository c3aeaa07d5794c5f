//! Isolation property test: three tenants with overlapping primary keys run random
//! sequences of every statement kind against a simple in-memory model.
//!
//! Guards checked: (1) the tenant predicate that `where_clause` in `src/query/shape.rs`
//! adds for every owned table of a statement (WHERE, join ON, subqueries), with the tenant
//! column set from the token on insert; (2) the row decoder's check that a returned row
//! carries the statement's tenant (`decode_tenant` in `src/schema.rs`).
//! Seen failing: with (1) removed (`m.scoped` forced to false), the first read of another
//! tenant's row fails with `TenantMismatch` from (2). With (2) also removed, the model
//! comparison fails on its own; minimal case found by proptest: `Insert { t: 0 }` then
//! `SelectNot { t: 1 }` returned tenant 0's row to tenant 1.
//!
//! The same body runs on layouts A, B and C (`Executor`). In B and C it also checks (3)
//! routing: every row in a tenant's file carries that tenant. Seen failing with every
//! tenant routed to one file ("a row in the wrong tenant's file").

mod common;

use std::collections::BTreeMap;

use common::{ExportJob, NewExportJob, NewProject, NewWorkingClip, Project, WorkingClip};
use proptest::prelude::*;
use tenantry::{Admin, Error, Execute, Executor, Fetch, Having, Layout, SqliteDatabase, Table, TenantId, exists};
use uuid::Uuid;

const TENANTS: usize = 3;
/// Every tenant draws its ids from the same small pool, so ids overlap across tenants.
const IDS: u128 = 4;

#[derive(Debug, Clone)]
enum Op {
    Insert {
        t: usize,
        id: u128,
        name: u8,
    },
    InsertMany {
        t: usize,
        ids: Vec<u128>,
        name: u8,
    },
    Upsert {
        t: usize,
        id: u128,
        name: u8,
    },
    Get {
        t: usize,
        id: u128,
    },
    SelectOr {
        t: usize,
        name: u8,
        id: u128,
    },
    SelectNot {
        t: usize,
        name: u8,
    },
    Count {
        t: usize,
    },
    UpdateByKey {
        t: usize,
        id: u128,
        name: u8,
    },
    UpdateOr {
        t: usize,
        name: u8,
        id: u128,
        to: u8,
    },
    DeleteByKey {
        t: usize,
        id: u128,
    },
    DeleteOr {
        t: usize,
        name: u8,
        id: u128,
    },
    DeleteAll {
        t: usize,
    },
    AddJob {
        t: usize,
        project: u128,
        done: bool,
    },
    Join {
        t: usize,
    },
    InSub {
        t: usize,
    },
    Exists {
        t: usize,
    },
    /// `SELECT id, name` (a projection) and `SELECT DISTINCT name`. Projections and groups
    /// return no tenant column, so the row check cannot back them up: the tenant predicate
    /// in the SQL is their guard (on layout A; the file, in B; row-level security, on
    /// PostgreSQL). Seen failing on A with the predicate left out of projections only.
    Project {
        t: usize,
    },
    /// Projects per name: `GROUP BY name` with `COUNT(*)`, and `HAVING COUNT(*) >= 2`.
    GroupCount {
        t: usize,
    },
    /// Every project with its jobs, or `None`: a `LEFT JOIN`.
    LeftJoin {
        t: usize,
    },
    /// Every project, two at a time, by a keyset on (name, id) and its cursors.
    Pages {
        t: usize,
    },
    /// An upsert on a declared unique key (`working_clips.label`): the same label in each
    /// tenant, updating `end_ms` of the tenant's own clip only.
    UpsertLabel {
        t: usize,
        id: u128,
        label: u8,
        end: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let t = 0..TENANTS;
    let id = 0..IDS;
    let name = 0u8..3;
    prop_oneof![
        (t.clone(), id.clone(), name.clone()).prop_map(|(t, id, name)| Op::Insert { t, id, name }),
        (t.clone(), proptest::collection::vec(id.clone(), 0..4), name.clone())
            .prop_map(|(t, ids, name)| Op::InsertMany { t, ids, name }),
        (t.clone(), id.clone(), name.clone()).prop_map(|(t, id, name)| Op::Upsert { t, id, name }),
        (t.clone(), id.clone()).prop_map(|(t, id)| Op::Get { t, id }),
        (t.clone(), name.clone(), id.clone()).prop_map(|(t, name, id)| Op::SelectOr { t, name, id }),
        (t.clone(), name.clone()).prop_map(|(t, name)| Op::SelectNot { t, name }),
        t.clone().prop_map(|t| Op::Count { t }),
        (t.clone(), id.clone(), name.clone()).prop_map(|(t, id, name)| Op::UpdateByKey { t, id, name }),
        (t.clone(), name.clone(), id.clone(), name.clone()).prop_map(|(t, name, id, to)| Op::UpdateOr {
            t,
            name,
            id,
            to
        }),
        (t.clone(), id.clone()).prop_map(|(t, id)| Op::DeleteByKey { t, id }),
        (t.clone(), name.clone(), id.clone()).prop_map(|(t, name, id)| Op::DeleteOr { t, name, id }),
        t.clone().prop_map(|t| Op::DeleteAll { t }),
        (t.clone(), id.clone(), any::<bool>()).prop_map(|(t, project, done)| Op::AddJob { t, project, done }),
        t.clone().prop_map(|t| Op::Join { t }),
        t.clone().prop_map(|t| Op::InSub { t }),
        t.clone().prop_map(|t| Op::Exists { t }),
        t.clone().prop_map(|t| Op::Project { t }),
        t.clone().prop_map(|t| Op::GroupCount { t }),
        t.clone().prop_map(|t| Op::LeftJoin { t }),
        t.clone().prop_map(|t| Op::Pages { t }),
        (t, id.clone(), 0u8..2, 0i64..1000).prop_map(|(t, id, label, end)| Op::UpsertLabel { t, id, label, end }),
    ]
}

/// The model: what each tenant's tables must hold.
#[derive(Default, Debug)]
struct Model {
    projects: BTreeMap<(usize, u128), String>,
    /// (tenant, job number) -> (project id, done)
    jobs: BTreeMap<(usize, u128), (u128, bool)>,
    /// (tenant, label) -> (clip id, end_ms)
    clips: BTreeMap<(usize, u8), (u128, i64)>,
}

fn name(n: u8) -> String {
    // Overlapping names across tenants, with SQL metacharacters for good measure.
    format!("clip-{n}' OR '1'='1")
}

fn uid(n: u128) -> Uuid {
    Uuid::from_u128(0x1000 + n)
}

fn project_rows(rows: Vec<Project>, tenants: &[TenantId]) -> Vec<(usize, u128, String)> {
    let mut out: Vec<_> = rows
        .into_iter()
        .map(|p| {
            let t = tenants.iter().position(|t| *t == p.user_id).expect("known tenant");
            (t, p.id.as_u128() - 0x1000, p.name)
        })
        .collect();
    out.sort();
    out
}

fn expect_projects(model: &Model, t: usize, keep: impl Fn(u128, &str) -> bool) -> Vec<(usize, u128, String)> {
    model
        .projects
        .iter()
        .filter(|((mt, id), n)| *mt == t && keep(*id, n))
        .map(|((mt, id), n)| (*mt, *id, n.clone()))
        .collect()
}

/// Every project row, read around the statements under test: `(tenant index, id, name)`.
type AllRows<'a> = &'a dyn Fn(&[TenantId]) -> Vec<(usize, u128, String)>;

fn tenants() -> Vec<TenantId> {
    let admin = Admin::new("isolation test mints its three tenants");
    (0..TENANTS).map(|i| admin.mint_tenant(Uuid::from_u128(0xa0 + i as u128))).collect()
}

/// What the body needs of an executor: every sync one, and the async ones (driven to
/// completion here), so one body runs on both.
trait Run {
    fn fetch_all<Q: Fetch + Send + Sync + 'static>(&self, q: Q) -> tenantry::Result<Vec<Q::Row>>
    where
        Q::Row: Send + 'static;
    fn fetch_optional<Q: Fetch + Send + Sync + 'static>(&self, q: Q) -> tenantry::Result<Option<Q::Row>>
    where
        Q::Row: Send + 'static;
    fn fetch_one<Q: Fetch + Send + Sync + 'static>(&self, q: Q) -> tenantry::Result<Q::Row>
    where
        Q::Row: Send + 'static,
    {
        self.fetch_optional(q)?.ok_or(Error::NotFound)
    }
    fn execute<S: Execute + Send + Sync + 'static>(&self, s: S) -> tenantry::Result<usize>;
}

impl<E: Executor> Run for E {
    fn fetch_all<Q: Fetch + Send + Sync + 'static>(&self, q: Q) -> tenantry::Result<Vec<Q::Row>>
    where
        Q::Row: Send + 'static,
    {
        Executor::fetch_all(self, q)
    }
    fn fetch_optional<Q: Fetch + Send + Sync + 'static>(&self, q: Q) -> tenantry::Result<Option<Q::Row>>
    where
        Q::Row: Send + 'static,
    {
        Executor::fetch_optional(self, q)
    }
    fn execute<S: Execute + Send + Sync + 'static>(&self, s: S) -> tenantry::Result<usize> {
        Executor::execute(self, s)
    }
}

/// An async executor, each call awaited on a runtime of two workers.
#[cfg(feature = "tokio")]
struct OnAsync<E> {
    rt: tokio::runtime::Runtime,
    db: tenantry::Async<E>,
}

#[cfg(feature = "tokio")]
impl<E: tenantry::AsyncExecutor> OnAsync<E> {
    fn new(db: E) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        OnAsync { rt, db: tenantry::Async::new(db) }
    }
}

#[cfg(feature = "tokio")]
impl<E: tenantry::AsyncExecutor> Run for OnAsync<E> {
    fn fetch_all<Q: Fetch + Send + Sync + 'static>(&self, q: Q) -> tenantry::Result<Vec<Q::Row>>
    where
        Q::Row: Send + 'static,
    {
        self.rt.block_on(self.db.fetch_all(q))
    }
    fn fetch_optional<Q: Fetch + Send + Sync + 'static>(&self, q: Q) -> tenantry::Result<Option<Q::Row>>
    where
        Q::Row: Send + 'static,
    {
        self.rt.block_on(self.db.fetch_optional(q))
    }
    fn execute<S: Execute + Send + Sync + 'static>(&self, s: S) -> tenantry::Result<usize> {
        self.rt.block_on(self.db.execute(s))
    }
}

/// Runs `ops` on `db`. `mixed` is false in the hybrid layout, where projects are per tenant
/// and export jobs shared: statements joining them must fail with `Error::Placement`.
fn run<E: Run>(db: &E, ops: &[Op], all_rows: AllRows<'_>, mixed: bool) -> Result<(), TestCaseError> {
    let tenants = tenants();
    let mut model = Model::default();
    let mut jobs_added = 0u128;
    let new = |id: u128, n: u8| NewProject { id: uid(id), name: name(n), created_at: "2026-11-27".into() };

    for op in ops {
        match op.clone() {
            Op::Insert { t, id, name: n } => {
                let r = db.execute(Project::insert(&tenants[t], new(id, n)));
                match model.projects.entry((t, id)) {
                    std::collections::btree_map::Entry::Occupied(_) => {
                        prop_assert!(matches!(r, Err(Error::Conflict { .. })), "{r:?}");
                    }
                    std::collections::btree_map::Entry::Vacant(slot) => {
                        prop_assert_eq!(r.unwrap(), 1);
                        slot.insert(name(n));
                    }
                }
            }
            Op::InsertMany { t, ids, name: n } => {
                let r = db.execute(Project::insert_many(&tenants[t], ids.iter().map(|id| new(*id, n))));
                let mut seen = std::collections::BTreeSet::new();
                let clash = ids.iter().any(|id| model.projects.contains_key(&(t, *id)) || !seen.insert(*id));
                if clash {
                    // All or nothing: the model stays as it was.
                    prop_assert!(matches!(r, Err(Error::Conflict { .. })), "{r:?}");
                } else {
                    prop_assert_eq!(r.unwrap(), ids.len());
                    for id in ids {
                        model.projects.insert((t, id), name(n));
                    }
                }
            }
            Op::Upsert { t, id, name: n } => {
                prop_assert_eq!(db.execute(Project::upsert(&tenants[t], new(id, n))).unwrap(), 1);
                model.projects.insert((t, id), name(n));
            }
            Op::Get { t, id } => {
                let got = db.fetch_optional(Project::get(&tenants[t], uid(id))).unwrap();
                prop_assert_eq!(
                    got.map(|p| (p.user_id, p.name)),
                    model.projects.get(&(t, id)).map(|n| (tenants[t], n.clone()))
                );
            }
            Op::SelectOr { t, name: n, id } => {
                let rows = db
                    .fetch_all(
                        Project::select(&tenants[t]).filter(Project::name().eq(name(n)).or(Project::id().eq(uid(id)))),
                    )
                    .unwrap();
                let want = expect_projects(&model, t, |pid, pn| pn == name(n) || pid == id);
                prop_assert_eq!(project_rows(rows, &tenants), want);
            }
            Op::SelectNot { t, name: n } => {
                let rows =
                    db.fetch_all(Project::select(&tenants[t]).filter(Project::name().eq(name(n)).not())).unwrap();
                prop_assert_eq!(project_rows(rows, &tenants), expect_projects(&model, t, |_, pn| pn != name(n)));
            }
            Op::Count { t } => {
                let n = db.fetch_one(Project::select(&tenants[t]).count()).unwrap();
                prop_assert_eq!(n as usize, expect_projects(&model, t, |_, _| true).len());
            }
            Op::Project { t } => {
                let rows =
                    db.fetch_all(Project::select(&tenants[t]).columns((Project::id(), Project::name()))).unwrap();
                let mut got: Vec<(usize, u128, String)> =
                    rows.into_iter().map(|(id, n)| (t, id.as_u128() - 0x1000, n)).collect();
                got.sort();
                prop_assert_eq!(got, expect_projects(&model, t, |_, _| true));
                let names = db.fetch_all(Project::select(&tenants[t]).columns((Project::name(),)).distinct()).unwrap();
                let mut got: Vec<String> = names.into_iter().map(|(n,)| n).collect();
                got.sort();
                let mut want: Vec<String> = expect_projects(&model, t, |_, _| true).into_iter().map(|r| r.2).collect();
                want.sort();
                want.dedup();
                prop_assert_eq!(got, want);
            }
            Op::GroupCount { t } => {
                let mut want: BTreeMap<String, i64> = BTreeMap::new();
                for (_, _, n) in expect_projects(&model, t, |_, _| true) {
                    *want.entry(n).or_default() += 1;
                }
                let got: BTreeMap<String, i64> = db
                    .fetch_all(Project::select(&tenants[t]).group_by(Project::name()).count())
                    .unwrap()
                    .into_iter()
                    .collect();
                prop_assert_eq!(&got, &want);
                let busy: BTreeMap<String, i64> = db
                    .fetch_all(
                        Project::select(&tenants[t]).group_by(Project::name()).having(Having::count().ge(2)).count(),
                    )
                    .unwrap()
                    .into_iter()
                    .collect();
                want.retain(|_, n| *n >= 2);
                prop_assert_eq!(busy, want);
            }
            Op::UpdateByKey { t, id, name: n } => {
                let changed = db
                    .execute(
                        Project::update(&tenants[t]).set(Project::name(), name(n)).filter(Project::id().eq(uid(id))),
                    )
                    .unwrap();
                let had = model.projects.get_mut(&(t, id));
                prop_assert_eq!(changed, usize::from(had.is_some()));
                if let Some(v) = had {
                    *v = name(n);
                }
            }
            Op::UpdateOr { t, name: n, id, to } => {
                let changed = db
                    .execute(
                        Project::update(&tenants[t])
                            .set(Project::name(), name(to))
                            .filter(Project::name().eq(name(n)).or(Project::id().eq(uid(id)))),
                    )
                    .unwrap();
                let mut count = 0;
                for ((mt, pid), pn) in model.projects.iter_mut() {
                    if *mt == t && (*pn == name(n) || *pid == id) {
                        *pn = name(to);
                        count += 1;
                    }
                }
                prop_assert_eq!(changed, count);
            }
            Op::DeleteByKey { t, id } => {
                let changed = db.execute(Project::delete_by_key(&tenants[t], uid(id))).unwrap();
                prop_assert_eq!(changed, usize::from(model.projects.remove(&(t, id)).is_some()));
            }
            Op::DeleteOr { t, name: n, id } => {
                let changed = db
                    .execute(
                        Project::delete(&tenants[t]).filter(Project::name().eq(name(n)).or(Project::id().eq(uid(id)))),
                    )
                    .unwrap();
                let before = model.projects.len();
                model.projects.retain(|(mt, pid), pn| !(*mt == t && (*pn == name(n) || *pid == id)));
                prop_assert_eq!(changed, before - model.projects.len());
            }
            Op::DeleteAll { t } => {
                let changed = db.execute(Project::delete(&tenants[t]).all_rows()).unwrap();
                let before = model.projects.len();
                model.projects.retain(|(mt, _), _| *mt != t);
                prop_assert_eq!(changed, before - model.projects.len());
            }
            Op::AddJob { t, project, done } => {
                jobs_added += 1;
                let job = NewExportJob {
                    id: uid(100 + jobs_added),
                    project_id: uid(project),
                    status: if done { "done" } else { "queued" }.into(),
                    progress: 0,
                    output_key: None,
                    created_at: "2026-11-27".into(),
                };
                prop_assert_eq!(db.execute(ExportJob::insert(&tenants[t], job)).unwrap(), 1);
                model.jobs.insert((t, jobs_added), (project, done));
            }
            Op::Join { t } => {
                let rows = db.fetch_all(
                    Project::select(&tenants[t]).join::<ExportJob>(ExportJob::project_id().eq_col(Project::id())),
                );
                if !mixed {
                    prop_assert!(matches!(rows, Err(Error::Placement { .. })), "{rows:?}");
                    continue;
                }
                let rows = rows.unwrap();
                let mut got: Vec<(u128, u128)> =
                    rows.iter().map(|(p, j)| (p.id.as_u128() - 0x1000, j.id.as_u128() - 0x1000 - 100)).collect();
                got.sort();
                let mut want: Vec<(u128, u128)> = model
                    .jobs
                    .iter()
                    .filter(|((jt, _), (project, _))| *jt == t && model.projects.contains_key(&(t, *project)))
                    .map(|((_, job), (project, _))| (*project, *job))
                    .collect();
                want.sort();
                prop_assert!(rows.iter().all(|(p, j)| p.user_id == tenants[t] && j.user_id == tenants[t]));
                prop_assert_eq!(got, want);
            }
            Op::LeftJoin { t } => {
                let rows = db.fetch_all(
                    Project::select(&tenants[t]).left_join::<ExportJob>(ExportJob::project_id().eq_col(Project::id())),
                );
                if !mixed {
                    prop_assert!(matches!(rows, Err(Error::Placement { .. })), "{rows:?}");
                    continue;
                }
                let mut got: Vec<(u128, Option<u128>)> = rows
                    .unwrap()
                    .iter()
                    .map(|(p, j)| (p.id.as_u128() - 0x1000, j.as_ref().map(|j| j.id.as_u128() - 0x1000 - 100)))
                    .collect();
                got.sort();
                let mut want: Vec<(u128, Option<u128>)> = Vec::new();
                for (_, pid, _) in expect_projects(&model, t, |_, _| true) {
                    let jobs: Vec<u128> = model
                        .jobs
                        .iter()
                        .filter(|((jt, _), (project, _))| *jt == t && *project == pid)
                        .map(|((_, job), _)| *job)
                        .collect();
                    if jobs.is_empty() {
                        want.push((pid, None));
                    }
                    want.extend(jobs.into_iter().map(|j| (pid, Some(j))));
                }
                want.sort();
                prop_assert_eq!(got, want);
            }
            Op::Pages { t } => {
                let pages = Project::select(&tenants[t]).keyset((Project::name().asc(), Project::id().asc())).unwrap();
                let mut got: Vec<(usize, u128, String)> = Vec::new();
                let mut page = db.fetch_all(pages.first(2)).unwrap();
                while let Some(last) = page.last() {
                    let cursor = pages.parse_cursor(&pages.cursor(last).to_string()).unwrap();
                    got.extend(project_rows(std::mem::take(&mut page), &tenants));
                    page = db.fetch_all(pages.after(&cursor, 2).unwrap()).unwrap();
                }
                let mut want = expect_projects(&model, t, |_, _| true);
                want.sort_by(|a, b| a.2.cmp(&b.2).then(uid(a.1).cmp(&uid(b.1))));
                got.sort_by(|a, b| a.2.cmp(&b.2).then(uid(a.1).cmp(&uid(b.1))));
                prop_assert_eq!(got, want);
            }
            Op::UpsertLabel { t, id, label, end } => {
                let clip = NewWorkingClip {
                    id: uid(500 + id),
                    project_id: uid(0),
                    start_ms: 0,
                    end_ms: end,
                    label: Some(format!("take {label}")),
                };
                let upsert = WorkingClip::insert(&tenants[t], clip)
                    .on_conflict((WorkingClip::label(),))
                    .do_update((WorkingClip::end_ms(),));
                match db.execute(upsert) {
                    Ok(n) => {
                        prop_assert_eq!(n, 1);
                        let entry = model.clips.entry((t, label)).or_insert((id, end));
                        entry.1 = end;
                    }
                    // The label is new but the id is this tenant's other clip: the primary
                    // key conflicts, which this upsert does not handle.
                    Err(Error::Conflict { .. }) => {
                        prop_assert!(!model.clips.contains_key(&(t, label)));
                        prop_assert!(model.clips.iter().any(|((ct, _), (cid, _))| *ct == t && *cid == id));
                    }
                    Err(e) => return Err(TestCaseError::fail(format!("{e:?}"))),
                }
                for (i, tenant) in tenants.iter().enumerate() {
                    let mut got: Vec<(String, u128, i64)> = db
                        .fetch_all(WorkingClip::select(tenant))
                        .unwrap()
                        .into_iter()
                        .map(|c| (c.label.unwrap_or_default(), c.id.as_u128() - 0x1000 - 500, c.end_ms))
                        .collect();
                    got.sort();
                    let want: Vec<(String, u128, i64)> = model
                        .clips
                        .iter()
                        .filter(|((ct, _), _)| *ct == i)
                        .map(|((_, l), (cid, e))| (format!("take {l}"), *cid, *e))
                        .collect();
                    prop_assert_eq!(got, want, "tenant {}", i);
                }
            }
            Op::InSub { t } => {
                let rows = db.fetch_all(Project::select(&tenants[t]).filter(Project::id().in_subquery(
                    ExportJob::subquery().filter(ExportJob::status().eq("done")).select(ExportJob::project_id()),
                )));
                if !mixed {
                    prop_assert!(matches!(rows, Err(Error::Placement { .. })), "{rows:?}");
                    continue;
                }
                let rows = rows.unwrap();
                let want = expect_projects(&model, t, |pid, _| {
                    model.jobs.iter().any(|((jt, _), (p, d))| *jt == t && *p == pid && *d)
                });
                prop_assert_eq!(project_rows(rows, &tenants), want);
            }
            Op::Exists { t } => {
                let rows = db.fetch_all(
                    Project::select(&tenants[t])
                        .filter(exists(ExportJob::subquery().filter(ExportJob::project_id().eq_col(Project::id())))),
                );
                if !mixed {
                    prop_assert!(matches!(rows, Err(Error::Placement { .. })), "{rows:?}");
                    continue;
                }
                let rows = rows.unwrap();
                let want = expect_projects(&model, t, |pid, _| {
                    model.jobs.iter().any(|((jt, _), (p, _))| *jt == t && *p == pid)
                });
                prop_assert_eq!(project_rows(rows, &tenants), want);
            }
        }
        // After every step, the whole table (all tenants, read through the audited admin
        // path) equals the model: no write reached another tenant's rows.
        let want: Vec<_> = model.projects.iter().map(|((t, id), n)| (*t, *id, n.clone())).collect();
        prop_assert_eq!(all_rows(&tenants), want);
    }
    Ok(())
}

/// Layout A: the whole table, read through the audited admin path.
fn shared_rows(db: &SqliteDatabase) -> impl Fn(&[TenantId]) -> Vec<(usize, u128, String)> + '_ {
    move |tenants| {
        let admin = Admin::new("isolation test reads the whole projects table");
        project_rows(db.fetch_all(Project::admin_select(&admin)).unwrap(), tenants)
    }
}

/// Layouts B and C: every row in every tenant's file, read with raw SQL (no tenant
/// predicate), each checked to carry the tenant of the file it is in.
fn file_rows(layout: &Layout) -> impl Fn(&[TenantId]) -> Vec<(usize, u128, String)> + '_ {
    move |tenants| {
        let admin = Admin::new("isolation test reads every tenant file");
        let mut out = Vec::new();
        for (i, t) in tenants.iter().enumerate() {
            let db = layout.tenant_database(t).unwrap();
            let rows: Vec<(String, String, String)> = db
                .fetch_raw(admin.raw_sql("SELECT user_id, id, name FROM projects"), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .unwrap();
            for (owner, id, name) in rows {
                assert_eq!(owner, t.to_string(), "a row in the wrong tenant's file");
                out.push((i, Uuid::parse_str(&id).unwrap().as_u128() - 0x1000, name));
            }
        }
        out.sort();
        out
    }
}

fn layout(hybrid: bool) -> (Layout, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("tenantry-isolation-{}", Uuid::new_v4()));
    let mut builder = Layout::builder(SqliteDatabase::open_in_memory().unwrap()).per_tenant(dir.join("tenants"));
    if hybrid {
        builder = builder.shared_tables(&[ExportJob::INFO]);
    }
    (builder.build().unwrap(), dir)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Layout A: one shared database.
    #[test]
    fn no_statement_reaches_another_tenant(ops in proptest::collection::vec(op(), 1..60)) {
        let db = common::open_seed_db();
        run(&db, &ops, &shared_rows(&db), true)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Layout B: every owned table in one file per tenant (the tenant predicate still in
    /// the SQL, so a row in the wrong file stays invisible).
    #[test]
    fn no_statement_reaches_another_tenant_per_tenant_files(ops in proptest::collection::vec(op(), 1..60)) {
        let (layout, dir) = layout(false);
        let result = run(&layout, &ops, &file_rows(&layout), true);
        std::fs::remove_dir_all(dir).ok();
        result?;
    }

    /// Layout C: projects per tenant, export jobs shared.
    #[test]
    fn no_statement_reaches_another_tenant_hybrid(ops in proptest::collection::vec(op(), 1..60)) {
        let (layout, dir) = layout(true);
        let result = run(&layout, &ops, &file_rows(&layout), false);
        std::fs::remove_dir_all(dir).ok();
        result?;
    }
}

#[cfg(feature = "tokio")]
proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The same body through the async executor (`Async<Layout>`, statements on tokio's
    /// blocking pool), on A, B and C.
    #[test]
    fn no_statement_reaches_another_tenant_async(ops in proptest::collection::vec(op(), 1..60), kind in 0..3u8) {
        let (db, dir) = match kind {
            0 => (Layout::shared(common::open_seed_db()).unwrap(), None),
            _ => {
                let (layout, dir) = layout(kind == 2);
                (layout, Some(dir))
            }
        };
        let result = match kind {
            0 => {
                let shared = db.shared_database().clone();
                run(&OnAsync::new(db), &ops, &shared_rows(&shared), true)
            }
            _ => run(&OnAsync::new(db.clone()), &ops, &file_rows(&db), kind == 1),
        };
        if let Some(dir) = dir {
            std::fs::remove_dir_all(dir).ok();
        }
        result?;
    }
}

/// PostgreSQL: the same body through the application role (row-level security on), the
/// whole table read through the audited admin connection; and once more with the tenant
/// statements sent through the admin role too, which has `BYPASSRLS`, so that the tenant
/// predicates in the SQL are the only guard (a deployment whose application role gets
/// past the policies; `check_rls` would refuse it, but it is not run here).
#[cfg(feature = "postgres")]
mod on_postgres {
    use super::*;
    use std::sync::Once;
    use tenantry::PgDatabase;

    static SCHEMA: Once = Once::new();
    /// The two PostgreSQL properties share the tables: one at a time.
    static SERVER: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// Runs `ops` on emptied tables, through the blocking `PgDatabase` or `Async` on it;
    /// tenant statements through the application role, or (`rls: false`) the admin role.
    fn on_postgres(ops: &[Op], asynchronous: bool, rls: bool) -> Result<(), TestCaseError> {
        let Some(urls) = common::pg::urls() else { return Ok(()) };
        let _serial = SERVER.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        SCHEMA.call_once(|| common::pg::reset_schema(&urls));
        common::pg::truncate(&urls);
        let tenants = if rls { &urls.app } else { &urls.admin };
        let db = PgDatabase::connect(tenants, 2).unwrap().with_admin(&urls.admin, 1).unwrap();
        let all = |tenants: &[TenantId]| {
            let admin = Admin::new("isolation test reads the whole projects table on PostgreSQL");
            project_rows(db.fetch_all(Project::admin_select(&admin)).unwrap(), tenants)
        };
        if asynchronous { run(&OnAsync::new(db.clone()), ops, &all, true) } else { run(&db, ops, &all, true) }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn no_statement_reaches_another_tenant_postgres(ops in proptest::collection::vec(op(), 1..40)) {
            on_postgres(&ops, false, true)?;
        }

        /// The same through `Async<PgDatabase>` (natively async, one round trip each).
        #[test]
        fn no_statement_reaches_another_tenant_postgres_async(ops in proptest::collection::vec(op(), 1..40)) {
            on_postgres(&ops, true, true)?;
        }

        /// The same with row-level security out of the way. Guard: the tenant predicate
        /// in each statement's SQL (and the row check, for statements that return the
        /// tenant column). Seen failing with the predicate left out of projections, which
        /// the run with row-level security does not notice.
        #[test]
        fn no_statement_reaches_another_tenant_postgres_without_rls(ops in proptest::collection::vec(op(), 1..40)) {
            on_postgres(&ops, false, false)?;
        }
    }
}
