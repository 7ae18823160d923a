//! `/api/v1/streams/{id}/chat/messages`: post, list, read and hide.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, SecondsFormat, Utc};

use super::db::messages::{self as db, Hidden};
use super::input::PostMessageBody;
use super::rules;
use super::view::{ChatMessage, ChatMessagePage};
use crate::access::StreamStatus;
use crate::access::{Permission, StreamAccess};
use crate::auth::MaybeUser;
use crate::error::{ApiError, DbResultExt, FieldError};
use crate::event_bus::{ChatMessageDeletedEvent, EventPayload};
use crate::json::ApiJson;
use crate::paging::{ListTag, PageParams};
use crate::state::AppState;

/// Posts a message as the caller. Refused when the stream has ended, when
/// the caller is banned from its chat, when the message holds a word the
/// stream blocks, when the caller posts too fast (a per-user rate limit),
/// and in slow mode when their last message is too recent (the owner,
/// co-hosts and moderators are exempt from slow mode). Chat is open while
/// the stream is idle (before the show) and live.
#[utoipa::path(post, path = "/api/v1/streams/{id}/chat/messages", tag = "chat",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)")),
    request_body = PostMessageBody,
    responses(
        (status = 201, description = "Posted; `Location` names it", body = ChatMessage,
            headers(("Location" = String, description = "The message's URL"))),
        (status = 403, description = "Banned from this stream's chat (the detail says until when), or your role may not post",
            body = crate::error::ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "The stream has ended, which closed its chat",
            body = crate::error::ProblemDocument, content_type = "application/problem+json"),
        (status = 429, description = "Too many messages, or slow mode: retry after `Retry-After` seconds",
            body = crate::error::ProblemDocument, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until a message will be accepted"))),
    ))]
pub(crate) async fn post_message(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PostMessageBody>,
) -> Result<impl IntoResponse, ApiError> {
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::PostChat)?;
    let author = access.user()?;
    if access.status == StreamStatus::Ended {
        return Err(ApiError::Conflict(
            "this stream has ended, which closed its chat; its history stays readable".to_owned(),
        ));
    }
    let text = body.validate(state.config.chat.max_message_chars)?;
    // Before any query: a flood is refused without touching the database.
    state
        .chat_limiter
        .check(&(access.stream_id, author), Instant::now())
        .map_err(|wait| too_many("you are sending messages too fast", wait))?;
    let gate = db::gate(&state.pool, access.stream_id, author)
        .await
        .db_err("checking the chat rules")?
        .ok_or_else(|| stream_gone(&id))?;
    if gate.banned {
        return Err(banned(gate.ban_expires_at));
    }
    if rules::contains_banned_word(&text, &gate.banned_words) {
        // Which word is not said: the list is the moderators' business.
        return Err(ApiError::Validation(vec![FieldError::new(
            &["body"],
            "contains a word this stream's chat blocks: reword the message",
        )]));
    }
    let slow_mode =
        (gate.slow_mode_seconds > 0 && !access.role.is_staff()).then_some(gate.slow_mode_seconds);
    let message = match slow_mode {
        None => db::insert(&state.pool, access.stream_id, author, &text)
            .await
            .db_err("posting a chat message")?,
        Some(seconds) => {
            if let Some(wait) = rules::slow_mode_wait(seconds, gate.since_last_message_ms) {
                return Err(slow_mode_error(seconds, wait));
            }
            db::insert_in_slow_mode(&state.pool, access.stream_id, author, &text, seconds)
                .await
                .db_err("posting a chat message")?
                // Another request of the same author got in first.
                .ok_or_else(|| {
                    slow_mode_error(seconds, Duration::from_secs(seconds.unsigned_abs().into()))
                })?
        }
    };
    metrics::counter!(crate::metrics::CHAT_MESSAGES).increment(1);
    state
        .events
        .publish(access.stream_id, EventPayload::ChatMessage(message.clone()));
    let location = format!(
        "/api/v1/streams/{}/chat/messages/{}",
        access.stream_id, message.id
    );
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(message),
    ))
}

/// The stream's chat, newest first. Hidden messages are left out, except
/// for the owner, co-hosts and moderators, who see them with `deleted_at`
/// and `deleted_by`. Pages do not shift when messages arrive meanwhile.
#[utoipa::path(get, path = "/api/v1/streams/{id}/chat/messages", tag = "chat",
    security((), ("bearer" = [])),
    params(("id" = String, Path, description = "The stream id (a UUID)"), PageParams),
    responses((status = 200, description = "A page of messages", body = ChatMessagePage)))]
