use sqlx::PgPool;
use uuid::Uuid;

use crate::chat::input::NewBan;
use crate::chat::view::ChatBan;
use crate::paging::TimeKey;

const COLUMNS: &str = "stream_id, user_id, banned_by, reason, created_at, expires_at";
/// Lifted by time: expired rows stay until replaced or deleted, and count
/// as no ban.
const IN_FORCE: &str = "(expires_at IS NULL OR expires_at > now())";

/// Bans `ban.user_id`, replacing a ban they already have (a new reason or
/// length, counted from now). `None` if they host the stream: hosts are
/// removed as hosts first, not banned while they moderate.
pub(crate) async fn upsert(
    pool: &PgPool,
    stream_id: Uuid,
    by: Uuid,
    ban: &NewBan,
) -> Result<Option<ChatBan>, sqlx::Error> {
    sqlx::query_as::<_, ChatBan>(&format!(
        "INSERT INTO stream_chat_bans (stream_id, user_id, banned_by, reason, expires_at) \
         SELECT $1, $2, $3, $4, now() + make_interval(secs => $5) \
         WHERE NOT EXISTS ( \
             SELECT 1 FROM stream_hosts h WHERE h.stream_id = $1 AND h.user_id = $2 \
               AND h.accepted_at IS NOT NULL AND h.revoked_at IS NULL AND h.declined_at IS NULL) \
         ON CONFLICT (stream_id, user_id) DO UPDATE SET \
             banned_by = EXCLUDED.banned_by, reason = EXCLUDED.reason, \
             created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at \
         RETURNING {COLUMNS}"
    ))
    .bind(stream_id)
    .bind(ban.user_id)
    .bind(by)
    .bind(&ban.reason)
    .bind(ban.duration_seconds.map(|seconds| seconds as f64))
    .fetch_optional(pool)
    .await
}

pub(crate) async fn find(
    pool: &PgPool,
    stream_id: Uuid,
    user_id: Uuid,
) -> Result<Option<ChatBan>, sqlx::Error> {
    sqlx::query_as::<_, ChatBan>(&format!(
        "SELECT {COLUMNS} FROM stream_chat_bans \
         WHERE stream_id = $1 AND user_id = $2 AND {IN_FORCE}"
    ))
    .bind(stream_id)
    .bind(user_id)
    .fetch_optional(pool)
    .await
}

/// Bans in force, newest first, after `after`: a range scan of
/// `stream_chat_bans_stream_created_idx`. Two statements rather than one
/// with `$2 IS NULL OR …`, whose generic plan could not use the cursor as
/// an index bound.
pub(crate) async fn list(
    pool: &PgPool,
    stream_id: Uuid,
    after: Option<TimeKey>,
    limit: i64,
) -> Result<Vec<ChatBan>, sqlx::Error> {
    match after {
        None => {
            sqlx::query_as::<_, ChatBan>(&format!(
                "SELECT {COLUMNS} FROM stream_chat_bans WHERE stream_id = $1 AND {IN_FORCE} \
                 ORDER BY created_at DESC, user_id DESC LIMIT $2"
            ))
            .bind(stream_id)
            .bind(limit)
            .fetch_all(pool)
            .await
        }
        Some((created_at, user_id)) => {
            sqlx::query_as::<_, ChatBan>(&format!(
                "SELECT {COLUMNS} FROM stream_chat_bans WHERE stream_id = $1 AND {IN_FORCE} \
                 AND (created_at, user_id) < ($2, $3) \
                 ORDER BY created_at DESC, user_id DESC LIMIT $4"
            ))
            .bind(stream_id)
            .bind(created_at)
            .bind(user_id)
            .bind(limit)
            .fetch_all(pool)
            .await
        }
    }
}

/// Lifts the ban: whether one was in force. An expired row goes too.
pub(crate) async fn delete(
    pool: &PgPool,
    stream_id: Uuid,
    user_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let in_force: Option<bool> = sqlx::query_scalar(&format!(
        "DELETE FROM stream_chat_bans WHERE stream_id = $1 AND user_id = $2 \
         RETURNING {IN_FORCE}"
    ))
    .bind(stream_id)
    .bind(user_id)
    .fetch_optional(pool)
    .await?;
    Ok(in_force == Some(true))
}
