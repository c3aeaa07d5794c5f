// One mistake in a key declaration gives its own error, not one more for each use of the
// key type (the derive still implements `ObjectKey` beside the error).

use tenantry::{ObjectKey, TenantId};

#[derive(ObjectKey)]
#[key("{tenant}/input/{job}/video.mp4")]
pub struct InputVideo {
    pub job_id: uuid::Uuid,
}

#[derive(ObjectKey)]
pub struct NoTemplate {
    pub job_id: uuid::Uuid,
}

fn main() {
    let t = TenantId::generate();
    let _ = InputVideo { job_id: uuid::Uuid::nil() }.key(&t);
    let _ = NoTemplate { job_id: uuid::Uuid::nil() }.key(&t);
    let _ = InputVideo::prefix(&t);
}
