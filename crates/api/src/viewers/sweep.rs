//! The viewer sweep: closes sessions that stopped heartbeating and folds
//! sessions into `stream_viewer_stats`, so the statistics route reads one
//! row. It runs every few seconds (see `spawn_background_tasks`) and visits
//! only streams that have open or freshly closed sessions; per stream it
//! works in bounded batches, in one transaction.
//!
//! How each number stays cheap:
//! * current viewers: a count over the stream's open sessions (the partial
//!   index `live_stream_viewers_current_idx`); peak is the greatest seen.
//! * watch time: a closed session's span is added once, when it is settled;
//!   open sessions' running spans are added to that at every pass.
//! * unique viewers: viewers of the sessions seen that
//!   `stream_viewer_identities` does not know yet (or not for the current
//!   broadcast) are added there; what was added is the new uniques.
//!
//! Several server processes may sweep at once: rows are claimed with
//! `SKIP LOCKED`, and every flag (expired, settled, identity seen) flips
//! once, so nothing is counted twice.

use chrono::{DateTime, Utc};
use sqlx::postgres::types::PgInterval;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::access::StreamStatus;
use crate::event_bus::{EventPayload, ViewerCountEvent};
use crate::state::AppState;

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ViewerSweep {
    /// Streams whose statistics were updated.
    pub streams: usize,
    /// Sessions closed for missing their heartbeats.
    pub expired: u64,
    /// Closed sessions folded into the statistics.
    pub settled: u64,
    /// A batch was full: run again soon rather than after the usual pause.
    pub more: bool,
}

/// One pass over every stream with viewer sessions to account for. Closes
/// sessions silent for longer than `config.viewer_session_timeout`,
/// updates each stream's statistics, and publishes `viewer_count` events
/// for streams that are live or whose count changed.
pub async fn sweep_viewers(state: &AppState, batch: u32) -> Result<ViewerSweep, sqlx::Error> {
    let batch = i64::from(batch.max(1));
    let timeout = PgInterval::try_from(state.config.viewer_session_timeout)
        .map_err(|error| sqlx::Error::Encode(error.to_string().into()))?;
    let mut pass = ViewerSweep::default();
    for stream in streams_to_sweep(&state.pool).await? {
        let mut tx = state.pool.begin().await?;
        let Some(outcome) = sweep_stream(&mut tx, stream, &timeout, batch).await? else {
            // Deleted meanwhile; its sessions went with it.
            continue;
        };
        tx.commit().await?;
        pass.streams += 1;
        pass.expired += outcome.expired;
        pass.settled += outcome.settled;
        pass.more |= outcome.expired == batch as u64 || outcome.settled == batch as u64;
        if outcome.status == StreamStatus::Live || outcome.previous != Some(outcome.current) {
            state.events.publish(
                stream,
                EventPayload::ViewerCount(ViewerCountEvent {
                    current: outcome.current,
                }),
            );
        }
    }
    // After the pass, which closed the sessions that missed their heartbeats.
    state.viewer_tally.reconcile(&state.pool).await?;
    Ok(pass)
}

/// Streams with open sessions, found by skipping through the partial index
/// one stream at a time (a plain DISTINCT would read every open session),
/// plus the few with closed sessions not yet settled.
async fn streams_to_sweep(pool: &PgPool) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "WITH RECURSIVE open_streams (stream_id) AS ( \
             (SELECT stream_id FROM live_stream_viewers WHERE left_at IS NULL \
              ORDER BY stream_id LIMIT 1) \
             UNION ALL \
             SELECT (SELECT v.stream_id FROM live_stream_viewers v \
                     WHERE v.left_at IS NULL AND v.stream_id > o.stream_id \
                     ORDER BY v.stream_id LIMIT 1) \
             FROM open_streams o WHERE o.stream_id IS NOT NULL) \
         SELECT stream_id FROM open_streams WHERE stream_id IS NOT NULL \
         UNION \
         SELECT stream_id FROM live_stream_viewers WHERE left_at IS NOT NULL AND NOT settled",
    )
    .fetch_all(pool)
    .await
}

struct StreamOutcome {
    status: StreamStatus,
    expired: u64,
    settled: u64,
    current: i32,
    /// The count the previous pass stored, if any.
    previous: Option<i32>,
}

#[derive(sqlx::FromRow)]
struct Broadcast {
    status: StreamStatus,
    started_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
}

