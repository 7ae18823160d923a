use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use uuid::Uuid;

use super::cursor::Cursor;
use super::db;
use super::input::CreateStreamBody;
use super::view::{CreatedStream, StreamPage, StreamView};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::state::AppState;
use crate::stream_key::NewStreamKey;

/// Key ids are 71 random bits, so a collision is astronomically rare; it
/// still must not surface as an error, hence a few fresh keys before giving up.
const KEY_ATTEMPTS: usize = 3;
const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;

/// Creates a stream owned by the caller. The response is the only one that
/// carries the whole stream key.
#[utoipa::path(post, path = "/api/v1/streams", tag = "streams",
    security(("bearer" = [])),
    request_body = CreateStreamBody,
    responses(
        (status = 201, description = "Created; `Location` names it", body = CreatedStream,
            headers(("Location" = String, description = "The stream's URL"))),
        (status = 409, description = "A key collision; retry", body = crate::error::ProblemDocument,
            content_type = "application/problem+json"),
    ))]
pub(crate) async fn create_stream(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    ApiJson(body): ApiJson<CreateStreamBody>,
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
    let created = CreatedStream {
        stream: StreamView::new(row, &state.config),
        stream_key: key.reveal(),
    };
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(created),
    ))
}

fn is_key_id_collision(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|db| db.constraint())
        .is_some_and(|name| name == "live_streams_stream_key_id_key")
}

/// One of your streams.
#[utoipa::path(get, path = "/api/v1/streams/{id}", tag = "streams",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)")),
    responses((status = 200, description = "The stream", body = StreamView)))]
pub(crate) async fn get_stream(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<StreamView>, ApiError> {
    // Not a UUID, not yours, or not there: the same 404, so ids do not leak.
    let not_found = || ApiError::NotFound(format!("no stream {id:?} among your streams"));
    let stream_id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    let row = db::find_stream(&state.pool, owner, stream_id)
        .await
        .map_err(|error| ApiError::from_db("loading a stream", error))?
        .ok_or_else(not_found)?;
    Ok(Json(StreamView::new(row, &state.config)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Page size, 1 to 100 (default 20).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Your streams, newest first.
#[utoipa::path(get, path = "/api/v1/streams", tag = "streams",
    security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, description = "A page of streams", body = StreamPage)))]
pub(crate) async fn list_streams(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<StreamPage>, ApiError> {
    let Query(params) = params.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let limit = params.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_PAGE} (it was {limit})"
        )));
    }
    let after = match params.cursor.as_deref() {
        None | Some("") => None,
        Some(text) => Some(Cursor::decode(text).ok_or_else(|| {
            ApiError::BadRequest(
                "cursor is not one this API issued: pass `next_cursor` from the previous page unchanged"
                    .to_owned(),
            )
        })?),
    };
    // One row more than the page tells whether another page follows.
    let mut rows = db::list_streams(&state.pool, owner, after, i64::from(limit) + 1)
        .await
        .map_err(|error| ApiError::from_db("listing streams", error))?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = more
        .then(|| rows.last().map(|row| row.cursor().encode()))
        .flatten();
    let items = rows
        .into_iter()
        .map(|row| StreamView::new(row, &state.config))
        .collect();
    Ok(Json(StreamPage { items, next_cursor }))
}
