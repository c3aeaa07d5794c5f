// Bypass attempted: build a RawSql statement without an Admin (struct literal with no
// audit scope).

fn main() {
    let _ = tenantry::RawSql { sql: "DELETE FROM projects", params: Default::default() };
}
