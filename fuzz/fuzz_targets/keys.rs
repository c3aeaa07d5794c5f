//! Fuzzes key parsing and segment validation: no input panics; every accepted segment obeys
//! the rules; every key that parses for a tenant re-serialises to the same text and stays
//! under that tenant's prefix.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tenantry::{Admin, ObjectKey, Segment, TenantKey, TenantPrefix};
use uuid::Uuid;

#[derive(ObjectKey, Debug, PartialEq)]
#[key("{tenant}/thumbnails/{job_id}/{name}")]
struct Thumbnail {
    job_id: Uuid,
    name: Segment,
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let tenant = Admin::new("fuzzing key parsing").tenant(Uuid::from_u128(0xf022));

    if let Ok(seg) = Segment::new(text) {
        let s = seg.as_str();
        assert!(!s.is_empty() && s != "." && s != "..");
        assert!(!s.contains(['/', '\\', '%']) && !s.chars().any(char::is_control));
        assert_eq!(s, text, "segments are kept byte for byte");
    }

    // Keys as they might arrive from outside, with and without the tenant in front.
    for candidate in [text.to_owned(), format!("{tenant}/{text}"), format!("{tenant}/thumbnails/{text}")] {
        if let Ok(key) = TenantKey::parse(&tenant, &candidate) {
            assert_eq!(key.as_str(), candidate);
            assert!(key.starts_with(&TenantPrefix::root(&tenant)));
        }
        if let Ok(thumb) = Thumbnail::parse(&tenant, &candidate) {
            assert_eq!(thumb.key(&tenant).unwrap().as_str(), candidate, "parse and key are inverses");
        }
    }
});
