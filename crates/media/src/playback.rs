use bytes::Bytes;

use crate::StreamId;

/// How long HTTP caches may keep a playback object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CachePolicy {
    /// A live playlist: changes every segment, cache for about a second at most.
    LivePlaylist,
    /// An ended live playlist (`#EXT-X-ENDLIST`): it will not grow, but the
    /// same URL serves a new playlist when the stream goes live again.
    FinalPlaylist,
    /// A segment or init segment: its name is never reused, cache forever.
    Immutable,
}

#[derive(Clone, Debug)]
pub struct PlaybackObject {
    pub body: Bytes,
    pub content_type: &'static str,
    pub cache: CachePolicy,
}

/// The live window as the HTTP layer sees it: named objects per stream.
pub trait LivePlayback: Send + Sync + 'static {
    /// `name` is the path under `/live/{stream}/`: `index.m3u8` and its
    /// segments (the muxed rendition), `master.m3u8`, `manifest.mpd`, or
    /// `{rendition}/{file}` for one CMAF track, e.g. `source/index.m3u8`.
    fn get(&self, stream: StreamId, name: &str) -> Option<PlaybackObject>;
}
