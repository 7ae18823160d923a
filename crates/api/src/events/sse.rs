//! The feed as Server-Sent Events: for clients that only need to listen
//! (`EventSource` in browsers, `curl -N`), with standard resumption through
//! the `Last-Event-ID` header the browser sends when it reconnects.

use std::time::Duration;

use axum::http::HeaderName;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};

use super::feed::Feed;
use crate::event_bus::LiveEvent;

/// Comment lines this often keep proxies and load balancers from closing
/// a quiet connection as idle.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// `id:` the event id, `event:` its type, `data:` the event as JSON.
pub(crate) fn respond(feed: Feed) -> Response {
    let events = futures_util::stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((frame(&event), feed))
    });
    (
        // nginx buffers responses by default, which would hold events back.
        [(HeaderName::from_static("x-accel-buffering"), "no")],
        Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)),
    )
        .into_response()
}

fn frame(event: &LiveEvent) -> Result<Event, axum::Error> {
    Event::default()
        .id(event.id.to_string())
        .event(event.kind().as_str())
        .json_data(event)
}
