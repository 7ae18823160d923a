//! `GET /metrics` on its own address: scrapers reach it on a private
//! interface (default 127.0.0.1:9464) while the public port serves players.

use std::io;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Metrics;

/// The text exposition format's content type (Prometheus 0.0.4).
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub fn spawn(
    listener: TcpListener,
    metrics: Metrics,
    stop: CancellationToken,
) -> JoinHandle<io::Result<()>> {
    let app = Router::new()
        .route("/metrics", get(exposition))
        .with_state(metrics);
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
    })
}

async fn exposition(State(metrics): State<Metrics>) -> impl IntoResponse {
    // Rendering walks every series: off the runtime's worker threads.
    let text = tokio::task::spawn_blocking(move || metrics.render())
        .await
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text)
}
