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
            attempts_before_spool: 3,
            retry_base: Duration::from_millis(200),
            retry_cap: Duration::from_secs(5),
            probe_base: Duration::from_millis(500),
            probe_cap: Duration::from_secs(30),
        }
    }
}
