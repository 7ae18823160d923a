//! The shared vocabulary of nova-live.
//!
//! Every other crate speaks in these types: [`Frame`]s with timestamps in one
//! fixed timebase, codec configurations parsed from the bitstream, FLV tag
//! parsing, and the traits at the seams between crates. Nothing here does IO,
//! so everything here is tested synchronously.

mod bits;
pub mod codec;
pub mod flv;
pub mod fmp4;
mod frame;
pub mod hls;
pub mod mpd;
mod object_store;
mod panic_message;
mod playback;
mod publish;
mod segment;
mod stream_event;
mod stream_id;
mod xml;

pub use codec::{AudioCodec, AudioConfig, VideoCodec, VideoConfig};
pub use frame::{Frame, TIMEBASE_HZ, Track};
pub use object_store::{ObjectMeta, ObjectStore, ObjectStoreError};
pub use panic_message::panic_message;
pub use playback::{CachePolicy, LiveEdge, LivePlayback, PlaybackObject};
pub use publish::{
    PublishAuthorizer, PublishGrant, PublishRejection, PublishRequest, SegmentContainer,
    StreamSettings, TranscodeProfile, part_limit,
};
pub use segment::{
    AUDIO_RENDITION, InitSegment, MUXED_RENDITION, MediaSegment, PartialSegment, SOURCE_RENDITION,
    SegmentEvent, SegmentSink,
};
pub use stream_event::StreamEvent;
pub use stream_id::StreamId;
