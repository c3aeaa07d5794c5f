//! A tenant-scoped object store on the `object_store` crate: it takes only [`TenantKey`]s
//! and [`TenantPrefix`]es, so no code path can name an object by a bare string.
//!
//! The API is async, like `object_store`. From synchronous code, drive it with any
//! executor: `futures::executor::block_on(store.get(&key))` works for the local and
//! in-memory backends; the S3 backend needs a Tokio runtime
//! (`tokio::runtime::Runtime::new()?.block_on(...)`).

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use crate::error::{Error, Result};
use crate::keys::{KeyRule, ObjectKey, TenantKey, TenantPrefix};
use crate::tenant::TenantId;

/// What a `head` request returns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectInfo {
    /// The object's key.
    pub key: TenantKey,
    /// Size in bytes.
    pub size: u64,
    /// The store's entity tag, when it has one.
    pub e_tag: Option<String>,
}

/// An object store that accepts only tenant keys. Cheap to clone.
///
/// ```
/// # futures::executor::block_on(async {
/// use tenantry::{ObjectKey, Segment, TenantId, TenantStore};
///
/// #[derive(ObjectKey)]
/// #[key("{tenant}/thumbnails/{name}")]
/// struct Thumbnail { name: Segment }
///
/// let store = TenantStore::in_memory();
/// let (alice, bob) = (TenantId::generate(), TenantId::generate());
/// let key = Thumbnail { name: Segment::new("cover.jpg")? }.key(&alice)?;
/// store.put(&key, b"jpeg bytes".to_vec()).await?;
/// assert_eq!(store.get(&key).await?.as_ref(), b"jpeg bytes");
/// assert_eq!(store.list(&Thumbnail::prefix(&alice)).await?.len(), 1);
/// assert!(store.list(&Thumbnail::prefix(&bob)).await?.is_empty());
/// # Ok::<(), tenantry::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct TenantStore {
    store: Arc<dyn ObjectStore>,
    #[cfg(feature = "s3")]
    s3: Option<Arc<object_store::aws::AmazonS3>>,
}

fn store_error(e: object_store::Error) -> Error {
    match e {
        object_store::Error::NotFound { .. } => Error::NotFound,
        object_store::Error::AlreadyExists { .. } => Error::ObjectExists,
        other => Error::ObjectStore(other),
    }
}

fn path(key: &TenantKey) -> Result<Path> {
    // Every segment was validated, so this parse keeps the key byte for byte.
    Path::parse(key.as_str()).map_err(|_| Error::InvalidKey { rule: KeyRule::TemplateMismatch })
}

impl TenantStore {
    /// Objects as files under `root` (created if missing): the embedded default.
    ///
    /// A root inside a tenant's prefix is refused ([`KeyRule::RootInsideTenant`]): a path
    /// component that reads as a UUID (hyphenated, either case) is a tenant's directory
    /// in another store rooted higher up, where this store's keys would land among that
    /// tenant's objects.
    pub fn local(root: impl AsRef<std::path::Path>) -> Result<Self> {
        let inside_tenant = root.as_ref().components().any(|c| {
            let part = c.as_os_str().as_encoded_bytes();
            part.len() == 36 && uuid::Uuid::try_parse_ascii(part).is_ok()
        });
        if inside_tenant {
            return Err(Error::InvalidKey { rule: KeyRule::RootInsideTenant });
        }
        std::fs::create_dir_all(root.as_ref()).map_err(|e| {
            Error::ObjectStore(object_store::Error::Generic { store: "LocalFileSystem", source: Box::new(e) })
        })?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(root).map_err(Error::ObjectStore)?;
        Ok(Self::wrap(Arc::new(fs)))
    }

    /// Objects in memory, for tests.
    pub fn in_memory() -> Self {
        Self::wrap(Arc::new(object_store::memory::InMemory::new()))
    }

    fn wrap(store: Arc<dyn ObjectStore>) -> Self {
        TenantStore {
            store,
            #[cfg(feature = "s3")]
            s3: None,
        }
    }

    /// Writes an object, replacing any object at the key.
    pub async fn put(&self, key: &TenantKey, bytes: impl Into<Bytes>) -> Result<()> {
        let payload = PutPayload::from(bytes.into());
        self.store.put(&path(key)?, payload).await.map_err(store_error)?;
        Ok(())
    }

