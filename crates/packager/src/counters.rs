//! What a packager did with its input, for logs and metrics.

/// Running totals for one [`Packager`](crate::Packager).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PackagerCounters {
    pub segments: u64,
    pub frames_written: u64,
    /// Frames nothing could decode: before a session's first keyframe or
    /// codec configuration, outside a publish session, or empty.
    pub frames_skipped: u64,
    /// Frames the hub dropped before they reached us (`FramesDropped`).
    pub frames_dropped_upstream: u64,
    /// Muxer failures; each restarts muxing at the next keyframe.
    pub mux_errors: u64,
    /// Events that made no sense in the packager's state (e.g. frames after
    /// the stream ended).
    pub events_ignored: u64,
}
