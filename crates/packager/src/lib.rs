//! Passthrough packaging for nova-live: publish sessions in, HLS out.
//!
//! A [`Packager`] per stream turns the hub's events into keyframe-aligned
//! segments, muxed by FFmpeg into CMAF fMP4 or MPEG-TS in memory, and hands
//! them to a [`SegmentSink`](nova_media::SegmentSink). [`LiveWindows`] is the
//! sink that keeps each stream's live window and serves its media playlist.

mod abr;
mod abr_rung;
mod counters;
mod ffi;
mod ffmpeg_log;
mod generation;
mod interleave;
pub mod ladder;
mod live_windows;
mod ll_hls;
mod manifests;
mod master;
mod memory_io;
mod muxer;
mod naming;
mod packager;
mod playlist;
mod segment_writer;
mod session;
mod stream_windows;
pub mod thumbnail;
mod timeline;
mod track_renditions;
mod window;

// The DASH renderer and the fMP4 reader are shared with VOD (nova-dvr).
use nova_media::fmp4 as fmp4_info;
use nova_media::mpd;

pub use abr::AbrConfig;
pub use counters::PackagerCounters;
pub use ffmpeg_log::init_ffmpeg;
pub use live_windows::{LiveWindows, LiveWindowsConfig};
pub use packager::Packager;
