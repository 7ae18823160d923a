//! The server's resident memory, as the kernel counts it: what the hostile
//! client tests bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// `VmRSS` of process `pid`, in bytes.
pub fn resident_bytes(pid: u32) -> u64 {
    try_resident_bytes(pid).unwrap_or_else(|| panic!("process {pid} is gone"))
}

/// `VmRSS` of process `pid`, in bytes; `None` once it is gone.
pub fn try_resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// The highest resident memory of a process since [`PeakMemory::watch`],
/// sampled every 50 ms until dropped or the process is gone.
pub struct PeakMemory {
    peak: Arc<AtomicU64>,
    sampler: tokio::task::JoinHandle<()>,
}

impl PeakMemory {
    pub fn watch(pid: u32) -> Self {
        let peak = Arc::new(AtomicU64::new(resident_bytes(pid)));
        let sampler = tokio::spawn({
            let peak = peak.clone();
            async move {
                while let Some(now) = try_resident_bytes(pid) {
                    peak.fetch_max(now, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        });
        Self { peak, sampler }
    }

    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }
}

impl Drop for PeakMemory {
    fn drop(&mut self) {
        self.sampler.abort();
    }
}

pub fn mib(bytes: u64) -> u64 {
    bytes >> 20
}
