use std::time::Instant;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::db::{self, Joined, SessionRow};
use super::input::JoinBody;
use super::view::{BroadcastViewerTotals, StreamViewerTotals, ViewerSession, ViewerStats};
use crate::access::StreamStatus;
use crate::access::{Permission, StreamAccess};
use crate::auth::MaybeUser;
use crate::client_address::ClientAddress;
use crate::error::{ApiError, DbResultExt};
use crate::state::AppState;

/// Starts watching a stream (signed in or not). Sessions count as viewers
/// until they leave or miss their heartbeats for the server's session
/// timeout. Joining again with the `session_token` of an open session
/// resumes it (200) rather than counting the viewer twice.
#[utoipa::path(post, path = "/api/v1/streams/{id}/viewers", tag = "viewers",
    security((), ("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)")),
    request_body(content = Option<JoinBody>,
        description = "Optional: without a body the server picks the session token."),
    responses(
        (status = 201, description = "A new session; `Location` names it", body = ViewerSession,
            headers(("Location" = String, description = "The session's URL"))),
        (status = 200, description = "The open session with this token, resumed", body = ViewerSession),
        (status = 409, description = "The broadcast is over, or the token belongs to another viewer's open session",
            body = crate::error::ProblemDocument, content_type = "application/problem+json"),
        (status = 429, description = "This address started as many sessions as it may this minute: retry after `Retry-After` seconds",
            body = crate::error::ProblemDocument, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))),
    ))]
pub(crate) async fn join(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    client: ClientAddress,
    Path(id): Path<String>,
    body: Result<Option<Json<Option<JoinBody>>>, JsonRejection>,
) -> Result<Response, ApiError> {
    // Before anything costs a query: sessions are rows, and anyone may
    // start one.
    if let ClientAddress(Some(_)) = client
        && let Err(wait) = state.viewer_join_limiter.check(&client, Instant::now())
    {
        return Err(too_many_joins(
            state.config.limits.viewer_joins_per_minute,
            wait,
        ));
    }
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::JoinAsViewer)?;
    // No body, or `null`: the same as `{}`.
    let body = body?.and_then(|Json(body)| body).unwrap_or_default();
    let token = body.session_token()?;
    if access.status == StreamStatus::Ended {
        return Err(ApiError::Conflict(
            "this stream's broadcast has ended: there is nothing to watch until it goes live again"
                .to_owned(),
        ));
    }
    let timeout = state.config.viewer_session_timeout;
    let joined = db::join(&state.pool, access.stream_id, caller, &token, timeout)
        .await
        .db_err("starting a viewer session")?;
    let (status, row) = match joined {
        Joined::Created(row) => {
            state.viewer_tally.started(row.id);
            (StatusCode::CREATED, row)
        }
        Joined::Resumed(row) => (StatusCode::OK, row),
        Joined::TokenTaken => {
            return Err(ApiError::Conflict(
                "another viewer's open session uses this session_token: \
                 generate a new random token"
                    .to_owned(),
            ));
        }
    };
    let session = session_view(&state, &access, row);
    if status == StatusCode::CREATED {
        let location = format!(
            "/api/v1/streams/{}/viewers/{}",
            session.stream_id, session.id
        );
        return Ok((status, [(header::LOCATION, location)], Json(session)).into_response());
    }
    Ok((status, Json(session)).into_response())
}

fn too_many_joins(per_minute: u32, wait: std::time::Duration) -> ApiError {
    // Whole seconds, rounded up: retrying on time must succeed.
    let retry_after_secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    ApiError::TooManyRequests {
        message: format!(
            "this address started {per_minute} viewer sessions in the last minute, the most it \
             may: keep an open session alive with its heartbeat, or retry in \
             {retry_after_secs} s (see Retry-After)"
        ),
        retry_after_secs,
    }
}

/// Keeps a session alive: send one every `heartbeat_interval_seconds`.
#[utoipa::path(post, path = "/api/v1/streams/{id}/viewers/{session_id}/heartbeat",
    tag = "viewers",
    security((), ("bearer" = [])),
    params(
        ("id" = String, Path, description = "The stream id (a UUID)"),
        ("session_id" = String, Path, description = "The session id from joining"),
    ),
    responses(
        (status = 200, description = "Alive until the new `expires_at`", body = ViewerSession),
    ))]