async fn sweep_stream(
    tx: &mut PgConnection,
    stream: Uuid,
    timeout: &PgInterval,
    batch: i64,
) -> Result<Option<StreamOutcome>, sqlx::Error> {
    // The stream's row is locked for the pass: a status change (or another
    // process's sweep) waits for it, so the broadcast window below is the
    // one the numbers are for. NO KEY: joins, whose foreign key check takes
    // a KEY SHARE lock on the row, do not wait.
    let Some(broadcast) = sqlx::query_as::<_, Broadcast>(
        "SELECT status, started_at, ended_at FROM live_streams WHERE id = $1 \
         FOR NO KEY UPDATE",
    )
    .bind(stream)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(None);
    };

    // A session that missed its heartbeats left at its last heartbeat.
    let expired = sqlx::query(
        "UPDATE live_stream_viewers SET left_at = last_seen_at \
         WHERE id IN (SELECT id FROM live_stream_viewers \
                      WHERE stream_id = $1 AND left_at IS NULL AND last_seen_at < now() - $2 \
                      ORDER BY last_seen_at LIMIT $3 FOR UPDATE SKIP LOCKED)",
    )
    .bind(stream)
    .bind(timeout)
    .bind(batch)
    .execute(&mut *tx)
    .await?
    .rows_affected();

    // Viewers of the sessions not yet settled (open ones, and closed ones
    // before they are settled below), each once. A viewer never seen
    // before is a new unique viewer of the stream; one not yet counted in
    // the current broadcast is a new unique viewer of that broadcast. Only
    // those reach the upsert (the others are a read of the primary key), so
    // a steady audience costs no writes here; the upsert still settles races
    // with another process's sweep. `xmax = 0` tells an inserted row from an
    // updated one.
    let (new_viewers, new_broadcast_viewers): (i64, i64) = sqlx::query_as(
        "WITH seen AS ( \
             SELECT viewer_key, \
                    bool_or($2 IS NOT NULL AND coalesce(left_at, last_seen_at) >= $2 \
                            AND ($3 IS NULL OR joined_at <= $3)) AS in_broadcast \
             FROM live_stream_viewers \
             WHERE stream_id = $1 AND (left_at IS NULL OR NOT settled) \
             GROUP BY viewer_key), \
         fresh AS ( \
             SELECT s.viewer_key, s.in_broadcast FROM seen s \
             LEFT JOIN stream_viewer_identities i \
                 ON i.stream_id = $1 AND i.viewer_key = s.viewer_key \
             WHERE i.viewer_key IS NULL \
                OR (s.in_broadcast AND i.last_broadcast_at IS DISTINCT FROM $2)), \
         counted AS ( \
             INSERT INTO stream_viewer_identities AS i (stream_id, viewer_key, last_broadcast_at) \
             SELECT $1, viewer_key, CASE WHEN in_broadcast THEN $2 END FROM fresh \
             ON CONFLICT (stream_id, viewer_key) DO UPDATE \
                 SET last_broadcast_at = EXCLUDED.last_broadcast_at \
                 WHERE EXCLUDED.last_broadcast_at IS NOT NULL \
                   AND i.last_broadcast_at IS DISTINCT FROM EXCLUDED.last_broadcast_at \
             RETURNING (xmax = 0) AS inserted, last_broadcast_at) \
         SELECT count(*) FILTER (WHERE inserted), \
                count(*) FILTER (WHERE last_broadcast_at IS NOT NULL) \
         FROM counted",
    )
    .bind(stream)
    .bind(broadcast.started_at)
    .bind(broadcast.ended_at)
    .fetch_one(&mut *tx)
    .await?;

    // Closed sessions are settled once: their whole span, and the part of
    // it within the broadcast, move into the stored totals.
    let (settled, settled_ms, settled_broadcast_ms): (i64, i64, i64) = sqlx::query_as(
        "WITH settled AS ( \
             UPDATE live_stream_viewers SET settled = true \
             WHERE id IN (SELECT id FROM live_stream_viewers \
                          WHERE stream_id = $1 AND left_at IS NOT NULL AND NOT settled \
                          LIMIT $4 FOR UPDATE SKIP LOCKED) \
             RETURNING joined_at, left_at) \
         SELECT count(*), \
                coalesce(sum(nova_overlap_ms(joined_at, left_at, '-infinity', NULL)), 0)::bigint, \
                coalesce(sum(nova_overlap_ms(joined_at, left_at, $2, $3)), 0)::bigint \
         FROM settled",
    )
    .bind(stream)
    .bind(broadcast.started_at)
    .bind(broadcast.ended_at)
    .bind(batch)
    .fetch_one(&mut *tx)
    .await?;

    // Open sessions: the count, and their running spans so far.
    let (current, open_ms, open_broadcast_ms): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), \
                coalesce(sum(nova_overlap_ms(joined_at, last_seen_at, '-infinity', NULL)), 0)::bigint, \
                coalesce(sum(nova_overlap_ms(joined_at, last_seen_at, $2, $3)), 0)::bigint \
         FROM live_stream_viewers WHERE stream_id = $1 AND left_at IS NULL",
    )
    .bind(stream)
    .bind(broadcast.started_at)
    .bind(broadcast.ended_at)
    .fetch_one(&mut *tx)
    .await?;
    let current = i32::try_from(current).unwrap_or(i32::MAX);
    // Only a live broadcast has viewers now; stragglers after the end
    // still count for the stream, not for the peak of the broadcast.
    let broadcast_current = if broadcast.status == StreamStatus::Live {
        current
    } else {
        0
    };

    // The broadcast numbers start over when the stream's broadcast is not
    // the one they were kept for.
    let previous: Option<i32> = sqlx::query_scalar(
        "WITH previous AS (SELECT current_viewers FROM stream_viewer_stats WHERE stream_id = $1) \
         INSERT INTO stream_viewer_stats AS s ( \
             stream_id, current_viewers, peak_viewers, unique_viewers, \
             settled_watch_time_ms, watch_time_ms, broadcast_started_at, broadcast_peak_viewers, \
             broadcast_unique_viewers, broadcast_settled_watch_time_ms, broadcast_watch_time_ms) \
         VALUES ($1, $2, $2, $3, $4, $4 + $5, $6, $7, $8, $9, $9 + $10) \
         ON CONFLICT (stream_id) DO UPDATE SET \
             current_viewers = EXCLUDED.current_viewers, \
             peak_viewers = GREATEST(s.peak_viewers, EXCLUDED.current_viewers), \
             unique_viewers = s.unique_viewers + EXCLUDED.unique_viewers, \
             settled_watch_time_ms = s.settled_watch_time_ms + EXCLUDED.settled_watch_time_ms, \
             watch_time_ms = s.settled_watch_time_ms + EXCLUDED.watch_time_ms, \
             broadcast_started_at = EXCLUDED.broadcast_started_at, \
             broadcast_peak_viewers = CASE \
                 WHEN s.broadcast_started_at IS NOT DISTINCT FROM EXCLUDED.broadcast_started_at \
                 THEN GREATEST(s.broadcast_peak_viewers, EXCLUDED.broadcast_peak_viewers) \
                 ELSE EXCLUDED.broadcast_peak_viewers END, \
             broadcast_unique_viewers = CASE \
                 WHEN s.broadcast_started_at IS NOT DISTINCT FROM EXCLUDED.broadcast_started_at \
                 THEN s.broadcast_unique_viewers + EXCLUDED.broadcast_unique_viewers \
                 ELSE EXCLUDED.broadcast_unique_viewers END, \
             broadcast_settled_watch_time_ms = CASE \
                 WHEN s.broadcast_started_at IS NOT DISTINCT FROM EXCLUDED.broadcast_started_at \
                 THEN s.broadcast_settled_watch_time_ms + EXCLUDED.broadcast_settled_watch_time_ms \
                 ELSE EXCLUDED.broadcast_settled_watch_time_ms END, \
             broadcast_watch_time_ms = CASE \
                 WHEN s.broadcast_started_at IS NOT DISTINCT FROM EXCLUDED.broadcast_started_at \
                 THEN s.broadcast_settled_watch_time_ms + EXCLUDED.broadcast_watch_time_ms \
                 ELSE EXCLUDED.broadcast_watch_time_ms END, \
             updated_at = now() \
         RETURNING (SELECT current_viewers FROM previous)",
    )
    .bind(stream)
    .bind(current)
    .bind(new_viewers)
    .bind(settled_ms)
    .bind(open_ms)
    .bind(broadcast.started_at)
    .bind(broadcast_current)
    .bind(new_broadcast_viewers)
    .bind(settled_broadcast_ms)
    .bind(open_broadcast_ms)
    .fetch_one(&mut *tx)
    .await?;

    Ok(Some(StreamOutcome {
        status: broadcast.status,
        expired,
        settled: settled as u64,
        current,
        previous,
    }))
}
