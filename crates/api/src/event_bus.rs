//! The live event bus: one broadcast channel per stream plus a bounded
//! history, so a client that reconnects with the last id it saw gets what it
//! missed. In memory, per process: events are a live feed, and the tables
//! are the record (chat history, super chats) for anything older.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::broadcast;
use utoipa::ToSchema;
use uuid::Uuid;

pub use self::payload::{
    BroadcastStatus, ChatMessageDeletedEvent, ChatSettingsChangedEvent, EventPayload,
    HealthWarningEvent, HostsChangedEvent, ResyncEvent, ResyncReason, StatusChangedEvent,
    SuperChatHiddenEvent, UserBannedEvent, UserUnbannedEvent, ViewerCountEvent,
};

mod payload;

/// What happened: the `type` of an event. Each type's `data` is described
/// by [`EventPayload`], which is also where an event's type comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    ChatMessage,
    ChatMessageDeleted,
    UserBanned,
    UserUnbanned,
    ChatSettingsChanged,
    SuperChat,
    SuperChatPinned,
    SuperChatHidden,
    SuperChatRefunded,
    HostsChanged,
    ViewerCount,
    StatusChanged,
    HealthWarning,
    /// The history no longer reaches back to the id the client asked for:
    /// it should reload state (chat history, super chats) from the API.
    Resync,
}

impl EventType {
    /// The serialized name: the `type` of the JSON and the SSE `event:` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ChatMessage => "chat_message",
            Self::ChatMessageDeleted => "chat_message_deleted",
            Self::UserBanned => "user_banned",
            Self::UserUnbanned => "user_unbanned",
            Self::ChatSettingsChanged => "chat_settings_changed",
            Self::SuperChat => "super_chat",
            Self::SuperChatPinned => "super_chat_pinned",
            Self::SuperChatHidden => "super_chat_hidden",
            Self::SuperChatRefunded => "super_chat_refunded",
            Self::HostsChanged => "hosts_changed",
            Self::ViewerCount => "viewer_count",
            Self::StatusChanged => "status_changed",
            Self::HealthWarning => "health_warning",
            Self::Resync => "resync",
        }
    }
}

/// One event on a stream's feed: `{"id", "stream_id", "at", "type", "data"}`,
/// where `type` names the kind of event and `data` is what that kind carries.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LiveEvent {
    /// Increases by one per event on this server; ids of a restarted server
    /// start above those of the previous run (they are seeded from the clock).
    pub id: u64,
    pub stream_id: Uuid,
    pub at: DateTime<Utc>,
    /// The `type` and its `data`, side by side in the event's JSON.
    #[serde(flatten)]
    pub payload: EventPayload,
}

impl LiveEvent {
    /// The event's type, as its payload says.
    pub fn kind(&self) -> EventType {
        self.payload.kind()
    }

    /// The `data` as clients receive it.
    pub fn data(&self) -> Value {
        self.payload.data()
    }
}

/// How much history each stream keeps for reconnecting clients.
#[derive(Clone, Copy, Debug)]
pub struct ReplayLimits {
    pub max_events: usize,
    pub max_age: Duration,
}

impl Default for ReplayLimits {
    fn default() -> Self {
        Self {
            max_events: 1000,
            max_age: Duration::from_secs(10 * 60),
        }
    }
}

/// Subscribers that fall this far behind lose events and get a `resync`.
const CHANNEL_CAPACITY: usize = 1024;

struct Channel {
    sender: broadcast::Sender<Arc<LiveEvent>>,
    history: VecDeque<Arc<LiveEvent>>,
    /// The newest event trimmed from `history`.
    last_dropped: Option<u64>,
}

impl Channel {
    /// `newest_id` is the newest id handed out so far. A channel is new on
    /// first use or after [`EventBus::prune`] forgot it; in the second case
    /// events before it are gone, so they count as dropped (a client that
    /// saw them gets a `resync`; one that did not never asks for them).
    fn new(newest_id: u64) -> Self {
        Self {
            sender: broadcast::channel(CHANNEL_CAPACITY).0,
            history: VecDeque::new(),
            last_dropped: Some(newest_id),
        }
    }

    fn trim(&mut self, limits: &ReplayLimits) {
        let oldest_allowed = Utc::now()
            - chrono::Duration::from_std(limits.max_age).unwrap_or(chrono::Duration::MAX);
        while self.history.len() > limits.max_events
            || self
                .history
                .front()
                .is_some_and(|event| event.at < oldest_allowed)
        {
            if let Some(dropped) = self.history.pop_front() {
                self.last_dropped = Some(dropped.id);
            }
        }
    }
}

pub struct EventBus {
    limits: ReplayLimits,
    /// The first id of this run.
    first_id: u64,
    next_id: AtomicU64,
    channels: Mutex<Channels>,
}

