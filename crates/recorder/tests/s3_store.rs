//! S3ObjectStore against a real S3 server (s3s-fs), checked with plain SDK
//! requests of our own.

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use nova_media::{ObjectMeta, ObjectStore, ObjectStoreError};
use nova_recorder::{MIN_PART_SIZE, S3ObjectStore};
use support::S3sServer;

fn segment_meta() -> ObjectMeta {
    ObjectMeta::new("video/mp4", "public, max-age=31536000, immutable")
}

#[tokio::test]
async fn round_trip_with_headers() {
    let server = S3sServer::start();
    let store = server.store().await;
    store.check().await.expect("bucket reachable");

    let playlist = ObjectMeta::new("application/vnd.apple.mpegurl", "max-age=1");
    store
        .put(
            "s1/r0/seg-1.m4s",
            Bytes::from_static(b"one"),
            &segment_meta(),
        )
        .await
        .unwrap();
    store
        .put(
            "s1/r0/seg-0.m4s",
            Bytes::from_static(b"zero"),
            &segment_meta(),
        )
        .await
        .unwrap();
    store
        .put("s1/index.m3u8", Bytes::from_static(b"#EXTM3U\n"), &playlist)
        .await
        .unwrap();
    store
        .put("s2/init.mp4", Bytes::from_static(b"init"), &segment_meta())
        .await
        .unwrap();

    assert_eq!(store.get("s1/r0/seg-1.m4s").await.unwrap(), "one");
    assert_eq!(store.head("s1/r0/seg-0.m4s").await.unwrap(), Some(4));
    assert_eq!(store.head("s1/r0/seg-9.m4s").await.unwrap(), None);
    assert!(matches!(
        store.get("s1/r0/seg-9.m4s").await,
        Err(ObjectStoreError::NotFound { .. })
    ));
    assert_eq!(
        store.list("s1/").await.unwrap(),
        vec!["s1/index.m3u8", "s1/r0/seg-0.m4s", "s1/r0/seg-1.m4s"]
    );

    // What a player reading the bucket would get.
    let raw = server.raw_client().await;
    let head = raw
        .head_object()
        .bucket(support::BUCKET)
        .key("s1/index.m3u8")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("application/vnd.apple.mpegurl"));
    assert_eq!(head.cache_control(), Some("max-age=1"));
    let got = raw
        .get_object()
        .bucket(support::BUCKET)
        .key("s1/r0/seg-0.m4s")
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_type(), Some("video/mp4"));
    assert_eq!(
        got.cache_control(),
        Some("public, max-age=31536000, immutable")
    );

    store.delete("s2/init.mp4").await.unwrap();
    store.delete("s2/init.mp4").await.unwrap();
    store
        .delete_many(&[
            "s1/r0/seg-0.m4s".into(),
            "s1/r0/seg-1.m4s".into(),
            "s1/never-existed".into(),
        ])
        .await
        .unwrap();
    assert_eq!(store.list("").await.unwrap(), vec!["s1/index.m3u8"]);
}

#[tokio::test]
async fn prefix_is_applied_and_hidden() {
    let server = S3sServer::start();
    let mut config = server.config();
    config.prefix = "/nova/live/".into();
    let store = S3ObjectStore::connect(config).await.unwrap();
    store
        .put("a/b.m4s", Bytes::from_static(b"x"), &segment_meta())
        .await
        .unwrap();
    assert!(server.object_path("nova/live/a/b.m4s").is_file());
    assert_eq!(store.list("a/").await.unwrap(), vec!["a/b.m4s"]);
    assert_eq!(store.head("a/b.m4s").await.unwrap(), Some(1));
}

#[tokio::test]
async fn lists_past_one_page_and_deletes_in_batches() {
    let server = S3sServer::start();
    let store = std::sync::Arc::new(server.store().await);
    // ListObjectsV2 pages hold 1000 keys and DeleteObjects takes 1000: 1100 crosses both.
    let keys: Vec<String> = (0..1100).map(|i| format!("rec/seg-{i:05}.m4s")).collect();
    let mut uploads = tokio::task::JoinSet::new();
    for chunk in keys.chunks(100) {
        let (store, chunk) = (store.clone(), chunk.to_vec());
        uploads.spawn(async move {
            for key in chunk {
                store
                    .put(&key, Bytes::from_static(b"s"), &segment_meta())
                    .await?;
            }
            Ok::<_, ObjectStoreError>(())
        });
    }
    while let Some(done) = uploads.join_next().await {
        done.unwrap().unwrap();
    }
    assert_eq!(store.list("rec/").await.unwrap(), keys);
    store.delete_many(&keys).await.unwrap();
    assert!(store.list("").await.unwrap().is_empty());
}

