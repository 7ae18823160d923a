//! The SQL of viewer sessions. Each request is one or two statements on one
//! session row; nothing here counts over sessions (that is the sweep's job).

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::postgres::types::PgInterval;
use uuid::Uuid;

use crate::access::StreamStatus;

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SessionRow {
    pub id: Uuid,
    pub session_token: String,
    pub last_seen_at: DateTime<Utc>,
}

/// How a join went.
pub(crate) enum Joined {
    Created(SessionRow),
    /// The player's token named an open session of the same viewer.
    Resumed(SessionRow),
    /// The token names an open session of someone else.
    TokenTaken,
}

fn interval(timeout: std::time::Duration) -> PgInterval {
    PgInterval {
        months: 0,
        days: 0,
        microseconds: i64::try_from(timeout.as_micros()).unwrap_or(i64::MAX),
    }
}

/// Starts a session, or resumes the open one with this token. A session
/// with this token that stopped heartbeating is closed first (as the sweep
/// would): resuming it would count its silence as watching.
pub(crate) async fn join(
    pool: &PgPool,
    stream: Uuid,
    viewer: Option<Uuid>,
    token: &str,
    timeout: std::time::Duration,
) -> Result<Joined, sqlx::Error> {
    sqlx::query(
        "UPDATE live_stream_viewers SET left_at = last_seen_at \
         WHERE stream_id = $1 AND session_token = $2 AND left_at IS NULL \
           AND last_seen_at < now() - $3",
    )
    .bind(stream)
    .bind(token)
    .bind(interval(timeout))
    .execute(pool)
    .await?;
    // `xmax = 0` holds for a row this statement inserted and not for one its
    // ON CONFLICT branch updated: the usual way to tell the two apart.
    let row: Option<(Uuid, String, DateTime<Utc>, bool)> = sqlx::query_as(
        "INSERT INTO live_stream_viewers AS v (stream_id, viewer_id, session_token) \
         VALUES ($1, $2, $3) \
         ON CONFLICT (stream_id, session_token) WHERE left_at IS NULL \
         DO UPDATE SET last_seen_at = GREATEST(now(), v.last_seen_at) \
         WHERE v.viewer_id IS NOT DISTINCT FROM EXCLUDED.viewer_id \
         RETURNING id, session_token, last_seen_at, (xmax = 0) AS created",
    )
    .bind(stream)
    .bind(viewer)
    .bind(token)
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        None => Joined::TokenTaken,
        Some((id, session_token, last_seen_at, created)) => {
            let row = SessionRow {
                id,
                session_token,
                last_seen_at,
            };
            if created {
                Joined::Created(row)
            } else {
                Joined::Resumed(row)
            }
        }
    })
}

/// Keeps an open, unexpired session alive; None if there is none (it never
/// existed, ended, or missed its heartbeats).
pub(crate) async fn heartbeat(
    pool: &PgPool,
    stream: Uuid,
    session: Uuid,
    timeout: std::time::Duration,
) -> Result<Option<SessionRow>, sqlx::Error> {
    sqlx::query_as::<_, SessionRow>(
        "UPDATE live_stream_viewers SET last_seen_at = GREATEST(now(), last_seen_at) \
         WHERE id = $1 AND stream_id = $2 AND left_at IS NULL AND last_seen_at >= now() - $3 \
         RETURNING id, session_token, last_seen_at",
    )
    .bind(session)
    .bind(stream)
    .bind(interval(timeout))
    .fetch_optional(pool)
    .await
}

/// Ends a session. A session that had already stopped heartbeating ends at
/// its last heartbeat, not now. Returns whether the session exists (ending
/// one that already ended changes nothing).
pub(crate) async fn leave(
    pool: &PgPool,
    stream: Uuid,
    session: Uuid,
    timeout: std::time::Duration,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "WITH closed AS ( \
             UPDATE live_stream_viewers \
             SET left_at = CASE WHEN last_seen_at < now() - $3 THEN last_seen_at \
                                ELSE GREATEST(now(), last_seen_at) END \
             WHERE id = $1 AND stream_id = $2 AND left_at IS NULL \
             RETURNING id) \
         SELECT EXISTS (SELECT 1 FROM live_stream_viewers WHERE id = $1 AND stream_id = $2)",
    )
    .bind(session)
    .bind(stream)
    .bind(interval(timeout))
    .fetch_one(pool)
    .await
}

/// The stream's live-session times and the row the sweep keeps.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct StatsRow {
    pub status: StreamStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub current_viewers: Option<i32>,
    pub peak_viewers: Option<i32>,
    pub unique_viewers: Option<i64>,
    pub watch_time_ms: Option<i64>,
    pub broadcast_started_at: Option<DateTime<Utc>>,
    pub broadcast_peak_viewers: Option<i32>,
    pub broadcast_unique_viewers: Option<i64>,
    pub broadcast_watch_time_ms: Option<i64>,
}

pub(crate) async fn stats(pool: &PgPool, stream: Uuid) -> Result<Option<StatsRow>, sqlx::Error> {
    sqlx::query_as::<_, StatsRow>(
        "SELECT s.status, s.started_at, s.ended_at, v.updated_at, v.current_viewers, \
                v.peak_viewers, v.unique_viewers, v.watch_time_ms, v.broadcast_started_at, \
                v.broadcast_peak_viewers, v.broadcast_unique_viewers, v.broadcast_watch_time_ms \
         FROM live_streams s LEFT JOIN stream_viewer_stats v ON v.stream_id = s.id \
         WHERE s.id = $1",
    )
    .bind(stream)
    .fetch_optional(pool)
    .await
}
