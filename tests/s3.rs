//! The S3 backend against a real S3-protocol server on loopback (`s3s-fs`, started by
//! `.ci/run`). Set `TENANTRY_S3_ENDPOINT` (e.g. `http://127.0.0.1:9014`),
//! `TENANTRY_S3_BUCKET`, `TENANTRY_S3_ACCESS_KEY` and `TENANTRY_S3_SECRET_KEY`, and for
//! keys at the length limits `TENANTRY_S3_LONG_KEYS_ENDPOINT` (moto's server, also started
//! by `.ci/run`); without them the tests print a notice and skip, except under `CI=true`,
//! where they fail.
#![cfg(feature = "s3")]

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use tenantry::{Admin, Error, ObjectKey, S3Config, TenantId, TenantPrefix, TenantStore};
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

fn config() -> Option<S3Config> {
    config_at("TENANTRY_S3_ENDPOINT", "s3s-fs")
}

/// The S3 server at the URL in `endpoint_var`; `None`, with a notice, when it is not set.
fn config_at(endpoint_var: &str, started: &str) -> Option<S3Config> {
    let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
    let Some(endpoint) = var(endpoint_var) else {
        common::server_missing(&format!(
            "no S3 server is configured: {endpoint_var} is not set (.ci/run starts {started})"
        ));
        return None;
    };
    let bucket = var("TENANTRY_S3_BUCKET").unwrap_or_else(|| "tenantry-test".into());
    let access = var("TENANTRY_S3_ACCESS_KEY").unwrap_or_else(|| "tenantry".into());
    let secret = var("TENANTRY_S3_SECRET_KEY").unwrap_or_else(|| "tenantry-secret".into());
    Some(S3Config::new(bucket, "us-east-1", Some(endpoint), access, secret).allow_http(true))
}

/// A plain HTTP/1.1 request over TCP (loopback only): the presigned URL must work for a
/// client that holds no credentials at all.
fn http(method: &str, url: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("a loopback http URL");
    let (host, path) = rest.split_once('/').map_or((rest, String::from("/")), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host).expect("connect to the S3 server");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP response");
    let status_line = String::from_utf8_lossy(&response[..split]).lines().next().unwrap_or_default().to_owned();
    let status = status_line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let mut payload = response[split + 4..].to_vec();
    if headers.contains("transfer-encoding: chunked") {
        payload = dechunk(&payload);
    }
    (status, payload)
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = body.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&body[..eol]).unwrap_or("0").trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&body[eol + 2..eol + 2 + size]);
        body = &body[eol + 2 + size + 2..];
    }
    out
}

#[tokio::test]
async fn s3_store_put_get_list_delete_and_presigned_urls() {
    let Some(config) = config() else { return };
    let store = TenantStore::s3(config).unwrap();
    let admin = Admin::new("S3 test mints two tenants with fresh ids");
    let (a, b) = (admin.mint_tenant(Uuid::new_v4()), admin.mint_tenant(Uuid::new_v4()));
    let job_id = Uuid::new_v4();
    let (ka, kb) = (InputVideo { job_id }.key(&a).unwrap(), InputVideo { job_id }.key(&b).unwrap());

    store.put(&ka, b"alice video".to_vec()).await.unwrap();
    store.put(&kb, b"bob video".to_vec()).await.unwrap();
    assert_eq!(store.get(&ka).await.unwrap().as_ref(), b"alice video");
    assert_eq!(store.head(&kb).await.unwrap().size, 9);
    assert_eq!(store.list_keys::<InputVideo>(&a).await.unwrap(), [InputVideo { job_id }]);
    assert_eq!(store.list(&TenantPrefix::root(&b)).await.unwrap(), std::slice::from_ref(&kb));

    // Presigned GET, fetched by a client without credentials.
    let url = store.presigned_get(&ka, Duration::from_secs(60)).await.unwrap();
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let (status, body) = http("GET", &url, b"");
    assert_eq!((status, body.as_slice()), (200, b"alice video".as_slice()));
    // The signature covers the key: pointing it at Bob's object fails.
    let forged = url.replace(&a.to_string(), &b.to_string());
    assert_eq!(http("GET", &forged, b"").0, 403);

    // Presigned PUT: the uploader names no key.
    let out = OutputVideo { job_id }.key(&a).unwrap();
    let put_url = store.presigned_put(&out, Duration::from_secs(60)).await.unwrap();
    assert_eq!(http("PUT", &put_url, b"rendered").0, 200);
    assert_eq!(store.get(&out).await.unwrap().as_ref(), b"rendered");

    // Deleting one tenant's prefix leaves the other intact.
    assert_eq!(store.delete_prefix(&TenantPrefix::root(&a)).await.unwrap(), 2);
    assert!(matches!(store.get(&ka).await, Err(Error::NotFound)));
    assert_eq!(store.get(&kb).await.unwrap().as_ref(), b"bob video");
    store.delete_prefix(&TenantPrefix::root(&b)).await.unwrap();
    let _ = TenantId::generate();
}

/// Keys at the limits the derive allows (1,000 bytes, segments of 240) are kept, listed
/// and deleted by an S3 server too. Not on s3s-fs: it writes each object through a
/// temporary file whose name grows with the key, which the file system refuses past
/// about 200 bytes. `.ci/run` starts moto's S3 server for this (it keeps keys up to
/// S3's 1,024 bytes, as S3 and R2 do, but checks no signatures, so the presigned-URL
/// test stays on s3s-fs).
#[tokio::test]
async fn s3_store_keeps_lists_and_deletes_keys_at_the_limits() {
    let Some(config) = config_at("TENANTRY_S3_LONG_KEYS_ENDPOINT", "moto_server") else { return };
    let store = TenantStore::s3(config).unwrap();
    let (a, b) = (TenantId::generate(), TenantId::generate());
    common::store_limits::keys_at_the_limits(store, &a, &b).await;
}
