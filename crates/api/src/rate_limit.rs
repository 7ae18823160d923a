//! Per-key rate limits (chat messages per user, say): a token bucket per
//! key, in memory. Limits are per process; several API nodes would each
//! allow the limit, which is acceptable for abuse control.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `burst` actions at once, refilled at `burst` per `period`.
#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    pub burst: u32,
    pub period: Duration,
}

pub(crate) struct RateLimiter<K> {
    limit: RateLimit,
    buckets: Mutex<HashMap<K, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Buckets idle this long are full again and can be forgotten.
const FORGET_AFTER_PERIODS: u32 = 2;

impl<K: Eq + Hash + Clone> RateLimiter<K> {
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`, or says how long until one is available.
    pub fn check(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let burst = f64::from(self.limit.burst.max(1));
        let per_second = burst / self.limit.period.as_secs_f64().max(f64::EPSILON);
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        if buckets.len() > 10_000 {
            let idle = self.limit.period * FORGET_AFTER_PERIODS;
            buckets.retain(|_, bucket| now.duration_since(bucket.updated) < idle);
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_then_refills_over_the_period() {
        let limiter = RateLimiter::new(RateLimit {
            burst: 3,
            period: Duration::from_secs(6),
        });
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(&"alice", start).is_ok());
        }
        let wait = limiter.check(&"alice", start).unwrap_err();
        assert!((1.9..=2.1).contains(&wait.as_secs_f64()), "{wait:?}");
        assert!(limiter.check(&"bob", start).is_ok(), "keys are independent");
        assert!(
            limiter
                .check(&"alice", start + Duration::from_secs(2))
                .is_ok()
        );
        assert!(
            limiter
                .check(&"alice", start + Duration::from_secs(2))
                .is_err()
        );
    }
}
