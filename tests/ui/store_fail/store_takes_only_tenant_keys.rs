// Bypass attempted: hand the store a string or a plain `object_store::path::Path` where it
// wants a tenant key, or list/delete under a prefix not derived from a `TenantId`.

use tenantry::TenantStore;

async fn attempts(store: TenantStore) {
    let _ = store.get("victim/input/x/video.mp4").await;
    let _ = store.put(&object_store::path::Path::from("victim/input/x"), vec![1u8]).await;
    let _ = store.delete(&String::from("victim/input/x")).await;
    let _ = store.list(&"victim/").await;
    let _ = store.delete_prefix(&object_store::path::Path::from("victim")).await;
}

fn main() {
    let _ = attempts;
}