pub(crate) async fn list_messages(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    Path(id): Path<String>,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Result<Json<ChatMessagePage>, ApiError> {
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ReadChat)?;
    let params = crate::extract::query(params)?;
    let list = ListTag::of(&format!("chat_messages:{}", access.stream_id));
    let page = params.parse::<i64>(list, super::PAGE_LIMIT)?;
    // Messages with ids below the last one of the previous page.
    let before = page.after.unwrap_or(i64::MAX);
    let rows = db::list(
        &state.pool,
        access.stream_id,
        before,
        access.role.is_staff(),
        page.fetch(),
    )
    .await
    .db_err("listing chat messages")?;
    let (items, next_cursor) = page.page(rows, |message| message.id);
    Ok(Json(ChatMessagePage { items, next_cursor }))
}

/// One message. A hidden one is found by the owner, co-hosts and moderators
/// only.
#[utoipa::path(get, path = "/api/v1/streams/{id}/chat/messages/{message_id}", tag = "chat",
    security((), ("bearer" = [])),
    params(
        ("id" = String, Path, description = "The stream id (a UUID)"),
        ("message_id" = i64, Path, description = "The message id"),
    ),
    responses((status = 200, description = "The message", body = ChatMessage)))]
pub(crate) async fn get_message(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    Path((id, message_id)): Path<(String, String)>,
) -> Result<Json<ChatMessage>, ApiError> {
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ReadChat)?;
    let not_found = || message_not_found(&message_id);
    let number = message_id.parse().map_err(|_| not_found())?;
    let message = db::find(&state.pool, access.stream_id, number)
        .await
        .db_err("loading a chat message")?
        .filter(|message| message.deleted_at.is_none() || access.role.is_staff())
        .ok_or_else(not_found)?;
    Ok(Json(message))
}

/// Hides a message: it leaves the chat of everyone but the owner, co-hosts
/// and moderators, and is kept (with who hid it) for appeals. Hiding a
/// hidden message changes nothing.
#[utoipa::path(delete, path = "/api/v1/streams/{id}/chat/messages/{message_id}", tag = "chat",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The stream id (a UUID)"),
        ("message_id" = i64, Path, description = "The message id"),
    ),
    responses((status = 204, description = "Hidden")))]
pub(crate) async fn delete_message(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    Path((id, message_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ModerateChat)?;
    let moderator = access.user()?;
    let number = message_id
        .parse()
        .map_err(|_| message_not_found(&message_id))?;
    let hidden = db::hide(&state.pool, access.stream_id, number, moderator)
        .await
        .db_err("hiding a chat message")?;
    match hidden {
        Hidden::Now(at) => {
            state.events.publish(
                access.stream_id,
                EventPayload::ChatMessageDeleted(ChatMessageDeletedEvent {
                    message_id: number,
                    deleted_at: at,
                }),
            );
            Ok(StatusCode::NO_CONTENT)
        }
        Hidden::Already => Ok(StatusCode::NO_CONTENT),
        Hidden::Missing => Err(message_not_found(&message_id)),
    }
}

fn message_not_found(message_id: &str) -> ApiError {
    ApiError::NotFound(format!("no message {message_id:?} in this stream's chat"))
}

/// Deleted between the access check and the next query.
fn stream_gone(id: &str) -> ApiError {
    ApiError::NotFound(format!("no stream {id:?}"))
}

fn banned(until: Option<DateTime<Utc>>) -> ApiError {
    ApiError::Forbidden(match until {
        Some(until) => format!(
            "you are banned from this stream's chat until {}",
            until.to_rfc3339_opts(SecondsFormat::Secs, true)
        ),
        None => "you are banned from this stream's chat until a moderator lifts the ban".to_owned(),
    })
}

fn slow_mode_error(seconds: i32, wait: Duration) -> ApiError {
    too_many(
        &format!("slow mode is on: one message every {seconds} s per viewer"),
        wait,
    )
}

fn too_many(what: &str, wait: Duration) -> ApiError {
    // Whole seconds, rounded up: retrying on time must succeed.
    let retry_after_secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    ApiError::TooManyRequests {
        message: format!("{what}: wait {retry_after_secs} s (see Retry-After)"),
        retry_after_secs,
    }
}
