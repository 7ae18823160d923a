//! Judges served media with ffprobe and ffmpeg, independently of our muxer.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

#[derive(Debug)]
pub struct SegmentReport {
    pub first_video_packet_is_keyframe: bool,
    /// Earliest video presentation time, in seconds.
    pub video_start: f64,
    /// From the earliest video pts to the end of the latest frame, in seconds.
    pub video_duration: f64,
    pub video_packets: usize,
    pub audio_packets: usize,
    /// Earliest audio presentation time, and from there to the end of the
    /// latest audio frame, in seconds.
    pub audio_start: f64,
    pub audio_duration: f64,
    /// What `ffmpeg -v error` printed while decoding every frame; empty when clean.
    pub decode_errors: String,
}

/// Writes `init + segment` to `dir/name` and probes it.
pub fn check_segment(dir: &Path, name: &str, init: Option<&[u8]>, segment: &[u8]) -> SegmentReport {
    let path = dir.join(name);
    let mut bytes = init.map(<[u8]>::to_vec).unwrap_or_default();
    bytes.extend_from_slice(segment);
    std::fs::write(&path, bytes).unwrap();

    let output = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "packet=codec_type,pts_time,dts_time,duration_time,flags",
        ])
        .args(["-of", "json"])
        .arg(&path)
        .output()
        .expect("ffprobe is installed");
    assert!(
        output.status.success(),
        "ffprobe could not read {name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let probe: Value = serde_json::from_slice(&output.stdout).unwrap();
    let packets = probe["packets"].as_array().cloned().unwrap_or_default();
    let video: Vec<&Value> = packets
        .iter()
        .filter(|p| p["codec_type"] == "video")
        .collect();
    let audio: Vec<&Value> = packets
        .iter()
        .filter(|p| p["codec_type"] == "audio")
        .collect();
    let audio_packets = audio.len();
    let seconds = |p: &Value, field: &str| p[field].as_str().and_then(|s| s.parse::<f64>().ok());
    let first_video_packet_is_keyframe = video
        .first()
        .and_then(|p| p["flags"].as_str())
        .is_some_and(|flags| flags.contains('K'));
    let video_start = video
        .iter()
        .filter_map(|p| seconds(p, "pts_time"))
        .fold(f64::INFINITY, f64::min);
    let video_end = video
        .iter()
        .filter_map(|p| Some(seconds(p, "pts_time")? + seconds(p, "duration_time").unwrap_or(0.0)))
        .fold(f64::NEG_INFINITY, f64::max);

    let audio_start = audio
        .iter()
        .filter_map(|p| seconds(p, "pts_time"))
        .fold(f64::INFINITY, f64::min);
    let audio_end = audio
        .iter()
        .filter_map(|p| Some(seconds(p, "pts_time")? + seconds(p, "duration_time").unwrap_or(0.0)))
        .fold(f64::NEG_INFINITY, f64::max);

    let decode = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-i"])
        .arg(&path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg is installed");
    let mut decode_errors = String::from_utf8_lossy(&decode.stderr).into_owned();
    if !decode.status.success() {
        decode_errors.push_str(&format!("\nffmpeg exited with {}", decode.status));
    }
    SegmentReport {
        first_video_packet_is_keyframe,
        video_start,
        video_duration: video_end - video_start,
        video_packets: video.len(),
        audio_packets,
        audio_start,
        audio_duration: audio_end - audio_start,
        decode_errors,
    }
}

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
