//! Runs `mpd_summary.py` beside this file: an MPD as Python's XML parser
//! reads it, independently of the renderer that wrote it.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// The MPD as `mpd_summary.py` summarises it (one JSON object); panics when
/// it is not well-formed XML in the MPD namespace.
pub fn mpd_summary(mpd: &[u8]) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/mpd_summary.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is installed");
    child.stdin.take().unwrap().write_all(mpd).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the MPD does not parse: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(mpd)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}
