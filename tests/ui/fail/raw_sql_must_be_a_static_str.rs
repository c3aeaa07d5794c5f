// Bypass attempted: raw SQL assembled at run time from input (SQL injection through the
// Admin path).

fn main() {
    let admin = tenantry::Admin::new("cleanup");
    let table = String::from("projects");
    let _ = admin.raw_sql(&format!("DELETE FROM {table}"));
}
