//! The two ends of one subscriber's queue, and the policy that keeps a slow
//! subscriber from ever blocking the publisher.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use metrics::Counter;
use nova_media::{Frame, StreamEvent, StreamId, Track};
use tokio::sync::mpsc;

/// A consumer's view of one live stream: [`StreamEvent`]s in order.
///
/// `recv` returns `None` after `StreamEnded` (the hub drops its sender), or
/// when the hub dropped this subscriber.
pub struct Subscription {
    stream: StreamId,
    rx: mpsc::UnboundedReceiver<StreamEvent>,
    queued: Arc<Queued>,
    timestamp_repairs: Arc<AtomicU64>,
}

/// What a subscriber has queued and not yet received: shared by its two ends.
#[derive(Debug, Default)]
struct Queued {
    frames: AtomicUsize,
    bytes: AtomicUsize,
}

impl Queued {
    fn add(&self, frame: &Frame) {
        self.frames.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(frame.data.len(), Ordering::Relaxed);
    }

    fn remove(&self, frame: &Frame) {
        self.frames.fetch_sub(1, Ordering::Relaxed);
        self.bytes.fetch_sub(frame.data.len(), Ordering::Relaxed);
    }

    fn reached(&self, limit: QueueLimit) -> bool {
        self.frames.load(Ordering::Relaxed) >= limit.frames
            || self.bytes.load(Ordering::Relaxed) >= limit.bytes
    }

    fn is_empty(&self) -> bool {
        self.frames.load(Ordering::Relaxed) == 0
    }
}

/// How much a subscriber may have queued before it starts missing frames:
/// a count (a bound on per-frame overhead) and bytes (a bound on memory,
/// whatever the bitrate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct QueueLimit {
    pub frames: usize,
    pub bytes: usize,
}

impl Subscription {
    pub fn stream(&self) -> StreamId {
        self.stream
    }

    pub async fn recv(&mut self) -> Option<StreamEvent> {
        let event = self.rx.recv().await;
        self.received(&event);
        event
    }

    /// For consumers on their own threads (the packager). Panics if called
    /// from inside an async runtime, like tokio's `blocking_recv`.
    pub fn blocking_recv(&mut self) -> Option<StreamEvent> {
        let event = self.rx.blocking_recv();
        self.received(&event);
        event
    }

    /// The next event if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<StreamEvent> {
        let event = self.rx.try_recv().ok();
        self.received(&event);
        event
    }

    /// Frames queued for this subscriber and not yet received.
    pub fn queued_frames(&self) -> usize {
        self.queued.frames.load(Ordering::Relaxed)
    }

    /// Bytes of media queued for this subscriber and not yet received.
    pub fn queued_bytes(&self) -> usize {
        self.queued.bytes.load(Ordering::Relaxed)
    }

    /// Frames of the stream whose DTS the hub repaired (it did not
    /// increase) since the stream went live, whether or not this subscriber
    /// has received them yet.
    pub fn timestamp_repairs(&self) -> u64 {
        self.timestamp_repairs.load(Ordering::Relaxed)
    }

    fn received(&self, event: &Option<StreamEvent>) {
        if let Some(StreamEvent::Frame(frame)) = event {
            self.queued.remove(frame);
        }
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("stream", &self.stream)
            .field("queued_frames", &self.queued_frames())
            .field("queued_bytes", &self.queued_bytes())
            .field("timestamp_repairs", &self.timestamp_repairs())
            .finish()
    }
}

/// The hub's end of a subscriber's queue.
///
/// Delivery never waits: the queue is unbounded, and the bound is a policy
/// on frames and bytes. Once a [`QueueLimit`] is reached, frames are dropped until the
/// subscriber can resume on a clean point (a video keyframe; in an
/// audio-only stream, any frame once the queue has drained), and the
/// subscriber learns how many it missed from `FramesDropped`. Control events
/// are never dropped: they are few, and a consumer needs every one of them.
pub(super) struct Subscriber {
    tx: mpsc::UnboundedSender<StreamEvent>,
    queued: Arc<Queued>,
    delivery: Delivery,
    /// Frames held back for a [`Wakeups::PerBatch`] subscriber.
    batch: Option<Vec<StreamEvent>>,
}

