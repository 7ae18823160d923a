//! Creating, reading and editing a stream.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::body::Object;
use super::db;
use super::input::{CreateStreamBody, UpdateStreamBody};
use super::view::{Audience, StreamView, StreamWithKey};
use crate::access::{Permission, StreamAccess};
use crate::auth::{AuthUser, MaybeUser};
use crate::error::{ApiError, DbResultExt};
use crate::json::ApiJson;
use crate::state::AppState;
use crate::stream_key::NewStreamKey;

/// Key ids are 71 random bits, so a collision is astronomically rare; it
/// still must not surface as an error, hence a few fresh keys before giving up.
pub(super) const KEY_ATTEMPTS: usize = 3;

/// Creates a stream owned by the caller. The response is one of the two
/// (with resetting the key) that carry the whole stream key.
#[utoipa::path(post, path = "/api/v1/streams", tag = "streams",
    security(("bearer" = [])),
    request_body = CreateStreamBody,
    responses(
        (status = 201, description = "Created; `Location` names it", body = StreamWithKey,
            headers(("Location" = String, description = "The stream's URL"))),
        (status = 409, description = "A key collision; retry", body = crate::error::ProblemDocument,
            content_type = "application/problem+json"),
    ))]
pub(crate) async fn create_stream(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    ApiJson(Object(body)): ApiJson<Object<CreateStreamBody>>,
) -> Result<impl IntoResponse, ApiError> {
    let new = body.validate()?;
    let mut attempt = 1;
    let (row, key) = loop {
        let key = NewStreamKey::generate();
        match db::insert_stream(&state.pool, owner, &new, &key).await {
            Ok(row) => break (row, key),
            Err(error) if attempt < KEY_ATTEMPTS && is_key_id_collision(&error) => {
                tracing::warn!(attempt, "stream key id collided; issuing another");
                attempt += 1;
            }
            Err(error) => return Err(ApiError::from_db("creating a stream", error)),
        }
    };
    tracing::info!(stream = %row.id, %owner, key = ?key, "stream created");
    let location = format!("/api/v1/streams/{}", row.id);
    let created = StreamWithKey {
        stream: StreamView::new(row, &state, Audience::Owner),
        stream_key: key.reveal(),
    };
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(created),
    ))
}

pub(super) fn is_key_id_collision(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|db| db.constraint())
        .is_some_and(|name| name == "live_streams_stream_key_id_key")
}

/// A stream: status, playback URL, viewer count and ingest health for
/// anyone who can see it; its owner also gets `ingest` and `settings`.
#[utoipa::path(get, path = "/api/v1/streams/{id}", tag = "streams",
    security((), ("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)")),
    responses((status = 200, description = "The stream", body = StreamView)))]
pub(crate) async fn get_stream(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    Path(id): Path<String>,
) -> Result<Json<StreamView>, ApiError> {
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ReadStream)?;
    load_view(&state, &access).await.map(Json)
}

/// Changes what the body names. The owner and co-hosts may change `title`
/// and `description`; only the owner `visibility` and `settings`.
#[utoipa::path(patch, path = "/api/v1/streams/{id}", tag = "streams",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)")),
    request_body = UpdateStreamBody,
    responses((status = 200, description = "The stream as changed", body = StreamView)))]
pub(crate) async fn update_stream(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    Path(id): Path<String>,
    ApiJson(Object(body)): ApiJson<Object<UpdateStreamBody>>,
) -> Result<Json<StreamView>, ApiError> {
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    // The narrower permission first, so a refusal names what was refused.
    if body.changes_settings() {
        access.require(Permission::EditStreamSettings)?;
    }
    access.require(Permission::EditStreamDetails)?;
    let changes = body.validate()?;
    let row = db::update_stream(&state.pool, access.stream_id, &changes)
        .await
        .db_err("updating a stream")?
        .ok_or_else(|| gone(access.stream_id))?;
    tracing::info!(stream = %row.id, caller = ?caller, "stream updated");
    Ok(Json(StreamView::new(row, &state, Audience::of(&access))))
}

/// The stream as `access` may see it, read again (after a change).
pub(super) async fn load_view(
    state: &AppState,
    access: &StreamAccess,
) -> Result<StreamView, ApiError> {
    let row = db::find_stream(&state.pool, access.stream_id)
        .await
        .db_err("loading a stream")?
        .ok_or_else(|| gone(access.stream_id))?;
    Ok(StreamView::new(row, state, Audience::of(access)))
}

/// Deleted between the access check and the statement that needed it.
pub(super) fn gone(id: uuid::Uuid) -> ApiError {
    ApiError::NotFound(format!("no stream \"{id}\": it was just deleted"))
}
