//! RTMP ingest for nova-live.
//!
//! - [`Connection`]: one RTMP connection as a sans-IO state machine over
//!   rml_rtmp (bytes in, [`Action`]s out).
//! - [`Hub`]: per-stream fan-out to subscribers, the one place decode
//!   timestamps are repaired, with a GOP cache, a
//!   slow-subscriber policy that never blocks the publisher, publisher
//!   takeover and a reconnect window.
//! - [`metrics`]: the ingest's Prometheus series.
//! - [`serve`]: the tokio listener and per-connection driver that only move
//!   bytes and time between sockets, connections and the hub.

mod config;
mod connection;
mod driver;
mod hub;
mod listener;
mod media;
pub mod metrics;
mod pending_by_address;
mod timeline;

pub use config::IngestConfig;
pub use connection::{
    Action, CloseReason, Connection, ConnectionConfig, Refusal, RefusalCounters, RtmpLimits,
};
pub use hub::{
    BITRATE_BURST, Hub, HubClosed, HubConfig, HubObserver, MediaLimitExceeded, MediaLimits,
    Publisher, Subscription,
};
pub use listener::serve;
pub use media::Media;
