//! `/api/v1/streams/{id}/hosts`: co-hosts and moderators. The owner
//! invites, the invitee answers, the owner removes (or the host leaves).
//! Roles take effect at once: `StreamAccess::load` reads `stream_hosts` on
//! every request.

mod answer;
pub(crate) mod db;
mod input;
mod invite;
mod params;
mod read;
mod view;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(read::list_hosts, invite::invite_host))
        .routes(routes!(read::get_host, answer::remove_host))
        .routes(routes!(answer::accept_invitation))
        .routes(routes!(answer::decline_invitation))
}