pub(crate) async fn heartbeat(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    Path((id, session_id)): Path<(String, String)>,
) -> Result<Json<ViewerSession>, ApiError> {
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::JoinAsViewer)?;
    let timeout = state.config.viewer_session_timeout;
    let row = match Uuid::parse_str(&session_id) {
        Ok(session) => db::heartbeat(&state.pool, access.stream_id, session, timeout)
            .await
            .db_err("recording a heartbeat")?,
        Err(_) => None,
    };
    let row = row.ok_or_else(|| {
        ApiError::NotFound(format!(
            "no open viewer session {session_id:?} on this stream: it ended or missed its \
             heartbeats; start a new one with POST /api/v1/streams/{id}/viewers"
        ))
    })?;
    Ok(Json(session_view(&state, &access, row)))
}

/// Stops watching. Ending a session that already ended is not an error.
#[utoipa::path(delete, path = "/api/v1/streams/{id}/viewers/{session_id}", tag = "viewers",
    security((), ("bearer" = [])),
    params(
        ("id" = String, Path, description = "The stream id (a UUID)"),
        ("session_id" = String, Path, description = "The session id from joining"),
    ),
    responses((status = 204, description = "The session has ended")))]
pub(crate) async fn leave(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    Path((id, session_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::JoinAsViewer)?;
    let timeout = state.config.viewer_session_timeout;
    let exists = match Uuid::parse_str(&session_id) {
        Ok(session) => db::leave(&state.pool, access.stream_id, session, timeout)
            .await
            .db_err("ending a viewer session")?,
        Err(_) => false,
    };
    if !exists {
        return Err(ApiError::NotFound(format!(
            "no viewer session {session_id:?} on this stream"
        )));
    }
    if let Ok(session) = Uuid::parse_str(&session_id) {
        state.viewer_tally.ended(session);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Viewer statistics of the stream and of its current (or last) broadcast,
/// kept by the server's viewer sweep: reading them costs one row however
/// many watch. They trail reality by up to a sweep (a few seconds), see
/// `as_of`.
#[utoipa::path(get, path = "/api/v1/streams/{id}/viewers/stats", tag = "viewers",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)")),
    responses((status = 200, description = "The statistics", body = ViewerStats)))]
pub(crate) async fn stats(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    Path(id): Path<String>,
) -> Result<Json<ViewerStats>, ApiError> {
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ReadViewerStats)?;
    let row = db::stats(&state.pool, access.stream_id)
        .await
        .db_err("reading viewer statistics")?
        .ok_or_else(|| ApiError::NotFound(format!("no stream {id:?}")))?;
    Ok(Json(stats_view(access.stream_id, row)))
}

fn session_view(state: &AppState, access: &StreamAccess, row: SessionRow) -> ViewerSession {
    let timeout = state.config.viewer_session_timeout;
    ViewerSession {
        id: row.id,
        stream_id: access.stream_id,
        session_token: row.session_token,
        heartbeat_interval_seconds: heartbeat_interval(timeout).as_secs(),
        expires_at: row.last_seen_at
            + chrono::Duration::from_std(timeout).unwrap_or(chrono::Duration::MAX),
        stream_status: access.status,
    }
}

/// A third of the timeout: two heartbeats may be lost before the session
/// ends. At least a second, so a tiny timeout cannot ask for a busy loop.
fn heartbeat_interval(timeout: std::time::Duration) -> std::time::Duration {
    (timeout / 3).max(std::time::Duration::from_secs(1))
}

fn stats_view(stream_id: Uuid, row: db::StatsRow) -> ViewerStats {
    let stream = StreamViewerTotals {
        current_viewers: row.current_viewers.unwrap_or(0),
        peak_viewers: row.peak_viewers.unwrap_or(0),
        unique_viewers: row.unique_viewers.unwrap_or(0),
        watch_time_ms: row.watch_time_ms.unwrap_or(0),
    };
    let broadcast = row.started_at.map(|started_at| {
        // The sweep resets its broadcast numbers when it first sees viewers
        // of a new broadcast; until then they are of the previous one.
        let seen = row.broadcast_started_at == Some(started_at);
        let pick = |value: Option<i64>| if seen { value.unwrap_or(0) } else { 0 };
        BroadcastViewerTotals {
            started_at,
            ended_at: row.ended_at,
            current_viewers: if row.status == StreamStatus::Live {
                stream.current_viewers
            } else {
                0
            },
            peak_viewers: if seen {
                row.broadcast_peak_viewers.unwrap_or(0)
            } else {
                0
            },
            unique_viewers: pick(row.broadcast_unique_viewers),
            watch_time_ms: pick(row.broadcast_watch_time_ms),
        }
    });
    ViewerStats {
        stream_id,
        as_of: row.updated_at,
        stream,
        broadcast,
    }
}
