//! `/api/v1/streams/{id}/chat`: messages, moderation, bans, settings, and
//! the permission matrix of every chat route.

use std::collections::HashSet;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{DateTime, Utc};
use nova_api::{ApiConfig, EventType, RateLimit};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{
    PUBLIC_URL, RTMP_URL, TestApp, TestResponse, get, post_json, post_raw, request,
};

/// Who is asking, relative to the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum As {
    Owner,
    CoHost,
    Moderator,
    Invitee,
    Viewer,
    Anonymous,
}

pub const EVERY_ROLE: [As; 6] = [
    As::Owner,
    As::CoHost,
    As::Moderator,
    As::Invitee,
    As::Viewer,
    As::Anonymous,
];
const STAFF: &[As] = &[As::Owner, As::CoHost, As::Moderator];
const SIGNED_IN: &[As] = &[
    As::Owner,
    As::CoHost,
    As::Moderator,
    As::Invitee,
    As::Viewer,
];

/// A stream and one user in each role on it (hosts are written with SQL:
/// the hosts routes are not what these tests are about).
pub struct Cast {
    pub stream: String,
    pub owner: Uuid,
    pub co_host: Uuid,
    pub moderator: Uuid,
    pub invitee: Uuid,
    pub viewer: Uuid,
}

impl Cast {
    pub async fn new(app: &TestApp, visibility: &str) -> Self {
        let owner = Uuid::new_v4();
        let created = app.create_stream(owner, json!({ "title": "Chat" })).await;
        let stream = created["id"].as_str().unwrap().to_owned();
        let cast = Self {
            stream,
            owner,
            co_host: Uuid::new_v4(),
            moderator: Uuid::new_v4(),
            invitee: Uuid::new_v4(),
            viewer: Uuid::new_v4(),
        };
        let pool = &app.state.pool;
        sqlx::query("UPDATE live_streams SET visibility = $2 WHERE id = $1::uuid")
            .bind(&cast.stream)
            .bind(visibility)
            .execute(pool)
            .await
            .unwrap();
        for (user, role, accepted) in [
            (cast.co_host, "co_host", true),
            (cast.moderator, "moderator", true),
            (cast.invitee, "co_host", false),
        ] {
            sqlx::query(
                "INSERT INTO stream_hosts (stream_id, user_id, role, invited_by, accepted_at) \
                 VALUES ($1::uuid, $2, $3, $4, CASE WHEN $5 THEN now() END)",
            )
            .bind(&cast.stream)
            .bind(user)
            .bind(role)
            .bind(owner)
            .bind(accepted)
            .execute(pool)
            .await
            .unwrap();
        }
        cast
    }

    pub fn user(&self, who: As) -> Option<Uuid> {
        match who {
            As::Owner => Some(self.owner),
            As::CoHost => Some(self.co_host),
            As::Moderator => Some(self.moderator),
            As::Invitee => Some(self.invitee),
            As::Viewer => Some(self.viewer),
            As::Anonymous => None,
        }
    }

    pub fn token(&self, app: &TestApp, who: As) -> Option<String> {
        self.user(who).map(|user| app.token(user))
    }

    pub fn url(&self, rest: &str) -> String {
        format!("/api/v1/streams/{}{rest}", self.stream)
    }
}

fn json_request(method: Method, uri: &str, token: Option<&str>, body: &Value) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder.body(Body::from(body.to_string())).unwrap()
}

pub async fn post_message(app: &TestApp, cast: &Cast, who: As, body: &str) -> TestResponse {
    let token = cast.token(app, who);
    app.send(post_json(
        &cast.url("/chat/messages"),
        token.as_deref(),
        &json!({ "body": body }),
    ))
    .await
}

async fn patch_settings(app: &TestApp, cast: &Cast, who: As, body: Value) -> TestResponse {
    let token = cast.token(app, who);
    app.send(json_request(
        Method::PATCH,
        &cast.url("/chat/settings"),
        token.as_deref(),
        &body,
    ))
    .await
}

async fn as_user(app: &TestApp, cast: &Cast, who: As, method: Method, path: &str) -> TestResponse {
    let token = cast.token(app, who);
    app.send(request(method, &cast.url(path), token.as_deref()))
        .await
}

