// Bypass attempted: build a second auth service over the shared database (it can sign in
// to any account and read every link) without a capability.
// Guard: `Auth::builder` takes `&Admin` first.

use tenantry::SqliteDatabase;
use tenantry::auth::Auth;

fn second_service(db: SqliteDatabase) {
    let _ = Auth::builder(db).build();
}

fn main() {}
