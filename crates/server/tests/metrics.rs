//! The Prometheus exposition of a real server: what `promtool` (the
//! Prometheus project's own checker) says of it, and HTTP requests counted
//! by route template, never by the ids in their paths.

mod support;

use serde_json::json;

use support::exposition::{exposition, promtool_check, sample};
use support::fixture::Fixture;

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

    let text = exposition(&fixture.server).await;
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
