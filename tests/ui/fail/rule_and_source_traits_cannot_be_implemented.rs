// Bypass attempted (red-team review): implement the trait that only names a rule, to turn
// `Project::user_id().eq(..)` into code that compiles; and extend the type-level table
// list with an `Append` of one's own, to bring in a seventh table.

use tenantry::{Table, TenantColumn, TenantId, TenantPredicateIsImplicit};

#[derive(Table)]
#[table(name = "projects", owned)]
pub struct Project {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: i64,
}

impl TenantPredicateIsImplicit<Project> for TenantColumn<Project> {}

pub struct Mine;
impl tenantry::source::Append<Mine> for tenantry::source::Tables<Project, tenantry::source::End> {
    type Out = tenantry::source::Tables<Project, tenantry::source::End>;
}

fn main() {}
