//! `/live/{stream}/thumbnail.jpg`, served next to the live window.

use std::sync::Arc;

use nova_media::{CachePolicy, LiveEdge, LivePlayback, PlaybackObject, StreamId};

use super::sink::Thumbnailer;

/// The name the thumbnail has under `/live/{stream}/`.
pub const THUMBNAIL_NAME: &str = "thumbnail.jpg";

/// The live window, plus each stream's thumbnail under [`THUMBNAIL_NAME`].
pub struct WithThumbnails {
    windows: Arc<dyn LivePlayback>,
    thumbnails: Arc<Thumbnailer>,
}

impl WithThumbnails {
    pub fn new(windows: Arc<dyn LivePlayback>, thumbnails: Arc<Thumbnailer>) -> Self {
        Self {
            windows,
            thumbnails,
        }
    }
}

impl LivePlayback for WithThumbnails {
    fn get(&self, stream: StreamId, name: &str) -> Option<PlaybackObject> {
        if name != THUMBNAIL_NAME {
            return self.windows.get(stream, name);
        }
        let (jpeg, captured_at) = self.thumbnails.latest(stream)?;
        // A cache may keep it until the next one is due.
        let interval = self.thumbnails.config().interval;
        let max_age_secs = u32::try_from(interval.as_secs_f64().ceil() as u64)
            .unwrap_or(u32::MAX)
            .max(1);
        Some(PlaybackObject {
            body: jpeg,
            content_type: "image/jpeg",
            cache: CachePolicy::Refreshed {
                max_age_secs,
                modified: captured_at,
            },
        })
    }

    fn live_edge(&self, stream: StreamId, rendition: &str) -> Option<LiveEdge> {
        self.windows.live_edge(stream, rendition)
    }

    fn changes(&self, stream: StreamId) -> Option<tokio::sync::watch::Receiver<()>> {
        self.windows.changes(stream)
    }
}
