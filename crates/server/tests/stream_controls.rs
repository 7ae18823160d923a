//! The owner's controls over a live broadcast, with the real ingest: ffmpeg
//! publishes, the API reports its health, `POST .../end` cuts it off and
//! ends the playlist at once (no reconnect window), and a disabled stream's
//! key is refused.

mod support;

use std::time::Duration;

use nova_testkit::ffmpeg;
use serde_json::{Value, json};
use support::fixture::{Fixture, LIMIT};
use support::server::stream_key_url;
use support::{flv, publish, wait_for};

async fn post(fixture: &Fixture, uri: &str) -> (u16, Value) {
    let response = fixture
        .server
        .client
        .post(format!("{}{uri}", fixture.server.http))
        .bearer_auth(&fixture.token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn end_cuts_off_the_encoder_and_a_disabled_key_is_refused() {
    // The default 10 s reconnect window: ending must not wait for it.
    let fixture = Fixture::start(&[]).await;
    let server = &fixture.server;
    let token = fixture.token.as_str();
    let stream = server
        .create_stream(token, json!({ "title": "Cut short" }))
        .await;
    let id = stream["id"].as_str().unwrap();
    let playlist_url = fixture.playlist_url(&stream);
    let key = stream["stream_key"].as_str().unwrap();
    assert!(
        !playlist_url.contains(key),
        "playback URLs never carry the key"
    );

    // Far longer than the test: only the server can stop it.
    let mut encoder = publish(
        &stream_key_url(server, &stream),
        &["-stream_loop", "-1"],
        300.0,
    );
    server.wait_for_status(token, id, "live", LIMIT).await;
    fixture.wait_for_segments(&playlist_url, 1).await;

    // The sample is 30 fps H.264 at about 950 kb/s with 128 kb/s AAC and a
    // keyframe every 2 s; after a few seconds the window holds enough of it.
    let health = wait_for("a full health window", LIMIT, || async {
        let health = server.get_stream(token, id).await["health"].clone();
        let settled = health["keyframe_interval_ms"].is_u64()
            && health["frame_rate"].as_f64().is_some_and(|fps| fps > 25.0);
        settled.then_some(health)
    })
    .await;
    let video = health["video_bitrate_kbps"].as_u64().unwrap();
    let audio = health["audio_bitrate_kbps"].as_u64().unwrap();
    let fps = health["frame_rate"].as_f64().unwrap();
    assert!((500..=2000).contains(&video), "{health}");
    assert!((64..=256).contains(&audio), "{health}");
    assert!((25.0..=35.0).contains(&fps), "{health}");
    assert_eq!(health["keyframe_interval_ms"], 2000, "{health}");
    assert_eq!(health["frames_dropped"], 0, "{health}");
    // ffmpeg interleaves the tracks by timestamp: no drift beyond a frame
    // or two.
    let drift = health["av_drift_ms"].as_i64().unwrap();
    assert!(drift.abs() <= 70, "{health}");
    assert!(health["warnings"].is_array(), "{health}");

    let (status, ended) = post(&fixture, &format!("/api/v1/streams/{id}/end")).await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["status"], "ended");
    assert!(ended["ended_at"].is_string());

    // The encoder is disconnected: ffmpeg gives up on its own at once.
    let exit = tokio::time::timeout(Duration::from_secs(10), encoder.wait())
        .await
        .expect("ffmpeg is disconnected when the broadcast ends")
        .unwrap();
    assert!(!exit.success(), "ffmpeg did not finish its 300 s: {exit}");
    // The playlist ends without waiting out the reconnect window.
    let (text, playlist) = wait_for("#EXT-X-ENDLIST", Duration::from_secs(5), || async {
        let (text, playlist) = fixture.playlist(&playlist_url).await?;
        playlist.end_list.then_some((text, playlist))
    })
    .await;
    assert!(!playlist.segments.is_empty(), "{text}");
    let after = server.get_stream(token, id).await;
    assert_eq!(after["status"], "ended");
    assert_eq!(after["health"], Value::Null);
    let (status, again) = post(&fixture, &format!("/api/v1/streams/{id}/end")).await;
    assert_eq!(status, 409, "{again}");

    // Disabled: the same key is refused, and the stream stays ended.
    let (status, disabled) = post(&fixture, &format!("/api/v1/streams/{id}/disable")).await;
    assert_eq!(status, 200, "{disabled}");
    assert_eq!(disabled["disabled"], true);
    let mut refused = publish(&stream_key_url(server, &stream), &[], 5.0);
    let exit = tokio::time::timeout(Duration::from_secs(15), refused.wait())
        .await
        .expect("ffmpeg gives up when its publish is refused")
        .unwrap();
    assert!(!exit.success(), "a disabled stream's key published: {exit}");
    let still = server.get_stream(token, id).await;
    assert_eq!(still["status"], "ended");
    assert_eq!(
        still["ended_at"], after["ended_at"],
        "it never went live again"
    );

    fixture.finish().await;
}

/// Audio stamped 1.5 s ahead of the video sent with it, as an encoder with
/// an audio clock of its own sends it: health reports the drift and tells
/// the streamer what to fix, and the stream keeps packaging.
#[tokio::test]
async fn audio_stamped_apart_from_video_is_reported_as_drift() {
    let fixture = Fixture::start(&[]).await;
    let server = &fixture.server;
    let token = fixture.token.as_str();
    let stream = server
        .create_stream(token, json!({ "title": "Out of step" }))
        .await;
    let id = stream["id"].as_str().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (source, drifting) = (dir.path().join("a.flv"), dir.path().join("b.flv"));
    encode_flv(&source).await;
    flv::shift_audio(&source, &drifting, 1500);
    let mut encoder = publish_as_read(&fixture, &stream, &drifting);
    server.wait_for_status(token, id, "live", LIMIT).await;

    let health = wait_for("the drift warning", LIMIT, || async {
        let health = server.get_stream(token, id).await["health"].clone();
        let warned = health["warnings"].as_array()?.iter().any(|w| {
            w.as_str()
                .is_some_and(|w| w.contains("1.5 s ahead of the video"))
        });
        warned.then_some(health)
    })
    .await;
    let drift = health["av_drift_ms"].as_i64().unwrap();
    assert!((1430..=1570).contains(&drift), "{health}");
    let playlist_url = fixture.playlist_url(&stream);
    fixture.wait_for_segments(&playlist_url, 3).await;

    encoder.kill().await.unwrap();
    fixture.finish().await;
}

/// Audio whose clock now and then steps back behind the frame before it:
/// the server repairs the timestamps, counts the repairs in the stream's
/// health and tells the streamer, and the stream keeps packaging.
#[tokio::test]
async fn audio_timestamps_that_step_back_are_repaired_and_counted() {
    let fixture = Fixture::start(&[]).await;
    let server = &fixture.server;
    let token = fixture.token.as_str();
    let stream = server
        .create_stream(token, json!({ "title": "Jittery clock" }))
        .await;
    let id = stream["id"].as_str().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (source, jittery) = (dir.path().join("a.flv"), dir.path().join("b.flv"));
    encode_flv(&source).await;
    // About every two seconds, an audio frame 40 ms behind the one before.
    flv::step_audio_back(&source, &jittery, 100, 40);
    let mut encoder = publish_as_read(&fixture, &stream, &jittery);
    server.wait_for_status(token, id, "live", LIMIT).await;

    let health = wait_for("the timestamp repair warning", LIMIT, || async {
        let health = server.get_stream(token, id).await["health"].clone();
        let warned = health["warnings"].as_array()?.iter().any(|w| {
            w.as_str()
                .is_some_and(|w| w.contains("had timestamps that went backwards"))
        });
        warned.then_some(health)
    })
    .await;
    assert!(
        health["timestamp_repairs"].as_u64().unwrap() >= 1,
        "{health}"
    );
    let playlist_url = fixture.playlist_url(&stream);
    fixture.wait_for_segments(&playlist_url, 3).await;

    encoder.kill().await.unwrap();
    fixture.finish().await;
}

/// 30 s of 320x240 video with 48 kHz audio, as an FLV file to rewrite.
async fn encode_flv(path: &std::path::Path) {
    let encoded = tokio::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-loglevel", "error"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args([
            "-t",
            "30",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "60",
        ])
        .args(["-pix_fmt", "yuv420p", "-c:a", "aac"])
        .arg(path)
        .status()
        .await
        .unwrap();
    assert!(encoded.success());
}

/// Publishes a rewritten FLV file in real time, copied as read: the
/// muxer's interleaving would undo the rewrite.
fn publish_as_read(
    fixture: &Fixture,
    stream: &Value,
    flv: &std::path::Path,
) -> tokio::process::Child {
    ffmpeg::publish(&stream_key_url(&fixture.server, stream), |command| {
        command
            .args(["-re", "-i"])
            .arg(flv)
            .args(["-c", "copy", "-max_interleave_delta", "1"]);
    })
}
