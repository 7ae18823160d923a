//! `GET /api/v1/streams/{id}/events`: WebSocket and Server-Sent Events
//! against a real server on a loopback port, with chat posted over HTTP.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use futures_util::StreamExt;
use nova_api::{EventBus, ReplayLimits};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tower::ServiceExt;
use uuid::Uuid;

use crate::chat::{As, Cast, EVERY_ROLE};
use crate::log_capture::Capture;
use crate::support::TestApp;

const WAIT: Duration = Duration::from_secs(5);
/// How long "nothing more arrives" is watched for.
const QUIET: Duration = Duration::from_millis(300);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The whole app on a loopback port, as the server runs it.
async fn serve(app: &TestApp) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = nova_api::app(app.state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    address
}

struct Server {
    address: SocketAddr,
    http: reqwest::Client,
}

impl Server {
    async fn start(app: &TestApp) -> Self {
        Self {
            address: serve(app).await,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://{}{path}", self.address)
    }

    /// Posts over HTTP and returns the message.
    async fn chat(&self, app: &TestApp, cast: &Cast, who: As, body: &str) -> Value {
        let response = self
            .http
            .post(self.url("http", &cast.url("/chat/messages")))
            .bearer_auth(app.token(cast.user(who).unwrap()))
            .json(&json!({ "body": body }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    async fn websocket(&self, path_and_query: &str, token: Option<&str>) -> Socket {
        self.try_websocket(path_and_query, token).await.unwrap()
    }

    async fn try_websocket(
        &self,
        path_and_query: &str,
        token: Option<&str>,
    ) -> Result<Socket, tungstenite::Error> {
        let mut request = self
            .url("ws", path_and_query)
            .into_client_request()
            .unwrap();
        if let Some(token) = token {
            request.headers_mut().insert(
                header::AUTHORIZATION,
                format!("Bearer {token}").parse().unwrap(),
            );
        }
        let (socket, response) = tokio_tungstenite::connect_async(request).await?;
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        Ok(socket)
    }

    async fn sse(&self, path_and_query: &str, last_event_id: Option<u64>) -> Sse {
        let mut request = self.http.get(self.url("http", path_and_query));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        assert_eq!(response.headers()["cache-control"], "no-cache");
        Sse {
            response,
            buffer: String::new(),
        }
    }
}

/// The next event frame, skipping pings.
async fn next_frame(socket: &mut Socket) -> Value {
    loop {
        let message = timeout(WAIT, socket.next())
            .await
            .expect("an event within 5 s")
            .expect("the socket is open")
            .unwrap();
        match message {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

async fn assert_quiet(socket: &mut Socket) {
    if let Ok(Some(message)) = timeout(QUIET, socket.next()).await {
        panic!("nothing more was due, got {message:?}");
    }
}

/// One Server-Sent Event: its `id:`, `event:` and `data:` fields.
#[derive(Debug)]
struct SseEvent {
    id: Option<String>,
    event: String,
    data: Value,
}

struct Sse {
    response: reqwest::Response,
    buffer: String,
}

impl Sse {
    /// The next event, skipping keep-alive comments; `None` when the
    /// response ends.
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut id = None;
                let mut event = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "id" => id = Some(value.to_owned()),
                        "event" => event = value.to_owned(),
                        "data" => data.push_str(value),
                        _ => {}
                    }
                }
                if data.is_empty() {
                    continue;
                }
                return Some(SseEvent {
                    id,
                    event,
                    data: serde_json::from_str(&data).unwrap(),
                });
            }
            let chunk = timeout(WAIT, self.response.chunk())
                .await
                .expect("an event within 5 s")
                .unwrap()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    async fn assert_quiet(&mut self) {
        if let Ok(Some(event)) = timeout(QUIET, self.next()).await {
            panic!("nothing more was due, got {event:?}");
        }
    }
}

fn event_id(event: &Value) -> u64 {
    event["id"].as_u64().unwrap()
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn a_websocket_gets_chat_live_and_what_it_missed_on_reconnect(pool: PgPool) {
    let app = TestApp::new(pool);
    let cast = Cast::new(&app, "public").await;
    let server = Server::start(&app).await;
    let feed = cast.url("/events");

    let mut socket = server.websocket(&feed, None).await;
    let first = server.chat(&app, &cast, As::Viewer, "first").await;
    let event = next_frame(&mut socket).await;
    assert_eq!(event["type"], "chat_message");
    assert_eq!(event["stream_id"], cast.stream);
    assert_eq!(event["data"], first);
    assert!(event["at"].is_string());
    let seen = event_id(&event);

    // The client leaves with the closing handshake, and the server answers it.
    socket.close(None).await.unwrap();
    loop {
        match timeout(WAIT, socket.next()).await.unwrap() {
            Some(Ok(Message::Close(_))) | None => break,
            Some(Ok(_)) => {}
            Some(Err(error)) => panic!("the server did not close cleanly: {error}"),
        }
    }

    let mut missed = Vec::new();
    for body in ["second", "third", "fourth"] {
        missed.push(server.chat(&app, &cast, As::Moderator, body).await);
    }
    let mut socket = server
        .websocket(&format!("{feed}?last_event_id={seen}"), None)
        .await;
    let mut ids = vec![seen];
    for message in &missed {
        let event = next_frame(&mut socket).await;
        assert_eq!(event["type"], "chat_message");
        assert_eq!(&event["data"], message);
        ids.push(event_id(&event));
    }
    let live = server.chat(&app, &cast, As::Owner, "live again").await;
    let event = next_frame(&mut socket).await;
    assert_eq!(event["data"], live);
    ids.push(event_id(&event));
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{ids:?}");
    assert_quiet(&mut socket).await;
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn server_sent_events_resume_from_last_event_id(pool: PgPool) {
    let app = TestApp::new(pool);
    let cast = Cast::new(&app, "public").await;
    let server = Server::start(&app).await;
    let feed = cast.url("/events");

    let mut events = server.sse(&feed, None).await;
    let first = server.chat(&app, &cast, As::Viewer, "first").await;
    let event = events.next().await.unwrap();
    assert_eq!(event.event, "chat_message");
    assert_eq!(event.data["data"], first);
    let seen: u64 = event.id.unwrap().parse().unwrap();
    assert_eq!(event_id(&event.data), seen, "`id:` is the event's id");
    drop(events);

    let second = server.chat(&app, &cast, As::Viewer, "second").await;
    let hidden = first["id"].as_i64().unwrap();
    let deleted = server
        .http
        .delete(server.url("http", &cast.url(&format!("/chat/messages/{hidden}"))))
        .bearer_auth(app.token(cast.owner))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    // What a reconnecting EventSource sends: its first URL, the newer id in
    // the header (which wins over the query).
    let mut events = server
        .sse(&format!("{feed}?last_event_id=1"), Some(seen))
        .await;
    let replayed = events.next().await.unwrap();
    assert_eq!(replayed.event, "chat_message");
    assert_eq!(replayed.data["data"], second);
    let moderation = events.next().await.unwrap();
    assert_eq!(moderation.event, "chat_message_deleted");
    assert_eq!(moderation.data["data"]["message_id"], hidden);
    let live = server.chat(&app, &cast, As::CoHost, "live").await;
    let event = events.next().await.unwrap();
    assert_eq!(event.data["data"], live);
    let ids: Vec<u64> = [&replayed, &moderation, &event]
        .iter()
        .map(|e| e.id.as_deref().unwrap().parse().unwrap())
        .collect();
    assert!(
        seen < ids[0] && ids[0] < ids[1] && ids[1] < ids[2],
        "{ids:?}"
    );
    events.assert_quiet().await;
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn a_gap_in_the_history_is_a_resync_then_what_is_left(pool: PgPool) {
    let mut app = TestApp::new(pool);
    app.state.events = Arc::new(EventBus::new(ReplayLimits {
        max_events: 2,
        max_age: Duration::from_secs(600),
    }));
    let cast = Cast::new(&app, "public").await;
    let server = Server::start(&app).await;
    let feed = cast.url("/events");

    let mut socket = server.websocket(&feed, None).await;
    server.chat(&app, &cast, As::Viewer, "seen").await;
    let seen = event_id(&next_frame(&mut socket).await);
    drop(socket);
    let mut kept = Vec::new();
    for body in ["lost", "kept 1", "kept 2"] {
        kept.push(server.chat(&app, &cast, As::Owner, body).await);
    }
    kept.remove(0);

    let mut socket = server
        .websocket(&format!("{feed}?last_event_id={seen}"), None)
        .await;
    let resync = next_frame(&mut socket).await;
    assert_eq!(resync["type"], "resync");
    assert_eq!(resync["data"]["reason"], "history_gap");
    let after = next_frame(&mut socket).await;
    assert_eq!(after["data"], kept[0]);
    assert_eq!(event_id(&resync), event_id(&after) - 1);
    assert_eq!(next_frame(&mut socket).await["data"], kept[1]);
    assert_quiet(&mut socket).await;

    let mut events = server.sse(&feed, Some(seen)).await;
    let resync = events.next().await.unwrap();
    assert_eq!(resync.event, "resync");
    assert_eq!(resync.data["data"]["reason"], "history_gap");
    assert_eq!(events.next().await.unwrap().data["data"], kept[0]);
    assert_eq!(events.next().await.unwrap().data["data"], kept[1]);

    // An id from an earlier run of the server: everything since is unknown.
    let mut socket = server
        .websocket(&format!("{feed}?last_event_id=5"), None)
        .await;
    assert_eq!(next_frame(&mut socket).await["type"], "resync");
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn browsers_pass_the_token_in_the_query(pool: PgPool) {
    let app = TestApp::new(pool);
    let cast = Cast::new(&app, "private").await;
    let server = Server::start(&app).await;
    let feed = cast.url("/events");

    let token = app.token(cast.co_host);
    let mut socket = server
        .websocket(&format!("{feed}?access_token={token}"), None)
        .await;
    let message = server.chat(&app, &cast, As::Owner, "hosts only").await;
    assert_eq!(next_frame(&mut socket).await["data"], message);

    let mut socket = server
        .websocket(&feed, Some(&app.token(cast.moderator)))
        .await;
    let message = server.chat(&app, &cast, As::Owner, "by header").await;
    assert_eq!(next_frame(&mut socket).await["data"], message);

    let refused = |path: String| {
        let server = &server;
        async move {
            match server.try_websocket(&path, None).await {
                Err(tungstenite::Error::Http(response)) => response.status(),
                other => panic!("{path}: expected an HTTP error, got {other:?}"),
            }
        }
    };
    let viewer = app.token(cast.viewer);
    assert_eq!(
        refused(format!("{feed}?access_token={viewer}")).await,
        StatusCode::NOT_FOUND,
        "a viewer may not see a private stream"
    );
    assert_eq!(refused(feed.clone()).await, StatusCode::NOT_FOUND);
    assert_eq!(
        refused(format!("{feed}?access_token=forged")).await,
        StatusCode::UNAUTHORIZED
    );

    let mut events = server
        .sse(&format!("{feed}?access_token={token}"), None)
        .await;
    let message = server.chat(&app, &cast, As::Owner, "by event source").await;
    assert_eq!(events.next().await.unwrap().data["data"], message);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn feeds_close_cleanly_when_the_server_shuts_down(pool: PgPool) {
    let app = TestApp::new(pool);
    let cast = Cast::new(&app, "public").await;
    let server = Server::start(&app).await;
    let mut socket = server.websocket(&cast.url("/events"), None).await;
    let mut events = server.sse(&cast.url("/events"), None).await;
    let last = server.chat(&app, &cast, As::Viewer, "last words").await;

    app.state.events.close();

    assert_eq!(
        next_frame(&mut socket).await["data"],
        last,
        "what was sent first"
    );
    match timeout(WAIT, socket.next()).await.unwrap() {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(frame.code, CloseCode::Away);
            assert!(frame.reason.contains("shutting down"), "{}", frame.reason);
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    assert_eq!(events.next().await.unwrap().data["data"], last);
    assert!(events.next().await.is_none(), "the SSE response ends");
}

/// The status and headers of a feed request, without reading the (endless)
/// body of a successful one.
async fn feed_status(app: &TestApp, request: Request<Body>) -> (StatusCode, String) {
    let response = nova_api::app(app.state.clone())
        .oneshot(request)
        .await
        .unwrap();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status(), content_type)
}

fn feed_request(uri: &str, token: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().uri(uri);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder.body(Body::empty()).unwrap()
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn every_role_may_follow_the_events_it_may_see(pool: PgPool) {
    let app = TestApp::new(pool);
    for visibility in ["public", "unlisted", "private"] {
        let cast = Cast::new(&app, visibility).await;
        for who in EVERY_ROLE {
            let token = cast.token(&app, who);
            let (status, content_type) =
                feed_status(&app, feed_request(&cast.url("/events"), token.as_deref())).await;
            let hidden = visibility == "private" && matches!(who, As::Viewer | As::Anonymous);
            if hidden {
                assert_eq!(status, StatusCode::NOT_FOUND, "{visibility} {who:?}");
                assert_eq!(content_type, "application/problem+json");
            } else {
                assert_eq!(status, StatusCode::OK, "{visibility} {who:?}");
                assert_eq!(content_type, "text/event-stream");
            }
        }
    }
    let missing = format!("/api/v1/streams/{}/events", Uuid::new_v4());
    assert_eq!(
        feed_status(&app, feed_request(&missing, None)).await.0,
        StatusCode::NOT_FOUND
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn bad_feed_requests_are_400(pool: PgPool) {
    let app = TestApp::new(pool);
    let cast = Cast::new(&app, "public").await;
    let feed = cast.url("/events");
    let bad_header = Request::builder()
        .uri(&feed)
        .header("last-event-id", "yesterday")
        .body(Body::empty())
        .unwrap();
    let bad_query = feed_request(&format!("{feed}?last_event_id=-3"), None);
    // An upgrade that is not a valid WebSocket handshake (no key).
    let bad_upgrade = Request::builder()
        .uri(&feed)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header("sec-websocket-version", "13")
        .body(Body::empty())
        .unwrap();
    for request in [bad_header, bad_query, bad_upgrade] {
        let uri = request.uri().clone();
        let response = app.send(request).await;
        response.problem(StatusCode::BAD_REQUEST);
        assert!(!String::from_utf8_lossy(&response.body).is_empty(), "{uri}");
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn the_feed_and_chat_are_documented(pool: PgPool) {
    let app = TestApp::new(pool);
    let document = app
        .send(crate::support::get("/api/v1/openapi.json", None))
        .await
        .json();
    let feed = &document["paths"]["/api/v1/streams/{id}/events"]["get"];
    assert!(feed["responses"]["101"].is_object(), "{feed}");
    assert!(feed["responses"]["200"]["content"]["text/event-stream"].is_object());
    let params: Vec<&str> = feed["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in ["id", "access_token", "last_event_id", "Last-Event-ID"] {
        assert!(params.contains(&name), "{name} in {params:?}");
    }
    assert!(document["components"]["schemas"]["LiveEvent"].is_object());
    assert_event_data_is_documented(&document);

    let post = &document["paths"]["/api/v1/streams/{id}/chat/messages"]["post"];
    assert!(post["responses"]["429"]["headers"]["Retry-After"].is_object());
    for (path, method) in [
        ("/api/v1/streams/{id}/chat/messages", "get"),
        ("/api/v1/streams/{id}/chat/messages/{message_id}", "get"),
        ("/api/v1/streams/{id}/chat/messages/{message_id}", "delete"),
        ("/api/v1/streams/{id}/chat/bans", "get"),
        ("/api/v1/streams/{id}/chat/bans", "post"),
        ("/api/v1/streams/{id}/chat/bans/{user_id}", "get"),
        ("/api/v1/streams/{id}/chat/bans/{user_id}", "delete"),
        ("/api/v1/streams/{id}/chat/settings", "get"),
        ("/api/v1/streams/{id}/chat/settings", "patch"),
    ] {
        assert!(
            document["paths"][path][method]["tags"][0] == "chat",
            "{method} {path}"
        );
    }
    let description = document["info"]["description"].as_str().unwrap();
    assert!(description.contains("`GET /api/v1/streams/{id}/chat/bans/{user_id}`"));
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn tokens_in_the_query_stay_out_of_the_log(pool: PgPool) {
    let app = TestApp::new(pool);
    let cast = Cast::new(&app, "public").await;
    let token = app.token(cast.viewer);
    let capture = Capture::start();

    let uri = format!(
        "{}?last_event_id=1&access_token={token}",
        cast.url("/events")
    );
    let (status, _) = feed_status(&app, feed_request(&uri, None)).await;
    assert_eq!(status, StatusCode::OK);
    let forged = format!("{}?access_token=forged.{token}", cast.url("/events"));
    assert_eq!(
        feed_status(&app, feed_request(&forged, None)).await.0,
        StatusCode::UNAUTHORIZED
    );

    let written = capture.log().text();
    assert!(
        written.contains("access_token=[redacted]") && written.contains("last_event_id=1"),
        "{written}"
    );
    assert!(!written.contains(&token), "{written}");
}

/// Each event type's `data` is a schema of the document: `LiveEvent` holds
/// an `EventPayload`, one variant per `type`, each naming its `data`.
fn assert_event_data_is_documented(document: &Value) {
    let schemas = &document["components"]["schemas"];
    let live_event = schemas["LiveEvent"].to_string();
    assert!(
        live_event.contains("#/components/schemas/EventPayload"),
        "{live_event}"
    );
    let variants = schemas["EventPayload"]["oneOf"].as_array().unwrap();
    let data: Vec<(&str, &str)> = variants
        .iter()
        .map(|variant| {
            let properties = &variant["properties"];
            assert_eq!(variant["required"], json!(["data", "type"]), "{variant}");
            let reference = properties["data"]["$ref"].as_str().unwrap();
            (
                properties["type"]["enum"][0].as_str().unwrap(),
                reference.trim_start_matches("#/components/schemas/"),
            )
        })
        .collect();
    let expected = [
        ("chat_message", "ChatMessage"),
        ("chat_message_deleted", "ChatMessageDeletedEvent"),
        ("user_banned", "UserBannedEvent"),
        ("user_unbanned", "UserUnbannedEvent"),
        ("chat_settings_changed", "ChatSettingsChangedEvent"),
        ("super_chat", "SuperChatView"),
        ("super_chat_pinned", "SuperChatView"),
        ("super_chat_hidden", "SuperChatHiddenEvent"),
        ("super_chat_refunded", "SuperChatView"),
        ("hosts_changed", "HostsChangedEvent"),
        ("viewer_count", "ViewerCountEvent"),
        ("status_changed", "StatusChangedEvent"),
        ("health_warning", "HealthWarningEvent"),
        ("resync", "ResyncEvent"),
    ];
    assert_eq!(data, expected);
    let types = schemas["EventType"]["enum"].as_array().unwrap();
    assert_eq!(types.len(), expected.len(), "every type has a payload");
    for (kind, name) in expected {
        assert!(types.contains(&json!(kind)), "{kind} in {types:?}");
        assert!(schemas[name]["properties"].is_object(), "{kind}: {name}");
    }
    for (name, fields) in [
        ("ChatMessageDeletedEvent", &["message_id", "deleted_at"][..]),
        ("UserBannedEvent", &["user_id", "expires_at"]),
        ("UserUnbannedEvent", &["user_id"]),
        ("ChatSettingsChangedEvent", &["slow_mode_seconds"]),
        ("SuperChatHiddenEvent", &["id"]),
        ("HostsChangedEvent", &["user_id", "role", "state"]),
        ("ViewerCountEvent", &["current"]),
        ("StatusChangedEvent", &["status"]),
        ("HealthWarningEvent", &["code", "warning", "health"]),
        ("ResyncEvent", &["reason", "detail"]),
    ] {
        let properties = schemas[name]["properties"].as_object().unwrap();
        let mut names: Vec<&str> = properties.keys().map(String::as_str).collect();
        names.sort_unstable();
        let mut fields = fields.to_vec();
        fields.sort_unstable();
        assert_eq!(names, fields, "{name}");
    }
}
