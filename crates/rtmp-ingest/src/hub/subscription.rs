//! The two ends of one subscriber's queue, and the policy that keeps a slow
//! subscriber from ever blocking the publisher.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use nova_media::{Frame, StreamEvent, StreamId, Track};
use tokio::sync::mpsc;

/// A consumer's view of one live stream: [`StreamEvent`]s in order.
///
/// `recv` returns `None` after `StreamEnded` (the hub drops its sender), or
/// when the hub dropped this subscriber.
pub struct Subscription {
    stream: StreamId,
    rx: mpsc::UnboundedReceiver<StreamEvent>,
    queued_frames: Arc<AtomicUsize>,
    timestamp_repairs: Arc<AtomicU64>,
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
        self.queued_frames.load(Ordering::Relaxed)
    }

    /// Frames of the stream whose DTS the hub repaired (it did not
    /// increase) since the stream went live, whether or not this subscriber
    /// has received them yet.
    pub fn timestamp_repairs(&self) -> u64 {
        self.timestamp_repairs.load(Ordering::Relaxed)
    }

    fn received(&self, event: &Option<StreamEvent>) {
        if let Some(StreamEvent::Frame(_)) = event {
            self.queued_frames.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("stream", &self.stream)
            .field("queued_frames", &self.queued_frames())
            .field("timestamp_repairs", &self.timestamp_repairs())
            .finish()
    }
}

/// The hub's end of a subscriber's queue.
///
/// Delivery never waits: the queue is unbounded, and the bound is a policy
/// on frames. Once `limit` frames are queued, frames are dropped until the
/// subscriber can resume on a clean point (a video keyframe; in an
/// audio-only stream, any frame once the queue has drained), and the
/// subscriber learns how many it missed from `FramesDropped`. Control events
/// are never dropped: they are few, and a consumer needs every one of them.
pub(super) struct Subscriber {
    tx: mpsc::UnboundedSender<StreamEvent>,
    queued_frames: Arc<AtomicUsize>,
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
        let queued_frames = Arc::new(AtomicUsize::new(0));
        let subscriber = Self {
            tx,
            queued_frames: queued_frames.clone(),
            delivery: Delivery::Flowing,
            batch: match wakeups {
                Wakeups::PerFrame => None,
                Wakeups::PerBatch => Some(Vec::with_capacity(BATCH_FRAMES)),
            },
        };
        let subscription = Subscription {
            stream,
            rx,
            queued_frames,
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

    /// Offers a frame under the drop policy. `false` once the subscription
    /// is gone.
    pub(super) fn frame(&mut self, frame: &Frame, limit: usize, audio_only: bool) -> bool {
        let resumable = frame.track == Track::Video && frame.keyframe;
        let queued = self.queued_frames.load(Ordering::Relaxed);
        match self.delivery {
            Delivery::Flowing if queued >= limit => {
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
                if (resumable && queued < limit) || (audio_only && queued == 0) =>
            {
                self.delivery = Delivery::Flowing;
                self.control(StreamEvent::FramesDropped { count }) && self.push(frame)
            }
            Delivery::Dropping { count } => {
                self.delivery = Delivery::Dropping { count: count + 1 };
                !self.tx.is_closed()
            }
        }
    }

    /// Queues a frame regardless of the policy (GOP replay to a new
    /// subscriber, whose queue is empty).
    pub(super) fn push(&mut self, frame: &Frame) -> bool {
        self.queued_frames.fetch_add(1, Ordering::Relaxed);
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
            self.queued_frames.fetch_sub(1, Ordering::Relaxed);
            false
        }
    }
}
