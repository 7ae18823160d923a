//! The DVR window: the part of a live recording viewers may seek back into.

use chrono::{DateTime, Utc};

use crate::index::SegmentRow;

/// The segments of `rows` (one rendition of a live recording, in order)
/// that started within `depth` of `now`, and how many discontinuities came
/// before them (`EXT-X-DISCONTINUITY-SEQUENCE`).
///
/// Segments upload in parallel, so the index may hold segment N+1 before
/// N: the window ends before the first gap, and a playlist never lists a
/// segment that a later reload would insert before.
pub fn dvr_window(
    rows: &[SegmentRow],
    depth: chrono::Duration,
    now: DateTime<Utc>,
) -> (&[SegmentRow], u64) {
    let contiguous = rows
        .windows(2)
        .position(|pair| pair[1].sequence != pair[0].sequence + 1)
        .map_or(rows.len(), |gap| gap + 1);
    let rows = &rows[..contiguous];
    let since = now - depth;
    let first = rows.partition_point(|row| row.program_date_time < since);
    let discontinuities = rows[..first].iter().filter(|row| row.discontinuity).count();
    (&rows[first..], discontinuities as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(sequence: i64, at_s: i64, discontinuity: bool) -> SegmentRow {
        SegmentRow {
            rendition: "source".into(),
            sequence,
            media_start_ms: at_s * 1000,
            program_date_time: DateTime::from_timestamp(at_s, 0).unwrap(),
            duration_ms: 2000,
            byte_size: 1,
            object_key: format!("k/{sequence}"),
            init_object_key: None,
            container: "ts".into(),
            discontinuity,
            base_decode_time: None,
        }
    }

    #[test]
    fn slides_counts_discontinuities_and_stops_at_a_gap() {
        let rows = vec![
            row(0, 0, false),
            row(1, 2, true),
            row(2, 4, false),
            row(3, 6, true),
            row(5, 10, false),
        ];
        let now = DateTime::from_timestamp(10, 0).unwrap();
        let (window, before) = dvr_window(&rows, chrono::Duration::seconds(7), now);
        assert_eq!(
            window.iter().map(|r| r.sequence).collect::<Vec<_>>(),
            [2, 3]
        );
        assert_eq!(before, 1);
        let (all, before) = dvr_window(&rows, chrono::Duration::hours(2), now);
        assert_eq!(all.len(), 4);
        assert_eq!(before, 0);
    }
}
