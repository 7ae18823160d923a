//! The one task that owns the queue: takes submissions, starts uploads,
//! spools when the store is down or memory is full, probes until it is back.

use std::collections::HashMap;
use std::sync::Arc;

use metrics::{Counter, Gauge, Histogram};

use nova_media::ObjectStore;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{Id, JoinError, JoinSet};
use tokio::time::{Instant, sleep_until};

use super::Tag;
use super::backoff::Backoff;
use super::config::UploaderConfig;
use super::job::{Completion, JobHeader, UploadJob};
use super::queue::Queue;
use super::spool::Spool;
use super::stats::SharedStats;
use super::worker::{self, Outcome};

/// Most submissions taken from the channel before the scheduler looks at
/// anything else, so a burst is spooled in one batch.
const SUBMIT_BATCH: usize = 256;

pub(crate) enum Command<T> {
    Submit {
        seq: u64,
        job: UploadJob<T>,
    },
    Shutdown {
        deadline: Instant,
        done: oneshot::Sender<()>,
    },
}

pub(crate) struct Scheduler<T> {
    pub store: Arc<dyn ObjectStore>,
    pub spool: Spool,
    pub config: UploaderConfig,
    pub queue: Queue<T>,
    pub stats: Arc<SharedStats>,
    pub completions: mpsc::UnboundedSender<Completion<T>>,
    workers: JoinSet<Outcome>,
    /// Which job each running worker uploads.
    running: HashMap<Id, u64>,
    store_up: bool,
    /// The spool hit `max_spool_bytes`; cleared once it drains below nine
    /// tenths of it (so the caller does not pause and resume every segment).
    spool_full: bool,
    probe_backoff: Backoff,
    next_probe: Instant,
    shutdown: Option<(Instant, oneshot::Sender<()>)>,
    /// When each job submitted to this process became ready, for the
    /// latency of its upload (jobs recovered from the spool have none).
    ready_at: HashMap<u64, std::time::Instant>,
    metrics: SchedulerMetrics,
}

/// The uploader's series, looked up once.
struct SchedulerMetrics {
    queue_objects: Gauge,
    queue_bytes: Gauge,
    spool_bytes: Gauge,
    latency: Histogram,
    uploads: Counter,
}

impl SchedulerMetrics {
    fn new() -> Self {
        use crate::metrics::*;
        Self {
            queue_objects: metrics::gauge!(UPLOAD_QUEUE_OBJECTS),
            queue_bytes: metrics::gauge!(UPLOAD_QUEUE_BYTES),
            spool_bytes: metrics::gauge!(SPOOL_BYTES),
            latency: metrics::histogram!(UPLOAD_LATENCY),
            uploads: metrics::counter!(UPLOADS),
        }
    }
}

impl<T: Tag> Scheduler<T> {
    pub fn new(
        store: Arc<dyn ObjectStore>,
        spool: Spool,
        config: UploaderConfig,
        queue: Queue<T>,
        stats: Arc<SharedStats>,
        completions: mpsc::UnboundedSender<Completion<T>>,
    ) -> Self {
        let probe_backoff = Backoff::new(config.probe_base, config.probe_cap);
        Self {
            store,
            spool,
            config,
            queue,
            stats,
            completions,
            workers: JoinSet::new(),
            running: HashMap::new(),
            // Optimistic: the first failure says otherwise quickly enough.
            store_up: true,
            spool_full: false,
            probe_backoff,
            next_probe: Instant::now(),
            shutdown: None,
            ready_at: HashMap::new(),
            metrics: SchedulerMetrics::new(),
        }
    }

