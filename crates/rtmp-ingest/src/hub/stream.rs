//! One live stream's state: its current publisher session, the decoder
//! configurations and GOP cache for late joiners, and its subscribers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use ::metrics::Counter;
use nova_media::{
    AudioConfig, Frame, StreamEvent, StreamId, StreamSettings, TIMEBASE_HZ, Track, VideoConfig,
};
use tokio_util::sync::CancellationToken;

use super::budget::{MediaBudget, MediaLimitExceeded, MediaLimits};
use super::dts_repair::DtsRepair;
use super::subscription::{QueueLimit, Subscriber, Subscription, Wakeups};
use crate::media::Media;
use crate::metrics;

#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    pub queue: QueueLimit,
    pub gop_cache: bool,
    pub media: MediaLimits,
}

pub(super) struct StreamState {
    pub id: StreamId,
    /// The current (or, in the reconnect window, the last) publisher's
    /// session number. Starts at 1 and increases with every publisher.
    pub session: u32,
    settings: Arc<StreamSettings>,
    /// Set while a publisher is attached; cancelling it disconnects that
    /// publisher.
    publisher: Option<CancellationToken>,
    pub ended: bool,
    video_config: Option<VideoConfig>,
    audio_config: Option<AudioConfig>,
    /// Frames since the last video keyframe, starting with it.
    gop: Vec<Frame>,
    gop_bytes: usize,
    subscribers: Vec<Subscriber>,
    limits: Limits,
    /// The current session's timestamp repair.
    dts_repair: DtsRepair,
    /// The current session's spending against the media limits.
    budget: MediaBudget,
    /// The session the hub disconnected for breaking a media limit, and
    /// which; its publisher reads it to tell the encoder why.
    over_limit: Option<(u32, MediaLimitExceeded)>,
    /// Timestamps repaired since the stream went live; every subscription
    /// reads it.
    timestamp_repairs: Arc<AtomicU64>,
    /// Bytes its publishers' connections read since the stream went live:
    /// added by the publisher's connection, outside the stream's lock.
    bytes: Arc<AtomicU64>,
    /// Frames accepted since the stream went live, by track.
    frames: [u64; 2],
    /// The current session's first frame (when, and its DTS) and latest DTS:
    /// how far the publisher is behind real time.
    pace: Option<Pace>,
    counters: IngestCounters,
}

#[derive(Clone, Copy, Debug)]
struct Pace {
    first_at: Instant,
    first_dts: i64,
    latest_dts: i64,
}

/// The process-wide counters a stream adds to at every frame: handles taken
/// once per hub, so a frame costs an atomic add, not a registry lookup.
#[derive(Clone)]
pub(crate) struct IngestCounters {
    frames: [Counter; 2],
    repairs: Counter,
    pub dropped_slow_subscriber: Counter,
}

impl IngestCounters {
    pub fn new() -> Self {
        let frames =
            |track| ::metrics::counter!(metrics::INGEST_FRAMES, "kind" => metrics::kind(track));
        Self {
            frames: [frames(Track::Video), frames(Track::Audio)],
            repairs: ::metrics::counter!(metrics::TIMESTAMP_REPAIRS),
            dropped_slow_subscriber: ::metrics::counter!(
                metrics::INGEST_DROPPED_FRAMES,
                "reason" => metrics::DROPPED_SLOW_SUBSCRIBER
            ),
        }
    }
}

/// What the metrics read of a live stream.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct StreamStats {
    pub bytes: u64,
    pub video_frames: u64,
    pub audio_frames: u64,
    /// `None` while no publisher is attached, or before its first frame.
    pub behind_seconds: Option<f64>,
}

