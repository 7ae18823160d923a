//! `nginx/edge.sh` started the way an operator starts it: Debian's nginx in
//! the foreground, caching in front of nova-live origins, on a free port.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nova_testkit::free_port;
use nova_testkit::tls::TestCertificate;
use tokio::process::{Child, Command};

use crate::support::wait_for;

/// A running edge, stopped on drop (SIGTERM to the master, which stops its
/// workers; SIGKILL would leave them serving).
pub struct NginxEdge {
    /// The edge's base URL, `http(s)://127.0.0.1:PORT`.
    pub url: String,
    /// Trusts the edge's certificate when it has one.
    pub client: reqwest::Client,
    /// `rtmp://127.0.0.1:PORT/live` when it passes RTMP through.
    pub rtmp: Option<String>,
    child: Child,
    _cache_dir: tempfile::TempDir,
}

impl NginxEdge {
    /// In front of `origins` (`http://HOST:PORT` base URLs), serving HTTPS
    /// (HTTP/2 and HTTP/1.1) with `tls`, or plain HTTP/1.1 without it.
    pub async fn start(origins: &[&str], tls: Option<&TestCertificate>) -> Self {
        Self::launch(origins, tls, &[]).await
    }

    /// Also passing RTMP through to `rtmp_origins` (`rtmp://HOST:PORT/live`).
    pub async fn start_with_rtmp(origins: &[&str], rtmp_origins: &[&str]) -> Self {
        Self::launch(origins, None, rtmp_origins).await
    }

    async fn launch(
        origins: &[&str],
        tls: Option<&TestCertificate>,
        rtmp_origins: &[&str],
    ) -> Self {
        let cache_dir = tempfile::Builder::new()
            .prefix("nova-edge")
            .tempdir()
            .unwrap();
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../nginx/edge.sh");
        let mut command = Command::new(script);
        for origin in origins {
            let address = origin
                .strip_prefix("http://")
                .expect("origins are plain HTTP");
            command.args(["--origin", address]);
        }
        command
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--cache-dir")
            .arg(cache_dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit());
        let mut rtmp = None;
        if !rtmp_origins.is_empty() {
            let rtmp_port = free_port();
            command.args(["--rtmp-listen", &format!("127.0.0.1:{rtmp_port}")]);
            for origin in rtmp_origins {
                let address = origin
                    .strip_prefix("rtmp://")
                    .and_then(|rest| rest.strip_suffix("/live"))
                    .expect("rtmp://HOST:PORT/live");
                command.args(["--rtmp-origin", address]);
            }
            rtmp = Some(format!("rtmp://127.0.0.1:{rtmp_port}/live"));
        }
        let scheme = match tls {
            Some(certificate) => {
                command
                    .arg("--tls-cert")
                    .arg(&certificate.cert)
                    .arg("--tls-key")
                    .arg(&certificate.key);
                "https"
            }
            None => "http",
        };
        let child = command
            .spawn()
            .expect("nginx/edge.sh runs (Debian's nginx; scripts/test installs it)");
        let client = tls.map_or_else(reqwest::Client::new, |certificate| {
            certificate.client(reqwest::Client::builder())
        });
        let edge = Self {
            url: format!("{scheme}://127.0.0.1:{port}"),
            client,
            rtmp,
            child,
            _cache_dir: cache_dir,
        };
        // Any HTTP answer (the origin's, or nginx's own 502) means nginx listens.
        let probe = format!("{}/healthz", edge.url);
        wait_for("the edge to listen", Duration::from_secs(60), || async {
            edge.client.get(&probe).send().await.ok().map(|_| ())
        })
        .await;
        edge
    }

    /// `url` (an origin's playback URL) as a player of this edge asks for it.
    pub fn through(&self, url: &str) -> String {
        let path = url
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|slash| &rest[slash..]))
            .unwrap_or_else(|| panic!("not an absolute URL: {url}"));
        format!("{}{path}", self.url)
    }

    /// Stops nginx and checks that it exited cleanly.
    pub async fn stop(mut self) {
        self.terminate();
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("nginx exits within 30 s of SIGTERM")
            .unwrap();
        assert!(status.success(), "nginx exited with {status}");
    }
}

impl NginxEdge {
    /// SIGTERM: nginx's fast shutdown.
    fn terminate(&self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: signalling our own child process (the script execs nginx).
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
    }
}

impl Drop for NginxEdge {
    fn drop(&mut self) {
        self.terminate();
    }
}
