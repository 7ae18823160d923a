//! `POST /api/v1/streams/{id}/clips`: a range of a recording (or of the live
//! stream's DVR window) as VOD, over the segments already stored.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use nova_dvr::index::{self, RecordingState};
use serde::Deserialize;
use uuid::Uuid;

use super::view::{ClipPlayback, ClipView};
use crate::access::{Permission, StreamAccess};
use crate::auth::MaybeUser;
use crate::error::{ApiError, DbResultExt, FieldError};
use crate::extract::path;
use crate::json::ApiJson;
use crate::state::AppState;

/// The longest clip: longer ranges are what the recording itself is for.
const MAX_CLIP_MS: i64 = 3 * 3600 * 1000;
const MAX_TITLE_CHARS: usize = 200;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClipBody {
    /// The recording to clip; absent: the stream's recording in progress
    /// (its DVR window), or else its latest recording.
    recording_id: Option<Uuid>,
    /// Start, in milliseconds from the start of the recording.
    #[schema(minimum = 0)]
    start_ms: i64,
    /// End (exclusive), in milliseconds from the start of the recording;
    /// at most 3 hours after `start_ms`.
    #[schema(minimum = 1)]
    end_ms: i64,
    #[schema(max_length = 200)]
    title: Option<String>,
}

/// Creates a clip. It plays at once: its playlists list the recording's own
/// segments, widened to the keyframes around the range, with nothing
/// re-encoded. Owner and co-hosts only.
#[utoipa::path(post, path = "/api/v1/streams/{id}/clips", tag = "recordings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)")),
    request_body = ClipBody,
    responses(
        (status = 201, description = "The clip; `Location` is its playlist", body = ClipView,
            headers(("Location" = String, description = "The clip's HLS playlist"))),
        (status = 409, description = "The stream has no recording, or nothing of it is stored \
            yet", body = crate::error::ProblemDocument, content_type = "application/problem+json"),
    ))]
pub(crate) async fn create_clip(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    id: Result<Path<String>, PathRejection>,
    body: Result<ApiJson<ClipBody>, ApiError>,
) -> Result<Response, ApiError> {
    let id = path(id)?;
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ManageRecordings)?;
    let ApiJson(body) = body?;
    let title = validate(&body)?;
    let recording = pick_recording(&state, access.stream_id, body.recording_id).await?;
    // The range must be in what is stored: the source rendition (or the
    // first there is) says how long that is.
    let renditions = index::renditions(&state.pool, recording)
        .await
        .db_err("reading a recording's renditions")?;
    let Some(first) = renditions.first() else {
        return Err(ApiError::Conflict(
            "nothing of this recording is stored yet".to_owned(),
        ));
    };
    let rows = index::segments(&state.pool, recording, &first.rendition)
        .await
        .db_err("reading a recording")?;
    let stored_ms: i64 = rows.iter().map(|row| i64::from(row.duration_ms)).sum();
    if body.start_ms >= stored_ms {
        return Err(ApiError::Validation(vec![FieldError::new(
            &["start_ms"],
            format!("the recording has {stored_ms} ms stored: start inside it"),
        )]));
    }
    let clipped = index::clip_segments(&rows, body.start_ms, body.end_ms);
    let (playable_start_ms, playable_end_ms) =
        index::playable_range(&rows, clipped).unwrap_or((body.start_ms, body.end_ms));
    let caller = caller.ok_or(ApiError::MissingToken)?;
    let row = index::insert_clip(
        &state.pool,
        access.stream_id,
        recording,
        caller,
        &title,
        (body.start_ms, body.end_ms),
    )
    .await
    .db_err("creating a clip")?;
    let hls_url = format!("{}/clips/{}/master.m3u8", state.config.base_url(), row.id);
    let view = ClipView {
        id: row.id,
        stream_id: row.stream_id,
        recording_id: row.recording_id,
        title: row.title,
        start_ms: row.start_ms,
        end_ms: row.end_ms,
        playable_start_ms,
        playable_end_ms,
        created_at: row.created_at,
        playback: ClipPlayback {
            hls_url: hls_url.clone(),
        },
    };
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, hls_url)],
        Json(view),
    )
        .into_response())
}

fn validate(body: &ClipBody) -> Result<String, ApiError> {
    let mut errors = Vec::new();
    if body.start_ms < 0 {
        errors.push(FieldError::new(&["start_ms"], "must be 0 or more"));
    }
    if body.end_ms <= body.start_ms {
        errors.push(FieldError::new(&["end_ms"], "must be after start_ms"));
    } else if body.end_ms - body.start_ms > MAX_CLIP_MS {
        errors.push(FieldError::new(
            &["end_ms"],
            "a clip is at most 3 hours long",
        ));
    }
    let title = body.title.clone().unwrap_or_default();
    if title.chars().count() > MAX_TITLE_CHARS {
        errors.push(FieldError::new(&["title"], "at most 200 characters"));
    }
    if errors.is_empty() {
        Ok(title)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// The recording asked for (it must be this stream's), or the one in
/// progress, or the latest.
async fn pick_recording(
    state: &AppState,
    stream: Uuid,
    asked: Option<Uuid>,
) -> Result<Uuid, ApiError> {
    if let Some(id) = asked {
        let row = index::recording(&state.pool, id)
            .await
            .db_err("finding a recording")?;
        return match row {
            Some(row)
                if row.stream_id == stream
                    && matches!(
                        row.state,
                        RecordingState::Recording | RecordingState::Complete
                    ) =>
            {
                Ok(row.id)
            }
            _ => Err(ApiError::Validation(vec![FieldError::new(
                &["recording_id"],
                "no playable recording of this stream has that id",
            )])),
        };
    }
    let latest = index::recordings_of_stream(&state.pool, stream, None, 1)
        .await
        .db_err("finding a recording")?;
    latest
        .into_iter()
        .find(|row| {
            matches!(
                row.state,
                RecordingState::Recording | RecordingState::Complete
            )
        })
        .map(|row| row.id)
        .ok_or_else(|| ApiError::Conflict("this stream has no recording to clip".to_owned()))
}
