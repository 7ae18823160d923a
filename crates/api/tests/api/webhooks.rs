//! `/api/v1/webhooks`: endpoints, and deliveries sent for real over HTTP to
//! a receiver inside the test, whose signatures are checked by independent
//! HMAC implementations (Python's `hmac` module and `openssl dgst`).

use std::collections::VecDeque;
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use nova_api::{
    ApiConfig, RetrySchedule, WebhookDeliveryConfig, WebhookSender, end_orphaned_live_streams,
    mark_stream_ended, mark_stream_live,
};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::net::TcpListener;
use uuid::Uuid;

use crate::support::{PUBLIC_URL, RTMP_URL, TestApp, get, post_json, post_raw, request, stream_id};

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Clone, Default)]
struct ReceiverState {
    received: Arc<Mutex<Vec<Received>>>,
    /// Statuses to answer with, in order; 200 once they run out.
    replies: Arc<Mutex<VecDeque<StatusCode>>>,
}

/// A webhook receiver on 127.0.0.1, for the life of the test.
struct Receiver {
    addr: SocketAddr,
    state: ReceiverState,
}

impl Receiver {
    async fn start(replies: &[StatusCode]) -> Self {
        let state = ReceiverState::default();
        state
            .replies
            .lock()
            .unwrap()
            .extend(replies.iter().copied());
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, state }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }
}

async fn receive(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    state
        .received
        .lock()
        .unwrap()
        .push(Received { headers, body });
    let status = state
        .replies
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(StatusCode::OK);
    let location = [(header::LOCATION, "/elsewhere")];
    (
        status,
        location,
        format!("receiver says {}", status.as_u16()),
    )
}

/// A sender with the development setting: the receivers here are on
/// loopback.
fn sender(delays: &[Duration]) -> WebhookSender {
    sender_with(delays, true)
}

fn sender_with(delays: &[Duration], allow_private: bool) -> WebhookSender {
    WebhookSender::new(WebhookDeliveryConfig {
        schedule: RetrySchedule {
            delays: delays.to_vec(),
            jitter: 0.0,
        },
        timeout: Duration::from_secs(5),
        batch: 16,
        poll_interval: Duration::from_millis(50),
        allow_private,
    })
    .unwrap()
}

/// The API as an operator runs it with `--webhooks-allow-private`, so
/// endpoints on loopback can be saved.
fn dev_app(pool: PgPool) -> TestApp {
    TestApp::with_config(
        pool,
        ApiConfig {
            webhooks_allow_private: true,
            ..ApiConfig::new(PUBLIC_URL, RTMP_URL)
        },
    )
}

async fn create_endpoint(app: &TestApp, owner: Uuid, url: &str, events: &[&str]) -> Value {
    let response = app
        .send(post_json(
            "/api/v1/webhooks",
            Some(&app.token(owner)),
            &json!({"url": url, "event_types": events}),
        ))
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{:?}", response.body);
    response.json()
}

async fn deliveries(app: &TestApp, owner: Uuid, endpoint: &Value) -> Vec<Value> {
    let uri = format!(
        "/api/v1/webhooks/{}/deliveries",
        endpoint["id"].as_str().unwrap()
    );
    let response = app.send(get(&uri, Some(&app.token(owner)))).await;
    assert_eq!(response.status, StatusCode::OK, "{:?}", response.body);
    response.json()["items"].as_array().unwrap().clone()
}

fn header<'a>(received: &'a Received, name: &str) -> &'a str {
    received.headers[name].to_str().unwrap()
}

/// HMAC-SHA256 of "{timestamp}.{body}" by Python's standard library.
fn python_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let script = "import hashlib, hmac, sys\n\
                  message = sys.argv[2].encode() + b'.' + sys.stdin.buffer.read()\n\
                  print('v1=' + hmac.new(sys.argv[1].encode(), message, hashlib.sha256).hexdigest())";
    run(
        Command::new("python3").args(["-c", script, secret, timestamp]),
        body,
    )
}

