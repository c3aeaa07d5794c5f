//! Object keys: built only from a tenant and typed segments, validated, injective, and
//! parsed back only for the tenant they belong to.

use insta::assert_snapshot;
use proptest::prelude::*;
use tenantry::{Admin, Error, KeyRule, ObjectKey, Segment, TenantId, TenantKey, TenantPrefix};
use uuid::Uuid;

/// The seed's three kinds of key.
#[derive(ObjectKey, Debug, Clone, PartialEq)]
#[key("{tenant}/input/{job_id}/video.mp4")]
struct InputVideo {
    job_id: Uuid,
}

#[derive(ObjectKey, Debug, Clone, PartialEq)]
#[key("{tenant}/output/{job_id}/video.mp4")]
struct OutputVideo {
    job_id: Uuid,
}

#[derive(ObjectKey, Debug, Clone, PartialEq)]
#[key("{tenant}/thumbnails/{job_id}/{name}")]
struct Thumbnail {
    job_id: Uuid,
    name: Segment,
}

fn tenant(n: u128) -> TenantId {
    Admin::new("object key tests use fixed tenants").mint_tenant(Uuid::from_u128(n))
}

fn rule(r: tenantry::Result<impl std::fmt::Debug>) -> KeyRule {
    match r {
        Err(Error::InvalidKey { rule }) => rule,
        other => panic!("expected an invalid-key error, got {other:?}"),
    }
}

#[test]
fn keys_and_prefixes_for_fixed_ids() {
    let (a, b) = (tenant(0xa), tenant(0xab));
    let job = Uuid::from_u128(0x1234);
    let name = Segment::new("cover ✓.jpg").unwrap();
    let lines = [
        InputVideo { job_id: job }.key(&a).unwrap().to_string(),
        OutputVideo { job_id: job }.key(&a).unwrap().to_string(),
        Thumbnail { job_id: job, name }.key(&a).unwrap().to_string(),
        InputVideo::prefix(&a).as_str().to_owned(),
        OutputVideo::prefix(&b).as_str().to_owned(),
        Thumbnail::prefix(&b).as_str().to_owned(),
        TenantPrefix::root(&a).as_str().to_owned(),
        TenantPrefix::root(&b).child(&Segment::new("exports").unwrap()).as_str().to_owned(),
    ];
    assert_snapshot!("object_keys", lines.join("\n"));
}

#[test]
fn every_bad_segment_is_rejected_with_its_rule() {
    let too_long = "x".repeat(241);
    let cases: &[(&str, KeyRule)] = &[
        ("", KeyRule::Empty),
        (".", KeyRule::DotSegment),
        ("..", KeyRule::DotSegment),
        ("a/b", KeyRule::Separator),
        ("/", KeyRule::Separator),
        ("a\\b", KeyRule::Separator),
        ("nul\0byte", KeyRule::Control),
        ("tab\there", KeyRule::Control),
        ("del\u{7f}", KeyRule::Control),
        ("c1\u{85}", KeyRule::Control),
        ("%2e%2e", KeyRule::Percent),
        ("%2F", KeyRule::Percent),
        ("..%2F..", KeyRule::Percent),
        ("zero\u{200B}width", KeyRule::Invisible),
        ("rtl\u{202E}gpj.exe", KeyRule::Invisible),
        ("bom\u{FEFF}", KeyRule::Invisible),
        ("e\u{301}", KeyRule::NotNfc),
        ("\u{212B}", KeyRule::NotNfc), // ANGSTROM SIGN: NFC turns it into U+00C5
        ("star*", KeyRule::Reserved),
        ("a+b", KeyRule::Reserved),
        ("line\u{2028}sep", KeyRule::Invisible),
        ("tag\u{E0041}", KeyRule::Invisible),
        ("hangul\u{3164}filler", KeyRule::Invisible),
        (too_long.as_str(), KeyRule::SegmentTooLong),
    ];
    for (input, want) in cases {
        assert_eq!(rule(Segment::new(*input)), *want, "{input:?}");
    }
    // The NFC spellings of the same text are accepted, byte for byte.
    assert_eq!(Segment::new("\u{e9}").unwrap().as_str(), "\u{e9}");
    assert_eq!(Segment::new("\u{c5}").unwrap().as_str(), "\u{c5}");
}

