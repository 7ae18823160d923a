//! A postmaster a killed server left running on its cluster.
//!
//! `postmaster.pid` names the process; its pid can be reused after a
//! reboot, so the process counts only if it is alive and working in this
//! very cluster (a postmaster's working directory is its data directory).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

pub struct Orphan {
    pub pid: i32,
    cluster_dir: PathBuf,
}

/// The postmaster running on `cluster_dir`, if any. A `postmaster.pid`
/// whose process is alive but elsewhere is stale: it is removed, since
/// PostgreSQL would refuse to start over it when the pid belongs to its user.
pub fn find(cluster_dir: &Path) -> Option<Orphan> {
    let pid_file = cluster_dir.join("postmaster.pid");
    let text = std::fs::read_to_string(&pid_file).ok()?;
    let pid: i32 = text.lines().next()?.trim().parse().ok()?;
    if !alive(pid) {
        return None;
    }
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok();
    let same = cwd.is_some_and(|cwd| Path::new(&cwd) == cluster_dir);
    if !same {
        tracing::warn!(
            pid,
            "{} names a process that is not a postmaster of this cluster; removing the stale file",
            pid_file.display()
        );
        let _ = std::fs::remove_file(&pid_file);
        return None;
    }
    Some(Orphan {
        pid,
        cluster_dir: cluster_dir.to_owned(),
    })
}

impl Orphan {
    /// SIGQUIT (PostgreSQL's immediate shutdown: crash recovery at the next
    /// start, nothing committed lost), then SIGKILL if it lingers.
    pub fn terminate(&self) -> Result<()> {
        for (signal, patience) in [
            (libc::SIGQUIT, Duration::from_secs(20)),
            (libc::SIGKILL, Duration::from_secs(10)),
        ] {
            // SAFETY: signalling a process we checked is our cluster's postmaster.
            unsafe { libc::kill(self.pid, signal) };
            let deadline = Instant::now() + patience;
            while Instant::now() < deadline {
                if !alive(self.pid) {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        bail!(
            "the PostgreSQL process {} on {} does not stop; stop it by hand",
            self.pid,
            self.cluster_dir.display()
        )
    }
}

/// Running: a zombie (a dead postmaster its new parent has not reaped
/// yet, as PID 1 of a container may be slow to) does not count.
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // The command name in parentheses may itself hold spaces.
            let state = stat.rsplit_once(") ")?.1.chars().next()?;
            Some(state != 'Z' && state != 'X')
        })
        .unwrap_or(false)
}
