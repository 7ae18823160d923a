//! The transcoding ladder with real media: H.264 made by the ffmpeg CLI goes
//! in through nova's FLV parser, libx264 renditions come out, and ffprobe /
//! ffmpeg judge them independently.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use nova_media::{Frame, StreamEvent, Track, VideoConfig};
use nova_packager::ladder::{
    EncodeOptions, Ladder, LadderError, LadderOutput, LadderProfile, LadderStats, RenditionSpec,
};
use serde_json::Value;

/// 6 s of 1280x720 30 fps H.264 with two B-frames and a keyframe every 2 s
/// (and none elsewhere), plus AAC that the ladder must ignore, as FLV.
fn source_720p() -> &'static (VideoConfig, Vec<Frame>) {
    static SOURCE: OnceLock<(VideoConfig, Vec<Frame>)> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let dir = scratch_dir();
        let path = dir.join("source-720p.flv");
        run_ffmpeg(
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=1280x720:rate=30",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:sample_rate=48000",
                "-t",
                "6",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-bf",
                "2",
                "-g",
                "60",
                "-x264-params",
                "keyint=60:min-keyint=60:scenecut=0",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-f",
                "flv",
            ],
            &path,
        );
        let events = support::flv::stream_events(&std::fs::read(&path).unwrap());
        let config = events
            .iter()
            .find_map(|event| match event {
                StreamEvent::VideoConfig(config) => Some(config.clone()),
                _ => None,
            })
            .expect("a video sequence header");
        let frames = events
            .into_iter()
            .filter_map(|event| match event {
                StreamEvent::Frame(frame) => Some(frame),
                _ => None,
            })
            .collect();
        (config, frames)
    })
}

fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

#[rustfmt::skip]
fn run_ffmpeg(args: &[&str], output: &Path) {
    let result = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y"])
        .args(args)
        .arg(output)
        .output()
        .expect("the ffmpeg CLI is installed");
    assert!(
        result.status.success(),
        "ffmpeg failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
}

fn source_video() -> Vec<&'static Frame> {
    source_720p()
        .1
        .iter()
        .filter(|frame| frame.track == Track::Video)
        .collect()
}

fn source_keyframe_pts() -> BTreeSet<i64> {
    source_video()
        .iter()
        .filter(|frame| frame.keyframe)
        .map(|frame| frame.pts)
        .collect()
}

/// Options for feeding a file as fast as the machine goes: no lag policy
/// (faster than real time is not "behind").
fn offline(low_latency: bool) -> EncodeOptions {
    EncodeOptions {
        low_latency,
        max_lag: None,
        ..EncodeOptions::default()
    }
}

#[derive(Default)]
struct Rung {
    config: Option<VideoConfig>,
    frames: Vec<Frame>,
    dropped: Option<String>,
    /// Something came after a drop, or a frame before the config.
    out_of_order: bool,
}

/// Pushes the whole source (audio included), collecting outputs while it
/// goes as a live caller would, then finishes.
fn transcode(options: EncodeOptions, frames: &[Frame]) -> (BTreeMap<String, Rung>, Ladder) {
    transcode_with(&LadderProfile::default_ladder(), options, frames)
}

fn transcode_with(
    profile: &LadderProfile,
    options: EncodeOptions,
    frames: &[Frame],
) -> (BTreeMap<String, Rung>, Ladder) {
    support::init_logging();
    let (config, _) = source_720p();
    let ladder = Ladder::start(config, profile, options).unwrap();
    let mut outputs = Vec::new();
    for frame in frames {
        ladder.push(frame.clone());
        outputs.extend(std::iter::from_fn(|| ladder.try_recv()));
    }
    (collect(outputs), ladder)
}

fn finish(
    mut rungs: BTreeMap<String, Rung>,
    ladder: Ladder,
) -> (BTreeMap<String, Rung>, LadderStats) {
    let (rest, stats) = ladder.finish_with_stats();
    for (name, rung) in collect(rest) {
        let into = rungs.entry(name).or_default();
        into.out_of_order |= rung.out_of_order
            || (into.dropped.is_some() && (rung.config.is_some() || !rung.frames.is_empty()))
            || (into.config.is_some() && rung.config.is_some());
        into.config = into.config.take().or(rung.config);
        into.frames.extend(rung.frames);
        into.dropped = into.dropped.take().or(rung.dropped);
    }
    (rungs, stats)
}

