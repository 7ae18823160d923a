//! Real parts for end-to-end tests: the `nova-live` binary, a database of
//! its own per test, the ffmpeg CLI as the publisher, ffprobe as the judge
//! (the last two from the test kit).

#![allow(dead_code)] // each test binary uses a different part of this module

pub mod fixture;
pub mod flv;
pub mod media_check;
pub mod memory;
pub mod metrics;
pub mod server;

use std::time::Duration;

use nova_testkit::ffmpeg;

/// Polls `check` until it returns `Some`, up to `limit` (generous: this is
/// a bound for a hung test, not a performance assertion).
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn sample_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/sample-360p.mp4")
}

/// Starts the ffmpeg CLI publishing a generated 1280x720 30 fps H.264
/// (2 s GOPs) + AAC source in real time: tall enough for the ABR ladder to
/// have renditions below it.
pub fn publish_720p(rtmp_url: &str, seconds: f64) -> tokio::process::Child {
    ffmpeg::publish(rtmp_url, |command| {
        command
            .args(["-re", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30"])
            .args(["-re", "-f", "lavfi", "-i"])
            .arg("sine=frequency=440:sample_rate=48000")
            .args(["-t", &seconds.to_string()])
            .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "60"])
            .args(["-pix_fmt", "yuv420p", "-c:a", "aac"]);
    })
}

/// Starts the ffmpeg CLI publishing the sample in real time.
pub fn publish(rtmp_url: &str, extra_input_args: &[&str], seconds: f64) -> tokio::process::Child {
    ffmpeg::publish(rtmp_url, |command| {
        command
            .arg("-re")
            .args(extra_input_args)
            .arg("-i")
            .arg(sample_path())
            .args(["-t", &seconds.to_string(), "-c", "copy"]);
    })
}
