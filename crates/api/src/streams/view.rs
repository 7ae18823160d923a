//! What the API shows of a stream.

use chrono::{DateTime, Utc};
use nova_media::StreamId;
use serde::Serialize;
use uuid::Uuid;

use super::db::{StreamRow, StreamStatus};
use crate::config::ApiConfig;
use crate::stream_key;
use crate::stream_settings::StreamOverrides;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct StreamView {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub status: StreamStatus,
    pub ingest: Ingest,
    pub playback: Playback,
    /// The stream's own settings only; absent keys follow the server defaults.
    pub settings: StreamOverrides,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub disabled: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Ingest {
    pub rtmp_url: String,
    /// The start of the stream key, to tell keys apart; the key itself is
    /// shown once, when the stream is created.
    pub stream_key_hint: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Playback {
    pub hls_url: String,
}

/// The create response: the only one that carries the whole stream key.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CreatedStream {
    #[serde(flatten)]
    pub stream: StreamView,
    pub stream_key: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct StreamPage {
    pub items: Vec<StreamView>,
    pub next_cursor: Option<String>,
}

impl StreamView {
    pub fn new(row: StreamRow, config: &ApiConfig) -> Self {
        // Anything the authorizer would warn about at publish time is shown
        // as the default here, which is what publishing will use.
        let (settings, _) = StreamOverrides::from_stored(&row.settings);
        Self {
            id: row.id,
            ingest: Ingest {
                rtmp_url: config.rtmp_url.clone(),
                stream_key_hint: stream_key::hint(&row.stream_key_id),
            },
            playback: Playback {
                hls_url: config.hls_url(StreamId(row.id)),
            },
            title: row.title,
            description: row.description,
            status: row.status,
            settings,
            created_at: row.created_at,
            updated_at: row.updated_at,
            started_at: row.started_at,
            ended_at: row.ended_at,
            disabled: row.disabled_at.is_some(),
        }
    }
}
