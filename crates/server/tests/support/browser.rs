//! A player script of tests/browser (hls.js, dash.js or Shaka in headless
//! Chromium, driven by node and playwright-core) watching a URL.

use std::path::Path;

use serde_json::Value;

use crate::support::fixture::LIMIT;

/// One browser at a time: a player starved of CPU by another browser on a
/// two-core machine stalls, which is not what these tests judge.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs `script` on `url` for `seconds`. The report has a
/// `[currentTime, videoWidth]` sample a second, the player's errors
/// (`type:details:fatal`) and the HTTP versions its requests used.
pub async fn play(script: &str, url: &str, seconds: u32) -> Value {
    let _turn = ONE_BROWSER.lock().await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/browser")
        .join(script);
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

/// How far playback advanced over the watch, in seconds of media.
pub fn advanced(report: &Value) -> f64 {
    let samples = report["samples"].as_array().unwrap();
    let first = samples.first().unwrap()[0].as_f64().unwrap();
    let last = samples.last().unwrap()[0].as_f64().unwrap();
    last - first
}

/// Seconds watched (one sample a second).
pub fn watched(report: &Value) -> f64 {
    report["samples"].as_array().unwrap().len() as f64
}

/// The picture width at the end of the watch.
pub fn last_width(report: &Value) -> u64 {
    let samples = report["samples"].as_array().unwrap();
    samples.last().unwrap()[1].as_u64().unwrap()
}

/// The errors the player reported as fatal.
pub fn fatal_errors(report: &Value) -> Vec<&Value> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.as_str().unwrap().ends_with(":true"))
        .collect()
}
