//! What the health rules look at: one stream's figures over the last
//! [`WINDOW`]. The tracker measures them; the warnings judge them.

use std::time::Duration;

/// How far back rates and recent problems are measured.
pub const WINDOW: Duration = Duration::from_secs(5);

/// What [`judge`](super::warnings::judge) looks at.
#[derive(Clone, Debug, PartialEq)]
pub struct Measures {
    pub target_segment: Duration,
    /// How long the publisher has been attached.
    pub session_age: Duration,
    /// Since the last frame arrived (or the session started, before one did).
    pub silent_for: Duration,
    pub video_frames: u64,
    pub audio_frames: u64,
    /// The longest wait for a keyframe seen lately: the last interval, or
    /// the media time since the last keyframe if that is longer already.
    pub keyframe_wait_ms: Option<u64>,
    pub av_drift_ms: Option<i32>,
    /// Wall time and media time between the oldest and newest frame of the
    /// window: media lagging wall time means the encoder cannot keep up.
    pub wall_ms: i64,
    pub media_ms: i64,
    /// Within the window.
    pub frames_dropped: u64,
    pub timestamps_repaired: u64,
}
