//! The rules that turn ingest measures into warnings a streamer can act on,
//! in their words: what is wrong, what viewers notice, and the setting to
//! change (named as OBS, the most common encoder, names it).

use std::time::Duration;

use super::measures::{Measures, WINDOW};

/// No frame for this long means the encoder stalled or the network did.
const STALL_AFTER: Duration = Duration::from_secs(3);
/// Keyframes this much further apart than the segment target make longer
/// segments (the packager cuts only on keyframes). Encoders set to the
/// target land within a frame of it.
const KEYFRAME_SLACK: f64 = 1.25;
/// Media arriving at less than this share of real time cannot keep up. The
/// packager's batched wakeups only ever make media look ahead of wall time.
const REAL_TIME_SHARE: f64 = 0.8;
/// The least wall time the falling-behind rule judges on.
const JUDGE_SPAN_MS: i64 = 3000;
/// Audio and video this far apart as they arrive are out of step: past
/// the packager's interleaving hold (1 s) audio lands in the wrong segment,
/// and lips visibly miss the words well before that.
const AV_DRIFT_LIMIT_MS: u32 = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WarningKind {
    Stalled,
    FallingBehind,
    KeyframeInterval,
    TimestampRepairs,
    FramesDropped,
    NoAudio,
    AvDrift,
    /// Server-wide, not the encoder's doing: a full disk or upload spool.
    RecordingPaused,
    /// Not a measure: the server packages an `abr` stream as passthrough.
    TranscodeLimit,
}

impl WarningKind {
    /// Stable, for clients that react to a kind of warning.
    pub fn code(self) -> &'static str {
        match self {
            Self::Stalled => "stalled",
            Self::FallingBehind => "falling_behind",
            Self::KeyframeInterval => "keyframe_interval",
            Self::TimestampRepairs => "timestamp_repairs",
            Self::FramesDropped => "frames_dropped",
            Self::NoAudio => "no_audio",
            Self::AvDrift => "av_drift",
            Self::RecordingPaused => "recording_paused",
            Self::TranscodeLimit => "transcode_limit",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub kind: WarningKind,
    pub message: String,
}

/// Every warning that applies now, most urgent first.
pub fn judge(m: &Measures) -> Vec<Warning> {
    let mut warnings = Vec::new();
    let mut warn = |kind, message: String| warnings.push(Warning { kind, message });
    let window = seconds(WINDOW.as_millis() as u64);

    if m.silent_for >= STALL_AFTER {
        warn(
            WarningKind::Stalled,
            format!(
                "Nothing has arrived from your encoder for {} s: check that it is still \
                 streaming and that your internet connection is up.",
                m.silent_for.as_secs()
            ),
        );
    }
    if m.wall_ms >= JUDGE_SPAN_MS && (m.media_ms as f64) < m.wall_ms as f64 * REAL_TIME_SHARE {
        warn(
            WarningKind::FallingBehind,
            format!(
                "Your encoder is sending slower than real time: only {} of video arrived \
                 in {}, so viewers will buffer. Lower the video bitrate (in OBS: Settings → \
                 Output → Video Bitrate) or check your upload speed.",
                seconds(m.media_ms.max(0) as u64),
                seconds(m.wall_ms as u64),
            ),
        );
    }
    let target_ms = m.target_segment.as_millis() as u64;
    if m.video_frames > 0
        && let Some(wait) = m.keyframe_wait_ms
        && wait as f64 > target_ms as f64 * KEYFRAME_SLACK
    {
        let target = seconds(target_ms);
        warn(
            WarningKind::KeyframeInterval,
            format!(
                "Keyframes arrive every {} or more, but segments are {target} long: set your \
                 encoder's keyframe interval to {target} (in OBS: Settings → Output → \
                 Keyframe Interval). Until then players take longer to start and fall \
                 further behind live.",
                seconds(wait)
            ),
        );
    }
    if m.timestamps_repaired > 0 {
        warn(
            WarningKind::TimestampRepairs,
            format!(
                "{} in the last {window} had timestamps that went backwards; the \
                 server repaired them, but playback may stutter. Restart your encoder; if \
                 it keeps happening, update it.",
                frames(m.timestamps_repaired)
            ),
        );
    }
    if m.frames_dropped > 0 {
        warn(
            WarningKind::FramesDropped,
            format!(
                "The server fell behind and skipped {} in the last {window}, so \
                 viewers saw a jump. This is on the server's side, not your encoder's; a \
                 lower bitrate lightens the load.",
                frames(m.frames_dropped)
            ),
        );
    }
    if m.session_age >= WINDOW && m.video_frames > 0 && m.audio_frames == 0 {
        warn(
            WarningKind::NoAudio,
            "No audio is arriving: if viewers should hear you, add an audio source to \
             your encoder (in OBS: the Audio Mixer) and check it is not disabled."
                .to_owned(),
        );
    }
    if m.session_age >= WINDOW
        && let Some(drift) = m.av_drift_ms
        && drift.unsigned_abs() >= AV_DRIFT_LIMIT_MS
    {
        let (gap, side) = (seconds(u64::from(drift.unsigned_abs())), ahead(drift));
        warn(
            WarningKind::AvDrift,
            format!(
                "Your encoder sends audio stamped {gap} {side} the video it sends with it, \
                 so viewers may see lips out of sync with words. Set the audio sample rate \
                 to your microphone's (in OBS: Settings → Audio → Sample Rate), take out any \
                 sync offset (Edit → Advanced Audio Properties → Sync Offset), then restart \
                 the stream."
            ),
        );
    }
    warnings
}

/// The stream asked for the ABR ladder while the server already
/// transcoded its limit of streams: it is packaged passthrough instead.
pub fn transcode_limit(limit: usize) -> Warning {
    Warning {
        kind: WarningKind::TranscodeLimit,
        message: format!(
            "This stream asked for the adaptive bit rate ladder, but the server is already \
             transcoding as many streams as it may ({limit}, --max-transcoded-streams), so \
             viewers get your own encode only. Streams that go live after a transcoding slot \
             frees up get the ladder."
        ),
    }
}

fn ahead(drift_ms: i32) -> &'static str {
    if drift_ms > 0 { "ahead of" } else { "behind" }
}

