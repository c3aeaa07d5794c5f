// Bypass attempted: duplicate an Admin capability (Clone) or conjure one (Default)
// without going through the audited `Admin::new`.

fn main() {
    let _ = tenantry::Admin::default();
    let admin = tenantry::Admin::new("once");
    let _ = admin.clone();
}
