//! ffmpeg publishers: the sample pushed over RTMP as FLV, paced
//! (`-re -stream_loop -1 -t SECONDS`, what a live encoder sends) or as fast
//! as the server reads, each with a log and a `-progress` report.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::process::Guarded;
use crate::progress::Progress;

pub struct Publisher {
    /// Killed if still running when dropped.
    pub process: Guarded,
    pub started: Instant,
    /// Spawn-to-exit time and status, once it has exited.
    pub finished: Option<(Duration, ExitStatus)>,
    pub log: PathBuf,
    pub progress: PathBuf,
}

impl Publisher {
    /// Starts `ffmpeg` pushing `sample` to `url`: paced for `paced_seconds`
    /// (looping the sample), or the sample once as fast as possible when
    /// `None`. Its files are `work/publisher-{index}.{log,progress}`.
    pub fn spawn(
        ffmpeg: &Path,
        sample: &Path,
        paced_seconds: Option<u32>,
        url: &str,
        work: &Path,
        index: usize,
    ) -> Result<Self> {
        let log_path = work.join(format!("publisher-{index}.log"));
        let progress_path = work.join(format!("publisher-{index}.progress"));
        let log = File::create(&log_path)?;
        let mut cmd = Command::new(ffmpeg);
        cmd.args([
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-progress",
        ])
        .arg(&progress_path);
        if let Some(seconds) = paced_seconds {
            cmd.args(["-re", "-stream_loop", "-1"]);
            cmd.arg("-i").arg(sample);
            cmd.args(["-t", &seconds.to_string()]);
        } else {
            cmd.arg("-i").arg(sample);
        }
        cmd.args(["-c", "copy", "-f", "flv", url]);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", ffmpeg.display()))?;
        Ok(Self {
            process: Guarded::new(child, "ffmpeg", libc::SIGKILL, Duration::ZERO),
            started: Instant::now(),
            finished: None,
            log: log_path,
            progress: progress_path,
        })
    }

    /// Whether it is still running (recording when it exited if not).
    pub fn poll(&mut self) -> bool {
        if self.finished.is_none() {
            match self.process.try_wait() {
                Some(status) => self.finished = Some((self.started.elapsed(), status)),
                None => return true,
            }
        }
        false
    }

    /// The last block of its `-progress` report.
    pub fn last_progress(&self) -> Option<Progress> {
        fs::read_to_string(&self.progress)
            .ok()
            .and_then(|text| Progress::parse_last(&text))
    }
}
