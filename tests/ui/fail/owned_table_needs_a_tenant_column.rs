// Bypass attempted: an `owned` table with no `#[tenant]` field, which would carry no
// tenant predicate.

use uuid::Uuid;

#[derive(tenantry::Table)]
#[table(name = "docs", owned)]
pub struct Doc {
    #[primary_key]
    pub id: Uuid,
    pub user_id: String,
}

fn main() {}
