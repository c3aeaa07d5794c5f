// Bypass attempted: take audited raw SQL made for one purpose and swap its text with
// struct-update syntax (the audit reason would then describe another statement).

fn main() {
    let admin = tenantry::Admin::new("count projects");
    let counted = admin.raw_sql("SELECT COUNT(*) FROM projects");
    let _ = tenantry::RawSql { sql: "DELETE FROM projects", ..counted };
}