fn collect(outputs: Vec<LadderOutput>) -> BTreeMap<String, Rung> {
    let mut rungs: BTreeMap<String, Rung> = BTreeMap::new();
    for output in outputs {
        let rung = rungs.entry(output.rendition().to_string()).or_default();
        match output {
            LadderOutput::Config { config, .. } => {
                rung.out_of_order |= rung.config.is_some() || rung.dropped.is_some();
                rung.config = Some(config);
            }
            LadderOutput::Frame { frame, .. } => {
                rung.out_of_order |= rung.dropped.is_some();
                rung.frames.push(frame);
            }
            LadderOutput::RenditionDropped { reason, .. } => {
                rung.out_of_order |= rung.dropped.is_some();
                rung.dropped = Some(reason);
            }
        }
    }
    rungs
}

fn assert_aligned_and_monotonic(name: &str, frames: &[Frame]) {
    let keyframes: BTreeSet<i64> = frames
        .iter()
        .filter(|f| f.keyframe)
        .map(|f| f.pts)
        .collect();
    assert_eq!(
        keyframes,
        source_keyframe_pts(),
        "{name}: keyframes must sit exactly at the source keyframes' PTS, and only there"
    );
    assert_eq!(
        frames.iter().filter(|f| f.keyframe).count(),
        keyframes.len(),
        "{name}: a keyframe PTS repeats"
    );
    for pair in frames.windows(2) {
        assert!(
            pair[0].dts < pair[1].dts,
            "{name}: DTS goes {} then {}",
            pair[0].dts,
            pair[1].dts
        );
    }
    for frame in frames {
        assert!(
            frame.dts <= frame.pts,
            "{name}: DTS {} after PTS {}",
            frame.dts,
            frame.pts
        );
        assert_eq!(frame.track, Track::Video);
    }
    let pts: BTreeSet<i64> = frames.iter().map(|f| f.pts).collect();
    let source_pts: BTreeSet<i64> = source_video().iter().map(|f| f.pts).collect();
    assert_eq!(
        pts, source_pts,
        "{name}: every source picture, at its own PTS"
    );
}

/// The rendition as an Annex B elementary stream: parameter sets from the
/// avcC record, then each frame's NAL units with start codes.
fn annex_b(config: &VideoConfig, frames: &[Frame]) -> Vec<u8> {
    let record = config.record();
    let mut out = Vec::new();
    let mut at = 6;
    let sps_count = record[5] & 0x1f;
    for _ in 0..sps_count {
        let len = usize::from(u16::from_be_bytes([record[at], record[at + 1]]));
        out.extend([0, 0, 0, 1]);
        out.extend_from_slice(&record[at + 2..at + 2 + len]);
        at += 2 + len;
    }
    let pps_count = record[at];
    at += 1;
    for _ in 0..pps_count {
        let len = usize::from(u16::from_be_bytes([record[at], record[at + 1]]));
        out.extend([0, 0, 0, 1]);
        out.extend_from_slice(&record[at + 2..at + 2 + len]);
        at += 2 + len;
    }
    for frame in frames {
        let mut data = &frame.data[..];
        while data.len() >= 4 {
            let len = u32::from_be_bytes(data[..4].try_into().unwrap()) as usize;
            out.extend([0, 0, 0, 1]);
            out.extend_from_slice(&data[4..4 + len]);
            data = &data[4 + len..];
        }
        assert!(data.is_empty(), "a NAL length runs past its frame");
    }
    out
}

struct Decoded {
    width: u64,
    height: u64,
    frames: usize,
    key_frames: usize,
    errors: String,
}

/// ffprobe's view of every decoded picture, and ffmpeg's decode errors.
fn decode(name: &str, stream: &[u8]) -> Decoded {
    let path = scratch_dir().join(format!("{name}.h264"));
    std::fs::write(&path, stream).unwrap();
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-f",
            "h264",
            "-show_entries",
            "frame=width,height,key_frame",
        ])
        .args(["-of", "json"])
        .arg(&path)
        .output()
        .expect("ffprobe is installed");
    assert!(
        probe.status.success(),
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let json: Value = serde_json::from_slice(&probe.stdout).unwrap();
    let frames = json["frames"].as_array().cloned().unwrap_or_default();
    let field =
        |key: &str| -> BTreeSet<u64> { frames.iter().filter_map(|f| f[key].as_u64()).collect() };
    let (widths, heights) = (field("width"), field("height"));
    assert_eq!(widths.len(), 1, "{name}: widths {widths:?}");
    assert_eq!(heights.len(), 1, "{name}: heights {heights:?}");
    let decode = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "h264", "-i"])
        .arg(&path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg is installed");
    Decoded {
        width: *widths.first().unwrap(),
        height: *heights.first().unwrap(),
        frames: frames.len(),
        key_frames: frames
            .iter()
            .filter(|f| f["key_frame"].as_u64() == Some(1))
            .count(),
        errors: String::from_utf8_lossy(&decode.stderr).into_owned()
            + if decode.status.success() {
                ""
            } else {
                "ffmpeg failed"
            },
    }
}

