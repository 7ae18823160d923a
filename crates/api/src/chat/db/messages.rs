use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::chat::view::ChatMessage;

const COLUMNS: &str = "id, stream_id, author_id, body, created_at, deleted_at, deleted_by";

/// What decides whether a user may post now, read in one round trip.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct PostGate {
    pub slow_mode_seconds: i32,
    pub banned_words: Vec<String>,
    /// A ban in force.
    pub banned: bool,
    /// Of the ban in force; `None` with `banned` means until lifted.
    pub ban_expires_at: Option<DateTime<Utc>>,
    /// Since the author's last message in this stream, by the database's
    /// clock; only read while slow mode is on.
    pub since_last_message_ms: Option<i64>,
}

/// `None` if the stream is gone. The last message is found through
/// `live_chat_messages_stream_author_idx` (newest first, one row), and
/// only looked up when slow mode is on (CASE does not run the subquery
/// otherwise).
pub(crate) async fn gate(
    pool: &PgPool,
    stream_id: Uuid,
    author: Uuid,
) -> Result<Option<PostGate>, sqlx::Error> {
    sqlx::query_as::<_, PostGate>(
        "SELECT s.chat_slow_mode_seconds AS slow_mode_seconds, \
                s.chat_banned_words AS banned_words, \
                b.user_id IS NOT NULL AS banned, b.expires_at AS ban_expires_at, \
                CASE WHEN s.chat_slow_mode_seconds > 0 THEN ( \
                    SELECT (extract(epoch FROM now() - m.created_at) * 1000)::bigint \
                    FROM live_chat_messages m \
                    WHERE m.stream_id = s.id AND m.author_id = $2 \
                    ORDER BY m.id DESC LIMIT 1) \
                END AS since_last_message_ms \
         FROM live_streams s \
         LEFT JOIN stream_chat_bans b ON b.stream_id = s.id AND b.user_id = $2 \
              AND (b.expires_at IS NULL OR b.expires_at > now()) \
         WHERE s.id = $1",
    )
    .bind(stream_id)
    .bind(author)
    .fetch_optional(pool)
    .await
}

pub(crate) async fn insert(
    pool: &PgPool,
    stream_id: Uuid,
    author: Uuid,
    body: &str,
) -> Result<ChatMessage, sqlx::Error> {
    sqlx::query_as::<_, ChatMessage>(&format!(
        "INSERT INTO live_chat_messages (stream_id, author_id, body) VALUES ($1, $2, $3) \
         RETURNING {COLUMNS}"
    ))
    .bind(stream_id)
    .bind(author)
    .bind(body)
    .fetch_one(pool)
    .await
}

/// Keeps advisory locks of slow mode apart from any other use of the
/// two-key form (the first key); the second is the (stream, author) pair.
const SLOW_MODE_LOCK_CLASS: i32 = 0x6368_6174; // "chat"

/// Inserts unless the author posted within `seconds` (`None` then). The
/// check and the insert run under a lock on (stream, author), so two
/// requests sent at once cannot both pass: a plain `NOT EXISTS` would let
/// both through, as neither sees the other's uncommitted row.
pub(crate) async fn insert_in_slow_mode(
    pool: &PgPool,
    stream_id: Uuid,
    author: Uuid,
    body: &str,
    seconds: i32,
) -> Result<Option<ChatMessage>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2::text || $3::text))")
        .bind(SLOW_MODE_LOCK_CLASS)
        .bind(stream_id)
        .bind(author)
        .execute(&mut *tx)
        .await?;
    // clock_timestamp(), not now(): now() is when the transaction began,
    // which may be before a competitor that held the lock committed.
    let message = sqlx::query_as::<_, ChatMessage>(&format!(
        "INSERT INTO live_chat_messages (stream_id, author_id, body) \
         SELECT $1, $2, $3 WHERE NOT EXISTS ( \
             SELECT 1 FROM live_chat_messages \
             WHERE stream_id = $1 AND author_id = $2 \
               AND created_at > clock_timestamp() - make_interval(secs => $4)) \
         RETURNING {COLUMNS}"
    ))
    .bind(stream_id)
    .bind(author)
    .bind(body)
    .bind(f64::from(seconds))
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(message)
}

pub(crate) async fn find(
    pool: &PgPool,
    stream_id: Uuid,
    id: i64,
) -> Result<Option<ChatMessage>, sqlx::Error> {
    sqlx::query_as::<_, ChatMessage>(&format!(
        "SELECT {COLUMNS} FROM live_chat_messages WHERE stream_id = $1 AND id = $2"
    ))
    .bind(stream_id)
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Newest first, ids below `before`: a backward range scan of
/// `live_chat_messages_stream_idx`. Without a cursor `before` is
/// `i64::MAX`, so there is one statement and it always has its bound.
pub(crate) async fn list(
    pool: &PgPool,
    stream_id: Uuid,
    before: i64,
    include_hidden: bool,
    limit: i64,
) -> Result<Vec<ChatMessage>, sqlx::Error> {
    sqlx::query_as::<_, ChatMessage>(&format!(
        "SELECT {COLUMNS} FROM live_chat_messages \
         WHERE stream_id = $1 AND id < $2 AND ($3 OR deleted_at IS NULL) \
         ORDER BY id DESC LIMIT $4"
    ))
    .bind(stream_id)
    .bind(before)
    .bind(include_hidden)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// What hiding a message did.
pub(crate) enum Hidden {
    /// Hidden now, at this time.
    Now(DateTime<Utc>),
    /// Hidden before (the first moderator's name stays on it).
    Already,
    Missing,
}

pub(crate) async fn hide(
    pool: &PgPool,
    stream_id: Uuid,
    id: i64,
    by: Uuid,
) -> Result<Hidden, sqlx::Error> {
    let hidden_at: Option<DateTime<Utc>> = sqlx::query_scalar(
        "UPDATE live_chat_messages SET deleted_at = now(), deleted_by = $3 \
         WHERE stream_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING deleted_at",
    )
    .bind(stream_id)
    .bind(id)
    .bind(by)
    .fetch_optional(pool)
    .await?;
    if let Some(at) = hidden_at {
        return Ok(Hidden::Now(at));
    }
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM live_chat_messages WHERE stream_id = $1 AND id = $2)",
    )
    .bind(stream_id)
    .bind(id)
    .fetch_one(pool)
    .await?;
    Ok(if exists {
        Hidden::Already
    } else {
        Hidden::Missing
    })
}
