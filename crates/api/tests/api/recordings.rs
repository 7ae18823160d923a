//! Recordings through the API, over a real filesystem store: who may list,
//! read and delete them, clips, the DVR window, and the retention setting.
//! The catalog's own behaviour (retention, reconciliation) is tested in
//! `crates/dvr/tests`. The real recorder (ffmpeg → packager → uploader →
//! index) is exercised by the server's end-to-end tests; here recordings
//! are written with the DVR crate's own index functions.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use bytes::Bytes;
use chrono::Utc;
use nova_dvr::FsObjectStore;
use nova_dvr::index::{self, NewSegment};
use nova_media::{ObjectMeta, ObjectStore, StreamId};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::hosts::{Cast, EVERYONE, Who};
use crate::support::{TestApp, get, post_json, request};

struct Recorded {
    app: TestApp,
    store: Arc<FsObjectStore>,
    _dir: tempfile::TempDir,
    cast: Cast,
}

async fn setup(pool: &PgPool) -> Recorded {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsObjectStore::new(dir.path()));
    let mut app = TestApp::new(pool.clone());
    app.state = app.state.clone().with_recordings(store.clone());
    let cast = Cast::new(&app, pool).await;
    Recorded {
        app,
        store,
        _dir: dir,
        cast,
    }
}