fn bitrate_bps(frames: &[Frame]) -> f64 {
    let bytes: usize = frames.iter().map(|f| f.data.len()).sum();
    let first = frames.iter().map(|f| f.pts).min().unwrap();
    let last = frames.iter().map(|f| f.pts).max().unwrap();
    let seconds = (last - first) as f64 / 1000.0 + 1.0 / 30.0;
    bytes as f64 * 8.0 / seconds
}

#[test]
fn a_720p_source_gets_480p_and_360p_aligned_decodable_and_near_their_bitrates() {
    let (rungs, ladder) = transcode(offline(false), &source_720p().1);
    let (rungs, _) = finish(rungs, ladder);
    assert_eq!(
        rungs.keys().map(String::as_str).collect::<Vec<_>>(),
        ["360p", "480p"],
        "no 720p rung for a 720p source: never the source's own height, never above"
    );
    let source_frames = source_video().len();
    assert_eq!(source_frames, 180);
    for (name, (width, height, target)) in [
        ("480p", (854, 480, 1_500_000.0)),
        ("360p", (640, 360, 800_000.0)),
    ] {
        let rung = &rungs[name];
        assert!(!rung.out_of_order, "{name}: outputs out of order");
        assert_eq!(rung.dropped, None, "{name} was dropped");
        let Some(VideoConfig::Avc(avc)) = &rung.config else {
            panic!("{name}: no AVC config");
        };
        assert_eq!((avc.width, avc.height), (width, height), "{name}");
        // veryfast codes High profile; x264 picks the level from size and rate.
        assert_eq!(avc.profile, 100, "{name}: {}", avc.rfc6381_codec());
        assert!(
            (21..=31).contains(&avc.level),
            "{name}: level {}",
            avc.level
        );
        assert_eq!(avc.nal_length_size, 4);

        assert_eq!(rung.frames.len(), source_frames, "{name}: frame count");
        assert_aligned_and_monotonic(name, &rung.frames);
        // B-frames are on (not low latency): some pictures are reordered.
        assert!(
            rung.frames.iter().any(|f| f.dts < f.pts),
            "{name}: no reordering"
        );

        let decoded = decode(name, &annex_b(rung.config.as_ref().unwrap(), &rung.frames));
        assert_eq!(decoded.errors, "", "{name}: decode errors");
        assert_eq!(
            (decoded.width, decoded.height),
            (u64::from(width), u64::from(height))
        );
        assert_eq!(decoded.frames, source_frames, "{name}: decoded pictures");
        assert_eq!(
            decoded.key_frames,
            source_keyframe_pts().len(),
            "{name}: IDR pictures"
        );

        let bitrate = bitrate_bps(&rung.frames);
        assert!(
            (0.5 * target..=1.5 * target).contains(&bitrate),
            "{name}: {bitrate:.0} b/s for a {target} b/s target"
        );
    }
}

#[test]
fn low_latency_codes_without_reordering_and_keeps_alignment() {
    let (rungs, ladder) = transcode(offline(true), &source_720p().1);
    let (rungs, stats) = finish(rungs, ladder);
    assert_eq!(
        stats.frames_pushed, 180,
        "audio frames are not counted or pushed"
    );
    assert_eq!((stats.frames_decoded, stats.decode_errors), (180, 0));
    for rendition in &stats.renditions {
        assert_eq!(
            (rendition.frames_in, rendition.frames_out),
            (180, 180),
            "{rendition:?}"
        );
        assert_eq!(rendition.queue_depth, 0, "{rendition:?}");
        assert!(rendition.speed > 0.0, "{rendition:?}");
        assert_eq!(rendition.dropped, None);
    }
    for name in ["480p", "360p"] {
        let rung = &rungs[name];
        assert_eq!(rung.frames.len(), 180, "{name}");
        assert_aligned_and_monotonic(name, &rung.frames);
        assert!(
            rung.frames.iter().all(|f| f.dts == f.pts),
            "{name}: DTS != PTS"
        );
        let decoded = decode(
            &format!("{name}-ll"),
            &annex_b(rung.config.as_ref().unwrap(), &rung.frames),
        );
        assert_eq!(decoded.errors, "", "{name}: decode errors");
        assert_eq!(decoded.frames, 180, "{name}");
    }
}

