//! The Prometheus exposition of a real server: what `promtool` (the
//! Prometheus project's own checker) says of it, and HTTP requests counted
//! by route template, never by the ids in their paths.

mod support;

use std::process::Stdio;

use serde_json::json;
use tokio::io::AsyncWriteExt;

use support::fixture::Fixture;

async fn exposition(fixture: &Fixture) -> String {
    let response = fixture
        .server
        .client
        .get(&fixture.server.metrics)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

/// `promtool check metrics`: the format is valid and every series follows
/// Prometheus naming (units, `_total` on counters, HELP on each).
async fn promtool_check(text: &str) {
    let mut promtool = tokio::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; scripts/test installs it)");
    let mut stdin = promtool.stdin.take().unwrap();
    stdin.write_all(text.as_bytes()).await.unwrap();
    drop(stdin);
    let output = promtool.wait_with_output().await.unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics failed:\n{}{}\n--- exposition ---\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The value of the one sample whose name and labels are all in `parts`.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
        })
        .find(|line| labels.iter().all(|label| line.contains(label)))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn http_requests_are_counted_by_route_template_and_promtool_accepts_the_output() {
    let fixture = Fixture::start(&[]).await;
    let stream = fixture
        .server
        .create_stream(&fixture.token, json!({"title": "metrics"}))
        .await;
    let id = stream["id"].as_str().unwrap();
    for _ in 0..3 {
        fixture.server.get_stream(&fixture.token, id).await;
    }
    let missing = format!(
        "{}/live/{}/index.m3u8",
        fixture.server.http,
        uuid::Uuid::new_v4()
    );
    let response = fixture.server.client.get(&missing).send().await.unwrap();
    assert_eq!(response.status(), 404);

    let text = exposition(&fixture).await;
    promtool_check(&text).await;
    let route = r#"route="/api/v1/streams/{id}""#;
    let reads = sample(
        &text,
        "nova_http_requests_total",
        &[route, r#"method="GET""#, r#"status="2xx""#],
    );
    assert_eq!(reads, Some(3.0), "three reads of the stream:\n{text}");
    let creates = sample(
        &text,
        "nova_http_requests_total",
        &[
            r#"route="/api/v1/streams""#,
            r#"method="POST""#,
            r#"status="2xx""#,
        ],
    );
    assert_eq!(creates, Some(1.0), "one stream created:\n{text}");
    assert!(
        !text.contains(id),
        "a stream id became a label value (unbounded series):\n{text}"
    );
    let timed = sample(&text, "nova_http_request_duration_seconds_count", &[route]);
    assert_eq!(timed, Some(3.0), "three reads timed:\n{text}");
    assert!(
        text.contains("nova_build_info{version="),
        "build info:\n{text}"
    );
    fixture.finish().await;
}