#[test]
fn keys_over_1024_bytes_are_rejected() {
    #[derive(ObjectKey)]
    #[key("{tenant}/a/{one}/{two}/{three}/{four}/{five}")]
    struct Deep {
        one: Segment,
        two: Segment,
        three: Segment,
        four: Segment,
        five: Segment,
    }
    let t = tenant(1);
    let seg = |n: usize| Segment::new("é".repeat(n)).unwrap(); // 2 bytes a char
    // 36 (tenant) + 2 ("/a") + 5 * (1 + 2n) bytes.
    let fits = |n| Deep { one: seg(n), two: seg(n), three: seg(n), four: seg(n), five: seg(n) };
    let exact = fits(98); // 36 + 2 + 5 * 197 = 1023 (segments of 196 bytes)
    assert_eq!(exact.key(&t).unwrap().as_str().len(), 1023);
    let over = Deep { one: seg(99), ..fits(98) }; // 1025
    assert_eq!(rule(over.key(&t)), KeyRule::TooLong);
    let long = format!("{}/a/{}", TenantPrefix::root(&t).as_str().trim_end_matches('/'), "x/".repeat(600));
    assert_eq!(rule(TenantKey::parse(&t, &long)), KeyRule::TooLong);
}

#[test]
fn parsing_checks_tenant_template_and_segments() {
    let (a, b) = (tenant(0xa), tenant(0xb));
    let job = Uuid::from_u128(0xabc7); // has hex letters, so upper case differs
    let key = InputVideo { job_id: job }.key(&a).unwrap();
    assert_eq!(InputVideo::parse(&a, key.as_str()).unwrap(), InputVideo { job_id: job });
    // Another tenant's key is an error that names no tenant.
    let err = InputVideo::parse(&b, key.as_str()).unwrap_err();
    assert_eq!(rule(Err::<(), _>(err)), KeyRule::ForeignTenant);
    let err = InputVideo::parse(&b, key.as_str()).unwrap_err().to_string();
    assert!(!err.contains(&a.to_string()) && !err.contains(&job.to_string()), "{err}");
    // Wrong template, trailing slash, extra segments, upper-case id, traversal.
    let a_text = a.to_string();
    for bad in [
        format!("{a_text}/output/{job}/video.mp4"),
        format!("{a_text}/input/{job}/video.mp4/"),
        format!("{a_text}/input/{job}/video.mp4/extra"),
        format!("{a_text}/input/{}/video.mp4", job.to_string().to_uppercase()),
        format!("{a_text}/input/../video.mp4"),
        format!("{a_text}/input/{job}"),
        a_text.clone(),
        format!("/{a_text}/input/{job}/video.mp4"),
        format!("{}/input/{job}/video.mp4", a_text.to_uppercase()),
    ] {
        assert!(InputVideo::parse(&a, &bad).is_err(), "{bad}");
    }
    // A listing result is parsed back under its prefix only.
    let prefix = InputVideo::prefix(&a);
    assert_eq!(prefix.key(key.as_str()).unwrap(), key);
    assert_eq!(rule(OutputVideo::prefix(&a).key(key.as_str())), KeyRule::OutsidePrefix);
}

#[test]
fn numeric_segments_have_one_spelling() {
    #[derive(ObjectKey, Debug, PartialEq)]
    #[key("{tenant}/frames/{n}/frame.bin")]
    struct Frame {
        n: u64,
    }
    let t = tenant(3);
    let key = Frame { n: 7 }.key(&t).unwrap();
    assert_eq!(Frame::parse(&t, key.as_str()).unwrap(), Frame { n: 7 });
    for other in ["007", "+7", "7.0", " 7", "18446744073709551616"] {
        assert!(Frame::parse(&t, &key.as_str().replace("/7/", &format!("/{other}/"))).is_err(), "{other}");
    }
}

fn segment_text() -> impl Strategy<Value = String> {
    // Printable text from several scripts, with the separators and dots mixed in.
    proptest::string::string_regex("[a-zA-Zé日本ß0-9 ._\\-/\\\\%]{0,12}").unwrap()
}

