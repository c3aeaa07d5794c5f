// A repeated attribute used to be overwritten silently: the last `#[unique]` won, so
// `#[unique(global)] #[unique]` quietly made a key per tenant. Each repeat is an error.

use tenantry::{Table, TenantId};

#[derive(Table)]
#[table(name = "twice_named", name = "other_name", owned, index(label), index(label))]
pub struct TwiceNamed {
    #[tenant]
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    #[primary_key]
    pub id: i64,
    #[unique(global)]
    #[unique]
    pub code: String,
    #[index]
    #[index]
    pub label: String,
}

fn main() {}