    pub async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command<T>>) {
        let mut commands_open = true;
        loop {
            self.dispatch();
            self.publish();
            if self.shutdown.is_some() {
                if self.queue.memory_only(true).is_empty() {
                    break;
                }
                if self.workers.is_empty() && self.queue.ready(1, true).is_empty() {
                    // What is left in memory waits behind spooled jobs of its
                    // group: it waits on disk for the next start.
                    self.spill(true).await;
                    break;
                }
            }
            let probe_at = (!self.store_up && self.workers.is_empty() && !self.queue.is_empty())
                .then_some(self.next_probe);
            let deadline = self.shutdown.as_ref().map(|(d, _)| *d);
            tokio::select! {
                command = commands.recv(), if commands_open => match command {
                    Some(command) => self.on_command(command, &mut commands).await,
                    // Every handle is gone; the owner aborts this task on drop.
                    None => commands_open = false,
                },
                Some(joined) = self.workers.join_next_with_id(), if !self.workers.is_empty() => {
                    self.on_joined(joined).await;
                }
                () = sleep_until(probe_at.unwrap_or(self.next_probe)), if probe_at.is_some() => {}
                () = sleep_until(deadline.unwrap_or(self.next_probe)), if deadline.is_some() => {
                    self.abandon_uploads().await;
                    self.spill(true).await;
                    break;
                }
            }
        }
        self.publish();
        if let Some((_, done)) = self.shutdown.take() {
            let _ = done.send(());
        }
    }

    fn dispatch(&mut self) {
        // During shutdown only memory matters: spooled jobs survive as they are.
        let memory_only = self.shutdown.is_some();
        if self.store_up {
            let free = self
                .config
                .concurrency
                .max(1)
                .saturating_sub(self.queue.in_flight() as usize);
            for seq in self.queue.ready(free, memory_only) {
                self.start(seq, self.config.attempts_before_spool);
            }
        } else if self.workers.is_empty() && Instant::now() >= self.next_probe {
            // One job at a time while the store is down: the oldest one that
            // may start is the probe, and it succeeding means the store is back.
            if let Some(&seq) = self.queue.ready(1, memory_only).first() {
                self.start(seq, 1);
            }
        }
    }

    fn start(&mut self, seq: u64, attempts: u32) {
        let Some(entry) = self.queue.get(seq) else {
            return;
        };
        let task = worker::Task {
            seq,
            key: entry.header.key.clone(),
            meta: entry.header.meta.clone(),
            body: entry.body.clone(),
            attempts: attempts.max(1),
            retry_base: self.config.retry_base,
            retry_cap: self.config.retry_cap,
        };
        self.queue.set_in_flight(seq, true);
        let handle = self.workers.spawn(worker::run(
            self.store.clone(),
            self.spool.clone(),
            self.stats.clone(),
            task,
        ));
        self.running.insert(handle.id(), seq);
    }

    async fn on_command(
        &mut self,
        first: Command<T>,
        commands: &mut mpsc::UnboundedReceiver<Command<T>>,
    ) {
        let mut next = Some(first);
        let mut taken = 0;
        while let Some(command) = next.take() {
            match command {
                Command::Submit { seq, job } => {
                    self.stats.received();
                    self.ready_at.insert(seq, job.ready_at);
                    let (header, body) = job.split();
                    self.queue.insert(seq, header, Some(body), false);
                }
                Command::Shutdown { deadline, done } => {
                    self.shutdown = Some((deadline, done));
                }
            }
            taken += 1;
            if taken < SUBMIT_BATCH {
                next = commands.try_recv().ok();
            }
        }
        if !self.store_up {
            self.spill(false).await;
        } else {
            self.enforce_budget().await;
        }
        self.shed().await;
    }

    async fn on_joined(&mut self, joined: Result<(Id, Outcome), JoinError>) {
        let (id, outcome) = match joined {
            Ok(done) => done,
            Err(e) => {
                let id = e.id();
                let why = if e.is_panic() {
                    "upload task panicked"
                } else {
                    "upload task cancelled"
                };
                tracing::error!(error = %e, "{why}; the job is retried");
                (
                    id,
                    Outcome::Failed(nova_media::ObjectStoreError::Unavailable {
                        action: "uploading",
                        key: String::new(),
                        source: why.into(),
                    }),
                )
            }
        };
        let Some(seq) = self.running.remove(&id) else {
            return;
        };
        match outcome {
            Outcome::Uploaded => {
                if !self.store_up {
                    tracing::info!("object store is reachable again; uploading the spool");
                }
                self.store_up = true;
                self.probe_backoff.reset();
                self.complete(seq, Ok(())).await;
            }
            Outcome::Failed(error) if error.is_retryable() => {
                self.queue.set_in_flight(seq, false);
                if self.store_up {
                    tracing::warn!(%error, "object store looks down; spooling uploads until it is back");
                }
                self.store_up = false;
                self.next_probe = Instant::now() + self.probe_backoff.next_delay();
                self.queue.release_body(seq);
                self.spill(false).await;
                self.shed().await;
            }
            Outcome::Failed(error) => {
                tracing::error!(%error, "object store refused an upload; it will not be retried");
                self.stats.update(|s| s.rejected += 1);
                self.complete(seq, Err(error.to_string())).await;
            }
            Outcome::Lost(error) => {
                let key = self.queue.get(seq).map(|e| e.header.key.clone());
                tracing::error!(?key, %error, dir = %self.spool.dir().display(), "spooled body unreadable; the job is lost");
                self.stats.update(|s| {
                    s.rejected += 1;
                    s.last_error = Some(format!("spooled body of {key:?} unreadable: {error}"));
                });
                self.complete(seq, Err(format!("spooled body unreadable: {error}")))
                    .await;
            }
        }
    }

    /// Reports the job and forgets it, on disk too. The report goes first:
    /// a crash in between re-uploads and re-reports (at least once) rather
    /// than losing the report.
    async fn complete(&mut self, seq: u64, result: Result<(), String>) {
        let ready_at = self.ready_at.remove(&seq);
        let Some(entry) = self.queue.remove(seq) else {
            return;
        };
        let JobHeader { key, size, tag, .. } = entry.header;
        if result.is_ok() {
            self.metrics.uploads.increment(1);
            if let Some(ready_at) = ready_at {
                self.metrics
                    .latency
                    .record(ready_at.elapsed().as_secs_f64());
            }
            self.stats.update(|s| {
                s.uploaded += 1;
                s.uploaded_bytes += size;
            });
        }
        let _ = self.completions.send(Completion {
            key: key.clone(),
            size,
            tag,
            result,
        });
        if entry.spooled {
            let spool = self.spool.clone();
            let removed = tokio::task::spawn_blocking(move || spool.remove(seq)).await;
            if let Err(error) = removed.map_err(std::io::Error::other).and_then(|r| r) {
                tracing::warn!(key, %error, "could not remove a finished job from the spool; it will be uploaded again after a restart");
            }
        }
    }

    /// Moves the newest in-memory jobs to disk until memory is within budget.
    async fn enforce_budget(&mut self) {
        let budget = self.config.memory_budget;
        if self.queue.memory_bytes() <= budget {
            return;
        }
        let mut excess = self.queue.memory_bytes() - budget;
        let mut newest_first = self.queue.memory_only(false);
        newest_first.reverse();
        let mut chosen = Vec::new();
        for seq in newest_first {
            if excess == 0 {
                break;
            }
            let size = self.queue.get(seq).map_or(0, |e| e.header.size);
            excess = excess.saturating_sub(size);
            chosen.push(seq);
        }
        chosen.reverse();
        self.spill_seqs(chosen).await;
    }

    /// Writes every job held only in memory to the spool.
    async fn spill(&mut self, include_in_flight: bool) {
        let seqs = self.queue.memory_only(include_in_flight);
        self.spill_seqs(seqs).await;
    }

    async fn spill_seqs(&mut self, seqs: Vec<u64>) {
        let seqs = self.within_spool_cap(seqs);
        let jobs: Vec<_> = seqs
            .into_iter()
            .filter_map(|seq| {
                let e = self.queue.get(seq)?;
                Some((seq, e.header.clone(), e.body.clone()?))
            })
            .collect();
        if jobs.is_empty() {
            return;
        }
        let spool = self.spool.clone();
        let written = tokio::task::spawn_blocking(move || {
            let mut written = Vec::new();
            for (seq, header, body) in &jobs {
                if let Err(e) = spool.write(*seq, header, body) {
                    return (written, Some(e));
                }
                written.push(*seq);
            }
            let synced = spool.sync_dir().err();
            (written, synced)
        })
        .await;
        let (written, error) = match written {
            Ok(result) => result,
            Err(e) => (Vec::new(), Some(std::io::Error::other(e))),
        };
        for seq in written {
            self.queue.mark_spooled(seq);
        }
        if let Some(error) = error {
            // Disk full or unwritable: the jobs stay in memory, over budget if
            // need be, rather than being dropped.
            tracing::error!(%error, dir = %self.spool.dir().display(), "could not spool uploads; keeping them in memory");
            self.stats.update(|s| {
                s.last_error = Some(format!(
                    "spooling to {}: {error}",
                    self.spool.dir().display()
                ));
            });
        }
    }

    /// The oldest of `seqs` that fit in the spool's byte cap. The first that
    /// does not fit stops the list (the spool keeps submission order) and
    /// marks the spool full.
    fn within_spool_cap(&mut self, seqs: Vec<u64>) -> Vec<u64> {
        let mut room = self
            .config
            .max_spool_bytes
            .saturating_sub(self.queue.spooled().1);
        let mut fits = Vec::with_capacity(seqs.len());
        for seq in seqs {
            let size = self.queue.get(seq).map_or(0, |e| e.header.size);
            if size > room {
                if !self.spool_full {
                    tracing::warn!(
                        cap = self.config.max_spool_bytes,
                        dir = %self.spool.dir().display(),
                        "the upload spool is full (--max-spool-bytes); recording pauses until it drains"
                    );
                }
                self.spool_full = true;
                break;
            }
            room -= size;
            fits.push(seq);
        }
        fits
    }

    /// Drops the newest jobs held only in memory while memory is over
    /// budget: what could not go to the spool (full, or the disk failing)
    /// must not grow memory either. Each is reported as failed.
    async fn shed(&mut self) {
        let budget = self.config.memory_budget;
        if self.queue.memory_bytes() <= budget {
            return;
        }
        let mut newest_first = self.queue.memory_only(false);
        newest_first.reverse();
        let mut dropped = 0;
        for seq in newest_first {
            if self.queue.memory_bytes() <= budget {
                break;
            }
            dropped += 1;
            self.complete(
                seq,
                Err("dropped: the upload spool and the memory budget are full".to_owned()),
            )
            .await;
        }
        if dropped > 0 {
            tracing::error!(
                dropped,
                budget,
                "uploads dropped: neither the spool nor memory has room for them"
            );
            self.stats.update(|s| s.dropped += dropped);
        }
    }

    /// Stops every running upload; their jobs wait again (and, if held only
    /// in memory, get spooled by the caller).
    async fn abandon_uploads(&mut self) {
        self.workers.abort_all();
        while self.workers.join_next().await.is_some() {}
        for (_, seq) in self.running.drain() {
            self.queue.set_in_flight(seq, false);
        }
    }

    fn publish(&mut self) {
        let (spooled, spooled_bytes) = self.queue.spooled();
        let in_flight = self.queue.in_flight();
        let cap = self.config.max_spool_bytes;
        let spool_full = if self.spool_full {
            spooled_bytes > cap / 10 * 9
        } else {
            spooled_bytes >= cap
        };
        self.stats.update(|s| {
            s.queued = self.queue.len() - in_flight;
            s.in_flight = in_flight;
            s.memory_bytes = self.queue.memory_bytes();
            s.spooled = spooled;
            s.spooled_bytes = spooled_bytes;
            s.store_available = self.store_up;
            s.spool_full = spool_full;
        });
        self.spool_full = spool_full;
        self.metrics.queue_objects.set(self.queue.len() as f64);
        self.metrics
            .queue_bytes
            .set(self.queue.total_bytes() as f64);
        self.metrics.spool_bytes.set(spooled_bytes as f64);
    }
}
