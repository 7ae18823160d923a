//! What the chat API shows. Rows map onto these directly: chat has no
//! column a client may not see (hidden messages are filtered by role).

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ChatMessage {
    /// Increases with each message of the server (not per stream).
    pub id: i64,
    pub stream_id: Uuid,
    pub author_id: Uuid,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// When a moderator hid it. Hidden messages are kept for appeals and
    /// listed to the stream's owner, co-hosts and moderators only.
    pub deleted_at: Option<DateTime<Utc>>,
    /// Who hid it.
    pub deleted_by: Option<Uuid>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ChatMessagePage {
    /// Newest first.
    pub items: Vec<ChatMessage>,
    /// Pass as `cursor` for older messages; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A user kept out of one stream's chat. Identified by `user_id` within
/// the stream: a user has at most one ban per stream.
#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub(crate) struct ChatBan {
    pub stream_id: Uuid,
    pub user_id: Uuid,
    pub banned_by: Uuid,
    /// For the moderators; never shown to the banned user. Empty if none.
    pub reason: String,
    pub created_at: DateTime<Utc>,
    /// `null`: until lifted.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ChatBanPage {
    /// Bans in force, newest first.
    pub items: Vec<ChatBan>,
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub(crate) struct ChatSettings {
    /// Seconds between two messages of one user (owner, co-hosts and
    /// moderators are exempt); 0 is off.
    #[schema(minimum = 0, maximum = 3600)]
    pub slow_mode_seconds: i32,
    /// Lower-case words and phrases refused in messages, sorted.
    pub banned_words: Vec<String>,
}
