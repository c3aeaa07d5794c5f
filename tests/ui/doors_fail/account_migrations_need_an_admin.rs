// Bypass attempted: run the account migrations on a database without a capability.
// Guard: `Auth::migrate` takes `&Admin` first.

use tenantry::SqliteDatabase;
use tenantry::auth::Auth;

fn migrate(db: &SqliteDatabase) {
    let _ = Auth::migrate(db);
}

fn main() {}
