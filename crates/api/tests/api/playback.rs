//! `/live/{stream}/{name}`: content types, cache lifetimes, CORS, HEAD.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use bytes::Bytes;
use nova_media::{CachePolicy, PlaybackObject, StreamId};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{TestApp, get, request};

const PLAYLIST: &str = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n";

fn live_window(app: &TestApp) -> StreamId {
    let stream = StreamId::new_random();
    let object = |body: &'static [u8], content_type, cache| PlaybackObject {
        body: Bytes::from_static(body),
        content_type,
        cache,
    };
    let playback = &app.playback;
    playback.put(
        stream,
        "index.m3u8",
        object(
            PLAYLIST.as_bytes(),
            "application/vnd.apple.mpegurl",
            CachePolicy::LivePlaylist,
        ),
    );
    playback.put(
        stream,
        "ended.m3u8",
        object(
            b"#EXTM3U\n#EXT-X-ENDLIST\n",
            "application/vnd.apple.mpegurl",
            CachePolicy::FinalPlaylist,
        ),
    );
    playback.put(
        stream,
        "seg-7.m4s",
        object(b"moof+mdat", "video/iso.segment", CachePolicy::Immutable),
    );
    playback.put(
        stream,
        "seg-8.ts",
        object(b"\x47ts", "video/mp2t", CachePolicy::Immutable),
    );
    stream
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn objects_come_with_their_type_and_cache_lifetime(pool: PgPool) {
    let app = TestApp::new(pool);
    let stream = live_window(&app);
    let cases = [
        (
            "index.m3u8",
            "application/vnd.apple.mpegurl",
            "public, max-age=1",
            PLAYLIST.as_bytes(),
        ),
        (
            "ended.m3u8",
            "application/vnd.apple.mpegurl",
            "public, max-age=10",
            b"#EXTM3U\n#EXT-X-ENDLIST\n".as_slice(),
        ),
        (
            "seg-7.m4s",
            "video/iso.segment",
            "public, max-age=31536000, immutable",
            b"moof+mdat".as_slice(),
        ),
        (
            "seg-8.ts",
            "video/mp2t",
            "public, max-age=31536000, immutable",
            b"\x47ts".as_slice(),
        ),
    ];
    for (name, content_type, cache_control, body) in cases {
        // No credentials: playback is public.
        let response = app.send(get(&format!("/live/{stream}/{name}"), None)).await;
        assert_eq!(response.status, StatusCode::OK, "{name}");
        assert_eq!(response.header("content-type"), content_type, "{name}");
        assert_eq!(response.header("cache-control"), cache_control, "{name}");
        assert_eq!(
            response.header("content-length"),
            body.len().to_string(),
            "{name}"
        );
        assert_eq!(&response.body[..], body, "{name}");
        // Even without an Origin (a CDN fetching on a player's behalf), so
        // the cached copy serves players on every origin.
        assert_eq!(
            response.header("access-control-allow-origin"),
            "*",
            "{name}"
        );
        assert!(
            response.headers.get("vary").is_none(),
            "{name}: {:?}",
            response.headers
        );
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn head_gives_the_headers_without_the_body(pool: PgPool) {
    let app = TestApp::new(pool);
    let stream = live_window(&app);
    let response = app
        .send(request(
            Method::HEAD,
            &format!("/live/{stream}/index.m3u8"),
            None,
        ))
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.body.is_empty());
    assert_eq!(
        response.header("content-length"),
        PLAYLIST.len().to_string()
    );
    assert_eq!(
        response.header("content-type"),
        "application/vnd.apple.mpegurl"
    );
    assert_eq!(response.header("cache-control"), "public, max-age=1");
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn missing_objects_are_briefly_cacheable_404_problems(pool: PgPool) {
    let app = TestApp::new(pool);
    let stream = live_window(&app);
    for uri in [
        format!("/live/{stream}/seg-9.m4s"),
        format!("/live/{}/index.m3u8", Uuid::new_v4()),
        "/live/not-a-stream/index.m3u8".to_owned(),
    ] {
        let response = app.send(get(&uri, None)).await;
        response.problem(StatusCode::NOT_FOUND);
        assert_eq!(
            response.header("cache-control"),
            "public, max-age=1",
            "{uri}"
        );
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn names_that_try_to_leave_the_stream_are_refused(pool: PgPool) {
    let app = TestApp::new(pool);
    let stream = live_window(&app);
    for name in [
        "..",
        "a%2F..%2Findex.m3u8",
        "..%2Findex.m3u8",
        ".index.m3u8",
        "%00",
    ] {
        let response = app.send(get(&format!("/live/{stream}/{name}"), None)).await;
        response.problem(StatusCode::BAD_REQUEST);
    }
    // A path with more segments is no playback route at all.
    app.send(get(&format!("/live/{stream}/a/index.m3u8"), None))
        .await
        .problem(StatusCode::NOT_FOUND);
}

fn preflight(uri: &str, method: &str, headers: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri(uri)
        .header("origin", "https://player.example.org")
        .header("access-control-request-method", method)
        .header("access-control-request-headers", headers)
        .body(Body::empty())
        .unwrap()
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn players_and_web_apps_on_any_origin_may_call(pool: PgPool) {
    let app = TestApp::new(pool);
    let stream = live_window(&app);

    let mut playlist = get(&format!("/live/{stream}/index.m3u8"), None);
    playlist
        .headers_mut()
        .insert("origin", "https://player.example.org".parse().unwrap());
    let response = app.send(playlist).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("access-control-allow-origin"), "*");

    let mut missing = get(&format!("/live/{stream}/nope.m4s"), None);
    missing
        .headers_mut()
        .insert("origin", "https://player.example.org".parse().unwrap());
    assert_eq!(
        app.send(missing)
            .await
            .header("access-control-allow-origin"),
        "*"
    );

    let response = app
        .send(preflight(
            "/api/v1/streams",
            "POST",
            "authorization,content-type",
        ))
        .await;
    assert!(response.status.is_success(), "{}", response.status);
    assert_eq!(response.header("access-control-allow-origin"), "*");
    let methods = response
        .header("access-control-allow-methods")
        .to_ascii_uppercase();
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    let allowed = response
        .header("access-control-allow-headers")
        .to_ascii_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{allowed}"
    );
    assert!(
        response
            .headers
            .get("access-control-allow-credentials")
            .is_none()
    );

    let response = app
        .send(preflight(
            &format!("/live/{stream}/index.m3u8"),
            "GET",
            "content-type",
        ))
        .await;
    assert!(response.status.is_success());
    assert_eq!(response.header("access-control-allow-origin"), "*");

    // A real API response carries the header too, with Location readable.
    let mut create = crate::support::post_json(
        "/api/v1/streams",
        Some(&app.token(Uuid::new_v4())),
        &json!({ "title": "Cross-origin" }),
    );
    create
        .headers_mut()
        .insert("origin", "https://studio.example.org".parse().unwrap());
    let response = app.send(create).await;
    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(response.header("access-control-allow-origin"), "*");
    assert!(
        response
            .header("access-control-expose-headers")
            .to_ascii_lowercase()
            .contains("location")
    );
}
