// Bypass attempted: a key template whose first segment is not the tenant, so keys of
// different tenants would share a prefix.

#[derive(tenantry::ObjectKey)]
#[key("input/{tenant}/{job_id}/video.mp4")]
pub struct InputVideo {
    pub job_id: uuid::Uuid,
}

#[derive(tenantry::ObjectKey)]
#[key("{job_id}/video.mp4")]
pub struct NoTenant {
    pub job_id: uuid::Uuid,
}

fn main() {}
