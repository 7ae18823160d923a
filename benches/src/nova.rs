//! Starting nova-live for a harness: a fresh data directory, free loopback
//! ports, its embedded PostgreSQL (or a given one), readiness, an API token,
//! and a guard that stops it and anything it leaves running.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::http::{Http, NovaApi};
use nova_testkit::free_port;

use crate::process::{Guarded, run_with_timeout, signal, tail};
use crate::{interrupt, procfs};

/// `sub` of the API token the harnesses use.
pub const BENCH_USER: &str = "6e6f7661-6c69-4076-a562-656e63680001";
/// nova-live's own log, in its data directory.
pub const LOG_NAME: &str = "nova-live.log";

pub struct NovaOptions<'a> {
    pub binary: &'a Path,
    /// Unset: nova-live starts its own cluster in its data directory.
    pub database_url: Option<&'a str>,
    /// More `nova-live serve` arguments.
    pub extra_args: &'a [String],
    /// Environment for `nova-live serve` and `nova-live token` (say
    /// `NOVA_JWT_SECRET`, which has no flag).
    pub env: &'a [(&'a str, &'a str)],
}

/// A server process that, when dropped, is stopped together with the
/// embedded PostgreSQL it may leave behind.
pub struct ServerProcess {
    pub process: Guarded,
    /// Where nova-live's embedded PostgreSQL keeps `postmaster.pid`.
    pub postmaster_pid_file: Option<PathBuf>,
}

impl ServerProcess {
    pub fn pid(&self) -> i32 {
        self.process.pid()
    }

    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.process.try_wait()
    }

    pub fn postmaster_pid(&self) -> Option<i32> {
        let text = fs::read_to_string(self.postmaster_pid_file.as_ref()?).ok()?;
        let pid: i32 = text.lines().next()?.trim().parse().ok()?;
        procfs::read_stat(pid).map(|_| pid)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let postmaster = self.postmaster_pid();
        self.process.stop();
        // nova-live stops its PostgreSQL on SIGTERM; if it could not (it was
        // killed), stop the postmaster it left behind, found by its pid file.
        if let Some(pid) = postmaster
            && self.postmaster_pid() == Some(pid)
        {
            eprintln!("    stopping the embedded PostgreSQL nova-live left running (pid {pid})");
            signal(pid, libc::SIGINT); // PostgreSQL's "fast shutdown"
            let until = Instant::now() + Duration::from_secs(15);
            while procfs::read_stat(pid).is_some() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(100));
            }
            if procfs::read_stat(pid).is_some() {
                signal(pid, libc::SIGKILL);
            }
        }
    }
}

/// A running nova-live. Fields drop in order: the process is stopped before
/// its data directory is removed.
pub struct NovaLive {
    pub process: ServerProcess,
    pub rtmp_port: u16,
    pub api: NovaApi,
    pub dir: tempfile::TempDir,
}

impl NovaLive {
    /// `nova-live serve` on free loopback ports with a new data directory,
    /// ready (`/readyz` answers 200) and with a token for [`BENCH_USER`].
    pub fn start(http: &Http, options: &NovaOptions<'_>) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("nova-load-live-")
            .tempdir()?;
        // When run as root, nova-live runs its PostgreSQL as `postgres`, which
        // must be able to enter the data directory to keep its cluster there.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755))?;
        let rtmp_port = free_port();
        let http_port = free_port();
        let metrics_port = free_port();
        let base = format!("http://127.0.0.1:{http_port}");
        let log = File::create(dir.path().join(LOG_NAME))?;
        let mut cmd = Command::new(options.binary);
        cmd.arg("serve")
            .arg("--rtmp-addr")
            .arg(format!("127.0.0.1:{rtmp_port}"))
            .arg("--http-addr")
            .arg(format!("127.0.0.1:{http_port}"))
            .arg("--metrics-addr")
            .arg(format!("127.0.0.1:{metrics_port}"))
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--public-url")
            .arg(&base);
        match options.database_url {
            Some(url) => {
                cmd.arg("--database-url").arg(url);
            }
            None => {
                cmd.env_remove("DATABASE_URL");
            }
        }
        cmd.args(options.extra_args)
            .envs(options.env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log));
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", options.binary.display()))?;
        // SIGTERM: it ends its streams and stops its PostgreSQL.
        let mut process = ServerProcess {
            process: Guarded::new(child, "nova-live", libc::SIGTERM, Duration::from_secs(60)),
            postmaster_pid_file: options
                .database_url
                .is_none()
                .then(|| dir.path().join("postgres/postmaster.pid")),
        };
        let log_tail = || tail(&dir.path().join(LOG_NAME), 15);

        let ready_by = Instant::now() + Duration::from_secs(120);
        loop {
            interrupt::check()?;
            if let Some(status) = process.try_wait() {
                bail!(
                    "nova-live exited ({status}) before it was ready:\n{}",
                    log_tail()
                );
            }
            if http.get_status(&format!("{base}/readyz")) == Some(200) {
                break;
            }
            if Instant::now() >= ready_by {
                bail!("nova-live was not ready after 120 s:\n{}", log_tail());
            }
            std::thread::sleep(Duration::from_millis(250));
        }

        let mut token_cmd = Command::new(options.binary);
        token_cmd
            .args(["token", "--user", BENCH_USER, "--data-dir"])
            .arg(dir.path())
            .envs(options.env.iter().copied());
        let output = run_with_timeout(token_cmd, Duration::from_secs(30))?;
        if !output.status.success() {
            bail!(
                "nova-live token failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let token = String::from_utf8(output.stdout)?.trim().to_owned();
        if token.is_empty() {
            bail!("nova-live token printed nothing");
        }
        Ok(Self {
            process,
            rtmp_port,
            api: NovaApi { base, token },
            dir,
        })
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join(LOG_NAME)
    }
}
