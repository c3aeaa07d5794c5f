// Bypass attempted: two tenant columns, so that only one of them is checked.

use tenantry::TenantId;
use uuid::Uuid;

#[derive(tenantry::Table)]
#[table(name = "shared_docs", owned)]
pub struct SharedDoc {
    #[tenant]
    pub user_id: TenantId,
    #[tenant]
    pub other_user_id: TenantId,
    #[primary_key]
    pub id: Uuid,
}

fn main() {}
