// Bypass attempted: a field that never reaches the key, so two values that differ only in
// that field would share one object.

#[derive(tenantry::ObjectKey)]
#[key("{tenant}/input/{job_id}/video.mp4")]
pub struct InputVideo {
    pub job_id: uuid::Uuid,
    pub version: u64,
}

fn main() {}
