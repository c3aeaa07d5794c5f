// Bypass attempted: turn a cookie value (or the seed's bare `uid` cookie) into a
// `TenantId` or an `Identity` without resolving a session.

use tenantry::TenantId;
use tenantry::auth::{Identity, token_from_cookie_header};

fn main() {
    let header = "__Host-session=00000000-0000-0000-0000-000000000000; uid=00000000-0000-0000-0000-000000000000";
    let value: &str = token_from_cookie_header(header).unwrap();
    let _: TenantId = value.into();
    let _ = TenantId::try_from(value);
    let _: TenantId = token_from_cookie_header(header).unwrap();
    let _ = Identity::default();
}
