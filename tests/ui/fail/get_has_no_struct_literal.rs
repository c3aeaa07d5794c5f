// Bypass attempted: a `Get` (the by-key read) written as a struct literal, with a scope
// and values of one's own. Refused: its fields are private, and its scope is of a type
// that only tenantry can name or build.

use tenantry::{Get, Table, TenantId};

#[derive(Table, Debug)]
#[table(name = "projects", owned)]
pub struct Project {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: i64,
}

fn forge<S, V>(scope: S, values: V) -> Get<Project> {
    Get { scope, values, _t: std::marker::PhantomData }
}

fn main() {
    let _ = forge((), ());
}
