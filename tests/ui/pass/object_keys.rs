// The seed's three kinds of key compile, build, parse back, and stay under their tenant.

use tenantry::{ObjectKey, Segment, TenantId, TenantPrefix};
use uuid::Uuid;

#[derive(ObjectKey, Debug, PartialEq)]
#[key("{tenant}/input/{job_id}/video.mp4")]
struct InputVideo {
    job_id: Uuid,
}

#[derive(ObjectKey, Debug, PartialEq)]
#[key("{tenant}/output/{job_id}/video.mp4")]
struct OutputVideo {
    job_id: Uuid,
}

#[derive(ObjectKey, Debug, PartialEq)]
#[key("{tenant}/thumbnails/{job_id}/{name}")]
struct Thumbnail {
    job_id: Uuid,
    name: Segment,
}

fn main() -> tenantry::Result<()> {
    let t = TenantId::generate();
    let job_id = Uuid::new_v4();
    let input = InputVideo { job_id }.key(&t)?;
    let output = OutputVideo { job_id }.key(&t)?;
    let thumb = Thumbnail { job_id, name: Segment::new("0001.jpg")? }.key(&t)?;
    assert_eq!(input.as_str(), format!("{t}/input/{job_id}/video.mp4"));
    assert_eq!(output.as_str(), format!("{t}/output/{job_id}/video.mp4"));
    assert_eq!(thumb.as_str(), format!("{t}/thumbnails/{job_id}/0001.jpg"));
    for key in [&input, &output, &thumb] {
        assert!(key.starts_with(&TenantPrefix::root(&t)));
    }
    assert_eq!(InputVideo::parse(&t, input.as_str())?, InputVideo { job_id });
    assert_eq!(Thumbnail::parse(&t, thumb.as_str())?.name.as_str(), "0001.jpg");
    assert!(OutputVideo::parse(&t, input.as_str()).is_err());
    Ok(())
}
