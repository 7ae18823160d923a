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
    /// A picture of the live stream (its thumbnail), replaced in place about
    /// every `max_age_secs`; `modified` is when its content was captured.
    Refreshed {
        max_age_secs: u32,
        modified: std::time::SystemTime,
    },
}

#[derive(Clone, Debug)]
pub struct PlaybackObject {
    pub body: Bytes,
    pub content_type: &'static str,
    pub cache: CachePolicy,
}

/// Where a rendition's live playlist stands, for LL-HLS blocking playlist
/// reloads (RFC 8216bis §6.2.5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveEdge {
    /// Media sequence number of the newest complete segment, if any.
    pub last_segment: Option<u64>,
    /// The segment being filled now and how many of its parts exist.
    pub open_segment: u64,
    pub open_parts: u32,
    /// `EXT-X-TARGETDURATION`, in seconds.
    pub target_duration: u64,
    /// The playlist will not change again (`EXT-X-ENDLIST`).
    pub ended: bool,
    /// The part `EXT-X-PRELOAD-HINT` names (a file name in the rendition's
    /// directory), which may be requested before it exists.
    pub next_part: Option<String>,
}

/// The live window as the HTTP layer sees it: named objects per stream.
pub trait LivePlayback: Send + Sync + 'static {
    /// `name` is the path under `/live/{stream}/`: `index.m3u8` and its
    /// segments (the muxed rendition), `master.m3u8`, `manifest.mpd`, or
    /// `{rendition}/{file}` for one CMAF track, e.g. `source/index.m3u8`.
    fn get(&self, stream: StreamId, name: &str) -> Option<PlaybackObject>;

    /// Where the playlist of `rendition` (a directory name, e.g. `source`)
    /// stands; `None` if it has no LL-HLS playlist.
    fn live_edge(&self, _stream: StreamId, _rendition: &str) -> Option<LiveEdge> {
        None
    }

    /// A receiver that sees every change of the stream's live window (a
    /// part, a segment, the end). Subscribe before looking at the window,
    /// then await `changed()`: no change can slip in between.
    fn changes(&self, _stream: StreamId) -> Option<tokio::sync::watch::Receiver<()>> {
        None
    }
}
