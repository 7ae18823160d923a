//! What the API asks of the running ingest, and what it reads back. The
//! server implements it over the RTMP hub; the API only sees this trait.

use chrono::{DateTime, Utc};
use nova_media::StreamId;
use serde::Serialize;
use utoipa::ToSchema;

/// Ingest health of a live stream, measured over the last few seconds.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct IngestHealth {
    pub video_bitrate_kbps: u32,
    pub audio_bitrate_kbps: u32,
    pub frame_rate: f64,
    /// Time between the last two keyframes; `null` until two have arrived.
    pub keyframe_interval_ms: Option<u32>,
    /// How far audio timestamps run ahead of video's (negative: behind) as
    /// the encoder sends them, averaged over the window: within a frame of
    /// 0 for an encoder that interleaves by timestamp, as OBS and ffmpeg
    /// do. `null` unless both tracks are arriving.
    pub av_drift_ms: Option<i32>,
    /// Frames dropped because the server could not keep up.
    pub frames_dropped: u64,
    /// Timestamps that went backwards and were repaired.
    pub timestamp_repairs: u64,
    /// Problems a streamer can fix, in words they understand.
    pub warnings: Vec<String>,
    /// The transcoded renditions of an `abr` stream, top first; left out
    /// for passthrough streams.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub renditions: Vec<RenditionHealth>,
    pub measured_at: DateTime<Utc>,
}

/// One transcoded rendition of a live stream.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct RenditionHealth {
    /// As in the playlists: `720p`, `480p` …
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub state: RenditionState,
    /// Why the rendition was dropped; `null` while it runs.
    pub dropped_reason: Option<String>,
    /// Media seconds encoded per second since it started (1.0 = real
    /// time); 0 before its first frame.
    pub speed: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RenditionState {
    Running,
    /// Stopped for the rest of the publish session: the server fell behind
    /// real time (the top rendition goes first) or its encoder failed.
    Dropped,
}

pub trait LiveControl: Send + Sync {
    /// Disconnects the stream's publisher, if one is connected, and returns
    /// whether one was. With `end_now` the stream ends at once; without it
    /// the publisher may reconnect within the reconnect window.
    fn disconnect_publisher(&self, stream: StreamId, end_now: bool) -> bool;

    /// The stream's ingest health, while it is live on this server.
    fn health(&self, stream: StreamId) -> Option<IngestHealth>;
}