/// How often a subscriber's consumer is woken.
///
/// A batch is also handed over once it spans [`BATCH_SPAN_MS`] of media
/// time, so LL-HLS parts (RFC 8216bis §4.4.4.9, ~0.5 s) are never held up
/// by the batching.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Wakeups {
    /// At every frame: for consumers that forward frames as they come
    /// (RTMP players, relays).
    PerFrame,
    /// At every video keyframe, control event, [`BATCH_FRAMES`] frames, or
    /// [`BATCH_SPAN_MS`] of media time.
    /// For consumers that can only act on a keyframe anyway (the packager
    /// closes segments there): waking a thread costs more than the frame.
    PerBatch,
}

/// The most frames a [`Wakeups::PerBatch`] subscriber waits for: about half
/// a second of a 30 fps stream with audio, and a bound for audio-only ones.
pub(super) const BATCH_FRAMES: usize = 40;

/// The most media time a [`Wakeups::PerBatch`] batch spans: a fifth of an
/// LL-HLS part target, still a handful of frames per wakeup.
pub(super) const BATCH_SPAN_MS: i64 = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Delivery {
    Flowing,
    /// Joined a stream with video but no cached GOP: frames before the
    /// first keyframe would not decode.
    AwaitingKeyframe,
    Dropping {
        count: u64,
    },
}

impl Subscriber {
    pub(super) fn new(
        stream: StreamId,
        wakeups: Wakeups,
        timestamp_repairs: Arc<AtomicU64>,
    ) -> (Self, Subscription) {
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(Queued::default());
        let subscriber = Self {
            tx,
            queued: queued.clone(),
            delivery: Delivery::Flowing,
            batch: match wakeups {
                Wakeups::PerFrame => None,
                Wakeups::PerBatch => Some(Vec::with_capacity(BATCH_FRAMES)),
            },
        };
        let subscription = Subscription {
            stream,
            rx,
            queued,
            timestamp_repairs,
        };
        (subscriber, subscription)
    }

    pub(super) fn await_keyframe(&mut self) {
        self.delivery = Delivery::AwaitingKeyframe;
    }

    /// Sends a control event, after any frames held back. `false` once the
    /// subscription is gone.
    pub(super) fn control(&mut self, event: StreamEvent) -> bool {
        self.flush() && self.tx.send(event).is_ok()
    }

    /// Hands held-back frames to the consumer: one wakeup for all of them.
    fn flush(&mut self) -> bool {
        let Some(batch) = &mut self.batch else {
            return true;
        };
        // On failure the rest of the drained batch is dropped with it.
        batch.drain(..).all(|event| self.tx.send(event).is_ok())
    }

    /// Offers a frame under the drop policy, counting it in `dropped` if
    /// the policy drops it. `false` once the subscription is gone.
    pub(super) fn frame(
        &mut self,
        frame: &Frame,
        limit: QueueLimit,
        audio_only: bool,
        dropped: &Counter,
    ) -> bool {
        let resumable = frame.track == Track::Video && frame.keyframe;
        let full = self.queued.reached(limit);
        match self.delivery {
            Delivery::Flowing if full => {
                dropped.increment(1);
                self.delivery = Delivery::Dropping { count: 1 };
                !self.tx.is_closed()
            }
            Delivery::Flowing => self.push(frame),
            Delivery::AwaitingKeyframe if resumable || audio_only => {
                self.delivery = Delivery::Flowing;
                self.push(frame)
            }
            Delivery::AwaitingKeyframe => !self.tx.is_closed(),
            Delivery::Dropping { count }
                if (resumable && !full) || (audio_only && self.queued.is_empty()) =>
            {
                self.delivery = Delivery::Flowing;
                self.control(StreamEvent::FramesDropped { count }) && self.push(frame)
            }
            Delivery::Dropping { count } => {
                dropped.increment(1);
                self.delivery = Delivery::Dropping { count: count + 1 };
                !self.tx.is_closed()
            }
        }
    }

    /// Queues a frame regardless of the policy (GOP replay to a new
    /// subscriber, whose queue is empty).
    pub(super) fn push(&mut self, frame: &Frame) -> bool {
        self.queued.add(frame);
        if let Some(batch) = &mut self.batch {
            let first_dts = match batch.first() {
                Some(StreamEvent::Frame(first)) => first.dts,
                _ => frame.dts,
            };
            batch.push(StreamEvent::Frame(frame.clone()));
            let keyframe = frame.track == Track::Video && frame.keyframe;
            let spans = frame.dts - first_dts >= BATCH_SPAN_MS;
            return if keyframe || spans || batch.len() >= BATCH_FRAMES {
                self.flush()
            } else {
                !self.tx.is_closed()
            };
        }
        if self.tx.send(StreamEvent::Frame(frame.clone())).is_ok() {
            true
        } else {
            self.queued.remove(frame);
            false
        }
    }
}
