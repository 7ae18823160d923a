use nova_media::PublishRejection;
use nova_media::flv::FlvError;

use super::refusals::Refusal;
use crate::hub::MediaLimitExceeded;

/// Why a connection ends. `Display` is for logs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CloseReason {
    #[error("RTMP handshake failed: {0}")]
    Handshake(String),
    #[error("RTMP session error: {0}")]
    Session(String),
    /// The name is not in the message: it may hold a pasted stream key.
    #[error("connect to an unknown application refused")]
    UnknownApp(String),
    #[error("publish rejected: {0}")]
    PublishRejected(PublishRejection),
    #[error("unsupported media: {0}")]
    UnsupportedMedia(FlvError),
    #[error("{0} malformed media messages in a row")]
    MalformedMedia(u32),
    #[error("play requested, but RTMP playback is not offered")]
    PlayNotOffered,
    #[error("another connection took over the stream")]
    TakenOver,
    #[error("the server is shutting down")]
    Shutdown,
    /// The server disconnected the publisher on the stream owner's request
    /// (the broadcast was ended, the stream disabled, or its key reset).
    #[error("disconnected on the stream owner's request")]
    Disconnected,
    /// The publisher's media broke one of the hub's limits.
    #[error("media over a limit: {0}")]
    MediaLimit(MediaLimitExceeded),
    #[error("handshake not completed in time")]
    HandshakeTimeout,
    #[error("no data from the peer in time")]
    IdleTimeout,
    /// The peer crossed one of the ingest's limits.
    #[error("{detail}")]
    Refused { reason: Refusal, detail: String },
}

impl CloseReason {
    /// What to tell a publisher in a last `onStatus` error, for the reasons
    /// that are not already answered by a protocol-level rejection.
    pub fn tell_publisher(&self) -> Option<String> {
        match self {
            Self::UnsupportedMedia(error) => Some(error.to_string()),
            Self::MalformedMedia(_) => Some(
                "the server cannot parse the media this encoder sends: check the encoder's output format (FLV with H.264/H.265 and AAC)"
                    .to_owned(),
            ),
            Self::TakenOver => Some(
                "another connection is now publishing this stream with the same key".to_owned(),
            ),
            Self::Shutdown => Some("the server is shutting down: reconnect in a few seconds".to_owned()),
            Self::Disconnected => Some(
                "the stream's owner disconnected this encoder: the broadcast was ended, the stream disabled, or its key reset"
                    .to_owned(),
            ),
            Self::IdleTimeout => Some("no media received for too long".to_owned()),
            Self::MediaLimit(exceeded) => Some(exceeded.advice()),
            Self::Refused { detail, .. } => Some(format!("refused by the server: {detail}")),
            Self::Handshake(_)
            | Self::Session(_)
            | Self::UnknownApp(_)
            | Self::PublishRejected(_)
            | Self::PlayNotOffered
            | Self::HandshakeTimeout => None,
        }
    }

    /// Whether the peer did something wrong (worth a warning) rather than
    /// the connection ending in the ordinary course of things.
    pub fn is_peer_error(&self) -> bool {
        matches!(
            self,
            Self::Handshake(_)
                | Self::Session(_)
                | Self::UnsupportedMedia(_)
                | Self::MalformedMedia(_)
                | Self::MediaLimit(_)
                | Self::Refused { .. }
        )
    }
}
