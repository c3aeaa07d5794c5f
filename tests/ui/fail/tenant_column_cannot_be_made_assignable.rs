// Bypass attempted (red-team finding 4): implement `Assign` for the tenant column, so that
// `update(...).set(Project::user_id(), ...)` compiles and moves rows to another tenant.
// `Assign` is sealed: it cannot be implemented outside tenantry.

use tenantry::{Assign, Table, TenantColumn, TenantId};
use uuid::Uuid;

#[derive(Table)]
#[table(name = "projects", owned)]
pub struct Project {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: Uuid,
    pub name: String,
}

impl Assign<Project> for TenantColumn<Project> {
    type Value = String;
    fn __index(&self) -> u16 {
        0
    }
}

fn main() {}