#[test]
fn falling_behind_drops_the_top_rendition_and_the_rest_continue() {
    // A zero lag limit: the second picture finds the encoders at least one
    // frame behind (they cannot have taken a picture not yet queued), which
    // is over the limit, so 480p is dropped there, whatever the machine's
    // speed. 360p is then the last rung and is never dropped.
    let options = EncodeOptions {
        max_lag: Some(Duration::ZERO),
        ..EncodeOptions::default()
    };
    let (rungs, ladder) = transcode(options, &source_720p().1);
    let (rungs, stats) = finish(rungs, ladder);

    let top = &rungs["480p"];
    let reason = top.dropped.as_deref().expect("480p dropped");
    assert!(reason.contains("cannot keep up"), "{reason}");
    assert!(!top.out_of_order);
    assert!(
        top.frames.len() < 180,
        "480p kept encoding: {}",
        top.frames.len()
    );
    assert_eq!(stats.renditions[0].name.as_ref(), "480p");
    assert_eq!(stats.renditions[0].dropped.as_deref(), Some(reason));

    let rest = &rungs["360p"];
    assert_eq!(rest.dropped, None);
    assert_eq!(stats.renditions[1].dropped, None);
    assert_eq!(rest.frames.len(), 180);
    assert_aligned_and_monotonic("360p", &rest.frames);
}

#[test]
fn corrupt_source_frames_are_counted_and_skipped() {
    // Two frames in the second GOP become garbage: NAL lengths that run past
    // the end of the frame.
    let mut frames = source_720p().1.clone();
    let video: Vec<usize> = (0..frames.len())
        .filter(|&i| frames[i].track == Track::Video)
        .collect();
    for &index in &video[70..72] {
        frames[index].data = bytes::Bytes::from_static(&[0, 0, 0x40, 0, 0x41, 0x9a, 0x02, 0x17]);
    }
    let (rungs, ladder) = transcode(offline(true), &frames);
    let (rungs, stats) = finish(rungs, ladder);
    assert!(stats.decode_errors >= 1, "{stats:?}");
    assert!(
        stats.frames_decoded < 180 && stats.frames_decoded >= 120,
        "{stats:?}"
    );
    for name in ["480p", "360p"] {
        let rung = &rungs[name];
        assert_eq!(rung.dropped, None, "{name}");
        assert_eq!(rung.frames.len() as u64, stats.frames_decoded, "{name}");
        // The third GOP's keyframe still starts an IDR.
        let keyframes: BTreeSet<i64> = rung
            .frames
            .iter()
            .filter(|f| f.keyframe)
            .map(|f| f.pts)
            .collect();
        assert!(
            keyframes.is_superset(&source_keyframe_pts()),
            "{name}: {keyframes:?}"
        );
    }
}

#[test]
fn a_source_at_the_bottom_of_the_ladder_has_nothing_to_transcode() {
    support::init_logging();
    // 640x360: every rung is at or above the source.
    let events = support::flv::stream_events(support::media::av_flv());
    let config = events
        .iter()
        .find_map(|event| match event {
            StreamEvent::VideoConfig(config) => Some(config.clone()),
            _ => None,
        })
        .unwrap();
    let error = Ladder::start(
        &config,
        &LadderProfile::default_ladder(),
        EncodeOptions::default(),
    )
    .err()
    .expect("no ladder");
    assert!(
        matches!(
            error,
            LadderError::NoRenditions {
                width: 640,
                height: 360
            }
        ),
        "{error}"
    );
}

#[test]
fn a_preset_libx264_does_not_know_is_refused_at_start() {
    support::init_logging();
    let options = EncodeOptions {
        preset: "warp-speed".to_owned(),
        ..EncodeOptions::default()
    };
    let error = Ladder::start(&source_720p().0, &LadderProfile::default_ladder(), options)
        .err()
        .expect("no ladder");
    assert!(
        matches!(&error, LadderError::EncoderOptions { preset, .. } if preset == "warp-speed"),
        "{error}"
    );
}

#[test]
fn a_frame_rate_cap_halves_the_pictures_but_keeps_every_keyframe() {
    let profile = LadderProfile {
        renditions: vec![RenditionSpec {
            name: "240p15".into(),
            height: 240,
            video_bitrate_bps: 300_000,
            max_frame_rate: Some(15),
        }],
    };
    let (rungs, ladder) = transcode_with(&profile, offline(false), &source_720p().1);
    let (rungs, _) = finish(rungs, ladder);
    let rung = &rungs["240p15"];
    let Some(VideoConfig::Avc(avc)) = &rung.config else {
        panic!("no config");
    };
    assert_eq!((avc.width, avc.height), (426, 240));
    // 180 pictures at 30 fps: every other one, and the 3 keyframes all fall
    // on kept pictures (0, 60, 120).
    assert_eq!(rung.frames.len(), 90);
    let keyframes: BTreeSet<i64> = rung
        .frames
        .iter()
        .filter(|f| f.keyframe)
        .map(|f| f.pts)
        .collect();
    assert_eq!(keyframes, source_keyframe_pts());
    let mut pts: Vec<i64> = rung.frames.iter().map(|f| f.pts).collect();
    pts.sort_unstable();
    assert!(
        pts.windows(2).all(|w| (60..=70).contains(&(w[1] - w[0]))),
        "{pts:?}"
    );
}
