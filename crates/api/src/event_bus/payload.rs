//! What each event carries. The variant is the event's `type` and its
//! content the `data`, so a payload cannot be published under the wrong
//! type, and the API document describes the `data` of every type.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::EventType;
use crate::chat::view::ChatMessage;
use crate::hosts::db::{HostRole, InvitationState};
use crate::live_control::IngestHealth;
use crate::super_chats::view::SuperChatView;

/// The `type` of an event and its `data`.
// Each event is built once and shared behind an `Arc`, so the size of the
// largest variant costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum EventPayload {
    /// A new chat message, as `POST …/chat/messages` returned it.
    ChatMessage(ChatMessage),
    /// A moderator hid a chat message: hide it.
    ChatMessageDeleted(ChatMessageDeletedEvent),
    /// A user may no longer chat on the stream.
    UserBanned(UserBannedEvent),
    /// A ban was lifted.
    UserUnbanned(UserUnbannedEvent),
    /// The chat's settings changed.
    ChatSettingsChanged(ChatSettingsChangedEvent),
    /// A new super chat, as the public sees it.
    SuperChat(SuperChatView),
    /// A super chat was pinned, as the public sees it.
    SuperChatPinned(SuperChatView),
    /// A super chat was hidden: hide it.
    SuperChatHidden(SuperChatHiddenEvent),
    /// A super chat was refunded, as the public sees it.
    SuperChatRefunded(SuperChatView),
    /// A host's role or invitation changed.
    HostsChanged(HostsChangedEvent),
    /// How many watch the stream now.
    ViewerCount(ViewerCountEvent),
    /// The stream went live or ended.
    StatusChanged(StatusChangedEvent),
    /// A new kind of ingest trouble on the stream.
    HealthWarning(HealthWarningEvent),
    /// Some events are lost for this client: reload state from the API.
    Resync(ResyncEvent),
}

impl EventPayload {
    /// The type this payload is published as.
    pub fn kind(&self) -> EventType {
        match self {
            Self::ChatMessage(_) => EventType::ChatMessage,
            Self::ChatMessageDeleted(_) => EventType::ChatMessageDeleted,
            Self::UserBanned(_) => EventType::UserBanned,
            Self::UserUnbanned(_) => EventType::UserUnbanned,
            Self::ChatSettingsChanged(_) => EventType::ChatSettingsChanged,
            Self::SuperChat(_) => EventType::SuperChat,
            Self::SuperChatPinned(_) => EventType::SuperChatPinned,
            Self::SuperChatHidden(_) => EventType::SuperChatHidden,
            Self::SuperChatRefunded(_) => EventType::SuperChatRefunded,
            Self::HostsChanged(_) => EventType::HostsChanged,
            Self::ViewerCount(_) => EventType::ViewerCount,
            Self::StatusChanged(_) => EventType::StatusChanged,
            Self::HealthWarning(_) => EventType::HealthWarning,
            Self::Resync(_) => EventType::Resync,
        }
    }

    /// The `data` as clients receive it.
    pub fn data(&self) -> Value {
        let Ok(Value::Object(mut tagged)) = serde_json::to_value(self) else {
            unreachable!("an event payload serializes to an object");
        };
        tagged.remove("data").unwrap_or(Value::Null)
    }
}

/// `chat_message_deleted`: the message a moderator hid, and when.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ChatMessageDeletedEvent {
    /// The `id` of the `ChatMessage`.
    pub message_id: i64,
    pub deleted_at: DateTime<Utc>,
}

/// `user_banned`: who, and until when. The reason stays with the moderators.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UserBannedEvent {
    pub user_id: Uuid,
    /// `null`: until the ban is lifted.
    pub expires_at: Option<DateTime<Utc>>,
}

/// `user_unbanned`: whose ban was lifted.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UserUnbannedEvent {
    pub user_id: Uuid,
}

/// `chat_settings_changed`: the chat's settings now.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ChatSettingsChangedEvent {
    /// Seconds between two messages of one user (owner, co-hosts and
    /// moderators are exempt); 0 is off.
    pub slow_mode_seconds: i32,
}

/// `super_chat_hidden`: which super chat to hide.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SuperChatHiddenEvent {
    pub id: Uuid,
}

