//! The recorder: the [`SegmentSink`] that stores every segment of every
//! rendition and indexes it once stored.
//!
//! Packager threads hand events over without waiting. One task turns them
//! into upload jobs (in order, per stream); another indexes each object as
//! the uploader reports it stored. A recording is finished by its playlists'
//! upload, which waits for every segment before it: when that completes,
//! the recording is complete and every row it needs is written.

mod completions;
mod runs;
mod tag;

use std::sync::Arc;
use std::time::Instant;

use nova_dvr::RecordingObserver;
use nova_media::{SegmentEvent, SegmentSink};
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::gate::RecordingGate;
use crate::uploader::{Completion, Submitter};

pub use tag::UploadTag;

#[derive(Clone, Debug, Default)]
pub struct RecorderConfig {
    /// Days a recording is kept when its stream does not say; `None` keeps
    /// recordings until they are deleted.
    pub default_retention_days: Option<u32>,
    /// Checked before each media segment: while it is closed, segments are
    /// skipped (the recording gets a gap) and the observer is told.
    pub gate: Arc<RecordingGate>,
}

pub struct Recorder {
    /// `None` once closed: the events task then finishes what is queued.
    /// Each event with when it arrived: a segment's upload latency counts
    /// from its close, not from its turn in this queue.
    events: std::sync::Mutex<Option<mpsc::UnboundedSender<(SegmentEvent, Instant)>>>,
}

/// The recorder's two tasks; both end once the recorder and the uploader's
/// completion channel are gone.
pub struct RecorderTasks {
    pub events: JoinHandle<()>,
    pub completions: JoinHandle<()>,
}

impl Recorder {
    /// Starts recording through `submitter`, indexing what `completions`
    /// reports stored. Must be called within a tokio runtime.
    pub fn start(
        pool: PgPool,
        submitter: Submitter<UploadTag>,
        completions: mpsc::UnboundedReceiver<Completion<UploadTag>>,
        config: RecorderConfig,
        observer: Arc<dyn RecordingObserver>,
    ) -> (Arc<Self>, RecorderTasks) {
        let (events, receiver) = mpsc::unbounded_channel();
        let tasks = RecorderTasks {
            events: tokio::spawn(runs::run(
                pool.clone(),
                submitter,
                receiver,
                config.gate.clone(),
                observer.clone(),
            )),
            completions: tokio::spawn(completions::run(pool, completions, config, observer)),
        };
        (
            Arc::new(Self {
                events: std::sync::Mutex::new(Some(events)),
            }),
            tasks,
        )
    }
}

impl Recorder {
    /// Takes no more events; the events task submits what is queued and ends.
    pub fn close(&self) {
        self.lock().take();
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, Option<mpsc::UnboundedSender<(SegmentEvent, Instant)>>> {
        self.events
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SegmentSink for Recorder {
    fn handle(&self, event: &SegmentEvent) {
        let sent = self
            .lock()
            .as_ref()
            .is_some_and(|events| events.send((event.clone(), Instant::now())).is_ok());
        if !sent {
            tracing::error!("the recorder has stopped; a segment event was not recorded");
        }
    }
}
