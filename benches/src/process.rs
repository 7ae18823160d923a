//! Child processes of the harnesses: guards that stop them (and what they
//! leave behind) on every exit path, commands with a time limit.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{interrupt, procfs};

const POLL: Duration = Duration::from_millis(20);

/// A child process that is stopped (signal, grace period, then SIGKILL, and
/// the same for the children it leaves) when dropped.
pub struct Guarded {
    child: Child,
    name: &'static str,
    stop_signal: i32,
    grace: Duration,
    status: Option<ExitStatus>,
}

impl Guarded {
    pub fn new(child: Child, name: &'static str, stop_signal: i32, grace: Duration) -> Self {
        Self {
            child,
            name,
            stop_signal,
            grace,
            status: None,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    pub fn stop(&mut self) {
        if self.try_wait().is_some() {
            return;
        }
        let descendants: Vec<i32> = procfs::process_tree(self.pid(), &[self.pid()])
            .iter()
            .map(|p| p.pid)
            .collect();
        signal(self.pid(), self.stop_signal);
        let until = Instant::now() + self.grace;
        while self.try_wait().is_none() && Instant::now() < until {
            std::thread::sleep(POLL);
        }
        if self.try_wait().is_none() {
            if self.stop_signal != libc::SIGKILL {
                eprintln!(
                    "    {} (pid {}) did not stop within {:?}: killing it",
                    self.name,
                    self.pid(),
                    self.grace
                );
            }
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
        // Children it had (nginx workers) that outlived it.
        let until = Instant::now() + Duration::from_secs(2);
        for pid in descendants {
            while procfs::read_stat(pid).is_some() && Instant::now() < until {
                std::thread::sleep(POLL);
            }
            if procfs::read_stat(pid).is_some() {
                signal(pid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(pid, sig);
    }
}

pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Runs a command that prints little, killing it after `timeout`.
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Result<Output> {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {:?}", cmd.get_program()))?;
    let mut process = Guarded::new(child, "command", libc::SIGKILL, Duration::ZERO);
    let until = Instant::now() + timeout;
    // Its output is a few lines, well under a pipe's buffer, so it cannot
    // block writing while we poll.
    while process.try_wait().is_none() {
        interrupt::check()?;
        if Instant::now() >= until {
            bail!("{:?} did not finish within {timeout:?}", cmd.get_program());
        }
        std::thread::sleep(POLL);
    }
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    if let Some(pipe) = process.child.stdout.as_mut() {
        pipe.read_to_end(&mut stdout)?;
    }
    if let Some(pipe) = process.child.stderr.as_mut() {
        pipe.read_to_end(&mut stderr)?;
    }
    let status = process.try_wait().context("exit status")?;
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

/// The last `lines` lines of a text file ("" when unreadable).
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
