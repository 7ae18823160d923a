//! Playlists over the recording index: VOD (a whole recording or a clip of
//! it) and the DVR window of a live stream. No media is re-encoded; the
//! playlists list the segments the live stream already stored.

mod dash;
mod hls;
mod window;

pub use dash::static_mpd;
pub use hls::{MediaPlaylistKind, master_playlist, media_playlist};
pub use window::dvr_window;
