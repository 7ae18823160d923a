//! The ABR transcoding ladder: decode the source once, scale and encode it
//! with libx264 into lower renditions whose keyframes sit at exactly the
//! source's keyframe PTS, so segment N of every rendition covers the same
//! time as the source's segment N.
//!
//! Threads: one decode thread feeds every rendition's bounded queue; each
//! rendition scales and encodes on its own thread. A ladder that falls
//! behind real time drops its top rendition (see
//! [`EncodeOptions::max_lag`]) rather than fall further behind.

mod avcc;
mod decode;
mod decode_thread;
mod encode;
mod error;
mod ffi;
mod handle;
mod options;
mod output;
mod profile;
mod rendition_thread;
mod stats;
mod thread_failure;

pub use error::LadderError;
pub use handle::Ladder;
pub use options::EncodeOptions;
pub use output::LadderOutput;
pub use profile::{LadderProfile, Rendition, RenditionSpec};
pub(crate) use stats::RenditionCounters;
pub use stats::{LadderStats, RenditionStats};
