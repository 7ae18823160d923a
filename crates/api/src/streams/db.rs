//! The SQL of the streams API. Every query is scoped to the owner, so a
//! stream of another user is indistinguishable from a missing one.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::cursor::Cursor;
use super::input::NewStream;
use crate::stream_key::NewStreamKey;

/// The columns the API shows; never the key hash.
macro_rules! stream_columns {
    () => {
        "id, title, description, status, stream_key_id, settings, disabled_at, \
         created_at, updated_at, started_at, ended_at"
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type, serde::Serialize, utoipa::ToSchema)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub(crate) enum StreamStatus {
    Idle,
    Live,
    Ended,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct StreamRow {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub status: StreamStatus,
    pub stream_key_id: String,
    pub settings: Value,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl StreamRow {
    pub fn cursor(&self) -> Cursor {
        Cursor {
            created_at: self.created_at,
            id: self.id,
        }
    }
}

pub(crate) async fn insert_stream(
    pool: &PgPool,
    owner: Uuid,
    stream: &NewStream,
    key: &NewStreamKey,
) -> Result<StreamRow, sqlx::Error> {
    sqlx::query_as::<_, StreamRow>(concat!(
        "INSERT INTO live_streams \
         (owner_id, title, description, settings, stream_key_id, stream_key_hash) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
        stream_columns!()
    ))
    .bind(owner)
    .bind(&stream.title)
    .bind(&stream.description)
    .bind(stream.settings.to_stored())
    .bind(&key.key_id)
    .bind(&key.secret_hash()[..])
    .fetch_one(pool)
    .await
}

pub(crate) async fn find_stream(
    pool: &PgPool,
    owner: Uuid,
    id: Uuid,
) -> Result<Option<StreamRow>, sqlx::Error> {
    sqlx::query_as::<_, StreamRow>(concat!(
        "SELECT ",
        stream_columns!(),
        " FROM live_streams WHERE id = $1 AND owner_id = $2"
    ))
    .bind(id)
    .bind(owner)
    .fetch_optional(pool)
    .await
}

/// Newest first, strictly after `after` in that order. Two statements, not
/// one with `$2 IS NULL OR …`: a generic plan of the combined form cannot
/// use the cursor as an index bound, while the row comparison here matches
/// the index order (owner_id, created_at DESC, id DESC) and is a range scan.
pub(crate) async fn list_streams(
    pool: &PgPool,
    owner: Uuid,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Vec<StreamRow>, sqlx::Error> {
    match after {
        None => {
            sqlx::query_as::<_, StreamRow>(concat!(
                "SELECT ",
                stream_columns!(),
                " FROM live_streams WHERE owner_id = $1 \
                 ORDER BY created_at DESC, id DESC LIMIT $2"
            ))
            .bind(owner)
            .bind(limit)
            .fetch_all(pool)
            .await
        }
        Some(after) => {
            sqlx::query_as::<_, StreamRow>(concat!(
                "SELECT ",
                stream_columns!(),
                " FROM live_streams WHERE owner_id = $1 AND (created_at, id) < ($2, $3) \
                 ORDER BY created_at DESC, id DESC LIMIT $4"
            ))
            .bind(owner)
            .bind(after.created_at)
            .bind(after.id)
            .bind(limit)
            .fetch_all(pool)
            .await
        }
    }
}
