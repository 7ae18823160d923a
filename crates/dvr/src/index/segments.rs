//! `stream_segments`: one row per stored segment, written once its object
//! is in the store.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// A segment whose object is stored, about to be indexed.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewSegment {
    pub stream_id: Uuid,
    pub recording_id: Uuid,
    pub rendition: String,
    pub sequence: i64,
    pub media_start_ms: i64,
    pub program_date_time: DateTime<Utc>,
    pub duration_ms: i32,
    pub byte_size: i64,
    pub object_key: String,
    pub init_object_key: Option<String>,
    /// `fmp4` or `ts`.
    pub container: String,
    pub discontinuity: bool,
    /// The fMP4 `tfdt` in the track's timescale (none for MPEG-TS).
    #[serde(default)]
    pub base_decode_time: Option<i64>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SegmentRow {
    pub rendition: String,
    pub sequence: i64,
    pub media_start_ms: i64,
    pub program_date_time: DateTime<Utc>,
    pub duration_ms: i32,
    pub byte_size: i64,
    pub object_key: String,
    pub init_object_key: Option<String>,
    pub container: String,
    pub discontinuity: bool,
    pub base_decode_time: Option<i64>,
}

const COLUMNS: &str = "rendition, sequence, media_start_ms, program_date_time, duration_ms, \
                       byte_size, object_key, init_object_key, container, discontinuity, \
                       base_decode_time";

/// Indexes a stored segment and adds it to its recording's totals, in one
/// transaction. A repeat (an upload retried after a crash) is a no-op:
/// returns false.
pub async fn add_segment(pool: &PgPool, segment: &NewSegment) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO stream_segments (stream_id, recording_id, rendition, sequence, \
             media_start_ms, program_date_time, duration_ms, byte_size, object_key, \
             init_object_key, container, discontinuity, base_decode_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT DO NOTHING",
    )
    .bind(segment.stream_id)
    .bind(segment.recording_id)
    .bind(&segment.rendition)
    .bind(segment.sequence)
    .bind(segment.media_start_ms)
    .bind(segment.program_date_time)
    .bind(segment.duration_ms)
    .bind(segment.byte_size)
    .bind(&segment.object_key)
    .bind(&segment.init_object_key)
    .bind(&segment.container)
    .bind(segment.discontinuity)
    .bind(segment.base_decode_time)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        // The recording's duration is that of its longest rendition: they
        // cover the same time, and one may lag the others by an upload.
        sqlx::query(
            "UPDATE stream_recordings r SET \
                 byte_size = r.byte_size + $2, \
                 segment_count = r.segment_count + 1, \
                 duration_ms = greatest(r.duration_ms, ( \
                     SELECT COALESCE(sum(duration_ms), 0) FROM stream_segments \
                     WHERE recording_id = $1 AND rendition = $3)) \
             WHERE r.id = $1",
        )
        .bind(segment.recording_id)
        .bind(segment.byte_size)
        .bind(&segment.rendition)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(inserted)
}

/// One rendition of a recording, in order.
pub async fn segments(
    pool: &PgPool,
    recording: Uuid,
    rendition: &str,
) -> Result<Vec<SegmentRow>, sqlx::Error> {
    sqlx::query_as::<_, SegmentRow>(&format!(
        "SELECT {COLUMNS} FROM stream_segments \
         WHERE recording_id = $1 AND rendition = $2 ORDER BY sequence"
    ))
    .bind(recording)
    .bind(rendition)
    .fetch_all(pool)
    .await
}

/// The stream's recording in progress, if any: the DVR window's source.
pub async fn live_recording(pool: &PgPool, stream: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM stream_recordings WHERE stream_id = $1 AND state = 'recording'",
    )
    .bind(stream)
    .fetch_optional(pool)
    .await
}

/// What a master playlist says of each rendition of a recording.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RenditionSummary {
    pub rendition: String,
    pub segments: i64,
    pub duration_ms: i64,
    pub byte_size: i64,
    /// The highest bitrate of any one segment (`BANDWIDTH`, RFC 8216 §4.3.4.2).
    pub peak_bps: i64,
    pub container: String,
}

pub async fn renditions(
    pool: &PgPool,
    recording: Uuid,
) -> Result<Vec<RenditionSummary>, sqlx::Error> {
    sqlx::query_as::<_, RenditionSummary>(
        "SELECT rendition, count(*) AS segments, sum(duration_ms)::bigint AS duration_ms, \
                sum(byte_size)::bigint AS byte_size, \
                max(byte_size * 8000 / duration_ms)::bigint AS peak_bps, \
                min(container) AS container \
         FROM stream_segments WHERE recording_id = $1 \
         GROUP BY rendition ORDER BY max(byte_size * 8000 / duration_ms) DESC",
    )
    .bind(recording)
    .fetch_all(pool)
    .await
}

impl From<&NewSegment> for SegmentRow {
    fn from(segment: &NewSegment) -> Self {
        Self {
            rendition: segment.rendition.clone(),
            sequence: segment.sequence,
            media_start_ms: segment.media_start_ms,
            program_date_time: segment.program_date_time,
            duration_ms: segment.duration_ms,
            byte_size: segment.byte_size,
            object_key: segment.object_key.clone(),
            init_object_key: segment.init_object_key.clone(),
            container: segment.container.clone(),
            discontinuity: segment.discontinuity,
            base_decode_time: segment.base_decode_time,
        }
    }
}

/// Removes a segment row whose object is gone, and takes it out of its
/// recording's totals.
pub async fn remove_segment(
    pool: &PgPool,
    recording: Uuid,
    row: &SegmentRow,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let removed =
        sqlx::query("DELETE FROM stream_segments WHERE recording_id = $1 AND object_key = $2")
            .bind(recording)
            .bind(&row.object_key)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if removed == 1 {
        sqlx::query(
            "UPDATE stream_recordings r SET \
                 byte_size = greatest(0, r.byte_size - $2), \
                 segment_count = greatest(0, r.segment_count - 1), \
                 duration_ms = COALESCE((SELECT max(t.total) FROM ( \
                     SELECT sum(duration_ms) AS total FROM stream_segments \
                     WHERE recording_id = $1 GROUP BY rendition) t), 0) \
             WHERE r.id = $1",
        )
        .bind(recording)
        .bind(row.byte_size)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}
