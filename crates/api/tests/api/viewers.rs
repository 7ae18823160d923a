//! `/api/v1/streams/{id}/viewers`: sessions, heartbeats, expiry by the
//! viewer sweep, and the statistics it keeps.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use nova_api::{ApiConfig, EventType, mark_stream_ended, mark_stream_live, sweep_viewers};
use nova_media::StreamId;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{
    PUBLIC_URL, RTMP_URL, TestApp, TestResponse, get, post_json, post_raw, request, stream_id,
};

/// Every role a caller can have on a stream, with a user for each.
struct Cast {
    owner: Uuid,
    co_host: Uuid,
    moderator: Uuid,
    invitee: Uuid,
    viewer: Uuid,
}

impl Cast {
    /// (role name, the caller or None for anonymous).
    fn roles(&self) -> [(&'static str, Option<Uuid>); 6] {
        [
            ("owner", Some(self.owner)),
            ("co_host", Some(self.co_host)),
            ("moderator", Some(self.moderator)),
            ("invitee", Some(self.invitee)),
            ("viewer", Some(self.viewer)),
            ("anonymous", None),
        ]
    }
}

/// A stream with a co-host, a moderator and an invitee, made directly in
/// the tables (the host routes are not what is under test here).
async fn stream_with_cast(app: &TestApp, pool: &PgPool) -> (StreamId, Cast) {
    let cast = Cast {
        owner: Uuid::new_v4(),
        co_host: Uuid::new_v4(),
        moderator: Uuid::new_v4(),
        invitee: Uuid::new_v4(),
        viewer: Uuid::new_v4(),
    };
    let stream = stream_id(
        &app.create_stream(cast.owner, json!({"title": "Show"}))
            .await,
    );
    sqlx::query(
        "INSERT INTO stream_hosts (stream_id, user_id, role, invited_by, accepted_at) VALUES \
         ($1, $2, 'co_host', $5, now()), ($1, $3, 'moderator', $5, now()), \
         ($1, $4, 'co_host', $5, NULL)",
    )
    .bind(stream.0)
    .bind(cast.co_host)
    .bind(cast.moderator)
    .bind(cast.invitee)
    .bind(cast.owner)
    .execute(pool)
    .await
    .unwrap();
    (stream, cast)
}

fn token(app: &TestApp, user: Option<Uuid>) -> Option<String> {
    user.map(|user| app.token(user))
}

async fn join(
    app: &TestApp,
    stream: StreamId,
    user: Option<Uuid>,
    body: Option<Value>,
) -> TestResponse {
    let uri = format!("/api/v1/streams/{stream}/viewers");
    let token = token(app, user);
    match body {
        Some(body) => app.send(post_json(&uri, token.as_deref(), &body)).await,
        None => app.send(post_raw(&uri, token.as_deref(), None, "")).await,
    }
}

async fn heartbeat(
    app: &TestApp,
    stream: StreamId,
    user: Option<Uuid>,
    session: &str,
) -> TestResponse {
    let uri = format!("/api/v1/streams/{stream}/viewers/{session}/heartbeat");
    app.send(post_raw(&uri, token(app, user).as_deref(), None, ""))
        .await
}

async fn leave(app: &TestApp, stream: StreamId, user: Option<Uuid>, session: &str) -> TestResponse {
    let uri = format!("/api/v1/streams/{stream}/viewers/{session}");
    app.send(request(Method::DELETE, &uri, token(app, user).as_deref()))
        .await
}

async fn stats(app: &TestApp, stream: StreamId, user: Uuid) -> Value {
    let response = app
        .send(get(
            &format!("/api/v1/streams/{stream}/viewers/stats"),
            Some(&app.token(user)),
        ))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{:?}", response.body);
    response.json()
}

/// Joins and returns the session id.
async fn session(app: &TestApp, stream: StreamId, user: Option<Uuid>, token: &str) -> String {
    let response = join(app, stream, user, Some(json!({"session_token": token}))).await;
    assert_eq!(response.status, StatusCode::CREATED, "{:?}", response.body);
    response.json()["id"].as_str().unwrap().to_owned()
}

async fn sweep(app: &TestApp) -> nova_api::ViewerSweep {
    sweep_viewers(&app.state, 100).await.unwrap()
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn joining_starts_a_session_that_heartbeats_keep_alive(pool: PgPool) {
    let app = TestApp::new(pool);
    let owner = Uuid::new_v4();
    let stream = stream_id(&app.create_stream(owner, json!({"title": "Show"})).await);
    let before = Utc::now();
    let response = join(
        &app,
        stream,
        None,
        Some(json!({"session_token": "player-0123456789"})),
    )
    .await;
    assert_eq!(response.status, StatusCode::CREATED, "{:?}", response.body);
    let session = response.json();
    let id = session["id"].as_str().unwrap();
    assert_eq!(
        response.header("location"),
        format!("/api/v1/streams/{stream}/viewers/{id}")
    );
    assert_eq!(session["stream_id"], stream.to_string());
    assert_eq!(session["session_token"], "player-0123456789");
    assert_eq!(session["heartbeat_interval_seconds"], 15, "a third of 45 s");
    assert_eq!(session["stream_status"], "idle");
    let expires = time(&session["expires_at"]);
    assert!(
        expires >= before + chrono::Duration::seconds(45),
        "{expires}"
    );
    assert!(
        expires <= Utc::now() + chrono::Duration::seconds(45),
        "{expires}"
    );

    tokio::time::sleep(Duration::from_millis(20)).await;
    let beat = heartbeat(&app, stream, None, id).await;
    assert_eq!(beat.status, StatusCode::OK, "{:?}", beat.body);
    let beat = beat.json();
    assert_eq!(beat["id"], id);
    assert!(
        time(&beat["expires_at"]) > expires,
        "the heartbeat moved expiry on"
    );

    mark_stream_live(&app.state.pool, stream).await.unwrap();
    let beat = heartbeat(&app, stream, None, id).await.json();
    assert_eq!(
        beat["stream_status"], "live",
        "players learn of status changes"
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn the_body_is_optional_and_the_server_picks_a_token(pool: PgPool) {
    let app = TestApp::new(pool);
    let stream = stream_id(
        &app.create_stream(Uuid::new_v4(), json!({"title": "Show"}))
            .await,
    );
    let without = join(&app, stream, None, None).await;
    assert_eq!(without.status, StatusCode::CREATED, "{:?}", without.body);
    let empty = join(&app, stream, Some(Uuid::new_v4()), Some(json!({}))).await;
    assert_eq!(empty.status, StatusCode::CREATED);
    let null = join(&app, stream, None, Some(Value::Null)).await;
    assert_eq!(null.status, StatusCode::CREATED, "the document allows null");
    let (a, b) = (without.json(), empty.json());
    assert_eq!(a["session_token"].as_str().unwrap().len(), 32);
    assert_ne!(a["session_token"], b["session_token"]);
    assert_ne!(a["id"], b["id"]);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn bad_bodies_are_refused_with_the_field_named(pool: PgPool) {
    let app = TestApp::new(pool);
    let stream = stream_id(
        &app.create_stream(Uuid::new_v4(), json!({"title": "Show"}))
            .await,
    );
    for (body, pointer) in [
        (json!({"session_token": "short"}), "#/session_token"),
        (json!({"session_token": "x".repeat(129)}), "#/session_token"),
        (
            json!({"session_token": "has a space in it"}),
            "#/session_token",
        ),
        (json!({"session_token": 12}), "#/session_token"),
        (
            json!({"session_token": "0123456789abcdef", "extra": 1}),
            "#/extra",
        ),
    ] {
        let problem = join(&app, stream, None, Some(body.clone()))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{body}");
    }
    let uri = format!("/api/v1/streams/{stream}/viewers");
    app.send(post_raw(&uri, None, Some("application/json"), "{"))
        .await
        .problem(StatusCode::BAD_REQUEST);
    app.send(post_raw(&uri, None, Some("text/plain"), "hi"))
        .await
        .problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn rejoining_with_the_same_token_resumes_instead_of_counting_twice(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let owner = Uuid::new_v4();
    let fan = Uuid::new_v4();
    let stream = stream_id(&app.create_stream(owner, json!({"title": "Show"})).await);
    mark_stream_live(&pool, stream).await.unwrap();
    let body = json!({"session_token": "fan-device-token-1"});

    let first = join(&app, stream, Some(fan), Some(body.clone())).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = join(&app, stream, Some(fan), Some(body.clone())).await;
    assert_eq!(again.status, StatusCode::OK, "a resume, not a new session");
    assert!(again.headers.get("location").is_none());
    assert_eq!(again.json()["id"], first.json()["id"]);

    // The token is the player's own: nobody else can take over the session.
    join(&app, stream, Some(Uuid::new_v4()), Some(body.clone()))
        .await
        .problem(StatusCode::CONFLICT);
    join(&app, stream, None, Some(body.clone()))
        .await
        .problem(StatusCode::CONFLICT);

    sweep(&app).await;
    let numbers = stats(&app, stream, owner).await;
    assert_eq!(numbers["stream"]["current_viewers"], 1);
    assert_eq!(numbers["stream"]["unique_viewers"], 1);

    // After leaving, the same token starts a new session of the same viewer.
    let id = first.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        leave(&app, stream, Some(fan), &id).await.status,
        StatusCode::NO_CONTENT
    );
    let later = join(&app, stream, Some(fan), Some(body)).await;
    assert_eq!(later.status, StatusCode::CREATED);
    assert_ne!(later.json()["id"], id.as_str());
    sweep(&app).await;
    let numbers = stats(&app, stream, owner).await;
    assert_eq!(numbers["stream"]["current_viewers"], 1);
    assert_eq!(numbers["stream"]["unique_viewers"], 1, "still one viewer");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM live_stream_viewers")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 2);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn an_ended_broadcast_takes_no_new_viewers(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let stream = stream_id(
        &app.create_stream(Uuid::new_v4(), json!({"title": "Show"}))
            .await,
    );
    mark_stream_live(&pool, stream).await.unwrap();
    let id = session(&app, stream, None, "still-watching-0001").await;
    mark_stream_ended(&pool, stream).await.unwrap();
    let problem = join(&app, stream, None, None)
        .await
        .problem(StatusCode::CONFLICT);
    assert!(
        problem["detail"].as_str().unwrap().contains("ended"),
        "{problem}"
    );
    // A player already watching keeps its session until it leaves.
    let beat = heartbeat(&app, stream, None, &id).await;
    assert_eq!(beat.status, StatusCode::OK);
    assert_eq!(beat.json()["stream_status"], "ended");
}

/// Moves a session's times back, as if it had joined and last sent a
/// heartbeat this long ago.
async fn age(pool: &PgPool, session: &str, joined_ago: i64, seen_ago: i64) {
    sqlx::query(
        "UPDATE live_stream_viewers SET joined_at = now() - make_interval(secs => $2), \
         last_seen_at = now() - make_interval(secs => $3) WHERE id = $1::uuid",
    )
    .bind(session)
    .bind(joined_ago as f64)
    .bind(seen_ago as f64)
    .execute(pool)
    .await
    .unwrap();
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn sessions_that_stop_heartbeating_expire_and_others_stay(pool: PgPool) {
    let mut config = ApiConfig::new(PUBLIC_URL, RTMP_URL);
    config.viewer_session_timeout = Duration::from_secs(30);
    let app = TestApp::with_config(pool.clone(), config);
    let owner = Uuid::new_v4();
    let stream = stream_id(&app.create_stream(owner, json!({"title": "Show"})).await);
    let faithful = session(&app, stream, None, "faithful-player-01").await;
    let silent = session(&app, stream, None, "silent-player-0001").await;
    // Both joined two minutes ago; the faithful one kept sending heartbeats
    // (its last 20 s ago, within the 30 s timeout), the silent one stopped
    // after its first minute.
    age(&pool, &faithful, 120, 20).await;
    age(&pool, &silent, 120, 60).await;

    // Past its expiry a heartbeat cannot revive a session, swept or not.
    heartbeat(&app, stream, None, &silent)
        .await
        .problem(StatusCode::NOT_FOUND);
    assert_eq!(
        heartbeat(&app, stream, None, &faithful).await.status,
        StatusCode::OK
    );

    let pass = sweep(&app).await;
    assert_eq!((pass.streams, pass.expired, pass.settled), (1, 1, 1));
    assert!(!pass.more);
    let (left, seen): (Option<DateTime<Utc>>, DateTime<Utc>) =
        sqlx::query_as("SELECT left_at, last_seen_at FROM live_stream_viewers WHERE id = $1::uuid")
            .bind(&silent)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(left, Some(seen), "it left at its last heartbeat");
    let open: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT left_at FROM live_stream_viewers WHERE id = $1::uuid")
            .bind(&faithful)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(open, None);

    let problem = heartbeat(&app, stream, None, &silent)
        .await
        .problem(StatusCode::NOT_FOUND);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("start a new one"),
        "{problem}"
    );
    let numbers = stats(&app, stream, owner).await;
    assert_eq!(numbers["stream"]["current_viewers"], 1);
    assert_eq!(
        numbers["stream"]["peak_viewers"], 1,
        "the sweep saw one at a time"
    );
    assert_eq!(numbers["stream"]["unique_viewers"], 2);
    // The silent one watched 60 s; the faithful one 120 s so far (its
    // heartbeat just now), give or take the test's own run time.
    let watched = numbers["stream"]["watch_time_ms"].as_i64().unwrap();
    assert!((180_000..185_000).contains(&watched), "{watched}");

    // With nothing left to do, a second pass changes nothing: not even a
    // row lock on the viewers it already counted (a steady audience is
    // read, not rewritten, at every pass).
    let identities = "SELECT viewer_key, xmin::text, xmax::text FROM stream_viewer_identities \
                      ORDER BY viewer_key";
    let before: Vec<(String, String, String)> =
        sqlx::query_as(identities).fetch_all(&pool).await.unwrap();
    let pass = sweep(&app).await;
    let after: Vec<(String, String, String)> =
        sqlx::query_as(identities).fetch_all(&pool).await.unwrap();
    assert_eq!(before.len(), 2);
    assert_eq!(before, after);
    assert_eq!((pass.expired, pass.settled), (0, 0));
    assert_eq!(
        stats(&app, stream, owner).await["stream"]["unique_viewers"],
        2
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn the_sweep_works_in_bounded_batches(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let owner = Uuid::new_v4();
    let stream = stream_id(&app.create_stream(owner, json!({"title": "Show"})).await);
    for n in 0..5 {
        let id = session(&app, stream, None, &format!("batch-player-{n:05}")).await;
        age(&pool, &id, 600, 300).await;
    }
    let mut passes = Vec::new();
    loop {
        let pass = sweep_viewers(&app.state, 2).await.unwrap();
        passes.push((pass.expired, pass.settled, pass.more));
        if !pass.more {
            break;
        }
    }
    assert_eq!(
        passes,
        [(2, 2, true), (2, 2, true), (1, 1, false)],
        "at most two sessions per pass"
    );
    let numbers = stats(&app, stream, owner).await;
    assert_eq!(numbers["stream"]["current_viewers"], 0);
    assert_eq!(numbers["stream"]["unique_viewers"], 5);
    assert_eq!(numbers["stream"]["watch_time_ms"], 5 * 300_000);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn leaving_ends_a_session_and_repeating_it_is_harmless(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let stream = stream_id(
        &app.create_stream(Uuid::new_v4(), json!({"title": "Show"}))
            .await,
    );
    let id = session(&app, stream, None, "leaving-player-001").await;
    assert_eq!(
        leave(&app, stream, None, &id).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        leave(&app, stream, None, &id).await.status,
        StatusCode::NO_CONTENT
    );
    let left: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT left_at FROM live_stream_viewers WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(left.is_some());
    heartbeat(&app, stream, None, &id)
        .await
        .problem(StatusCode::NOT_FOUND);

    for missing in [Uuid::new_v4().to_string(), "not-a-uuid".to_owned()] {
        leave(&app, stream, None, &missing)
            .await
            .problem(StatusCode::NOT_FOUND);
        heartbeat(&app, stream, None, &missing)
            .await
            .problem(StatusCode::NOT_FOUND);
    }
    // A session belongs to its stream: another stream's id does not reach it.
    let other = stream_id(
        &app.create_stream(Uuid::new_v4(), json!({"title": "Other"}))
            .await,
    );
    let elsewhere = session(&app, other, None, "elsewhere-player-1").await;
    heartbeat(&app, stream, None, &elsewhere)
        .await
        .problem(StatusCode::NOT_FOUND);
    leave(&app, stream, None, &elsewhere)
        .await
        .problem(StatusCode::NOT_FOUND);
    assert_eq!(
        heartbeat(&app, other, None, &elsewhere).await.status,
        StatusCode::OK
    );
}

/// Sets a session's times in minutes from `base`.
async fn place(
    pool: &PgPool,
    session: &str,
    base: DateTime<Utc>,
    joined: i64,
    seen: i64,
    left: bool,
) {
    let at = |minutes: i64| base + chrono::Duration::minutes(minutes);
    sqlx::query(
        "UPDATE live_stream_viewers SET joined_at = $2, last_seen_at = $3, \
         left_at = CASE WHEN $4 THEN $3 END WHERE id = $1::uuid",
    )
    .bind(session)
    .bind(at(joined))
    .bind(at(seen))
    .bind(left)
    .execute(pool)
    .await
    .unwrap();
}

const MINUTE_MS: i64 = 60_000;

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn statistics_count_current_peak_unique_and_watch_time(pool: PgPool) {
    // A long timeout: the sessions below are placed up to an hour back and
    // must not expire; expiry has its own test.
    let mut config = ApiConfig::new(PUBLIC_URL, RTMP_URL);
    config.viewer_session_timeout = Duration::from_secs(3 * 3600);
    let app = TestApp::with_config(pool.clone(), config);
    let owner = Uuid::new_v4();
    let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
    let stream = stream_id(&app.create_stream(owner, json!({"title": "Show"})).await);

    let empty = stats(&app, stream, owner).await;
    assert_eq!(
        empty,
        json!({
            "stream_id": stream.to_string(),
            "as_of": null,
            "stream": {"current_viewers": 0, "peak_viewers": 0, "unique_viewers": 0, "watch_time_ms": 0},
            "broadcast": null,
        })
    );

    // Alice waits in the idle stream, then watches on two devices; two
    // anonymous players come and go.
    let s1 = session(&app, stream, Some(alice), "alice-laptop-00001").await;
    mark_stream_live(&pool, stream).await.unwrap();
    let s2 = session(&app, stream, Some(alice), "alice-phone-000001").await;
    let s3 = session(&app, stream, None, "anonymous-player-x").await;
    let s4 = session(&app, stream, None, "anonymous-player-y").await;
    // The broadcast started an hour ago (T0); sessions in minutes from T0.
    let t0: DateTime<Utc> = sqlx::query_scalar(
        "UPDATE live_streams SET started_at = now() - interval '1 hour' WHERE id = $1 \
         RETURNING started_at",
    )
    .bind(stream.0)
    .fetch_one(&pool)
    .await
    .unwrap();
    place(&pool, &s1, t0, -10, 20, false).await; // open: 30 min, 20 in the broadcast
    place(&pool, &s2, t0, 5, 15, true).await; // left: 10 min
    place(&pool, &s3, t0, 10, 40, true).await; // left: 30 min
    place(&pool, &s4, t0, 30, 50, false).await; // open: 20 min

    sweep(&app).await;
    let numbers = stats(&app, stream, owner).await;
    assert_eq!(
        numbers["stream"],
        json!({"current_viewers": 2, "peak_viewers": 2, "unique_viewers": 3,
               "watch_time_ms": 90 * MINUTE_MS})
    );
    let broadcast = &numbers["broadcast"];
    assert_eq!(time(&broadcast["started_at"]), t0);
    assert_eq!(broadcast["ended_at"], Value::Null);
    assert_eq!(broadcast["current_viewers"], 2);
    assert_eq!(broadcast["peak_viewers"], 2);
    assert_eq!(broadcast["unique_viewers"], 3, "alice waited, then watched");
    assert_eq!(
        broadcast["watch_time_ms"],
        80 * MINUTE_MS,
        "not the 10 min before T0"
    );
    assert!(numbers["as_of"].is_string());

    // y leaves at its last heartbeat; Bob joins now (no time watched yet).
    sqlx::query("UPDATE live_stream_viewers SET left_at = last_seen_at WHERE id = $1::uuid")
        .bind(&s4)
        .execute(&pool)
        .await
        .unwrap();
    let s5 = session(&app, stream, Some(bob), "bob-tv-00000000001").await;
    let pass = sweep(&app).await;
    assert_eq!(pass.settled, 1);
    let numbers = stats(&app, stream, owner).await;
    assert_eq!(
        numbers["stream"],
        json!({"current_viewers": 2, "peak_viewers": 2, "unique_viewers": 4,
               "watch_time_ms": 90 * MINUTE_MS})
    );
    assert_eq!(numbers["broadcast"]["unique_viewers"], 4);

    // Alice's laptop goes: one viewer now, the peak stays.
    sqlx::query("UPDATE live_stream_viewers SET left_at = last_seen_at WHERE id = $1::uuid")
        .bind(&s1)
        .execute(&pool)
        .await
        .unwrap();
    sweep(&app).await;
    let numbers = stats(&app, stream, owner).await;
    assert_eq!(numbers["stream"]["current_viewers"], 1);
    assert_eq!(numbers["stream"]["peak_viewers"], 2);
    assert_eq!(numbers["stream"]["watch_time_ms"], 90 * MINUTE_MS);
    assert_eq!(numbers["broadcast"]["watch_time_ms"], 80 * MINUTE_MS);

    // The broadcast ends; Bob is still there (counted for the stream, not
    // as a current viewer of a broadcast that is over).
    mark_stream_ended(&pool, stream).await.unwrap();
    sweep(&app).await;
    let numbers = stats(&app, stream, owner).await;
    assert_eq!(numbers["stream"]["current_viewers"], 1);
    assert!(numbers["broadcast"]["ended_at"].is_string());
    assert_eq!(numbers["broadcast"]["current_viewers"], 0);
    assert_eq!(numbers["broadcast"]["unique_viewers"], 4);

    // A new broadcast starts its own numbers; Bob counts once he is seen
    // watching it (his next heartbeat), and the stream's totals go on.
    mark_stream_live(&pool, stream).await.unwrap();
    let numbers = stats(&app, stream, owner).await;
    assert_eq!(
        numbers["broadcast"]["unique_viewers"], 0,
        "no pass since it started"
    );
    assert_eq!(numbers["broadcast"]["peak_viewers"], 0);
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(
        heartbeat(&app, stream, Some(bob), &s5).await.status,
        StatusCode::OK
    );
    sweep(&app).await;
    let numbers = stats(&app, stream, owner).await;
    assert_eq!(numbers["broadcast"]["unique_viewers"], 1);
    assert_eq!(numbers["broadcast"]["current_viewers"], 1);
    assert_eq!(numbers["broadcast"]["peak_viewers"], 1);
    assert_eq!(numbers["stream"]["unique_viewers"], 4);
    assert_eq!(numbers["stream"]["peak_viewers"], 2);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn the_sweep_publishes_viewer_counts(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let stream = stream_id(
        &app.create_stream(Uuid::new_v4(), json!({"title": "Show"}))
            .await,
    );
    let mut events = app.state.events.subscribe(stream.0, None).receiver;
    let id = session(&app, stream, None, "counted-player-001").await;
    session(&app, stream, None, "counted-player-002").await;
    sweep(&app).await;
    let event = events.try_recv().unwrap();
    assert_eq!(event.kind(), EventType::ViewerCount);
    assert_eq!(event.data(), json!({"current": 2}));

    // Idle stream, nothing changed: no event.
    sweep(&app).await;
    assert!(events.try_recv().is_err());

    assert_eq!(
        leave(&app, stream, None, &id).await.status,
        StatusCode::NO_CONTENT
    );
    sweep(&app).await;
    assert_eq!(events.try_recv().unwrap().data(), json!({"current": 1}));

    // While live, every pass reports, changed or not.
    mark_stream_live(&pool, stream).await.unwrap();
    sweep(&app).await;
    assert_eq!(events.try_recv().unwrap().data(), json!({"current": 1}));
    sweep(&app).await;
    assert_eq!(events.try_recv().unwrap().data(), json!({"current": 1}));
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn every_role_may_watch_and_only_owner_and_co_hosts_read_stats(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (stream, cast) = stream_with_cast(&app, &pool).await;
    for (role, user) in cast.roles() {
        let response = join(&app, stream, user, None).await;
        assert_eq!(response.status, StatusCode::CREATED, "{role} joins");
        let id = response.json()["id"].as_str().unwrap().to_owned();
        assert_eq!(
            heartbeat(&app, stream, user, &id).await.status,
            StatusCode::OK,
            "{role}"
        );
        assert_eq!(
            leave(&app, stream, user, &id).await.status,
            StatusCode::NO_CONTENT,
            "{role}"
        );

        let uri = format!("/api/v1/streams/{stream}/viewers/stats");
        let response = app.send(get(&uri, token(&app, user).as_deref())).await;
        match role {
            "owner" | "co_host" => assert_eq!(response.status, StatusCode::OK, "{role}"),
            _ => {
                let problem = response.problem(StatusCode::FORBIDDEN);
                assert!(
                    problem["detail"]
                        .as_str()
                        .unwrap()
                        .contains("owner or co_host"),
                    "{role}: {problem}"
                );
            }
        }
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn a_private_stream_is_404_to_those_who_may_not_see_it(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (stream, cast) = stream_with_cast(&app, &pool).await;
    sqlx::query("UPDATE live_streams SET visibility = 'private' WHERE id = $1")
        .bind(stream.0)
        .execute(&pool)
        .await
        .unwrap();
    // A session someone had before the stream went private.
    let id = session(&app, stream, Some(cast.owner), "owner-preview-0001").await;
    for (role, user) in cast.roles() {
        let uri = format!("/api/v1/streams/{stream}/viewers/stats");
        let read = app.send(get(&uri, token(&app, user).as_deref())).await;
        let joined = join(&app, stream, user, None).await;
        let beat = heartbeat(&app, stream, user, &id).await;
        match role {
            "owner" | "co_host" | "moderator" | "invitee" => {
                assert_eq!(joined.status, StatusCode::CREATED, "{role}");
                assert_eq!(beat.status, StatusCode::OK, "{role}");
            }
            _ => {
                for response in [&read, &joined, &beat] {
                    response.problem(StatusCode::NOT_FOUND);
                }
                leave(&app, stream, user, &id)
                    .await
                    .problem(StatusCode::NOT_FOUND);
            }
        }
        match role {
            "owner" | "co_host" => assert_eq!(read.status, StatusCode::OK),
            "moderator" | "invitee" => {
                read.problem(StatusCode::FORBIDDEN);
            }
            _ => {}
        }
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn unknown_streams_are_404(pool: PgPool) {
    let app = TestApp::new(pool);
    let owner = Uuid::new_v4();
    for uri in [
        format!("/api/v1/streams/{}/viewers/stats", Uuid::new_v4()),
        "/api/v1/streams/nope/viewers/stats".to_owned(),
    ] {
        app.send(get(&uri, Some(&app.token(owner))))
            .await
            .problem(StatusCode::NOT_FOUND);
    }
    join(&app, StreamId::new_random(), None, None)
        .await
        .problem(StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn concurrent_joins_with_one_token_make_one_session(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let fan = Uuid::new_v4();
    let stream = stream_id(
        &app.create_stream(Uuid::new_v4(), json!({"title": "Race"}))
            .await,
    );
    let body = json!({"session_token": "flaky-network-0001"});
    let responses = futures_util::future::join_all(
        (0..8).map(|_| join(&app, stream, Some(fan), Some(body.clone()))),
    )
    .await;
    let created = responses
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "one join creates, the others resume");
    assert!(
        responses
            .iter()
            .all(|r| r.status.is_success() && r.json()["id"] == responses[0].json()["id"])
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM live_stream_viewers")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
}
