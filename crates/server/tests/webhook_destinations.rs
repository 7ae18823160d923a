//! Webhooks aimed inward, against the real server: without
//! `--webhooks-allow-private` the API refuses loopback and private URLs,
//! and deliveries to destinations saved anyway (rows written straight into
//! the table, as if saved before a name's DNS answer changed) are refused
//! when connecting; with the flag, receivers on 127.0.0.1, [::1] and
//! `localhost` get a real `stream.started` from a real publish.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::post;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use support::fixture::{Fixture, LIMIT};
use support::server::stream_key_url;
use support::{publish, wait_for};
use tokio::net::TcpListener;

/// Counts the POSTs it gets.
struct Receiver {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl Receiver {
    async fn start(bind: &str) -> Self {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let app = Router::new().route(
            "/hook",
            post(move || async move {
                counter.fetch_add(1, Ordering::SeqCst);
                "ok"
            }),
        );
        let listener = TcpListener::bind(bind).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { port, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn create_endpoint(fixture: &Fixture, url: &str) -> u16 {
    fixture
        .server
        .client
        .post(format!("{}/api/v1/webhooks", fixture.server.http))
        .bearer_auth(&fixture.token)
        .json(&json!({ "url": url, "event_types": ["stream.started"] }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// (url, status, last_error) of every delivery.
async fn deliveries(database_url: &str) -> Vec<(String, String, Option<String>)> {
    let mut db = PgConnection::connect(database_url).await.unwrap();
    sqlx::query_as(
        "SELECT e.url, d.status, d.last_error FROM webhook_deliveries d \
         JOIN webhook_endpoints e ON e.id = d.endpoint_id ORDER BY e.url",
    )
    .fetch_all(&mut db)
    .await
    .unwrap()
}

/// Publishes a few seconds to a new stream, so `stream.started` is queued.
async fn go_live(fixture: &Fixture) -> Value {
    let server = &fixture.server;
    let stream = server
        .create_stream(&fixture.token, json!({ "title": "Hooked" }))
        .await;
    let mut encoder = publish(&stream_key_url(server, &stream), &[], 4.0);
    server
        .wait_for_status(
            &fixture.token,
            stream["id"].as_str().unwrap(),
            "live",
            LIMIT,
        )
        .await;
    encoder.kill().await.ok();
    stream
}

#[tokio::test]
async fn without_the_flag_inward_webhooks_are_refused_when_saved_and_when_sent() {
    let fixture = Fixture::start(&[]).await;
    let v4 = Receiver::start("127.0.0.1:0").await;
    let v6 = Receiver::start("[::1]:0").await;
    for url in [
        format!("http://127.0.0.1:{}/hook", v4.port),
        "https://127.0.0.1/hook".to_owned(),
        "https://localhost/hook".to_owned(),
        "https://10.0.0.1/hook".to_owned(),
        "https://169.254.169.254/latest/meta-data/".to_owned(),
    ] {
        assert_eq!(create_endpoint(&fixture, &url).await, 422, "{url}");
    }
    // Saved anyway: the owner's rows, written past the API.
    let stream = fixture
        .server
        .create_stream(&fixture.token, json!({ "title": "Owner" }))
        .await;
    let mut db = PgConnection::connect(&fixture.database.url).await.unwrap();
    let owner: uuid::Uuid = sqlx::query_scalar("SELECT owner_id FROM live_streams WHERE id = $1")
        .bind(
            stream["id"]
                .as_str()
                .unwrap()
                .parse::<uuid::Uuid>()
                .unwrap(),
        )
        .fetch_one(&mut db)
        .await
        .unwrap();
    let urls = [
        format!("http://127.0.0.1:{}/hook", v4.port),
        format!("http://localhost:{}/hook", v4.port),
        format!("http://[::1]:{}/hook", v6.port),
        "https://10.0.0.1/hook".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
    ];
    for url in &urls {
        sqlx::query(
            "INSERT INTO webhook_endpoints (owner_id, url, secret, event_types) \
             VALUES ($1, $2, 'whsec_test', ARRAY['stream.started'])",
        )
        .bind(owner)
        .bind(url)
        .execute(&mut db)
        .await
        .unwrap();
    }

    go_live(&fixture).await;
    let outcomes = wait_for("every delivery to be refused", LIMIT, || async {
        let outcomes = deliveries(&fixture.database.url).await;
        (outcomes.len() == urls.len() && outcomes.iter().all(|(_, status, _)| status != "pending"))
            .then_some(outcomes)
    })
    .await;
    for (url, status, error) in &outcomes {
        assert_eq!(status, "failed", "{url}");
        let error = error.as_deref().unwrap_or_default();
        assert!(error.starts_with("refused: "), "{url}: {error}");
    }
    assert_eq!(v4.hits() + v6.hits(), 0, "nothing reached a receiver");
    fixture.finish().await;
}

#[tokio::test]
async fn with_the_flag_local_receivers_get_them() {
    let fixture = Fixture::start(&["--webhooks-allow-private"]).await;
    let v4 = Receiver::start("127.0.0.1:0").await;
    let v6 = Receiver::start("[::1]:0").await;
    for url in [
        format!("http://127.0.0.1:{}/hook", v4.port),
        format!("http://localhost:{}/hook", v4.port),
        format!("http://[::1]:{}/hook", v6.port),
    ] {
        assert_eq!(create_endpoint(&fixture, &url).await, 201, "{url}");
    }
    // Metadata stays refused, flag or not.
    assert_eq!(
        create_endpoint(&fixture, "http://169.254.169.254/latest/meta-data/").await,
        422
    );

    go_live(&fixture).await;
    wait_for("three deliveries", LIMIT, || async {
        (v4.hits() == 2 && v6.hits() == 1).then_some(())
    })
    .await;
    let outcomes = deliveries(&fixture.database.url).await;
    assert!(
        outcomes.iter().all(|(_, status, _)| status == "delivered"),
        "{outcomes:?}"
    );
    fixture.finish().await;
}
