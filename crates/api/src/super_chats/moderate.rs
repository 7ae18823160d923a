//! What the people running a stream do to a super chat: pin it, hide it,
//! record its refund.

use axum::Json;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use bytes::Bytes;
use uuid::Uuid;

use super::db::{self, SuperChatRow, SuperChatStatus};
use super::input::{PinBody, optional_json};
use super::params;
use super::view::{Audience, SuperChatView};
use crate::access::{Permission, StreamAccess};
use crate::auth::MaybeUser;
use crate::error::{ApiError, DbResultExt};
use crate::event_bus::{EventPayload, SuperChatHiddenEvent};
use crate::state::AppState;

/// The pin time of tiers that are not pinned on their own.
const DEFAULT_PIN_SECONDS: i64 = 60;

/// Pins a super chat from now for `duration_seconds`, or when the body is
/// left out for its tier's pin time (60 s for tiers not pinned on their
/// own). Pinning again restarts the time. Hidden and refunded super chats
/// cannot be pinned.
#[utoipa::path(post, path = "/api/v1/streams/{id}/super-chats/{super_chat_id}/pin",
    tag = "super-chats",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The stream id (a UUID)"),
        ("super_chat_id" = String, Path, description = "The super chat id (a UUID)"),
    ),
    request_body(content = Option<PinBody>, description = "Optional"),
    responses(
        (status = 200, description = "Pinned", body = SuperChatView),
        (status = 409, description = "The super chat is hidden or refunded",
            body = crate::error::ProblemDocument, content_type = "application/problem+json"),
    ))]
pub(crate) async fn pin_super_chat(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SuperChatView>, ApiError> {
    let (id, super_chat_id) = params::path(path)?;
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::PinSuperChat)?;
    let body = params::body(body)?;
    let seconds = optional_json::<PinBody>(&headers, &body)?
        .unwrap_or_default()
        .validate()?;
    let super_chat = params::super_chat_id(&super_chat_id)?;
    let tier_pins: Vec<i64> = state
        .config
        .super_chat_tiers
        .iter()
        .map(|tier| i64::from(tier.pin_seconds))
        .collect();
    let pinned = db::pin(
        &state.pool,
        access.stream_id,
        super_chat,
        seconds,
        &tier_pins,
        DEFAULT_PIN_SECONDS,
    )
    .await
    .db_err("pinning a super chat")?;
    let Some(row) = pinned else {
        let row = current(&state, &access, super_chat).await?;
        return Err(ApiError::Conflict(
            if row.status == SuperChatStatus::Refunded {
                "this super chat was refunded: refunded super chats cannot be pinned".to_owned()
            } else {
                "this super chat is hidden: hidden super chats cannot be pinned".to_owned()
            },
        ));
    };
    state.events.publish(
        access.stream_id,
        EventPayload::SuperChatPinned(SuperChatView::new(row.clone(), Audience::public())),
    );
    Ok(Json(SuperChatView::new(row, Audience::of(&access))))
}

/// Hides a super chat from everyone but the owner, co-hosts and
/// moderators, and unpins it. It is kept, and still counts in the totals:
/// the payment happened. Hiding a hidden one changes nothing.
#[utoipa::path(post, path = "/api/v1/streams/{id}/super-chats/{super_chat_id}/hide",
    tag = "super-chats",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The stream id (a UUID)"),
        ("super_chat_id" = String, Path, description = "The super chat id (a UUID)"),
    ),
    responses((status = 200, description = "Hidden", body = SuperChatView)))]
pub(crate) async fn hide_super_chat(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<SuperChatView>, ApiError> {
    let (id, super_chat_id) = params::path(path)?;
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::HideSuperChat)?;
    let moderator = access.user()?;
    let super_chat = params::super_chat_id(&super_chat_id)?;
    let hidden = db::hide(&state.pool, access.stream_id, super_chat, moderator)
        .await
        .db_err("hiding a super chat")?;
    let row = match hidden {
        Some(row) => {
            tracing::info!(super_chat = %row.id, stream = %row.stream_id, %moderator, "super chat hidden");
            state.events.publish(
                access.stream_id,
                EventPayload::SuperChatHidden(SuperChatHiddenEvent { id: row.id }),
            );
            row
        }
        // Hidden already (or not there, which `current` reports).
        None => current(&state, &access, super_chat).await?,
    };
    Ok(Json(SuperChatView::new(row, Audience::of(&access))))
}

/// Records that the payment of a super chat was refunded (the refund itself
/// goes through the payment provider, like the capture). It stays listed
/// with `status: refunded`, unpinned, and leaves the totals.
#[utoipa::path(post, path = "/api/v1/streams/{id}/super-chats/{super_chat_id}/refund",
    tag = "super-chats",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The stream id (a UUID)"),
        ("super_chat_id" = String, Path, description = "The super chat id (a UUID)"),
    ),
    responses(
        (status = 200, description = "Refunded", body = SuperChatView),
        (status = 409, description = "Refunded already",
            body = crate::error::ProblemDocument, content_type = "application/problem+json"),
    ))]
pub(crate) async fn refund_super_chat(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<SuperChatView>, ApiError> {
    let (id, super_chat_id) = params::path(path)?;
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::RefundSuperChat)?;
    let super_chat = params::super_chat_id(&super_chat_id)?;
    let refunded = db::refund(&state.pool, access.stream_id, super_chat)
        .await
        .db_err("refunding a super chat")?;
    let Some(row) = refunded else {
        let row = current(&state, &access, super_chat).await?;
        return Err(ApiError::Conflict(match row.refunded_at {
            Some(at) => format!(
                "this super chat was refunded already, at {}",
                at.to_rfc3339()
            ),
            None => "this super chat is not paid, so there is nothing to refund".to_owned(),
        }));
    };
    tracing::info!(super_chat = %row.id, stream = %row.stream_id, "super chat refunded");
    state.events.publish(
        access.stream_id,
        EventPayload::SuperChatRefunded(SuperChatView::new(row.clone(), Audience::public())),
    );
    Ok(Json(SuperChatView::new(row, Audience::of(&access))))
}

/// The super chat as it is, to explain why an update did not apply; 404 if
/// it is not there.
async fn current(
    state: &AppState,
    access: &StreamAccess,
    super_chat: Uuid,
) -> Result<SuperChatRow, ApiError> {
    db::find(&state.pool, access.stream_id, super_chat)
        .await
        .db_err("loading a super chat")?
        .ok_or_else(|| params::not_found(super_chat))
}
