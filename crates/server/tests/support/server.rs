use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use sqlx::{Connection, Executor, PgConnection};
use tokio::process::{Child, Command};

use nova_testkit::free_port;
use nova_testkit::tls::TestCertificate;

use super::wait_for;

pub const BINARY: &str = env!("CARGO_BIN_EXE_nova-live");

/// A database of its own, created from `DATABASE_URL`'s server and dropped at the end.
pub struct TestDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let admin_url = std::env::var("DATABASE_URL")
            .expect("DATABASE_URL must point at a PostgreSQL server (scripts/test starts one)");
        let name = format!("nova_e2e_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url).await.unwrap();
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        let url = match admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("DATABASE_URL has no database name: {admin_url}"),
        };
        Self {
            url,
            admin_url,
            name,
        }
    }

    pub async fn drop_database(self) {
        let mut admin = PgConnection::connect(&self.admin_url).await.unwrap();
        admin
            .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
            .await
            .unwrap();
    }
}

/// The real `nova-live serve`, on free loopback ports, killed on drop.
pub struct Server {
    pub child: Child,
    pub http: String,
    pub rtmp: String,
    /// The Prometheus exposition (`--metrics-addr`), e.g. `http://127.0.0.1:P/metrics`.
    pub metrics: String,
    pub data_dir: tempfile::TempDir,
    pub client: reqwest::Client,
}

pub struct ServerOptions<'a> {
    pub database_url: Option<&'a str>,
    pub extra_args: &'a [&'a str],
    /// `NOVA_LOG` for the server; `None` logs API requests and ingest detail.
    pub log_filter: Option<&'a str>,
    /// Serve HTTPS (HTTP/2 and HTTP/1.1) with this certificate.
    pub tls: Option<&'a TestCertificate>,
}

impl Server {
    pub async fn start(options: ServerOptions<'_>) -> Self {
        let data_dir = tempfile::Builder::new()
            .prefix("nova-e2e")
            .tempdir()
            .unwrap();
        Self::start_in(options, data_dir).await
    }

    pub async fn start_in(options: ServerOptions<'_>, data_dir: tempfile::TempDir) -> Self {
        Self::launch(options, data_dir, Stdio::inherit()).await
    }

    /// With the server's stderr (its log) written to `log` instead of the
    /// test's, for tests that read the log. A file, not a pipe: a pipe
    /// nobody drains would stall the server once full.
    pub async fn start_logging_to(options: ServerOptions<'_>, log: std::fs::File) -> Self {
        let data_dir = tempfile::Builder::new()
            .prefix("nova-e2e")
            .tempdir()
            .unwrap();
        Self::launch(options, data_dir, Stdio::from(log)).await
    }

    async fn launch(
        options: ServerOptions<'_>,
        data_dir: tempfile::TempDir,
        stderr: Stdio,
    ) -> Self {
        let (http_port, rtmp_port, metrics_port) = (free_port(), free_port(), free_port());
        let scheme = if options.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let http = format!("{scheme}://127.0.0.1:{http_port}");
        // NOVA_LIVE_BINARY runs a test against another build (an older
        // one, to see a test fail before the change it covers).
        let binary = std::env::var("NOVA_LIVE_BINARY").unwrap_or_else(|_| BINARY.to_owned());
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .args(["--http-addr", &format!("127.0.0.1:{http_port}")])
            .args(["--rtmp-addr", &format!("127.0.0.1:{rtmp_port}")])
            .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
            .args(["--public-url", &http])
            .arg("--data-dir")
            .arg(data_dir.path())
            .args(options.extra_args)
            .env_remove("DATABASE_URL")
            .env_remove("NOVA_JWT_SECRET")
            .env(
                "NOVA_LOG",
                options.log_filter.unwrap_or("info,nova_rtmp_ingest=debug"),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true);
        if let Some(url) = options.database_url {
            command.env("DATABASE_URL", url);
        }
        if let Some(certificate) = options.tls {
            command
                .arg("--tls-cert")
                .arg(&certificate.cert)
                .arg("--tls-key")
                .arg(&certificate.key);
        }
        let child = command.spawn().unwrap();
        let server = Self {
            child,
            rtmp: format!("rtmp://127.0.0.1:{rtmp_port}/live"),
            metrics: format!("http://127.0.0.1:{metrics_port}/metrics"),
            http,
            data_dir,
            client: options
                .tls
                .map_or_else(reqwest::Client::new, |certificate| {
                    certificate.client(reqwest::Client::builder())
                }),
        };
        let client = server.client.clone();
        let readyz = format!("{}/readyz", server.http);
        wait_for("the server to be ready", Duration::from_secs(120), || {
            let client = client.clone();
            let readyz = readyz.clone();
            async move {
                let response = client.get(&readyz).send().await.ok()?;
                response.status().is_success().then_some(())
            }
        })
        .await;
        server
    }

    pub fn data_path(&self) -> &Path {
        self.data_dir.path()
    }

    /// `nova-live token`, as a user would run it against this server's data dir.
    pub fn token_for(&self, user: uuid::Uuid) -> String {
        let output = std::process::Command::new(BINARY)
            .args(["token", "--user", &user.to_string()])
            .arg("--data-dir")
            .arg(self.data_path())
            .env_remove("NOVA_JWT_SECRET")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }

    pub async fn create_stream(&self, token: &str, body: Value) -> Value {
        let response = self
            .client
            .post(format!("{}/api/v1/streams", self.http))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{:?}", response.text().await);
        response.json().await.unwrap()
    }

    pub async fn get_stream(&self, token: &str, id: &str) -> Value {
        let response = self
            .client
            .get(format!("{}/api/v1/streams/{id}", self.http))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub async fn wait_for_status(&self, token: &str, id: &str, status: &str, limit: Duration) {
        wait_for(&format!("stream {id} to be {status}"), limit, || async {
            let stream = self.get_stream(token, id).await;
            (stream["status"] == status).then_some(())
        })
        .await;
    }

    /// The stream's only recording, once complete (up to `limit`).
    pub async fn complete_recording(&self, token: &str, stream: &str, limit: Duration) -> Value {
        let recordings = format!("{}/api/v1/streams/{stream}/recordings", self.http);
        wait_for("the recording to be complete", limit, || async {
            let response = self
                .client
                .get(&recordings)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let page: Value = response.json().await.unwrap();
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= 1, "one publish, one recording: {page}");
            items.first().filter(|r| r["state"] == "complete").cloned()
        })
        .await
    }

    /// GETs a playback URL; `None` on 404.
    pub async fn fetch(&self, url: &str) -> Option<reqwest::Response> {
        let response = self.client.get(url).send().await.unwrap();
        if response.status() == 404 {
            return None;
        }
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
        Some(response)
    }

    pub async fn fetch_text(&self, url: &str) -> Option<String> {
        Some(self.fetch(url).await?.text().await.unwrap())
    }

    /// SIGTERM, then the exit status.
    pub async fn terminate(mut self) -> (std::process::ExitStatus, tempfile::TempDir) {
        let pid = self.child.id().expect("server is running") as i32;
        // SAFETY: sending SIGTERM to our own child process.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let status = tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("server exits within a minute of SIGTERM")
            .unwrap();
        (status, self.data_dir)
    }
}

pub fn stream_key_url(server: &Server, stream: &Value) -> String {
    format!("{}/{}", server.rtmp, stream["stream_key"].as_str().unwrap())
}
