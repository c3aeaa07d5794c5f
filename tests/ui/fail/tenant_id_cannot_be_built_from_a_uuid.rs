// Bypass attempted: forge a TenantId for an arbitrary Uuid, through From/Into or the
// tuple-struct constructor (its field is private).

use tenantry::TenantId;
use uuid::Uuid;

fn main() {
    let _ = TenantId::from(Uuid::nil());
    let _: TenantId = Uuid::nil().into();
    let _ = TenantId(Uuid::nil());
}
