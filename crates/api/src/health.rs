//! `/healthz` (the process answers) and `/readyz` (it can do its job).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// A readiness probe must answer before the prober's own timeout, even when
/// every pooled connection is busy or the database hangs.
const DATABASE_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// Liveness: the process answers HTTP.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The process is up", body = Object)))]
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the listeners are bound, the database answers, and no
/// supervised component (status writer, background tasks …) is down.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "Ready", body = Object),
    (status = 503, description = "Not ready; the body says which check failed", body = Object),
))]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = database_check(&state).await;
    let listeners = if state.readiness.listeners_bound() {
        "ok"
    } else {
        "not bound"
    };
    let down = state.readiness.components_down();
    let ready = database == "ok" && listeners == "ok" && down.is_empty();
    let components_down: serde_json::Map<String, Value> = down
        .into_iter()
        .map(|(name, why)| (name.to_owned(), Value::String(why)))
        .collect();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ready { "ready" } else { "not ready" },
        "checks": { "database": database, "listeners": listeners },
        // Only those down: a supervisor restarts them, or the process exits.
        "components_down": components_down,
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
