// Bypass attempted: a placeholder with no field behind it (a typo), which would leave a
// segment unfilled.

#[derive(tenantry::ObjectKey)]
#[key("{tenant}/input/{job}/video.mp4")]
pub struct InputVideo {
    pub job_id: uuid::Uuid,
}

fn main() {}
