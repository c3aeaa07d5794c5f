// Bypass attempted: a `#[tenant]` field typed as a plain String or Uuid, so rows carry
// a forgeable tenant value.

use uuid::Uuid;

#[derive(tenantry::Table)]
#[table(name = "docs", owned)]
pub struct Doc {
    #[tenant]
    pub user_id: String,
    #[primary_key]
    pub id: Uuid,
}

fn main() {}
