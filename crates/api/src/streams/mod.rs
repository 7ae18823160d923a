//! `/api/v1/streams`: live streams, their keys, and the owner's controls
//! over a live broadcast.

mod body;
mod db;
mod handlers;
mod input;
mod list;
mod manage;
mod view;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list::list_streams, handlers::create_stream))
        .routes(routes!(
            handlers::get_stream,
            handlers::update_stream,
            manage::delete_stream
        ))
        .routes(routes!(manage::reset_stream_key))
        .routes(routes!(manage::disable_stream))
        .routes(routes!(manage::enable_stream))
        .routes(routes!(manage::end_stream))
}
