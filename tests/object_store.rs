//! The tenant-scoped store on the local file system and in memory: two tenants with the
//! same job ids each see, copy and delete only their own objects.
#![cfg(feature = "object-store")]

mod common;

use tenantry::{Admin, Error, KeyRule, ObjectKey, Segment, TenantId, TenantPrefix, TenantStore};
use uuid::Uuid;

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

/// Tenant ids where one's text is a prefix-sibling of the other's (…0a and …0ab share
/// leading characters once the trailing `/` is ignored).
fn tenants() -> (TenantId, TenantId) {
    let admin = Admin::new("object store tests use fixed, prefix-sharing tenants");
    (admin.mint_tenant(Uuid::from_u128(0xa)), admin.mint_tenant(Uuid::from_u128(0xab)))
}

async fn isolation(store: TenantStore) {
    // Guard: every key and prefix starts with the tenant's id and `/` (`KeyWriter::new` in
    // src/keys/mod.rs). Seen failing with the tenant segment replaced by a constant: Alice
    // then read "bob in ..." for her own job id.
    let (a, b) = tenants();
    let jobs: Vec<Uuid> = (0..3).map(Uuid::from_u128).collect();
    for (t, body) in [(&a, "alice"), (&b, "bob")] {
        for job in &jobs {
            let job_id = *job;
            store.put(&InputVideo { job_id }.key(t).unwrap(), format!("{body} in {job}").into_bytes()).await.unwrap();
            let thumb = Thumbnail { job_id, name: Segment::new("cover.jpg").unwrap() };
            store.put(&thumb.key(t).unwrap(), body.as_bytes().to_vec()).await.unwrap();
        }
    }
    // Same job id, different tenants, different objects.
    let job_id = jobs[0];
    assert_eq!(
        store.get(&InputVideo { job_id }.key(&a).unwrap()).await.unwrap().as_ref(),
        format!("alice in {job_id}").as_bytes()
    );
    assert_eq!(
        store.get(&InputVideo { job_id }.key(&b).unwrap()).await.unwrap().as_ref(),
        format!("bob in {job_id}").as_bytes()
    );
    // Listings stay inside the tenant, typed.
    let mut listed: Vec<InputVideo> = store.list_keys(&a).await.unwrap();
    listed.sort_by_key(|k| k.job_id);
    assert_eq!(listed, jobs.iter().map(|j| InputVideo { job_id: *j }).collect::<Vec<_>>());
    assert_eq!(store.list(&TenantPrefix::root(&a)).await.unwrap().len(), 6);
    assert!(store.list(&TenantPrefix::root(&a)).await.unwrap().iter().all(|k| k.tenant() == &a));
    // Head, copy and rename within a tenant.
    let input = InputVideo { job_id }.key(&a).unwrap();
    assert_eq!(store.head(&input).await.unwrap().size, format!("alice in {job_id}").len() as u64);
    let output = OutputVideo { job_id }.key(&a).unwrap();
    store.copy(&input, &output).await.unwrap();
    assert_eq!(store.get(&output).await.unwrap(), store.get(&input).await.unwrap());
    let moved = OutputVideo { job_id: jobs[1] }.key(&a).unwrap();
    store.rename(&output, &moved).await.unwrap();
    assert!(matches!(store.get(&output).await, Err(Error::NotFound)));
    // Copying or moving into another tenant is refused.
    let bobs = OutputVideo { job_id }.key(&b).unwrap();
    assert!(matches!(store.copy(&input, &bobs).await, Err(Error::InvalidKey { rule: KeyRule::ForeignTenant })));
    assert!(matches!(store.rename(&input, &bobs).await, Err(Error::InvalidKey { rule: KeyRule::ForeignTenant })));
    assert!(matches!(store.get(&bobs).await, Err(Error::NotFound)));
    // Create-only puts.
    assert!(matches!(store.put_new(&input, b"again".to_vec()).await, Err(Error::ObjectExists)));
    store.put_new(&OutputVideo { job_id: jobs[2] }.key(&a).unwrap(), b"new".to_vec()).await.unwrap();
    // Bob deletes one object, then everything he owns; Alice keeps all of hers.
    store.delete(&InputVideo { job_id }.key(&b).unwrap()).await.unwrap();
    store.delete(&InputVideo { job_id }.key(&b).unwrap()).await.unwrap(); // missing: fine
    let alice_before = store.list(&TenantPrefix::root(&a)).await.unwrap();
    assert_eq!(store.delete_prefix(&TenantPrefix::root(&b)).await.unwrap(), 5);
    assert_eq!(store.delete_prefix(&TenantPrefix::root(&b)).await.unwrap(), 0);
    assert!(store.list(&TenantPrefix::root(&b)).await.unwrap().is_empty());
    assert_eq!(store.list(&TenantPrefix::root(&a)).await.unwrap(), alice_before);
    for key in &alice_before {
        assert!(store.get(key).await.is_ok());
    }
}

#[tokio::test]
async fn in_memory_store_keeps_tenants_apart() {
    isolation(TenantStore::in_memory()).await;
}

