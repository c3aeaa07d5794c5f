// Bypass attempted: literal segments that traverse (`..`), are empty (`//`, trailing `/`),
// carry characters outside `A-Z a-z 0-9 . _ -`, or glue a placeholder to text.

#[derive(tenantry::ObjectKey)]
#[key("{tenant}/../{job_id}")]
pub struct Traversal {
    pub job_id: uuid::Uuid,
}

#[derive(tenantry::ObjectKey)]
#[key("{tenant}//{job_id}/")]
pub struct Empty {
    pub job_id: uuid::Uuid,
}

#[derive(tenantry::ObjectKey)]
#[key("{tenant}/in%2Fput/{job_id}")]
pub struct Encoded {
    pub job_id: uuid::Uuid,
}

#[derive(tenantry::ObjectKey)]
#[key("{tenant}/frames/{n}.bin")]
pub struct Glued {
    pub n: u64,
}

fn main() {}
