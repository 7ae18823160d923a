//! Recordings: `/api/v1/streams/{id}/recordings`, `/api/v1/recordings/{id}`,
//! clips, and their playback under `/vod`, `/clips` and `/dvr`. The index
//! and the playlists are the DVR crate's; this module checks who may do what
//! and serves them.

mod clips;
mod handlers;
mod paused;
mod playback;
mod ready;
mod view;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub use paused::{notify_recording_paused, notify_recording_resumed};
pub(crate) use playback::routes as playback_routes;
pub use ready::notify_recording_ready;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_recordings))
        .routes(routes!(handlers::get_recording, handlers::delete_recording))
        .routes(routes!(clips::create_clip))
}
