// Bypass attempted: a `global` table with a `#[tenant]` field (unscoped statements on
// per-tenant rows without Admin), and a table declared both owned and global.

use tenantry::TenantId;
use uuid::Uuid;

#[derive(tenantry::Table)]
#[table(name = "docs", global)]
pub struct Doc {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: Uuid,
}

#[derive(tenantry::Table)]
#[table(name = "notes", owned, global)]
pub struct Note {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: Uuid,
}

fn main() {}
