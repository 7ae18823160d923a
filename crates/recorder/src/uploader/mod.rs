//! The path every recording object takes to the store.
//!
//! Packager threads [`Uploader::submit`] jobs without waiting; one scheduler
//! task uploads them with bounded concurrency and retries. When the store is
//! unreachable (or queued bodies exceed the memory budget) jobs go to a spool
//! directory and are uploaded from there, oldest first, once a probe succeeds.
//! A [`Completion`] is sent only once the object exists, so the caller writes
//! its index row after the fact, never before.
//!
//! Each job carries the caller's tag, of the caller's type: handed back in
//! its completion, and kept as JSON in the spool (the only place the tag is
//! not a Rust value).

mod backoff;
mod cause;
mod config;
mod job;
mod queue;
mod scheduler;
mod spool;
mod stats;
mod worker;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nova_media::ObjectStore;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use cause::{Cause, Caused};
pub use config::UploaderConfig;
pub use job::{Completion, Ordering, UploadJob};
pub use stats::UploaderStats;

use queue::Queue;
use scheduler::{Command, Scheduler};
use spool::Spool;
use stats::SharedStats;

#[derive(Debug, thiserror::Error)]
pub enum UploaderError {
    #[error("cannot use the upload spool {dir}: {source}; check that the directory is writable")]
    Spool {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the upload spool {dir} is in use by another uploader (another nova-live process?); give each process its own spool directory"
    )]
    SpoolInUse { dir: PathBuf },
    #[error("the uploader is shut down; {key:?} was not queued")]
    Closed { key: String },
}

/// What a job's tag must be: written to the spool as JSON and read back
/// after a restart, and passed between threads.
pub trait Tag: Serialize + DeserializeOwned + Clone + Send + 'static {}

impl<T: Serialize + DeserializeOwned + Clone + Send + 'static> Tag for T {}

/// Owns the scheduler task. Dropping it without [`Uploader::shutdown`] stops
/// at once, like a crash: spooled jobs survive, jobs held in memory do not.
pub struct Uploader<T> {
    submitter: Submitter<T>,
    task: JoinHandle<()>,
    /// Held (locked) for the uploader's life: two processes draining one
    /// spool would upload and delete each other's jobs.
    _spool_lock: std::fs::File,
}

/// A cheap handle for submitting from any thread, tokio's or not.
pub struct Submitter<T> {
    shared: Arc<Shared<T>>,
}

// Not derived: that would ask for `T: Clone`.
impl<T> Clone for Submitter<T> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

struct Shared<T> {
    /// Numbering and sending under one lock keeps channel order equal to
    /// submission order across threads, which ordering barriers rely on.
    gate: Mutex<Gate>,
    commands: mpsc::UnboundedSender<Command<T>>,
    stats: Arc<SharedStats>,
}

struct Gate {
    next_seq: u64,
    closed: bool,
}

impl<T: Tag> Uploader<T> {
    /// Queues whatever a previous process left in `spool_dir` (ahead of any
    /// new job), then starts uploading. Must be called within a tokio runtime.
    pub async fn start(
        store: Arc<dyn ObjectStore>,
        spool_dir: impl Into<PathBuf>,
        config: UploaderConfig,
    ) -> Result<(Self, mpsc::UnboundedReceiver<Completion<T>>), UploaderError> {
        let dir = spool_dir.into();
        let spool_error = |source| UploaderError::Spool {
            dir: dir.clone(),
            source,
        };
        let opened = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || {
                let spool = Spool::open(dir)?;
                let Some(lock) = spool.lock()? else {
                    return Ok(None);
                };
                let recovery = spool.recover::<T>()?;
                Ok::<_, std::io::Error>(Some((spool, lock, recovery)))
            })
            .await
            .map_err(|e| spool_error(std::io::Error::other(e)))?
            .map_err(spool_error)?
        };
        let Some((spool, spool_lock, recovery)) = opened else {
            return Err(UploaderError::SpoolInUse { dir });
        };
        let mut queue = Queue::default();
        if !recovery.jobs.is_empty() {
            tracing::info!(
                jobs = recovery.jobs.len(),
                dir = %dir.display(),
                "re-queueing uploads spooled by a previous run"
            );
        }
        for job in recovery.jobs {
            queue.insert(job.seq, job.header, None, true);
        }

        let stats = Arc::new(SharedStats::default());
        let (commands, receiver) = mpsc::unbounded_channel();
        let (completions, completion_rx) = mpsc::unbounded_channel();
        let scheduler = Scheduler::new(store, spool, config, queue, stats.clone(), completions);
        let task = tokio::spawn(scheduler.run(receiver));
        let shared = Arc::new(Shared {
            gate: Mutex::new(Gate {
                next_seq: recovery.next_seq,
                closed: false,
            }),
            commands,
            stats,
        });
        Ok((
            Self {
                submitter: Submitter { shared },
                task,
                _spool_lock: spool_lock,
            },
            completion_rx,
        ))
    }

    /// Queues a job; never waits on the store or the disk.
    pub fn submit(&self, job: UploadJob<T>) -> Result<(), UploaderError> {
        self.submitter.submit(job)
    }

    /// A handle for packager threads and sinks.
    pub fn submitter(&self) -> Submitter<T> {
        self.submitter.clone()
    }

    pub fn stats(&self) -> UploaderStats {
        self.submitter.shared.stats.snapshot()
    }

    /// Refuses new jobs, keeps uploading what is held in memory until
    /// `timeout`, then spools the rest. Jobs already in the spool stay there
    /// for the next start. Returns the final counters.
    pub async fn shutdown(self, timeout: Duration) -> UploaderStats {
        let (done, finished) = oneshot::channel();
        let sent = {
            let mut gate = self.submitter.shared.lock_gate();
            gate.closed = true;
            self.submitter
                .shared
                .commands
                .send(Command::Shutdown {
                    deadline: tokio::time::Instant::now() + timeout,
                    done,
                })
                .is_ok()
        };
        if sent {
            let _ = finished.await;
        }
        self.stats()
    }
}

impl<T> Drop for Uploader<T> {
    fn drop(&mut self) {
        self.submitter.shared.lock_gate().closed = true;
        self.task.abort();
    }
}

impl<T> Submitter<T> {
    pub fn submit(&self, job: UploadJob<T>) -> Result<(), UploaderError> {
        let mut gate = self.shared.lock_gate();
        if gate.closed {
            return Err(UploaderError::Closed { key: job.key });
        }
        let seq = gate.next_seq;
        self.shared.stats.submitted();
        if let Err(mpsc::error::SendError(command)) =
            self.shared.commands.send(Command::Submit { seq, job })
        {
            self.shared.stats.received();
            gate.closed = true;
            let key = match command {
                Command::Submit { job, .. } => job.key,
                Command::Shutdown { .. } => String::new(),
            };
            return Err(UploaderError::Closed { key });
        }
        gate.next_seq += 1;
        Ok(())
    }

    pub fn stats(&self) -> UploaderStats {
        self.shared.stats.snapshot()
    }
}

impl<T> Shared<T> {
    fn lock_gate(&self) -> std::sync::MutexGuard<'_, Gate> {
        // The gate holds two plain fields; a panic elsewhere leaves them valid.
        self.gate.lock().unwrap_or_else(|e| e.into_inner())
    }
}
