//! A real S3 server: `s3s-fs` (it checks SigV4 and keeps objects as plain
//! files, `{root}/{bucket}/{key}`) on a free loopback port, which a test can
//! stop and start again on the same port and directory to simulate an
//! outage. It writes an object to a temporary file at the root and renames
//! it into place, so a file under the bucket is complete the moment it
//! appears (what the DVR bench's latency watcher relies on).

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "nova-test-access";
pub const SECRET_KEY: &str = "nova-test-secret-key";
pub const BUCKET: &str = "recordings";

/// `NOVA_S3S_FS`, else `s3s-fs` on PATH, else `~/.cargo/bin/s3s-fs`. Panics
/// with the install command when none exists: these tests never skip.
pub fn s3s_fs_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NOVA_S3S_FS") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "NOVA_S3S_FS={} does not exist; unset it or install s3s-fs there",
            path.display()
        );
        return path;
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("s3s-fs"))
                .collect()
        })
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(Path::new(&home).join(".cargo/bin/s3s-fs"));
    }
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "s3s-fs not found (NOVA_S3S_FS, PATH, ~/.cargo/bin). The S3 tests need a real \
             S3 server: run `cargo install s3s-fs --version 0.14.1 --features binary --locked` \
             or scripts/test, which installs it"
            )
        })
}

/// A running s3s-fs with [`BUCKET`] created, killed on drop. Fields drop
/// in order: the server is gone before its directory is removed.
pub struct S3sServer {
    child: Option<Child>,
    binary: PathBuf,
    pub port: u16,
    root: tempfile::TempDir,
}

impl S3sServer {
    /// Starts [`s3s_fs_binary`].
    pub fn start() -> Self {
        Self::start_binary(&s3s_fs_binary())
    }

    /// Starts the s3s-fs at `binary`.
    pub fn start_binary(binary: &Path) -> Self {
        let root = tempfile::Builder::new()
            .prefix("nova-s3s-fs-")
            .tempdir()
            .expect("temp dir for s3s-fs");
        // s3s-fs serves the subdirectories of its root as buckets.
        std::fs::create_dir(root.path().join(BUCKET)).expect("bucket directory");
        let mut server = Self {
            child: None,
            binary: binary.to_owned(),
            port: crate::free_port(),
            root,
        };
        server.resume();
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Where the server keeps the objects of [`BUCKET`].
    pub fn bucket_dir(&self) -> PathBuf {
        self.root.path().join(BUCKET)
    }

    /// Where the server keeps `key` of [`BUCKET`] (to look behind its back).
    pub fn object_path(&self, key: &str) -> PathBuf {
        self.bucket_dir().join(key)
    }

    /// The process id while it runs (to measure what it spends).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `nova-live serve` arguments that record into this server.
    pub fn nova_args(&self) -> Vec<String> {
        [
            "--storage",
            "s3",
            "--s3-endpoint",
            &self.endpoint(),
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

    /// Kills the server; its port refuses connections until [`S3sServer::resume`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and data, and waits until
    /// it listens.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "s3s-fs is already running");
        let log_path = self.root.path().join("s3s-fs.log");
        let log = std::fs::File::create(&log_path).expect("log file");
        let child = Command::new(&self.binary)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(self.root.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {}: {e}", self.binary.display()));
        self.child = Some(child);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let started = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("s3s-fs exited with {status} before listening on {addr}:\n{log}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "s3s-fs did not listen on {addr} within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for S3sServer {
    fn drop(&mut self) {
        self.stop();
    }
}
