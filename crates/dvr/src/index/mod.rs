//! The recording index in Postgres: `stream_recordings` (one row per
//! recording) and `stream_segments` (one row per stored segment of every
//! rendition). A segment row is written only once its object is in the
//! store, so everything the index names can be served.

mod clips;
mod inits;
mod recordings;
mod segments;
mod settings;

pub use clips::{ClipRow, clip, clip_segments, insert_clip, playable_range};
pub use inits::{InitRow, add_init, inits};
pub use recordings::{
    RecordingRow, RecordingState, delete_rows, expired, finish_recording, mark_deleting,
    object_keys, open_recording, recording, recordings_of_stream, recover_interrupted,
};
pub use segments::{
    NewSegment, RenditionSummary, SegmentRow, add_segment, live_recording, remove_segment,
    renditions, segments,
};
pub use settings::dvr_window_seconds;
