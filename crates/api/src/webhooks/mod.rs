//! Webhooks: the owner's endpoints, the outbox of deliveries written in the
//! same transaction as the change they report, and the worker that signs
//! and sends them.

mod db;
mod destination;
mod handlers;
mod input;
mod outbox;
mod signing;
mod view;
mod worker;

pub(crate) use outbox::{WebhookEvent, enqueue};
pub use worker::{RetrySchedule, WebhookDeliveryConfig, WebhookSender};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_endpoints, handlers::create_endpoint))
        .routes(routes!(handlers::get_endpoint, handlers::delete_endpoint))
        .routes(routes!(handlers::rotate_secret))
        .routes(routes!(handlers::list_deliveries))
}
