//! A real S3 server for tests: `s3s-fs` (SigV4-checking, files on disk) on a
//! free loopback port, which a test can stop and start again on the same
//! port and directory to simulate an outage.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nova_recorder::{S3Config, S3ObjectStore};

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

pub struct S3sServer {
    child: Option<Child>,
    pub port: u16,
    root: tempfile::TempDir,
}

impl S3sServer {
    /// Starts a server with [`BUCKET`] already created.
    pub fn start() -> Self {
        let root = tempfile::tempdir().expect("temp dir for s3s-fs");
        std::fs::create_dir(root.path().join(BUCKET)).expect("bucket directory");
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = Self {
            child: None,
            port,
            root,
        };
        server.resume();
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Where the server keeps `key` of [`BUCKET`] (to look behind its back).
    pub fn object_path(&self, key: &str) -> PathBuf {
        self.root.path().join(BUCKET).join(key)
    }

    /// Kills the server; its port refuses connections until [`S3sServer::resume`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and data.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "s3s-fs is already running");
        let log = std::fs::File::create(self.root.path().join("s3s-fs.log")).expect("log file");
        let child = Command::new(s3s_fs_binary())
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(self.root.path())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawning s3s-fs");
        self.child = Some(child);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let started = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                let log = std::fs::read_to_string(self.root.path().join("s3s-fs.log"))
                    .unwrap_or_default();
                panic!("s3s-fs exited with {status} before listening on {addr}:\n{log}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "s3s-fs did not listen on {addr} within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn config(&self) -> S3Config {
        let mut config = S3Config::new(BUCKET);
        config.endpoint = Some(self.endpoint());
        config.force_path_style = true;
        config.credentials = Some((ACCESS_KEY.into(), SECRET_KEY.into()));
        // Loopback: a refused connection is immediate, keep retries short.
        config.connect_timeout = Duration::from_secs(1);
        config.attempt_timeout = Duration::from_secs(10);
        config
    }

    pub async fn store(&self) -> S3ObjectStore {
        S3ObjectStore::connect(self.config())
            .await
            .expect("S3 client")
    }

    /// A plain SDK client, to check what the store wrote with requests of
    /// our own rather than through the code under test.
    pub async fn raw_client(&self) -> aws_sdk_s3::Client {
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                ACCESS_KEY, SECRET_KEY, None, None, "test",
            ))
            .endpoint_url(self.endpoint())
            .load()
            .await;
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&shared)
                .force_path_style(true)
                .build(),
        )
    }
}

impl Drop for S3sServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `condition` every 20 ms until it holds, failing after `timeout`
/// with `what` (waiting on real processes and sockets, not on sleeps of a
/// guessed length).
pub async fn wait_for(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(
            started.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
