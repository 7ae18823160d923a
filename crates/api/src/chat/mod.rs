//! `/api/v1/streams/{id}/chat`: live chat, its moderation (hiding messages,
//! bans) and its rules (slow mode, banned words). Every change is published
//! on the stream's events feed after it is stored.

mod bans;
mod db;
mod input;
mod messages;
mod rules;
mod settings;
pub(crate) mod view;

/// Chat pages are longer than other lists: a screenful of messages.
const PAGE_LIMIT: u32 = 50;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(messages::list_messages, messages::post_message))
        .routes(routes!(messages::get_message, messages::delete_message))
        .routes(routes!(bans::list_bans, bans::ban_user))
        .routes(routes!(bans::get_ban, bans::unban_user))
        .routes(routes!(settings::get_settings, settings::update_settings))
}