    /// Writes an object only if none exists at the key ([`Error::ObjectExists`] otherwise).
    pub async fn put_new(&self, key: &TenantKey, bytes: impl Into<Bytes>) -> Result<()> {
        let opts = PutOptions { mode: PutMode::Create, ..PutOptions::default() };
        self.store.put_opts(&path(key)?, PutPayload::from(bytes.into()), opts).await.map_err(store_error)?;
        Ok(())
    }

    /// Reads an object ([`Error::NotFound`] when there is none).
    pub async fn get(&self, key: &TenantKey) -> Result<Bytes> {
        let got = self.store.get(&path(key)?).await.map_err(store_error)?;
        got.bytes().await.map_err(store_error)
    }

    /// An object's size and entity tag.
    pub async fn head(&self, key: &TenantKey) -> Result<ObjectInfo> {
        let meta = self.store.head(&path(key)?).await.map_err(store_error)?;
        Ok(ObjectInfo { key: key.clone(), size: meta.size, e_tag: meta.e_tag })
    }

    /// Deletes an object; deleting a missing object is not an error.
    pub async fn delete(&self, key: &TenantKey) -> Result<()> {
        match self.store.delete(&path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_error(e)),
        }
    }

    fn same_tenant(from: &TenantKey, to: &TenantKey) -> Result<()> {
        if from.tenant() == to.tenant() { Ok(()) } else { Err(Error::InvalidKey { rule: KeyRule::ForeignTenant }) }
    }

    /// Copies an object to another key of the same tenant.
    pub async fn copy(&self, from: &TenantKey, to: &TenantKey) -> Result<()> {
        Self::same_tenant(from, to)?;
        self.store.copy(&path(from)?, &path(to)?).await.map_err(store_error)
    }

    /// Moves an object to another key of the same tenant.
    pub async fn rename(&self, from: &TenantKey, to: &TenantKey) -> Result<()> {
        Self::same_tenant(from, to)?;
        self.store.rename(&path(from)?, &path(to)?).await.map_err(store_error)
    }

    /// Every key under `prefix`. A listed key outside the prefix (which a well-behaved
    /// store never returns) is left out rather than returned.
    pub async fn list(&self, prefix: &TenantPrefix) -> Result<Vec<TenantKey>> {
        let dir = Path::parse(prefix.as_str()).map_err(|_| Error::InvalidKey { rule: KeyRule::TemplateMismatch })?;
        let metas: Vec<_> = self.store.list(Some(&dir)).try_collect().await.map_err(store_error)?;
        let mut keys: Vec<TenantKey> = metas.iter().filter_map(|m| prefix.key(m.location.as_ref()).ok()).collect();
        keys.sort();
        Ok(keys)
    }

    /// The tenant's keys of type `K` (under `K::prefix`), parsed; keys under the same
    /// prefix that do not match `K`'s template are skipped.
    pub async fn list_keys<K: ObjectKey>(&self, tenant: &TenantId) -> Result<Vec<K>> {
        let keys = self.list(&K::prefix(tenant)).await?;
        Ok(keys.iter().filter_map(|k| K::parse(tenant, k.as_str()).ok()).collect())
    }

    /// Moves every object of `from` to the same path under `into`'s root
    /// (`{from}/input/x.mp4` to `{into}/input/x.mp4`): copy, check the copy's size, then
    /// delete the original, one object at a time, so a run killed at any point leaves each
    /// object in one place or both, and a rerun finishes. An object whose key `into`
    /// already holds with another size is `into`'s: the original is deleted and counted
    /// as conflicting. Returns (moved, conflicting).
    ///
    /// Crosses tenants, so it is the crate's own (a login's merge, which holds both
    /// tenants' tokens), never public.
    pub(crate) async fn move_tenant_objects(&self, from: &TenantId, into: &TenantId) -> Result<(usize, usize)> {
        let (mut moved, mut conflicting) = (0, 0);
        let from_root = TenantPrefix::root(from);
        let into_root = TenantPrefix::root(into);
        for key in self.list(&from_root).await? {
            let rest = &key.as_str()[from_root.as_str().len()..];
            let target = TenantKey::parse(into, &format!("{}{rest}", into_root.as_str()))?;
            let size = self.head(&key).await?.size;
            let landed = match self.head(&target).await {
                Ok(there) => there.size == size,
                Err(Error::NotFound) => {
                    self.store.copy(&path(&key)?, &path(&target)?).await.map_err(store_error)?;
                    let copied = self.head(&target).await?.size;
                    if copied != size {
                        return Err(Error::Internal { why: "an object's copy has another size than the original" });
                    }
                    true
                }
                Err(e) => return Err(e),
            };
            if landed {
                moved += 1
            } else {
                conflicting += 1
            }
            self.delete(&key).await?;
        }
        Ok((moved, conflicting))
    }

    /// Every key in the store, tenant or not (the audit's listing).
    pub(crate) async fn all_keys(&self) -> Result<Vec<String>> {
        let metas: Vec<_> = self.store.list(None).try_collect().await.map_err(store_error)?;
        Ok(metas.into_iter().map(|m| m.location.to_string()).collect())
    }

    /// Deletes every object under `prefix` (for a whole tenant: [`TenantPrefix::root`]).
    /// Returns how many were deleted; a second run deletes nothing.
    pub async fn delete_prefix(&self, prefix: &TenantPrefix) -> Result<usize> {
        let keys = self.list(prefix).await?;
        for key in &keys {
            self.delete(key).await?;
        }
        Ok(keys.len())
    }
}