struct Channels {
    by_stream: HashMap<Uuid, Channel>,
    /// Set by [`EventBus::close`]: the process is shutting down.
    closed: bool,
}

/// A subscription: first what was missed, then the live receiver.
pub struct Subscription {
    /// Events after the requested id, oldest first.
    pub missed: Vec<Arc<LiveEvent>>,
    /// The requested id is older than the history: some events are gone.
    pub gap: bool,
    /// The newest id handed out when the subscription began: the receiver
    /// delivers only events after it.
    pub newest_id: u64,
    /// Ends (`RecvError::Closed`) once the bus is closed.
    pub receiver: broadcast::Receiver<Arc<LiveEvent>>,
}

impl EventBus {
    pub fn new(limits: ReplayLimits) -> Self {
        // Microseconds since the epoch: above every id of an earlier run
        // (which cannot have published a million events a second).
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |since| since.as_micros() as u64);
        Self {
            limits,
            first_id: seed,
            next_id: AtomicU64::new(seed),
            channels: Mutex::new(Channels {
                by_stream: HashMap::new(),
                closed: false,
            }),
        }
    }

    /// Sends an event to the stream's subscribers and keeps it for replay.
    /// After [`EventBus::close`] nobody is subscribed and nothing is kept.
    pub fn publish(&self, stream_id: Uuid, payload: EventPayload) -> Arc<LiveEvent> {
        let mut channels = self.channels.lock().expect("event bus lock");
        // The id is taken under the lock so history stays in id order.
        let event = Arc::new(LiveEvent {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            stream_id,
            at: Utc::now(),
            payload,
        });
        if channels.closed {
            return event;
        }
        // Before this event: the event itself is kept, not dropped.
        let newest_before = event.id - 1;
        let channel = channels
            .by_stream
            .entry(stream_id)
            .or_insert_with(|| Channel::new(newest_before));
        channel.history.push_back(event.clone());
        channel.trim(&self.limits);
        // No receivers is not an error: nobody is watching right now.
        let _ = channel.sender.send(event.clone());
        event
    }

    /// Subscribes to a stream, replaying what came after `last_seen`.
    /// Replay and live delivery are joined under one lock, so no event is
    /// missed or delivered twice between them.
    pub fn subscribe(&self, stream_id: Uuid, last_seen: Option<u64>) -> Subscription {
        let mut channels = self.channels.lock().expect("event bus lock");
        let newest_id = self.next_id.load(Ordering::Relaxed) - 1;
        if channels.closed {
            // A receiver whose sender is gone: the feed ends at once.
            let (_, receiver) = broadcast::channel(1);
            return Subscription {
                missed: Vec::new(),
                gap: false,
                newest_id,
                receiver,
            };
        }
        let channel = channels
            .by_stream
            .entry(stream_id)
            .or_insert_with(|| Channel::new(newest_id));
        channel.trim(&self.limits);
        let receiver = channel.sender.subscribe();
        let Some(last_seen) = last_seen else {
            return Subscription {
                missed: Vec::new(),
                gap: false,
                newest_id,
                receiver,
            };
        };
        let missed: Vec<_> = channel
            .history
            .iter()
            .filter(|event| event.id > last_seen)
            .cloned()
            .collect();
        // Something the client did not see is gone if history dropped an
        // event after its last one, or if its id is from an earlier run.
        let gap = last_seen < self.first_id
            || channel
                .last_dropped
                .is_some_and(|dropped| dropped > last_seen);
        Subscription {
            missed,
            gap,
            newest_id,
            receiver,
        }
    }

    /// Ends every subscription (each delivers what it already holds, then
    /// closes) and refuses new ones: for a server shutting down, so feeds
    /// say goodbye instead of being cut, and open Server-Sent Events
    /// responses finish instead of holding up a graceful shutdown.
    pub fn close(&self) {
        let mut channels = self.channels.lock().expect("event bus lock");
        channels.closed = true;
        channels.by_stream.clear();
    }

    /// Forgets streams nobody follows and nothing was said on lately.
    pub fn prune(&self) {
        let mut channels = self.channels.lock().expect("event bus lock");
        for channel in channels.by_stream.values_mut() {
            channel.trim(&self.limits);
        }
        channels.by_stream.retain(|_, channel| {
            channel.sender.receiver_count() > 0 || !channel.history.is_empty()
        });
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(ReplayLimits::default())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_json_is_id_stream_type_at_and_data() {
        let bus = EventBus::default();
        let stream = Uuid::new_v4();
        let event = bus.publish(stream, count(7));
        let json = serde_json::to_value(&*event).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["at", "data", "id", "stream_id", "type"]);
        assert_eq!(json["type"], "viewer_count");
        assert_eq!(json["data"], json!({ "current": 7 }));
        assert_eq!(json["id"], event.id);
        assert_eq!(json["stream_id"], json!(stream));
        assert_eq!(event.kind(), EventType::ViewerCount);
        assert_eq!(event.data(), json!({ "current": 7 }));
    }

    fn count(current: i32) -> EventPayload {
        EventPayload::ViewerCount(ViewerCountEvent { current })
    }

    #[test]
    fn a_reconnecting_client_gets_exactly_what_it_missed() {
        let bus = EventBus::default();
        let stream = Uuid::new_v4();
        let mut first = bus.subscribe(stream, None);
        let a = bus.publish(stream, count(1));
        assert_eq!(first.receiver.try_recv().unwrap().id, a.id);
        let b = bus.publish(stream, count(2));
        let c = bus.publish(Uuid::new_v4(), count(0));
        let d = bus.publish(stream, count(3));

        let again = bus.subscribe(stream, Some(a.id));
        assert!(!again.gap);
        let ids: Vec<u64> = again.missed.iter().map(|e| e.id).collect();
        assert_eq!(
            ids,
            [b.id, d.id],
            "other streams' events ({}) stay out",
            c.id
        );
        assert!(b.id > a.id && d.id > b.id);
    }

    #[test]
    fn history_is_bounded_and_overflow_is_a_gap() {
        let bus = EventBus::new(ReplayLimits {
            max_events: 3,
            max_age: Duration::from_secs(60),
        });
        let stream = Uuid::new_v4();
        let _keep_channel = bus.subscribe(stream, None);
        let first = bus.publish(stream, count(0));
        let rest: Vec<u64> = (0..4).map(|_| bus.publish(stream, count(0)).id).collect();
        let late = bus.subscribe(stream, Some(first.id));
        assert!(late.gap, "two events after {} were dropped", first.id);
        assert_eq!(late.missed.len(), 3);
        let recent = bus.subscribe(stream, Some(rest[1]));
        assert!(!recent.gap);
        assert_eq!(recent.missed.len(), 2);
    }

    #[test]
    fn ids_from_an_earlier_run_are_a_gap() {
        let bus = EventBus::default();
        let stream = Uuid::new_v4();
        bus.publish(
            stream,
            EventPayload::StatusChanged(StatusChangedEvent {
                status: BroadcastStatus::Live,
            }),
        );
        assert!(bus.subscribe(stream, Some(5)).gap);
    }

    #[test]
    fn pruned_streams_resync_clients_that_saw_them() {
        let bus = EventBus::new(ReplayLimits {
            max_events: 10,
            max_age: Duration::ZERO,
        });
        let stream = Uuid::new_v4();
        let seen = bus.publish(stream, count(0));
        let unseen = bus.publish(stream, count(0));
        std::thread::sleep(Duration::from_millis(2));
        bus.prune();
        let behind = bus.subscribe(stream, Some(seen.id));
        assert!(behind.missed.is_empty());
        assert!(behind.gap, "{} is gone", unseen.id);
        assert!(!bus.subscribe(stream, Some(unseen.id)).gap);
    }

    #[test]
    fn a_channel_opened_by_a_publish_keeps_that_event() {
        let bus = EventBus::default();
        let elsewhere = bus.publish(Uuid::new_v4(), count(0));
        let stream = Uuid::new_v4();
        let first = bus.publish(stream, count(1));
        let back = bus.subscribe(stream, Some(elsewhere.id));
        assert!(!back.gap, "nothing after {} was dropped", elsewhere.id);
        assert_eq!(back.missed.len(), 1);
        assert_eq!(back.missed[0].id, first.id);
        assert_eq!(back.newest_id, first.id);
    }

    #[tokio::test]
    async fn closing_ends_every_feed_after_what_it_holds() {
        let bus = EventBus::default();
        let stream = Uuid::new_v4();
        let mut open = bus.subscribe(stream, None);
        let last = bus.publish(stream, count(0));
        bus.close();
        assert_eq!(open.receiver.recv().await.unwrap().id, last.id);
        assert!(matches!(
            open.receiver.recv().await,
            Err(broadcast::error::RecvError::Closed)
        ));
        let mut late = bus.subscribe(stream, Some(last.id - 1));
        assert!(late.missed.is_empty() && !late.gap);
        assert!(matches!(
            late.receiver.recv().await,
            Err(broadcast::error::RecvError::Closed)
        ));
        bus.publish(stream, count(0));
        assert!(bus.channels.lock().unwrap().by_stream.is_empty());
    }

    #[test]
    fn type_names_are_the_serialized_ones() {
        for kind in [
            EventType::ChatMessage,
            EventType::ChatMessageDeleted,
            EventType::UserBanned,
            EventType::UserUnbanned,
            EventType::ChatSettingsChanged,
            EventType::SuperChat,
            EventType::SuperChatPinned,
            EventType::SuperChatHidden,
            EventType::SuperChatRefunded,
            EventType::HostsChanged,
            EventType::ViewerCount,
            EventType::StatusChanged,
            EventType::HealthWarning,
            EventType::Resync,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
