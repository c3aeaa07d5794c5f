// Bypass attempted: build a TenantId with struct-literal syntax (`TenantId { 0: uuid }`)
// or functional record update, without any unsafe code. The field is private.

use tenantry::TenantId;
use uuid::Uuid;

fn main() {
    let _ = TenantId { 0: Uuid::nil() };
    let t = TenantId::generate();
    let _ = TenantId { ..t };
}
