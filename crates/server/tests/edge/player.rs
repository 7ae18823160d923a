//! hls.js in headless Chromium (tests/browser/play-hls.mjs, the script the
//! browser tests drive), watching a URL through the edge.

use std::path::Path;

use serde_json::Value;

use crate::support::fixture::LIMIT;

/// Plays `url` for `seconds`; the report has a `[currentTime, videoWidth]`
/// sample a second, the player's errors and the HTTP versions used.
pub async fn play_hls(url: &str, seconds: u32) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser/play-hls.mjs");
    let output = tokio::time::timeout(
        LIMIT,
        tokio::process::Command::new("node")
            .arg(&script)
            .arg(url)
            .arg(seconds.to_string())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the browser run finishes")
    .expect("node is installed (scripts/test installs it, with Chromium and tests/browser/node_modules)");
    assert!(
        output.status.success(),
        "driving Chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("unexpected output from {script:?} ({e}): {stdout}"))
}

/// Playback advanced for a good part of the watch, and no error was fatal.
/// A low-latency player on a starved two-core machine (a debug server,
/// ffmpeg, nginx and Chromium on it) stalls near the live edge for seconds
/// at a time and recovers: that is not what these tests judge, so the
/// bound is 40 % of real time, where a player that never started, or stopped
/// for good, makes nothing.
pub fn assert_played(what: &str, report: &Value) {
    let samples = report["samples"].as_array().unwrap();
    let times: Vec<f64> = samples.iter().map(|s| s[0].as_f64().unwrap()).collect();
    let advanced = times.last().unwrap() - times.first().unwrap();
    assert!(
        advanced >= samples.len() as f64 * 0.4,
        "{what}: playback advanced {advanced:.2} s in {} s: {report}",
        samples.len()
    );
    let width = samples.last().unwrap()[1].as_u64().unwrap();
    assert!(width > 0, "{what}: no picture: {report}");
    let fatal: Vec<&Value> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.as_str().unwrap().ends_with(":true"))
        .collect();
    assert!(fatal.is_empty(), "{what}: fatal player errors: {report}");
}
