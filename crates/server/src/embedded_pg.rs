//! The PostgreSQL cluster nova-live runs for itself when no `DATABASE_URL`
//! is given: the system's PostgreSQL binaries, a private cluster, loopback
//! only, password-protected, stopped when the server stops.
//!
//! PostgreSQL refuses to run as root, so when nova-live runs as root the
//! cluster belongs to an unprivileged user (`postgres`, created if missing).
//! The cluster stays where the operator put it (`<data dir>/postgres`, or
//! `--database-dir`): when that user cannot reach it, it is given the right
//! to pass through (never to list) the directories on the way; see
//! [`cluster_access`].

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cluster_access;
use crate::orphan_postmaster;
use crate::secrets;

const DATABASE: &str = "nova";
const SUPERUSER: &str = "postgres";
const PASSWORD_FILE: &str = "postgres-password";
const SERVICE_USER: &str = "postgres";

pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    cluster_dir: PathBuf,
    run_as: Option<String>,
    port: u16,
    password: String,
}

impl EmbeddedPostgres {
    /// Initializes the cluster on first use and starts it. A postmaster a
    /// killed server left running on the same cluster is stopped first: it
    /// was started with another port and nobody would stop it.
    /// `database_dir` is the cluster's own path (`--database-dir`); by
    /// default `<data dir>/postgres`.
    pub fn start(data_dir: &Path, database_dir: Option<&Path>) -> Result<Self> {
        let bin_dir = find_bin_dir()?;
        let run_as = if is_root() {
            ensure_service_user()?;
            Some(SERVICE_USER.to_owned())
        } else {
            None
        };
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data directory {}", data_dir.display()))?;
        let data_dir = data_dir.canonicalize()?;
        let cluster_dir = match database_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating database directory {}", dir.display()))?;
                dir.canonicalize()?
            }
            None => data_dir.join("postgres"),
        };
        if let Some(user) = run_as.as_deref() {
            cluster_access::make_reachable(&cluster_dir, user)?;
        }
        warn_about_legacy_cluster(&data_dir);
        let password = secrets::read_or_create_password(&data_dir, PASSWORD_FILE)?;
        let mut pg = Self {
            bin_dir,
            cluster_dir,
            run_as,
            port: 0,
            password,
        };
        if !pg.cluster_dir.join("PG_VERSION").exists() {
            pg.init_cluster()?;
        }
        if let Some(orphan) = orphan_postmaster::find(&pg.cluster_dir) {
            tracing::warn!(
                pid = orphan.pid,
                cluster = %pg.cluster_dir.display(),
                "a PostgreSQL left running by a server that did not stop cleanly holds the cluster; stopping it"
            );
            pg.stop().or_else(|error| {
                tracing::warn!("pg_ctl could not stop it ({error:#}); signalling it directly");
                orphan.terminate()
            })?;
        }
        pg.port = free_port()?;
        pg.start_cluster()?;
        Ok(pg)
    }

    pub fn admin_url(&self) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/postgres",
            self.password, self.port
        )
    }

    pub fn database_url(&self) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{DATABASE}",
            self.password, self.port
        )
    }

    pub fn database_name(&self) -> &'static str {
        DATABASE
    }

    /// Stops the cluster, whether this process started it or adopted it.
    pub fn stop(&self) -> Result<()> {
        let status = self
            .pg_command("pg_ctl")
            .arg("-D")
            .arg(&self.cluster_dir)
            .args(["-m", "fast", "-w", "-t", "60", "stop"])
            .status()
            .context("running pg_ctl stop")?;
        if !status.success() {
            bail!("pg_ctl stop failed ({status})");
        }
        Ok(())
    }

    fn init_cluster(&self) -> Result<()> {
        tracing::info!(cluster = %self.cluster_dir.display(), "creating the embedded PostgreSQL cluster");
        std::fs::create_dir_all(&self.cluster_dir)?;
        self.give_to_service_user(&self.cluster_dir)?;
        // initdb reads the superuser password from a file the service user can read.
        let pwfile = self.cluster_dir.with_extension("pwfile");
        std::fs::write(&pwfile, &self.password)?;
        self.give_to_service_user(&pwfile)?;
        let output = self
            .pg_command("initdb")
            .arg("-D")
            .arg(&self.cluster_dir)
            .args(["-U", SUPERUSER, "-E", "UTF8", "--locale=C", "--no-sync"])
            .args(["--auth-local=scram-sha-256", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .context("running initdb");
        let _ = std::fs::remove_file(&pwfile);
        let output = output?;
        if !output.status.success() {
            bail!(
                "initdb failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    fn start_cluster(&self) -> Result<()> {
        let log = self.cluster_dir.with_extension("log");
        if !log.exists() {
            std::fs::write(&log, "")?;
        }
        self.give_to_service_user(&log)?;
        // No unix socket: its path length is limited and the data directory
        // may be deep; everything connects over loopback TCP.
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=200",
            self.port
        );
        let status = self
            .pg_command("pg_ctl")
            .arg("-D")
            .arg(&self.cluster_dir)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "-o", &options, "start"])
            .stdout(std::process::Stdio::null())
            .status()
            .context("running pg_ctl start")?;
        if !status.success() {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(5).collect();
            bail!(
                "the embedded PostgreSQL did not start ({status}); its log {} ends with:\n{}",
                log.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        tracing::info!(port = self.port, cluster = %self.cluster_dir.display(), "embedded PostgreSQL started");
        Ok(())
    }

    fn pg_command(&self, program: &str) -> Command {
        let binary = self.bin_dir.join(program);
        match &self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(binary);
                command
            }
            None => Command::new(binary),
        }
    }

    fn give_to_service_user(&self, path: &Path) -> Result<()> {
        let Some(user) = &self.run_as else {
            return Ok(());
        };
        let status = Command::new("chown")
            .arg(user)
            .arg(path)
            .status()
            .context("running chown")?;
        if !status.success() {
            bail!("chown {user} {} failed", path.display());
        }
        Ok(())
    }
}