impl StreamState {
    /// A stream going live with its first publisher, and the feed that sees
    /// all of it.
    pub fn start(
        id: StreamId,
        settings: Arc<StreamSettings>,
        publisher: CancellationToken,
        limits: Limits,
        counters: IngestCounters,
    ) -> (Self, Subscription) {
        let mut state = Self {
            id,
            session: 1,
            settings,
            publisher: Some(publisher),
            ended: false,
            video_config: None,
            audio_config: None,
            gop: Vec::new(),
            gop_bytes: 0,
            subscribers: Vec::new(),
            limits,
            dts_repair: DtsRepair::default(),
            budget: MediaBudget::new(limits.media),
            over_limit: None,
            timestamp_repairs: Arc::new(AtomicU64::new(0)),
            bytes: Arc::new(AtomicU64::new(0)),
            frames: [0; 2],
            pace: None,
            counters,
        };
        // The observer's feed goes to the packager, which acts on keyframes.
        let feed = state.subscribe(Wakeups::PerBatch);
        (state, feed)
    }

    pub fn has_publisher(&self) -> bool {
        self.publisher.is_some()
    }

    /// A new publisher for a stream that is still live: a takeover when the
    /// old one is still attached, a reconnect when it is not. Returns the new
    /// session number.
    pub fn next_session(
        &mut self,
        settings: Arc<StreamSettings>,
        publisher: CancellationToken,
    ) -> u32 {
        if let Some(previous) = self.publisher.take() {
            previous.cancel();
            self.broadcast(StreamEvent::PublishStopped {
                session: self.session,
            });
        }
        self.session += 1;
        self.settings = settings;
        self.publisher = Some(publisher);
        // The new publisher sends its own configurations, and its
        // timestamps need not continue the old ones.
        self.video_config = None;
        self.audio_config = None;
        self.clear_gop();
        self.dts_repair = DtsRepair::default();
        self.budget = MediaBudget::new(self.limits.media);
        self.pace = None;
        self.broadcast(StreamEvent::PublishStarted {
            session: self.session,
            settings: self.settings.clone(),
        });
        self.session
    }

    /// The publisher went away without unpublishing.
    pub fn detach(&mut self) {
        self.release_publisher();
    }

    /// The hub lets go of the publisher and asks it to disconnect; the
    /// stream then waits for one as after an unclean disconnect. Returns
    /// whether there was a publisher.
    pub fn disconnect_publisher(&mut self) -> bool {
        match self.release_publisher() {
            Some(publisher) => {
                publisher.cancel();
                true
            }
            None => false,
        }
    }

    fn release_publisher(&mut self) -> Option<CancellationToken> {
        let publisher = self.publisher.take()?;
        self.pace = None;
        self.clear_gop();
        self.broadcast(StreamEvent::PublishStopped {
            session: self.session,
        });
        Some(publisher)
    }

    /// The stream is over: subscribers get the last events and their queues
    /// close after them.
    pub fn end(&mut self) {
        if let Some(publisher) = self.publisher.take() {
            publisher.cancel();
            self.broadcast(StreamEvent::PublishStopped {
                session: self.session,
            });
        }
        self.broadcast(StreamEvent::StreamEnded);
        self.subscribers.clear();
        self.clear_gop();
        self.ended = true;
    }

    pub fn media(&mut self, media: Media) {
        match media {
            Media::VideoConfig(config) => {
                if self.video_config.as_ref() != Some(&config) {
                    // Cached frames were coded against the old configuration.
                    self.clear_gop();
                    self.video_config = Some(config.clone());
                    self.broadcast(StreamEvent::VideoConfig(config));
                }
            }
            Media::AudioConfig(config) => {
                if self.audio_config.as_ref() != Some(&config) {
                    self.clear_gop();
                    self.audio_config = Some(config.clone());
                    self.broadcast(StreamEvent::AudioConfig(config));
                }
            }
            Media::Frame(frame) => self.frame(frame),
        }
    }

