//! The sample being pushed and the machine the harness runs on.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::process::run_with_timeout;

/// What ffprobe says about the sample.
pub struct Probe {
    pub duration: f64,
    /// Bits per second, 0 when unknown.
    pub bit_rate: f64,
}

pub fn probe_sample(ffprobe: &Path, sample: &Path) -> Result<Probe> {
    let mut cmd = Command::new(ffprobe);
    cmd.args([
        "-v",
        "error",
        "-show_entries",
        "format=duration,bit_rate",
        "-of",
        "default=noprint_wrappers=1",
    ])
    .arg(sample);
    let output = run_with_timeout(cmd, Duration::from_secs(30))?;
    if !output.status.success() {
        bail!(
            "ffprobe {} failed: {}",
            sample.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |key: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))?
            .trim()
            .parse()
            .ok()
    };
    let duration = field("duration").context("ffprobe gave no duration")?;
    if duration <= 0.0 {
        bail!("sample {} has no duration", sample.display());
    }
    Ok(Probe {
        duration,
        bit_rate: field("bit_rate").unwrap_or(0.0),
    })
}

/// Cores, CPU model and kernel, for the report header.
pub fn machine_description() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    format!("{cores} cores, {model}, Linux {kernel}")
}
