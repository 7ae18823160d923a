use std::sync::Arc;

use crate::{AudioConfig, Frame, StreamSettings, VideoConfig};

/// What a consumer of one live stream (the packager, an RTMP player, a relay)
/// receives from the stream's hub, in order.
///
/// A stream's life is: `PublishStarted`, configs and frames, `PublishStopped`,
/// then either another `PublishStarted` (a publisher reconnected or took over:
/// the consumer continues with a discontinuity) or `StreamEnded`.
#[derive(Clone, Debug)]
pub enum StreamEvent {
    /// A publisher was accepted. `session` increases with every publisher of
    /// the stream, so a consumer can tell a takeover from a continuation.
    PublishStarted {
        session: u32,
        settings: Arc<StreamSettings>,
    },
    /// The decoder configuration for the video track (AVC/HEVC record).
    /// Repeated whenever it changes, and replayed to late joiners.
    VideoConfig(VideoConfig),
    AudioConfig(AudioConfig),
    Frame(Frame),
    /// The consumer fell behind and frames were dropped; the next frame is a
    /// video keyframe (or, for audio-only streams, the next audio frame).
    /// Consumers treat it like a discontinuity.
    FramesDropped {
        count: u64,
    },
    /// The current publisher went away. Another may follow within the
    /// reconnect window.
    PublishStopped {
        session: u32,
    },
    /// The stream is over: no publisher came back. Consumers finish up.
    StreamEnded,
}
