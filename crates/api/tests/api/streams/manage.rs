//! The owner's controls: delete, reset the key, disable and enable, end.
//! The ingest is the fake from `support`; the server's end-to-end test
//! drives the same routes against the real one.

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use nova_api::PgPublishAuthorizer;
use nova_media::{
    PublishAuthorizer, PublishRejection, PublishRequest, SegmentContainer, StreamId, StreamSettings,
};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::{go_live, json_request, status_of, uuid_of};
use crate::support::{TestApp, TestResponse, get, post_raw, request, stream_id};

fn authorizer(pool: &PgPool) -> PgPublishAuthorizer {
    PgPublishAuthorizer::new(
        pool.clone(),
        StreamSettings {
            container: SegmentContainer::Fmp4,
            target_segment_duration: Duration::from_secs(2),
            live_window_segments: 6,
            ..StreamSettings::default()
        },
    )
}

async fn try_publish(pool: &PgPool, key: &str) -> Result<StreamId, PublishRejection> {
    authorizer(pool)
        .authorize(&PublishRequest {
            app: "live".to_owned(),
            stream_key: key.to_owned(),
            peer: SocketAddr::from(([192, 0, 2, 1], 40000)),
        })
        .await
        .map(|grant| grant.stream_id)
}

struct Owned {
    app: TestApp,
    token: String,
    stream: Value,
}

impl Owned {
    async fn new(pool: PgPool) -> Self {
        let app = TestApp::new(pool);
        let owner = Uuid::new_v4();
        let stream = app.create_stream(owner, json!({ "title": "Mine" })).await;
        let token = app.token(owner);
        Self { app, token, stream }
    }

    fn uri(&self, action: &str) -> String {
        format!("/api/v1/streams/{}{action}", uuid_of(&self.stream))
    }

    async fn post(&self, action: &str) -> TestResponse {
        self.app
            .send(request(Method::POST, &self.uri(action), Some(&self.token)))
            .await
    }

    async fn delete(&self, query: &str) -> TestResponse {
        self.app
            .send(request(
                Method::DELETE,
                &format!("{}{query}", self.uri("")),
                Some(&self.token),
            ))
            .await
    }

    fn key(&self) -> &str {
        self.stream["stream_key"].as_str().unwrap()
    }

