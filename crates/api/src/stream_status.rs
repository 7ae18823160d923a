//! The live/ended status of streams, written by the server as publishers
//! come and go. Each write is one idempotent UPDATE, so the server may
//! retry it after a database blip.

use nova_media::StreamId;
use sqlx::PgPool;

/// `GREATEST` keeps `ended_at >= started_at` (a schema rule) even if the
/// database clock stepped back while the stream was live: a status write
/// that violated it would fail on every retry and leave the stream live.
macro_rules! end_live_streams_where {
    ($condition:literal) => {
        concat!(
            "UPDATE live_streams ",
            "SET status = 'ended', ended_at = GREATEST(now(), started_at) ",
            "WHERE status = 'live' AND ",
            $condition
        )
    };
}

/// The stream went live: status `live`, `started_at` now, `ended_at` cleared.
///
/// Marking a stream that is already live keeps its `started_at`: a
/// publisher that reconnects or takes over continues the same session.
pub async fn mark_stream_live(pool: &PgPool, stream: StreamId) -> Result<(), sqlx::Error> {
    let result = sqlx::query(
        "UPDATE live_streams \
         SET status = 'live', \
             started_at = CASE WHEN status = 'live' THEN started_at ELSE now() END, \
             ended_at = NULL \
         WHERE id = $1",
    )
    .bind(stream.0)
    .execute(pool)
    .await?;
    if result.rows_affected() == 0 {
        // Deleted while it was being published; retrying cannot help.
        tracing::warn!(%stream, "cannot mark a stream live: it no longer exists");
    }
    Ok(())
}

/// The stream ended: status `ended`, `ended_at` now. Only a live stream can
/// end; for any other the call does nothing.
pub async fn mark_stream_ended(pool: &PgPool, stream: StreamId) -> Result<(), sqlx::Error> {
    sqlx::query(end_live_streams_where!("id = $1"))
        .bind(stream.0)
        .execute(pool)
        .await?;
    Ok(())
}

/// At startup, before any publisher is accepted: streams still `live` were
/// left so by a process that stopped without ending them, so they are over.
/// Returns how many there were.
///
/// This assumes one ingest node per database; several nodes will need the
/// per-stream lease the architecture describes before they can share one.
pub async fn end_orphaned_live_streams(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(end_live_streams_where!("TRUE"))
        .execute(pool)
        .await?;
    Ok(result.rows_affected())
}
