//! What the API says about a recording and a clip.

use chrono::{DateTime, Utc};
use nova_dvr::index::{RecordingRow, RecordingState};
use serde::Serialize;
use uuid::Uuid;

use crate::config::ApiConfig;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RecordingView {
    pub id: Uuid,
    pub stream_id: Uuid,
    /// `recording` while the stream is live, `complete` once playable as VOD,
    /// `failed` if nothing was stored.
    #[schema(value_type = String, pattern = "^(recording|complete|failed|deleting)$")]
    pub state: RecordingState,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub duration_ms: i64,
    /// Bytes stored, every rendition together.
    pub byte_size: i64,
    pub segment_count: i32,
    /// When retention deletes it; absent: kept until deleted.
    pub expires_at: Option<DateTime<Utc>>,
    /// The renditions recorded (`source`, `720p`, `audio`, …).
    pub renditions: Vec<String>,
    pub playback: RecordingPlayback,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RecordingPlayback {
    /// HLS VOD master playlist; absent until the recording is complete.
    pub hls_url: Option<String>,
    /// Static DASH MPD (CMAF recordings); absent until complete.
    pub dash_url: Option<String>,
}

impl RecordingView {
    pub fn new(row: RecordingRow, renditions: Vec<String>, config: &ApiConfig) -> Self {
        let complete = row.state == RecordingState::Complete;
        let url =
            |file: &str| complete.then(|| format!("{}/vod/{}/{file}", config.base_url(), row.id));
        let (hls_url, dash_url) = (url("master.m3u8"), url("manifest.mpd"));
        Self {
            id: row.id,
            stream_id: row.stream_id,
            state: row.state,
            started_at: row.started_at,
            ended_at: row.ended_at,
            duration_ms: row.duration_ms,
            byte_size: row.byte_size,
            segment_count: row.segment_count,
            expires_at: row.expires_at,
            renditions,
            playback: RecordingPlayback { hls_url, dash_url },
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RecordingPage {
    pub items: Vec<RecordingView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ClipView {
    pub id: Uuid,
    pub stream_id: Uuid,
    pub recording_id: Uuid,
    pub title: String,
    /// Offsets into the recording, as asked for.
    pub start_ms: i64,
    pub end_ms: i64,
    /// What plays: the range widened to segment boundaries (keyframes), so
    /// nothing is re-encoded.
    pub playable_start_ms: i64,
    pub playable_end_ms: i64,
    pub created_at: DateTime<Utc>,
    pub playback: ClipPlayback,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ClipPlayback {
    /// HLS VOD master playlist of the clip, playable at once.
    pub hls_url: String,
}
