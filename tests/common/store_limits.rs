//! Keys at the store limits, for every store: a template whose literal segments are each
//! `MAX_SEGMENT_BYTES` long, with a name segment as long again.

use tenantry::{ObjectKey, Segment, TenantId, TenantPrefix, TenantStore};

/// A template at the limits: three literal segments of `MAX_SEGMENT_BYTES` (240) bytes; with
/// a 240-byte name its keys are 1,000 bytes, under `MAX_KEY_BYTES` (1,024).
#[derive(ObjectKey, Debug, Clone, PartialEq)]
#[key(
    "{tenant}/llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm/nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn/{name}"
)]
pub struct LongestLiterals {
    pub name: Segment,
}

/// Every key the derive accepts is one each store keeps, lists back and deletes: the
/// derive checks its literal segments against the run time's own `MAX_SEGMENT_BYTES` and
/// `MAX_KEY_BYTES` (a 241-byte literal used to compile, be written, and then be skipped by
/// `list`, so `delete_prefix` left it behind).
pub async fn keys_at_the_limits(store: TenantStore, a: &TenantId, b: &TenantId) {
    let names = ["x".to_owned(), "y".repeat(tenantry::MAX_SEGMENT_BYTES)];
    for name in &names {
        let key = LongestLiterals { name: Segment::new(name.clone()).unwrap() }.key(a).unwrap();
        assert!(key.as_str().len() <= tenantry::MAX_KEY_BYTES);
        store.put(&key, name.as_bytes().to_vec()).await.unwrap();
        let theirs = LongestLiterals { name: Segment::new(name.clone()).unwrap() }.key(b).unwrap();
        store.put(&theirs, b"b".to_vec()).await.unwrap();
    }
    assert_eq!(LongestLiterals { name: Segment::new(names[1].clone()).unwrap() }.key(a).unwrap().as_str().len(), 1000);
    let mut listed: Vec<LongestLiterals> = store.list_keys(a).await.unwrap();
    listed.sort_by(|x, y| x.name.as_str().cmp(y.name.as_str()));
    assert_eq!(
        listed.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(),
        names.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(store.list(&TenantPrefix::root(a)).await.unwrap().len(), 2);
    assert_eq!(store.delete_prefix(&TenantPrefix::root(a)).await.unwrap(), 2);
    assert!(store.list(&TenantPrefix::root(a)).await.unwrap().is_empty());
    assert_eq!(store.list(&TenantPrefix::root(b)).await.unwrap().len(), 2);
    assert_eq!(store.delete_prefix(&TenantPrefix::root(b)).await.unwrap(), 2);
}
