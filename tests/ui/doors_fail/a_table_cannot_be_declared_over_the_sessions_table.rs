// Bypass attempted: declare the library's own `sessions` table as an owned table, so a
// scoped insert can plant a session row (and so a session) for any user id.
// Guard: the derive refuses reserved names.

use tenantry::{Table, TenantId};

#[derive(Table)]
#[table(name = "sessions", owned)]
pub struct MySessions {
    #[tenant]
    pub created_at: TenantId,
    #[primary_key]
    pub id: String,
    pub user_id: String,
    pub expires_at: String,
}

fn main() {}
