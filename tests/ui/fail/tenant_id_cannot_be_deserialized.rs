// Bypass attempted: forge a TenantId by deserializing attacker-controlled JSON.

use tenantry::TenantId;

fn main() {
    let _ = serde_json::from_str::<TenantId>("\"00000000-0000-0000-0000-000000000000\"");
}