/// Connection settings for an S3-compatible bucket.
#[cfg(feature = "s3")]
#[derive(Clone)]
#[non_exhaustive]
pub struct S3Config {
    /// Bucket name.
    pub bucket: String,
    /// Region (`auto` for Cloudflare R2).
    pub region: String,
    /// Endpoint URL; `None` for AWS itself.
    pub endpoint: Option<String>,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Allow plain `http://` endpoints (local test servers only).
    pub allow_http: bool,
}

#[cfg(feature = "s3")]
impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret never reaches logs.
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "s3")]
impl S3Config {
    /// An S3-compatible bucket at `endpoint` (path-style requests).
    pub fn new(
        bucket: impl Into<String>,
        region: impl Into<String>,
        endpoint: Option<String>,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        S3Config {
            bucket: bucket.into(),
            region: region.into(),
            endpoint,
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            allow_http: false,
        }
    }

    /// A Cloudflare R2 bucket: region `auto`, endpoint
    /// `https://{account_id}.r2.cloudflarestorage.com`, keys from an R2 API token.
    pub fn r2(
        account_id: &str,
        bucket: impl Into<String>,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        let endpoint = format!("https://{account_id}.r2.cloudflarestorage.com");
        S3Config::new(bucket, "auto", Some(endpoint), access_key_id, secret_access_key)
    }

    /// Allows a plain-HTTP endpoint (a local test server).
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }
}

#[cfg(feature = "s3")]
impl TenantStore {
    /// An S3-compatible bucket (AWS S3, Cloudflare R2, MinIO, ...).
    pub fn s3(config: S3Config) -> Result<Self> {
        let mut builder = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(config.bucket)
            .with_region(config.region)
            .with_access_key_id(config.access_key_id)
            .with_secret_access_key(config.secret_access_key)
            .with_allow_http(config.allow_http);
        if let Some(endpoint) = config.endpoint {
            builder = builder.with_endpoint(endpoint).with_virtual_hosted_style_request(false);
        }
        let s3 = Arc::new(builder.build().map_err(Error::ObjectStore)?);
        Ok(TenantStore { store: s3.clone(), s3: Some(s3) })
    }

    async fn presign(&self, method: http::Method, key: &TenantKey, expires: std::time::Duration) -> Result<String> {
        use object_store::signer::Signer;
        let s3 = self.s3.as_ref().ok_or(Error::ObjectStore(object_store::Error::NotSupported {
            source: "presigned URLs need an S3-compatible store".into(),
        }))?;
        let url = s3.signed_url(method, &path(key)?, expires).await.map_err(store_error)?;
        Ok(url.to_string())
    }

    /// A URL that lets its holder download this one object until it expires.
    pub async fn presigned_get(&self, key: &TenantKey, expires: std::time::Duration) -> Result<String> {
        self.presign(http::Method::GET, key, expires).await
    }

    /// A URL that lets its holder upload this one object until it expires: the client
    /// names no key, so it cannot write outside the tenant's prefix.
    pub async fn presigned_put(&self, key: &TenantKey, expires: std::time::Duration) -> Result<String> {
        self.presign(http::Method::PUT, key, expires).await
    }
}
