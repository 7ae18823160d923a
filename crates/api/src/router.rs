use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, header};
use axum::middleware;
use axum::routing::get;
use tower_http::cors::{Any, CorsLayer, Vary};
use tower_http::trace::{DefaultOnResponse, MakeSpan, TraceLayer};
use tracing::{Level, Span};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::ApiError;
use crate::state::AppState;
use crate::{
    chat, clock, events, health, hosts, metrics, openapi, playback, recordings, request_id,
    request_timeout, streams, super_chats, viewers, webhooks,
};

/// Management requests are small JSON documents.
const API_BODY_LIMIT: usize = 64 * 1024;

/// The whole HTTP surface of nova-live.
pub fn app(state: AppState) -> Router {
    let (api, mut paths) = api_routes().split_for_parts();
    let (feeds, feed_paths) = events::routes().split_for_parts();
    paths.merge(feed_paths);
    let document = openapi::document(paths);
    // Every request but the event feeds and `/live` (whose blocking
    // reloads hold on purpose, bounded by playback.rs) has a deadline.
    let deadline = middleware::from_fn_with_state(
        state.config.limits.request_timeout,
        request_timeout::request_timeout,
    );
    // API calls are few and each matters: logged at INFO. Playback and
    // probes are a request per player per second: DEBUG, or they drown
    // everything else (failures are still logged at ERROR).
    let api = api
        .layer(DefaultBodyLimit::max(API_BODY_LIMIT))
        .layer(deadline.clone())
        .merge(feeds)
        .layer(request_log(Level::INFO));
    let (health, health_paths) = health::routes().split_for_parts();
    let mut document = document;
    document.merge(health_paths);
    let timed = recordings::playback_routes()
        .merge(clock::routes())
        .merge(health)
        .layer(deadline);
    let frequent = playback::routes()
        .merge(timed)
        .layer(request_log(Level::DEBUG));
    let served_document = document.clone();
    let docs = Router::new()
        .route(
            OPENAPI_PATH,
            get(move || std::future::ready(axum::Json(served_document.clone()))),
        )
        .merge(SwaggerUi::new(DOCS_PATH).url(OPENAPI_PATH_FOR_UI, document));
    Router::new()
        .merge(api)
        .merge(frequent)
        .merge(docs)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Inside the router, where each request's route template is known.
        .layer(middleware::from_fn(metrics::record_request))
        .layer(cors())
        // Outermost: every answer carries the id, the request log's included.
        .layer(middleware::from_fn(request_id::assign))
        .with_state(state)
}

const OPENAPI_PATH: &str = "/api/v1/openapi.json";
/// Swagger UI serves its own copy of the document next to its assets.
const OPENAPI_PATH_FOR_UI: &str = "/api/v1/docs/openapi.json";
const DOCS_PATH: &str = "/api/v1/docs";

/// Every documented route of `/api/v1`.
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(streams::routes())
        .merge(super_chats::routes())
        .merge(hosts::routes())
        .merge(chat::routes())
        .merge(viewers::routes())
        .merge(webhooks::routes())
        .merge(recordings::routes())
}

type RequestLog = TraceLayer<
    tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>,
    RequestSpan,
    tower_http::trace::DefaultOnRequest,
    DefaultOnResponse,
>;

fn request_log(level: Level) -> RequestLog {
    TraceLayer::new_for_http()
        .make_span_with(RequestSpan { level })
        .on_response(DefaultOnResponse::new().level(level))
}

/// tower-http's default span (method, URI, version; no headers, so bearer
/// tokens stay out of the log), with tokens in the query redacted too: the
/// events feed accepts `?access_token=` from browsers. Plus the request's
/// id, so every line the request logs carries it.
#[derive(Clone, Copy, Debug)]
struct RequestSpan {
    level: Level,
}

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &axum::http::Request<B>) -> Span {
        // `span!` needs its level as a constant. Its fields are evaluated
        // only when the span is enabled, so a disabled one costs no copy.
        macro_rules! span {
            ($level:expr) => {
                tracing::span!(
                    $level,
                    "request",
                    method = %request.method(),
                    uri = %events::loggable_uri(request.uri()),
                    version = ?request.version(),
                    request_id = request_id::of(request),
                )
            };
        }
        match self.level {
            Level::ERROR => span!(Level::ERROR),
            Level::WARN => span!(Level::WARN),
            Level::INFO => span!(Level::INFO),
            Level::DEBUG => span!(Level::DEBUG),
            _ => span!(Level::TRACE),
        }
    }
}

/// Players and web apps on any origin. `*` is safe for the API too: it is
/// authorized by bearer tokens the caller adds explicitly, never by cookies
/// or other credentials a browser would attach on its own.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static("idempotency-key"),
            header::HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([header::LOCATION, header::WWW_AUTHENTICATE])
        .max_age(Duration::from_secs(3600))
        // No answer depends on the Origin, so no `Vary: Origin`: it would
        // split every edge-cached segment into one copy per embedding site
        // (and some CDNs do not cache responses that vary on it at all).
        .vary(Vary::list([]))
}

async fn not_found() -> ApiError {
    ApiError::NotFound(
        "no such resource: the API is under /api/v1, playback under /live".to_owned(),
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
