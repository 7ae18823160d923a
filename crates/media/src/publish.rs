use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::StreamId;

/// Container of HLS media segments.
///
/// fMP4/CMAF is the default: it is the one encode that HLS, LL-HLS and DASH
/// can all share, it carries HEVC, and every current player (hls.js, Safari,
/// ExoPlayer, dash.js) plays it. MPEG-TS stays available for legacy players
/// (old smart TVs and set-top boxes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SegmentContainer {
    #[default]
    Fmp4,
    Ts,
}

impl SegmentContainer {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fmp4 => "fmp4",
            Self::Ts => "ts",
        }
    }

    /// The `Content-Type` of a segment, part or init segment of
    /// `rendition` (RFC 8216bis §4.3.2; an audio-only fMP4 is `audio/mp4`,
    /// which strict players and MSE type checks look at).
    pub fn media_type(self, rendition: &str) -> &'static str {
        match self {
            Self::Ts => "video/mp2t",
            Self::Fmp4 if rendition == crate::segment::AUDIO_RENDITION => "audio/mp4",
            Self::Fmp4 => "video/mp4",
        }
    }
}

impl std::str::FromStr for SegmentContainer {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "fmp4" => Ok(Self::Fmp4),
            "ts" => Ok(Self::Ts),
            other => Err(format!(
                "unknown segment container {other:?}: use fmp4 or ts"
            )),
        }
    }
}

/// Which renditions a stream is packaged in besides its source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TranscodeProfile {
    /// The publisher's own encode only.
    #[default]
    Passthrough,
    /// The server's adaptive bit rate ladder, transcoded from the source,
    /// in fMP4 runs (MPEG-TS runs stay passthrough).
    Abr,
}

/// How one live stream is packaged: the server defaults with the stream's own
/// settings applied on top.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamSettings {
    pub container: SegmentContainer,
    /// Segments are cut on the first video keyframe at or after this much media time.
    pub target_segment_duration: Duration,
    /// How many segments the live playlist lists.
    pub live_window_segments: usize,
    /// LL-HLS partial segments of the CMAF renditions are cut this long;
    /// [`part_limit`] of it is the longest one may be (`PART-TARGET`).
    pub part_target_duration: Duration,
    pub transcode: TranscodeProfile,
    /// Encode the ladder's renditions for latency over compression (no
    /// B-frames, no lookahead): the stream's `latency_mode` is `low`.
    pub low_latency: bool,
}

/// The longest an LL-HLS part cut `nominal` long may be: the playlist's
/// `EXT-X-PART-INF:PART-TARGET` (RFC 8216bis §4.4.3.7: no part is longer).
///
/// Parts hold the frames that start within `nominal` of the part's start,
/// so the last part of a segment keeps the segment's last frame when
/// publisher timestamps jitter (a 2.006 s GOP cut in 0.5 s parts), instead of
/// ending the segment with a part of one frame. hls.js (1.7) counts a
/// segment as buffered once all but 0.2 s of it is, and then never loads
/// such a part: playback stalled at the segment's end until the part left
/// the playlist. The margin covers a frame's overhang and jitter.
pub fn part_limit(nominal: Duration) -> Duration {
    nominal + nominal / 10
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self {
            container: SegmentContainer::default(),
            target_segment_duration: Duration::from_secs(2),
            live_window_segments: 6,
            part_target_duration: Duration::from_millis(500),
            transcode: TranscodeProfile::default(),
            low_latency: false,
        }
    }
}

/// An RTMP client asks to publish `rtmp://host/{app}/{stream_key}`.
#[derive(Clone)]
pub struct PublishRequest {
    pub app: String,
    /// The key as the client sent it, without any `?query` suffix.
    pub stream_key: String,
    pub peer: SocketAddr,
}

impl PublishRequest {
    /// A form of the key that is safe to log: its first characters only.
    pub fn key_hint(&self) -> String {
        redact_key(&self.stream_key)
    }
}

impl fmt::Debug for PublishRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishRequest")
            // Redacted like the key: a key pasted into the server field
            // lands in the app name.
            .field("app", &redact_key(&self.app))
            .field("stream_key", &self.key_hint())
            .field("peer", &self.peer)
            .finish()
    }
}

/// Keeps enough of a stream key to tell keys apart in logs, never enough to use it.
///
/// nova-live keys are `nl_<key id>_<secret>`: the first 15 characters are the
/// public key id. Whatever the format, at most half of the key is shown.
pub fn redact_key(key: &str) -> String {
    let length = key.chars().count();
    let visible: String = key.chars().take(15.min(length / 2)).collect();
    format!("{visible}…")
}

/// The publish is allowed: the stream it belongs to, and how to package it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishGrant {
    pub stream_id: StreamId,
    pub settings: StreamSettings,
}

/// Why a publish was refused. The `Display` text goes back to the client in
/// the RTMP `onStatus` description, so it says what to do and leaks nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PublishRejection {
    /// The name is kept for the caller to compare, never shown: streamers
    /// paste their key into the server field, so it lands in the app name.
    #[error("unknown application: publish to rtmp://<host>/live/<stream key>")]
    UnknownApp(String),
    #[error("invalid stream key: copy the key from the stream's settings")]
    InvalidKey,
    #[error("this stream is disabled: enable it before going live")]
    Disabled,
    #[error("the server cannot check stream keys right now: retry in a few seconds")]
    Unavailable,
    /// The server's `--max-live-streams`.
    #[error("this server already has {0} live streams, the most it takes: retry later")]
    ServerFull(usize),
    /// The owner's `--max-live-streams-per-owner`.
    #[error(
        "this account already has {0} live streams, the most it may have at once: end one before going live with another"
    )]
    OwnerQuota(usize),
}

/// Decides whether a publish request may go live. Implemented over Postgres
/// by the API crate; the ingest only knows this trait.
#[async_trait]
pub trait PublishAuthorizer: Send + Sync + 'static {
    async fn authorize(&self, request: &PublishRequest) -> Result<PublishGrant, PublishRejection>;
}

#[cfg(test)]
mod tests {
    use super::redact_key;

    #[test]
    fn redacted_keys_show_the_key_id_at_most() {
        let key = "nl_AbCdEfGhIjKl_0123456789012345678901234567890123456789";
        assert_eq!(redact_key(key), "nl_AbCdEfGhIjKl…");
        assert_eq!(redact_key("short"), "sh…");
        assert_eq!(redact_key(""), "…");
    }
}