/// Where clusters went before they stayed in the data directory: one left
/// there is not used any more, and the operator should know it takes space.
fn warn_about_legacy_cluster(data_dir: &Path) {
    let name: String = data_dir
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let legacy = Path::new("/var/lib/nova-live").join(name.trim_matches('_'));
    if legacy.join("postgres").join("PG_VERSION").exists() {
        tracing::warn!(
            "{} holds a cluster an older nova-live kept outside the data directory; it is \
             not used any more: move it to {}/postgres (server stopped) to keep its data, or delete it",
            legacy.display(),
            data_dir.display()
        );
    }
}

/// `NOVA_PG_BIN`, else the newest /usr/lib/postgresql/*/bin, else `pg_config --bindir`.
fn find_bin_dir() -> Result<PathBuf> {
    if let Ok(dir) = std::env::var("NOVA_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output()
        && output.status.success()
    {
        return Ok(PathBuf::from(
            String::from_utf8_lossy(&output.stdout).trim(),
        ));
    }
    bail!(
        "no PostgreSQL server binaries found: install them (apt install postgresql), \
         set NOVA_PG_BIN, or point DATABASE_URL at a running PostgreSQL"
    )
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn ensure_service_user() -> Result<()> {
    let exists = Command::new("id")
        .arg("-u")
        .arg(SERVICE_USER)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if exists {
        return Ok(());
    }
    let status = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
        ])
        .arg(SERVICE_USER)
        .status()
        .context("running useradd")?;
    if !status.success() {
        bail!("could not create the {SERVICE_USER} user for the embedded PostgreSQL");
    }
    Ok(())
}

fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind("127.0.0.1:0").context("finding a free port for PostgreSQL")?;
    Ok(listener.local_addr()?.port())
}
