//! The API's series. Every name is declared here and described in
//! [`describe`]; none carries an id as a label value, so the number of
//! series is bounded whatever the traffic.

mod held;
mod http;

use metrics::Unit;

pub(crate) use held::Held;
pub use http::record_request;

pub const HTTP_REQUESTS: &str = "nova_http_requests_total";
pub const HTTP_REQUEST_DURATION: &str = "nova_http_request_duration_seconds";
pub const BLOCKING_RELOADS_WAITING: &str = "nova_blocking_reloads_waiting";
pub const VIEWERS: &str = "nova_viewers";
pub const CHAT_MESSAGES: &str = "nova_chat_messages_total";
pub const SUPER_CHATS: &str = "nova_super_chats_total";
pub const WEBHOOK_DELIVERIES: &str = "nova_webhook_deliveries_total";
pub const EVENT_FEED_SUBSCRIBERS: &str = "nova_event_feed_subscribers";

/// Describes the API's series to the installed recorder.
pub fn describe() {
    metrics::describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route template, method and status class"
    );
    metrics::describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "Time from a request's arrival to its response headers, by route template and method"
    );
    metrics::describe_gauge!(
        BLOCKING_RELOADS_WAITING,
        "LL-HLS requests (blocking playlist reloads and preload-hinted parts) held on this node \
         until the part or segment they ask for exists"
    );
    metrics::describe_gauge!(
        VIEWERS,
        "Open viewer sessions started on this node (summed over nodes: every open session once)"
    );
    metrics::describe_counter!(CHAT_MESSAGES, "Chat messages posted through this node");
    metrics::describe_counter!(SUPER_CHATS, "Super chats recorded through this node");
    metrics::describe_counter!(
        WEBHOOK_DELIVERIES,
        "Webhook delivery attempts made by this node, by outcome: delivered, failed (retried \
         later) or gave_up (the last attempt failed)"
    );
    metrics::describe_gauge!(
        EVENT_FEED_SUBSCRIBERS,
        "Live event feeds (WebSocket and Server-Sent Events) open on this node"
    );
    // Zero from the start, so a rate or an alert over them has a series
    // before the first event.
    metrics::gauge!(BLOCKING_RELOADS_WAITING).set(0.0);
    metrics::gauge!(VIEWERS).set(0.0);
    metrics::gauge!(EVENT_FEED_SUBSCRIBERS).set(0.0);
    metrics::counter!(CHAT_MESSAGES).absolute(0);
    metrics::counter!(SUPER_CHATS).absolute(0);
    for outcome in WebhookOutcome::ALL {
        metrics::counter!(WEBHOOK_DELIVERIES, "outcome" => outcome.label()).absolute(0);
    }
}

/// How a webhook delivery attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WebhookOutcome {
    Delivered,
    /// Failed; another attempt is scheduled.
    Failed,
    /// Failed, and it was the last attempt.
    GaveUp,
}

impl WebhookOutcome {
    const ALL: [Self; 3] = [Self::Delivered, Self::Failed, Self::GaveUp];

    fn label(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::GaveUp => "gave_up",
        }
    }

    pub(crate) fn count(self) {
        metrics::counter!(WEBHOOK_DELIVERIES, "outcome" => self.label()).increment(1);
    }
}
