use std::time::Duration;

/// How hard the uploader pushes and how long it waits.
#[derive(Debug, Clone)]
pub struct UploaderConfig {
    /// Uploads in flight at once.
    pub concurrency: usize,
    /// Bytes of queued bodies kept in memory; beyond it new jobs go to the
    /// spool even while the store is up (a slow store must not grow memory
    /// without bound, and the publisher is never blocked).
    pub memory_budget: u64,
    /// Bytes the spool may hold on disk. Jobs that do not fit stay in
    /// memory (within `memory_budget`); beyond both, new jobs are dropped
    /// and reported as failed rather than growing either. The stats'
    /// `spool_full` tells the caller to stop submitting (recording pauses).
    pub max_spool_bytes: u64,
    /// Attempts per job while the store seems up, before the store is taken
    /// to be down and jobs go to the spool.
    pub attempts_before_spool: u32,
    /// Backoff between those attempts (full jitter).
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// Backoff between probes of a store that is down.
    pub probe_base: Duration,
    pub probe_cap: Duration,
}

impl Default for UploaderConfig {
    fn default() -> Self {
        Self {
            concurrency: 4,
            memory_budget: 256 * 1024 * 1024,
            max_spool_bytes: u64::MAX,
            attempts_before_spool: 3,
            retry_base: Duration::from_millis(200),
            retry_cap: Duration::from_secs(5),
            probe_base: Duration::from_millis(500),
            probe_cap: Duration::from_secs(30),
        }
    }
}
