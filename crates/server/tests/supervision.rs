//! Supervision, against the real server: a failing part ends only what
//! depends on it, `/readyz` names what is down, shutdown keeps its
//! deadline, and transcoding is admitted up to `--max-transcoded-streams`.
//!
//! No input makes a packager or a background task panic or hang (the
//! parsers in front of them reject what they cannot read), so those
//! failures are injected with the debug build's hidden `--test-faults`
//! flag (see `src/fault.rs`; release builds refuse it).

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use support::fixture::{Fixture, LIMIT};
use support::server::{Server, stream_key_url};
use support::{publish_720p, wait_for};

async fn abr_stream(fixture: &Fixture, title: &str) -> Value {
    fixture
        .server
        .create_stream(
            &fixture.token,
            json!({ "title": title, "settings": { "profile": "abr" } }),
        )
        .await
}

/// The newest segment's URI and the media sequence of a live playlist.
async fn newest_segment(fixture: &Fixture, url: &str) -> (u64, String) {
    let (_, playlist) = fixture.playlist(url).await.expect("a live playlist");
    let last = playlist.segments.last().expect("a segment");
    (playlist.media_sequence, last.uri.clone())
}

async fn readyz(server: &Server) -> (u16, Value) {
    let response = server
        .client
        .get(format!("{}/readyz", server.http))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_panicking_packager_ends_only_its_stream_with_the_reason_in_its_health() {
    // The second stream to go live panics in its packager.
    let fixture = Fixture::start(&["--test-faults", "packager-panic:2"]).await;
    let server = &fixture.server;
    let healthy = server
        .create_stream(&fixture.token, json!({ "title": "Healthy" }))
        .await;
    let doomed = server
        .create_stream(&fixture.token, json!({ "title": "Doomed" }))
        .await;
    let doomed_id = doomed["id"].as_str().unwrap();
    let healthy_url = fixture.playlist_url(&healthy);

    let _healthy_publisher = publish_720p(&stream_key_url(server, &healthy), 90.0);
    fixture.wait_for_segments(&healthy_url, 2).await;
    let published = Instant::now();
    let mut doomed_publisher = publish_720p(&stream_key_url(server, &doomed), 90.0);

    // Ended by the server, with the reason where its owner looks.
    server
        .wait_for_status(&fixture.token, doomed_id, "ended", LIMIT)
        .await;
    eprintln!(
        "the doomed stream ended {:?} after its publisher started",
        published.elapsed()
    );
    let ended = server.get_stream(&fixture.token, doomed_id).await;
    let warnings = ended["health"]["warnings"].to_string();
    assert!(
        warnings.contains("failed to package") && warnings.contains("packager-panic"),
        "{ended}"
    );
    // Its publisher was let go rather than left sending into nothing.
    let exited = tokio::time::timeout(LIMIT, doomed_publisher.wait()).await;
    assert!(
        exited.is_ok(),
        "the doomed stream's publisher is still connected"
    );

    // The other stream goes on: its playlist keeps growing.
    let before = newest_segment(&fixture, &healthy_url).await;
    wait_for("the healthy stream to grow", LIMIT, || async {
        let now = newest_segment(&fixture, &healthy_url).await;
        (now != before).then_some(())
    })
    .await;
    let healthy_now = server
        .get_stream(&fixture.token, healthy["id"].as_str().unwrap())
        .await;
    assert_eq!(healthy_now["status"], "live", "{healthy_now}");

    // And the failed stream can go live again (the fault hit only the
    // second stream's packager; this is the third).
    let _again = publish_720p(&stream_key_url(server, &doomed), 90.0);
    server
        .wait_for_status(&fixture.token, doomed_id, "live", LIMIT)
        .await;
    fixture
        .wait_for_segments(&fixture.playlist_url(&doomed), 1)
        .await;
    fixture.finish().await;
}

#[tokio::test]
async fn a_background_task_that_panics_is_named_in_readyz_and_restarted() {
    // The API's background tasks panic 5 s after each start.
    let fixture = Fixture::start(&["--test-faults", "background-panic"]).await;
    let server = &fixture.server;
    let down = wait_for("/readyz to name the background tasks", LIMIT, || async {
        let (status, body) = readyz(server).await;
        let why = body["components_down"]["background_tasks"]
            .as_str()?
            .to_owned();
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["status"], "not ready", "{body}");
        Some(why)
    })
    .await;
    assert!(down.contains("panicked"), "{down}");
    assert!(down.contains("background-panic"), "{down}");
    // The process is up meanwhile, and the tasks come back after the backoff.
    let health = server
        .client
        .get(format!("{}/healthz", server.http))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    wait_for("/readyz to be ready again", LIMIT, || async {
        let (status, body) = readyz(server).await;
        (status == 200 && body["components_down"] == json!({})).then_some(())
    })
    .await;
    fixture.finish().await;
}

