//! The outbox: one `webhook_deliveries` row per subscribed endpoint, written
//! inside the caller's transaction, so an event is queued exactly when the
//! change it reports commits.

use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WebhookEvent {
    StreamStarted,
    StreamEnded,
    RecordingReady,
    RecordingPaused,
    RecordingResumed,
    SuperChatCreated,
}

impl WebhookEvent {
    /// Every event an endpoint may subscribe to (the schema's list too).
    pub const ALL: [Self; 6] = [
        Self::StreamStarted,
        Self::StreamEnded,
        Self::RecordingReady,
        Self::RecordingPaused,
        Self::RecordingResumed,
        Self::SuperChatCreated,
    ];

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|event| event.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::StreamStarted => "stream.started",
            Self::StreamEnded => "stream.ended",
            Self::RecordingReady => "recording.ready",
            Self::RecordingPaused => "recording.paused",
            Self::RecordingResumed => "recording.resumed",
            Self::SuperChatCreated => "super_chat.created",
        }
    }
}

/// Queues `event` for every enabled endpoint of `owner` subscribed to it.
/// The body each endpoint receives is `{"id", "type", "created_at", "data"}`,
/// with an id per delivery so receivers can drop duplicates of a retry.
pub(crate) async fn enqueue(
    connection: &mut PgConnection,
    owner: Uuid,
    event: WebhookEvent,
    data: &Value,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "INSERT INTO webhook_deliveries (id, endpoint_id, event_type, payload) \
         SELECT d.id, e.id, $2, jsonb_build_object( \
                'id', d.id, 'type', $2, 'created_at', now(), 'data', $3::jsonb) \
         FROM webhook_endpoints e \
         CROSS JOIN LATERAL (SELECT gen_random_uuid() AS id) d \
         WHERE e.owner_id = $1 AND e.disabled_at IS NULL AND $2 = ANY (e.event_types)",
    )
    .bind(owner)
    .bind(event.as_str())
    .bind(json!(data))
    .execute(connection)
    .await?;
    Ok(result.rows_affected())
}
