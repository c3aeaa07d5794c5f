// Wrong: a left join of a global table from a tenant's statement. A global table has no
// tenant column to put in the `ON`; reading it takes an `Admin` statement.

use tenantry::{Table, TenantId};

#[derive(Table)]
#[table(name = "projects", owned)]
pub struct Project {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: i64,
    pub plan: String,
}

#[derive(Table)]
#[table(name = "plans", global)]
pub struct Plan {
    #[primary_key]
    pub name: String,
    pub price: i64,
}

fn main() {
    let t = TenantId::generate();
    let _ = Project::select(&t).left_join::<Plan>(Plan::name().eq_col(Project::plan()));
}
