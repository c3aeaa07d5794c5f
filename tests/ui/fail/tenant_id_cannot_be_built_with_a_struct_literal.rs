// Bypass attempted: build a TenantId with struct-literal syntax, by position
// (`TenantId { 0: uuid }`), without any unsafe code. (By field name and by functional
// record update: the two files beside this one.)

use tenantry::TenantId;
use uuid::Uuid;

fn main() {
    let _ = TenantId { 0: Uuid::nil() };
}
