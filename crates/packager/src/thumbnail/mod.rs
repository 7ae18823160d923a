//! Thumbnails of live streams: a JPEG of a recent keyframe per stream,
//! refreshed every few seconds and served as `/live/{stream}/thumbnail.jpg`.
//!
//! Passthrough streams are never decoded as a whole: one segment per
//! interval is demuxed in memory and only its first picture (the keyframe
//! it starts on) is decoded, scaled and coded as JPEG, on one worker thread
//! that skips work rather than queue it.

mod ffi;
mod playback;
mod render;
mod schedule;
mod sink;
mod size;

pub use playback::{THUMBNAIL_NAME, WithThumbnails};
pub use render::{Jpeg, RenderError, render};
pub use sink::{ThumbnailConfig, ThumbnailStats, Thumbnailer};