/// `hosts_changed`: whose role or invitation changed, and to what.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HostsChangedEvent {
    pub user_id: Uuid,
    pub role: HostRole,
    pub state: InvitationState,
}

/// `viewer_count`: the current viewers.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ViewerCountEvent {
    pub current: i32,
}

/// `status_changed`: the stream's status now.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StatusChangedEvent {
    pub status: BroadcastStatus,
}

/// What a stream's broadcast just did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BroadcastStatus {
    Live,
    Ended,
}

/// `health_warning`: a kind of warning the stream did not have before.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HealthWarningEvent {
    /// Which kind of warning, e.g. `stalled` or `falling_behind`.
    pub code: String,
    /// What is wrong, for people.
    pub warning: String,
    /// The stream's ingest health when the warning appeared.
    pub health: IngestHealth,
}

/// `resync`: why the client should reload state from the API.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ResyncEvent {
    pub reason: ResyncReason,
    /// What to do, for people.
    pub detail: String,
}

/// Why some events are lost for a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResyncReason {
    /// The history no longer reaches back to the id it resumed from.
    HistoryGap,
    /// It read too slowly and events were dropped for it.
    Lagged,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The `data` of the payloads that were ad-hoc JSON objects before they
    /// had types: the same fields and values as then.
    #[test]
    fn named_payloads_keep_their_json() {
        let user = Uuid::new_v4();
        let at = Utc::now();
        let health = IngestHealth {
            video_bitrate_kbps: 2500,
            audio_bitrate_kbps: 128,
            frame_rate: 30.0,
            keyframe_interval_ms: None,
            av_drift_ms: Some(-4),
            frames_dropped: 0,
            timestamp_repairs: 1,
            warnings: vec!["stalled".to_owned()],
            renditions: Vec::new(),
            measured_at: at,
        };
        let cases = [
            (
                EventPayload::ChatMessageDeleted(ChatMessageDeletedEvent {
                    message_id: 12,
                    deleted_at: at,
                }),
                json!({ "message_id": 12, "deleted_at": at }),
            ),
            (
                EventPayload::UserBanned(UserBannedEvent {
                    user_id: user,
                    expires_at: None,
                }),
                json!({ "user_id": user, "expires_at": null }),
            ),
            (
                EventPayload::UserUnbanned(UserUnbannedEvent { user_id: user }),
                json!({ "user_id": user }),
            ),
            (
                EventPayload::ChatSettingsChanged(ChatSettingsChangedEvent {
                    slow_mode_seconds: 30,
                }),
                json!({ "slow_mode_seconds": 30 }),
            ),
            (
                EventPayload::SuperChatHidden(SuperChatHiddenEvent { id: user }),
                json!({ "id": user }),
            ),
            (
                EventPayload::HostsChanged(HostsChangedEvent {
                    user_id: user,
                    role: HostRole::CoHost,
                    state: InvitationState::Invited,
                }),
                json!({ "user_id": user, "role": "co_host", "state": "invited" }),
            ),
            (
                EventPayload::ViewerCount(ViewerCountEvent { current: 3 }),
                json!({ "current": 3 }),
            ),
            (
                EventPayload::StatusChanged(StatusChangedEvent {
                    status: BroadcastStatus::Ended,
                }),
                json!({ "status": "ended" }),
            ),
            (
                EventPayload::HealthWarning(HealthWarningEvent {
                    code: "stalled".to_owned(),
                    warning: "the encoder stopped sending".to_owned(),
                    health: health.clone(),
                }),
                json!({ "code": "stalled", "warning": "the encoder stopped sending", "health": health }),
            ),
            (
                EventPayload::Resync(ResyncEvent {
                    reason: ResyncReason::HistoryGap,
                    detail: "reload".to_owned(),
                }),
                json!({ "reason": "history_gap", "detail": "reload" }),
            ),
        ];
        for (payload, data) in cases {
            assert_eq!(payload.data(), data, "{:?}", payload.kind());
            assert_eq!(
                serde_json::to_value(&payload).unwrap(),
                json!({ "type": payload.kind().as_str(), "data": data })
            );
        }
    }
}
