use std::sync::Arc;

use nova_media::{Frame, VideoConfig};

/// What a [`Ladder`](super::Ladder) hands back. Per rendition the order is:
/// one `Config`, then its frames in decode order, then at most one
/// `RenditionDropped` (nothing of it follows). Renditions interleave freely.
#[derive(Clone, Debug, PartialEq)]
pub enum LadderOutput {
    /// The rendition's decoder configuration, as libx264 wrote it.
    Config {
        rendition: Arc<str>,
        config: VideoConfig,
    },
    /// One encoded frame: PTS is the source picture's, DTS is monotonic and
    /// never after PTS, in ms; AVCC payload with 4-byte NAL lengths.
    Frame { rendition: Arc<str>, frame: Frame },
    /// The rendition stopped for good (the ladder fell behind real time, or
    /// its encoder failed).
    RenditionDropped { rendition: Arc<str>, reason: String },
}

impl LadderOutput {
    pub fn rendition(&self) -> &Arc<str> {
        match self {
            Self::Config { rendition, .. }
            | Self::Frame { rendition, .. }
            | Self::RenditionDropped { rendition, .. } => rendition,
        }
    }
}