/// `1 frame`, `4 frames`.
fn frames(count: u64) -> String {
    if count == 1 {
        "1 frame".to_owned()
    } else {
        format!("{count} frames")
    }
}

/// `2 s`, `8.3 s`.
fn seconds(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy() -> Measures {
        Measures {
            target_segment: Duration::from_secs(2),
            session_age: Duration::from_secs(30),
            silent_for: Duration::from_millis(200),
            video_frames: 150,
            audio_frames: 215,
            keyframe_wait_ms: Some(2000),
            av_drift_ms: Some(-12),
            wall_ms: 4800,
            media_ms: 5200,
            frames_dropped: 0,
            timestamps_repaired: 0,
        }
    }

    fn kinds(m: &Measures) -> Vec<WarningKind> {
        judge(m).into_iter().map(|w| w.kind).collect()
    }

    #[test]
    fn a_healthy_stream_has_none() {
        assert!(judge(&healthy()).is_empty());
    }

    #[test]
    fn each_rule_has_its_threshold() {
        type Case = (fn(&mut Measures), Option<WarningKind>);
        let cases: [Case; 13] = [
            (|m| m.silent_for = Duration::from_millis(2999), None),
            (
                |m| m.silent_for = Duration::from_secs(3),
                Some(WarningKind::Stalled),
            ),
            (|m| m.media_ms = 3900, None),
            (|m| m.media_ms = 3800, Some(WarningKind::FallingBehind)),
            (|m| m.keyframe_wait_ms = Some(2500), None),
            (
                |m| m.keyframe_wait_ms = Some(2501),
                Some(WarningKind::KeyframeInterval),
            ),
            (
                |m| m.timestamps_repaired = 1,
                Some(WarningKind::TimestampRepairs),
            ),
            (|m| m.frames_dropped = 1, Some(WarningKind::FramesDropped)),
            (|m| m.av_drift_ms = Some(499), None),
            (|m| m.av_drift_ms = Some(500), Some(WarningKind::AvDrift)),
            (|m| m.av_drift_ms = Some(-499), None),
            (|m| m.av_drift_ms = Some(-500), Some(WarningKind::AvDrift)),
            (
                |m| m.av_drift_ms = Some(i32::MIN),
                Some(WarningKind::AvDrift),
            ),
        ];
        for (change, expected) in cases {
            let mut m = healthy();
            change(&mut m);
            assert_eq!(kinds(&m), expected.into_iter().collect::<Vec<_>>(), "{m:?}");
        }
    }

    #[test]
    fn short_spans_and_young_sessions_are_not_judged() {
        let mut m = healthy();
        m.wall_ms = 2000;
        m.media_ms = 100;
        assert!(judge(&m).is_empty(), "too little to judge falling behind");
        m = healthy();
        m.audio_frames = 0;
        m.session_age = Duration::from_secs(4);
        assert!(judge(&m).is_empty(), "audio may not have started yet");
        m.session_age = WINDOW;
        assert_eq!(kinds(&m), [WarningKind::NoAudio]);
        m.video_frames = 0;
        m.audio_frames = 215;
        m.keyframe_wait_ms = Some(60_000);
        assert!(judge(&m).is_empty(), "an audio-only stream is fine");
    }

    #[test]
    fn drift_says_which_way() {
        let mut m = healthy();
        m.av_drift_ms = Some(-1500);
        let message = &judge(&m)[0].message;
        assert!(message.contains("1.5 s behind the video"), "{message}");
        m.av_drift_ms = Some(800);
        let message = &judge(&m)[0].message;
        assert!(message.contains("0.8 s ahead of the video"), "{message}");
    }

    #[test]
    fn one_frame_is_not_frames() {
        let mut m = healthy();
        m.timestamps_repaired = 1;
        m.frames_dropped = 2;
        let warnings = judge(&m);
        assert!(
            warnings[0].message.starts_with("1 frame in"),
            "{warnings:?}"
        );
        assert!(
            warnings[1].message.contains("skipped 2 frames"),
            "{warnings:?}"
        );
    }

    #[test]
    fn seconds_read_naturally() {
        assert_eq!(seconds(2000), "2 s");
        assert_eq!(seconds(8349), "8.3 s");
        assert_eq!(seconds(500), "0.5 s");
    }
}