    fn disconnects(&self) -> Vec<(StreamId, bool)> {
        self.app.ingest.disconnects.lock().unwrap().clone()
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn an_idle_stream_is_deleted_with_what_hangs_off_it(pool: PgPool) {
    let s = Owned::new(pool.clone()).await;
    let id = uuid_of(&s.stream);
    sqlx::query(
        "INSERT INTO live_chat_messages (stream_id, author_id, body) VALUES ($1, $2, 'hi')",
    )
    .bind(id)
    .bind(Uuid::new_v4())
    .execute(&pool)
    .await
    .unwrap();

    let response = s.delete("").await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert!(response.body.is_empty(), "204 has no body");
    s.app
        .send(get(&s.uri(""), Some(&s.token)))
        .await
        .problem(StatusCode::NOT_FOUND);
    let (left,): (i64,) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM live_streams) + (SELECT count(*) FROM live_chat_messages)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(left, 0);
    assert_eq!(
        try_publish(&pool, s.key()).await,
        Err(PublishRejection::InvalidKey)
    );
    s.delete("").await.problem(StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn a_live_stream_is_deleted_only_when_forced(pool: PgPool) {
    let s = Owned::new(pool.clone()).await;
    let stream = go_live(&s.app, &s.stream).await;

    for query in ["", "?force=false"] {
        let problem = s.delete(query).await.problem(StatusCode::CONFLICT);
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("force=true") && detail.contains("/end"),
            "{detail}"
        );
    }
    assert_eq!(status_of(&pool, &s.stream).await, "live");
    assert!(
        s.disconnects().is_empty(),
        "a refused delete leaves the broadcast alone"
    );
    s.delete("?force=maybe")
        .await
        .problem(StatusCode::BAD_REQUEST);

    assert_eq!(s.delete("?force=true").await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        s.disconnects(),
        [(stream, true)],
        "ended at once, not left to reconnect"
    );
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM live_streams")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn streams_with_payments_or_recordings_are_kept(pool: PgPool) {
    for (table, insert) in [
        (
            "super chats",
            "INSERT INTO super_chats (stream_id, sender_id, amount_minor, currency, payment_reference) \
             VALUES ($1, gen_random_uuid(), 500, 'USD', gen_random_uuid()::text)",
        ),
        (
            "recordings",
            "INSERT INTO stream_recordings (stream_id) VALUES ($1)",
        ),
    ] {
        let s = Owned::new(pool.clone()).await;
        sqlx::query(insert)
            .bind(uuid_of(&s.stream))
            .execute(&pool)
            .await
            .unwrap();
        for query in ["", "?force=true"] {
            let problem = s.delete(query).await.problem(StatusCode::CONFLICT);
            let detail = problem["detail"].as_str().unwrap();
            assert!(
                detail.contains(table) && detail.contains("disable"),
                "{table}: {detail}"
            );
        }
        assert_eq!(
            s.app.send(get(&s.uri(""), Some(&s.token))).await.status,
            StatusCode::OK
        );
        // The suggested way out works.
        assert_eq!(s.post("/disable").await.status, StatusCode::OK);
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn a_reset_key_replaces_the_old_one_at_once(pool: PgPool) {
    let s = Owned::new(pool.clone()).await;
    let stream = stream_id(&s.stream);
    let old_key = s.key().to_owned();
    assert_eq!(try_publish(&pool, &old_key).await, Ok(stream));

    let response = s.post("/reset-stream-key").await;
    assert_eq!(response.status, StatusCode::OK);
    let reset = response.json();
    let new_key = reset["stream_key"].as_str().unwrap();
    assert_ne!(new_key, old_key);
    let hint = reset["ingest"]["stream_key_hint"].as_str().unwrap();
    assert!(new_key.starts_with(hint.trim_end_matches('…')), "{hint}");
    assert_ne!(reset["ingest"], s.stream["ingest"]);

    assert_eq!(
        try_publish(&pool, &old_key).await,
        Err(PublishRejection::InvalidKey)
    );
    assert_eq!(try_publish(&pool, new_key).await, Ok(stream));
    assert_eq!(
        s.disconnects(),
        [(stream, false)],
        "whoever holds the old key is cut off by default"
    );
    let shown = s.app.send(get(&s.uri(""), Some(&s.token))).await;
    assert!(!String::from_utf8_lossy(&shown.body).contains(&new_key[16..]));
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn a_reset_disconnects_the_publisher_unless_asked_not_to(pool: PgPool) {
    let s = Owned::new(pool.clone()).await;
    let stream = go_live(&s.app, &s.stream).await;
    let uri = s.uri("/reset-stream-key");

    let keep = s
        .app
        .send(json_request(
            Method::POST,
            &uri,
            Some(&s.token),
            &json!({ "disconnect_publisher": false }),
        ))
        .await;
    assert_eq!(keep.status, StatusCode::OK);
    assert!(s.disconnects().is_empty());

    let cut = s.post("/reset-stream-key").await;
    assert_eq!(cut.status, StatusCode::OK);
    assert_eq!(
        s.disconnects(),
        [(stream, false)],
        "the stream waits for the encoder to come back with the new key"
    );
    assert_eq!(
        try_publish(&pool, cut.json()["stream_key"].as_str().unwrap()).await,
        Ok(stream)
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn a_reset_body_is_optional_but_must_be_json(pool: PgPool) {
    let s = Owned::new(pool).await;
    let uri = s.uri("/reset-stream-key");
    let send = |content_type: Option<&'static str>, body: &'static str| {
        s.app
            .send(post_raw(&uri, Some(&s.token), content_type, body))
    };
    assert_eq!(send(None, "").await.status, StatusCode::OK);
    for empty in ["{}", "null"] {
        assert_eq!(
            send(Some("application/json"), empty).await.status,
            StatusCode::OK,
            "{empty}"
        );
    }
    send(None, r#"{"disconnect_publisher": true}"#)
        .await
        .problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    send(Some("application/json"), "{")
        .await
        .problem(StatusCode::BAD_REQUEST);
    for bad in [
        r#"{"disconnect": true}"#,
        r#"{"disconnect_publisher": "yes"}"#,
    ] {
        send(Some("application/json"), bad)
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn disable_refuses_the_key_and_ends_the_broadcast_until_enabled(pool: PgPool) {
    let s = Owned::new(pool.clone()).await;
    let stream = go_live(&s.app, &s.stream).await;

    let response = s.post("/disable").await;
    assert_eq!(response.status, StatusCode::OK);
    let disabled = response.json();
    assert_eq!(disabled["disabled"], true);
    assert_eq!(disabled["status"], "ended", "the broadcast ended with it");
    assert!(disabled["ended_at"].is_string());
    assert!(disabled["ingest"].is_object(), "the owner's view");
    assert_eq!(s.disconnects(), [(stream, true)]);
    assert_eq!(
        try_publish(&pool, s.key()).await,
        Err(PublishRejection::Disabled)
    );

    // Disabling again keeps the first time it was disabled.
    let first: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT disabled_at FROM live_streams WHERE id = $1")
            .bind(stream.0)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(s.post("/disable").await.json()["disabled"], true);
    let again: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT disabled_at FROM live_streams WHERE id = $1")
            .bind(stream.0)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(again, first);

    let enabled = s.post("/enable").await;
    assert_eq!(enabled.status, StatusCode::OK);
    assert_eq!(enabled.json()["disabled"], false);
    assert_eq!(try_publish(&pool, s.key()).await, Ok(stream));
    assert_eq!(s.post("/enable").await.status, StatusCode::OK, "idempotent");
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn an_idle_stream_is_disabled_without_touching_its_status(pool: PgPool) {
    let s = Owned::new(pool.clone()).await;
    let disabled = s.post("/disable").await.json();
    assert_eq!(disabled["status"], "idle");
    assert_eq!(disabled["disabled"], true);
    assert_eq!(
        s.disconnects(),
        [(stream_id(&s.stream), true)],
        "asked anyway: a publisher may have just been accepted"
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn end_stops_a_live_broadcast_and_is_409_otherwise(pool: PgPool) {
    let s = Owned::new(pool.clone()).await;
    let problem = s.post("/end").await.problem(StatusCode::CONFLICT);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("idle, not live"),
        "{problem}"
    );

    s.app.ingest.disconnects.lock().unwrap().clear();
    let stream = go_live(&s.app, &s.stream).await;
    let response = s.post("/end").await;
    assert_eq!(response.status, StatusCode::OK);
    let ended = response.json();
    assert_eq!(ended["status"], "ended");
    assert!(ended["started_at"].is_string() && ended["ended_at"].is_string());
    assert_eq!(ended["health"], Value::Null, "nobody publishes any more");
    assert_eq!(s.disconnects(), [(stream, true)]);
    assert_eq!(ended["disabled"], false, "it may go live again");
    assert_eq!(try_publish(&pool, s.key()).await, Ok(stream));

    s.post("/end").await.problem(StatusCode::CONFLICT);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn end_also_ends_a_stream_waiting_for_its_encoder_to_come_back(pool: PgPool) {
    let s = Owned::new(pool.clone()).await;
    // Live in the database, no publisher attached: the reconnect window.
    nova_api::mark_stream_live(&pool, stream_id(&s.stream))
        .await
        .unwrap();
    let response = s.post("/end").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json()["status"], "ended");
    assert_eq!(status_of(&pool, &s.stream).await, "ended");
}
