// Bypass attempted: forge a TenantId from text (FromStr via `str::parse`, or TryFrom<&str>).

use tenantry::TenantId;

fn main() {
    let _ = "00000000-0000-0000-0000-000000000000".parse::<TenantId>();
    let _ = TenantId::try_from("00000000-0000-0000-0000-000000000000");
}