#[tokio::test]
async fn shutdown_with_a_stuck_packager_ends_within_its_deadline_and_fails() {
    let fixture = Fixture::start(&[
        "--test-faults",
        "packager-stuck:1",
        "--shutdown-timeout",
        "3",
    ])
    .await;
    let server = &fixture.server;
    let stream = server
        .create_stream(&fixture.token, json!({ "title": "Stuck" }))
        .await;
    let _publisher = publish_720p(&stream_key_url(server, &stream), 90.0);
    fixture
        .wait_for_segments(&fixture.playlist_url(&stream), 1)
        .await;

    let Fixture {
        server, database, ..
    } = fixture;
    let asked = Instant::now();
    let (status, _dir) = server.terminate().await;
    let took = asked.elapsed();
    eprintln!("shutdown with a stuck packager took {took:?} (deadline 3 s)");
    // A bound for a hang, not a timing: 3 s of deadline, then the exit.
    assert!(took < Duration::from_secs(30), "shutdown took {took:?}");
    assert!(
        !status.success(),
        "a shutdown that left a thread behind exits non-zero: {status}"
    );
    database.drop_database().await;
}

#[tokio::test]
async fn abr_streams_over_the_transcoding_limit_are_packaged_passthrough_with_a_warning() {
    let fixture = Fixture::start(&[
        "--max-transcoded-streams",
        "1",
        "--abr-preset",
        "ultrafast",
        "--reconnect-window",
        "0",
    ])
    .await;
    let server = &fixture.server;
    let first = abr_stream(&fixture, "First").await;
    let second = abr_stream(&fixture, "Second").await;
    let third = abr_stream(&fixture, "Third").await;
    // The number of variants in the stream's master playlist, once it has one.
    let variants = |stream: &Value| {
        let url = stream["playback"]["master_url"]
            .as_str()
            .unwrap()
            .to_owned();
        let server = &fixture.server;
        async move {
            let text = server.fetch_text(&url).await?;
            let count = text.matches("#EXT-X-STREAM-INF").count();
            Some((count, text))
        }
    };

    let mut first_publisher = publish_720p(&stream_key_url(server, &first), 90.0);
    fixture
        .wait_for_segments(&fixture.playlist_url(&first), 1)
        .await;
    wait_for("the first stream's ladder", LIMIT, || async {
        (variants(&first).await?.0 == 3).then_some(())
    })
    .await;

    // Over the limit: live all the same, passthrough, and told why.
    let _second_publisher = publish_720p(&stream_key_url(server, &second), 90.0);
    fixture
        .wait_for_segments(&fixture.playlist_url(&second), 2)
        .await;
    let (count, text) = variants(&second).await.expect("a master playlist");
    assert_eq!(count, 1, "one variant, the source:\n{text}");
    let second_id = second["id"].as_str().unwrap();
    let warning = wait_for("the transcoding limit warning", LIMIT, || async {
        let live = server.get_stream(&fixture.token, second_id).await;
        let warnings = live["health"]["warnings"].as_array()?.clone();
        warnings.into_iter().find(|w| {
            w.as_str()
                .unwrap_or("")
                .contains("--max-transcoded-streams")
        })
    })
    .await;
    assert!(warning.to_string().contains("(1,"), "{warning}");
    assert_eq!(
        server.get_stream(&fixture.token, second_id).await["health"]["renditions"],
        Value::Null,
        "no ladder renditions"
    );

    // The first stream ends: its slot goes to the next stream to go live;
    // the second stays as it is.
    first_publisher.kill().await.unwrap();
    server
        .wait_for_status(
            &fixture.token,
            first["id"].as_str().unwrap(),
            "ended",
            LIMIT,
        )
        .await;
    let _third_publisher = publish_720p(&stream_key_url(server, &third), 90.0);
    fixture
        .wait_for_segments(&fixture.playlist_url(&third), 1)
        .await;
    wait_for("the third stream's ladder", LIMIT, || async {
        (variants(&third).await?.0 == 3).then_some(())
    })
    .await;
    assert_eq!(variants(&second).await.unwrap().0, 1);
    fixture.finish().await;
}