#[tokio::test]
async fn local_store_keeps_tenants_apart() {
    let dir = std::env::temp_dir().join(format!("tenantry-store-{}", Uuid::new_v4()));
    isolation(TenantStore::local(&dir).unwrap()).await;
    // On disk, each tenant is one directory named by its id; Bob's holds no file any more
    // (the file system keeps empty directories); Alice's holds her 8 (3 inputs, 3 thumbnails,
    // the renamed copy and the create-only output).
    let files = |p: std::path::PathBuf| -> usize {
        fn walk(p: &std::path::Path) -> usize {
            std::fs::read_dir(p)
                .map_or(0, |d| d.map(|e| e.unwrap().path()).map(|p| if p.is_dir() { walk(&p) } else { 1 }).sum())
        }
        walk(&p)
    };
    let (a, b) = tenants();
    assert_eq!(files(dir.join(a.to_string())), 8);
    assert_eq!(files(dir.join(b.to_string())), 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn keys_at_the_limits_are_kept_listed_and_deleted_in_memory() {
    let (a, b) = tenants();
    common::store_limits::keys_at_the_limits(TenantStore::in_memory(), &a, &b).await;
}

#[tokio::test]
async fn keys_at_the_limits_are_kept_listed_and_deleted_on_the_local_file_system() {
    let dir = std::env::temp_dir().join(format!("tenantry-store-{}", Uuid::new_v4()));
    let (a, b) = tenants();
    common::store_limits::keys_at_the_limits(TenantStore::local(&dir).unwrap(), &a, &b).await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_store_works_from_synchronous_code() {
    let store = TenantStore::in_memory();
    let (a, _) = tenants();
    let key = InputVideo { job_id: Uuid::nil() }.key(&a).unwrap();
    futures::executor::block_on(store.put(&key, b"sync".to_vec())).unwrap();
    assert_eq!(futures::executor::block_on(store.get(&key)).unwrap().as_ref(), b"sync");
}

#[tokio::test]
async fn deleting_a_tenant_removes_its_rows_and_objects_and_nothing_of_anyone_else() {
    // Guard: the tenant predicate and the tenant prefix in delete_tenant_with_objects.
    use tenantry::{Layout, SqliteDatabase, Table};
    #[derive(Table, Debug)]
    #[table(name = "clips", owned)]
    struct Clip {
        #[tenant]
        user_id: TenantId,
        #[primary_key]
        id: Uuid,
    }
    let dir = std::env::temp_dir().join(format!("tenantry-lifecycle-{}", Uuid::new_v4()));
    let layout =
        Layout::builder(SqliteDatabase::open_in_memory().unwrap()).per_tenant(dir.join("tenants")).build().unwrap();
    let store = TenantStore::local(dir.join("objects")).unwrap();
    let (a, b) = tenants();
    for t in [&a, &b] {
        for job in 0..3u128 {
            layout.execute(Clip::insert(t, NewClip { id: Uuid::from_u128(job) })).unwrap();
            store.put(&InputVideo { job_id: Uuid::from_u128(job) }.key(t).unwrap(), b"v".to_vec()).await.unwrap();
        }
    }
    let export = layout.export_tenant_with_objects(&a, &store).await.unwrap();
    assert_eq!((export.tables["clips"].len(), export.objects.len()), (3, 3));
    let b_before = layout.export_tenant_with_objects(&b, &store).await.unwrap();
    assert_eq!(layout.delete_tenant_with_objects(&a, &store).await.unwrap(), (3, 3));
    assert_eq!(layout.delete_tenant_with_objects(&a, &store).await.unwrap(), (0, 0));
    assert_eq!(layout.export_tenant_with_objects(&b, &store).await.unwrap(), b_before);
    let bs = layout.fetch_all(Clip::select(&b)).unwrap();
    assert!(bs.len() == 3 && bs.iter().all(|c| c.user_id == b && c.id.as_u128() < 3));
    std::fs::remove_dir_all(dir).unwrap();
}

/// A second local store rooted inside the first one's directory for a tenant would put
/// its keys among that tenant's objects: `{root}/{victim}/input` + `{attacker}/video.mp4`
/// is, to the first store, the victim's `InputVideo { job_id: attacker }`, listed and read
/// as theirs. From a red-team read.
///
/// Guard: the refusal of a root with a UUID-named directory in `TenantStore::local`; seen
/// failing with it removed (the store opened, and the victim's listing held the object).
#[tokio::test]
async fn a_local_store_cannot_be_rooted_inside_a_tenants_directory() {
    let dir = std::env::temp_dir().join(format!("tenantry-store-root-{}", Uuid::new_v4()));
    let app = TenantStore::local(&dir).unwrap();
    let (attacker, victim) = tenants();
    let inside = dir.join(victim.to_string());
    for root in [inside.join("input"), inside.clone(), dir.join(victim.to_string().to_uppercase()).join("input")] {
        match TenantStore::local(&root) {
            Err(Error::InvalidKey { rule: KeyRule::RootInsideTenant }) => {}
            Err(e) => panic!("refused for another reason: {e}"),
            Ok(planted) => {
                let key = InputVideo { job_id: victim.as_uuid() }.key(&attacker).unwrap();
                planted.put(&key, b"planted".to_vec()).await.unwrap();
                let theirs = app.list(&InputVideo::prefix(&victim)).await.unwrap();
                panic!("a store opened inside the victim's directory; the victim's listing: {theirs:?}");
            }
        }
    }
    assert!(app.list(&InputVideo::prefix(&victim)).await.unwrap().is_empty());
    // A directory named otherwise (a UUID inside a longer name, as here) is a fine root.
    TenantStore::local(dir.join(format!("objects-{}", Uuid::new_v4()))).unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}
