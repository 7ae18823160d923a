//! What the viewer routes answer.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::access::StreamStatus;

/// A viewer session. Its `id` is the capability for its heartbeats and its
/// end: keep it to the player.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ViewerSession {
    pub id: Uuid,
    pub stream_id: Uuid,
    /// Repeat it when joining again after a network failure to resume this
    /// session instead of starting another.
    pub session_token: String,
    /// Send a heartbeat at least this often.
    pub heartbeat_interval_seconds: u64,
    /// Without a heartbeat before this time the session ends.
    pub expires_at: DateTime<Utc>,
    /// The stream's status now, so a player learns of the end of a broadcast
    /// from its heartbeats.
    pub stream_status: StreamStatus,
}

/// Viewer statistics of a stream, as of the viewer sweep's last pass (every
/// few seconds), not of this request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ViewerStats {
    pub stream_id: Uuid,
    /// When the sweep last updated these numbers; null before any viewer came.
    pub as_of: Option<DateTime<Utc>>,
    /// Since the stream was created, over all its broadcasts.
    pub stream: StreamViewerTotals,
    /// The current live session or, once it ended, the last one; null for a
    /// stream that never went live. Recordings (DVR) are not kept yet, so
    /// there are no per-recording statistics: a broadcast is what a
    /// recording of it will cover.
    pub broadcast: Option<BroadcastViewerTotals>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct StreamViewerTotals {
    /// Open viewer sessions.
    pub current_viewers: i32,
    /// The most open sessions seen at once (sampled by the sweep).
    pub peak_viewers: i32,
    /// Distinct signed-in users plus distinct anonymous session tokens.
    pub unique_viewers: i64,
    /// The sum of every session's length, from joining to its last heartbeat
    /// (or leaving).
    pub watch_time_ms: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct BroadcastViewerTotals {
    pub started_at: DateTime<Utc>,
    /// Null while the broadcast is live.
    pub ended_at: Option<DateTime<Utc>>,
    /// Open sessions while the broadcast is live; 0 once it ended.
    pub current_viewers: i32,
    pub peak_viewers: i32,
    /// Viewers present at some time between `started_at` and `ended_at`
    /// (including those who were waiting before it started).
    pub unique_viewers: i64,
    /// Watch time between `started_at` and `ended_at` only.
    pub watch_time_ms: i64,
}
