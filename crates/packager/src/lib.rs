//! Packaging for nova-live: publish sessions in, CMAF or MPEG-TS segments out.
//!
//! A [`Packager`] per stream turns the hub's events into keyframe-aligned
//! segments, muxed by FFmpeg into CMAF fMP4 or MPEG-TS in memory, and hands
//! them to a [`SegmentSink`](nova_media::SegmentSink): the live origin
//! (`nova-origin`) and the recorder are the sinks. This crate is the one
//! that links FFmpeg.

mod abr;
mod abr_rung;
mod counters;
mod ffi;
mod ffmpeg_log;
mod generation;
mod interleave;
pub mod ladder;
mod memory_io;
pub mod metrics;
mod muxer;
mod naming;
mod packager;
mod segment_writer;
mod session;
pub mod thumbnail;
mod timeline;
mod track_renditions;

pub use abr::AbrConfig;
pub use counters::PackagerCounters;
pub use ffmpeg_log::init_ffmpeg;
pub use packager::Packager;