/// The same by OpenSSL: `openssl dgst -sha256 -hmac <key>` prints
/// "<name>(stdin)= <hex>".
fn openssl_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut message = format!("{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    let out = run(
        Command::new("openssl").args(["dgst", "-sha256", "-hmac", secret]),
        &message,
    );
    format!("v1={}", out.rsplit(' ').next().unwrap())
}

fn run(command: &mut Command, input: &[u8]) -> String {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the verifier runs");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn endpoints_are_created_listed_read_and_deleted(pool: PgPool) {
    let app = TestApp::new(pool);
    let owner = Uuid::new_v4();
    let token = app.token(owner);
    let response = app
        .send(post_json(
            "/api/v1/webhooks",
            Some(&token),
            &json!({"url": "https://Example.com/hooks/nova", "event_types": ["stream.started", "recording.ready"]}),
        ))
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{:?}", response.body);
    let created = response.json();
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        response.header("location"),
        format!("/api/v1/webhooks/{id}")
    );
    assert_eq!(created["url"], "https://example.com/hooks/nova");
    assert_eq!(
        created["event_types"],
        json!(["stream.started", "recording.ready"])
    );
    let secret = created["secret"].as_str().unwrap();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 49,
        "{secret}"
    );

    let mut shown = created.clone();
    shown.as_object_mut().unwrap().remove("secret");
    let read = app
        .send(get(&format!("/api/v1/webhooks/{id}"), Some(&token)))
        .await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json(), shown, "the same, without the secret");
    let list = app.send(get("/api/v1/webhooks", Some(&token))).await.json();
    assert_eq!(list, json!({"items": [shown], "next_cursor": null}));
    assert!(!String::from_utf8_lossy(&read.body).contains(secret));

    let delete = app
        .send(request(
            Method::DELETE,
            &format!("/api/v1/webhooks/{id}"),
            Some(&token),
        ))
        .await;
    assert_eq!(delete.status, StatusCode::NO_CONTENT);
    assert!(delete.body.is_empty());
    app.send(get(&format!("/api/v1/webhooks/{id}"), Some(&token)))
        .await
        .problem(StatusCode::NOT_FOUND);
    app.send(request(
        Method::DELETE,
        &format!("/api/v1/webhooks/{id}"),
        Some(&token),
    ))
    .await
    .problem(StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn endpoint_bodies_are_validated_field_by_field(pool: PgPool) {
    let app = TestApp::new(pool);
    let token = app.token(Uuid::new_v4());
    let cases = [
        (
            json!({"url": "http://example.com/x", "event_types": ["stream.started"]}),
            vec!["#/url"],
        ),
        (
            json!({"url": "ftp://example.com", "event_types": ["stream.ended"]}),
            vec!["#/url"],
        ),
        (
            json!({"url": "not a url", "event_types": []}),
            vec!["#/url", "#/event_types"],
        ),
        (
            json!({"url": "https://example.com", "event_types": ["stream.started", "chat.message"]}),
            vec!["#/event_types/1"],
        ),
        (json!({"url": "https://example.com"}), vec!["#"]),
        (
            json!({"url": "https://example.com", "event_types": ["stream.started"], "secret": "x"}),
            vec!["#/secret"],
        ),
    ];
    for (body, pointers) in cases {
        let problem = app
            .send(post_json("/api/v1/webhooks", Some(&token), &body))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        let got: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["pointer"].as_str().unwrap())
            .collect();
        assert_eq!(got, pointers, "{body}: {problem}");
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn endpoints_belong_to_their_owner_alone(pool: PgPool) {
    let app = TestApp::new(pool);
    let owner = Uuid::new_v4();
    let endpoint = create_endpoint(&app, owner, "https://example.com/a", &["stream.ended"]).await;
    let id = endpoint["id"].as_str().unwrap();
    let someone = app.token(Uuid::new_v4());
    for (method, uri) in [
        (Method::GET, format!("/api/v1/webhooks/{id}")),
        (Method::DELETE, format!("/api/v1/webhooks/{id}")),
        (Method::GET, format!("/api/v1/webhooks/{id}/deliveries")),
        (Method::POST, format!("/api/v1/webhooks/{id}/rotate-secret")),
        (Method::GET, "/api/v1/webhooks/not-a-uuid".to_owned()),
    ] {
        app.send(request(method.clone(), &uri, Some(&someone)))
            .await
            .problem(StatusCode::NOT_FOUND);
        let anonymous = app.send(request(method, &uri, None)).await;
        anonymous.problem(StatusCode::UNAUTHORIZED);
        assert_eq!(anonymous.header("www-authenticate"), "Bearer");
    }
    let theirs = app
        .send(get("/api/v1/webhooks", Some(&someone)))
        .await
        .json();
    assert_eq!(theirs["items"], json!([]));
    app.send(get("/api/v1/webhooks", None))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    app.send(post_json("/api/v1/webhooks", None, &json!({})))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    // Still there for its owner.
    let read = app
        .send(get(
            &format!("/api/v1/webhooks/{id}"),
            Some(&app.token(owner)),
        ))
        .await;
    assert_eq!(read.status, StatusCode::OK);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn endpoint_lists_page_and_an_owner_has_at_most_twenty(pool: PgPool) {
    let app = TestApp::new(pool);
    let owner = Uuid::new_v4();
    let token = app.token(owner);
    let mut created = Vec::new();
    for n in 0..20 {
        let url = format!("https://example.com/{n}");
        created.push(create_endpoint(&app, owner, &url, &["stream.started"]).await["id"].clone());
    }
    let problem = app
        .send(post_json(
            "/api/v1/webhooks",
            Some(&token),
            &json!({"url": "https://example.com/21", "event_types": ["stream.started"]}),
        ))
        .await
        .problem(StatusCode::CONFLICT);
    assert!(
        problem["detail"].as_str().unwrap().contains("delete one"),
        "{problem}"
    );

    let mut seen = Vec::new();
    let mut uri = "/api/v1/webhooks?limit=7".to_owned();
    loop {
        let page = app.send(get(&uri, Some(&token))).await.json();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/api/v1/webhooks?limit=7&cursor={cursor}"),
            None => break,
        }
    }
    created.reverse();
    assert_eq!(seen, created, "newest first, each once");
    for bad in ["limit=0", "limit=101", "cursor=garbage", "limit=x"] {
        app.send(get(&format!("/api/v1/webhooks?{bad}"), Some(&token)))
            .await
            .problem(StatusCode::BAD_REQUEST);
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn a_delivery_is_signed_so_an_independent_hmac_verifies_it(pool: PgPool) {
    let app = dev_app(pool.clone());
    let receiver = Receiver::start(&[]).await;
    let owner = Uuid::new_v4();
    let endpoint = create_endpoint(
        &app,
        owner,
        &receiver.url(),
        &["stream.started", "stream.ended"],
    )
    .await;
    let secret = endpoint["secret"].as_str().unwrap();
    let stream = stream_id(&app.create_stream(owner, json!({"title": "Launch"})).await);

    mark_stream_live(&pool, stream).await.unwrap();
    let queued = deliveries(&app, owner, &endpoint).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0]["status"], "pending");
    assert_eq!(queued[0]["attempts"], 0);
    assert_eq!(queued[0]["event_type"], "stream.started");

    let before = Utc::now().timestamp();
    assert_eq!(sender(&[]).deliver_due(&pool).await.unwrap(), 1);
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let hit = &received[0];
    assert_eq!(header(hit, "content-type"), "application/json");
    let timestamp = header(hit, "nova-webhook-timestamp");
    let sent_at: i64 = timestamp.parse().unwrap();
    assert!(
        (before..=Utc::now().timestamp()).contains(&sent_at),
        "{timestamp}"
    );
    let signature = header(hit, "nova-webhook-signature");
    assert_eq!(signature, python_signature(secret, timestamp, &hit.body));
    assert_eq!(signature, openssl_signature(secret, timestamp, &hit.body));
    // A signature over anything else does not match.
    assert_ne!(
        signature,
        python_signature(secret, &(sent_at + 1).to_string(), &hit.body)
    );
    assert_ne!(
        signature,
        python_signature("whsec_other", timestamp, &hit.body)
    );

    let body: Value = serde_json::from_slice(&hit.body).unwrap();
    assert_eq!(body["id"], header(hit, "nova-webhook-id"));
    assert_eq!(body["id"], queued[0]["id"]);
    assert_eq!(body["type"], "stream.started");
    assert_eq!(body["data"]["stream_id"], stream.to_string());
    assert_eq!(body["data"]["title"], "Launch");
    assert!(body["data"]["started_at"].is_string());
    assert_eq!(body["data"]["ended_at"], Value::Null);
    assert_eq!(body, queued[0]["payload"], "the log shows the body sent");

    let log = deliveries(&app, owner, &endpoint).await;
    assert_eq!(log[0]["status"], "delivered");
    assert_eq!(log[0]["attempts"], 1);
    assert_eq!(log[0]["response_status"], 200);
    assert_eq!(log[0]["last_error"], Value::Null);
    assert_eq!(log[0]["next_attempt_at"], Value::Null);
    assert!(log[0]["delivered_at"].is_string() && log[0]["last_attempt_at"].is_string());
    assert_eq!(
        sender(&[]).deliver_due(&pool).await.unwrap(),
        0,
        "delivered once"
    );
}

fn at(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn failed_attempts_are_retried_after_a_backoff_and_logged(pool: PgPool) {
    let app = dev_app(pool.clone());
    let receiver = Receiver::start(&[StatusCode::INTERNAL_SERVER_ERROR]).await;
    let owner = Uuid::new_v4();
    let endpoint = create_endpoint(&app, owner, &receiver.url(), &["stream.started"]).await;
    let stream = stream_id(&app.create_stream(owner, json!({"title": "Retry"})).await);
    mark_stream_live(&pool, stream).await.unwrap();
    // A backoff far longer than the test: "not due yet" holds however slowly
    // the machine runs; the test then moves the clock by moving the row.
    let worker = sender(&[Duration::from_secs(3600), Duration::from_secs(7200)]);

    assert_eq!(worker.deliver_due(&pool).await.unwrap(), 1);
    let log = deliveries(&app, owner, &endpoint).await;
    assert_eq!(log[0]["status"], "pending");
    assert_eq!(log[0]["attempts"], 1);
    assert_eq!(log[0]["response_status"], 500);
    assert_eq!(
        log[0]["last_error"], "HTTP 500 Internal Server Error",
        "what the receiver answered is not kept: the log is no oracle"
    );
    let wait = at(&log[0]["next_attempt_at"]) - at(&log[0]["last_attempt_at"]);
    assert!(wait >= chrono::Duration::seconds(3600), "{wait}");

    // Not due yet: nothing is sent before the backoff is over.
    assert_eq!(worker.deliver_due(&pool).await.unwrap(), 0);
    assert_eq!(receiver.received().len(), 1);
    // The backoff is over.
    sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 ms'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(worker.deliver_due(&pool).await.unwrap(), 1);

    let received = receiver.received();
    assert_eq!(received.len(), 2);
    let id = |hit: &Received| header(hit, "nova-webhook-id").to_owned();
    assert_eq!(
        id(&received[0]),
        id(&received[1]),
        "a retry is the same delivery"
    );
    assert_eq!(received[0].body, received[1].body);
    let log = deliveries(&app, owner, &endpoint).await;
    assert_eq!(log[0]["status"], "delivered");
    assert_eq!(log[0]["attempts"], 2);
    assert_eq!(log[0]["response_status"], 200);
    assert_eq!(log[0]["last_error"], Value::Null);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn a_delivery_fails_for_good_after_its_last_attempt(pool: PgPool) {
    let app = dev_app(pool.clone());
    // A port nobody listens on: bound, then closed.
    let url = format!("http://127.0.0.1:{}/hook", nova_testkit::free_port());
    let owner = Uuid::new_v4();
    let endpoint = create_endpoint(&app, owner, &url, &["stream.ended"]).await;
    let stream = stream_id(&app.create_stream(owner, json!({"title": "Gone"})).await);
    mark_stream_live(&pool, stream).await.unwrap();
    mark_stream_ended(&pool, stream).await.unwrap();
    let worker = sender(&[Duration::ZERO]);

    assert_eq!(worker.deliver_due(&pool).await.unwrap(), 1);
    let log = deliveries(&app, owner, &endpoint).await;
    assert_eq!(log.len(), 1, "subscribed to stream.ended only");
    assert_eq!(log[0]["status"], "pending");
    assert_eq!(log[0]["response_status"], Value::Null);
    let error = log[0]["last_error"].as_str().unwrap();
    assert!(error.starts_with("could not connect"), "{error}");

    assert_eq!(worker.deliver_due(&pool).await.unwrap(), 1);
    let log = deliveries(&app, owner, &endpoint).await;
    assert_eq!(log[0]["status"], "failed");
    assert_eq!(log[0]["attempts"], 2);
    assert_eq!(log[0]["next_attempt_at"], Value::Null);
    assert_eq!(
        worker.deliver_due(&pool).await.unwrap(),
        0,
        "no attempt after the last"
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn redirects_are_answers_not_directions(pool: PgPool) {
    let app = dev_app(pool.clone());
    let receiver = Receiver::start(&[StatusCode::FOUND]).await;
    let owner = Uuid::new_v4();
    let endpoint = create_endpoint(&app, owner, &receiver.url(), &["stream.started"]).await;
    let stream = stream_id(&app.create_stream(owner, json!({"title": "Moved"})).await);
    mark_stream_live(&pool, stream).await.unwrap();
    sender(&[Duration::from_secs(60)])
        .deliver_due(&pool)
        .await
        .unwrap();
    assert_eq!(
        receiver.received().len(),
        1,
        "the redirect was not followed"
    );
    let log = deliveries(&app, owner, &endpoint).await;
    assert_eq!(log[0]["response_status"], 302);
    let error = log[0]["last_error"].as_str().unwrap();
    assert!(error.contains("redirects are not followed"), "{error}");
}

async fn queued(pool: &PgPool) -> Vec<(String, Uuid)> {
    sqlx::query_as(
        "SELECT d.event_type, e.owner_id FROM webhook_deliveries d \
         JOIN webhook_endpoints e ON e.id = d.endpoint_id ORDER BY d.created_at, d.event_type",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn status_writes_queue_one_event_per_real_change(pool: PgPool) {
    let app = dev_app(pool.clone());
    let owner = Uuid::new_v4();
    let other = Uuid::new_v4();
    create_endpoint(
        &app,
        owner,
        "https://example.com/all",
        &["stream.started", "stream.ended"],
    )
    .await;
    create_endpoint(
        &app,
        owner,
        "https://example.com/money",
        &["super_chat.created"],
    )
    .await;
    create_endpoint(
        &app,
        other,
        "https://example.com/other",
        &["stream.started"],
    )
    .await;
    let stream = stream_id(&app.create_stream(owner, json!({"title": "Once"})).await);

    mark_stream_ended(&pool, stream).await.unwrap();
    assert_eq!(queued(&pool).await, [], "an idle stream does not end");
    mark_stream_live(&pool, stream).await.unwrap();
    mark_stream_live(&pool, stream).await.unwrap();
    assert_eq!(
        queued(&pool).await,
        [("stream.started".to_owned(), owner)],
        "a stream already live queues nothing"
    );
    mark_stream_ended(&pool, stream).await.unwrap();
    mark_stream_ended(&pool, stream).await.unwrap();
    let events: Vec<String> = queued(&pool).await.into_iter().map(|(e, _)| e).collect();
    assert_eq!(events, ["stream.started", "stream.ended"]);

    // Streams a crash left live end at startup, and their owners hear of it.
    mark_stream_live(&pool, stream).await.unwrap();
    assert_eq!(end_orphaned_live_streams(&pool).await.unwrap(), 1);
    let events: Vec<String> = queued(&pool).await.into_iter().map(|(e, _)| e).collect();
    assert_eq!(
        events,
        [
            "stream.started",
            "stream.ended",
            "stream.started",
            "stream.ended"
        ]
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn a_rotated_secret_signs_from_then_on(pool: PgPool) {
    let app = dev_app(pool.clone());
    let receiver = Receiver::start(&[]).await;
    let owner = Uuid::new_v4();
    let endpoint = create_endpoint(&app, owner, &receiver.url(), &["stream.started"]).await;
    let id = endpoint["id"].as_str().unwrap();
    let rotated = app
        .send(post_raw(
            &format!("/api/v1/webhooks/{id}/rotate-secret"),
            Some(&app.token(owner)),
            None,
            "",
        ))
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{:?}", rotated.body);
    let rotated = rotated.json();
    assert_eq!(rotated["id"], id);
    let secret = rotated["secret"].as_str().unwrap();
    assert_ne!(secret, endpoint["secret"].as_str().unwrap());

    let stream = stream_id(&app.create_stream(owner, json!({"title": "Rotated"})).await);
    mark_stream_live(&pool, stream).await.unwrap();
    sender(&[]).deliver_due(&pool).await.unwrap();
    let hit = &receiver.received()[0];
    let timestamp = header(hit, "nova-webhook-timestamp");
    assert_eq!(
        header(hit, "nova-webhook-signature"),
        python_signature(secret, timestamp, &hit.body)
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn the_delivery_log_pages_newest_first(pool: PgPool) {
    let app = dev_app(pool.clone());
    let owner = Uuid::new_v4();
    let endpoint = create_endpoint(
        &app,
        owner,
        "https://example.com/log",
        &["stream.started", "stream.ended"],
    )
    .await;
    let stream = stream_id(&app.create_stream(owner, json!({"title": "Log"})).await);
    for _ in 0..3 {
        mark_stream_live(&pool, stream).await.unwrap();
        mark_stream_ended(&pool, stream).await.unwrap();
    }
    let all = deliveries(&app, owner, &endpoint).await;
    assert_eq!(all.len(), 6);
    let token = app.token(owner);
    let base = format!(
        "/api/v1/webhooks/{}/deliveries",
        endpoint["id"].as_str().unwrap()
    );
    let mut seen = Vec::new();
    let mut uri = format!("{base}?limit=4");
    loop {
        let page = app.send(get(&uri, Some(&token))).await.json();
        seen.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => uri = format!("{base}?limit=4&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, all);
    let types: Vec<&str> = all
        .iter()
        .map(|d| d["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(types[0], "stream.ended", "newest first");
    assert_eq!(types.iter().filter(|t| **t == "stream.started").count(), 3);
    app.send(get(&format!("{base}?limit=0"), Some(&token)))
        .await
        .problem(StatusCode::BAD_REQUEST);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn the_openapi_document_has_the_viewer_and_webhook_routes(pool: PgPool) {
    let app = dev_app(pool);
    let document = app.send(get("/api/v1/openapi.json", None)).await.json();
    let paths = &document["paths"];
    for (path, method, tag) in [
        ("/api/v1/webhooks", "get", "webhooks"),
        ("/api/v1/webhooks", "post", "webhooks"),
        ("/api/v1/webhooks/{id}", "get", "webhooks"),
        ("/api/v1/webhooks/{id}", "delete", "webhooks"),
        ("/api/v1/webhooks/{id}/rotate-secret", "post", "webhooks"),
        ("/api/v1/webhooks/{id}/deliveries", "get", "webhooks"),
        ("/api/v1/streams/{id}/viewers", "post", "viewers"),
        (
            "/api/v1/streams/{id}/viewers/{session_id}/heartbeat",
            "post",
            "viewers",
        ),
        (
            "/api/v1/streams/{id}/viewers/{session_id}",
            "delete",
            "viewers",
        ),
        ("/api/v1/streams/{id}/viewers/stats", "get", "viewers"),
    ] {
        let operation = &paths[path][method];
        assert_eq!(operation["tags"], json!([tag]), "{method} {path}");
    }
    let join = &paths["/api/v1/streams/{id}/viewers"]["post"];
    assert!(join["requestBody"]["content"]["application/json"].is_object());
    assert_ne!(
        join["requestBody"]["required"],
        json!(true),
        "the body is optional"
    );
    assert!(join["responses"]["409"].is_object());
    assert!(join["responses"]["200"].is_object() && join["responses"]["201"].is_object());
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn the_background_tasks_deliver_sweep_and_stop_on_shutdown(pool: PgPool) {
    let app = dev_app(pool.clone());
    let receiver = Receiver::start(&[]).await;
    let owner = Uuid::new_v4();
    create_endpoint(&app, owner, &receiver.url(), &["stream.started"]).await;
    let stream = stream_id(
        &app.create_stream(owner, json!({"title": "Background"}))
            .await,
    );
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = nova_api::spawn_background_tasks(
        &app.state,
        nova_api::BackgroundConfig {
            viewer_sweep_interval: Duration::from_millis(20),
            webhooks: WebhookDeliveryConfig {
                poll_interval: Duration::from_millis(20),
                allow_private: true,
                ..WebhookDeliveryConfig::default()
            },
            ..nova_api::BackgroundConfig::default()
        },
        shutdown.clone(),
    )
    .unwrap();

    mark_stream_live(&pool, stream).await.unwrap();
    let joined = app
        .send(post_raw(
            &format!("/api/v1/streams/{stream}/viewers"),
            None,
            None,
            "",
        ))
        .await;
    assert_eq!(joined.status, StatusCode::CREATED);
    let stats_uri = format!("/api/v1/streams/{stream}/viewers/stats");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let stats = app
            .send(get(&stats_uri, Some(&app.token(owner))))
            .await
            .json();
        if receiver.received().len() == 1 && stats["stream"]["current_viewers"] == 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{stats}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("the tasks stop promptly")
        .unwrap();
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn concurrent_workers_send_each_delivery_once(pool: PgPool) {
    let app = dev_app(pool.clone());
    let receiver = Receiver::start(&[]).await;
    let owner = Uuid::new_v4();
    create_endpoint(&app, owner, &receiver.url(), &["stream.started"]).await;
    for n in 0..7 {
        let stream = stream_id(
            &app.create_stream(owner, json!({"title": format!("S{n}")}))
                .await,
        );
        mark_stream_live(&pool, stream).await.unwrap();
    }
    let worker = || {
        WebhookSender::new(WebhookDeliveryConfig {
            batch: 2,
            allow_private: true,
            ..WebhookDeliveryConfig::default()
        })
        .unwrap()
    };
    let drain = |sender: WebhookSender| {
        let pool = pool.clone();
        async move {
            let mut sent = 0;
            while let n @ 1.. = sender.deliver_due(&pool).await.unwrap() {
                sent += n;
            }
            sent
        }
    };
    let (a, b, c) = tokio::join!(drain(worker()), drain(worker()), drain(worker()));
    assert_eq!(a + b + c, 7);
    let mut ids: Vec<String> = receiver
        .received()
        .iter()
        .map(|hit| header(hit, "nova-webhook-id").to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 7, "each delivery sent once");
    assert_eq!(receiver.received().len(), 7);
}
