//! The per-stream hub: publishers in, subscribers out.
//!
//! Each live stream fans its publisher's media out to subscribers (the
//! packager feed, players, relays) without ever waiting for them, repairs
//! decode timestamps that do not increase (once, for all of them), keeps the
//! configurations and the current GOP for late joiners, lets a new publisher
//! take over, and keeps the stream live for a reconnect window when the
//! publisher drops.

mod budget;
mod dts_repair;
mod notify;
mod publisher;
mod stream;
mod subscription;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use metrics::Gauge;

use nova_media::{PublishGrant, StreamId};
use tokio_util::sync::CancellationToken;

pub use self::budget::{BITRATE_BURST, MediaLimitExceeded, MediaLimits};
use self::notify::{Notice, Notifier};
pub use self::publisher::Publisher;
pub(crate) use self::stream::StreamStats;
use self::stream::{IngestCounters, Limits, StreamState};
pub use self::subscription::Subscription;
use self::subscription::{QueueLimit, Wakeups};

/// Told when streams go live and end. Calls arrive in order, with no hub
/// lock held (an observer may call back into the hub), possibly on a
/// publisher's task: keep them short and hand heavy work to a thread.
pub trait HubObserver: Send + Sync + 'static {
    /// The stream went from idle/ended to live: its first publisher was accepted.
    /// `feed` is already subscribed, so it sees PublishStarted and every frame.
    fn stream_started(&self, stream: StreamId, feed: Subscription);
    /// No publisher is left and none came back within the reconnect window
    /// (or the publisher unpublished cleanly, or the hub was shut down).
    fn stream_ended(&self, stream: StreamId);
}

#[derive(Clone, Debug)]
pub struct HubConfig {
    /// How long a stream stays live after its publisher dropped without
    /// unpublishing (OBS reconnects after network trouble).
    pub reconnect_window: Duration,
    /// Frames a subscriber may have queued before it starts missing frames
    /// (≈ 25 s of 30 fps video with audio).
    pub subscriber_queue_frames: usize,
    /// Bytes a subscriber may have queued before it starts missing frames
    /// (≈ 20 s at 25 Mb/s); also the most the GOP cache holds.
    pub subscriber_queue_bytes: usize,
    /// What a publisher may send before it is disconnected.
    pub media_limits: MediaLimits,
    /// Replay the current GOP to late joiners, so they start on a keyframe
    /// at once instead of at the next one.
    pub gop_cache: bool,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            reconnect_window: Duration::from_secs(10),
            subscriber_queue_frames: 1500,
            subscriber_queue_bytes: 64 << 20,
            media_limits: MediaLimits::default(),
            gop_cache: true,
        }
    }
}

/// The hub was shut down and takes no more publishers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the ingest hub is shut down")]
pub struct HubClosed;

/// Cheap to clone; every clone is the same hub.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    config: HubConfig,
    /// Lock order: the registry, then a stream. A publisher's media takes
    /// only its stream's lock, so streams do not contend with each other.
    registry: Mutex<Registry>,
    notifier: Notifier,
    counters: IngestCounters,
    /// Set to the registry's size whenever it changes, under its lock.
    live_streams: Gauge,
}

struct Registry {
    streams: HashMap<StreamId, Arc<Mutex<StreamState>>>,
    closed: bool,
}

