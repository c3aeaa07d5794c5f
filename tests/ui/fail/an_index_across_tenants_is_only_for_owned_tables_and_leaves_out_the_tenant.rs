use tenantry::{Table, TenantId};

#[derive(Table)]
#[table(name = "flags", global, index_across_tenants(name))]
pub struct Flag {
    #[primary_key]
    pub name: String,
}

#[derive(Table)]
#[table(name = "queue", owned, index_across_tenants(user_id, status))]
pub struct Job {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: i64,
    pub status: String,
}

fn main() {}
