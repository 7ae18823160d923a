//! The live origin's Prometheus series: how soon LL-HLS parts become
//! servable, and each live stream's segment count (recorded at scrape time
//! by [`collect_streams`], only for the streams live now).

use metrics::Unit;

use crate::Origin;

pub const LLHLS_PART_AVAILABILITY: &str = "nova_llhls_part_availability_seconds";
pub const STREAM_SEGMENTS: &str = "nova_stream_segments_total";

/// Describes the origin's process-wide series to the installed recorder.
pub fn describe() {
    metrics::describe_histogram!(
        LLHLS_PART_AVAILABILITY,
        Unit::Seconds,
        "Time from the packager receiving an LL-HLS part's last frame from the ingest hub to the part being servable by the live origin (it is cut when the next frame arrives, muxed, and added to the origin's window). Every rendition of the publisher's own encode; transcoded renditions are not measured"
    );
}

/// A ScrapeCollector body: `nova_stream_segments_total` of every stream
/// whose packaging run is live in `origin` now.
pub fn collect_streams(origin: &Origin) {
    metrics::describe_counter!(
        STREAM_SEGMENTS,
        "Segments the stream's packaging run cut since it went live, counted once per cut whatever the number of renditions (label stream: a live stream of this node)"
    );
    for (stream, segments) in origin.live_segment_counts() {
        metrics::counter!(STREAM_SEGMENTS, "stream" => stream.to_string()).absolute(segments);
    }
}
