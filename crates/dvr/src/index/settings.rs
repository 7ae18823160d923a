//! What a stream's settings say about its recordings. The API validates and
//! writes `live_streams.settings`; the catalog reads the keys that concern
//! recordings (`recording_retention_days` in [`super::finish_recording`]).

use sqlx::PgPool;
use uuid::Uuid;

/// The stream's `dvr_window_seconds`: `None` if there is no such stream,
/// `Some(None)` if it does not set one (the server's default applies).
pub async fn dvr_window_seconds(
    pool: &PgPool,
    stream: Uuid,
) -> Result<Option<Option<i32>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT CASE WHEN jsonb_typeof(settings -> 'dvr_window_seconds') = 'number' \
                THEN (settings ->> 'dvr_window_seconds')::int END \
         FROM live_streams WHERE id = $1",
    )
    .bind(stream)
    .fetch_optional(pool)
    .await
}
