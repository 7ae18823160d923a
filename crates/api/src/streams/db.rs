//! The SQL of the streams API. Who may see or change a stream is decided
//! before these run (`StreamAccess`, or the list's scope); every query that
//! returns streams joins their viewer count, so a stream is one round trip.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::input::{NewStream, StreamChanges};
use crate::access::{StreamStatus, Visibility};
use crate::paging::TimeKey;
use crate::stream_key::NewStreamKey;

/// The columns the API shows (never the key hash) from `s`, a row of
/// `live_streams`, and its viewer count from `v`, its row of
/// `stream_viewer_stats` (none until the first viewer).
macro_rules! select_stream {
    () => {
        "SELECT s.id, s.owner_id, s.title, s.description, s.status, s.visibility, \
         s.stream_key_id, s.settings, s.disabled_at, s.created_at, s.updated_at, \
         s.started_at, s.ended_at, COALESCE(v.current_viewers, 0) AS viewer_count "
    };
}

/// `FROM` a statement `s` that returns whole `live_streams` rows.
macro_rules! from_changed {
    ($change:literal) => {
        concat!(
            "WITH s AS (",
            $change,
            " RETURNING *) ",
            select_stream!(),
            "FROM s LEFT JOIN stream_viewer_stats v ON v.stream_id = s.id"
        )
    };
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct StreamRow {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub title: String,
    pub description: String,
    pub status: StreamStatus,
    pub visibility: Visibility,
    pub stream_key_id: String,
    pub settings: Value,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub viewer_count: i32,
}

/// Whose streams a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListScope {
    /// All of one user's streams: the caller's own.
    Own(Uuid),
    /// One user's public streams.
    PublicOf(Uuid),
    /// Everyone's public streams.
    Public,
}

pub(crate) async fn insert_stream(
    pool: &PgPool,
    owner: Uuid,
    stream: &NewStream,
    key: &NewStreamKey,
) -> Result<StreamRow, sqlx::Error> {
    sqlx::query_as::<_, StreamRow>(from_changed!(
        "INSERT INTO live_streams \
         (owner_id, title, description, visibility, settings, stream_key_id, stream_key_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(owner)
    .bind(&stream.title)
    .bind(&stream.description)
    .bind(stream.visibility)
    .bind(&stream.settings)
    .bind(&key.key_id)
    .bind(&key.secret_hash()[..])
    .fetch_one(pool)
    .await
}

pub(crate) async fn find_stream(pool: &PgPool, id: Uuid) -> Result<Option<StreamRow>, sqlx::Error> {
    sqlx::query_as::<_, StreamRow>(concat!(
        select_stream!(),
        "FROM live_streams s LEFT JOIN stream_viewer_stats v ON v.stream_id = s.id \
         WHERE s.id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Newest first, strictly after `after` in that order. The statement is
/// built per combination of filters, so each is planned on its own: the
/// owner's rows come from `live_streams_owner_created_idx`, everyone's
/// public ones from `live_streams_public_created_idx` (which the literal
/// `visibility = 'public'` matches), and the row comparison with the cursor
/// is a bound on either index rather than a filter.
pub(crate) async fn list_streams(
    pool: &PgPool,
    scope: ListScope,
    status: Option<StreamStatus>,
    after: Option<TimeKey>,
    limit: i64,
) -> Result<Vec<StreamRow>, sqlx::Error> {
    let mut query: QueryBuilder<'_, Postgres> = QueryBuilder::new(concat!(
        select_stream!(),
        "FROM live_streams s LEFT JOIN stream_viewer_stats v ON v.stream_id = s.id WHERE "
    ));
    match scope {
        ListScope::Own(owner) => {
            query.push("s.owner_id = ").push_bind(owner);
        }
        ListScope::PublicOf(owner) => {
            query
                .push("s.owner_id = ")
                .push_bind(owner)
                .push(" AND s.visibility = 'public'");
        }
        ListScope::Public => {
            query.push("s.visibility = 'public'");
        }
    }
    if let Some(status) = status {
        query.push(" AND s.status = ").push_bind(status);
    }
    if let Some((created_at, id)) = after {
        query
            .push(" AND (s.created_at, s.id) < (")
            .push_bind(created_at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    query
        .push(" ORDER BY s.created_at DESC, s.id DESC LIMIT ")
        .push_bind(limit);
    query.build_query_as::<StreamRow>().fetch_all(pool).await
}

/// Applies a PATCH in one statement: fields left out keep their values, and
/// the settings are merged key by key in SQL, so two clients changing
/// different settings at once both win.
pub(crate) async fn update_stream(
    pool: &PgPool,
    id: Uuid,
    changes: &StreamChanges,
) -> Result<Option<StreamRow>, sqlx::Error> {
    let (settings_clear, settings_set) = match &changes.settings {
        Some(change) => (change.clear.clone(), Value::Object(change.set.clone())),
        None => (Vec::new(), Value::Object(serde_json::Map::new())),
    };
    sqlx::query_as::<_, StreamRow>(from_changed!(
        "UPDATE live_streams SET \
         title = COALESCE($2, title), \
         description = COALESCE($3, description), \
         visibility = COALESCE($4, visibility), \
         settings = (settings - $5::text[]) || $6::jsonb \
         WHERE id = $1"
    ))
    .bind(id)
    .bind(&changes.title)
    .bind(&changes.description)
    .bind(changes.visibility)
    .bind(settings_clear)
    .bind(settings_set)
    .fetch_optional(pool)
    .await
}

/// Replaces the stream key: from this commit on, only the new one publishes.
pub(crate) async fn replace_key(
    pool: &PgPool,
    id: Uuid,
    key: &NewStreamKey,
) -> Result<Option<StreamRow>, sqlx::Error> {
    sqlx::query_as::<_, StreamRow>(from_changed!(
        "UPDATE live_streams SET stream_key_id = $2, stream_key_hash = $3 WHERE id = $1"
    ))
    .bind(id)
    .bind(&key.key_id)
    .bind(&key.secret_hash()[..])
    .fetch_optional(pool)
    .await
}

/// Disables (keeping the first `disabled_at`) or enables the stream.
pub(crate) async fn set_disabled(
    pool: &PgPool,
    id: Uuid,
    disabled: bool,
) -> Result<Option<StreamRow>, sqlx::Error> {
    sqlx::query_as::<_, StreamRow>(from_changed!(
        "UPDATE live_streams SET disabled_at = \
         CASE WHEN $2 THEN COALESCE(disabled_at, now()) ELSE NULL END \
         WHERE id = $1"
    ))
    .bind(id)
    .bind(disabled)
    .fetch_optional(pool)
    .await
}

/// What a delete did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Deleted {
    Yes,
    /// Refused: the stream is live and the delete was not forced.
    Live,
    Missing,
}

/// Deletes the stream unless it is live (or `force`). The status is checked
/// by the DELETE itself, so a stream that goes live meanwhile is not lost.
pub(crate) async fn delete_stream(
    pool: &PgPool,
    id: Uuid,
    force: bool,
) -> Result<Deleted, sqlx::Error> {
    let result = sqlx::query("DELETE FROM live_streams WHERE id = $1 AND (status <> 'live' OR $2)")
        .bind(id)
        .bind(force)
        .execute(pool)
        .await?;
    if result.rows_affected() > 0 {
        return Ok(Deleted::Yes);
    }
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM live_streams WHERE id = $1)")
            .bind(id)
            .fetch_one(pool)
            .await?;
    Ok(if exists {
        Deleted::Live
    } else {
        Deleted::Missing
    })
}
