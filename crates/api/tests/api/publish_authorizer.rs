//! The stream-key check the RTMP ingest asks before a publish goes live.

use std::net::SocketAddr;
use std::time::Duration;

use nova_api::PgPublishAuthorizer;
use nova_media::{
    PublishAuthorizer, PublishRejection, PublishRequest, SegmentContainer, StreamSettings,
};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{TestApp, stream_id};

fn defaults() -> StreamSettings {
    StreamSettings {
        container: SegmentContainer::Fmp4,
        target_segment_duration: Duration::from_secs(4),
        live_window_segments: 5,
        ..StreamSettings::default()
    }
}

fn publish(app: &str, key: &str) -> PublishRequest {
    PublishRequest {
        app: app.to_owned(),
        stream_key: key.to_owned(),
        peer: SocketAddr::from(([192, 0, 2, 7], 50123)),
    }
}

/// A stream created through the API, and its key.
async fn stream_with_key(app: &TestApp, body: serde_json::Value) -> (nova_media::StreamId, String) {
    let stream = app.create_stream(Uuid::new_v4(), body).await;
    (
        stream_id(&stream),
        stream["stream_key"].as_str().unwrap().to_owned(),
    )
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn the_right_key_is_granted_with_the_streams_settings(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let authorizer = PgPublishAuthorizer::new(pool, defaults());
    let (plain, plain_key) = stream_with_key(&app, json!({ "title": "Plain" })).await;
    let (legacy, legacy_key) = stream_with_key(
        &app,
        json!({ "title": "Legacy", "settings": { "container": "ts" } }),
    )
    .await;

    let grant = authorizer
        .authorize(&publish("live", &plain_key))
        .await
        .unwrap();
    assert_eq!(grant.stream_id, plain);
    assert_eq!(grant.settings, defaults());

    let grant = authorizer
        .authorize(&publish("live", &legacy_key))
        .await
        .unwrap();
    assert_eq!(grant.stream_id, legacy);
    assert_eq!(
        grant.settings,
        StreamSettings {
            container: SegmentContainer::Ts,
            ..defaults()
        }
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn wrong_unknown_and_malformed_keys_are_invalid(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let authorizer = PgPublishAuthorizer::new(pool, defaults());
    let (_, key) = stream_with_key(&app, json!({ "title": "Guarded" })).await;
    let (key_id_part, secret) = key.rsplit_once('_').unwrap();

    let mut wrong_secret = secret.to_owned();
    let last = wrong_secret.pop().unwrap();
    wrong_secret.push(if last == 'a' { 'b' } else { 'a' });
    let other_stream_key_shape = format!("nl_{}_{}", "Z".repeat(12), secret);
    let cases = [
        ("wrong secret", format!("{key_id_part}_{wrong_secret}")),
        ("unknown key id", other_stream_key_shape),
        ("malformed", "not-a-key".to_owned()),
        ("empty", String::new()),
        ("truncated", key[..key.len() - 1].to_owned()),
        ("query string kept", format!("{key}?token=x")),
    ];
    for (why, candidate) in cases {
        let result = authorizer.authorize(&publish("live", &candidate)).await;
        assert_eq!(result, Err(PublishRejection::InvalidKey), "{why}");
    }
    assert!(authorizer.authorize(&publish("live", &key)).await.is_ok());
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn a_disabled_stream_is_refused_even_with_its_key(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let authorizer = PgPublishAuthorizer::new(pool.clone(), defaults());
    let (stream, key) = stream_with_key(&app, json!({ "title": "Suspended" })).await;
    sqlx::query("UPDATE live_streams SET disabled_at = now() WHERE id = $1")
        .bind(stream.0)
        .execute(&pool)
        .await
        .unwrap();

    assert_eq!(
        authorizer.authorize(&publish("live", &key)).await,
        Err(PublishRejection::Disabled)
    );
    // Without the key, a disabled stream looks like any wrong key.
    let (prefix, _) = key.rsplit_once('_').unwrap();
    let guess = format!("{prefix}_{}", "a".repeat(40));
    assert_eq!(
        authorizer.authorize(&publish("live", &guess)).await,
        Err(PublishRejection::InvalidKey)
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn other_applications_are_unknown(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let authorizer = PgPublishAuthorizer::new(pool, defaults());
    let (_, key) = stream_with_key(&app, json!({ "title": "Wrong door" })).await;
    for other in ["app", "Live", "live/extra", ""] {
        assert_eq!(
            authorizer.authorize(&publish(other, &key)).await,
            Err(PublishRejection::UnknownApp(other.to_owned())),
            "{other:?}"
        );
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn unusable_stored_settings_fall_back_to_the_defaults(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let authorizer = PgPublishAuthorizer::new(pool.clone(), defaults());
    let (stream, key) = stream_with_key(&app, json!({ "title": "Odd settings" })).await;
    for stored in [
        json!({ "container": "webm" }),
        json!({ "container": 7, "future": true }),
    ] {
        sqlx::query("UPDATE live_streams SET settings = $2 WHERE id = $1")
            .bind(stream.0)
            .bind(&stored)
            .execute(&pool)
            .await
            .unwrap();
        let grant = authorizer.authorize(&publish("live", &key)).await.unwrap();
        assert_eq!(grant.settings, defaults(), "{stored}");
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn a_database_outage_is_unavailable_not_invalid(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (_, key) = stream_with_key(&app, json!({ "title": "Outage" })).await;
    let authorizer = PgPublishAuthorizer::new(pool.clone(), defaults());
    pool.close().await;
    assert_eq!(
        authorizer.authorize(&publish("live", &key)).await,
        Err(PublishRejection::Unavailable)
    );
}
