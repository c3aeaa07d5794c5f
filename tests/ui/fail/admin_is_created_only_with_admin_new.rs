// Bypass attempted: a second Admin capability that skips the audited `Admin::new`, by
// copying an existing one with struct-update syntax (its field is private).

fn main() {
    let admin = tenantry::Admin::new("once");
    let _copy = tenantry::Admin { ..admin };
}
