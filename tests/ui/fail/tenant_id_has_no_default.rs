// Bypass attempted: get a TenantId (the nil tenant, shared by every caller) from Default.

use tenantry::TenantId;

fn main() {
    let _ = TenantId::default();
    let _: TenantId = Default::default();
}
