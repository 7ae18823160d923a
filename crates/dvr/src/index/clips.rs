//! `stream_clips`: a time range of a recording, played over its segments.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::SegmentRow;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ClipRow {
    pub id: Uuid,
    pub stream_id: Uuid,
    pub recording_id: Uuid,
    pub title: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, stream_id, recording_id, title, start_ms, end_ms, created_at";

pub async fn insert_clip(
    pool: &PgPool,
    stream: Uuid,
    recording: Uuid,
    created_by: Uuid,
    title: &str,
    range: (i64, i64),
) -> Result<ClipRow, sqlx::Error> {
    sqlx::query_as::<_, ClipRow>(&format!(
        "INSERT INTO stream_clips (stream_id, recording_id, created_by, title, start_ms, end_ms) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    ))
    .bind(stream)
    .bind(recording)
    .bind(created_by)
    .bind(title)
    .bind(range.0)
    .bind(range.1)
    .fetch_one(pool)
    .await
}

pub async fn clip(pool: &PgPool, id: Uuid) -> Result<Option<ClipRow>, sqlx::Error> {
    sqlx::query_as::<_, ClipRow>(&format!("SELECT {COLUMNS} FROM stream_clips WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// The segments of `rows` (one rendition, in order) that play
/// `[start_ms, end_ms)` of the recording, offsets counted from its first
/// segment. Segments start on keyframes, so the range widens outwards to
/// their boundaries; nothing is re-encoded.
pub fn clip_segments(rows: &[SegmentRow], start_ms: i64, end_ms: i64) -> &[SegmentRow] {
    let Some(origin) = rows.first().map(|row| row.media_start_ms) else {
        return rows;
    };
    let offset_end = |row: &SegmentRow| row.media_start_ms - origin + i64::from(row.duration_ms);
    let first = rows.partition_point(|row| offset_end(row) <= start_ms);
    let last = rows.partition_point(|row| row.media_start_ms - origin < end_ms);
    &rows[first..last.max(first)]
}

/// Offsets (from the first segment) of what [`clip_segments`] returned.
pub fn playable_range(all: &[SegmentRow], clip: &[SegmentRow]) -> Option<(i64, i64)> {
    let origin = all.first()?.media_start_ms;
    let first = clip.first()?;
    let last = clip.last()?;
    Some((
        first.media_start_ms - origin,
        last.media_start_ms - origin + i64::from(last.duration_ms),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(sequence: i64, start: i64, duration: i32) -> SegmentRow {
        SegmentRow {
            rendition: "source".into(),
            sequence,
            media_start_ms: start,
            program_date_time: DateTime::from_timestamp_millis(start).unwrap(),
            duration_ms: duration,
            byte_size: 1,
            object_key: format!("k/{sequence}"),
            init_object_key: None,
            container: "ts".into(),
            discontinuity: false,
            base_decode_time: None,
        }
    }

    #[test]
    fn widens_to_segment_boundaries() {
        // Segments of 2 s starting at media time 10 s.
        let rows: Vec<_> = (0..5).map(|i| row(i, 10_000 + i * 2_000, 2_000)).collect();
        let clip = clip_segments(&rows, 3_000, 5_000);
        assert_eq!(clip.iter().map(|r| r.sequence).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(playable_range(&rows, clip), Some((2_000, 6_000)));
        // Exactly on boundaries: no extra segment either side.
        let clip = clip_segments(&rows, 2_000, 4_000);
        assert_eq!(clip.iter().map(|r| r.sequence).collect::<Vec<_>>(), [1]);
        // Past the end: nothing.
        assert!(clip_segments(&rows, 20_000, 30_000).is_empty());
        assert!(clip_segments(&[], 0, 1).is_empty());
    }
}
