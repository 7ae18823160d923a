//! Judges packaged media with ffprobe and ffmpeg, independently of our muxer.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

#[derive(Clone, Debug)]
pub struct Packet {
    pub video: bool,
    pub pts: f64,
    pub dts: f64,
    pub duration: f64,
    pub keyframe: bool,
}

#[derive(Debug)]
pub struct Report {
    pub packets: Vec<Packet>,
    /// What `ffmpeg -v error` printed while decoding every frame; empty when clean.
    pub decode_errors: String,
}

impl Report {
    pub fn video(&self) -> Vec<&Packet> {
        self.packets.iter().filter(|p| p.video).collect()
    }

    pub fn video_packets(&self) -> usize {
        self.packets.iter().filter(|p| p.video).count()
    }

    pub fn audio_packets(&self) -> usize {
        self.packets.iter().filter(|p| !p.video).count()
    }

    pub fn first_video_is_keyframe(&self) -> bool {
        self.video().first().is_some_and(|p| p.keyframe)
    }

    /// Earliest video presentation time, in seconds.
    pub fn video_start(&self) -> f64 {
        self.video()
            .iter()
            .map(|p| p.pts)
            .fold(f64::INFINITY, f64::min)
    }

    /// From the earliest video pts to the end of the latest video frame.
    pub fn video_duration(&self) -> f64 {
        let end = self
            .video()
            .iter()
            .map(|p| p.pts + p.duration)
            .fold(f64::NEG_INFINITY, f64::max);
        end - self.video_start()
    }

    pub fn audio_start(&self) -> f64 {
        self.packets
            .iter()
            .filter(|p| !p.video)
            .map(|p| p.pts)
            .fold(f64::INFINITY, f64::min)
    }

    /// From the earliest audio pts to the end of the latest audio frame.
    pub fn audio_duration(&self) -> f64 {
        let end = self
            .packets
            .iter()
            .filter(|p| !p.video)
            .map(|p| p.pts + p.duration)
            .fold(f64::NEG_INFINITY, f64::max);
        end - self.audio_start()
    }
}

/// Writes `init` (when the segment has one) followed by `segment` to
/// `dir/name`, then probes and decodes it: a fragment as a player reads it.
pub fn probe_segment(dir: &Path, name: &str, init: Option<&[u8]>, segment: &[u8]) -> Report {
    let mut bytes = init.map(<[u8]>::to_vec).unwrap_or_default();
    bytes.extend_from_slice(segment);
    probe(dir, name, &bytes)
}

/// Writes `bytes` to `dir/name` and asks ffprobe for `entries` as JSON;
/// a file ffprobe cannot read fails the test with ffprobe's message.
fn write_and_probe(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    entries: &str,
) -> (std::path::PathBuf, Value) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", entries, "-of", "json"])
        .arg(&path)
        .output()
        .expect("ffprobe is installed");
    assert!(
        output.status.success(),
        "ffprobe could not read {name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (path, serde_json::from_slice(&output.stdout).unwrap())
}

/// Writes `bytes` to `dir/name`, then probes and decodes it.
pub fn probe(dir: &Path, name: &str, bytes: &[u8]) -> Report {
    let (path, json) = write_and_probe(
        dir,
        name,
        bytes,
        "packet=codec_type,pts_time,dts_time,duration_time,flags",
    );
    let seconds = |p: &Value, field: &str| p[field].as_str().and_then(|s| s.parse::<f64>().ok());
    let packets = json["packets"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|p| Packet {
            video: p["codec_type"] == "video",
            pts: seconds(p, "pts_time").unwrap_or(f64::NAN),
            dts: seconds(p, "dts_time").unwrap_or(f64::NAN),
            duration: seconds(p, "duration_time").unwrap_or(0.0),
            keyframe: p["flags"].as_str().is_some_and(|f| f.contains('K')),
        })
        .collect();
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
    Report {
        packets,
        decode_errors,
    }
}

/// What ffprobe and ffmpeg make of a still image.
#[derive(Debug)]
pub struct ImageReport {
    pub codec: String,
    pub width: u64,
    pub height: u64,
    /// `pc` (full range, as JFIF means YCbCr) or `tv`.
    pub color_range: String,
    /// Darkest and brightest luma sample of the decoded picture.
    pub luma: (u8, u8),
    /// What `ffmpeg -v error` printed while decoding it; empty when clean.
    pub decode_errors: String,
}

/// Writes `bytes` to `dir/name`, then probes and decodes it as an image.
pub fn probe_image(dir: &Path, name: &str, bytes: &[u8]) -> ImageReport {
    let (path, json) = write_and_probe(
        dir,
        name,
        bytes,
        "stream=codec_name,width,height,color_range",
    );
    let stream = &json["streams"][0];
    // Decoded to its luma plane as stored (no range conversion on the way).
    let decode = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-i"])
        .arg(&path)
        .args(["-vf", "extractplanes=y", "-f", "rawvideo", "-"])
        .output()
        .expect("ffmpeg is installed");
    let luma = decode
        .stdout
        .iter()
        .fold((u8::MAX, u8::MIN), |(low, high), &y| {
            (low.min(y), high.max(y))
        });
    let mut decode_errors = String::from_utf8_lossy(&decode.stderr).into_owned();
    if !decode.status.success() {
        decode_errors.push_str(&format!("\nffmpeg exited with {}", decode.status));
    }
    ImageReport {
        codec: stream["codec_name"].as_str().unwrap_or_default().to_owned(),
        width: stream["width"].as_u64().unwrap_or(0),
        height: stream["height"].as_u64().unwrap_or(0),
        color_range: stream["color_range"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        luma,
        decode_errors,
    }
}
