//! A real browser plays what nova-live serves: hls.js, dash.js and Shaka
//! Player in headless Chromium, on a page from another origin, for fMP4 and MPEG-TS
//! streams, the muxed playlist, the master playlist and the MPD, and an
//! ABR ladder in low-latency mode over HTTPS and HTTP/2.
//! `scripts/test` installs Chromium and the players (tests/browser).

mod support;

use nova_testkit::tls::TestCertificate;
use serde_json::{Value, json};
use support::browser;
use support::fixture::{Fixture, LIMIT};
use support::server::stream_key_url;
use support::{publish, publish_720p, wait_for};
const WATCH_SECONDS: u32 = 8;

#[tokio::test]
async fn hls_js_in_chromium_plays_fmp4_and_ts_streams() {
    let fixture = Fixture::start(&[]).await;
    let (server, token) = (&fixture.server, &fixture.token);

    for container in ["fmp4", "ts"] {
        let stream = server
            .create_stream(
                token,
                json!({ "title": format!("browser {container}"), "settings": { "container": container } }),
            )
            .await;
        let mut publisher = publish(
            &stream_key_url(server, &stream),
            &["-stream_loop", "-1"],
            60.0,
        );
        let url = fixture.playlist_url(&stream);
        fixture.wait_for_segments(&url, 2).await;

        let report = play_in_chromium("play-hls.mjs", &url).await;
        assert_played(container, &report);
        publisher.kill().await.unwrap();
    }

    fixture.finish().await;
}

#[tokio::test]
async fn hls_js_and_shaka_play_the_master_playlist_dash_js_and_shaka_the_mpd() {
    let fixture = Fixture::start(&[]).await;
    let (server, token) = (&fixture.server, &fixture.token);
    let stream = server
        .create_stream(token, json!({ "title": "browser renditions" }))
        .await;
    let mut publisher = publish(
        &stream_key_url(server, &stream),
        &["-stream_loop", "-1"],
        120.0,
    );
    fixture
        .wait_for_segments(&fixture.playlist_url(&stream), 3)
        .await;
    let master = stream["playback"]["master_url"].as_str().unwrap();
    let report = play_in_chromium("play-hls.mjs", master).await;
    assert_played("master.m3u8", &report);
    let mpd = stream["playback"]["dash_url"].as_str().unwrap();
    let report = play_in_chromium("play-dash.mjs", mpd).await;
    assert_played("manifest.mpd", &report);
    let report = play_in_chromium("play-shaka.mjs", master).await;
    assert_played("master.m3u8 in Shaka", &report);
    let report = play_in_chromium("play-shaka.mjs", mpd).await;
    assert_played("manifest.mpd in Shaka", &report);
    publisher.kill().await.unwrap();
    fixture.finish().await;
}

#[tokio::test]
async fn a_recording_plays_back_in_hls_js_and_dash_js() {
    let fixture = Fixture::start(&["--reconnect-window", "1"]).await;
    let (server, token) = (&fixture.server, &fixture.token);
    let stream = server
        .create_stream(token, json!({ "title": "browser VOD" }))
        .await;
    let id = stream["id"].as_str().unwrap();
    let mut publisher = publish(
        &stream_key_url(server, &stream),
        &["-stream_loop", "-1"],
        14.0,
    );
    assert!(publisher.wait().await.unwrap().success());
    let recording = server.complete_recording(token, id, LIMIT).await;
    let hls = recording["playback"]["hls_url"].as_str().unwrap();
    assert_played(
        "VOD master.m3u8",
        &play_in_chromium("play-hls.mjs", hls).await,
    );
    let dash = recording["playback"]["dash_url"].as_str().unwrap();
    assert_played(
        "VOD manifest.mpd",
        &play_in_chromium("play-dash.mjs", dash).await,
    );
    fixture.finish().await;
}

#[tokio::test]
async fn hls_js_plays_an_abr_ladder_at_low_latency_over_http2() {
    let certificate = TestCertificate::generate();
    // ultrafast: Chromium decodes on the same two cores the ladder encodes on.
    let fixture = Fixture::start_https(
        &["--abr-preset", "ultrafast", "--storage", "off"],
        &certificate,
    )
    .await;
    let (server, token) = (&fixture.server, &fixture.token);
    let stream = server
        .create_stream(
            token,
            json!({ "title": "browser ladder", "settings": { "profile": "abr" } }),
        )
        .await;
    let mut publisher = publish_720p(&stream_key_url(server, &stream), 60.0);
    fixture
        .wait_for_segments(&fixture.playlist_url(&stream), 2)
        .await;
    let master = stream["playback"]["master_url"].as_str().unwrap();
    // The source and the ladder below it: 720p, 480p and 360p.
    let widths: Vec<u64> = wait_for("the ladder in the master playlist", LIMIT, || async {
        let (_, playlist) = fixture.master(master).await;
        let widths: Vec<u64> = playlist
            .variants
            .iter()
            .map(|v| v.resolution.unwrap().width)
            .collect();
        (widths.len() >= 3).then_some(widths)
    })
    .await;

    // Longer than the others: a low-latency player on a starved machine may
    // stall for a moment near the live edge, and recover; that is not
    // what this judges.
    let report = browser::play("play-hls.mjs", master, 12).await;
    assert_played_at(master, &report, &widths);
    // hls.js in low-latency mode holds blocking playlist reloads open while
    // it fetches parts: over HTTP/2 they share one connection.
    assert_eq!(report["protocols"], json!(["h2"]), "{report}");
    publisher.kill().await.unwrap();
    fixture.finish().await;
}

/// Playback advanced at about real time, showed the sample's picture, and
/// the player reported no fatal error.
fn assert_played(what: &str, report: &Value) {
    assert_played_at(what, report, &[640]);
}

/// As [`assert_played`], at one of `widths`.
fn assert_played_at(what: &str, report: &Value, widths: &[u64]) {
    let (advanced, watched) = (browser::advanced(report), browser::watched(report));
    assert!(
        advanced >= watched * 0.6,
        "{what}: playback advanced {advanced:.2} s in {watched} s: {report}"
    );
    let width = browser::last_width(report);
    assert!(
        widths.contains(&width),
        "{what}: picture width {width}, not one of {widths:?}: {report}"
    );
    let fatal = browser::fatal_errors(report);
    assert!(fatal.is_empty(), "{what}: fatal player errors: {report}");
}

async fn play_in_chromium(script: &str, url: &str) -> Value {
    browser::play(script, url, WATCH_SECONDS).await
}
