// Bypass attempted: forge a TenantId by deriving Deserialize on a struct that holds one
// (e.g. a job payload read back from a queue).

use tenantry::TenantId;

#[derive(serde::Deserialize)]
pub struct JobPayload {
    pub tenant: TenantId,
    pub project: uuid::Uuid,
}

fn main() {}
