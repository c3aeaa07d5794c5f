// Bypass attempted: register migration SQL (it runs unscoped on every tenant's file)
// without a capability.
// Guard: `LayoutBuilder::migrations` takes `&Admin` first.

use tenantry::{Database, Layout};

fn sneak_sql(db: Database) {
    let _ = Layout::builder(db).migrations(&[(2, "DELETE FROM projects")]).build();
}

fn main() {}
