//! The packaging's Prometheus series: segments, their durations, the
//! ladder's renditions and thumbnails. Counters go to the global recorder
//! through handles each segment writer takes once; the ladder's speeds are
//! read at scrape time by [`collect_ladders`] from the ladders running now.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use metrics::Unit;
use nova_media::SegmentContainer;

use crate::ladder::RenditionCounters;

pub const SEGMENTS: &str = "nova_segments_total";
pub const SEGMENT_DURATION: &str = "nova_segment_duration_seconds";
pub const LADDER_RENDITION_SPEED: &str = "nova_ladder_rendition_speed";
pub const LADDER_DROPPED_RENDITIONS: &str = "nova_ladder_dropped_renditions_total";
pub const THUMBNAILS: &str = "nova_thumbnails_total";

/// Describes the packaging's process-wide series to the installed recorder.
pub fn describe() {
    metrics::describe_counter!(
        SEGMENTS,
        "Media segments packaged, every rendition counted (the muxed one, the one-track CMAF ones, the ladder's), by container: cmaf or ts"
    );
    metrics::describe_histogram!(
        SEGMENT_DURATION,
        Unit::Seconds,
        "Media duration of each packaged segment (every rendition, as nova_segments_total counts them)"
    );
    metrics::describe_counter!(
        LADDER_DROPPED_RENDITIONS,
        "Transcoded renditions a ladder stopped before the end of its run (it fell behind real time, or its encoder failed), by rendition"
    );
    metrics::describe_counter!(
        THUMBNAILS,
        "Stream thumbnails rendered from a segment, by outcome: written or failed"
    );
}

/// The `container` label: fMP4 segments are CMAF.
pub(crate) fn container_label(container: SegmentContainer) -> &'static str {
    match container {
        SegmentContainer::Fmp4 => "cmaf",
        SegmentContainer::Ts => "ts",
    }
}

/// The renditions of every ladder running in this process, for
/// [`collect_ladders`]. Weak: a ladder that ends leaves on its own.
static LADDERS: Mutex<Vec<Weak<[Arc<RenditionCounters>]>>> = Mutex::new(Vec::new());

pub(crate) fn register_ladder(renditions: &Arc<[Arc<RenditionCounters>]>) {
    let mut ladders = LADDERS.lock().unwrap_or_else(PoisonError::into_inner);
    ladders.retain(|ladder| ladder.strong_count() > 0);
    ladders.push(Arc::downgrade(renditions));
}

/// A ScrapeCollector body: `nova_ladder_rendition_speed` per rendition name,
/// the slowest of the ladders running now (one per transcoded stream), so
/// the number of series is bounded by the ladder's profile and a ladder
/// that ended leaves the output.
pub fn collect_ladders() {
    metrics::describe_gauge!(
        LADDER_RENDITION_SPEED,
        "Encode speed of a transcoded rendition: media seconds encoded per wall-clock second since its first picture (1 = real time), the slowest among this node's running ladders; renditions stopped or with no output yet are left out"
    );
    let ladders: Vec<_> = {
        let mut ladders = LADDERS.lock().unwrap_or_else(PoisonError::into_inner);
        ladders.retain(|ladder| ladder.strong_count() > 0);
        ladders.iter().filter_map(Weak::upgrade).collect()
    };
    let mut slowest: BTreeMap<Arc<str>, f64> = BTreeMap::new();
    for renditions in ladders {
        for rendition in renditions.iter() {
            let stats = rendition.snapshot();
            if stats.dropped.is_some() || stats.frames_out == 0 {
                continue;
            }
            slowest
                .entry(stats.name)
                .and_modify(|speed| *speed = speed.min(stats.speed))
                .or_insert(stats.speed);
        }
    }
    for (rendition, speed) in slowest {
        metrics::gauge!(LADDER_RENDITION_SPEED, "rendition" => rendition.to_string()).set(speed);
    }
}
