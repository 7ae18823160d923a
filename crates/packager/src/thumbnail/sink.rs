//! The thumbnailer: a [`SegmentSink`] that picks a segment per interval and
//! renders it on its own worker thread, never on a packager's.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nova_media::{SegmentEvent, SegmentSink, StreamId};

use super::render::render;
use super::schedule::{Input, StreamThumbnails, Thumbnail};

/// How often ended streams are looked for and forgotten.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
pub struct ThumbnailConfig {
    /// At most one thumbnail per stream per this much media time; also how
    /// long HTTP caches may keep one.
    pub interval: Duration,
    /// Wider pictures are scaled down to this width.
    pub max_width: u32,
    /// How long an ended stream's last thumbnail stays served.
    pub ended_retention: Duration,
}

impl Default for ThumbnailConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5),
            max_width: 640,
            ended_retention: Duration::from_secs(60),
        }
    }
}

/// Running totals, for logs and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThumbnailStats {
    pub rendered: u64,
    /// Segments that gave no picture (logged at debug).
    pub failed: u64,
    /// Due segments passed over because the worker was still rendering.
    pub skipped_busy: u64,
}

struct Job {
    stream: StreamId,
    input: Input,
}

/// What the sink and its worker share.
#[derive(Default)]
struct Shared {
    streams: Mutex<HashMap<StreamId, StreamThumbnails>>,
    /// A job is queued or rendering. One at a time bounds the work to one
    /// core's share however many streams there are: a busy worker means
    /// the due segment is skipped, and its stream stays due.
    busy: Mutex<bool>,
    idle: Condvar,
    rendered: AtomicU64,
    failed: AtomicU64,
    skipped_busy: AtomicU64,
}

/// Keeps the latest JPEG of a recent keyframe of every live stream.
pub struct Thumbnailer {
    config: ThumbnailConfig,
    shared: Arc<Shared>,
    jobs: Sender<Job>,
    last_sweep: Mutex<Instant>,
}

impl Thumbnailer {
    /// Starts the worker thread, which stops when the thumbnailer is dropped.
    pub fn start(config: ThumbnailConfig) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let (jobs, queue) = channel();
        let worker = WorkerContext {
            shared: shared.clone(),
            max_width: config.max_width,
        };
        // Threads do not inherit spans: the worker logs in its starter's.
        let span = tracing::Span::current();
        std::thread::Builder::new()
            .name("thumbnails".to_owned())
            .spawn(move || span.in_scope(|| worker.run(queue)))?;
        Ok(Self {
            config,
            shared,
            jobs,
            last_sweep: Mutex::new(Instant::now()),
        })
    }

    pub fn config(&self) -> &ThumbnailConfig {
        &self.config
    }

    /// The stream's latest thumbnail and when its keyframe was captured.
    pub fn latest(&self, stream: StreamId) -> Option<(bytes::Bytes, std::time::SystemTime)> {
        let streams = lock(&self.shared.streams);
        let state = streams.get(&stream)?;
        if state.expired(Instant::now(), self.config.ended_retention) {
            return None;
        }
        state
            .latest()
            .map(|thumbnail| (thumbnail.jpeg.clone(), thumbnail.captured_at))
    }

    pub fn stats(&self) -> ThumbnailStats {
        ThumbnailStats {
            rendered: self.shared.rendered.load(Ordering::Relaxed),
            failed: self.shared.failed.load(Ordering::Relaxed),
            skipped_busy: self.shared.skipped_busy.load(Ordering::Relaxed),
        }
    }

    /// Blocks until the worker has nothing queued or rendering, e.g. before
    /// a test looks at the result of the segments it fed in.
    pub fn wait_idle(&self) {
        let busy = lock(&self.shared.busy);
        drop(
            self.shared
                .idle
                .wait_while(busy, |busy| *busy)
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
    }

    /// Claims the worker if it is idle.
    fn claim_worker(&self) -> bool {
        let mut busy = lock(&self.shared.busy);
        !std::mem::replace(&mut *busy, true)
    }

    fn sweep(&self, now: Instant) {
        {
            let mut last = lock(&self.last_sweep);
            if now.duration_since(*last) < SWEEP_INTERVAL {
                return;
            }
            *last = now;
        }
        let retention = self.config.ended_retention;
        lock(&self.shared.streams).retain(|_, state| !state.expired(now, retention));
    }
}

impl SegmentSink for Thumbnailer {
    fn handle(&self, event: &SegmentEvent) {
        let now = Instant::now();
        let job = {
            let mut streams = lock(&self.shared.streams);
            match event {
                SegmentEvent::Started { stream, .. } => {
                    streams.entry(*stream).or_default().restart();
                    None
                }
                SegmentEvent::Init(init) => {
                    streams.entry(init.stream).or_default().add_init(init);
                    None
                }
                SegmentEvent::Segment(segment) => {
                    let state = streams.entry(segment.stream).or_default();
                    match state.due(segment, self.config.interval) {
                        Some(input) if self.claim_worker() => {
                            state.taken(segment.start_ms);
                            Some(Job {
                                stream: segment.stream,
                                input,
                            })
                        }
                        Some(_) => {
                            self.shared.skipped_busy.fetch_add(1, Ordering::Relaxed);
                            None
                        }
                        None => None,
                    }
                }
                SegmentEvent::Ended { stream } => {
                    if let Some(state) = streams.get_mut(stream) {
                        state.end(now);
                    }
                    None
                }
            }
        };
        if let Some(job) = job
            && self.jobs.send(job).is_err()
        {
            // The worker is gone (it cannot panic out of its loop, so only
            // at shutdown): release the claim so waiters do not hang.
            self.shared.release();
        }
        self.sweep(now);
    }
}

struct WorkerContext {
    shared: Arc<Shared>,
    max_width: u32,
}

impl WorkerContext {
    fn run(self, queue: Receiver<Job>) {
        for Job { stream, input } in queue {
            let (name, captured_at) = (input.name.clone(), input.captured_at);
            let media = input.into_media();
            // FFmpeg-next asserts on a few impossible states; one bad
            // segment must not end thumbnails for every stream.
            let rendered = catch_unwind(AssertUnwindSafe(|| render(media, self.max_width)));
            match rendered {
                Ok(Ok(jpeg)) => {
                    self.shared.rendered.fetch_add(1, Ordering::Relaxed);
                    count_thumbnail("written");
                    if let Some(state) = lock(&self.shared.streams).get_mut(&stream) {
                        state.store(Thumbnail {
                            jpeg: jpeg.data,
                            captured_at,
                        });
                    }
                }
                Ok(Err(error)) => {
                    self.shared.failed.fetch_add(1, Ordering::Relaxed);
                    count_thumbnail("failed");
                    tracing::debug!(%stream, segment = %name, %error, "no thumbnail from this segment");
                }
                Err(_) => {
                    self.shared.failed.fetch_add(1, Ordering::Relaxed);
                    count_thumbnail("failed");
                    tracing::debug!(%stream, segment = %name, "rendering a thumbnail panicked");
                }
            }
            self.shared.release();
        }
    }
}

impl Shared {
    fn release(&self) {
        *lock(&self.busy) = false;
        self.idle.notify_all();
    }
}

fn count_thumbnail(outcome: &'static str) {
    metrics::counter!(crate::metrics::THUMBNAILS, "outcome" => outcome).increment(1);
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
