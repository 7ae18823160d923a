//! Why the ingest refused a client, counted for the operator (and for
//! Prometheus later), and logged without letting a flood of refusals flood
//! the log.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A limit a client ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// Set Chunk Size over the limit (or zero).
    ChunkSize,
    /// A message declared longer than its type may be.
    MessageTooLarge,
    /// More distinct chunk streams than allowed.
    ChunkStreams,
    /// Chunks the guard cannot follow the way rml_rtmp would: a chunk
    /// stream continued before it started, or messages interleaved.
    MalformedChunks,
    /// AMF0 nested deeper than allowed.
    AmfTooDeep,
    /// A command or data message that is not AMF0 the guard can walk.
    MalformedAmf,
    /// Too many `createStream` commands on one connection.
    CreateStreams,
    /// No `publish` within the deadline after connecting.
    PublishTimeout,
    /// Too many connections from one address that have not published.
    PendingPerAddress,
    /// The global connection limit.
    Connections,
    /// The RTMP handshake failed or was not completed in time.
    Handshake,
    /// Messages rml_rtmp could not parse (or panicked on).
    Protocol,
}

impl Refusal {
    pub const ALL: [Refusal; 12] = [
        Self::ChunkSize,
        Self::MessageTooLarge,
        Self::ChunkStreams,
        Self::MalformedChunks,
        Self::AmfTooDeep,
        Self::MalformedAmf,
        Self::CreateStreams,
        Self::PublishTimeout,
        Self::PendingPerAddress,
        Self::Connections,
        Self::Handshake,
        Self::Protocol,
    ];

    /// A stable name, for metrics labels.
    pub fn name(self) -> &'static str {
        match self {
            Self::ChunkSize => "chunk_size",
            Self::MessageTooLarge => "message_too_large",
            Self::ChunkStreams => "chunk_streams",
            Self::MalformedChunks => "malformed_chunks",
            Self::AmfTooDeep => "amf_too_deep",
            Self::MalformedAmf => "malformed_amf",
            Self::CreateStreams => "create_streams",
            Self::PublishTimeout => "publish_timeout",
            Self::PendingPerAddress => "pending_per_address",
            Self::Connections => "connections",
            Self::Handshake => "handshake",
            Self::Protocol => "protocol",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Refusals since the server started, by reason. Shared by the accept loop
/// and every connection; cheap to count from anywhere.
#[derive(Debug, Default)]
pub struct RefusalCounters {
    counts: [AtomicU64; Refusal::ALL.len()],
    log: RefusalLog,
}

impl RefusalCounters {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many clients were refused for `reason`.
    pub fn get(&self, reason: Refusal) -> u64 {
        self.counts[reason.index()].load(Ordering::Relaxed)
    }

    /// Every reason with its count.
    pub fn snapshot(&self) -> Vec<(Refusal, u64)> {
        Refusal::ALL.iter().map(|r| (*r, self.get(*r))).collect()
    }

    /// Counts a refusal and logs it, unless more than a few were logged in
    /// the last second: a flood of refusals must not flood the log.
    pub fn refuse(&self, reason: Refusal, detail: &dyn fmt::Display) {
        self.counts[reason.index()].fetch_add(1, Ordering::Relaxed);
        crate::metrics::count_refusal(reason.name());
        if let Some(suppressed) = self.log.admit(Instant::now()) {
            if suppressed > 0 {
                tracing::warn!(
                    refusal = reason.name(),
                    suppressed,
                    "refusing an RTMP client: {detail} ({suppressed} similar lines suppressed)"
                );
            } else {
                tracing::warn!(refusal = reason.name(), "refusing an RTMP client: {detail}");
            }
        }
    }
}

/// Lines logged per window; the rest are counted and reported with the
/// next line that gets through.
const LINES_PER_WINDOW: u32 = 5;
const WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
struct RefusalLog {
    state: Mutex<LogWindow>,
}

#[derive(Debug, Default)]
struct LogWindow {
    started: Option<Instant>,
    logged: u32,
    suppressed: u64,
}

impl RefusalLog {
    /// `Some(lines suppressed since the last logged one)` when this line may
    /// be logged.
    fn admit(&self, now: Instant) -> Option<u64> {
        let mut window = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if window
            .started
            .is_none_or(|started| now.duration_since(started) >= WINDOW)
        {
            window.started = Some(now);
            window.logged = 0;
        }
        if window.logged >= LINES_PER_WINDOW {
            window.suppressed += 1;
            return None;
        }
        window.logged += 1;
        Some(std::mem::take(&mut window.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_refusal_and_logs_a_few_a_second() {
        let log = RefusalLog::default();
        let start = Instant::now();
        let admitted: Vec<_> = (0..20).map(|_| log.admit(start)).collect();
        assert_eq!(admitted.iter().filter(|a| a.is_some()).count(), 5);
        // The next window's first line carries the count of those dropped.
        assert_eq!(log.admit(start + WINDOW), Some(15));
        assert_eq!(log.admit(start + WINDOW), Some(0));

        let counters = RefusalCounters::new();
        for _ in 0..3 {
            counters.refuse(Refusal::AmfTooDeep, &"too deep");
        }
        counters.refuse(Refusal::PublishTimeout, &"slow");
        assert_eq!(counters.get(Refusal::AmfTooDeep), 3);
        assert_eq!(counters.get(Refusal::PublishTimeout), 1);
        assert_eq!(counters.get(Refusal::Connections), 0);
        assert_eq!(counters.snapshot().len(), Refusal::ALL.len());
    }
}
