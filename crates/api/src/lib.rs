//! HTTP for nova-live: the management REST API (`/api/v1`), bearer-token
//! auth, the live playback routes (`/live/…`), health checks, and the SQL
//! behind them, including the stream-key check the RTMP ingest asks for.

mod access;
mod admission;
mod auth;
mod background;
mod chat;
mod client_address;
mod clock;
mod config;
mod error;
mod event_bus;
mod events;
mod extract;
mod health;
mod hosts;
mod json;
mod live_control;
pub mod metrics;
mod openapi;
mod paging;
mod playback;
mod publish_authorizer;
mod rate_limit;
mod readiness;
mod recordings;
mod request_id;
mod request_timeout;
mod router;
mod state;
mod stream_key;
mod stream_settings;
mod stream_status;
mod streams;
mod super_chats;
mod viewers;
mod webhooks;

pub use admission::{AdmissionLimits, LiveStreams};
pub use auth::JwtKeys;
pub use background::{BackgroundConfig, spawn_background_tasks};
pub use config::{ApiConfig, ChatConfig, ClientLimits, SuperChatTier};
pub use event_bus::{
    BroadcastStatus, ChatMessageDeletedEvent, ChatSettingsChangedEvent, EventBus, EventPayload,
    EventType, HealthWarningEvent, HostsChangedEvent, LiveEvent, ReplayLimits, ResyncEvent,
    ResyncReason, StatusChangedEvent, Subscription, SuperChatHiddenEvent, UserBannedEvent,
    UserUnbannedEvent, ViewerCountEvent,
};
pub use live_control::{IngestHealth, LiveControl, RenditionHealth, RenditionState};
pub use publish_authorizer::PgPublishAuthorizer;
pub use rate_limit::RateLimit;
pub use readiness::Readiness;
pub use recordings::{notify_recording_paused, notify_recording_ready, notify_recording_resumed};
pub use router::app;
pub use state::AppState;
pub use stream_status::{end_orphaned_live_streams, mark_stream_ended, mark_stream_live};
pub use viewers::{ViewerSweep, sweep_viewers};
pub use webhooks::{RetrySchedule, WebhookDeliveryConfig, WebhookSender};
