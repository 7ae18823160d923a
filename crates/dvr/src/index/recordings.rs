//! `stream_recordings`: a recording's life from the first segment of a
//! packaging run to VOD, and its removal.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type, serde::Serialize)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum RecordingState {
    /// The stream is live and the recording grows.
    Recording,
    /// Ended; every indexed segment is in the store. Playable as VOD.
    Complete,
    /// Ended without a single stored segment.
    Failed,
    /// Its objects are being deleted; no longer served.
    Deleting,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RecordingRow {
    pub id: Uuid,
    pub stream_id: Uuid,
    pub state: RecordingState,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub duration_ms: i64,
    pub byte_size: i64,
    pub segment_count: i32,
    pub expires_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "id, stream_id, state, started_at, ended_at, duration_ms, byte_size, segment_count, expires_at";

/// Starts a recording for a new packaging run of `stream`. A recording the
/// stream left open (the previous process died) is closed first: a stream
/// records into one recording at a time.
pub async fn open_recording(pool: &PgPool, stream: Uuid) -> Result<Uuid, sqlx::Error> {
    let mut tx = pool.begin().await?;
    close_open(&mut tx, Some(stream)).await?;
    let id: Uuid =
        sqlx::query_scalar("INSERT INTO stream_recordings (stream_id) VALUES ($1) RETURNING id")
            .bind(stream)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(id)
}

/// Ends a recording whose every segment is stored: `complete` (or `failed`
/// if it has none), with its expiry from the stream's
/// `recording_retention_days` (0 keeps it forever) or `default_retention_days`.
/// Returns the row if this call ended it.
pub async fn finish_recording(
    pool: &PgPool,
    id: Uuid,
    default_retention_days: Option<u32>,
) -> Result<Option<RecordingRow>, sqlx::Error> {
    sqlx::query_as::<_, RecordingRow>(&format!(
        "UPDATE stream_recordings r SET \
             state = CASE WHEN r.segment_count > 0 THEN 'complete' ELSE 'failed' END, \
             ended_at = greatest(r.started_at, now()), \
             expires_at = CASE \
                 WHEN days.value IS NULL OR days.value = 0 THEN NULL \
                 ELSE now() + make_interval(days => days.value) END \
         FROM live_streams s \
         CROSS JOIN LATERAL (SELECT COALESCE( \
             CASE WHEN jsonb_typeof(s.settings -> 'recording_retention_days') = 'number' \
                  THEN (s.settings ->> 'recording_retention_days')::int END, \
             $2::int) AS value) days \
         WHERE r.id = $1 AND s.id = r.stream_id AND r.state = 'recording' \
         RETURNING {}",
        prefixed("r.")
    ))
    .bind(id)
    .bind(default_retention_days.map(|d| d as i32))
    .fetch_optional(pool)
    .await
}

/// After a crash: every recording still marked `recording` is closed at its
/// last indexed segment. Returns the recordings closed.
pub async fn recover_interrupted(pool: &PgPool) -> Result<Vec<RecordingRow>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let closed = close_open(&mut tx, None).await?;
    tx.commit().await?;
    Ok(closed)
}

async fn close_open(
    tx: &mut sqlx::PgConnection,
    stream: Option<Uuid>,
) -> Result<Vec<RecordingRow>, sqlx::Error> {
    sqlx::query_as::<_, RecordingRow>(&format!(
        "UPDATE stream_recordings r SET \
             state = CASE WHEN r.segment_count > 0 THEN 'complete' ELSE 'failed' END, \
             ended_at = greatest(r.started_at, COALESCE(( \
                 SELECT max(g.program_date_time + make_interval(secs => g.duration_ms / 1000.0)) \
                 FROM stream_segments g WHERE g.recording_id = r.id), r.started_at)) \
         WHERE r.state = 'recording' AND ($1::uuid IS NULL OR r.stream_id = $1) \
         RETURNING {}",
        prefixed("r.")
    ))
    .bind(stream)
    .fetch_all(tx)
    .await
}

pub async fn recording(pool: &PgPool, id: Uuid) -> Result<Option<RecordingRow>, sqlx::Error> {
    sqlx::query_as::<_, RecordingRow>(&format!(
        "SELECT {COLUMNS} FROM stream_recordings WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// A stream's recordings, newest first, after the `(started_at, id)` cursor.
pub async fn recordings_of_stream(
    pool: &PgPool,
    stream: Uuid,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<RecordingRow>, sqlx::Error> {
    let (at, id) = before.unzip();
    sqlx::query_as::<_, RecordingRow>(&format!(
        "SELECT {COLUMNS} FROM stream_recordings \
         WHERE stream_id = $1 AND state <> 'deleting' \
           AND ($2::timestamptz IS NULL OR (started_at, id) < ($2, $3)) \
         ORDER BY started_at DESC, id DESC LIMIT $4"
    ))
    .bind(stream)
    .bind(at)
    .bind(id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Marks a recording for deletion unless it is still recording. Returns
/// false for a live (or missing) recording.
pub async fn mark_deleting(pool: &PgPool, id: Uuid) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE stream_recordings SET state = 'deleting' \
         WHERE id = $1 AND state IN ('complete', 'failed', 'deleting')",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Every object a recording's rows name: segments and their init segments.
pub async fn object_keys(pool: &PgPool, id: Uuid) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT object_key FROM stream_segments WHERE recording_id = $1 \
         UNION SELECT init_object_key FROM stream_segments \
               WHERE recording_id = $1 AND init_object_key IS NOT NULL",
    )
    .bind(id)
    .fetch_all(pool)
    .await
}

/// Removes a recording's rows (its clips go with it), once its objects are
/// gone from the store.
pub async fn delete_rows(pool: &PgPool, id: Uuid) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM stream_segments WHERE recording_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM stream_recordings WHERE id = $1 AND state = 'deleting'")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Up to `limit` ended recordings past their expiry (or left half-deleted),
/// oldest first. A recording that is still live never expires.
pub async fn expired(pool: &PgPool, limit: i64) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM stream_recordings \
         WHERE (state IN ('complete', 'failed') AND expires_at <= now()) OR state = 'deleting' \
         ORDER BY expires_at NULLS FIRST LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}

fn prefixed(prefix: &str) -> String {
    COLUMNS
        .split(", ")
        .map(|column| format!("{prefix}{column}"))
        .collect::<Vec<_>>()
        .join(", ")
}
