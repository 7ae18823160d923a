//! `/api/v1/streams/{id}/chat/settings`: slow mode and banned words.

use axum::Json;
use axum::extract::{Path, State};

use super::db::settings as db;
use super::input::ChatSettingsPatch;
use super::view::ChatSettings;
use crate::access::{Permission, StreamAccess};
use crate::auth::MaybeUser;
use crate::error::{ApiError, DbResultExt};
use crate::event_bus::{ChatSettingsChangedEvent, EventPayload};
use crate::json::ApiJson;
use crate::state::AppState;

/// The stream's chat rules.
#[utoipa::path(get, path = "/api/v1/streams/{id}/chat/settings", tag = "chat",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)")),
    responses((status = 200, description = "The chat settings", body = ChatSettings)))]
pub(crate) async fn get_settings(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    Path(id): Path<String>,
) -> Result<Json<ChatSettings>, ApiError> {
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ModerateChat)?;
    let settings = db::find(&state.pool, access.stream_id)
        .await
        .db_err("loading chat settings")?
        .ok_or_else(|| stream_gone(&id))?;
    Ok(Json(settings))
}

/// Changes slow mode, the banned words (the list is replaced), or both;
/// absent fields stay as they are. Viewers are told the new slow mode
/// through the events feed; the banned words stay with the moderators.
#[utoipa::path(patch, path = "/api/v1/streams/{id}/chat/settings", tag = "chat",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)")),
    request_body = ChatSettingsPatch,
    responses((status = 200, description = "The chat settings now", body = ChatSettings)))]
pub(crate) async fn update_settings(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ChatSettingsPatch>,
) -> Result<Json<ChatSettings>, ApiError> {
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ModerateChat)?;
    let change = body.validate()?;
    let settings = db::update(&state.pool, access.stream_id, &change)
        .await
        .db_err("changing chat settings")?
        .ok_or_else(|| stream_gone(&id))?;
    state.events.publish(
        access.stream_id,
        EventPayload::ChatSettingsChanged(ChatSettingsChangedEvent {
            slow_mode_seconds: settings.slow_mode_seconds,
        }),
    );
    Ok(Json(settings))
}

/// Deleted between the access check and the next query.
fn stream_gone(id: &str) -> ApiError {
    ApiError::NotFound(format!("no stream {id:?}"))
}
