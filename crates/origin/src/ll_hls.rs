//! What a live window's Low-Latency HLS playlist lists (RFC 8216bis
//! §4.4.4.9, §4.4.5.3): the parts of its newest segments and of the open
//! one, and the part to hint next.

use nova_media::PartialSegment;
use nova_media::hls::Part;

/// Parts are listed for this many of the newest segments, as §4.4.4.9
/// recommends (at least the last three target durations).
pub(crate) const PART_SEGMENTS: usize = 3;

/// What a rendition's playlist says about its parts.
pub(crate) struct LowLatency<'a> {
    pub part_target_ms: u64,
    /// Parts of the newest segments and of the open one, oldest first.
    pub parts: &'a [PartialSegment],
    /// The segment being filled and the name of its next part, for
    /// `EXT-X-PRELOAD-HINT`.
    pub open_sequence: u64,
    pub next_part: Option<String>,
}

impl LowLatency<'_> {
    /// The parts of the segment being filled.
    pub(crate) fn open_parts(&self) -> Vec<Part> {
        self.parts
            .iter()
            .filter(|p| p.sequence == self.open_sequence)
            .map(part)
            .collect()
    }
}

/// `EXT-X-PART` for one part.
pub(crate) fn part(part: &PartialSegment) -> Part {
    Part {
        uri: part.name.clone(),
        duration_ms: part.duration_ms,
        independent: part.independent,
    }
}
