// Bypass attempted: build a TenantId by naming its fields, with any id and a text that
// matches it. The fields are private.

use tenantry::TenantId;
use uuid::Uuid;

fn main() {
    let _ = TenantId { id: Uuid::nil(), text: *b"00000000-0000-0000-0000-000000000000" };
}
