// Bypass attempted: functional record update (`TenantId { ..t }`) to copy a token while
// replacing its private fields. The fields are private, so even the plain copy is refused.

use tenantry::TenantId;

fn main() {
    let t = TenantId::generate();
    let _ = TenantId { ..t };
}
