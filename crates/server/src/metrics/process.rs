//! Series read from the process at each scrape: its database pools and
//! what the kernel knows of it (CPU, memory, file descriptors). Nothing is
//! kept between scrapes, so the values are those of the moment.

use std::sync::Arc;

use metrics::Unit;
use sqlx::PgPool;

use super::ScrapeCollector;
use crate::database::Pools;

pub const DB_POOL_CONNECTIONS: &str = "nova_db_pool_connections";

/// `nova_db_pool_connections{pool, state}`: each pool's open connections,
/// in use or idle. (How many callers wait for one is not measured: sqlx's
/// pool does not say, and counting it here would mean wrapping every query.)
pub fn database_pools(pools: Pools) -> ScrapeCollector {
    Arc::new(move || {
        metrics::describe_gauge!(
            DB_POOL_CONNECTIONS,
            Unit::Count,
            "Open PostgreSQL connections by pool (shared: the API and playback; reserved: \
             publish authorization and stream status) and state (in_use, idle)"
        );
        pool_gauges("shared", &pools.shared);
        pool_gauges("reserved", &pools.reserved);
    })
}

fn pool_gauges(name: &'static str, pool: &PgPool) {
    // Two reads, not one snapshot: idle is clamped so a connection closing
    // between them cannot make in_use negative.
    let open = pool.size();
    let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(open);
    metrics::gauge!(DB_POOL_CONNECTIONS, "pool" => name, "state" => "in_use")
        .set(f64::from(open - idle));
    metrics::gauge!(DB_POOL_CONNECTIONS, "pool" => name, "state" => "idle").set(f64::from(idle));
}

/// The Prometheus client libraries' standard `process_*` series
/// (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
/// `process_open_fds`, …), read from /proc by the `metrics-process` crate.
pub fn process() -> ScrapeCollector {
    let collector = metrics_process::Collector::default();
    Arc::new(move || {
        collector.describe();
        collector.collect();
    })
}
