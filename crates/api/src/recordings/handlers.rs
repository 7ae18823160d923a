//! Listing, reading and deleting recordings: the owner and co-hosts only.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use nova_dvr::index;
use serde::Deserialize;
use uuid::Uuid;

use super::view::{RecordingPage, RecordingView};
use crate::access::{Permission, StreamAccess};
use crate::auth::MaybeUser;
use crate::error::ApiError;
use crate::extract::{page_size, path, query};
use crate::state::AppState;
use crate::streams::{Cursor, QueryTag};

const DEFAULT_PAGE: u32 = 20;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The stream's recordings, newest first: one per broadcast (a publisher
/// reconnecting within the reconnect window continues the same one).
#[utoipa::path(get, path = "/api/v1/streams/{id}/recordings", tag = "recordings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)"), ListParams),
    responses((status = 200, description = "A page of recordings", body = RecordingPage)))]
pub(crate) async fn list_recordings(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    id: Result<Path<String>, PathRejection>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<RecordingPage>, ApiError> {
    let id = path(id)?;
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ManageRecordings)?;
    let params = query(params)?;
    let limit = page_size(params.limit, DEFAULT_PAGE)?;
    // The shared keyset cursor, tagged with this stream's list so a cursor
    // from another list is refused rather than silently misread.
    let list = QueryTag::of(&format!("recordings:{}", access.stream_id));
    let before = match params.cursor.as_deref() {
        None | Some("") => None,
        Some(text) => Some(
            Cursor::decode(text)
                .filter(|cursor| cursor.query == list)
                .ok_or_else(|| {
                    ApiError::BadRequest(
                        "cursor is not one this list issued: pass `next_cursor` from the \
                         previous page unchanged"
                            .to_owned(),
                    )
                })?,
        ),
    };
    let mut rows = index::recordings_of_stream(
        &state.pool,
        access.stream_id,
        before.map(|cursor| (cursor.created_at, cursor.id)),
        i64::from(limit) + 1,
    )
    .await
    .map_err(|error| ApiError::from_db("listing recordings", error))?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = more
        .then(|| {
            rows.last().map(|row| {
                Cursor {
                    created_at: row.started_at,
                    id: row.id,
                    query: list,
                }
                .encode()
            })
        })
        .flatten();
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        items.push(view(&state, row).await?);
    }
    Ok(Json(RecordingPage { items, next_cursor }))
}

/// One recording: its state, duration, size, renditions and playback URL.
#[utoipa::path(get, path = "/api/v1/recordings/{id}", tag = "recordings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The recording id (a UUID)")),
    responses((status = 200, description = "The recording", body = RecordingView)))]
pub(crate) async fn get_recording(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<RecordingView>, ApiError> {
    let row = load(&state, caller, &path(id)?).await?;
    Ok(Json(view(&state, row).await?))
}

/// Deletes a finished recording: its objects in storage, then its rows and
/// clips. A recording still being made cannot be deleted (end the stream
/// first). If storage is unreachable the recording is hidden at once and
/// its objects are removed by the retention task once storage is back.
#[utoipa::path(delete, path = "/api/v1/recordings/{id}", tag = "recordings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The recording id (a UUID)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 202, description = "Hidden; storage is unreachable, its objects go later"),
        (status = 409, description = "Still being made: end the stream first",
            body = crate::error::ProblemDocument, content_type = "application/problem+json"),
    ))]
pub(crate) async fn delete_recording(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let row = load(&state, caller, &path(id)?).await?;
    let store = state.recording_store()?;
    let marked = index::mark_deleting(&state.pool, row.id)
        .await
        .map_err(|error| ApiError::from_db("deleting a recording", error))?;
    if !marked {
        return Err(ApiError::Conflict(
            "the recording is still being made: end the stream first".to_owned(),
        ));
    }
    match nova_dvr::delete_recording(&state.pool, store.as_ref(), row.id).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(nova_dvr::DeleteError::Store(error)) => {
            tracing::warn!(recording = %row.id, "recording hidden; its objects stay until storage answers: {error}");
            Ok(StatusCode::ACCEPTED)
        }
        Err(nova_dvr::DeleteError::Index(error)) => {
            Err(ApiError::from_db("deleting a recording", error))
        }
    }
}

/// The recording, if the caller may manage its stream's recordings.
async fn load(
    state: &AppState,
    caller: Option<Uuid>,
    id: &str,
) -> Result<index::RecordingRow, ApiError> {
    let not_found = || ApiError::NotFound(format!("no recording {id:?}"));
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    let row = index::recording(&state.pool, id)
        .await
        .map_err(|error| ApiError::from_db("reading a recording", error))?
        .filter(|row| row.state != index::RecordingState::Deleting)
        .ok_or_else(not_found)?;
    let access = StreamAccess::load(&state.pool, &row.stream_id.to_string(), caller)
        .await
        .map_err(|error| match error {
            ApiError::NotFound(_) => not_found(),
            other => other,
        })?;
    access.require(Permission::ManageRecordings)?;
    Ok(row)
}

async fn view(state: &AppState, row: index::RecordingRow) -> Result<RecordingView, ApiError> {
    let renditions = index::renditions(&state.pool, row.id)
        .await
        .map_err(|error| ApiError::from_db("reading a recording's renditions", error))?
        .into_iter()
        .map(|r| r.rendition)
        .collect();
    Ok(RecordingView::new(row, renditions, &state.config))
}
