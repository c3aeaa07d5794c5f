// Wrong: a column of an alias (`As<Project, 1>`) in a statement that never joined that
// alias. An alias is a table of its statement like any other; its tenant predicate exists
// only where it is joined.

use tenantry::{As, Table, TenantId};

#[derive(Table)]
#[table(name = "projects", owned)]
pub struct Project {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: i64,
    pub parent: Option<i64>,
}

type Parent = As<Project, 1>;

fn main() {
    let t = TenantId::generate();
    let _ = Project::select(&t).filter(Parent::col(Project::id()).eq(1));
}
