// Bypass attempted: declare the library's own `oauth_states` table (OAuth sign-ins in
// progress, with their PKCE verifier and nonce) as an owned table. From a red-team read:
// its name was missing from the reserved list.
// Guard: the derive refuses reserved names (and `SqliteDatabase::open` refuses them at run
// time).

use tenantry::{Table, TenantId};

#[derive(Table)]
#[table(name = "oauth_states", owned)]
pub struct MyStates {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub state: String,
    pub verifier: String,
}

fn main() {}
