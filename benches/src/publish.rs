//! ffmpeg publishers: the sample pushed over RTMP as FLV, paced
//! (`-re -stream_loop -1 -t SECONDS`, what a live encoder sends) or as fast
//! as the server reads, each with a log and a `-progress` report. Started
//! by the test kit's launcher, like the tests' publishers.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nova_testkit::ffmpeg::publisher_command;
use tokio::process::Child;

use crate::progress::Progress;

pub struct Publisher {
    /// Killed if still running when dropped.
    pub process: Child,
    pub started: Instant,
    /// Spawn-to-exit time and status, once it has exited.
    pub finished: Option<(Duration, ExitStatus)>,
    pub log: PathBuf,
    pub progress: PathBuf,
}

impl Publisher {
    /// Starts `ffmpeg` pushing `sample` to `url`: paced for `paced_seconds`
    /// (looping the sample), or the sample once as fast as possible when
    /// `None`. Its files are `work/publisher-{index}.{log,progress}`. `rt`
    /// reaps it.
    pub fn spawn(
        rt: &tokio::runtime::Runtime,
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
        let mut command = publisher_command(ffmpeg, url, |command| {
            command.arg("-progress").arg(&progress_path);
            if let Some(seconds) = paced_seconds {
                command.args(["-re", "-stream_loop", "-1"]);
                command.arg("-i").arg(sample);
                command.args(["-t", &seconds.to_string()]);
            } else {
                command.arg("-i").arg(sample);
            }
            command.args(["-c", "copy"]);
        });
        command.stderr(Stdio::from(log));
        let _runtime = rt.enter();
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", ffmpeg.display()))?;
        Ok(Self {
            process: child,
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
                Ok(Some(status)) => self.finished = Some((self.started.elapsed(), status)),
                _ => return true,
            }
        }
        false
    }

    /// Kills it if it still runs, and reaps it.
    pub fn stop(&mut self) {
        if !self.poll() {
            return;
        }
        let _ = self.process.start_kill();
        let until = Instant::now() + Duration::from_secs(5);
        while !matches!(self.process.try_wait(), Ok(Some(_))) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The last block of its `-progress` report.
    pub fn last_progress(&self) -> Option<Progress> {
        fs::read_to_string(&self.progress)
            .ok()
            .and_then(|text| Progress::parse_last(&text))
    }
}
