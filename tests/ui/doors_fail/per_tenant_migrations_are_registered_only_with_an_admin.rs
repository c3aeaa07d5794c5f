// Bypass attempted: register migration SQL (it runs unscoped on every tenant's file)
// without a capability.
// Guard: `Migrations::new` takes `&Admin`, and `Migrations` has no other constructor
// (no `Default`, no literal: its fields are private).

use tenantry::{SqliteDatabase, Layout, Migrations};

fn sneak_sql(db: SqliteDatabase) {
    let _ = Layout::builder(db.clone()).migrations(&Migrations::new().add(2, "sneak", "DELETE FROM projects")).build();
    let _ = db.migrate(&Migrations::default());
    let _ = db.migrate(&Migrations { steps: Vec::new() });
}

fn main() {}
