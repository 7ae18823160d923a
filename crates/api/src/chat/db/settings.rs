use sqlx::PgPool;
use uuid::Uuid;

use crate::chat::input::SettingsChange;
use crate::chat::view::ChatSettings;

const COLUMNS: &str =
    "chat_slow_mode_seconds AS slow_mode_seconds, chat_banned_words AS banned_words";

pub(crate) async fn find(
    pool: &PgPool,
    stream_id: Uuid,
) -> Result<Option<ChatSettings>, sqlx::Error> {
    sqlx::query_as::<_, ChatSettings>(&format!("SELECT {COLUMNS} FROM live_streams WHERE id = $1"))
        .bind(stream_id)
        .fetch_optional(pool)
        .await
}

/// Absent fields keep their value.
pub(crate) async fn update(
    pool: &PgPool,
    stream_id: Uuid,
    change: &SettingsChange,
) -> Result<Option<ChatSettings>, sqlx::Error> {
    sqlx::query_as::<_, ChatSettings>(&format!(
        "UPDATE live_streams SET \
             chat_slow_mode_seconds = COALESCE($2, chat_slow_mode_seconds), \
             chat_banned_words = COALESCE($3, chat_banned_words) \
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(stream_id)
    .bind(change.slow_mode_seconds)
    .bind(change.banned_words.as_deref())
    .fetch_optional(pool)
    .await
}
