//! Test harness: an `AppState` over the test database, request builders,
//! and an in-memory live window.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use bytes::Bytes;
use nova_api::{ApiConfig, AppState, IngestHealth, JwtKeys, LiveControl, Readiness};
use nova_media::{LivePlayback, PlaybackObject, StreamId};
use serde_json::Value;
use sqlx::PgPool;
use tower::ServiceExt;
use uuid::Uuid;

pub const JWT_SECRET: &[u8] = b"nova-api tests: a 32+ byte HS256 secret";
pub const PUBLIC_URL: &str = "http://media.example.test";
pub const RTMP_URL: &str = "rtmp://media.example.test:1935/live";

/// The live window as a map: what the packager would have put there.
#[derive(Default)]
pub struct MemoryPlayback {
    objects: Mutex<HashMap<(StreamId, String), PlaybackObject>>,
}

impl MemoryPlayback {
    pub fn put(&self, stream: StreamId, name: &str, object: PlaybackObject) {
        self.objects
            .lock()
            .unwrap()
            .insert((stream, name.to_owned()), object);
    }
}

impl LivePlayback for MemoryPlayback {
    fn get(&self, stream: StreamId, name: &str) -> Option<PlaybackObject> {
        self.objects
            .lock()
            .unwrap()
            .get(&(stream, name.to_owned()))
            .cloned()
    }
}

/// The ingest as the API sees it: which streams have a publisher, their
/// health, and the disconnects the API asked for. The real one (over the
/// RTMP hub) is exercised by the server's end-to-end tests.
#[derive(Default)]
pub struct FakeIngest {
    pub publishing: Mutex<HashMap<StreamId, IngestHealth>>,
    /// (stream, end_now) per call.
    pub disconnects: Mutex<Vec<(StreamId, bool)>>,
}

impl LiveControl for FakeIngest {
    fn disconnect_publisher(&self, stream: StreamId, end_now: bool) -> bool {
        self.disconnects.lock().unwrap().push((stream, end_now));
        self.publishing.lock().unwrap().remove(&stream).is_some()
    }

    fn health(&self, stream: StreamId) -> Option<IngestHealth> {
        self.publishing.lock().unwrap().get(&stream).cloned()
    }
}

pub struct TestApp {
    pub state: AppState,
    pub playback: Arc<MemoryPlayback>,
    pub ingest: Arc<FakeIngest>,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
            .to_str()
            .unwrap()
    }

    /// Asserts an RFC 9457 problem document with this status, and returns it.
    pub fn problem(&self, status: StatusCode) -> Value {
        assert_eq!(
            self.status,
            status,
            "{:?}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.header("content-type"), "application/problem+json");
        let problem = self.json();
        assert_eq!(problem["status"], status.as_u16());
        assert_eq!(problem["type"], "about:blank");
        assert_eq!(problem["title"], status.canonical_reason().unwrap());
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{problem}"
        );
        problem
    }
}

impl TestApp {
    pub fn new(pool: PgPool) -> Self {
        Self::with_config(pool, ApiConfig::new(PUBLIC_URL, RTMP_URL))
    }

    pub fn with_config(pool: PgPool, config: ApiConfig) -> Self {
        let playback = Arc::new(MemoryPlayback::default());
        let readiness = Arc::new(Readiness::default());
        readiness.set_listeners_bound(true);
        let ingest = Arc::new(FakeIngest::default());
        let state = AppState::new(
            pool,
            Arc::new(JwtKeys::new(JWT_SECRET)),
            config,
            playback.clone(),
            readiness,
            ingest.clone(),
        );
        Self {
            state,
            playback,
            ingest,
        }
    }

    pub fn token(&self, user: Uuid) -> String {
        self.state.jwt.issue(user, Duration::from_secs(600))
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = nova_api::app(self.state.clone())
            .oneshot(request)
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 16 << 20)
            .await
            .unwrap();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// Creates a stream through the API and returns the 201 body.
    pub async fn create_stream(&self, user: Uuid, body: Value) -> Value {
        let response = self
            .send(post_json("/api/v1/streams", Some(&self.token(user)), &body))
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{:?}", response.body);
        response.json()
    }
}

pub fn request(method: Method, uri: &str, token: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder.body(Body::empty()).unwrap()
}

pub fn get(uri: &str, token: Option<&str>) -> Request<Body> {
    request(Method::GET, uri, token)
}

pub fn post_json(uri: &str, token: Option<&str>, body: &Value) -> Request<Body> {
    post_raw(uri, token, Some("application/json"), body.to_string())
}

pub fn post_raw(
    uri: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: impl Into<Body>,
) -> Request<Body> {
    let mut builder = Request::builder().method(Method::POST).uri(uri);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(content_type) = content_type {
        builder = builder.header(header::CONTENT_TYPE, content_type);
    }
    builder.body(body.into()).unwrap()
}

pub fn stream_id(stream: &Value) -> StreamId {
    stream["id"].as_str().unwrap().parse().unwrap()
}
