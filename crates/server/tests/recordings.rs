//! Recordings end to end: ffmpeg publishes to the real server, which stores
//! every segment (on the filesystem, or in a real S3 server, `s3s-fs`) and
//! indexes it in Postgres; the recording then plays back as VOD, clips play
//! at once, delete removes objects and rows, an S3 outage loses nothing, and
//! a kill -9 leaves a recording that plays up to its last stored segment.

mod support;

use std::path::PathBuf;

use m3u8_rs::{MasterPlaylist, MediaPlaylist, MediaPlaylistType, Playlist};
use nova_testkit::s3::{self, S3sServer};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use support::fixture::{Fixture, LIMIT, Tracks};
use support::media_check::{finish_hls_player, start_hls_player};
use support::server::{Server, ServerOptions, TestDatabase, stream_key_url};
use support::{publish, wait_for};

/// Streams end a second after their publisher leaves, so tests need not
/// wait out the default reconnect window.
const QUICK_END: [&str; 2] = ["--reconnect-window", "1"];

#[derive(Debug, sqlx::FromRow)]
struct IndexedSegment {
    rendition: String,
    sequence: i64,
    object_key: String,
    init_object_key: Option<String>,
    byte_size: i64,
    duration_ms: i32,
}

async fn indexed(database_url: &str, recording: &str) -> Vec<IndexedSegment> {
    let mut db = PgConnection::connect(database_url).await.unwrap();
    sqlx::query_as(
        "SELECT rendition, sequence, object_key, init_object_key, byte_size, duration_ms \
         FROM stream_segments WHERE recording_id = $1::uuid ORDER BY rendition, sequence",
    )
    .bind(recording)
    .fetch_all(&mut db)
    .await
    .unwrap()
}

async fn api(
    server: &Server,
    token: &str,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}{uri}", server.http);
    let mut request = match method {
        "GET" => server.client.get(url),
        "POST" => server.client.post(url),
        "DELETE" => server.client.delete(url),
        other => panic!("no {other} here"),
    }
    .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn master(server: &Server, url: &str) -> MasterPlaylist {
    let text = server
        .fetch_text(url)
        .await
        .unwrap_or_else(|| panic!("{url} is 404"));
    match m3u8_rs::parse_playlist_res(text.as_bytes()) {
        Ok(Playlist::MasterPlaylist(playlist)) => playlist,
        other => panic!("not a master playlist at {url}: {other:?}\n{text}"),
    }
}

async fn media(server: &Server, url: &str) -> MediaPlaylist {
    let text = server
        .fetch_text(url)
        .await
        .unwrap_or_else(|| panic!("{url} is 404"));
    match m3u8_rs::parse_playlist_res(text.as_bytes()) {
        Ok(Playlist::MediaPlaylist(playlist)) => playlist,
        other => panic!("not a media playlist at {url}: {other:?}\n{text}"),
    }
}

fn join(base: &str, uri: &str) -> String {
    reqwest::Url::parse(base)
        .unwrap()
        .join(uri)
        .unwrap()
        .to_string()
}

fn listed_seconds(playlist: &MediaPlaylist) -> f64 {
    playlist
        .segments
        .iter()
        .map(|s| f64::from(s.duration))
        .sum()
}

/// Every indexed object is where the store keeps it, with its size.
fn assert_stored(rows: &[IndexedSegment], path_of: impl Fn(&str) -> PathBuf) {
    assert!(!rows.is_empty(), "nothing indexed");
    for row in rows {
        let path = path_of(&row.object_key);
        let size = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{} is indexed but not stored: {e}", row.object_key))
            .len();
        assert_eq!(size as i64, row.byte_size, "{}", row.object_key);
        if let Some(init) = &row.init_object_key {
            assert!(path_of(init).is_file(), "{init} is named but not stored");
            let directory = |key: &str| key.rsplit_once('/').map(|(dir, _)| dir.to_owned());
            assert_eq!(
                directory(init),
                directory(&row.object_key),
                "a segment's init is its own rendition's"
            );
        }
    }
    // Per rendition, sequences run without a gap.
    let mut renditions: Vec<&str> = rows.iter().map(|r| r.rendition.as_str()).collect();
    renditions.dedup();
    for rendition in renditions {
        let sequences: Vec<i64> = rows
            .iter()
            .filter(|r| r.rendition == rendition)
            .map(|r| r.sequence)
            .collect();
        let first = sequences[0];
        assert_eq!(
            sequences,
            (first..first + sequences.len() as i64).collect::<Vec<_>>(),
            "{rendition}: segments missing from the recording"
        );
    }
}

