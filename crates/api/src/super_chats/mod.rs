//! `/api/v1/streams/{id}/super-chats`: paid messages. Payment capture is
//! outside this engine; a request here stands for a captured payment and is
//! recorded once per idempotency key.

mod create;
mod currency;
mod db;
mod input;
mod moderate;
mod params;
mod read;
mod tiers;
pub(crate) mod view;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(read::list_super_chats, create::create_super_chat))
        .routes(routes!(read::super_chat_totals))
        .routes(routes!(read::get_super_chat))
        .routes(routes!(moderate::pin_super_chat))
        .routes(routes!(moderate::hide_super_chat))
        .routes(routes!(moderate::refund_super_chat))
}
