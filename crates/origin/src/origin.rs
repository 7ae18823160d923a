//! The live origin: every stream's live windows, the sink the packagers
//! write to, and what HTTP serves under `/live/{stream}/`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use nova_media::{
    LiveEdge, LivePlayback, PartialSegment, PlaybackObject, SegmentEvent, SegmentSink, StreamId,
    StreamSettings, part_limit,
};

use crate::rendition_window::WindowConfig;
use crate::stream::OriginStream;

/// How often ended streams are looked for and forgotten.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// What applies to every stream. A rendition window's size and target
/// duration are the stream's own settings, from `SegmentEvent::Started`.
#[derive(Clone, Debug)]
pub struct OriginConfig {
    /// How long an ended stream's final playlist and segments stay served.
    pub ended_retention: Duration,
    /// Absolute URL of a clock answering with an xs:dateTime, for the MPD's
    /// `UTCTiming` (ISO/IEC 23009-1 §5.8.5.7): DASH players place the live
    /// edge by it, and may not reach any public time server.
    pub clock_url: Option<Arc<str>>,
}

impl Default for OriginConfig {
    fn default() -> Self {
        Self {
            ended_retention: Duration::from_secs(600),
            clock_url: None,
        }
    }
}

/// Every stream's live windows. Packager threads write through
/// [`SegmentSink`]; HTTP handlers read through [`LivePlayback`].
///
/// Playlists are rendered when a segment arrives, so a read only clones
/// reference-counted bytes under a brief lock.
pub struct Origin {
    config: OriginConfig,
    streams: RwLock<HashMap<StreamId, Arc<Mutex<OriginStream>>>>,
    last_sweep: Mutex<Instant>,
}

impl Origin {
    pub fn new() -> Self {
        Self::with_config(OriginConfig::default())
    }

    pub fn with_config(config: OriginConfig) -> Self {
        Self {
            config,
            streams: RwLock::new(HashMap::new()),
            last_sweep: Mutex::new(Instant::now()),
        }
    }

    fn stream(&self, stream: StreamId) -> Option<Arc<Mutex<OriginStream>>> {
        self.streams
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&stream)
            .cloned()
    }

    /// The stream's windows; empty ones with default settings if its
    /// `Started` was never seen.
    fn stream_or_insert(&self, stream: StreamId) -> Arc<Mutex<OriginStream>> {
        if let Some(origin_stream) = self.stream(stream) {
            return origin_stream;
        }
        let defaults = StreamSettings::default();
        let (container, config) = (defaults.container, window_config(&defaults));
        self.streams
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(stream)
            .or_insert_with(|| {
                let clock_url = self.config.clock_url.clone();
                Arc::new(Mutex::new(OriginStream::new(container, config, clock_url)))
            })
            .clone()
    }

    /// Forgets streams that ended more than `ended_retention` ago.
    fn sweep(&self, now: Instant) {
        {
            let mut last = lock(&self.last_sweep);
            if now.duration_since(*last) < SWEEP_INTERVAL {
                return;
            }
            *last = now;
        }
        let retention = self.config.ended_retention;
        let mut streams = self
            .streams
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        streams.retain(|_, origin_stream| {
            let mut origin_stream = lock(origin_stream);
            origin_stream.expire(now);
            origin_stream
                .ended_at()
                .is_none_or(|ended| now.duration_since(ended) < retention)
        });
    }
}

impl Origin {
    /// The segments cut so far in each stream whose run is live (not
    /// ended), for the metrics.
    pub fn live_segment_counts(&self) -> Vec<(StreamId, u64)> {
        let streams: Vec<_> = self
            .streams
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .map(|(id, stream)| (*id, stream.clone()))
            .collect();
        streams
            .into_iter()
            .filter_map(|(id, stream)| {
                let stream = lock(&stream);
                stream
                    .ended_at()
                    .is_none()
                    .then(|| (id, stream.segments_cut()))
            })
            .collect()
    }
}

impl Default for Origin {
    fn default() -> Self {
        Self::new()
    }
}

impl SegmentSink for Origin {
    fn handle(&self, event: &SegmentEvent) {
        let now = Instant::now();
        match event {
            SegmentEvent::Started { stream, settings } => {
                lock(&self.stream_or_insert(*stream)).restart(
                    settings.container,
                    window_config(settings),
                    now,
                );
            }
            SegmentEvent::Init(init) => {
                lock(&self.stream_or_insert(init.stream)).add_init(init);
            }
            SegmentEvent::Segment(segment) => {
                lock(&self.stream_or_insert(segment.stream)).add_segment(segment, now);
            }
            SegmentEvent::Ended { stream } => {
                if let Some(origin_stream) = self.stream(*stream) {
                    lock(&origin_stream).end(now);
                }
            }
        }
        self.sweep(now);
    }

    fn part(&self, part: &PartialSegment) {
        lock(&self.stream_or_insert(part.stream)).add_part(part);
        // Servable from here: the window's lock is released.
        if let Some(arrived) = part.last_frame_arrived {
            metrics::histogram!(crate::metrics::LLHLS_PART_AVAILABILITY)
                .record(arrived.elapsed().as_secs_f64());
        }
    }

    fn rendition_dropped(&self, stream: StreamId, rendition: &str) {
        if let Some(origin_stream) = self.stream(stream) {
            lock(&origin_stream).drop_rendition(rendition);
        }
    }
}

impl LivePlayback for Origin {
    fn get(&self, stream: StreamId, name: &str) -> Option<PlaybackObject> {
        let origin_stream = self.stream(stream)?;
        lock(&origin_stream).object(name, Instant::now())
    }

    fn live_edge(&self, stream: StreamId, rendition: &str) -> Option<LiveEdge> {
        let origin_stream = self.stream(stream)?;
        lock(&origin_stream).live_edge(rendition)
    }

    fn changes(&self, stream: StreamId) -> Option<tokio::sync::watch::Receiver<()>> {
        let origin_stream = self.stream(stream)?;
        Some(lock(&origin_stream).changes())
    }
}

fn window_config(settings: &StreamSettings) -> WindowConfig {
    WindowConfig {
        segments: settings.live_window_segments,
        min_target_secs: (settings.target_segment_duration.as_millis() as u64).div_ceil(1000),
        part_target_ms: u64::try_from(part_limit(settings.part_target_duration).as_millis())
            .unwrap_or(550),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
