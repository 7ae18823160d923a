//! Live events: the WebSocket / Server-Sent Events feeds that deliver what
//! is published on the [`crate::event_bus`] to clients.

mod feed;
mod handlers;
mod redact;
mod sse;
mod ws;

pub(crate) use redact::loggable_uri;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::event_bus::{EventPayload, EventType, LiveEvent};
use crate::state::AppState;

/// The feed's payload is not a JSON response body, so no operation names
/// it: it is listed here for clients to find.
#[derive(OpenApi)]
#[openapi(components(schemas(LiveEvent, EventType, EventPayload)))]
struct EventSchemas;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(EventSchemas::openapi()).routes(routes!(handlers::follow_events))
}
