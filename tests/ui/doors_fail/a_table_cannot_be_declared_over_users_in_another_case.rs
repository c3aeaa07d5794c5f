// Bypass attempted: dodge the reserved-name check with another spelling (`Users`; SQLite
// compares names without case), declared global to read every account.
// Guard: the derive compares reserved names without case.

use tenantry::Table;

#[derive(Table)]
#[table(name = "Users", global)]
pub struct Accounts {
    #[primary_key]
    pub id: String,
    pub email: Option<String>,
}

fn main() {}
