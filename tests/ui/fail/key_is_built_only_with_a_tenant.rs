// Bypass attempted: build a tenant key without a `TenantId`: from a bare Uuid or from a
// string (the struct literal is in `tenant_key_has_no_struct_literal.rs`).

use tenantry::{ObjectKey, TenantKey, TenantPrefix};

#[derive(ObjectKey)]
#[key("{tenant}/input/{job_id}/video.mp4")]
pub struct InputVideo {
    pub job_id: uuid::Uuid,
}

fn main() {
    let video = InputVideo { job_id: uuid::Uuid::nil() };
    let _ = video.key(&uuid::Uuid::nil());
    let _ = video.key("00000000-0000-0000-0000-000000000000");
    let _ = TenantPrefix::root(&uuid::Uuid::nil());
    let _: TenantKey = "someone/input/x/video.mp4".parse().unwrap();
}
