//! The owner's controls: delete, reset the key, disable and enable, end
//! the broadcast. Those that touch a live broadcast go through
//! `state.live`, the running ingest.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use nova_media::StreamId;
use serde::Deserialize;

use super::body::OptionalJson;
use super::db::{self, Deleted};
use super::handlers::{KEY_ATTEMPTS, gone, is_key_id_collision, load_view};
use super::input::ResetStreamKeyBody;
use super::view::{Audience, StreamView, StreamWithKey};
use crate::access::StreamStatus;
use crate::access::{Permission, StreamAccess};
use crate::auth::MaybeUser;
use crate::error::{ApiError, DbResultExt};
use crate::state::AppState;
use crate::stream_key::NewStreamKey;
use crate::stream_status::mark_stream_ended;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeleteParams {
    /// Delete even while live: the encoder is disconnected and the
    /// broadcast ends first.
    force: Option<bool>,
}

/// Deletes the stream with its chat, hosts and viewer sessions. Refused
/// while it is live (end it first, or pass `force=true`), and for streams
/// with super chats or recordings, which must be kept: disable those.
#[utoipa::path(delete, path = "/api/v1/streams/{id}", tag = "streams",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)"), DeleteParams),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "The stream is live, or has super chats or recordings that must be kept",
            body = crate::error::ProblemDocument, content_type = "application/problem+json"),
    ))]
pub(crate) async fn delete_stream(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    Path(id): Path<String>,
    params: Result<Query<DeleteParams>, QueryRejection>,
) -> Result<StatusCode, ApiError> {
    let params = crate::extract::query(params)?;
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ManageStream)?;
    let force = params.force.unwrap_or(false);
    match db::delete_stream(&state.pool, access.stream_id, force)
        .await
        .db_err_deleting("deleting a stream")?
    {
        Deleted::Yes => {}
        Deleted::Live => {
            return Err(ApiError::Conflict(format!(
                "the stream is live: end the broadcast first (POST /api/v1/streams/{}/end), \
                 or delete with ?force=true to disconnect the encoder and delete at once",
                access.stream_id
            )));
        }
        Deleted::Missing => return Err(gone(access.stream_id)),
    }
    // After the delete, not before: a refused delete must not cut a live
    // broadcast. Its key is gone with the row, so the encoder cannot return.
    let stream = StreamId(access.stream_id);
    if state.live.disconnect_publisher(stream, true) {
        tracing::info!(%stream, "publisher of a deleted stream disconnected");
    }
    tracing::info!(%stream, force, "stream deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Issues a new stream key, shown in this response only. The old key stops
/// working for new publishes at once, and the encoder publishing with it
/// is disconnected unless `disconnect_publisher` is false.
#[utoipa::path(post, path = "/api/v1/streams/{id}/reset-stream-key", tag = "streams",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)")),
    request_body(content = Option<ResetStreamKeyBody>, description = "Optional"),
    responses(
        (status = 200, description = "The stream and its new key", body = StreamWithKey),
        (status = 409, description = "A key collision; retry", body = crate::error::ProblemDocument,
            content_type = "application/problem+json"),
    ))]
pub(crate) async fn reset_stream_key(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<ResetStreamKeyBody>,
) -> Result<Json<StreamWithKey>, ApiError> {
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ManageStream)?;
    let mut attempt = 1;
    let (row, key) = loop {
        let key = NewStreamKey::generate();
        match db::replace_key(&state.pool, access.stream_id, &key).await {
            Ok(Some(row)) => break (row, key),
            Ok(None) => return Err(gone(access.stream_id)),
            Err(error) if attempt < KEY_ATTEMPTS && is_key_id_collision(&error) => {
                tracing::warn!(attempt, "stream key id collided; issuing another");
                attempt += 1;
            }
            Err(error) => return Err(ApiError::from_db("resetting a stream key", error)),
        }
    };
    let stream = StreamId(row.id);
    let disconnected = body.disconnect_publisher && state.live.disconnect_publisher(stream, false);
    tracing::info!(%stream, key = ?key, disconnected, "stream key reset");
    Ok(Json(StreamWithKey {
        stream: StreamView::new(row, &state, Audience::of(&access)),
        stream_key: key.reveal(),
    }))
}

/// Disables the stream: its key is refused until it is enabled again, and
/// a live broadcast ends now.
#[utoipa::path(post, path = "/api/v1/streams/{id}/disable", tag = "streams",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)")),
    responses((status = 200, description = "The stream, disabled", body = StreamView)))]
pub(crate) async fn disable_stream(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    Path(id): Path<String>,
) -> Result<Json<StreamView>, ApiError> {
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ManageStream)?;
    let row = db::set_disabled(&state.pool, access.stream_id, true)
        .await
        .db_err("disabling a stream")?
        .ok_or_else(|| gone(access.stream_id))?;
    // The ingest is asked even when the row is not live yet: a publisher
    // accepted a moment ago may not have been recorded as live.
    let ended = end_broadcast(&state, StreamId(row.id), row.status).await?;
    tracing::info!(stream = %row.id, ended, "stream disabled");
    if ended {
        return load_view(&state, &access).await.map(Json);
    }
    Ok(Json(StreamView::new(row, &state, Audience::of(&access))))
}

/// Enables a disabled stream: its key publishes again.
#[utoipa::path(post, path = "/api/v1/streams/{id}/enable", tag = "streams",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)")),
    responses((status = 200, description = "The stream, enabled", body = StreamView)))]
pub(crate) async fn enable_stream(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    Path(id): Path<String>,
) -> Result<Json<StreamView>, ApiError> {
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ManageStream)?;
    let row = db::set_disabled(&state.pool, access.stream_id, false)
        .await
        .db_err("enabling a stream")?
        .ok_or_else(|| gone(access.stream_id))?;
    tracing::info!(stream = %row.id, "stream enabled");
    Ok(Json(StreamView::new(row, &state, Audience::of(&access))))
}

/// Ends the live broadcast now: the encoder is disconnected and the
/// playlist ends, without waiting for the reconnect window. The encoder may
/// publish again later (disable the stream to prevent that).
#[utoipa::path(post, path = "/api/v1/streams/{id}/end", tag = "streams",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)")),
    responses(
        (status = 200, description = "The stream, ended", body = StreamView),
        (status = 409, description = "The stream is not live", body = crate::error::ProblemDocument,
            content_type = "application/problem+json"),
    ))]
pub(crate) async fn end_stream(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    Path(id): Path<String>,
) -> Result<Json<StreamView>, ApiError> {
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ManageStream)?;
    if !end_broadcast(&state, StreamId(access.stream_id), access.status).await? {
        return Err(ApiError::Conflict(format!(
            "the stream is {}, not live: there is no broadcast to end",
            access.status.as_str()
        )));
    }
    tracing::info!(stream = %access.stream_id, "broadcast ended on request");
    load_view(&state, &access).await.map(Json)
}

/// Ends the stream's broadcast, if it has one (a publisher on the ingest,
/// or `status` live), and returns whether it had. The end is written here
/// rather than left to the server's status writer alone, so the response
/// and the next read already say `ended`; the writer's own write of the
/// same change then finds nothing left to do.
async fn end_broadcast(
    state: &AppState,
    stream: StreamId,
    status: StreamStatus,
) -> Result<bool, ApiError> {
    let had_publisher = state.live.disconnect_publisher(stream, true);
    if !had_publisher && status != StreamStatus::Live {
        return Ok(false);
    }
    mark_stream_ended(&state.pool, stream)
        .await
        .db_err("recording the end of a broadcast")?;
    Ok(true)
}
