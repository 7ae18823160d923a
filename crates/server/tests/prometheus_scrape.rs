//! A real Prometheus (Debian's `prometheus`) scrapes a live server every
//! second while ffmpeg publishes; PromQL through Prometheus' HTTP API sees
//! the stream's ingest rate above zero and its segment count rising — what
//! an operator's dashboard and alerts will ask.

mod support;

use std::path::Path;
use std::process::Stdio;

use nova_testkit::free_port;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use support::fixture::{Fixture, LIMIT};
use support::server::stream_key_url;
use support::{publish, wait_for};

/// A Prometheus server of the test's own, scraping `target` (host:port,
/// path `/metrics`) every second, keeping its data in `dir`.
struct Prometheus {
    process: Child,
    api: String,
    client: reqwest::Client,
}

impl Prometheus {
    async fn start(dir: &Path, target: &str) -> Self {
        let config = dir.join("prometheus.yml");
        // YAML is a superset of JSON: a generated config needs no templating.
        let scrape = json!({
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
            "scrape_configs": [{
                "job_name": "nova-live",
                "static_configs": [{"targets": [target]}],
            }],
        });
        std::fs::write(&config, scrape.to_string()).unwrap();
        let port = free_port();
        let process = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // Its warnings (a target down, a bad config) go to the test's output.
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("prometheus (Debian's prometheus package; scripts/test installs it)");
        let prometheus = Self {
            process,
            api: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
        };
        let ready = format!("{}/-/ready", prometheus.api);
        wait_for("Prometheus to be ready", LIMIT, || async {
            let response = prometheus.client.get(&ready).send().await.ok()?;
            response.status().is_success().then_some(())
        })
        .await;
        prometheus
    }

    /// The value of an instant query's single sample; `None` while the
    /// result is empty.
    async fn query(&self, promql: &str) -> Option<f64> {
        let response = self
            .client
            .get(format!("{}/api/v1/query", self.api))
            .query(&[("query", promql)])
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "success", "{promql}: {body}");
        let result = body["data"]["result"].as_array().unwrap();
        assert!(result.len() <= 1, "{promql}: more than one series: {body}");
        result.first()?["value"][1].as_str()?.parse().ok()
    }

    /// Waits until `promql` has a sample for which `accept` holds.
    async fn wait_until(&self, promql: &str, accept: impl Fn(f64) -> bool) -> f64 {
        wait_for(promql, LIMIT, || async {
            self.query(promql).await.filter(|value| accept(*value))
        })
        .await
    }
}

#[tokio::test]
async fn prometheus_sees_a_live_streams_ingest_rate_and_segments_rising() {
    let fixture = Fixture::start(&[]).await;
    let server = &fixture.server;
    let stream = server
        .create_stream(&fixture.token, json!({"title": "scraped"}))
        .await;
    let id = stream["id"].as_str().unwrap();
    let target = server
        .metrics
        .trim_start_matches("http://")
        .trim_end_matches("/metrics");
    let dir = tempfile::tempdir().unwrap();
    let mut prometheus = Prometheus::start(dir.path(), target).await;
    prometheus
        .wait_until(r#"up{job="nova-live"}"#, |up| up == 1.0)
        .await;

    let mut publisher = publish(
        &stream_key_url(server, &stream),
        &["-stream_loop", "-1"],
        120.0,
    );
    let ingest_rate = format!(r#"rate(nova_stream_ingest_bytes_total{{stream="{id}"}}[10s])"#);
    prometheus.wait_until(&ingest_rate, |rate| rate > 0.0).await;
    let segments = format!(r#"nova_stream_segments_total{{stream="{id}"}}"#);
    let first = prometheus.wait_until(&segments, |count| count >= 1.0).await;
    prometheus
        .wait_until(&segments, |count| count > first)
        .await;
    // Rising, as seen by Prometheus' own functions over its stored samples.
    let increase = format!("increase({segments}[30s])");
    prometheus
        .wait_until(&increase, |increase| increase > 0.0)
        .await;

    publisher.kill().await.unwrap();
    prometheus.process.kill().await.unwrap();
    fixture.finish().await;
}
