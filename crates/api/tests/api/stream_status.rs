//! Status writes from the server: live, ended, and the startup sweep.

use chrono::{DateTime, Utc};
use nova_api::{end_orphaned_live_streams, mark_stream_ended, mark_stream_live};
use nova_media::StreamId;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{TestApp, get, stream_id};

#[derive(Debug, sqlx::FromRow)]
struct Status {
    status: String,
    started_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

async fn status(pool: &PgPool, stream: StreamId) -> Status {
    sqlx::query_as(
        "SELECT status, started_at, ended_at, updated_at FROM live_streams WHERE id = $1",
    )
    .bind(stream.0)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn a_stream_goes_live_ends_and_goes_live_again(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let owner = Uuid::new_v4();
    let created = app.create_stream(owner, json!({ "title": "Weekly" })).await;
    let stream = stream_id(&created);
    let idle = status(&pool, stream).await;
    assert_eq!(idle.status, "idle");

    mark_stream_live(&pool, stream).await.unwrap();
    let live = status(&pool, stream).await;
    assert_eq!(live.status, "live");
    let started = live.started_at.expect("started_at is set");
    assert_eq!(live.ended_at, None);
    assert!(
        live.updated_at > idle.updated_at,
        "updated_at follows the change"
    );

    // A reconnect or takeover reports live again: the same session goes on.
    mark_stream_live(&pool, stream).await.unwrap();
    assert_eq!(status(&pool, stream).await.started_at, Some(started));

    let view = app
        .send(get(
            &format!("/api/v1/streams/{stream}"),
            Some(&app.token(owner)),
        ))
        .await
        .json();
    assert_eq!(view["status"], "live");
    assert!(view["started_at"].is_string());

    mark_stream_ended(&pool, stream).await.unwrap();
    let ended = status(&pool, stream).await;
    assert_eq!(ended.status, "ended");
    assert_eq!(ended.started_at, Some(started));
    assert!(ended.ended_at.unwrap() >= started);

    // Ending twice changes nothing, not even updated_at.
    mark_stream_ended(&pool, stream).await.unwrap();
    let again = status(&pool, stream).await;
    assert_eq!(
        (again.ended_at, again.updated_at),
        (ended.ended_at, ended.updated_at)
    );

    mark_stream_live(&pool, stream).await.unwrap();
    let relive = status(&pool, stream).await;
    assert_eq!(relive.status, "live");
    assert!(
        relive.started_at.unwrap() > started,
        "a new session starts now"
    );
    assert_eq!(relive.ended_at, None);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn only_a_live_stream_can_end(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let stream = stream_id(
        &app.create_stream(Uuid::new_v4(), json!({ "title": "Never live" }))
            .await,
    );
    mark_stream_ended(&pool, stream).await.unwrap();
    let after = status(&pool, stream).await;
    assert_eq!(after.status, "idle");
    assert_eq!(after.ended_at, None);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn status_writes_for_a_deleted_stream_are_no_ops(pool: PgPool) {
    let gone = StreamId::new_random();
    mark_stream_live(&pool, gone).await.unwrap();
    mark_stream_ended(&pool, gone).await.unwrap();
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn startup_ends_streams_a_crash_left_live(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let owner = Uuid::new_v4();
    let mut streams = Vec::new();
    for title in ["A", "B", "C"] {
        streams.push(stream_id(
            &app.create_stream(owner, json!({ "title": title })).await,
        ));
    }
    mark_stream_live(&pool, streams[0]).await.unwrap();
    mark_stream_live(&pool, streams[1]).await.unwrap();

    assert_eq!(end_orphaned_live_streams(&pool).await.unwrap(), 2);
    assert_eq!(status(&pool, streams[0]).await.status, "ended");
    assert_eq!(status(&pool, streams[1]).await.status, "ended");
    assert!(status(&pool, streams[1]).await.ended_at.is_some());
    assert_eq!(status(&pool, streams[2]).await.status, "idle");
    assert_eq!(end_orphaned_live_streams(&pool).await.unwrap(), 0);
}
