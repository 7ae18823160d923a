//! s3s-fs, a real S3 server (it checks SigV4) that keeps objects as plain
//! files: `{root}/{bucket}/{key}`. It writes an object to a temporary file at
//! the root and renames it into place, so a file under the bucket is complete
//! the moment it appears, which is what the latency watcher relies on.

use std::fs::{self, File};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::process::{Guarded, free_port, tail};

pub const ACCESS_KEY: &str = "nova-bench-access";
pub const SECRET_KEY: &str = "nova-bench-secret-key";
pub const BUCKET: &str = "recordings";

/// A running s3s-fs with [`BUCKET`] created. Fields drop in order: the
/// server stops before its directory is removed.
pub struct S3sFs {
    pub process: Guarded,
    pub port: u16,
    pub root: tempfile::TempDir,
}

impl S3sFs {
    pub fn start(binary: &Path) -> Result<Self> {
        let root = tempfile::Builder::new().prefix("nova-dvr-s3-").tempdir()?;
        // s3s-fs serves the subdirectories of its root as buckets.
        fs::create_dir(root.path().join(BUCKET))?;
        let port = free_port()?;
        let log = File::create(root.path().join("s3s-fs.log"))?;
        let child = Command::new(binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut server = Self {
            process: Guarded::new(child, "s3s-fs", libc::SIGTERM, Duration::from_secs(5)),
            port,
            root,
        };
        let ready_by = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = server.process.try_wait() {
                bail!(
                    "s3s-fs exited ({status}) before listening:\n{}",
                    tail(&server.root.path().join("s3s-fs.log"), 10)
                );
            }
            if Instant::now() >= ready_by {
                bail!("s3s-fs did not listen on {port} within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    pub fn bucket_dir(&self) -> PathBuf {
        self.root.path().join(BUCKET)
    }

    /// `nova-live serve` arguments that record into this server.
    pub fn nova_args(&self) -> Vec<String> {
        [
            "--storage",
            "s3",
            "--s3-endpoint",
            &format!("http://127.0.0.1:{}", self.port),
            "--s3-bucket",
            BUCKET,
            "--s3-force-path-style",
            "--s3-access-key-id",
            ACCESS_KEY,
            "--s3-secret-access-key",
            SECRET_KEY,
        ]
        .map(str::to_owned)
        .to_vec()
    }
}
