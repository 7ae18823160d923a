//! The in-memory live origin of nova-live: what HTTP serves under `/live`.
//!
//! The packagers write into the [`Origin`] through
//! [`SegmentSink`](nova_media::SegmentSink); HTTP handlers read from it
//! through [`LivePlayback`](nova_media::LivePlayback). It holds, per stream,
//! an `OriginStream`: one `RenditionWindow` per
//! rendition (its media playlist, LL-HLS parts, segments and init
//! segments) and the manifests that combine the renditions (the master
//! playlist and the DASH MPD). Nothing here muxes or decodes media, so it
//! builds and is tested without FFmpeg.

mod ll_hls;
mod manifests;
pub mod metrics;
mod origin;
mod playlist;
mod rendition_window;
mod stream;

pub use origin::{Origin, OriginConfig};
