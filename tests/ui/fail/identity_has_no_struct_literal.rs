// Bypass attempted: build an `Identity` (and so a usable tenant) with a struct literal,
// skipping session resolution.

use tenantry::TenantId;
use tenantry::auth::Identity;

fn main() {
    let _ = Identity { tenant: TenantId::generate(), user: todo!(), session: None };
}
