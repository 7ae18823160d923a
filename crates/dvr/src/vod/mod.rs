//! Playlists over the recording index: VOD (a whole recording or a clip of
//! it) and the DVR window of a live stream. No media is re-encoded; the
//! playlists list the segments the live stream already stored.

mod hls;
mod window;

pub use hls::{MediaPlaylistKind, master_playlist, media_playlist};
pub use window::dvr_window;

/// The rendition that carries the audio of CMAF recordings (video renditions
/// are video-only and name it in `EXT-X-MEDIA`).
pub const AUDIO_RENDITION: &str = "audio";

/// The packager's muxed audio+video output (the legacy playlist): left out of
/// a master playlist that has the separate CMAF tracks.
pub const MUXED_RENDITION: &str = "main";
