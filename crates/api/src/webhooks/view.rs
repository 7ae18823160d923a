//! What the webhook routes answer. The secret appears in two answers only:
//! creating an endpoint and rotating its secret.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::db::{DeliveryRow, DeliveryStatus, EndpointRow};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct WebhookEndpoint {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl From<EndpointRow> for WebhookEndpoint {
    fn from(row: EndpointRow) -> Self {
        Self {
            id: row.id,
            url: row.url,
            event_types: row.event_types,
            created_at: row.created_at,
        }
    }
}

/// The create response: the only one, with rotation, carrying the secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CreatedWebhookEndpoint {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// The HMAC-SHA256 key of `Nova-Webhook-Signature`. Shown only now:
    /// store it with your receiver.
    pub secret: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct WebhookEndpointPage {
    pub items: Vec<WebhookEndpoint>,
    pub next_cursor: Option<String>,
}

/// A new secret; deliveries from now on are signed with it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RotatedSecret {
    pub id: Uuid,
    pub secret: String,
}

/// One event queued for one endpoint, and how its delivery is going.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct WebhookDelivery {
    /// Also the `id` in the body and the `Nova-Webhook-Id` header, the same
    /// on every attempt: receivers drop repeats by it.
    pub id: Uuid,
    pub event_type: String,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: i32,
    /// The HTTP status of the last attempt; null if it got no response.
    pub response_status: Option<i32>,
    /// Why the last attempt failed; null after a success.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When the next attempt is due; null once delivered or failed.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The JSON body each attempt sends.
    pub payload: Value,
}

impl From<DeliveryRow> for WebhookDelivery {
    fn from(row: DeliveryRow) -> Self {
        Self {
            id: row.id,
            event_type: row.event_type,
            next_attempt_at: (row.status == DeliveryStatus::Pending).then_some(row.next_attempt_at),
            status: row.status,
            attempts: row.attempts,
            response_status: row.response_status,
            last_error: row.last_error,
            created_at: row.created_at,
            last_attempt_at: row.last_attempt_at,
            delivered_at: row.delivered_at,
            payload: row.payload,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct WebhookDeliveryPage {
    pub items: Vec<WebhookDelivery>,
    pub next_cursor: Option<String>,
}
