//! `/api/v1/streams/{id}/chat/bans`: who is kept out of a stream's chat.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use uuid::Uuid;

use super::db::bans as db;
use super::input::BanBody;
use super::view::{ChatBan, ChatBanPage};
use crate::access::{Permission, StreamAccess};
use crate::auth::MaybeUser;
use crate::error::{ApiError, DbResultExt, FieldError};
use crate::event_bus::{EventPayload, UserBannedEvent, UserUnbannedEvent};
use crate::json::ApiJson;
use crate::paging::{ListTag, PageParams};
use crate::state::AppState;

/// Bans a user from the stream's chat, for `duration_seconds` or until
/// lifted; a ban they already have is replaced (its length counts from
/// now). Neither the owner nor a co-host or moderator can be banned:
/// remove a host first.
#[utoipa::path(post, path = "/api/v1/streams/{id}/chat/bans", tag = "chat",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)")),
    request_body = BanBody,
    responses(
        (status = 201, description = "Banned; `Location` names the ban", body = ChatBan,
            headers(("Location" = String, description = "The ban's URL"))),
        (status = 409, description = "The user is a co-host or moderator of the stream: remove them as a host first",
            body = crate::error::ProblemDocument, content_type = "application/problem+json"),
    ))]
pub(crate) async fn ban_user(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<BanBody>,
) -> Result<impl IntoResponse, ApiError> {
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ModerateChat)?;
    let moderator = access.user()?;
    let ban = body.validate()?;
    if ban.user_id == access.owner_id {
        return Err(ApiError::Validation(vec![FieldError::new(
            &["user_id"],
            "is the stream's owner, who cannot be banned from its chat",
        )]));
    }
    let ban = db::upsert(&state.pool, access.stream_id, moderator, &ban)
        .await
        .db_err("banning a user from chat")?
        .ok_or_else(|| {
            ApiError::Conflict(
                "that user is a co-host or moderator of this stream: remove them as a host before banning them"
                    .to_owned(),
            )
        })?;
    // The reason stays with the moderators.
    state.events.publish(
        access.stream_id,
        EventPayload::UserBanned(UserBannedEvent {
            user_id: ban.user_id,
            expires_at: ban.expires_at,
        }),
    );
    let location = format!(
        "/api/v1/streams/{}/chat/bans/{}",
        access.stream_id, ban.user_id
    );
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(ban),
    ))
}

/// The bans in force, newest first (expired ones are left out).
#[utoipa::path(get, path = "/api/v1/streams/{id}/chat/bans", tag = "chat",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)"), PageParams),
    responses((status = 200, description = "A page of bans", body = ChatBanPage)))]
pub(crate) async fn list_bans(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    Path(id): Path<String>,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Result<Json<ChatBanPage>, ApiError> {
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ModerateChat)?;
    let params = crate::extract::query(params)?;
    let list = ListTag::of(&format!("chat_bans:{}", access.stream_id));
    let page = params.parse(list, super::PAGE_LIMIT)?;
    let rows = db::list(&state.pool, access.stream_id, page.after, page.fetch())
        .await
        .db_err("listing chat bans")?;
    let (items, next_cursor) = page.page(rows, |ban| (ban.created_at, ban.user_id));
    Ok(Json(ChatBanPage { items, next_cursor }))
}

/// A user's ban, if one is in force.
#[utoipa::path(get, path = "/api/v1/streams/{id}/chat/bans/{user_id}", tag = "chat",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The stream id (a UUID)"),
        ("user_id" = String, Path, description = "The banned user's id (a UUID)"),
    ),
    responses((status = 200, description = "The ban", body = ChatBan)))]
pub(crate) async fn get_ban(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Json<ChatBan>, ApiError> {
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ModerateChat)?;
    let user = Uuid::parse_str(&user_id).map_err(|_| no_ban(&user_id))?;
    let ban = db::find(&state.pool, access.stream_id, user)
        .await
        .db_err("loading a chat ban")?
        .ok_or_else(|| no_ban(&user_id))?;
    Ok(Json(ban))
}

/// Lifts a user's ban.
#[utoipa::path(delete, path = "/api/v1/streams/{id}/chat/bans/{user_id}", tag = "chat",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The stream id (a UUID)"),
        ("user_id" = String, Path, description = "The banned user's id (a UUID)"),
    ),
    responses((status = 204, description = "Lifted")))]
pub(crate) async fn unban_user(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ModerateChat)?;
    let user = Uuid::parse_str(&user_id).map_err(|_| no_ban(&user_id))?;
    let lifted = db::delete(&state.pool, access.stream_id, user)
        .await
        .db_err("lifting a chat ban")?;
    if !lifted {
        return Err(no_ban(&user_id));
    }
    state.events.publish(
        access.stream_id,
        EventPayload::UserUnbanned(UserUnbannedEvent { user_id: user }),
    );
    Ok(StatusCode::NO_CONTENT)
}

fn no_ban(user_id: &str) -> ApiError {
    ApiError::NotFound(format!(
        "user {user_id:?} is not banned from this stream's chat"
    ))
}
