//! One client's view of a stream's events, whatever the transport: what it
//! missed, then the live events, with a `resync` wherever some are lost.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use crate::client_address::AddressSlot;
use crate::event_bus::{EventPayload, LiveEvent, ResyncEvent, ResyncReason, Subscription};
use crate::metrics::{self, Held};

pub(crate) struct Feed {
    stream_id: Uuid,
    /// Delivered before anything from `receiver`.
    pending: VecDeque<Arc<LiveEvent>>,
    receiver: tokio::sync::broadcast::Receiver<Arc<LiveEvent>>,
    /// The receiver skipped events: the next one it yields follows a resync.
    lagged: bool,
    /// The client address's feed slot, given back when the feed ends.
    _slot: Option<AddressSlot>,
    /// Counts this feed in `nova_event_feed_subscribers` while it lives,
    /// whichever transport carries it and however it ends.
    _subscribed: Held,
}

impl Feed {
    pub fn new(stream_id: Uuid, subscription: Subscription) -> Self {
        let Subscription {
            missed,
            gap,
            newest_id,
            receiver,
        } = subscription;
        let mut pending: VecDeque<_> = missed.into();
        if gap {
            // Before what survives, and with an id just before it, so a
            // client resuming from the resync gets exactly what follows.
            let before = pending.front().map_or(newest_id, |first| first.id - 1);
            pending.push_front(resync(stream_id, before, ResyncReason::HistoryGap));
        }
        Self {
            stream_id,
            pending,
            receiver,
            lagged: false,
            _slot: None,
            _subscribed: Held::new(metrics::EVENT_FEED_SUBSCRIBERS),
        }
    }

    /// Holds `slot` for as long as the feed lives.
    pub fn holding(mut self, slot: AddressSlot) -> Self {
        self._slot = Some(slot);
        self
    }

    /// The next event, or `None` once the bus is closed (server shutdown).
    /// Cancel-safe: dropping the future loses nothing, so a transport may
    /// wait for it alongside its own I/O.
    pub async fn next(&mut self) -> Option<Arc<LiveEvent>> {
        if let Some(event) = self.pending.pop_front() {
            return Some(event);
        }
        loop {
            match self.receiver.recv().await {
                Ok(event) if self.lagged => {
                    self.lagged = false;
                    let notice = resync(self.stream_id, event.id - 1, ResyncReason::Lagged);
                    self.pending.push_back(event);
                    return Some(notice);
                }
                Ok(event) => return Some(event),
                Err(RecvError::Lagged(skipped)) => {
                    tracing::debug!(stream = %self.stream_id, skipped, "event feed lagged");
                    self.lagged = true;
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

/// Not on the bus: each client gets its own. `id` is the last event the
/// notice covers, so resuming from it continues with what follows.
fn resync(stream_id: Uuid, id: u64, reason: ResyncReason) -> Arc<LiveEvent> {
    let detail = match reason {
        ResyncReason::HistoryGap => {
            "events after your last event id are no longer kept: reload chat, super chats and the stream from the API"
        }
        ResyncReason::Lagged => {
            "this connection fell behind and events were dropped: reload chat, super chats and the stream from the API"
        }
    };
    Arc::new(LiveEvent {
        id,
        stream_id,
        at: Utc::now(),
        payload: EventPayload::Resync(ResyncEvent {
            reason,
            detail: detail.to_owned(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::event_bus::{EventBus, EventType, ReplayLimits, ViewerCountEvent};

    fn count(current: i32) -> EventPayload {
        EventPayload::ViewerCount(ViewerCountEvent { current })
    }

    #[tokio::test]
    async fn replays_the_missed_events_then_follows_live() {
        let bus = EventBus::default();
        let stream = Uuid::new_v4();
        let seen = bus.publish(stream, count(1));
        let missed = bus.publish(stream, count(2));
        let mut feed = Feed::new(stream, bus.subscribe(stream, Some(seen.id)));
        let live = bus.publish(stream, count(3));
        assert_eq!(feed.next().await.unwrap().id, missed.id);
        assert_eq!(feed.next().await.unwrap().id, live.id);
    }

    #[tokio::test]
    async fn a_gap_starts_with_a_resync_just_before_what_survives() {
        let bus = EventBus::new(ReplayLimits {
            max_events: 2,
            max_age: Duration::from_secs(60),
        });
        let stream = Uuid::new_v4();
        let seen = bus.publish(stream, count(0));
        let ids: Vec<u64> = (0..3).map(|_| bus.publish(stream, count(0)).id).collect();
        let mut feed = Feed::new(stream, bus.subscribe(stream, Some(seen.id)));
        let notice = feed.next().await.unwrap();
        assert_eq!(notice.kind(), EventType::Resync);
        assert_eq!(notice.data()["reason"], "history_gap");
        assert_eq!(notice.id, ids[1] - 1, "{ids:?} lost {}", ids[0]);
        assert_eq!(feed.next().await.unwrap().id, ids[1]);
        assert_eq!(feed.next().await.unwrap().id, ids[2]);
    }

    #[tokio::test]
    async fn a_lagging_reader_gets_a_resync_and_continues() {
        let bus = EventBus::default();
        let stream = Uuid::new_v4();
        let mut feed = Feed::new(stream, bus.subscribe(stream, None));
        // More than the channel holds, without reading.
        let ids: Vec<u64> = (0..1100)
            .map(|_| bus.publish(stream, count(0)).id)
            .collect();
        let notice = feed.next().await.unwrap();
        assert_eq!(notice.kind(), EventType::Resync);
        assert_eq!(notice.data()["reason"], "lagged");
        let next = feed.next().await.unwrap();
        assert_eq!(notice.id, next.id - 1);
        assert!(next.id > ids[0], "the oldest were dropped");
        let mut last = next.id;
        while last != *ids.last().unwrap() {
            let event = feed.next().await.unwrap();
            assert_eq!(event.id, last + 1, "no further loss");
            last = event.id;
        }
    }

    #[tokio::test]
    async fn ends_when_the_bus_closes() {
        let bus = EventBus::default();
        let stream = Uuid::new_v4();
        let mut feed = Feed::new(stream, bus.subscribe(stream, None));
        bus.close();
        assert!(feed.next().await.is_none());
    }
}
