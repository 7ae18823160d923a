//! `GET /api/v1/streams/{id}/events`: the live feed of a stream, as a
//! WebSocket when the request asks to upgrade, as Server-Sent Events
//! otherwise.

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde::Deserialize;

use super::feed::Feed;
use super::{sse, ws};
use crate::access::{Permission, StreamAccess};
use crate::auth::MaybeUser;
use crate::client_address::ClientAddress;
use crate::error::ApiError;
use crate::state::AppState;

/// Clients send nothing but close frames and pongs.
const MAX_CLIENT_MESSAGE: usize = 4096;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FeedParams {
    /// The bearer token, for browsers: their `WebSocket` and `EventSource`
    /// cannot send an `Authorization` header. Ignored when that header is
    /// present; prefer the header wherever you can set it. Never logged.
    access_token: Option<String>,
    /// Resume after this event id: what was missed follows first. For
    /// WebSocket clients; `Last-Event-ID` takes precedence when both are sent
    /// (a reconnecting `EventSource` sends the header with its original URL).
    last_event_id: Option<u64>,
}

/// Follows a stream's live events: chat messages, moderation, super chats,
/// viewer counts, status changes and health warnings, each a `LiveEvent`.
///
/// **WebSocket** when the request is an upgrade: each event is a JSON text
/// frame; the server pings every 20 s and closes with 1001 when it shuts
/// down. **Server-Sent Events** otherwise (`text/event-stream`): `id:` is the
/// event id, `event:` its `type`, `data:` the `LiveEvent` as JSON, with a
/// comment line every 15 s to keep the connection open.
///
/// Reconnect with the last id you saw (`Last-Event-ID`, which `EventSource`
/// sends by itself, or `?last_event_id=`) to get what you missed, then the
/// live events. When some of it is no longer kept (the replay history is
/// bounded), or when your connection reads too slowly to keep up, a
/// `resync` event says so: reload chat, super chats and the stream from the
/// API, then carry on with the events that follow it.
///
/// The `EventPayload` schema describes the `data` of every `type`; the
/// most common:
///
/// | `type` | `data` |
/// | --- | --- |
/// | `chat_message` | the `ChatMessage`, as `POST …/chat/messages` returned it |
/// | `chat_message_deleted` | `{"message_id", "deleted_at"}`: hide it |
/// | `user_banned` | `{"user_id", "expires_at"}` (`null`: until lifted) |
/// | `user_unbanned` | `{"user_id"}` |
/// | `chat_settings_changed` | `{"slow_mode_seconds"}` |
/// | `resync` | `{"reason": "history_gap" \| "lagged", "detail"}` |
#[utoipa::path(get, path = "/api/v1/streams/{id}/events", tag = "events",
    security((), ("bearer" = [])),
    params(
        ("id" = String, Path, description = "The stream id (a UUID)"),
        FeedParams,
        ("Last-Event-ID" = Option<String>, Header,
            description = "The `id` of the last event received: resume after it"),
    ),
    responses(
        (status = 101, description = "Switched to a WebSocket: each message is a `LiveEvent` as a JSON text frame"),
        (status = 200, description = "Server-Sent Events: `id:` the event id, `event:` its type, `data:` the `LiveEvent` as JSON",
            body = SseEventDoc, content_type = "text/event-stream"),
        (status = 429, description = "This address holds as many feeds as it may: close one, or retry after `Retry-After` seconds",
            body = crate::error::ProblemDocument, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))),
    ))]
pub(crate) async fn follow_events(
    State(state): State<AppState>,
    MaybeUser(header_user): MaybeUser,
    Path(id): Path<String>,
    params: Result<Query<FeedParams>, QueryRejection>,
    headers: HeaderMap,
    client: ClientAddress,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    // Before anything costs a query: one address cannot hold every feed.
    let slot = state
        .feed_slots
        .take(client)
        .ok_or_else(|| too_many_feeds(state.config.limits.event_feeds_per_address))?;
    let params = crate::extract::query(params)?;
    let caller = match (header_user, params.access_token) {
        (Some(user), _) => Some(user),
        (None, Some(token)) => Some(
            state
                .jwt
                .verify(&token)
                .map_err(|error| ApiError::InvalidToken(error.describe()))?,
        ),
        (None, None) => None,
    };
    let last_seen = last_event_id(&headers, params.last_event_id)?;
    let upgrade = match upgrade {
        Ok(upgrade) => Some(upgrade),
        Err(rejection) if asks_for_websocket(&headers) => {
            return Err(ApiError::BadRequest(format!(
                "not a valid WebSocket upgrade: {}",
                rejection.body_text()
            )));
        }
        Err(_) => None,
    };
    let access = StreamAccess::load(&state.pool, &id, caller).await?;
    access.require(Permission::ReadEvents)?;
    // Subscribed before the response goes out: whatever the client does once
    // it has the response (post a message, say) is already on its feed.
    let feed = Feed::new(
        access.stream_id,
        state.events.subscribe(access.stream_id, last_seen),
    )
    .holding(slot);
    Ok(match upgrade {
        Some(upgrade) => upgrade
            .max_message_size(MAX_CLIENT_MESSAGE)
            .on_upgrade(move |socket| ws::run(socket, feed)),
        None => sse::respond(feed),
    })
}

/// A feed slot frees when one of the address's feeds closes; a few seconds
/// is a fair guess, and what a reconnecting `EventSource` waits anyway.
const FEED_RETRY_AFTER_SECS: u64 = 5;

fn too_many_feeds(per_address: usize) -> ApiError {
    ApiError::TooManyRequests {
        message: format!(
            "this address already holds {per_address} live event feeds, the most it may: \
             close one, or retry in {FEED_RETRY_AFTER_SECS} s (see Retry-After)"
        ),
        retry_after_secs: FEED_RETRY_AFTER_SECS,
    }
}

/// The header wins over the query: a reconnecting `EventSource` repeats its
/// original URL but sends the newer id in the header.
fn last_event_id(headers: &HeaderMap, query: Option<u64>) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(query);
    };
    let text = value.to_str().unwrap_or_default().trim();
    if text.is_empty() {
        return Ok(query);
    }
    text.parse().map(Some).map_err(|_| {
        ApiError::BadRequest(
            "Last-Event-ID must be the `id` of an event this feed sent (a number): \
             drop the header to start from now"
                .to_owned(),
        )
    })
}

fn asks_for_websocket(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn the_header_wins_over_the_query() {
        let mut headers = HeaderMap::new();
        assert_eq!(last_event_id(&headers, Some(7)).unwrap(), Some(7));
        headers.insert("last-event-id", HeaderValue::from_static(" 42 "));
        assert_eq!(last_event_id(&headers, Some(7)).unwrap(), Some(42));
        headers.insert("last-event-id", HeaderValue::from_static(""));
        assert_eq!(last_event_id(&headers, Some(7)).unwrap(), Some(7));
        headers.insert("last-event-id", HeaderValue::from_static("abc"));
        assert!(matches!(
            last_event_id(&headers, None),
            Err(ApiError::BadRequest(_))
        ));
    }
}

/// One Server-Sent Event as a client's parser sees it (the WHATWG
/// EventSource fields): the schema of each event of the 200 stream.
#[derive(utoipa::ToSchema)]
#[schema(as = SseEvent)]
#[allow(dead_code)] // only its schema is used: the events are written by sse.rs
pub(crate) struct SseEventDoc {
    /// The event id, to send back as `Last-Event-ID` when reconnecting.
    id: String,
    /// The event's `type`.
    event: String,
    /// The `LiveEvent` as JSON.
    #[schema(content_media_type = "application/json")]
    data: String,
}
