use bytes::Bytes;

/// Every [`Frame`] timestamp counts in this many ticks per second.
///
/// Milliseconds, because that is RTMP's clock: ingest never rounds, and the
/// packager converts to the container's timebase exactly once.
pub const TIMEBASE_HZ: u32 = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Track {
    Video,
    Audio,
}

impl Track {
    /// A slot for per-track state kept in a two-element array.
    pub fn index(self) -> usize {
        match self {
            Track::Video => 0,
            Track::Audio => 1,
        }
    }
}

/// One coded access unit of one track.
///
/// Timestamps are in [`TIMEBASE_HZ`], already unwrapped from RTMP's 32-bit
/// clock into a monotonic 64-bit one. `pts = dts + composition time`.
///
/// Video payloads are length-prefixed NAL units exactly as they travel in FLV
/// and MP4 (AVCC/HVCC, with the length size from the codec record); audio
/// payloads are raw AAC access units without ADTS headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub track: Track,
    pub dts: i64,
    pub pts: i64,
    pub keyframe: bool,
    pub data: Bytes,
}

impl Frame {
    /// Composition offset (pts − dts), non-zero for B-frames.
    pub fn composition_offset(&self) -> i64 {
        self.pts - self.dts
    }
}