/// A message written straight to the table, for tests about reading and
/// moderating rather than posting.
async fn insert_message(pool: &PgPool, cast: &Cast, author: Uuid, body: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO live_chat_messages (stream_id, author_id, body) \
         VALUES ($1::uuid, $2, $3) RETURNING id",
    )
    .bind(&cast.stream)
    .bind(author)
    .bind(body)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn insert_ban(pool: &PgPool, cast: &Cast, user: Uuid) {
    sqlx::query(
        "INSERT INTO stream_chat_bans (stream_id, user_id, banned_by) VALUES ($1::uuid, $2, $3)",
    )
    .bind(&cast.stream)
    .bind(user)
    .bind(cast.owner)
    .execute(pool)
    .await
    .unwrap();
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect()
}

fn app_with_rate_limit(pool: PgPool, burst: u32) -> TestApp {
    let mut config = ApiConfig::new(PUBLIC_URL, RTMP_URL);
    config.chat.rate_limit = RateLimit {
        burst,
        period: Duration::from_secs(60),
    };
    TestApp::with_config(pool, config)
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn a_posted_message_is_stored_returned_and_published(pool: PgPool) {
    let app = TestApp::new(pool);
    let cast = Cast::new(&app, "public").await;
    let stream_id: Uuid = cast.stream.parse().unwrap();
    let mut feed = app.state.events.subscribe(stream_id, None);

    let response = post_message(&app, &cast, As::Viewer, "  hello there  ").await;
    assert_eq!(response.status, StatusCode::CREATED, "{:?}", response.body);
    let message = response.json();
    let id = message["id"].as_i64().unwrap();
    assert_eq!(
        response.header("location"),
        cast.url(&format!("/chat/messages/{id}"))
    );
    assert_eq!(message["stream_id"], cast.stream);
    assert_eq!(message["author_id"], cast.viewer.to_string());
    assert_eq!(message["body"], "hello there", "trimmed");
    assert!(
        message["created_at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .is_ok()
    );
    assert_eq!(message["deleted_at"], Value::Null);

    let event = feed.receiver.try_recv().unwrap();
    assert_eq!(event.kind(), EventType::ChatMessage);
    assert_eq!(event.data(), message);

    let read = as_user(
        &app,
        &cast,
        As::Anonymous,
        Method::GET,
        &format!("/chat/messages/{id}"),
    )
    .await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json(), message);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn messages_must_be_one_short_line(pool: PgPool) {
    let mut config = ApiConfig::new(PUBLIC_URL, RTMP_URL);
    config.chat.max_message_chars = 10;
    let app = TestApp::with_config(pool, config);
    let cast = Cast::new(&app, "public").await;

    for bad in ["", "   ", "eleven chrs", "two\nlines", "nul\u{0}"] {
        let problem = post_message(&app, &cast, As::Viewer, bad)
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["errors"][0]["pointer"], "#/body", "{bad:?}");
    }
    let ten = post_message(&app, &cast, As::Viewer, "ten chars!").await;
    assert_eq!(ten.status, StatusCode::CREATED);
    let unknown = app
        .send(post_json(
            &cast.url("/chat/messages"),
            Some(&app.token(cast.viewer)),
            &json!({ "body": "hi", "colour": "red" }),
        ))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("colour")
    );
    app.send(post_raw(
        &cast.url("/chat/messages"),
        Some(&app.token(cast.viewer)),
        Some("text/plain"),
        "hi",
    ))
    .await
    .problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn an_ended_stream_keeps_its_history_but_takes_no_messages(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, "public").await;
    assert_eq!(
        post_message(&app, &cast, As::Viewer, "before").await.status,
        StatusCode::CREATED,
        "chat is open while the stream is idle"
    );
    sqlx::query(
        "UPDATE live_streams SET status = 'ended', started_at = now() - interval '1 hour', \
         ended_at = now() WHERE id = $1::uuid",
    )
    .bind(&cast.stream)
    .execute(&pool)
    .await
    .unwrap();
    let problem = post_message(&app, &cast, As::Owner, "after")
        .await
        .problem(StatusCode::CONFLICT);
    assert!(problem["detail"].as_str().unwrap().contains("ended"));
    let history = as_user(&app, &cast, As::Anonymous, Method::GET, "/chat/messages").await;
    assert_eq!(history.status, StatusCode::OK);
    assert_eq!(history.json()["items"][0]["body"], "before");
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn posting_too_fast_is_429_with_retry_after(pool: PgPool) {
    let app = app_with_rate_limit(pool, 2);
    let cast = Cast::new(&app, "public").await;
    for n in 0..2 {
        let response = post_message(&app, &cast, As::Viewer, &format!("n{n}")).await;
        assert_eq!(response.status, StatusCode::CREATED);
    }
    let refused = post_message(&app, &cast, As::Viewer, "third").await;
    let problem = refused.problem(StatusCode::TOO_MANY_REQUESTS);
    // Two messages a minute: the next one is 30 s away.
    let retry: u64 = refused.header("retry-after").parse().unwrap();
    assert!((29..=30).contains(&retry), "{retry}");
    assert!(problem["detail"].as_str().unwrap().contains("too fast"));
    assert_eq!(
        post_message(&app, &cast, As::Moderator, "others may")
            .await
            .status,
        StatusCode::CREATED,
        "limits are per user"
    );
    let other = Cast::new(&app, "public").await;
    let elsewhere = app
        .send(post_json(
            &other.url("/chat/messages"),
            Some(&app.token(cast.viewer)),
            &json!({ "body": "and elsewhere" }),
        ))
        .await;
    assert_eq!(elsewhere.status, StatusCode::CREATED, "and per stream");
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn slow_mode_spaces_out_viewers_but_not_staff(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, "public").await;
    let settings = patch_settings(
        &app,
        &cast,
        As::Moderator,
        json!({ "slow_mode_seconds": 60 }),
    )
    .await;
    assert_eq!(settings.status, StatusCode::OK);

    for who in [As::Viewer, As::Invitee] {
        assert_eq!(
            post_message(&app, &cast, who, "first").await.status,
            StatusCode::CREATED
        );
        let refused = post_message(&app, &cast, who, "second").await;
        let problem = refused.problem(StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = refused.header("retry-after").parse().unwrap();
        assert!((59..=60).contains(&retry), "{retry}");
        assert!(problem["detail"].as_str().unwrap().contains("slow mode"));
    }
    for who in STAFF {
        for n in 0..2 {
            let response = post_message(&app, &cast, *who, &format!("staff {n}")).await;
            assert_eq!(response.status, StatusCode::CREATED, "{who:?} is exempt");
        }
    }

    // A minute later (the clock is the database's: move the message back).
    sqlx::query(
        "UPDATE live_chat_messages SET created_at = now() - interval '61 seconds' \
         WHERE author_id = $1",
    )
    .bind(cast.viewer)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(
        post_message(&app, &cast, As::Viewer, "later").await.status,
        StatusCode::CREATED
    );

    patch_settings(&app, &cast, As::Owner, json!({ "slow_mode_seconds": 0 })).await;
    assert_eq!(
        post_message(&app, &cast, As::Viewer, "slow mode is off")
            .await
            .status,
        StatusCode::CREATED
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn slow_mode_holds_for_requests_sent_at_once(pool: PgPool) {
    // A burst above the attempts, so only slow mode stands in the way.
    let app = app_with_rate_limit(pool, 100);
    let cast = Cast::new(&app, "public").await;
    patch_settings(&app, &cast, As::Owner, json!({ "slow_mode_seconds": 60 })).await;
    // A race shows only now and then: several rounds, each a new author.
    for round in 0..10 {
        let token = app.token(Uuid::new_v4());
        let attempts = (0..20).map(|n| {
            app.send(post_json(
                &cast.url("/chat/messages"),
                Some(&token),
                &json!({ "body": format!("round {round}, at once {n}") }),
            ))
        });
        let statuses: Vec<StatusCode> = futures_util::future::join_all(attempts)
            .await
            .into_iter()
            .map(|response| response.status)
            .collect();
        let created = statuses
            .iter()
            .filter(|status| **status == StatusCode::CREATED)
            .count();
        assert_eq!(created, 1, "round {round}: {statuses:?}");
        assert!(
            statuses
                .iter()
                .all(|s| *s == StatusCode::CREATED || *s == StatusCode::TOO_MANY_REQUESTS),
            "{statuses:?}"
        );
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn banned_users_are_told_until_when(pool: PgPool) {
    let app = TestApp::new(pool);
    let cast = Cast::new(&app, "public").await;
    let stream_id: Uuid = cast.stream.parse().unwrap();
    let mut feed = app.state.events.subscribe(stream_id, None);

    let response = app
        .send(post_json(
            &cast.url("/chat/bans"),
            Some(&app.token(cast.moderator)),
            &json!({ "user_id": cast.viewer, "reason": "spam links" }),
        ))
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{:?}", response.body);
    assert_eq!(
        response.header("location"),
        cast.url(&format!("/chat/bans/{}", cast.viewer))
    );
    let ban = response.json();
    assert_eq!(ban["user_id"], cast.viewer.to_string());
    assert_eq!(ban["stream_id"], cast.stream);
    assert_eq!(ban["banned_by"], cast.moderator.to_string());
    assert_eq!(ban["reason"], "spam links");
    assert_eq!(ban["expires_at"], Value::Null);
    let event = feed.receiver.try_recv().unwrap();
    assert_eq!(event.kind(), EventType::UserBanned);
    assert_eq!(
        event.data(),
        json!({ "user_id": cast.viewer, "expires_at": null }),
        "the reason stays with the moderators"
    );

    let problem = post_message(&app, &cast, As::Viewer, "let me in")
        .await
        .problem(StatusCode::FORBIDDEN);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("banned from this stream's chat until a moderator lifts the ban"),
        "{problem}"
    );
    let read = as_user(
        &app,
        &cast,
        As::CoHost,
        Method::GET,
        &format!("/chat/bans/{}", cast.viewer),
    )
    .await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json(), ban);

    // A timed ban replaces the permanent one and says when it ends.
    let timed = app
        .send(post_json(
            &cast.url("/chat/bans"),
            Some(&app.token(cast.owner)),
            &json!({ "user_id": cast.viewer, "duration_seconds": 600 }),
        ))
        .await;
    assert_eq!(timed.status, StatusCode::CREATED);
    let timed = timed.json();
    let expires: DateTime<Utc> = timed["expires_at"].as_str().unwrap().parse().unwrap();
    let created: DateTime<Utc> = timed["created_at"].as_str().unwrap().parse().unwrap();
    assert_eq!((expires - created).num_seconds(), 600);
    assert_eq!(timed["reason"], "");
    let problem = post_message(&app, &cast, As::Viewer, "let me in")
        .await
        .problem(StatusCode::FORBIDDEN);
    let detail = problem["detail"].as_str().unwrap();
    let until = detail.rsplit(' ').next().unwrap();
    let until: DateTime<Utc> = until.parse().unwrap_or_else(|e| panic!("{detail}: {e}"));
    assert!((until - expires).num_seconds().abs() <= 1, "{detail}");

    let bans = as_user(&app, &cast, As::Owner, Method::GET, "/chat/bans").await;
    assert_eq!(bans.json()["items"].as_array().unwrap().len(), 1);

    let lifted = as_user(
        &app,
        &cast,
        As::Moderator,
        Method::DELETE,
        &format!("/chat/bans/{}", cast.viewer),
    )
    .await;
    assert_eq!(lifted.status, StatusCode::NO_CONTENT);
    assert!(lifted.body.is_empty());
    let events: Vec<_> = std::iter::from_fn(|| feed.receiver.try_recv().ok()).collect();
    assert_eq!(events.last().unwrap().kind(), EventType::UserUnbanned);
    assert_eq!(
        events.last().unwrap().data(),
        json!({ "user_id": cast.viewer })
    );
    assert_eq!(
        post_message(&app, &cast, As::Viewer, "thanks").await.status,
        StatusCode::CREATED
    );
    as_user(
        &app,
        &cast,
        As::Moderator,
        Method::DELETE,
        &format!("/chat/bans/{}", cast.viewer),
    )
    .await
    .problem(StatusCode::NOT_FOUND);
    as_user(
        &app,
        &cast,
        As::Moderator,
        Method::GET,
        &format!("/chat/bans/{}", cast.viewer),
    )
    .await
    .problem(StatusCode::NOT_FOUND);
    as_user(
        &app,
        &cast,
        As::Moderator,
        Method::GET,
        "/chat/bans/not-a-uuid",
    )
    .await
    .problem(StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn expired_bans_no_longer_count(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, "public").await;
    sqlx::query(
        "INSERT INTO stream_chat_bans (stream_id, user_id, banned_by, created_at, expires_at) \
         VALUES ($1::uuid, $2, $3, now() - interval '2 hours', now() - interval '1 second')",
    )
    .bind(&cast.stream)
    .bind(cast.viewer)
    .bind(cast.owner)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(
        post_message(&app, &cast, As::Viewer, "free again")
            .await
            .status,
        StatusCode::CREATED
    );
    let bans = as_user(&app, &cast, As::Owner, Method::GET, "/chat/bans").await;
    assert_eq!(bans.json()["items"], json!([]));
    as_user(
        &app,
        &cast,
        As::Owner,
        Method::GET,
        &format!("/chat/bans/{}", cast.viewer),
    )
    .await
    .problem(StatusCode::NOT_FOUND);
    as_user(
        &app,
        &cast,
        As::Owner,
        Method::DELETE,
        &format!("/chat/bans/{}", cast.viewer),
    )
    .await
    .problem(StatusCode::NOT_FOUND);

    // A ban that runs out while in force: one second, then gone.
    let short = app
        .send(post_json(
            &cast.url("/chat/bans"),
            Some(&app.token(cast.owner)),
            &json!({ "user_id": cast.viewer, "duration_seconds": 1 }),
        ))
        .await;
    assert_eq!(short.status, StatusCode::CREATED);
    post_message(&app, &cast, As::Viewer, "still banned")
        .await
        .problem(StatusCode::FORBIDDEN);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        post_message(&app, &cast, As::Viewer, "served my time")
            .await
            .status,
        StatusCode::CREATED
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn the_owner_and_hosts_cannot_be_banned(pool: PgPool) {
    let app = TestApp::new(pool);
    let cast = Cast::new(&app, "public").await;
    let ban = |user: Uuid| {
        post_json(
            &cast.url("/chat/bans"),
            Some(&app.token(cast.moderator)),
            &json!({ "user_id": user }),
        )
    };
    let problem = app
        .send(ban(cast.owner))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["pointer"], "#/user_id");
    for host in [cast.co_host, cast.moderator] {
        let problem = app.send(ban(host)).await.problem(StatusCode::CONFLICT);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("remove them as a host")
        );
    }
    assert_eq!(
        app.send(ban(cast.invitee)).await.status,
        StatusCode::CREATED,
        "an invitation not yet accepted protects nobody"
    );

    for (body, pointer) in [
        (
            json!({ "user_id": cast.viewer, "duration_seconds": 0 }),
            "#/duration_seconds",
        ),
        (
            json!({ "user_id": cast.viewer, "reason": "x".repeat(501) }),
            "#/reason",
        ),
        (json!({ "user_id": "someone" }), "#/user_id"),
        (
            json!({ "user_id": cast.viewer, "forever": true }),
            "#/forever",
        ),
    ] {
        let problem = app
            .send(post_json(
                &cast.url("/chat/bans"),
                Some(&app.token(cast.owner)),
                &body,
            ))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{body}");
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn banned_words_are_refused_whole_and_in_any_case(pool: PgPool) {
    let app = TestApp::new(pool);
    let cast = Cast::new(&app, "public").await;
    let stream_id: Uuid = cast.stream.parse().unwrap();
    let mut feed = app.state.events.subscribe(stream_id, None);

    let response = patch_settings(
        &app,
        &cast,
        As::CoHost,
        json!({ "banned_words": ["Spam", "  buy NOW ", "spam"] }),
    )
    .await;
    assert_eq!(response.status, StatusCode::OK, "{:?}", response.body);
    assert_eq!(
        response.json(),
        json!({ "slow_mode_seconds": 0, "banned_words": ["buy now", "spam"] })
    );
    let event = feed.receiver.try_recv().unwrap();
    assert_eq!(event.kind(), EventType::ChatSettingsChanged);
    assert_eq!(
        event.data(),
        json!({ "slow_mode_seconds": 0 }),
        "no word list"
    );

    for blocked in ["SPAM!", "this is Spam", "Buy now, friends"] {
        let problem = post_message(&app, &cast, As::Viewer, blocked)
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["errors"][0]["pointer"], "#/body");
        let text = problem.to_string().to_lowercase();
        assert!(text.contains("blocks"), "{text}");
        assert!(
            !text.contains("spam") && !text.contains("buy now"),
            "{text}"
        );
    }
    // Another author: refused messages count against the rate limit too.
    for allowed in ["spammer", "antispam", "buy nowhere"] {
        assert_eq!(
            post_message(&app, &cast, As::Invitee, allowed).await.status,
            StatusCode::CREATED,
            "{allowed}"
        );
    }
    let settings = as_user(&app, &cast, As::Moderator, Method::GET, "/chat/settings").await;
    assert_eq!(settings.json()["banned_words"], json!(["buy now", "spam"]));
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn settings_are_validated(pool: PgPool) {
    let app = TestApp::new(pool);
    let cast = Cast::new(&app, "public").await;
    let problem = patch_settings(
        &app,
        &cast,
        As::Owner,
        json!({ "slow_mode_seconds": 3601, "banned_words": ["ok", "", "x".repeat(65)] }),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY);
    let pointers: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(
        pointers,
        [
            "#/slow_mode_seconds",
            "#/banned_words/1",
            "#/banned_words/2"
        ]
    );
    let too_many: Vec<String> = (0..501).map(|n| format!("w{n}")).collect();
    patch_settings(&app, &cast, As::Owner, json!({ "banned_words": too_many }))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    patch_settings(&app, &cast, As::Owner, json!({ "slow_mode": 5 }))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);

    let partial =
        patch_settings(&app, &cast, As::Owner, json!({ "slow_mode_seconds": 3600 })).await;
    assert_eq!(
        partial.json(),
        json!({ "slow_mode_seconds": 3600, "banned_words": [] })
    );
    let words = patch_settings(&app, &cast, As::Owner, json!({ "banned_words": ["a"] })).await;
    assert_eq!(
        words.json(),
        json!({ "slow_mode_seconds": 3600, "banned_words": ["a"] }),
        "absent fields are kept"
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn pages_are_newest_first_and_stable_while_chat_goes_on(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, "public").await;
    let mut posted = Vec::new();
    for n in 0..7 {
        posted.push(insert_message(&pool, &cast, cast.viewer, &format!("m{n}")).await);
    }
    let page = |cursor: Option<String>| {
        let mut uri = cast.url("/chat/messages?limit=3");
        if let Some(cursor) = cursor {
            uri.push_str(&format!("&cursor={cursor}"));
        }
        app.send(get(&uri, None))
    };
    let first = page(None).await.json();
    assert_eq!(ids(&first), [posted[6], posted[5], posted[4]]);

    // New messages arrive between pages: they do not shift the next page.
    for n in 0..4 {
        insert_message(&pool, &cast, cast.owner, &format!("new {n}")).await;
    }
    let second = page(first["next_cursor"].as_str().map(str::to_owned))
        .await
        .json();
    assert_eq!(ids(&second), [posted[3], posted[2], posted[1]]);
    let third = page(second["next_cursor"].as_str().map(str::to_owned))
        .await
        .json();
    assert_eq!(ids(&third), [posted[0]]);
    assert_eq!(third["next_cursor"], Value::Null);

    let mut seen = HashSet::new();
    for page in [&first, &second, &third] {
        for id in ids(page) {
            assert!(seen.insert(id), "{id} twice");
        }
    }
    assert_eq!(seen, posted.iter().copied().collect());

    for bad in ["?limit=0", "?limit=101", "?limit=x", "?cursor=nonsense"] {
        app.send(get(&cast.url(&format!("/chat/messages{bad}")), None))
            .await
            .problem(StatusCode::BAD_REQUEST);
    }
    let ban_cursor = {
        insert_ban(&pool, &cast, cast.viewer).await;
        insert_ban(&pool, &cast, Uuid::new_v4()).await;
        let bans = app
            .send(get(
                &cast.url("/chat/bans?limit=1"),
                Some(&app.token(cast.owner)),
            ))
            .await
            .json();
        bans["next_cursor"].as_str().unwrap().to_owned()
    };
    app.send(get(
        &cast.url(&format!("/chat/messages?cursor={ban_cursor}")),
        None,
    ))
    .await
    .problem(StatusCode::BAD_REQUEST);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn bans_page_newest_first(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, "public").await;
    let mut banned = Vec::new();
    for minutes in (1..=5).rev() {
        let user = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO stream_chat_bans (stream_id, user_id, banned_by, created_at) \
             VALUES ($1::uuid, $2, $3, now() - make_interval(mins => $4))",
        )
        .bind(&cast.stream)
        .bind(user)
        .bind(cast.owner)
        .bind(minutes)
        .execute(&pool)
        .await
        .unwrap();
        banned.push(user.to_string());
    }
    banned.reverse();
    let mut listed = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut uri = cast.url("/chat/bans?limit=2");
        if let Some(cursor) = &cursor {
            uri.push_str(&format!("&cursor={cursor}"));
        }
        let page = app
            .send(get(&uri, Some(&app.token(cast.moderator))))
            .await
            .json();
        for ban in page["items"].as_array().unwrap() {
            listed.push(ban["user_id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(listed, banned);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn hidden_messages_are_kept_for_staff_and_gone_for_everyone_else(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, "public").await;
    let stream_id: Uuid = cast.stream.parse().unwrap();
    let kept = insert_message(&pool, &cast, cast.viewer, "fine").await;
    let rude = insert_message(&pool, &cast, cast.viewer, "rude").await;
    let mut feed = app.state.events.subscribe(stream_id, None);

    let path = format!("/chat/messages/{rude}");
    let hidden = as_user(&app, &cast, As::Moderator, Method::DELETE, &path).await;
    assert_eq!(hidden.status, StatusCode::NO_CONTENT);
    assert!(hidden.body.is_empty());
    let event = feed.receiver.try_recv().unwrap();
    assert_eq!(event.kind(), EventType::ChatMessageDeleted);
    assert_eq!(event.data()["message_id"], rude);

    let again = as_user(&app, &cast, As::Owner, Method::DELETE, &path).await;
    assert_eq!(again.status, StatusCode::NO_CONTENT, "hiding twice is fine");
    assert!(feed.receiver.try_recv().is_err(), "and says nothing new");

    for who in [As::Viewer, As::Anonymous, As::Invitee] {
        let list = as_user(&app, &cast, who, Method::GET, "/chat/messages")
            .await
            .json();
        assert_eq!(ids(&list), [kept], "{who:?}");
        as_user(&app, &cast, who, Method::GET, &path)
            .await
            .problem(StatusCode::NOT_FOUND);
    }
    for who in STAFF {
        let list = as_user(&app, &cast, *who, Method::GET, "/chat/messages")
            .await
            .json();
        assert_eq!(ids(&list), [rude, kept], "{who:?}");
        let message = &list["items"][0];
        assert_eq!(
            message["deleted_by"],
            cast.moderator.to_string(),
            "the first stays"
        );
        assert!(message["deleted_at"].is_string());
        let single = as_user(&app, &cast, *who, Method::GET, &path).await;
        assert_eq!(&single.json(), message);
    }
    let stored: (String, Option<Uuid>) =
        sqlx::query_as("SELECT body, deleted_by FROM live_chat_messages WHERE id = $1")
            .bind(rude)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        stored,
        ("rude".to_owned(), Some(cast.moderator)),
        "kept for appeals"
    );

    let other = Cast::new(&app, "public").await;
    let elsewhere = insert_message(&pool, &other, other.viewer, "other stream").await;
    for missing in [
        elsewhere.to_string(),
        "999999999".to_owned(),
        "abc".to_owned(),
    ] {
        as_user(
            &app,
            &cast,
            As::Owner,
            Method::DELETE,
            &format!("/chat/messages/{missing}"),
        )
        .await
        .problem(StatusCode::NOT_FOUND);
        as_user(
            &app,
            &cast,
            As::Owner,
            Method::GET,
            &format!("/chat/messages/{missing}"),
        )
        .await
        .problem(StatusCode::NOT_FOUND);
    }
}

/// What a role gets from a route: success, 401 (anonymous where a viewer
/// would be allowed), 403, or 404 when it may not see the private stream.
fn expected(who: As, allowed: &[As], success: StatusCode, private: bool) -> StatusCode {
    if private && matches!(who, As::Viewer | As::Anonymous) {
        StatusCode::NOT_FOUND
    } else if allowed.contains(&who) {
        success
    } else if who == As::Anonymous && allowed.contains(&As::Viewer) {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::FORBIDDEN
    }
}

/// One request per route and role, each on fresh data so that what an
/// earlier role did cannot decide what a later one gets.
async fn matrix(pool: PgPool, visibility: &str) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, visibility).await;
    let private = visibility == "private";
    let mut failures = Vec::new();
    for who in EVERY_ROLE {
        let token = cast.token(&app, who);
        let token = token.as_deref();
        let message = insert_message(&pool, &cast, cast.viewer, "hello").await;
        let banned = Uuid::new_v4();
        insert_ban(&pool, &cast, banned).await;
        let cases: Vec<(&str, Request<Body>, &[As], StatusCode)> = vec![
            (
                "GET messages",
                get(&cast.url("/chat/messages"), token),
                &EVERY_ROLE,
                StatusCode::OK,
            ),
            (
                "POST messages",
                post_json(&cast.url("/chat/messages"), token, &json!({ "body": "hi" })),
                SIGNED_IN,
                StatusCode::CREATED,
            ),
            (
                "GET message",
                get(&cast.url(&format!("/chat/messages/{message}")), token),
                &EVERY_ROLE,
                StatusCode::OK,
            ),
            (
                "DELETE message",
                request(
                    Method::DELETE,
                    &cast.url(&format!("/chat/messages/{message}")),
                    token,
                ),
                STAFF,
                StatusCode::NO_CONTENT,
            ),
            (
                "POST bans",
                post_json(
                    &cast.url("/chat/bans"),
                    token,
                    &json!({ "user_id": Uuid::new_v4() }),
                ),
                STAFF,
                StatusCode::CREATED,
            ),
            (
                "GET bans",
                get(&cast.url("/chat/bans"), token),
                STAFF,
                StatusCode::OK,
            ),
            (
                "GET ban",
                get(&cast.url(&format!("/chat/bans/{banned}")), token),
                STAFF,
                StatusCode::OK,
            ),
            (
                "DELETE ban",
                request(
                    Method::DELETE,
                    &cast.url(&format!("/chat/bans/{banned}")),
                    token,
                ),
                STAFF,
                StatusCode::NO_CONTENT,
            ),
            (
                "GET settings",
                get(&cast.url("/chat/settings"), token),
                STAFF,
                StatusCode::OK,
            ),
            (
                "PATCH settings",
                json_request(
                    Method::PATCH,
                    &cast.url("/chat/settings"),
                    token,
                    &json!({ "slow_mode_seconds": 0 }),
                ),
                STAFF,
                StatusCode::OK,
            ),
        ];
        for (route, request, allowed, success) in cases {
            let want = expected(who, allowed, success, private);
            let response = app.send(request).await;
            if response.status != want {
                failures.push(format!(
                    "{route} as {who:?}: {} instead of {want} ({})",
                    response.status,
                    String::from_utf8_lossy(&response.body)
                ));
            } else if !want.is_success() {
                response.problem(want);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{visibility}:\n{}",
        failures.join("\n")
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn every_role_on_every_chat_route_of_a_public_stream(pool: PgPool) {
    matrix(pool, "public").await;
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn every_role_on_every_chat_route_of_a_private_stream(pool: PgPool) {
    matrix(pool, "private").await;
}