impl Hub {
    pub fn new(config: HubConfig, observer: Arc<dyn HubObserver>) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                registry: Mutex::new(Registry {
                    streams: HashMap::new(),
                    closed: false,
                }),
                notifier: Notifier::new(observer),
                counters: IngestCounters::new(),
                live_streams: metrics::gauge!(crate::metrics::LIVE_STREAMS),
            }),
        }
    }

    /// Attaches an authorized publisher to its stream: starts the stream,
    /// continues it within the reconnect window, or takes it over from the
    /// publisher it has (which is then asked to disconnect).
    pub fn publish(&self, grant: &PublishGrant) -> Result<Publisher, HubClosed> {
        let id = grant.stream_id;
        let settings = Arc::new(grant.settings.clone());
        let token = CancellationToken::new();
        let mut registry = lock(&self.inner.registry);
        if registry.closed {
            return Err(HubClosed);
        }
        let (stream, session) = match registry.streams.get(&id) {
            Some(stream) => {
                let mut state = lock(stream);
                let took_over = state.has_publisher();
                let session = state.next_session(settings, token.clone());
                if took_over {
                    tracing::info!(stream = %id, session, "a new publisher took the stream over");
                } else {
                    tracing::info!(stream = %id, session, "publisher came back within the reconnect window");
                }
                (stream.clone(), session)
            }
            None => {
                let config = &self.inner.config;
                let limits = Limits {
                    queue: QueueLimit {
                        frames: config.subscriber_queue_frames.max(1),
                        bytes: config.subscriber_queue_bytes.max(1),
                    },
                    gop_cache: config.gop_cache,
                    media: config.media_limits,
                };
                let counters = self.inner.counters.clone();
                let (state, feed) =
                    StreamState::start(id, settings, token.clone(), limits, counters);
                let stream = Arc::new(Mutex::new(state));
                registry.streams.insert(id, stream.clone());
                self.inner.count_live(&registry);
                self.inner.notifier.push(Notice::Started(id, feed));
                tracing::info!(stream = %id, "stream is live");
                (stream, 1)
            }
        };
        drop(registry);
        self.inner.notifier.dispatch();
        Ok(Publisher::new(self.clone(), stream, id, session, token))
    }

    /// Subscribes to a live stream (one with a publisher, or waiting for its
    /// publisher to come back). The subscription starts with the session's
    /// `PublishStarted`, the current configurations and the cached GOP.
    pub fn subscribe(&self, stream: StreamId) -> Option<Subscription> {
        let registry = lock(&self.inner.registry);
        let mut state = lock(registry.streams.get(&stream)?);
        Some(state.subscribe(Wakeups::PerFrame))
    }

    pub fn live_streams(&self) -> Vec<StreamId> {
        lock(&self.inner.registry).streams.keys().copied().collect()
    }

    /// What the metrics read of every live stream, now.
    pub(crate) fn stream_stats(&self) -> Vec<(StreamId, StreamStats)> {
        let streams: Vec<_> = lock(&self.inner.registry)
            .streams
            .iter()
            .map(|(id, stream)| (*id, stream.clone()))
            .collect();
        let now = Instant::now();
        streams
            .into_iter()
            .filter_map(|(id, stream)| {
                let state = lock(&stream);
                (!state.ended).then(|| (id, state.stats(now)))
            })
            .collect()
    }

    /// Ends every stream now and takes no more publishers: subscribers get
    /// `PublishStopped` and `StreamEnded`, the observer `stream_ended`, and
    /// publishers are asked to disconnect.
    pub fn shutdown(&self) {
        let mut registry = lock(&self.inner.registry);
        registry.closed = true;
        let streams: Vec<_> = registry.streams.drain().collect();
        self.inner.count_live(&registry);
        for (id, stream) in streams {
            let mut state = lock(&stream);
            if !state.ended {
                state.end();
                self.inner.notifier.push(Notice::Ended(id));
                tracing::info!(stream = %id, "stream ended: shutdown");
            }
        }
        drop(registry);
        self.inner.notifier.dispatch();
    }

    /// Disconnects the stream's publisher, if it has one, and returns
    /// whether it had. The publisher's [`Publisher::disconnect_requested`]
    /// resolves and its media is discarded from now on.
    ///
    /// With `end_now` the stream ends at once, as after a clean unpublish
    /// (also when it was waiting in its reconnect window): subscribers get
    /// `StreamEnded` and the observer `stream_ended`. Without it the stream
    /// waits for a publisher to come back within the reconnect window, as
    /// after an unclean disconnect.
    pub fn disconnect(&self, stream: StreamId, end_now: bool) -> bool {
        let Some(state) = lock(&self.inner.registry).streams.get(&stream).cloned() else {
            return false;
        };
        if end_now {
            let mut had_publisher = false;
            self.end_if(&state, |state| {
                had_publisher = state.has_publisher();
                true
            });
            if had_publisher {
                tracing::info!(%stream, "publisher disconnected and stream ended on request");
            }
            return had_publisher;
        }
        let session = {
            let mut state = lock(&state);
            if state.ended || !state.disconnect_publisher() {
                return false;
            }
            state.session
        };
        tracing::info!(%stream, session, "publisher disconnected on request; the stream waits for it to come back");
        // The publisher's drop finds itself detached and leaves the window to us.
        self.expire_later(&state, session);
        true
    }

    /// Whether [`Hub::shutdown`] ran: publishers asked to disconnect then
    /// are told the server is going away.
    fn is_shut_down(&self) -> bool {
        lock(&self.inner.registry).closed
    }

    /// Ends `stream` if it is still in the state `condition` expects.
    fn end_if(
        &self,
        stream: &Arc<Mutex<StreamState>>,
        condition: impl FnOnce(&StreamState) -> bool,
    ) {
        let mut registry = lock(&self.inner.registry);
        let mut state = lock(stream);
        if state.ended || !condition(&state) {
            return;
        }
        state.end();
        let id = state.id;
        if registry
            .streams
            .get(&id)
            .is_some_and(|current| Arc::ptr_eq(current, stream))
        {
            registry.streams.remove(&id);
            self.inner.count_live(&registry);
        }
        self.inner.notifier.push(Notice::Ended(id));
        tracing::info!(stream = %id, "stream ended");
        drop(state);
        drop(registry);
        self.inner.notifier.dispatch();
    }

    /// Ends the stream after the reconnect window unless a publisher came
    /// back by then.
    fn expire_later(&self, stream: &Arc<Mutex<StreamState>>, session: u32) {
        let abandoned =
            move |state: &StreamState| state.session == session && !state.has_publisher();
        let window = self.inner.config.reconnect_window;
        let runtime = match tokio::runtime::Handle::try_current() {
            Ok(runtime) if !window.is_zero() => runtime,
            // No window, or no runtime to time it with: end it now.
            _ => return self.end_if(stream, abandoned),
        };
        // Weak: a pending timer must not keep a shut-down hub alive.
        let hub: Weak<Inner> = Arc::downgrade(&self.inner);
        let stream = Arc::downgrade(stream);
        runtime.spawn(async move {
            tokio::time::sleep(window).await;
            if let (Some(inner), Some(stream)) = (hub.upgrade(), stream.upgrade()) {
                Hub { inner }.end_if(&stream, abandoned);
            }
        });
    }
}

impl Inner {
    /// Call with the registry locked, after changing it.
    fn count_live(&self, registry: &Registry) {
        self.live_streams.set(registry.streams.len() as f64);
    }
}

/// Locks, ignoring poison: no critical section here can leave its state
/// half-changed in a way that matters more than keeping streams running.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