/// A recording of `segments` 2 s segments, stored and indexed; finished
/// unless `live`.
async fn record(
    pool: &PgPool,
    store: &FsObjectStore,
    stream: Uuid,
    segments: i64,
    live: bool,
) -> Uuid {
    let recording = index::open_recording(pool, stream).await.unwrap();
    let init_key = nova_dvr::keys::object_key(StreamId(stream), recording, "source", "r-init1.mp4");
    let meta = ObjectMeta::new("video/mp4", "public, max-age=31536000, immutable");
    store
        .put(&init_key, Bytes::from_static(b"init"), &meta)
        .await
        .unwrap();
    for sequence in 0..segments {
        let name = format!("r-{sequence}.m4s");
        let key = nova_dvr::keys::object_key(StreamId(stream), recording, "source", &name);
        store
            .put(&key, Bytes::from(vec![7u8; 1000]), &meta)
            .await
            .unwrap();
        let inserted = index::add_segment(
            pool,
            &NewSegment {
                stream_id: stream,
                recording_id: recording,
                rendition: "source".into(),
                sequence,
                media_start_ms: 500 + sequence * 2_000,
                program_date_time: Utc::now(),
                duration_ms: 2_000,
                byte_size: 1000,
                object_key: key,
                init_object_key: Some(init_key.clone()),
                container: "fmp4".into(),
                discontinuity: false,
                base_decode_time: Some(1_000 + sequence * 2_000),
            },
        )
        .await
        .unwrap();
        assert!(inserted);
    }
    if !live {
        index::finish_recording(pool, recording, None)
            .await
            .unwrap()
            .unwrap();
    }
    recording
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn only_the_owner_and_co_hosts_list_read_and_delete_recordings(pool: PgPool) {
    let t = setup(&pool).await;
    let recording = record(&pool, &t.store, t.cast.stream_id(), 3, false).await;
    for who in EVERYONE {
        let token = t.cast.token(&t.app, who);
        let list = t
            .app
            .send(get(
                &format!("/api/v1/streams/{}/recordings", t.cast.stream),
                token.as_deref(),
            ))
            .await;
        let one = t
            .app
            .send(get(
                &format!("/api/v1/recordings/{recording}"),
                token.as_deref(),
            ))
            .await;
        match who {
            Who::Owner | Who::CoHost => {
                assert_eq!(list.status, StatusCode::OK, "{who:?}");
                let page = list.json();
                assert_eq!(page["items"][0]["id"], recording.to_string());
                let view = one.json();
                assert_eq!(view["state"], "complete");
                assert_eq!(view["duration_ms"], 6_000);
                assert_eq!(view["byte_size"], 3_000);
                assert_eq!(view["segment_count"], 3);
                assert_eq!(view["renditions"], json!(["source"]));
                assert_eq!(
                    view["playback"]["hls_url"],
                    format!("http://media.example.test/vod/{recording}/master.m3u8")
                );
            }
            // Signing in as just anyone would not help: 403 (access::require).
            _ => {
                list.problem(StatusCode::FORBIDDEN);
                one.problem(StatusCode::FORBIDDEN);
            }
        }
    }
    let viewer = t.cast.token(&t.app, Who::Viewer);
    let uri = format!("/api/v1/recordings/{recording}");
    t.app
        .send(request(Method::DELETE, &uri, viewer.as_deref()))
        .await
        .problem(StatusCode::FORBIDDEN);
    let co_host = t.cast.token(&t.app, Who::CoHost);
    let deleted = t
        .app
        .send(request(Method::DELETE, &uri, co_host.as_deref()))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(
        t.store.list("recordings/").await.unwrap().is_empty(),
        "every object of the recording is gone"
    );
    t.app
        .send(get(&uri, co_host.as_deref()))
        .await
        .problem(StatusCode::NOT_FOUND);
    // Unknown and malformed ids are the same 404.
    for id in [Uuid::new_v4().to_string(), "nope".to_owned()] {
        t.app
            .send(get(&format!("/api/v1/recordings/{id}"), co_host.as_deref()))
            .await
            .problem(StatusCode::NOT_FOUND);
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn a_recording_in_progress_is_not_deleted_and_plays_in_the_dvr_window(pool: PgPool) {
    let t = setup(&pool).await;
    let recording = record(&pool, &t.store, t.cast.stream_id(), 2, true).await;
    let owner = t.cast.token(&t.app, Who::Owner);
    let conflict = t
        .app
        .send(request(
            Method::DELETE,
            &format!("/api/v1/recordings/{recording}"),
            owner.as_deref(),
        ))
        .await;
    conflict.problem(StatusCode::CONFLICT);
    // No VOD yet: the error says where to watch instead.
    let vod = t
        .app
        .send(get(&format!("/vod/{recording}/master.m3u8"), None))
        .await;
    let detail = vod.problem(StatusCode::NOT_FOUND)["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(detail.contains("/dvr/"), "{detail}");
    let window = t
        .app
        .send(get(
            &format!("/dvr/{}/source/index.m3u8", t.cast.stream),
            None,
        ))
        .await;
    assert_eq!(window.status, StatusCode::OK);
    let text = String::from_utf8(window.body.to_vec()).unwrap();
    assert!(!text.contains("#EXT-X-ENDLIST"), "{text}");
    assert!(
        text.contains(&format!("../../../vod/{recording}/source/r-1.m4s")),
        "{text}"
    );
    // The stream turns DVR off: the window is gone.
    let patched = t
        .app
        .send(request_json(
            Method::PATCH,
            &format!("/api/v1/streams/{}", t.cast.stream),
            owner.as_deref(),
            json!({ "settings": { "dvr_window_seconds": 0 } }),
        ))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{:?}", patched.body);
    t.app
        .send(get(&format!("/dvr/{}/master.m3u8", t.cast.stream), None))
        .await
        .problem(StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn clips_are_checked_and_list_only_the_segments_they_cover(pool: PgPool) {
    let t = setup(&pool).await;
    let recording = record(&pool, &t.store, t.cast.stream_id(), 5, false).await;
    let owner = t.cast.token(&t.app, Who::Owner);
    let uri = format!("/api/v1/streams/{}/clips", t.cast.stream);
    for (body, pointer) in [
        (json!({ "start_ms": -1, "end_ms": 10 }), "#/start_ms"),
        (json!({ "start_ms": 10, "end_ms": 10 }), "#/end_ms"),
        (json!({ "start_ms": 0, "end_ms": 11_000_000 }), "#/end_ms"),
        (
            json!({ "start_ms": 60_000, "end_ms": 61_000 }),
            "#/start_ms",
        ),
        (
            json!({ "recording_id": Uuid::new_v4(), "start_ms": 0, "end_ms": 1 }),
            "#/recording_id",
        ),
    ] {
        let problem = t
            .app
            .send(post_json(&uri, owner.as_deref(), &body))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{body}");
    }
    let viewer = t.cast.token(&t.app, Who::Viewer);
    t.app
        .send(post_json(
            &uri,
            viewer.as_deref(),
            &json!({ "start_ms": 0, "end_ms": 1 }),
        ))
        .await
        .problem(StatusCode::FORBIDDEN);
    // 3.0–5.0 s of 2 s segments starting at 0: segments 1 and 2 (2–6 s).
    let created = t
        .app
        .send(post_json(
            &uri,
            owner.as_deref(),
            &json!({ "start_ms": 3_000, "end_ms": 5_000 }),
        ))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let clip = created.json();
    assert_eq!(clip["recording_id"], recording.to_string());
    assert_eq!(
        (
            clip["playable_start_ms"].clone(),
            clip["playable_end_ms"].clone()
        ),
        (json!(2_000), json!(6_000))
    );
    let media = t
        .app
        .send(get(
            &format!("/clips/{}/source/index.m3u8", clip["id"].as_str().unwrap()),
            None,
        ))
        .await;
    let text = String::from_utf8(media.body.to_vec()).unwrap();
    let listed: Vec<&str> = text.lines().filter(|l| l.ends_with(".m4s")).collect();
    assert_eq!(
        listed,
        [
            format!("../../../vod/{recording}/source/r-1.m4s"),
            format!("../../../vod/{recording}/source/r-2.m4s")
        ],
        "{text}"
    );
    assert!(text.contains("#EXT-X-ENDLIST") && text.contains("#EXT-X-PLAYLIST-TYPE:VOD"));
}

/// The retention an owner sets is what the catalog dates the stream's
/// recordings by; the retention task itself is tested with the catalog
/// (`crates/dvr/tests/catalog/retention.rs`).
#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn the_retention_an_owner_sets_dates_the_expiry_of_recordings(pool: PgPool) {
    let t = setup(&pool).await;
    let stream = t.cast.stream_id();
    // Set by the owner: kept 3 days from the end.
    let owner = t.cast.token(&t.app, Who::Owner);
    let patched = t
        .app
        .send(request_json(
            Method::PATCH,
            &format!("/api/v1/streams/{stream}"),
            owner.as_deref(),
            json!({ "settings": { "recording_retention_days": 3 } }),
        ))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{:?}", patched.body);
    let first = record(&pool, &t.store, stream, 2, false).await;
    let row = index::recording(&pool, first).await.unwrap().unwrap();
    let kept = row.expires_at.unwrap() - row.ended_at.unwrap();
    assert_eq!(kept.num_days(), 3);
}

fn request_json(
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: serde_json::Value,
) -> axum::http::Request<axum::body::Body> {
    let mut builder = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder.body(body.to_string().into()).unwrap()
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn recordings_page_newest_first_and_cursors_stay_with_their_list(pool: PgPool) {
    let t = setup(&pool).await;
    let older = record(&pool, &t.store, t.cast.stream_id(), 1, false).await;
    let newer = record(&pool, &t.store, t.cast.stream_id(), 1, false).await;
    let owner = t.cast.token(&t.app, Who::Owner);
    let uri = format!("/api/v1/streams/{}/recordings?limit=1", t.cast.stream);
    let first = t.app.send(get(&uri, owner.as_deref())).await.json();
    assert_eq!(first["items"][0]["id"], newer.to_string());
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = t
        .app
        .send(get(&format!("{uri}&cursor={cursor}"), owner.as_deref()))
        .await
        .json();
    assert_eq!(second["items"][0]["id"], older.to_string());
    assert!(second["next_cursor"].is_null());
    // The same cursor on another stream's list is refused.
    let other = Cast::new(&t.app, &pool).await;
    let other_owner = other.token(&t.app, Who::Owner);
    t.app
        .send(get(
            &format!(
                "/api/v1/streams/{}/recordings?cursor={cursor}",
                other.stream
            ),
            other_owner.as_deref(),
        ))
        .await
        .problem(StatusCode::BAD_REQUEST);
}
