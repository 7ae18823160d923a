//! The transcoded renditions' part of a stream's health, from the
//! packager's ladder counters.

use nova_api::{RenditionHealth, RenditionState};
use nova_packager::ladder::LadderStats;

/// Empty while no ladder runs (passthrough streams, or a source too small
/// to transcode).
pub fn of(stats: Option<LadderStats>) -> Vec<RenditionHealth> {
    let Some(stats) = stats else {
        return Vec::new();
    };
    stats
        .renditions
        .into_iter()
        .map(|rendition| RenditionHealth {
            name: rendition.name.to_string(),
            width: rendition.width,
            height: rendition.height,
            state: if rendition.dropped.is_some() {
                RenditionState::Dropped
            } else {
                RenditionState::Running
            },
            dropped_reason: rendition.dropped,
            // Two decimals: a health figure, not a measurement series.
            speed: (rendition.speed * 100.0).round() / 100.0,
        })
        .collect()
}
