//! The free-space watermark: every second, each data path (the recordings
//! directory, the upload spool, the embedded database) is checked against
//! `--min-free-disk`, and the uploader against its spool cap. Either one
//! closes the [`RecordingGate`]: recording pauses, with a warning on every
//! live stream's health, while live playback (held in memory) goes on.
//! PostgreSQL shares the disk by default: stopping recordings before the
//! disk is full keeps the database writable.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use nova_recorder::{RecordingGate, UploaderStats};
use tokio::task::JoinHandle;

use crate::health::HealthBoard;
use crate::metrics::{DISK_FREE_BYTES, DISK_MIN_FREE_BYTES};
use crate::units::{FreeSpace, human};

const PERIOD: Duration = Duration::from_secs(1);
/// Recording resumes only once free space is this much above the
/// watermark, so a recording near it does not pause and resume with
/// every segment it writes.
const RESUME_MARGIN: f64 = 1.1;

/// A directory whose filesystem must keep its free space, and what it is
/// (for the operator's message).
pub struct WatchedPath {
    pub what: &'static str,
    pub path: PathBuf,
}

pub struct DiskWatch {
    pub paths: Vec<WatchedPath>,
    pub min_free: FreeSpace,
    pub max_spool_bytes: u64,
}

/// Starts the watcher; abort the task to stop it.
pub fn spawn(
    watch: DiskWatch,
    gate: Arc<RecordingGate>,
    uploader_stats: impl Fn() -> UploaderStats + Send + 'static,
    health: Arc<HealthBoard>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut disk_low = false;
        let mut spool_full = false;
        loop {
            tick.tick().await;
            let measured = measure(&watch);
            publish(&measured);
            let low = low_space(&watch, &measured, disk_low);
            if low.is_some() != disk_low {
                disk_low = low.is_some();
                match &low {
                    Some(reason) => tracing::warn!("recording paused: {reason}"),
                    None => tracing::info!(
                        "free space is back above --min-free-disk; recording resumes"
                    ),
                }
            }
            gate.set("disk", low);

            let stats = uploader_stats();
            if stats.spool_full != spool_full {
                spool_full = stats.spool_full;
                if spool_full {
                    tracing::warn!(
                        spooled_bytes = stats.spooled_bytes,
                        "recording paused: the upload spool is full"
                    );
                } else {
                    tracing::info!("the upload spool drained; recording resumes");
                }
            }
            gate.set(
                "spool",
                stats.spool_full.then(|| {
                    format!(
                        "the upload spool holds {} of its {} cap (--max-spool-bytes) because the \
                         recording store does not take uploads",
                        human(stats.spooled_bytes),
                        human(watch.max_spool_bytes)
                    )
                }),
            );
            health.set_recording_paused(gate.paused().map(|reason| {
                format!(
                    "Recording is paused on this server: {reason}. Live viewers are not \
                     affected; the recording will have a gap and resumes by itself once \
                     the operator frees space."
                )
            }));
        }
    })
}

/// Why free space is too low on some watched path; `None` when all have
/// enough. While already paused, the bar is [`RESUME_MARGIN`] higher.
fn low_space(
    watch: &DiskWatch,
    measured: &[(&WatchedPath, u64, u64)],
    paused: bool,
) -> Option<String> {
    let mut reasons = Vec::new();
    for &(watched, free, required) in measured {
        let bar = if paused {
            (required as f64 * RESUME_MARGIN) as u64
        } else {
            required
        };
        if free < bar {
            reasons.push(format!(
                "only {} free on the filesystem of the {} ({}), below --min-free-disk {}",
                human(free),
                watched.what,
                watched.path.display(),
                watch.min_free
            ));
        }
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// Each watched path that exists: (path, free bytes, the watermark's bytes
/// on its filesystem).
fn measure(watch: &DiskWatch) -> Vec<(&WatchedPath, u64, u64)> {
    watch
        .paths
        .iter()
        .filter_map(|watched| {
            let (free, total) = free_space(&watched.path)?;
            Some((watched, free, watch.min_free.of(total)))
        })
        .collect()
}

/// `nova_disk_free_bytes` and `nova_disk_min_free_bytes` of the watched
/// filesystem closest to its watermark (they may differ in size, so the
/// pair is taken from one of them): `free < min_free` is exactly when
/// recording pauses for the disk.
fn publish(measured: &[(&WatchedPath, u64, u64)]) {
    let tightest = measured
        .iter()
        .min_by_key(|(_, free, required)| *free as i128 - *required as i128);
    if let Some((_, free, required)) = tightest {
        metrics::gauge!(DISK_FREE_BYTES).set(*free as f64);
        metrics::gauge!(DISK_MIN_FREE_BYTES).set(*required as f64);
    }
}

/// (bytes available to unprivileged writers, filesystem size); `None` when
/// the path does not exist (yet).
fn free_space(path: &Path) -> Option<(u64, u64)> {
    let c_path = CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs is plain integers, for which all zeroes is valid.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a statvfs struct to fill.
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    let block = stat.f_frsize as u64;
    Some((
        (stat.f_bavail as u64).saturating_mul(block),
        (stat.f_blocks as u64).saturating_mul(block),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_free_space_of_a_real_filesystem() {
        let dir = tempfile::tempdir().unwrap();
        let (free, total) = free_space(dir.path()).unwrap();
        assert!(total > 0 && free <= total);
        assert!(free_space(&dir.path().join("missing")).is_none());
        let watch = |min_free| DiskWatch {
            paths: vec![WatchedPath {
                what: "recordings directory",
                path: dir.path().to_owned(),
            }],
            min_free,
            max_spool_bytes: 0,
        };
        let roomy = watch(FreeSpace::Bytes(0));
        assert!(low_space(&roomy, &measure(&roomy), false).is_none());
        let full = watch(FreeSpace::Bytes(u64::MAX));
        let reason = low_space(&full, &measure(&full), false).unwrap();
        assert!(reason.contains("recordings directory"), "{reason}");
    }
}