    fn frame(&mut self, frame: Frame) {
        if let Err(exceeded) = self.budget.spend(&frame) {
            tracing::warn!(stream = %self.id, session = self.session, "disconnecting the publisher: {exceeded}");
            self.over_limit = Some((self.session, exceeded));
            self.disconnect_publisher();
            return;
        }
        let from = frame.dts;
        let (frame, repaired) = self.dts_repair.repair(frame);
        self.frames[frame.track.index()] += 1;
        self.counters.frames[frame.track.index()].increment(1);
        match &mut self.pace {
            Some(pace) => pace.latest_dts = pace.latest_dts.max(frame.dts),
            None => {
                self.pace = Some(Pace {
                    first_at: Instant::now(),
                    first_dts: frame.dts,
                    latest_dts: frame.dts,
                })
            }
        }
        if repaired {
            self.counters.repairs.increment(1);
            self.timestamp_repairs.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(stream = %self.id, session = self.session, track = ?frame.track, from, to = frame.dts, "non-increasing DTS repaired");
        }
        let limit = self.limits.queue;
        let audio_only = self.video_config.is_none();
        let dropped = &self.counters.dropped_slow_subscriber;
        self.subscribers
            .retain_mut(|subscriber| subscriber.frame(&frame, limit, audio_only, dropped));
        if self.limits.gop_cache {
            if frame.track == Track::Video && frame.keyframe {
                self.clear_gop();
            }
            if frame.track == Track::Video && frame.keyframe || !self.gop.is_empty() {
                self.gop_bytes += frame.data.len();
                self.gop.push(frame);
                if self.gop.len() > limit.frames || self.gop_bytes > limit.bytes {
                    // A GOP larger than a subscriber may queue cannot be
                    // replayed whole; late joiners wait for the next keyframe.
                    self.clear_gop();
                }
            }
        }
    }

    /// A new subscriber, brought up to date: the session's start, its
    /// configurations and the GOP so far, so it starts on a keyframe.
    pub fn subscribe(&mut self, wakeups: Wakeups) -> Subscription {
        let (mut subscriber, subscription) =
            Subscriber::new(self.id, wakeups, self.timestamp_repairs.clone());
        subscriber.control(StreamEvent::PublishStarted {
            session: self.session,
            settings: self.settings.clone(),
        });
        if let Some(config) = &self.video_config {
            subscriber.control(StreamEvent::VideoConfig(config.clone()));
        }
        if let Some(config) = &self.audio_config {
            subscriber.control(StreamEvent::AudioConfig(config.clone()));
        }
        if self.publisher.is_none() {
            subscriber.control(StreamEvent::PublishStopped {
                session: self.session,
            });
        } else if !self.gop.is_empty() {
            for frame in &self.gop {
                subscriber.push(frame);
            }
        } else if self.video_config.is_some() {
            subscriber.await_keyframe();
        }
        self.subscribers.push(subscriber);
        subscription
    }

    /// The counter the publisher's connection adds the bytes it reads to.
    pub fn bytes(&self) -> Arc<AtomicU64> {
        self.bytes.clone()
    }

    pub fn stats(&self, now: Instant) -> StreamStats {
        let behind_seconds = self.pace.filter(|_| self.has_publisher()).map(|pace| {
            let wall = now.saturating_duration_since(pace.first_at).as_secs_f64();
            let media = (pace.latest_dts - pace.first_dts) as f64 / f64::from(TIMEBASE_HZ);
            wall - media
        });
        StreamStats {
            bytes: self.bytes.load(Ordering::Relaxed),
            video_frames: self.frames[Track::Video.index()],
            audio_frames: self.frames[Track::Audio.index()],
            behind_seconds,
        }
    }

    /// The media limit `session` broke, if the hub disconnected it for one.
    pub fn limit_exceeded(&self, session: u32) -> Option<MediaLimitExceeded> {
        self.over_limit
            .filter(|(broken_by, _)| *broken_by == session)
            .map(|(_, exceeded)| exceeded)
    }

    fn clear_gop(&mut self) {
        self.gop.clear();
        self.gop_bytes = 0;
    }

    #[cfg(test)]
    pub fn subscriber_count(&self) -> usize {
        self.subscribers.len()
    }

    fn broadcast(&mut self, event: StreamEvent) {
        self.subscribers
            .retain_mut(|subscriber| subscriber.control(event.clone()));
    }
}
