//! `/api/v1/streams`: a creator's live streams.

mod cursor;
mod db;
mod handlers;
mod input;
mod view;

use axum::Router;
use axum::routing::get;

use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/streams",
            get(handlers::list_streams).post(handlers::create_stream),
        )
        .route("/api/v1/streams/{id}", get(handlers::get_stream))
}
