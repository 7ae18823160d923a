//! Prometheus metrics: one process-wide recorder every crate records into
//! through the `metrics` facade, served in the text exposition format on a
//! listener of its own (`--metrics-addr`), away from the public HTTP port.
//!
//! Two kinds of series:
//! - process-wide ones (`nova_http_requests_total`, `nova_live_streams`, …)
//!   live in the global recorder for the life of the process;
//! - per-stream ones (label `stream`) are not kept there: the `metrics`
//!   facade cannot remove a series, and a stream that ended must leave the
//!   output. They are recorded at each scrape from what is live at that
//!   moment, by the [`ScrapeCollector`]s, into a recorder made for that
//!   scrape, so a stream's series disappear with the stream. Values read
//!   from elsewhere at that moment (the database pools, /proc) are
//!   recorded the same way.

mod catalogue;
mod listener;
mod process;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub use catalogue::{DISK_FREE_BYTES, DISK_MIN_FREE_BYTES};
pub use listener::spawn as spawn_listener;
pub use process::{database_pools, process};

/// Records the series that exist only while what they describe is live
/// (a stream of this node), with the ordinary `metrics` macros, and
/// describes them; called at every scrape with a recorder of its own
/// installed.
pub type ScrapeCollector = Arc<dyn Fn() + Send + Sync>;

/// Histogram buckets (base units: seconds and bytes), chosen for what is
/// measured: request and segment latencies from a millisecond to a minute.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];
const BYTES_BUCKETS: &[f64] = &[
    1024.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0, 67108864.0,
];
/// Histograms without upkeep keep every sample since the last one.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// What renders the exposition: the process-wide recorder's handle and the
/// collectors of per-stream series.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
    collectors: Arc<Vec<ScrapeCollector>>,
}

impl Metrics {
    /// Installs the process-wide recorder (once per process) and describes
    /// every series nova-live records.
    pub fn install() -> Result<PrometheusHandle> {
        let recorder = builder()?.build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder)
            .context("installing the metrics recorder (installed twice?)")?;
        catalogue::describe();
        let upkeep = handle.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(UPKEEP_INTERVAL);
            loop {
                ticks.tick().await;
                upkeep.run_upkeep();
            }
        });
        Ok(handle)
    }

    pub fn new(handle: PrometheusHandle, collectors: Vec<ScrapeCollector>) -> Self {
        Self {
            handle,
            collectors: Arc::new(collectors),
        }
    }

    /// The whole exposition: process-wide series, then per-stream ones.
    pub fn render(&self) -> String {
        let mut text = self.handle.render();
        if self.collectors.is_empty() {
            return text;
        }
        let Ok(builder) = builder() else {
            return text;
        };
        let scrape = builder.build_recorder();
        metrics::with_local_recorder(&scrape, || {
            for collect in self.collectors.iter() {
                collect();
            }
        });
        text.push_str(&scrape.handle().render());
        text
    }
}

fn builder() -> Result<PrometheusBuilder> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
        .and_then(|builder| {
            builder.set_buckets_for_metric(Matcher::Suffix("_bytes".into()), BYTES_BUCKETS)
        })
        .context("configuring histogram buckets")
}
