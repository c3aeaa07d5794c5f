// Bypass attempted: hand the executor a sea-query statement built by hand, which has
// no tenant predicate.

use sea_query::{Expr, ExprTrait, Query};

fn main() {
    let db = tenantry::SqliteDatabase::open_in_memory().unwrap();
    let mut update = Query::update();
    update.table("projects").value("name", "pwned");
    let _ = db.execute(update);
    let mut select = Query::select();
    select.column("name").from("projects").and_where(Expr::col("id").eq(1));
    let _ = db.fetch_all(select);
}
