//! Latency samples and their summary (count, mean, percentiles).

use std::time::Duration;

use serde_json::{Value, json};

#[derive(Debug, Default, Clone)]
pub struct Latencies {
    micros: Vec<u64>,
}

impl Latencies {
    pub fn record(&mut self, elapsed: Duration) {
        self.micros
            .push(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
    }

    pub fn merge(&mut self, other: Latencies) {
        self.micros.extend(other.micros);
    }

    pub fn len(&self) -> usize {
        self.micros.len()
    }

    pub fn is_empty(&self) -> bool {
        self.micros.is_empty()
    }

    /// The smallest sample that `fraction` of the samples do not exceed
    /// (nearest rank), in milliseconds.
    pub fn percentile_ms(&self, fraction: f64) -> f64 {
        if self.micros.is_empty() {
            return f64::NAN;
        }
        let mut sorted = self.micros.clone();
        sorted.sort_unstable();
        let rank = ((fraction * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1] as f64 / 1000.0
    }

    pub fn mean_ms(&self) -> f64 {
        if self.micros.is_empty() {
            return f64::NAN;
        }
        self.micros.iter().sum::<u64>() as f64 / self.micros.len() as f64 / 1000.0
    }

    pub fn summary(&self) -> Value {
        json!({
            "samples": self.len(),
            "mean_ms": self.mean_ms(),
            "p50_ms": self.percentile_ms(0.50),
            "p99_ms": self.percentile_ms(0.99),
            "max_ms": self.percentile_ms(1.0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut latencies = Latencies::default();
        for ms in 1..=100 {
            latencies.record(Duration::from_millis(ms));
        }
        assert_eq!(latencies.percentile_ms(0.5), 50.0);
        assert_eq!(latencies.percentile_ms(0.99), 99.0);
        assert_eq!(latencies.percentile_ms(1.0), 100.0);
        assert_eq!(latencies.mean_ms(), 50.5);
    }
}
