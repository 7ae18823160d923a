//! Publishers with a valid key that send what would grow the server's
//! memory without bound: video without keyframes at 56 Mb/s (segments end
//! only on keyframes), and a bitrate over `--max-ingest-bitrate`. Each is
//! disconnected and told why, while another stream keeps packaging, a new
//! publisher still goes live, and the server's memory stays bounded.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use nova_testkit::ffmpeg;
use support::fixture::{Fixture, LIMIT};
use support::memory::{PeakMemory, mib, resident_bytes};
use support::server::stream_key_url;
use support::{publish, wait_for};

/// What an attack may add to the server's resident memory: seven times the
/// 64 MiB GOP budget. The hub's GOP cache holds it once; the packager's
/// muxed segment and CMAF track in the making, and the LL-HLS parts of both
/// in the origin, up to four times more; the allocator keeps some of what
/// was freed. Measured: +262 to +326 MiB. Without the limits it grows with
/// every second the attacker sends (+5 × 56 Mb/s).
const GROWTH_BOUND: u64 = 7 * (64 << 20);

/// 20 s of 640x360 video with one keyframe, at its start, and noise that
/// makes it about 56 Mb/s (qp 14), with audio.
async fn encode_keyframeless(dir: &Path) -> PathBuf {
    let path = dir.join("keyframeless.flv");
    let encoded = tokio::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-loglevel", "error"])
        .args(["-f", "lavfi", "-i"])
        .arg("testsrc2=size=640x360:rate=30,noise=alls=30:allf=t")
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args(["-t", "20", "-c:v", "libx264", "-preset", "ultrafast"])
        .args(["-qp", "14", "-x264-params", "keyint=infinite:scenecut=0"])
        .args(["-pix_fmt", "yuv420p", "-c:a", "aac"])
        .arg(&path)
        .status()
        .await
        .unwrap();
    assert!(encoded.success());
    path
}

/// A stream that is live and packaging: the bystander every attack must
/// leave alone.
async fn bystander(fixture: &Fixture) -> (tokio::process::Child, String) {
    let stream = fixture
        .server
        .create_stream(&fixture.token, json!({ "title": "Bystander" }))
        .await;
    let publisher = publish(
        &stream_key_url(&fixture.server, &stream),
        &["-stream_loop", "-1"],
        600.0,
    );
    let playlist = fixture.playlist_url(&stream);
    fixture.wait_for_segments(&playlist, 2).await;
    (publisher, playlist)
}

async fn media_sequence_end(fixture: &Fixture, playlist: &str) -> u64 {
    let (_, playlist) = fixture.playlist(playlist).await.expect("a live playlist");
    playlist.media_sequence + playlist.segments.len() as u64
}

/// Publishes `flv` as read, in real time, to a new stream; returns the
/// stream and the publisher.
async fn attack(fixture: &Fixture, flv: &Path) -> (Value, tokio::process::Child) {
    let stream = fixture
        .server
        .create_stream(&fixture.token, json!({ "title": "Attacker" }))
        .await;
    let publisher = ffmpeg::publish(&stream_key_url(&fixture.server, &stream), |command| {
        command.args(["-re", "-i"]).arg(flv).args(["-c", "copy"]);
    });
    (stream, publisher)
}

/// What the encoder printed when the server disconnected it.
async fn disconnected(publisher: tokio::process::Child) -> String {
    let output = tokio::time::timeout(LIMIT, publisher.wait_with_output())
        .await
        .expect("the server disconnects the publisher before its 20 s run ends")
        .unwrap();
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// After an attack: the bystander's playlist still grows, and a new
/// publisher goes live. Returns how long the new one took.
async fn still_serving(fixture: &Fixture, playlist: &str, before: u64) -> Duration {
    wait_for("the bystander's playlist to grow", LIMIT, || async {
        (media_sequence_end(fixture, playlist).await >= before + 2).then_some(())
    })
    .await;
    let stream = fixture
        .server
        .create_stream(&fixture.token, json!({ "title": "Newcomer" }))
        .await;
    let started = Instant::now();
    let mut newcomer = publish(&stream_key_url(&fixture.server, &stream), &[], 30.0);
    let id = stream["id"].as_str().unwrap();
    fixture
        .server
        .wait_for_status(&fixture.token, id, "live", LIMIT)
        .await;
    let took = started.elapsed();
    newcomer.kill().await.unwrap();
    took
}

#[tokio::test]
async fn a_publisher_without_keyframes_is_disconnected_with_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let (flv, fixture) = tokio::join!(encode_keyframeless(dir.path()), Fixture::start(&[]));
    let (mut bystander, playlist) = bystander(&fixture).await;
    let pid = fixture.server.child.id().unwrap();
    let baseline = resident_bytes(pid);
    let before = media_sequence_end(&fixture, &playlist).await;

    let memory = PeakMemory::watch(pid);
    let started = Instant::now();
    let (stream, attacker) = attack(&fixture, &flv).await;
    let id = stream["id"].as_str().unwrap().to_owned();
    // While it lasts, the streamer is warned in the stream's health.
    let warning = wait_for("the keyframe warning", LIMIT, || async {
        let health = fixture.server.get_stream(&fixture.token, &id).await["health"].clone();
        health["warnings"]
            .as_array()?
            .iter()
            .filter_map(Value::as_str)
            .find(|warning| warning.contains("Keyframe Interval"))
            .map(str::to_owned)
    })
    .await;
    let told = disconnected(attacker).await;
    let lasted = started.elapsed();
    let peak = memory.peak();
    drop(memory);
    assert!(
        told.contains("without a keyframe") && told.contains("set a keyframe interval"),
        "the encoder is told why: {told}"
    );

    let newcomer = still_serving(&fixture, &playlist, before).await;
    eprintln!(
        "keyframe-less 56 Mb/s publisher: warned ({warning:?}), disconnected after {:.1} s; \
         RSS {} MiB before, {} MiB at peak (+{} MiB); a new publisher went live in {:.1} s",
        lasted.as_secs_f64(),
        mib(baseline),
        mib(peak),
        mib(peak.saturating_sub(baseline)),
        newcomer.as_secs_f64(),
    );
    assert!(
        peak.saturating_sub(baseline) <= GROWTH_BOUND,
        "RSS grew from {} to {} MiB",
        mib(baseline),
        mib(peak)
    );
    bystander.kill().await.unwrap();
    fixture.finish().await;
}

#[tokio::test]
async fn a_publisher_over_the_ingest_bitrate_is_disconnected() {
    let dir = tempfile::tempdir().unwrap();
    let (flv, fixture) = tokio::join!(
        encode_keyframeless(dir.path()),
        Fixture::start(&["--max-ingest-bitrate", "20M"])
    );
    let (mut bystander, playlist) = bystander(&fixture).await;
    let before = media_sequence_end(&fixture, &playlist).await;

    let started = Instant::now();
    let (_, attacker) = attack(&fixture, &flv).await;
    let told = disconnected(attacker).await;
    let lasted = started.elapsed();
    assert!(
        told.contains("more than 20000 kb/s") && told.contains("lower the video bitrate"),
        "the encoder is told why: {told}"
    );

    let newcomer = still_serving(&fixture, &playlist, before).await;
    eprintln!(
        "56 Mb/s publisher over a 20 Mb/s limit: disconnected after {:.1} s; a new publisher \
         went live in {:.1} s",
        lasted.as_secs_f64(),
        newcomer.as_secs_f64(),
    );
    bystander.kill().await.unwrap();
    fixture.finish().await;
}