/// Plays the VOD master playlist through FFmpeg's HLS demuxer; returns the
/// video frames decoded.
async fn play(url: &str) -> usize {
    let report = finish_hls_player(start_hls_player(url)).await;
    assert!(
        report.success && report.errors.is_empty(),
        "{url}: {}",
        report.errors
    );
    report.video_frames
}

#[tokio::test]
async fn a_recording_plays_as_vod_clips_at_once_and_deletes_cleanly() {
    let fixture = Fixture::start(&QUICK_END).await;
    let (server, token) = (&fixture.server, fixture.token.as_str());
    let stream = server
        .create_stream(token, json!({ "title": "Recorded" }))
        .await;
    let id = stream["id"].as_str().unwrap();
    // A webhook endpoint to hear `recording.ready`.
    let (status, _) = api(
        server,
        token,
        "POST",
        "/api/v1/webhooks",
        Some(
            json!({ "url": "https://hooks.example.com/nova", "event_types": ["recording.ready"] }),
        ),
    )
    .await;
    assert_eq!(status, 201);

    let mut encoder = publish(&stream_key_url(server, &stream), &[], 7.0);
    server.wait_for_status(token, id, "live", LIMIT).await;
    // While live: the recording is listed as recording, its VOD is not yet there.
    let live = wait_for("a recording in progress", LIMIT, || async {
        let (_, page) = api(
            server,
            token,
            "GET",
            &format!("/api/v1/streams/{id}/recordings"),
            None,
        )
        .await;
        page["items"].as_array().and_then(|i| i.first().cloned())
    })
    .await;
    assert_eq!(live["state"], "recording", "{live}");
    assert!(live["playback"]["hls_url"].is_null());
    // The DVR window: a live playlist over the stored segments, from the start.
    let dvr_url = format!("{}/dvr/{id}/master.m3u8", server.http);
    let (dvr_media_url, window) = wait_for("a DVR window with 2 segments", LIMIT, || async {
        let text = server.fetch_text(&dvr_url).await?;
        let Ok(Playlist::MasterPlaylist(dvr)) = m3u8_rs::parse_playlist_res(text.as_bytes()) else {
            panic!("not a master playlist at {dvr_url}: {text}");
        };
        let url = join(&dvr_url, &dvr.variants[0].uri);
        let window = media(server, &url).await;
        (window.segments.len() >= 2).then_some((url, window))
    })
    .await;
    assert!(
        !window.end_list,
        "the DVR window of a live stream has no end yet"
    );
    assert_eq!(
        window.media_sequence, 0,
        "it reaches back to the first segment"
    );
    let first = join(&dvr_media_url, &window.segments[0].uri);
    let response = server
        .fetch(&first)
        .await
        .expect("listed DVR segments are served");
    assert!(!response.bytes().await.unwrap().is_empty());
    assert!(encoder.wait().await.unwrap().success());
    server.wait_for_status(token, id, "ended", LIMIT).await;

    let recording = server.complete_recording(token, id, LIMIT).await;
    let recording_id = recording["id"].as_str().unwrap();
    let duration = recording["duration_ms"].as_i64().unwrap();
    assert!((6_500..=7_500).contains(&duration), "{recording}");
    let (status, same) = api(
        server,
        token,
        "GET",
        &format!("/api/v1/recordings/{recording_id}"),
        None,
    )
    .await;
    assert_eq!((status, &same["id"]), (200, &recording["id"]));
    assert!(!same["renditions"].as_array().unwrap().is_empty());

    // The index and the store agree.
    let rows = indexed(&fixture.database.url, recording_id).await;
    let root = server.data_path().join("recordings");
    assert_stored(&rows, |key| root.join(key));
    assert_eq!(Some(rows.len() as i64), recording["segment_count"].as_i64());

    // VOD: a master playlist, VOD media playlists, every segment probes clean.
    let master_url = recording["playback"]["hls_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let vod = master(server, &master_url).await;
    assert!(!vod.variants.is_empty());
    // CMAF: video-only variants and an audio rendition, as recorded.
    let audio = vod.alternatives.iter().filter_map(|a| a.uri.as_deref());
    let renditions = vod
        .variants
        .iter()
        .map(|v| (v.uri.as_str(), Tracks::Video))
        .chain(audio.map(|uri| (uri, Tracks::Audio)));
    let mut checked = 0;
    for (uri, tracks) in renditions {
        let url = join(&master_url, uri);
        let playlist = media(server, &url).await;
        assert_eq!(playlist.playlist_type, Some(MediaPlaylistType::Vod));
        assert!(playlist.end_list);
        assert!((listed_seconds(&playlist) - duration as f64 / 1000.0).abs() < 0.5);
        fixture.check_segments(&url, &playlist, tracks).await;
        checked += 1;
    }
    assert_eq!(checked, 2, "source video and audio: {vod:?}");
    let frames = play(&master_url).await;
    assert!(
        (195..=225).contains(&frames),
        "7 s at 30 fps, got {frames} frames"
    );
    // The bucket alone can serve the recording too: its playlists are stored.
    let prefix = format!("recordings/{id}/{recording_id}/");
    assert!(root.join(format!("{prefix}master.m3u8")).is_file());

    // A clip of seconds 2–4 plays at once, widened to keyframes.
    let (status, clip) = api(
        server,
        token,
        "POST",
        &format!("/api/v1/streams/{id}/clips"),
        Some(json!({ "recording_id": recording_id, "start_ms": 2_500, "end_ms": 3_500, "title": "The good part" })),
    )
    .await;
    assert_eq!(status, 201, "{clip}");
    let (from, to) = (
        clip["playable_start_ms"].as_i64().unwrap(),
        clip["playable_end_ms"].as_i64().unwrap(),
    );
    assert!(from <= 2_500 && to >= 3_500 && to - from <= 4_500, "{clip}");
    let clip_url = clip["playback"]["hls_url"].as_str().unwrap().to_owned();
    let clip_master = master(server, &clip_url).await;
    let clip_media_url = join(&clip_url, &clip_master.variants[0].uri);
    let clip_media = media(server, &clip_media_url).await;
    assert!((listed_seconds(&clip_media) - (to - from) as f64 / 1000.0).abs() < 0.01);
    fixture
        .check_segments(&clip_media_url, &clip_media, Tracks::Video)
        .await;
    let clip_frames = play(&clip_url).await;
    assert!(clip_frames > 0 && clip_frames < frames, "{clip_frames}");
    // Bad ranges are the caller's error, said in words.
    let (status, problem) = api(
        server,
        token,
        "POST",
        &format!("/api/v1/streams/{id}/clips"),
        Some(json!({ "start_ms": 5_000, "end_ms": 4_000 })),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "#/end_ms");

    // recording.ready was queued for the owner's endpoint.
    let mut db = PgConnection::connect(&fixture.database.url).await.unwrap();
    let ready: Vec<Value> = sqlx::query_scalar(
        "SELECT payload FROM webhook_deliveries WHERE event_type = 'recording.ready'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(ready.len(), 1, "{ready:?}");
    assert_eq!(ready[0]["data"]["recording_id"], recording["id"]);

    // Another user may not see or delete it.
    let stranger = server.token_for(uuid::Uuid::new_v4());
    let (status, _) = api(
        server,
        &stranger,
        "DELETE",
        &format!("/api/v1/recordings/{recording_id}"),
        None,
    )
    .await;
    assert_eq!(status, 403);

    // Delete: objects, rows and the clip go.
    let (status, _) = api(
        server,
        token,
        "DELETE",
        &format!("/api/v1/recordings/{recording_id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = api(
        server,
        token,
        "GET",
        &format!("/api/v1/recordings/{recording_id}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    for row in &rows {
        assert!(
            !root.join(&row.object_key).exists(),
            "{} was not deleted",
            row.object_key
        );
    }
    assert!(
        indexed(&fixture.database.url, recording_id)
            .await
            .is_empty()
    );
    assert!(server.fetch(&master_url).await.is_none());
    assert!(server.fetch(&clip_url).await.is_none());
    fixture.finish().await;
}

#[tokio::test]
async fn an_s3_outage_mid_stream_loses_no_segment() {
    let mut s3 = S3sServer::start();
    let endpoint = s3.endpoint();
    let args = [
        QUICK_END[0],
        QUICK_END[1],
        "--storage",
        "s3",
        "--s3-endpoint",
        &endpoint,
        "--s3-bucket",
        s3::BUCKET,
        "--s3-force-path-style",
        "--s3-access-key-id",
        s3::ACCESS_KEY,
        "--s3-secret-access-key",
        s3::SECRET_KEY,
    ];
    let fixture = Fixture::start(&args).await;
    let (server, token) = (&fixture.server, fixture.token.as_str());
    let stream = server
        .create_stream(token, json!({ "title": "Outage" }))
        .await;
    let id = stream["id"].as_str().unwrap();
    let live_url = fixture.playlist_url(&stream);

    let mut encoder = publish(
        &stream_key_url(server, &stream),
        &["-stream_loop", "-1"],
        20.0,
    );
    fixture.wait_for_segments(&live_url, 2).await;
    // The store goes away for longer than several segments.
    s3.stop();
    let (_, before) = fixture.playlist(&live_url).await.unwrap();
    let before = before.media_sequence + before.segments.len() as u64;
    let during = wait_for("4 more live segments while S3 is down", LIMIT, || async {
        let (_, now) = fixture.playlist(&live_url).await?;
        let last = now.media_sequence + now.segments.len() as u64;
        (last >= before + 4).then_some(last)
    })
    .await;
    assert!(during >= before + 4, "the live stream kept going");
    s3.resume();
    assert!(encoder.wait().await.unwrap().success());
    server.wait_for_status(token, id, "ended", LIMIT).await;

    let recording = server.complete_recording(token, id, LIMIT).await;
    let recording_id = recording["id"].as_str().unwrap();
    let duration = recording["duration_ms"].as_i64().unwrap();
    assert!(
        (19_500..=20_500).contains(&duration),
        "every segment is in: {recording}"
    );
    let rows = indexed(&fixture.database.url, recording_id).await;
    assert_stored(&rows, |key| s3.object_path(key));
    let frames = play(recording["playback"]["hls_url"].as_str().unwrap()).await;
    assert!(
        (585..=615).contains(&frames),
        "20 s at 30 fps, got {frames} frames"
    );
    fixture.finish().await;
}

#[tokio::test]
async fn after_a_kill_9_the_recording_plays_up_to_its_last_stored_segment() {
    let database = TestDatabase::create().await;
    let server = Server::start(ServerOptions {
        database_url: Some(&database.url),
        extra_args: &QUICK_END,
        log_filter: None,
        tls: None,
    })
    .await;
    let token = server.token_for(uuid::Uuid::new_v4());
    let stream = server
        .create_stream(&token, json!({ "title": "Crash" }))
        .await;
    let id = stream["id"].as_str().unwrap().to_owned();
    let mut encoder = publish(
        &stream_key_url(&server, &stream),
        &["-stream_loop", "-1"],
        300.0,
    );
    let recording_id: String = wait_for("3 segments indexed", LIMIT, || async {
        let mut db = PgConnection::connect(&database.url).await.ok()?;
        sqlx::query_scalar::<_, String>(
            "SELECT recording_id::text FROM stream_segments GROUP BY recording_id HAVING count(*) >= 3",
        )
        .fetch_optional(&mut db)
        .await
        .unwrap()
    })
    .await;

    let Server {
        mut child,
        data_dir,
        ..
    } = server;
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    encoder.kill().await.unwrap();
    let stored = indexed(&database.url, &recording_id).await;

    let server = Server::start_in(
        ServerOptions {
            database_url: Some(&database.url),
            extra_args: &QUICK_END,
            log_filter: None,
            tls: None,
        },
        data_dir,
    )
    .await;
    let recording = server.complete_recording(&token, &id, LIMIT).await;
    assert_eq!(recording["id"], recording_id.as_str());
    let rows = indexed(&database.url, &recording_id).await;
    assert!(
        rows.len() >= stored.len(),
        "nothing indexed before the crash is lost"
    );
    let root = server.data_path().join("recordings");
    assert_stored(&rows, |key| root.join(key));
    // A recording lasts as long as its longest rendition (one may be a
    // segment ahead of another when the process died).
    let mut per_rendition = std::collections::BTreeMap::<&str, i64>::new();
    for row in &rows {
        *per_rendition.entry(row.rendition.as_str()).or_default() += i64::from(row.duration_ms);
    }
    let listed = per_rendition.values().copied().max().unwrap();
    assert_eq!(recording["duration_ms"].as_i64(), Some(listed));
    let video_ms = per_rendition["source"];
    let frames = play(recording["playback"]["hls_url"].as_str().unwrap()).await;
    let expected = video_ms as f64 * 0.03;
    assert!(
        (frames as f64 - expected).abs() <= 10.0,
        "{frames} frames for {video_ms} ms of video"
    );
    let (status, _) = server.terminate().await;
    assert!(status.success());
    database.drop_database().await;
}
