// Bypass attempted: declare a table without saying whether it is owned or global
// (`#[table(name)]` only, or no `#[table]` at all), hoping it is treated as unscoped.

use uuid::Uuid;

#[derive(tenantry::Table)]
#[table(name = "x")]
pub struct NameOnly {
    #[primary_key]
    pub id: Uuid,
}

#[derive(tenantry::Table)]
pub struct NoTableAttr {
    #[primary_key]
    pub id: Uuid,
}

fn main() {}
