//! Counters the server reports in health and metrics.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// A point-in-time view of the uploader.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UploaderStats {
    /// Jobs waiting to start (in memory or in the spool).
    pub queued: u64,
    /// Bytes of job bodies held in memory (queued or being uploaded).
    pub memory_bytes: u64,
    pub in_flight: u64,
    /// Jobs and bytes on local disk, waiting for the store.
    pub spooled: u64,
    pub spooled_bytes: u64,
    /// Objects and bytes stored since start.
    pub uploaded: u64,
    pub uploaded_bytes: u64,
    /// Failed attempts since start (each retry counts).
    pub failures: u64,
    /// Jobs the store refused for good (reported as failed completions).
    pub rejected: u64,
    /// Jobs dropped because neither the spool (its byte cap, or the disk)
    /// nor the memory budget had room; reported as failed completions.
    pub dropped: u64,
    /// The spool reached its byte cap (`max_spool_bytes`) and has not
    /// drained below nine tenths of it since: submit nothing more.
    pub spool_full: bool,
    /// False from the moment the store looks down until a probe succeeds.
    pub store_available: bool,
    pub last_error: Option<String>,
}

/// Written by the scheduler and workers, read from any thread.
#[derive(Debug, Default)]
pub(crate) struct SharedStats {
    snapshot: Mutex<UploaderStats>,
    /// Submitted but not yet seen by the scheduler.
    in_channel: AtomicU64,
}

impl SharedStats {
    pub fn snapshot(&self) -> UploaderStats {
        let mut s = self.lock().clone();
        s.queued += self.in_channel.load(Ordering::Relaxed);
        s
    }

    pub fn update(&self, f: impl FnOnce(&mut UploaderStats)) {
        f(&mut self.lock());
    }

    pub fn submitted(&self) {
        self.in_channel.fetch_add(1, Ordering::Relaxed);
    }

    pub fn received(&self) {
        self.in_channel.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn failed_attempt(&self, error: &impl std::fmt::Display) {
        self.update(|s| {
            s.failures += 1;
            s.last_error = Some(error.to_string());
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, UploaderStats> {
        // Plain counters stay meaningful even if a writer panicked.
        self.snapshot.lock().unwrap_or_else(|e| e.into_inner())
    }
}
