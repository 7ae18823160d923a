//! A static DASH MPD (ISO/IEC 23009-1 §5.4.1) of a finished recording, over
//! the same CMAF segments its HLS playlists list.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use nova_media::mpd::{self, Mpd, Period, Representation, RepresentationKind, TimelineEntry};

use crate::index::{InitRow, RenditionSummary, SegmentRow};
use crate::keys::file_name;

/// The MPD of a recording's renditions (`segments` by rendition, in
/// order). A Period starts at every discontinuity (a publisher reconnect or
/// a codec change): each has its own init segments and timeline. Renditions
/// without a described init segment (MPEG-TS, the muxed output) are left
/// out; `None` if nothing is left.
pub fn static_mpd(
    renditions: &[RenditionSummary],
    segments: &BTreeMap<String, Vec<SegmentRow>>,
    inits: &[InitRow],
    duration: Duration,
) -> Option<String> {
    let init_of = |key: &str| inits.iter().find(|init| init.object_key == key);
    let reference = renditions
        .iter()
        .filter_map(|r| segments.get(&r.rendition))
        .find(|rows| !rows.is_empty())?;
    // Periods begin where the reference rendition has a discontinuity; all
    // renditions are cut at the same sequence numbers.
    let mut boundaries: Vec<(i64, Duration)> = Vec::new();
    let mut offset = Duration::ZERO;
    for (index, row) in reference.iter().enumerate() {
        if index == 0 || row.discontinuity {
            boundaries.push((row.sequence, offset));
        }
        offset += Duration::from_millis(row.duration_ms.max(0) as u64);
    }
    let mut periods = Vec::new();
    for (index, &(first, start)) in boundaries.iter().enumerate() {
        let end = boundaries
            .get(index + 1)
            .map_or(i64::MAX, |&(next, _)| next);
        let mut period = Period {
            id: index.to_string(),
            start,
            video: Vec::new(),
            audio: Vec::new(),
        };
        for summary in renditions {
            let Some(rows) = segments.get(&summary.rendition) else {
                continue;
            };
            let rows: Vec<&SegmentRow> = rows
                .iter()
                .filter(|row| (first..end).contains(&row.sequence))
                .collect();
            let Some(init) = rows
                .first()
                .and_then(|row| row.init_object_key.as_deref())
                .and_then(init_of)
            else {
                continue;
            };
            let representation = representation(summary, init, &rows)?;
            match representation.kind {
                RepresentationKind::Video { .. } => period.video.push(representation),
                RepresentationKind::Audio { .. } => period.audio.push(representation),
            }
        }
        if !period.video.is_empty() || !period.audio.is_empty() {
            periods.push(period);
        }
    }
    if periods.is_empty() {
        return None;
    }
    let longest = renditions
        .iter()
        .filter_map(|r| segments.get(&r.rendition))
        .flatten()
        .map(|row| row.duration_ms.max(0) as u64)
        .max()
        .unwrap_or(1000);
    let document = Mpd {
        presentation_duration: Some(duration),
        availability_start: SystemTime::UNIX_EPOCH,
        publish_time: SystemTime::UNIX_EPOCH,
        minimum_update_period: None,
        min_buffer_time: Duration::from_millis(longest),
        time_shift_buffer_depth: Duration::ZERO,
        suggested_presentation_delay: Duration::ZERO,
        max_segment_duration: Duration::from_millis(longest),
        clock_url: None,
        periods,
    };
    Some(mpd::render(&document))
}

fn representation(
    summary: &RenditionSummary,
    init: &InitRow,
    rows: &[&SegmentRow],
) -> Option<Representation> {
    let timescale = u32::try_from(init.timescale).ok()?;
    let ticks = |ms: i64| (ms.max(0) as u64) * u64::from(timescale) / 1000;
    // The tfdt when it was read from the segment; media time otherwise.
    let start_of = |row: &SegmentRow| {
        row.base_decode_time
            .map_or_else(|| ticks(row.media_start_ms), |t| t.max(0) as u64)
    };
    let timeline: Vec<TimelineEntry> = rows
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let t = start_of(row);
            let d = rows
                .get(index + 1)
                .map(|next| start_of(next).saturating_sub(t))
                .filter(|&d| d > 0)
                .unwrap_or_else(|| ticks(i64::from(row.duration_ms)));
            TimelineEntry { t, d }
        })
        .collect();
    let first = rows.first()?;
    let segment_name = file_name(&first.object_key);
    let (run, _) = segment_name.rsplit_once('-')?;
    let extension = segment_name.rsplit_once('.').map_or("m4s", |(_, e)| e);
    let kind = match (init.width, init.height, init.sample_rate, init.channels) {
        (Some(width), Some(height), _, _) => RepresentationKind::Video {
            width: u32::try_from(width).ok()?,
            height: u32::try_from(height).ok()?,
            frame_rate: None,
        },
        (_, _, Some(sample_rate), Some(channels)) => RepresentationKind::Audio {
            sample_rate: u32::try_from(sample_rate).ok()?,
            channels: u8::try_from(channels).ok()?,
        },
        _ => return None,
    };
    Some(Representation {
        id: summary.rendition.clone(),
        codecs: init.codecs.clone(),
        bandwidth: summary.peak_bps.max(1) as u64,
        kind,
        timescale,
        presentation_time_offset: timeline.first()?.t,
        initialization: format!("{}/{}", summary.rendition, file_name(&init.object_key)),
        media: format!("{}/{run}-$Number$.{extension}", summary.rendition),
        start_number: u64::try_from(first.sequence).ok()?,
        timeline,
    })
}
