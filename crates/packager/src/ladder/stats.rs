//! Counters the ladder's threads update and [`Ladder::stats`] reads.
//!
//! [`Ladder::stats`]: super::Ladder::stats

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::profile::Rendition;

/// A snapshot of the whole ladder.
#[derive(Clone, Debug, PartialEq)]
pub struct LadderStats {
    /// Source frames the caller pushed (video only).
    pub frames_pushed: u64,
    /// Pictures the shared decoder produced.
    pub frames_decoded: u64,
    /// Source frames the decoder rejected (corrupt or undecodable input);
    /// they are skipped.
    pub decode_errors: u64,
    /// Top rendition first, as the profile selected them.
    pub renditions: Vec<RenditionStats>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RenditionStats {
    pub name: Arc<str>,
    pub width: u32,
    pub height: u32,
    /// Decoded pictures this rendition's encoder took from its queue.
    pub frames_in: u64,
    /// Encoded frames it emitted.
    pub frames_out: u64,
    /// Pictures waiting in its queue.
    pub queue_depth: u64,
    /// Media time between the newest decoded picture and the one this
    /// encoder is on, in ms, at the last decoded picture.
    pub lag_ms: i64,
    /// Media time encoded per wall-clock second since its first picture
    /// (1.0 = real time); 0 before any output.
    pub speed: f64,
    /// Why the rendition stopped early, if it did.
    pub dropped: Option<String>,
}

#[derive(Default)]
pub(crate) struct SourceCounters {
    pub pushed: AtomicU64,
    pub decoded: AtomicU64,
    pub decode_errors: AtomicU64,
}

/// One rendition's counters, shared by the decode thread (producer side) and
/// its encode thread.
pub(crate) struct RenditionCounters {
    pub rendition: Rendition,
    pub sent: AtomicU64,
    pub taken: AtomicU64,
    pub out: AtomicU64,
    /// PTS of the picture the encoder took last; `i64::MIN` before the first.
    pub taken_pts: AtomicI64,
    pub lag_ms: AtomicI64,
    pub first_out_pts: AtomicI64,
    pub last_out_pts: AtomicI64,
    /// Set by the decode thread before it closes the queue of a dropped
    /// rendition, so the encoder stops instead of flushing.
    pub dropped: AtomicBool,
    pub drop_reason: Mutex<Option<String>>,
    pub started: Mutex<Option<Instant>>,
}

impl RenditionCounters {
    pub(crate) fn new(rendition: Rendition) -> Self {
        Self {
            rendition,
            sent: AtomicU64::new(0),
            taken: AtomicU64::new(0),
            out: AtomicU64::new(0),
            taken_pts: AtomicI64::new(i64::MIN),
            lag_ms: AtomicI64::new(0),
            first_out_pts: AtomicI64::new(i64::MIN),
            last_out_pts: AtomicI64::new(i64::MIN),
            dropped: AtomicBool::new(false),
            drop_reason: Mutex::new(None),
            started: Mutex::new(None),
        }
    }

    pub(crate) fn mark_dropped(&self, reason: &str) {
        *lock(&self.drop_reason) = Some(reason.to_owned());
        self.dropped.store(true, Ordering::SeqCst);
    }

    pub(crate) fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::SeqCst)
    }

    pub(crate) fn note_taken(&self, pts: i64) {
        self.taken.fetch_add(1, Ordering::Relaxed);
        self.taken_pts.store(pts, Ordering::SeqCst);
        lock(&self.started).get_or_insert_with(Instant::now);
    }

    pub(crate) fn note_output(&self, pts: i64) {
        self.out.fetch_add(1, Ordering::Relaxed);
        let _ = self.first_out_pts.compare_exchange(
            i64::MIN,
            pts,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        self.last_out_pts.fetch_max(pts, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> RenditionStats {
        let sent = self.sent.load(Ordering::Relaxed);
        let taken = self.taken.load(Ordering::Relaxed);
        let (first, last) = (
            self.first_out_pts.load(Ordering::Relaxed),
            self.last_out_pts.load(Ordering::Relaxed),
        );
        let elapsed = lock(&self.started).map(|at| at.elapsed().as_secs_f64());
        let speed = match elapsed {
            Some(secs) if first != i64::MIN && secs > 0.0 => (last - first) as f64 / 1000.0 / secs,
            _ => 0.0,
        };
        RenditionStats {
            name: self.rendition.name.clone(),
            width: self.rendition.width,
            height: self.rendition.height,
            frames_in: taken,
            frames_out: self.out.load(Ordering::Relaxed),
            queue_depth: sent.saturating_sub(taken),
            lag_ms: self.lag_ms.load(Ordering::Relaxed),
            speed,
            dropped: lock(&self.drop_reason).clone(),
        }
    }
}

/// A poisoned counter lock only means another ladder thread panicked
/// mid-update; the value is still the best one there is.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
