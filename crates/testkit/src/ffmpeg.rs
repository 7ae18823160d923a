//! The ffmpeg CLI publishing FLV over RTMP, as OBS or any encoder would:
//! the one way tests and benches start a publisher.

use std::ffi::OsStr;
use std::process::Stdio;

use tokio::process::{Child, Command};

/// `program` (the ffmpeg CLI) with `-hide_banner -nostdin -loglevel error`,
/// the inputs and options `configure` adds, then `-f flv rtmp_url`. Its
/// stdin and stdout are closed and its stderr piped (callers that want a
/// pipe or a log file instead set them before spawning); it is killed if
/// its `Child` is dropped while it runs.
///
/// Spawning it needs a Tokio runtime (entered, for synchronous callers).
pub fn publisher_command(
    program: impl AsRef<OsStr>,
    rtmp_url: &str,
    configure: impl FnOnce(&mut Command),
) -> Command {
    let mut command = Command::new(program);
    command.args(["-hide_banner", "-nostdin", "-loglevel", "error"]);
    configure(&mut command);
    command
        .args(["-f", "flv"])
        .arg(rtmp_url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Starts the ffmpeg CLI on PATH publishing to `rtmp_url` (see
/// [`publisher_command`]); killed if the test drops it.
pub fn publish(rtmp_url: &str, configure: impl FnOnce(&mut Command)) -> Child {
    publisher_command("ffmpeg", rtmp_url, configure)
        .spawn()
        .expect("ffmpeg is installed (scripts/test installs it)")
}
