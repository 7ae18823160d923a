//! The Low-Latency HLS tags of a media playlist (RFC 8216bis §4.4.3.7,
//! §4.4.3.8, §4.4.4.9, §4.4.5.3, §4.4.5.4), written next to what m3u8-rs
//! writes (m3u8-rs 6 has no types for them).

use std::fmt::Write;

use m3u8_rs::ExtTag;
use nova_media::PartialSegment;

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

fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// `EXT-X-SERVER-CONTROL` and `EXT-X-PART-INF`, after the header tags.
pub(crate) fn header_lines(part_target_ms: u64) -> String {
    // §4.4.3.8: PART-HOLD-BACK is at least three part targets; §6.2.5.2:
    // this server answers blocking playlist reloads.
    format!(
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={}\n#EXT-X-PART-INF:PART-TARGET={}\n",
        seconds(part_target_ms * 3),
        seconds(part_target_ms)
    )
}

/// `EXT-X-PART` for one part, placed before the segment it belongs to.
pub(crate) fn part_tag(part: &PartialSegment) -> ExtTag {
    let mut rest = format!(
        "DURATION={},URI=\"{}\"",
        seconds(part.duration_ms),
        part.name
    );
    if part.independent {
        rest.push_str(",INDEPENDENT=YES");
    }
    ExtTag {
        tag: "X-PART".to_owned(),
        rest: Some(rest),
    }
}

/// The open segment's parts and the hint of its next one, after the last
/// complete segment.
pub(crate) fn open_lines(low_latency: &LowLatency<'_>) -> String {
    let mut out = String::new();
    for part in low_latency
        .parts
        .iter()
        .filter(|p| p.sequence == low_latency.open_sequence)
    {
        let _ = writeln!(out, "{}", part_tag(part));
    }
    if let Some(next) = &low_latency.next_part {
        // §4.4.5.3: the client may request it before it exists.
        let _ = writeln!(out, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{next}\"");
    }
    out
}

/// `EXT-X-RENDITION-REPORT` (§4.4.5.4) for another rendition of the stream.
pub(crate) fn rendition_report(uri: &str, last_msn: u64, last_part: Option<u32>) -> String {
    match last_part {
        Some(part) => {
            format!("#EXT-X-RENDITION-REPORT:URI=\"{uri}\",LAST-MSN={last_msn},LAST-PART={part}\n")
        }
        None => format!("#EXT-X-RENDITION-REPORT:URI=\"{uri}\",LAST-MSN={last_msn}\n"),
    }
}
