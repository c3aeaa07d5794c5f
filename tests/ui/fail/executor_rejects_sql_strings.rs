// Bypass attempted: run SQL text (`&str` or `String`) on the executor without an Admin.

fn main() {
    let db = tenantry::SqliteDatabase::open_in_memory().unwrap();
    let _ = db.execute("DELETE FROM projects");
    let _ = db.execute(String::from("DELETE FROM projects"));
    let _ = db.fetch_all("SELECT * FROM projects");
    let _ = db.fetch_raw("SELECT * FROM projects", |row| row.get::<_, String>(0));
}
