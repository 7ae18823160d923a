//! `/api/v1/streams/{id}/viewers`: viewer sessions (join, heartbeat, leave)
//! and the statistics the viewer sweep keeps from them.

mod db;
mod handlers;
mod input;
mod sweep;
mod tally;
mod view;

pub use sweep::{ViewerSweep, sweep_viewers};
pub(crate) use tally::ViewerTally;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::join))
        .routes(routes!(handlers::heartbeat))
        .routes(routes!(handlers::leave))
        .routes(routes!(handlers::stats))
}
