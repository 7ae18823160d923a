//! What the API shows of a stream: the same object for everyone who can see
//! it, plus the ingest details and settings for its owner.

use chrono::{DateTime, Utc};
use nova_media::{SegmentContainer, StreamId};
use serde::Serialize;
use uuid::Uuid;

use super::db::StreamRow;
use crate::access::{Permission, Role, StreamAccess, StreamStatus, Visibility};
use crate::live_control::IngestHealth;
use crate::state::AppState;
use crate::stream_key;
use crate::stream_settings::StreamOverrides;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct StreamView {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub status: StreamStatus,
    pub visibility: Visibility,
    /// Never contains the stream key.
    pub playback: Playback,
    /// Viewers watching now (sessions with a recent heartbeat).
    pub viewer_count: u32,
    /// The ingest's health over the last few seconds, while an encoder is
    /// publishing to this server; `null` otherwise.
    pub health: Option<IngestHealth>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Of the last broadcast.
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// A disabled stream refuses publishers until it is enabled again.
    pub disabled: bool,
    /// Owner only: where the encoder publishes to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingest: Option<Ingest>,
    /// Owner only: the stream's own settings; absent keys follow the
    /// server's defaults.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<StreamOverrides>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Ingest {
    pub rtmp_url: String,
    /// The start of the stream key, to tell keys apart; the key itself is
    /// shown once, when it is issued.
    pub stream_key_hint: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Playback {
    /// HLS with audio and video muxed together: plays in every HLS player.
    pub hls_url: String,
    /// HLS multivariant playlist over the CMAF renditions (separate video
    /// and audio tracks, LL-HLS ready); `null` for MPEG-TS streams.
    pub master_url: Option<String>,
    /// MPEG-DASH MPD over the same CMAF renditions; `null` for MPEG-TS streams.
    pub dash_url: Option<String>,
    /// A JPEG of a recent keyframe, refreshed every few seconds while the
    /// stream is live (404 until the first one); `Last-Modified` is when it
    /// was captured.
    pub thumbnail_url: String,
}

/// The stream with its whole key: the answer to creating a stream and to
/// resetting its key, and the only place the key is ever shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct StreamWithKey {
    #[serde(flatten)]
    pub stream: StreamView,
    /// Publish to `ingest.rtmp_url` + `/` + this key. Keep it secret.
    pub stream_key: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct StreamPage {
    pub items: Vec<StreamView>,
    pub next_cursor: Option<String>,
}

/// Which fields a caller gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Audience {
    /// Ingest details and settings included.
    Owner,
    Public,
}

impl StreamView {
    pub fn new(row: StreamRow, state: &AppState, audience: Audience) -> Self {
        let stream = StreamId(row.id);
        let config = &state.config;
        let owner = audience == Audience::Owner;
        let overrides = StreamOverrides::from_stored(&row.settings).0;
        let cmaf =
            overrides.container.unwrap_or(config.default_container) == SegmentContainer::Fmp4;
        Self {
            id: row.id,
            playback: Playback {
                hls_url: config.hls_url(stream),
                master_url: cmaf.then(|| config.master_url(stream)),
                dash_url: cmaf.then(|| config.dash_url(stream)),
                thumbnail_url: config.thumbnail_url(stream),
            },
            viewer_count: u32::try_from(row.viewer_count).unwrap_or(0),
            health: state.live.health(stream),
            ingest: owner.then(|| Ingest {
                rtmp_url: config.rtmp_url.clone(),
                stream_key_hint: stream_key::hint(&row.stream_key_id),
            }),
            // Anything the authorizer would warn about at publish time is
            // shown as the default here, which is what publishing will use.
            settings: owner.then_some(overrides),
            title: row.title,
            description: row.description,
            status: row.status,
            visibility: row.visibility,
            created_at: row.created_at,
            updated_at: row.updated_at,
            started_at: row.started_at,
            ended_at: row.ended_at,
            disabled: row.disabled_at.is_some(),
        }
    }
}

impl Audience {
    /// The caller's view of a stream they were checked against.
    pub fn of(access: &StreamAccess) -> Self {
        Self::for_role(access.role)
    }

    /// The caller's view of a listed stream. Lists do not load host rows,
    /// so a co-host counts as a viewer here: only the owner may read the
    /// ingest details, and the owner is known from the row.
    pub fn in_list(caller: Option<Uuid>, owner: Uuid) -> Self {
        Self::for_role(Role::of(caller, owner, None))
    }

    fn for_role(role: Role) -> Self {
        if Permission::ReadStreamIngest.allows(role) {
            Self::Owner
        } else {
            Self::Public
        }
    }
}
