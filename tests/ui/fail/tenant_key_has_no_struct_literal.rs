// Bypass attempted: write a `TenantKey` or `TenantPrefix` for any string with a struct
// literal, pairing your own tenant with another tenant's key text.

use tenantry::{TenantId, TenantKey, TenantPrefix};

fn main() {
    let mine = TenantId::generate();
    let _ = TenantKey { tenant: mine, key: String::from("victim/input/x/video.mp4") };
    let _ = TenantPrefix { tenant: mine, prefix: String::from("victim/") };
}