proptest! {
    /// Every accepted segment obeys the rules, and keys built from them have the template's
    /// shape, round-trip through `parse`, and stay under the tenant's prefixes.
    #[test]
    fn accepted_keys_round_trip(a in segment_text(), job in any::<u128>()) {
        let t = tenant(0xfeed);
        if let Ok(name) = Segment::new(a.clone()) {
            prop_assert!(name.as_str() != "." && name.as_str() != ".." && !name.as_str().contains('/'));
            prop_assert!(!name.as_str().contains('\\') && !name.as_str().contains('%') && !name.as_str().is_empty());
            let thumb = Thumbnail { job_id: Uuid::from_u128(job), name };
            let key = thumb.key(&t).unwrap();
            let segs: Vec<&str> = key.as_str().split('/').collect();
            prop_assert_eq!(segs.len(), 4);
            prop_assert_eq!(segs[0], t.to_string());
            prop_assert_eq!(segs[1], "thumbnails");
            prop_assert!(key.starts_with(&Thumbnail::prefix(&t)) && key.starts_with(&TenantPrefix::root(&t)));
            prop_assert_eq!(Thumbnail::parse(&t, key.as_str()).unwrap(), thumb);
        } else {
            let is_bad = a.is_empty() || a == "." || a == ".." || a.contains(['/', '\\', '%']);
            prop_assert!(is_bad, "rejected a valid segment {:?}", a);
        }
    }

    /// Distinct inputs give distinct keys (the encoding is injective).
    #[test]
    fn distinct_inputs_give_distinct_keys(
        a in segment_text(), b in segment_text(), ja in 0u128..4, jb in 0u128..4, ta in 0u128..3, tb in 0u128..3,
    ) {
        if let (Ok(na), Ok(nb)) = (Segment::new(a), Segment::new(b)) {
            let ka = Thumbnail { job_id: Uuid::from_u128(ja), name: na.clone() }.key(&tenant(ta)).unwrap();
            let kb = Thumbnail { job_id: Uuid::from_u128(jb), name: nb.clone() }.key(&tenant(tb)).unwrap();
            let same_input = (ta, ja, &na) == (tb, jb, &nb);
            prop_assert_eq!(ka.as_str() == kb.as_str(), same_input);
        }
    }

    /// Two tenants' prefixes never overlap, even when one id's text starts another's.
    #[test]
    fn tenant_prefixes_never_overlap(x in any::<u128>(), y in any::<u128>()) {
        prop_assume!(x != y);
        let (px, py) = (TenantPrefix::root(&tenant(x)), TenantPrefix::root(&tenant(y)));
        prop_assert!(px.as_str().ends_with('/') && py.as_str().ends_with('/'));
        prop_assert!(!px.as_str().starts_with(py.as_str()) && !py.as_str().starts_with(px.as_str()));
        let (ix, iy) = (InputVideo::prefix(&tenant(x)), InputVideo::prefix(&tenant(y)));
        prop_assert!(!ix.as_str().starts_with(iy.as_str()) && !iy.as_str().starts_with(ix.as_str()));
    }

    /// Segment byte limits hold exactly, with multi-byte characters at the boundary.
    #[test]
    fn segment_byte_limit_with_multibyte_chars(ascii in 0usize..260, wide in prop::sample::select(vec!["é", "日", "😀"])) {
        let s = format!("{}{}", "a".repeat(ascii), wide);
        let ok = Segment::new(s.clone()).is_ok();
        prop_assert_eq!(ok, s.len() <= tenantry::MAX_SEGMENT_BYTES);
    }
}

/// A user id type whose `write_segment` assigns instead of appending (a plausible bug, or
/// abuse): red-team finding H2. The writer hands impls a fresh string, so the impl cannot
/// rewrite the tenant prefix, and whatever it writes is validated as one segment.
#[derive(Clone, Debug)]
struct Assigning(String);

impl tenantry::KeySegment for Assigning {
    fn write_segment(&self, out: &mut String) {
        *out = self.0.clone();
    }
    fn read_segment(s: &str) -> Option<Self> {
        Some(Assigning(s.to_owned()))
    }
}

#[derive(ObjectKey)]
#[key("{tenant}/x/{v}")]
struct Evil {
    v: Assigning,
}

#[test]
fn a_key_segment_impl_cannot_rewrite_the_tenant_prefix_or_panic() {
    // Guard: `KeyWriter::segment` writes impls into a fresh string; seen failing before the
    // fix (alice's key named bob's object), as the red-team test showed.
    let (alice, bob) = (tenant(1), tenant(2));
    let forged = Evil { v: Assigning(format!("{bob}/x/pwned")) }.key(&alice);
    assert_eq!(rule(forged), KeyRule::Separator);
    let short = Evil { v: Assigning("short".into()) }.key(&alice).unwrap();
    assert_eq!(short.as_str(), format!("{alice}/x/short"));
}

#[derive(ObjectKey)]
#[key("{tenant}/profile/avatar.png")]
struct Avatar;

#[test]
fn a_template_without_placeholders_lies_under_its_prefix() {
    let t = tenant(7);
    let key = Avatar.key(&t).unwrap();
    assert_eq!(Avatar::prefix(&t).as_str(), format!("{t}/profile/"));
    assert!(key.starts_with(&Avatar::prefix(&t)));
    assert!(Avatar::parse(&t, key.as_str()).is_ok());
}
