//! `/healthz` (the process answers) and `/readyz` (it can do its job).

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};

use crate::state::AppState;

/// A readiness probe must answer before the prober's own timeout, even when
/// every pooled connection is busy or the database hangs.
const DATABASE_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = database_check(&state).await;
    let listeners = if state.readiness.listeners_bound() {
        "ok"
    } else {
        "not bound"
    };
    let ready = database == "ok" && listeners == "ok";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ready { "ready" } else { "not ready" },
        "checks": { "database": database, "listeners": listeners },
    });
    (status, Json(body))
}

/// "ok", or a word on what failed; the error itself goes to the log only.
async fn database_check(state: &AppState) -> &'static str {
    match tokio::time::timeout(
        DATABASE_CHECK_TIMEOUT,
        sqlx::query("SELECT 1").execute(&state.pool),
    )
    .await
    {
        Ok(Ok(_)) => "ok",
        Ok(Err(error)) => {
            tracing::warn!("readiness: database check failed: {error}");
            "unreachable"
        }
        Err(_) => {
            tracing::warn!("readiness: database check timed out after {DATABASE_CHECK_TIMEOUT:?}");
            "timed out"
        }
    }
}
