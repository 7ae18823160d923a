use std::time::Duration;

use nova_media::{SegmentContainer, StreamId};

use crate::rate_limit::RateLimit;

/// What the API hands out to clients about where things are, and the rules
/// it applies to them.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Base of the playback URLs handed out, e.g. `http://localhost:8080`,
    /// without a trailing slash. Behind a CDN, the CDN's URL.
    pub public_url: String,
    /// The ingest URL handed out, e.g. `rtmp://localhost:1935/live`.
    pub rtmp_url: String,
    pub chat: ChatConfig,
    /// Ordered by `min_amount_minor`, ascending; the first applies to any
    /// amount below the second.
    pub super_chat_tiers: Vec<SuperChatTier>,
    /// A viewer session without a heartbeat for this long has left.
    pub viewer_session_timeout: Duration,
    /// How far back viewers may seek in a live stream (`/dvr/…`) unless the
    /// stream sets `dvr_window_seconds`.
    pub dvr_window: Duration,
    /// The server's segment container, for streams that do not choose one:
    /// only fMP4 streams have a master playlist and a DASH MPD.
    pub default_container: SegmentContainer,
    pub limits: ClientLimits,
    /// Accept webhook URLs on loopback and private networks (and plain
    /// `http://` to loopback): for development only. The delivery worker
    /// has its own copy of this setting, checked at connect time.
    pub webhooks_allow_private: bool,
}

/// What one client may ask of the API, and how long a request may take.
#[derive(Clone, Debug)]
pub struct ClientLimits {
    /// An ordinary request (the API, recordings, health) is answered 503
    /// after this long; event feeds and LL-HLS blocking reloads have bounds
    /// of their own.
    pub request_timeout: Duration,
    /// Live event feeds (WebSocket or SSE) one address may hold at once.
    pub event_feeds_per_address: usize,
    /// Viewer sessions one address may start, in bursts of as many, per
    /// minute.
    pub viewer_joins_per_minute: u32,
}

impl Default for ClientLimits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            event_feeds_per_address: 32,
            viewer_joins_per_minute: 30,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ChatConfig {
    /// At most 500, the schema's limit.
    pub max_message_chars: usize,
    /// Messages per user per stream.
    pub rate_limit: RateLimit,
}

/// A band of super chat amounts: how it is shown and how long it is pinned.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct SuperChatTier {
    /// In minor units of the chat's currency.
    pub min_amount_minor: i64,
    /// `#RRGGBB`.
    pub colour: String,
    pub pin_seconds: u32,
    pub max_message_chars: usize,
}

impl ApiConfig {
    /// The given URLs with the default rules.
    pub fn new(public_url: impl Into<String>, rtmp_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into(),
            rtmp_url: rtmp_url.into(),
            chat: ChatConfig::default(),
            super_chat_tiers: SuperChatTier::defaults(),
            viewer_session_timeout: Duration::from_secs(45),
            dvr_window: Duration::from_secs(2 * 3600),
            default_container: SegmentContainer::default(),
            limits: ClientLimits::default(),
            webhooks_allow_private: false,
        }
    }

    /// `public_url` without a trailing slash.
    pub(crate) fn base_url(&self) -> &str {
        self.public_url.trim_end_matches('/')
    }

    /// Where players find a stream's playback object `name`.
    fn live_url(&self, stream: StreamId, name: &str) -> String {
        format!(
            "{}/live/{stream}/{name}",
            self.public_url.trim_end_matches('/')
        )
    }

    /// The muxed audio+video HLS playlist: plays in every HLS player, for
    /// either container.
    pub(crate) fn hls_url(&self, stream: StreamId) -> String {
        self.live_url(stream, "index.m3u8")
    }

    /// The multivariant playlist over the CMAF renditions (fMP4 only).
    pub(crate) fn master_url(&self, stream: StreamId) -> String {
        self.live_url(stream, "master.m3u8")
    }

    /// The DASH MPD over the CMAF renditions (fMP4 only).
    pub(crate) fn dash_url(&self, stream: StreamId) -> String {
        self.live_url(stream, "manifest.mpd")
    }

    /// A JPEG of a recent keyframe while the stream is live.
    pub(crate) fn thumbnail_url(&self, stream: StreamId) -> String {
        self.live_url(stream, "thumbnail.jpg")
    }
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            max_message_chars: 200,
            // A message every 2 s on average, with bursts of 5.
            rate_limit: RateLimit {
                burst: 5,
                period: Duration::from_secs(10),
            },
        }
    }
}

impl SuperChatTier {
    /// YouTube's bands, in minor units (cents for USD/EUR).
    pub fn defaults() -> Vec<Self> {
        let tier = |min: i64, colour: &str, pin_seconds: u32, chars: usize| Self {
            min_amount_minor: min,
            colour: colour.to_owned(),
            pin_seconds,
            max_message_chars: chars,
        };
        vec![
            tier(100, "#1565C0", 0, 0),
            tier(200, "#00B8D4", 0, 50),
            tier(500, "#00BFA5", 120, 150),
            tier(1000, "#FFB300", 300, 200),
            tier(2000, "#E65100", 600, 225),
            tier(5000, "#C2185B", 1800, 250),
            tier(10000, "#D00000", 3600, 270),
            tier(20000, "#D00000", 7200, 290),
            tier(30000, "#D00000", 10800, 310),
            tier(40000, "#D00000", 14400, 330),
            tier(50000, "#D00000", 18000, 350),
        ]
    }
}
