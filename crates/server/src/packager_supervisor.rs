//! Supervises the packager threads: the hub's observer starts one per live
//! stream (which also measures the stream's ingest health), records the
//! stream's status in Postgres as it goes live and ends, and joins the
//! threads at shutdown.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use nova_media::{SegmentSink, StreamId};
use nova_packager::{AbrConfig, Packager};
use nova_rtmp_ingest::{HubObserver, Subscription};

use crate::health::{HealthBoard, Input, Tally, renditions};
use crate::status_writer::{StatusChange, StatusWriter};

pub struct PackagerSupervisor {
    status: StatusWriter,
    sink: Arc<dyn SegmentSink>,
    health: Arc<HealthBoard>,
    abr: AbrConfig,
    packagers: Mutex<Vec<JoinHandle<()>>>,
}

impl PackagerSupervisor {
    pub fn new(
        status: StatusWriter,
        sink: Arc<dyn SegmentSink>,
        health: Arc<HealthBoard>,
        abr: AbrConfig,
    ) -> Self {
        Self {
            status,
            sink,
            health,
            abr,
            packagers: Mutex::new(Vec::new()),
        }
    }

    /// Waits for every packager thread to finish its stream (after the hub
    /// has ended them all), so final segments and `#EXT-X-ENDLIST` are out.
    pub fn join_packagers(&self) {
        let handles: Vec<_> = self.lock_packagers().drain(..).collect();
        for handle in handles {
            if handle.join().is_err() {
                tracing::error!("a packager thread panicked");
            }
        }
    }

    fn lock_packagers(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.packagers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl HubObserver for PackagerSupervisor {
    fn stream_started(&self, stream: StreamId, mut feed: Subscription) {
        self.status.record(stream, StatusChange::Live);
        let sink = self.sink.clone();
        let board = self.health.clone();
        let tracker = board.track(stream);
        let abr = self.abr.clone();
        // Muxing is CPU work: it runs on its own thread, never on the runtime.
        let spawned = std::thread::Builder::new()
            .name(format!("pkg-{}", &stream.to_string()[..8]))
            .spawn(move || {
                let mut packager = Packager::new(stream, sink).with_abr(abr);
                while let Some(event) = feed.blocking_recv() {
                    // Seen before the packager takes the event; the lock is
                    // taken once per event, after the muxing is done.
                    let (input, arrived) = (Input::of(&event), Instant::now());
                    packager.handle(event);
                    let mut health = tracker.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(input) = input {
                        health.observe(input, arrived);
                    }
                    let tally = Tally::of(&packager.counters(), feed.timestamp_repairs());
                    health.counters(tally, arrived);
                    health.renditions(renditions::of(packager.ladder_stats()));
                }
                board.forget(stream, &tracker);
            });
        match spawned {
            Ok(handle) => {
                let mut packagers = self.lock_packagers();
                packagers.retain(|h| !h.is_finished());
                packagers.push(handle);
            }
            Err(error) => tracing::error!(%stream, "cannot start a packager thread: {error}"),
        }
    }

    fn stream_ended(&self, stream: StreamId) {
        self.status.record(stream, StatusChange::Ended);
    }
}
