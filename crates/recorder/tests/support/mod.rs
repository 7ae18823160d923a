//! The real S3 server (`s3s-fs`, from the test kit) and what the DVR
//! crate's tests build on it: a store under test, and a plain SDK client to
//! check behind its back.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use nova_recorder::{S3Config, S3ObjectStore};
pub use nova_testkit::s3::{ACCESS_KEY, BUCKET, SECRET_KEY};

/// The test kit's s3s-fs, with the DVR's S3 configuration for it.
pub struct S3sServer(nova_testkit::s3::S3sServer);

impl Deref for S3sServer {
    type Target = nova_testkit::s3::S3sServer;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for S3sServer {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl S3sServer {
    /// Starts a server with [`BUCKET`] already created.
    pub fn start() -> Self {
        Self(nova_testkit::s3::S3sServer::start())
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
