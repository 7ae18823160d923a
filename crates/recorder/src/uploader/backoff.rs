//! Exponential backoff with full jitter ("Exponential Backoff And Jitter",
//! AWS Architecture Blog, 2015): spreads retries of many clients that failed
//! together, so a store coming back is not hit by all of them at once.

use std::time::Duration;

/// The most a wait can be after `attempt` failures (0-based): `base · 2^attempt`,
/// capped.
pub(crate) fn ceiling(base: Duration, cap: Duration, attempt: u32) -> Duration {
    let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(cap)
}

/// A wait drawn uniformly from `[0, ceiling]`; `unit` is a random number in `[0, 1)`.
pub(crate) fn full_jitter(base: Duration, cap: Duration, attempt: u32, unit: f64) -> Duration {
    ceiling(base, cap, attempt).mul_f64(unit.clamp(0.0, 1.0))
}

/// Counts consecutive failures and draws the next wait.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap,
            failures: 0,
        }
    }

    pub fn next_delay(&mut self) -> Duration {
        let delay = full_jitter(self.base, self.cap, self.failures, rand::random::<f64>());
        self.failures = self.failures.saturating_add(1);
        delay
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_millis(100);
    const CAP: Duration = Duration::from_secs(5);

    #[test]
    fn ceiling_doubles_then_caps() {
        assert_eq!(ceiling(BASE, CAP, 0), BASE);
        assert_eq!(ceiling(BASE, CAP, 1), Duration::from_millis(200));
        assert_eq!(ceiling(BASE, CAP, 5), Duration::from_millis(3200));
        assert_eq!(ceiling(BASE, CAP, 6), CAP);
        assert_eq!(ceiling(BASE, CAP, u32::MAX), CAP);
    }

    #[test]
    fn jitter_spans_zero_to_the_ceiling() {
        assert_eq!(full_jitter(BASE, CAP, 3, 0.0), Duration::ZERO);
        assert_eq!(full_jitter(BASE, CAP, 3, 0.5), Duration::from_millis(400));
        assert!(full_jitter(BASE, CAP, 3, 0.999_999) <= Duration::from_millis(800));
        assert_eq!(full_jitter(BASE, CAP, 3, 7.0), Duration::from_millis(800));
    }

    #[test]
    fn random_draws_stay_in_bounds_and_reset_restarts() {
        let mut backoff = Backoff::new(BASE, CAP);
        for attempt in 0..40 {
            let delay = backoff.next_delay();
            assert!(
                delay <= ceiling(BASE, CAP, attempt),
                "attempt {attempt}: {delay:?}"
            );
        }
        backoff.reset();
        for _ in 0..100 {
            let mut fresh = backoff.clone();
            assert!(fresh.next_delay() <= BASE);
        }
    }
}
