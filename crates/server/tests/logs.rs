//! The server's log as a log shipper reads it (`--log-format json`): one
//! JSON object a line, each HTTP request's id (the client's or a new one)
//! returned and on the request's lines, and the node and the stream's id
//! on the lines of a publish and its packaging.

mod support;

use serde_json::{Value, json};
use uuid::Uuid;

use support::fixture::LIMIT;
use support::publish;
use support::server::{Server, ServerOptions, TestDatabase, stream_key_url};

const NODE: &str = "logs-test-node";

/// The spans of a log line, outermost first.
fn spans(line: &Value) -> &[Value] {
    line["spans"].as_array().map_or(&[], Vec::as_slice)
}

fn span<'a>(line: &'a Value, name: &str) -> Option<&'a Value> {
    spans(line).iter().find(|span| span["name"] == name)
}

fn message(line: &Value) -> &str {
    line["fields"]["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn json_lines_carry_request_ids_node_and_stream() {
    let database = TestDatabase::create().await;
    let log_dir = tempfile::tempdir().unwrap();
    let log_path = log_dir.path().join("stderr.log");
    let server = Server::start_logging_to(
        ServerOptions {
            database_url: Some(&database.url),
            extra_args: &["--log-format", "json", "--node-name", NODE],
            log_filter: None,
            tls: None,
        },
        std::fs::File::create(&log_path).unwrap(),
    )
    .await;
    let token = server.token_for(Uuid::new_v4());
    let streams = format!("{}/api/v1/streams", server.http);

    // The client's id comes back, and a request without one gets a new one.
    let given = server
        .client
        .post(&streams)
        .bearer_auth(&token)
        .header("x-request-id", "abc-123")
        .json(&json!({"title": "logs"}))
        .send()
        .await
        .unwrap();
    assert_eq!(given.status(), 201);
    assert_eq!(given.headers()["x-request-id"], "abc-123");
    let stream: Value = given.json().await.unwrap();
    let id = stream["id"].as_str().unwrap().to_owned();

    let made = server
        .client
        .get(format!("{streams}/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 200);
    let made_id = made.headers()["x-request-id"].to_str().unwrap().to_owned();
    Uuid::parse_str(&made_id).expect("a made request id is a UUID");

    // An id a client could forge log lines or bloat them with is replaced.
    let long = "a".repeat(300);
    for insane in ["two words", long.as_str()] {
        let replaced = server
            .client
            .get(format!("{streams}/{id}"))
            .bearer_auth(&token)
            .header("x-request-id", insane)
            .send()
            .await
            .unwrap();
        let returned = replaced.headers()["x-request-id"].to_str().unwrap();
        assert!(
            Uuid::parse_str(returned).is_ok(),
            "{insane:?} came back as {returned:?}"
        );
    }

    let mut publisher = publish(&stream_key_url(&server, &stream), &[], 3.0);
    server.wait_for_status(&token, &id, "live", LIMIT).await;
    assert!(publisher.wait().await.unwrap().success(), "ffmpeg failed");
    server.wait_for_status(&token, &id, "ended", LIMIT).await;
    let (status, _data) = server.terminate().await;
    assert!(status.success(), "server exited with {status}");
    database.drop_database().await;

    let text = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("not a JSON line ({error}): {line}"));
            assert!(value.is_object(), "not a JSON object: {line}");
            value
        })
        .collect();
    assert!(lines.len() > 10, "too few lines to judge:\n{text}");

    // The runtime's threads, the packager's and its helpers' all log in
    // the node's span.
    for line in &lines {
        let node = span(line, "nova").map(|span| &span["node"]);
        assert_eq!(node, Some(&json!(NODE)), "a line without its node: {line}");
    }

    // Every line of a request carries its id: the client's, or the made one.
    let request_ids: Vec<&str> = lines
        .iter()
        .filter_map(|line| span(line, "request"))
        .map(|span| span["request_id"].as_str().unwrap_or_default())
        .collect();
    assert!(
        request_ids.iter().all(|id| !id.is_empty()),
        "a request line without an id:\n{text}"
    );
    let answered = |request_id: &str, uri: &str| {
        lines.iter().any(|line| {
            span(line, "request")
                .is_some_and(|span| span["request_id"] == request_id && span["uri"] == uri)
                && message(line).contains("finished processing request")
        })
    };
    assert!(
        answered("abc-123", "/api/v1/streams"),
        "no line of the request with id abc-123:\n{text}"
    );
    assert!(
        answered(&made_id, &format!("/api/v1/streams/{id}")),
        "no line of the request with the made id {made_id}:\n{text}"
    );

    // The publish logs in its connection's span, which names the stream
    // once it is accepted, and the packaging in one of its own.
    let accepted = lines
        .iter()
        .find(|line| message(line) == "publish accepted");
    let accepted = accepted.unwrap_or_else(|| panic!("no publish accepted line:\n{text}"));
    assert_eq!(span(accepted, "rtmp").unwrap()["stream"], id.as_str());
    let packaged = lines
        .iter()
        .find(|line| message(line) == "packaging finished")
        .unwrap_or_else(|| panic!("no packaging finished line:\n{text}"));
    assert_eq!(span(packaged, "packager").unwrap()["stream"], id.as_str());
    let key = stream["stream_key"].as_str().unwrap();
    assert!(!text.contains(key), "the stream key is in the log");
}
