//! Plays served HLS with a real client, independently of our muxer.

/// What a real HLS client (FFmpeg's HLS demuxer) made of a playlist URL.
#[derive(Debug)]
pub struct PlayerReport {
    pub success: bool,
    pub errors: String,
    pub video_frames: usize,
}

/// Starts FFmpeg's HLS demuxer on `url`, decoding every video frame. On a
/// live playlist it follows the reloads until `#EXT-X-ENDLIST`.
pub fn start_hls_player(url: &str) -> tokio::process::Child {
    tokio::process::Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-nostdin",
            "-v",
            "error",
            "-live_start_index",
            "0",
            "-i",
            url,
        ])
        .args(["-map", "0:v:0", "-f", "framecrc", "-"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg is installed")
}

pub async fn finish_hls_player(player: tokio::process::Child) -> PlayerReport {
    let output = player.wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    PlayerReport {
        success: output.status.success(),
        errors: String::from_utf8_lossy(&output.stderr).into_owned(),
        video_frames: stdout.lines().filter(|l| !l.starts_with('#')).count(),
    }
}