#[tokio::test]
async fn large_bodies_go_up_in_parts() {
    let server = S3sServer::start();
    let mut config = server.config();
    config.multipart_threshold = MIN_PART_SIZE;
    config.part_size = MIN_PART_SIZE;
    let store = S3ObjectStore::connect(config).await.unwrap();
    // Two full parts and a short last one.
    let body: Bytes = (0..(2 * MIN_PART_SIZE + 12_345))
        .map(|i| (i % 251) as u8)
        .collect::<Vec<_>>()
        .into();
    let meta = ObjectMeta::new("video/mp4", "public, max-age=60");
    store
        .put("vod/whole.mp4", body.clone(), &meta)
        .await
        .unwrap();

    assert_eq!(store.get("vod/whole.mp4").await.unwrap(), body);
    let head = server
        .raw_client()
        .await
        .head_object()
        .bucket(support::BUCKET)
        .key("vod/whole.mp4")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(body.len() as i64));
    assert_eq!(head.content_type(), Some("video/mp4"));
    assert_eq!(head.cache_control(), Some("public, max-age=60"));
    // A multipart ETag is "md5-of-part-md5s-N": proof the parts path was taken.
    assert!(
        head.e_tag()
            .is_some_and(|e| e.trim_matches('"').ends_with("-3")),
        "ETag {:?} is not a 3-part upload's",
        head.e_tag()
    );
}

/// What HTTPS endpoints get: `UNSIGNED-PAYLOAD` (the headers are still
/// signed), for single puts and for parts, accepted by a server that checks
/// SigV4.
#[tokio::test]
async fn unsigned_payloads_are_accepted_for_puts_and_parts() {
    let server = S3sServer::start();
    let mut config = server.config();
    config.sign_payload = Some(false);
    config.multipart_threshold = MIN_PART_SIZE;
    config.part_size = MIN_PART_SIZE;
    let store = S3ObjectStore::connect(config).await.unwrap();
    let small = Bytes::from_static(b"a segment");
    let large: Bytes = (0..(MIN_PART_SIZE + 7))
        .map(|i| (i % 253) as u8)
        .collect::<Vec<_>>()
        .into();
    for (key, body) in [("unsigned/small.m4s", small), ("unsigned/large.mp4", large)] {
        store.put(key, body.clone(), &segment_meta()).await.unwrap();
        assert_eq!(store.get(key).await.unwrap(), body, "{key}");
    }
}

#[tokio::test]
async fn wrong_credentials_are_reported_as_configuration() {
    let server = S3sServer::start();
    let mut config = server.config();
    config.credentials = Some((support::ACCESS_KEY.into(), "not-the-secret".into()));
    let store = S3ObjectStore::connect(config).await.unwrap();
    let err = store
        .put("k", Bytes::from_static(b"x"), &segment_meta())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ObjectStoreError::Misconfigured { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("SignatureDoesNotMatch"), "{text}");
    assert!(text.contains("credentials"), "{text}");
    assert!(err.is_retryable(), "an operator fix must not lose uploads");
    assert!(matches!(
        store.check().await,
        Err(ObjectStoreError::Misconfigured { .. })
    ));
    assert!(!server.object_path("k").exists());
}

#[tokio::test]
async fn missing_bucket_is_reported_as_configuration() {
    let server = S3sServer::start();
    let mut config = server.config();
    config.bucket = "no-such-bucket".into();
    let store = S3ObjectStore::connect(config).await.unwrap();
    // Only the start-up check: s3s-fs (unlike AWS) accepts a PUT into a
    // bucket directory that does not exist yet.
    let err = store.check().await.unwrap_err();
    assert!(
        matches!(err, ObjectStoreError::Misconfigured { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[tokio::test]
async fn an_unreachable_store_fails_fast_as_unavailable() {
    let mut server = S3sServer::start();
    let store = server.store().await;
    server.stop();
    let started = Instant::now();
    let err = store
        .put("k", Bytes::from_static(b"x"), &segment_meta())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ObjectStoreError::Unavailable { .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn invalid_keys_never_reach_the_store() {
    let server = S3sServer::start();
    let store = server.store().await;
    for key in ["", "/abs", "a//b", "a/../b"] {
        assert!(
            matches!(
                store.put(key, Bytes::new(), &segment_meta()).await,
                Err(ObjectStoreError::InvalidKey { .. })
            ),
            "{key:?} was accepted"
        );
    }
    assert!(store.list("").await.unwrap().is_empty());
}

/// A plain HTTP/1.1 GET over a socket: the status code and the body.
fn http_get(url: &str) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, path) = rest.split_at(rest.find('/').expect("a path"));
    let mut socket = std::net::TcpStream::connect(host).unwrap();
    write!(
        socket,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    socket.read_to_end(&mut response).unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, response[split + 4..].to_vec())
}

#[tokio::test]
async fn presigned_urls_work_without_credentials_and_only_as_signed() {
    let server = S3sServer::start();
    let store = server.store().await;
    store
        .put(
            "vod/a.m4s",
            Bytes::from_static(b"segment bytes"),
            &segment_meta(),
        )
        .await
        .unwrap();
    let url = store
        .presigned_get_url("vod/a.m4s", Duration::from_secs(300))
        .await
        .unwrap();
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let url_for_test = url.clone();
    let (status, body) = tokio::task::spawn_blocking(move || http_get(&url_for_test))
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(body, b"segment bytes");

    let tampered = url.replace("vod/a.m4s", "vod/b.m4s");
    let (status, _) = tokio::task::spawn_blocking(move || http_get(&tampered))
        .await
        .unwrap();
    assert_eq!(status, 403, "a signature must not open other keys");
}
