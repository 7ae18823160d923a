//! `POST /api/v1/streams/{id}/hosts`: the owner invites a user, or changes
//! the role of one already invited.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::db::{self, HostRow, InvitationState};
use super::input::InviteBody;
use super::params;
use super::view::{HostView, changed_event};
use crate::access::{Permission, StreamAccess};
use crate::auth::MaybeUser;
use crate::error::{ApiError, DbResultExt};
use crate::json::ApiJson;
use crate::state::AppState;

/// What an invitation did to the user's row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// A new invitation: the first, or one after a decline or removal.
    Invited,
    /// An open invitation or an accepted host, now in another role.
    RoleChanged,
    /// Already invited or hosting in this role.
    Unchanged,
}

/// Invites a user to host the stream as `co_host` or `moderator`; they
/// accept or decline it.
///
/// * Not invited before, or declined or removed since: a new invitation
///   (201), which they answer afresh.
/// * Invited and not answered yet: the invitation's role changes (200).
/// * Accepted already: their role changes at once (200). The owner decides
///   who does what on the stream; a host who disagrees can leave.
/// * The same role as now: nothing changes (200).
#[utoipa::path(post, path = "/api/v1/streams/{id}/hosts", tag = "hosts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)")),
    request_body = InviteBody,
    responses(
        (status = 201, description = "Invited; `Location` names the invitation", body = HostView,
            headers(("Location" = String, description = "The invitation's URL"))),
        (status = 200, description = "Invited or hosting already: the role is as asked now",
            body = HostView,
            headers(("Location" = String, description = "The invitation's URL"))),
        (status = 409, description = "Another request changed this invitation at the same \
            time; retry", body = crate::error::ProblemDocument,
            content_type = "application/problem+json"),
    ))]
pub(crate) async fn invite_host(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    path: Result<Path<String>, PathRejection>,
    body: Result<ApiJson<InviteBody>, ApiError>,
) -> Result<Response, ApiError> {
    let id = params::path(path)?;
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ManageHosts)?;
    let owner = access.user()?;
    let ApiJson(body) = body?;
    let invite = body.validate(owner)?;

    let mut tx = state.pool.begin().await.db_err("inviting a host")?;
    let existing = match db::lock(&mut *tx, access.stream_id, invite.user_id)
        .await
        .db_err("inviting a host")?
    {
        Some(row) => row,
        None => match db::insert(
            &mut *tx,
            access.stream_id,
            invite.user_id,
            invite.role,
            owner,
        )
        .await
        .db_err("inviting a host")?
        {
            Some(row) => {
                tx.commit().await.db_err("inviting a host")?;
                return Ok(finish(&state, row, Outcome::Invited));
            }
            // A concurrent invitation inserted it (and committed: the
            // insert waited): decide on its state instead.
            None => db::lock(&mut *tx, access.stream_id, invite.user_id)
                .await
                .db_err("inviting a host")?
                .ok_or_else(|| {
                    ApiError::Conflict(
                        "the invitation changed while this request ran: retry".to_owned(),
                    )
                })?,
        },
    };
    let (row, outcome) = match existing.state() {
        InvitationState::Declined | InvitationState::Removed => (
            db::reopen(
                &mut *tx,
                access.stream_id,
                invite.user_id,
                invite.role,
                owner,
            )
            .await
            .db_err("inviting a host")?,
            Outcome::Invited,
        ),
        InvitationState::Invited | InvitationState::Accepted if existing.role == invite.role => {
            (existing, Outcome::Unchanged)
        }
        InvitationState::Invited | InvitationState::Accepted => (
            db::set_role(&mut *tx, access.stream_id, invite.user_id, invite.role)
                .await
                .db_err("inviting a host")?,
            Outcome::RoleChanged,
        ),
    };
    tx.commit().await.db_err("inviting a host")?;
    Ok(finish(&state, row, outcome))
}

/// Publishes the change (after the commit) and answers.
fn finish(state: &AppState, row: HostRow, outcome: Outcome) -> Response {
    if outcome != Outcome::Unchanged {
        tracing::info!(stream = %row.stream_id, user = %row.user_id, role = ?row.role, ?outcome, "host invited");
        state.events.publish(row.stream_id, changed_event(&row));
    }
    let status = if outcome == Outcome::Invited {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let location = format!("/api/v1/streams/{}/hosts/{}", row.stream_id, row.user_id);
    (
        status,
        [(header::LOCATION, location)],
        Json(HostView::from(row)),
    )
        .into_response()
}
