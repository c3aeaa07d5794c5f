// Bypass attempted (red-team finding 2): a data field `USER_ID` next to the tenant column
// `user_id`. SQLite ignores case in names, so `set(Doc::USER_ID(), ..)` would rewrite the
// tenant column. The derive refuses names that differ only in case.

use tenantry::TenantId;
use uuid::Uuid;

#[derive(tenantry::Table)]
#[table(name = "docs", owned)]
#[allow(non_snake_case)]
pub struct Doc {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: Uuid,
    pub USER_ID: String,
}

fn main() {}
