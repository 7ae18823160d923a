//! Listing, reading and deleting recordings: the owner and co-hosts only.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use nova_dvr::index;
use uuid::Uuid;

use super::view::{RecordingPage, RecordingView};
use crate::access::{Permission, StreamAccess};
use crate::auth::MaybeUser;
use crate::error::{ApiError, DbResultExt};
use crate::extract::{path, query};
use crate::paging::{self, ListTag, PageParams};
use crate::state::AppState;

/// The stream's recordings, newest first: one per broadcast (a publisher
/// reconnecting within the reconnect window continues the same one).
#[utoipa::path(get, path = "/api/v1/streams/{id}/recordings", tag = "recordings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)"), PageParams),
    responses((status = 200, description = "A page of recordings", body = RecordingPage)))]
pub(crate) async fn list_recordings(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    id: Result<Path<String>, PathRejection>,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Result<Json<RecordingPage>, ApiError> {
    let id = path(id)?;
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ManageRecordings)?;
    let list = ListTag::of(&format!("recordings:{}", access.stream_id));
    let page = query(params)?.parse(list, paging::DEFAULT_LIMIT)?;
    let rows = index::recordings_of_stream(&state.pool, access.stream_id, page.after, page.fetch())
        .await
        .db_err("listing recordings")?;
    let (rows, next_cursor) = page.page(rows, |row| (row.started_at, row.id));
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
        .db_err("deleting a recording")?;
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
        .db_err("reading a recording")?
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
        .db_err("reading a recording's renditions")?
        .into_iter()
        .map(|r| r.rendition)
        .collect();
    Ok(RecordingView::new(row, renditions, &state.config))
}
