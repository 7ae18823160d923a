//! `/api/v1/streams`: a creator's live streams.

mod cursor;
mod db;
mod handlers;
mod input;
mod view;

pub(crate) use cursor::Cursor;
pub(crate) use db::StreamStatus;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_streams, handlers::create_stream))
        .routes(routes!(handlers::get_stream))
}
