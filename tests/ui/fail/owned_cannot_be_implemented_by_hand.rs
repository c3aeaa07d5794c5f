// Bypass attempted (red-team finding 1): declare a `global` mirror of an owned SQL table,
// mark it `Owned` by hand, and join it into a scoped statement. The mirror has no tenant
// column, so the join would carry no tenant predicate and read every tenant's rows.
// `Owned` is sealed: only the derive implements it.

use tenantry::{Table, TenantId};
use uuid::Uuid;

#[derive(Table)]
#[table(name = "settings", owned)]
pub struct Setting {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub key: String,
    pub value: String,
}

#[derive(Table)]
#[table(name = "all_projects", global)]
pub struct AllProjects {
    #[primary_key]
    pub id: Uuid,
    pub user_id: String,
    pub name: String,
}

impl tenantry::Owned for AllProjects {}

fn main() {
    let t = TenantId::generate();
    let _ = Setting::select(&t).join::<AllProjects>(AllProjects::name().ne(""));
}
