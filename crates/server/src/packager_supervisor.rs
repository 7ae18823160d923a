//! Supervises the packager threads: the hub's observer starts one per live
//! stream (which also measures the stream's ingest health), records the
//! stream's status in Postgres as it goes live and ends, ends a stream
//! whose packager failed, and waits for the threads at shutdown, up to a
//! deadline.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use nova_media::{SegmentSink, StreamId};
use nova_packager::AbrConfig;
use nova_rtmp_ingest::{Hub, HubObserver, Subscription};
use tokio::time::Instant;

use crate::fault;
use crate::health::HealthBoard;
use crate::packager_thread::PackagerThread;
use crate::status_writer::{StatusChange, StatusWriter};
use crate::transcode_slots::TranscodeSlots;

pub struct PackagerSupervisor {
    status: StatusWriter,
    sink: Arc<dyn SegmentSink>,
    health: Arc<HealthBoard>,
    abr: AbrConfig,
    slots: Arc<TranscodeSlots>,
    /// The hub, to end a stream whose packager failed. The hub owns its
    /// observer (this), so it is set after both exist and taken out at
    /// shutdown, or the two would keep each other alive.
    hub: Arc<Mutex<Option<Hub>>>,
    packagers: Mutex<Vec<JoinHandle<()>>>,
}

impl PackagerSupervisor {
    pub fn new(
        status: StatusWriter,
        sink: Arc<dyn SegmentSink>,
        health: Arc<HealthBoard>,
        abr: AbrConfig,
        slots: Arc<TranscodeSlots>,
    ) -> Self {
        Self {
            status,
            sink,
            health,
            abr,
            slots,
            hub: Arc::default(),
            packagers: Mutex::new(Vec::new()),
        }
    }

    pub fn attach_hub(&self, hub: Hub) {
        *lock(&self.hub) = Some(hub);
    }

    pub fn detach_hub(&self) {
        lock(&self.hub).take();
    }

    /// Waits, up to `deadline`, for every packager thread to finish its
    /// stream (after the hub has ended them all), so final segments and
    /// `#EXT-X-ENDLIST` are out. Returns the names of those still running.
    pub async fn wait_for_packagers(&self, deadline: Instant) -> Vec<String> {
        loop {
            let running: Vec<String> = {
                let mut packagers = lock(&self.packagers);
                // A finished thread needs no join: its panics were caught.
                packagers.retain(|handle| !handle.is_finished());
                packagers
                    .iter()
                    .map(|handle| handle.thread().name().unwrap_or("packager").to_owned())
                    .collect()
            };
            if running.is_empty() || Instant::now() >= deadline {
                return running;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl HubObserver for PackagerSupervisor {
    fn stream_started(&self, stream: StreamId, mut feed: Subscription) {
        self.status.record(stream, StatusChange::Live);
        let board = self.health.clone();
        let tracker = board.track(stream);
        let hub = self.hub.clone();
        let work = PackagerThread {
            stream,
            sink: self.sink.clone(),
            abr: self.abr.clone(),
            slots: self.slots.clone(),
            tracker: tracker.clone(),
            fault: fault::packager_fault(),
        };
        // Under the node's span, not the publisher connection's that
        // happens to start it: the stream outlives its connections.
        let span = tracing::info_span!(parent: &crate::logging::node_span(), "packager", %stream);
        // Muxing is CPU work: it runs on its own thread, never on the runtime.
        let spawned = std::thread::Builder::new()
            .name(format!("pkg-{}", &stream.to_string()[..8]))
            .spawn(move || match span.in_scope(|| work.run(&mut feed)) {
                Ok(()) => board.forget(stream, &tracker),
                Err(reason) => {
                    tracing::error!(%stream, "the packager panicked ({reason}); ending the stream");
                    board.fail(stream, &tracker, &reason);
                    drop(feed);
                    // Only this stream ends: its publisher is disconnected
                    // and told nothing more than a takedown would.
                    let hub = lock(&hub).clone();
                    if let Some(hub) = hub {
                        hub.disconnect(stream, true);
                    }
                }
            });
        match spawned {
            Ok(handle) => {
                let mut packagers = lock(&self.packagers);
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

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
