//! The invited user accepts or declines; the owner removes a host, or a
//! host leaves.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use uuid::Uuid;

use super::db::{self, HostRow, InvitationState, Transition};
use super::params;
use super::view::{HostView, changed_event};
use crate::access::{Permission, Role, StreamAccess};
use crate::auth::MaybeUser;
use crate::error::{ApiError, DbResultExt};
use crate::state::AppState;

/// Accepts your invitation: you hold its role on the stream at once.
/// Only the invited user, and only while the invitation is open.
#[utoipa::path(post, path = "/api/v1/streams/{id}/hosts/{user_id}/accept", tag = "hosts",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The stream id (a UUID)"),
        ("user_id" = String, Path, description = "Your user id (a UUID)"),
    ),
    responses(
        (status = 200, description = "Accepted", body = HostView),
        (status = 409, description = "The invitation was answered already",
            body = crate::error::ProblemDocument, content_type = "application/problem+json"),
    ))]
pub(crate) async fn accept_invitation(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<HostView>, ApiError> {
    answer(state, caller, path, Transition::Accept).await
}

/// Declines your invitation. Only the invited user, and only while the
/// invitation is open; the owner may invite you again later.
#[utoipa::path(post, path = "/api/v1/streams/{id}/hosts/{user_id}/decline", tag = "hosts",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The stream id (a UUID)"),
        ("user_id" = String, Path, description = "Your user id (a UUID)"),
    ),
    responses(
        (status = 200, description = "Declined", body = HostView),
        (status = 409, description = "The invitation was answered already",
            body = crate::error::ProblemDocument, content_type = "application/problem+json"),
    ))]
pub(crate) async fn decline_invitation(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<HostView>, ApiError> {
    answer(state, caller, path, Transition::Decline).await
}

async fn answer(
    state: AppState,
    caller: Option<Uuid>,
    path: Result<Path<(String, String)>, PathRejection>,
    transition: Transition,
) -> Result<Json<HostView>, ApiError> {
    let (id, user_id) = params::path(path)?;
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::AnswerInvitation)?;
    let me = access.user()?;
    if params::user_id(&user_id) != Some(me) {
        return Err(ApiError::Forbidden(format!(
            "only the invited user answers an invitation: put your own user id ({me}) in the path"
        )));
    }
    let changed = db::transition(&state.pool, access.stream_id, me, transition)
        .await
        .db_err("answering an invitation")?;
    let Some(row) = changed else {
        let row = current(&state, &access, &user_id, me).await?;
        return Err(ApiError::Conflict(match row.state() {
            InvitationState::Accepted => {
                "you accepted this invitation already; to stop hosting, DELETE your host entry"
                    .to_owned()
            }
            InvitationState::Declined => "you declined this invitation already".to_owned(),
            InvitationState::Removed => "the owner withdrew this invitation".to_owned(),
            InvitationState::Invited => "the invitation changed at the same time: retry".to_owned(),
        }));
    };
    tracing::info!(stream = %row.stream_id, user = %me, ?transition, "invitation answered");
    state.events.publish(row.stream_id, changed_event(&row));
    Ok(Json(row.into()))
}

/// Removes a host or withdraws an invitation (the owner), or leaves (a
/// co-host, moderator or invitee naming themself: no other role needed).
/// Their role ends at once. Removing someone whose invitation was declined
/// or removed already changes nothing.
#[utoipa::path(delete, path = "/api/v1/streams/{id}/hosts/{user_id}", tag = "hosts",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The stream id (a UUID)"),
        ("user_id" = String, Path, description = "The host's user id (a UUID)"),
    ),
    responses((status = 204, description = "Removed")))]
pub(crate) async fn remove_host(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let (id, user_id) = params::path(path)?;
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    let user = params::user_id(&user_id);
    // Leaving needs no permission beyond being a host or invitee yourself;
    // everyone else needs the owner's.
    let leaving = user.is_some()
        && user == access.caller
        && matches!(access.role, Role::CoHost | Role::Moderator | Role::Invitee);
    if !leaving {
        access.require(Permission::ManageHosts)?;
    }
    let user = user.ok_or_else(|| params::not_found(&user_id))?;
    let removed = db::transition(&state.pool, access.stream_id, user, Transition::Remove)
        .await
        .db_err("removing a host")?;
    match removed {
        Some(row) => {
            tracing::info!(stream = %row.stream_id, %user, leaving, "host removed");
            state.events.publish(row.stream_id, changed_event(&row));
        }
        // Declined or removed already: nothing to do, unless there is no
        // such host at all.
        None => {
            current(&state, &access, &user_id, user).await?;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn current(
    state: &AppState,
    access: &StreamAccess,
    user_id: &str,
    user: Uuid,
) -> Result<HostRow, ApiError> {
    db::find(&state.pool, access.stream_id, user)
        .await
        .db_err("loading a host")?
        .ok_or_else(|| params::not_found(user_id))
}
