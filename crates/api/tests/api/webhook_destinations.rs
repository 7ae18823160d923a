//! Webhooks cannot be aimed inward: deliveries to loopback, private and
//! metadata addresses, and to a name that resolves to loopback, are refused
//! when connecting (whatever was accepted when the endpoint was saved), and
//! go through only with the operator's development setting. Real receivers
//! on 127.0.0.1 and [::1] count what reaches them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use nova_api::{RetrySchedule, WebhookDeliveryConfig, WebhookSender, mark_stream_live};
use serde_json::json;
use sqlx::PgPool;
use tokio::net::TcpListener;
use uuid::Uuid;

use crate::support::{TestApp, stream_id};

/// Counts the POSTs it gets.
struct Receiver {
    addr: SocketAddr,
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
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn sender(allow_private: bool) -> WebhookSender {
    WebhookSender::new(WebhookDeliveryConfig {
        schedule: RetrySchedule {
            delays: vec![Duration::from_secs(3600)],
            jitter: 0.0,
        },
        timeout: Duration::from_secs(5),
        batch: 16,
        poll_interval: Duration::from_millis(50),
        allow_private,
    })
    .unwrap()
}

/// Endpoints written straight into the table, as if saved when the rules
/// (or the name's DNS answer) were different: what is tested here is the
/// check at connect time, not the one at save time.
async fn endpoints(pool: &PgPool, owner: Uuid, urls: &[String]) {
    for url in urls {
        sqlx::query(
            "INSERT INTO webhook_endpoints (owner_id, url, secret, event_types) \
             VALUES ($1, $2, 'whsec_test', ARRAY['stream.started'])",
        )
        .bind(owner)
        .bind(url)
        .execute(pool)
        .await
        .unwrap();
    }
}

/// (url, status, attempts, response_status, last_error) per delivery.
async fn outcomes(pool: &PgPool) -> Vec<(String, String, i32, Option<i32>, Option<String>)> {
    sqlx::query_as(
        "SELECT e.url, d.status, d.attempts, d.response_status, d.last_error \
         FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
         ORDER BY e.url",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn start_a_stream(pool: &PgPool, owner: Uuid) {
    let app = TestApp::new(pool.clone());
    let stream = stream_id(
        &app.create_stream(owner, json!({"title": "Aimed inward"}))
            .await,
    );
    mark_stream_live(pool, stream).await.unwrap();
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn internal_destinations_are_refused_when_connecting(pool: PgPool) {
    let v4 = Receiver::start("127.0.0.1:0").await;
    let v6 = Receiver::start("[::1]:0").await;
    let (p4, p6) = (v4.addr.port(), v6.addr.port());
    let owner = Uuid::new_v4();
    endpoints(
        &pool,
        owner,
        &[
            format!("http://127.0.0.1:{p4}/hook"),
            format!("http://[::1]:{p6}/hook"),
            format!("http://[::ffff:127.0.0.1]:{p4}/hook"),
            // A name whose DNS answer is loopback: refused on what the
            // resolver said, not on the name.
            format!("http://localhost:{p4}/hook"),
            "https://10.0.0.1/hook".to_owned(),
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            "http://metadata.google.internal/computeMetadata/v1/".to_owned(),
        ],
    )
    .await;
    start_a_stream(&pool, owner).await;

    assert_eq!(sender(false).deliver_due(&pool).await.unwrap(), 7);
    assert_eq!(v4.hits() + v6.hits(), 0, "nothing reached a receiver");
    let outcomes = outcomes(&pool).await;
    assert_eq!(outcomes.len(), 7);
    for (url, status, attempts, response_status, error) in &outcomes {
        let error = error.as_deref().unwrap_or_default();
        assert!(error.starts_with("refused: "), "{url}: {error}");
        assert_eq!(status, "failed", "{url}: a refusal is not retried");
        assert_eq!(*attempts, 1, "{url}");
        assert_eq!(*response_status, None, "{url}");
    }
    let error_of = |needle: &str| {
        outcomes
            .iter()
            .find(|outcome| outcome.0.contains(needle))
            .and_then(|outcome| outcome.4.clone())
            .unwrap()
    };
    assert!(error_of("10.0.0.1").contains("private address"));
    assert!(error_of("169.254.169.254").contains("metadata"));
    assert!(error_of("[::1]").contains("loopback"));
    let localhost = error_of("localhost");
    assert!(
        localhost.contains("resolves to no address") && !localhost.contains("127.0.0.1"),
        "says why without naming internal addresses: {localhost}"
    );
    assert_eq!(
        sender(false).deliver_due(&pool).await.unwrap(),
        0,
        "refused deliveries are done"
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn the_development_setting_lets_local_receivers_have_them(pool: PgPool) {
    let v4 = Receiver::start("127.0.0.1:0").await;
    let v6 = Receiver::start("[::1]:0").await;
    let (p4, p6) = (v4.addr.port(), v6.addr.port());
    let owner = Uuid::new_v4();
    endpoints(
        &pool,
        owner,
        &[
            format!("http://127.0.0.1:{p4}/hook"),
            format!("http://[::ffff:127.0.0.1]:{p4}/hook"),
            format!("http://localhost:{p4}/hook"),
            format!("http://[::1]:{p6}/hook"),
            "http://169.254.169.254/latest/meta-data/".to_owned(),
        ],
    )
    .await;
    start_a_stream(&pool, owner).await;

    assert_eq!(sender(true).deliver_due(&pool).await.unwrap(), 5);
    assert_eq!(
        v4.hits(),
        3,
        "127.0.0.1, its IPv4-mapped form and localhost"
    );
    assert_eq!(v6.hits(), 1, "[::1]");
    for (url, status, _, response_status, error) in outcomes(&pool).await {
        if url.contains("169.254.169.254") {
            assert_eq!(status, "failed", "metadata stays refused");
            assert!(error.unwrap().starts_with("refused: "));
        } else {
            assert_eq!(status, "delivered", "{url}: {error:?}");
            assert_eq!(response_status, Some(200));
        }
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn internal_destinations_are_refused_when_saved(pool: PgPool) {
    let app = TestApp::new(pool);
    let token = app.token(Uuid::new_v4());
    for url in [
        "http://127.0.0.1:8080/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://[::1]/hook",
        "https://10.0.0.1/hook",
        "https://100.64.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00::1]/hook",
        "https://metadata.google.internal/",
    ] {
        let response = app
            .send(crate::support::post_json(
                "/api/v1/webhooks",
                Some(&token),
                &json!({"url": url, "event_types": ["stream.started"]}),
            ))
            .await;
        let problem = response.problem(axum::http::StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["errors"][0]["pointer"], "#/url", "{url}: {problem}");
        assert_eq!(problem["errors"].as_array().map(Vec::len), Some(1));
    }
}
