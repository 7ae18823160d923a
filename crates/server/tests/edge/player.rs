//! hls.js in headless Chromium (tests/browser/play-hls.mjs, the script the
//! browser tests drive), watching a URL through the edge.

use serde_json::Value;

use crate::support::browser;

/// Plays `url` with hls.js for `seconds`.
pub async fn play_hls(url: &str, seconds: u32) -> Value {
    browser::play("play-hls.mjs", url, seconds).await
}

/// Playback advanced for a good part of the watch, and no error was fatal.
/// A low-latency player on a starved two-core machine (a debug server,
/// ffmpeg, nginx and Chromium on it) stalls near the live edge for seconds
/// at a time and recovers: that is not what these tests judge, so the
/// bound is 40 % of real time, where a player that never started, or stopped
/// for good, makes nothing.
pub fn assert_played(what: &str, report: &Value) {
    let (advanced, watched) = (browser::advanced(report), browser::watched(report));
    assert!(
        advanced >= watched * 0.4,
        "{what}: playback advanced {advanced:.2} s in {watched} s: {report}"
    );
    assert!(
        browser::last_width(report) > 0,
        "{what}: no picture: {report}"
    );
    let fatal = browser::fatal_errors(report);
    assert!(fatal.is_empty(), "{what}: fatal player errors: {report}");
}
