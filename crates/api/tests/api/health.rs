//! Health and readiness, and the router's answers for unknown routes.

use axum::http::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::support::{TestApp, get, request};

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn healthz_answers_ok(pool: PgPool) {
    let app = TestApp::new(pool);
    let response = app.send(get("/healthz", None)).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json(), json!({ "status": "ok" }));
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn readyz_needs_the_database_and_bound_listeners(pool: PgPool) {
    let app = TestApp::new(pool);
    let ready = app.send(get("/readyz", None)).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(
        ready.json(),
        json!({
            "status": "ready",
            "checks": { "database": "ok", "listeners": "ok" },
            "components_down": {},
        })
    );

    // A supervised component waiting to be restarted is named, with why.
    app.state
        .readiness
        .set_component_down("status_writer", "panicked (boom); restarting in 1 s".into());
    let component_down = app.send(get("/readyz", None)).await;
    assert_eq!(component_down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        component_down.json()["components_down"],
        json!({ "status_writer": "panicked (boom); restarting in 1 s" })
    );
    app.state.readiness.set_component_up("status_writer");

    app.state.readiness.set_listeners_bound(false);
    let unbound = app.send(get("/readyz", None)).await;
    assert_eq!(unbound.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        unbound.json()["checks"],
        json!({ "database": "ok", "listeners": "not bound" })
    );

    app.state.readiness.set_listeners_bound(true);
    app.state.pool.close().await;
    let no_database = app.send(get("/readyz", None)).await;
    assert_eq!(no_database.status, StatusCode::SERVICE_UNAVAILABLE);
    let body = no_database.json();
    assert_eq!(body["status"], "not ready");
    assert_eq!(body["checks"]["listeners"], "ok");
    assert_eq!(body["checks"]["database"], "unreachable");
    // The database error itself stays in the log.
    assert!(
        !no_database.body.is_empty()
            && !String::from_utf8_lossy(&no_database.body).contains("closed")
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn unknown_routes_and_methods_are_problems(pool: PgPool) {
    let app = TestApp::new(pool);
    app.send(get("/nowhere", None))
        .await
        .problem(StatusCode::NOT_FOUND);
    app.send(get("/api/v2/streams", None))
        .await
        .problem(StatusCode::NOT_FOUND);

    let response = app
        .send(request(Method::DELETE, "/api/v1/streams", None))
        .await;
    response.problem(StatusCode::METHOD_NOT_ALLOWED);
    let allow = response.header("allow");
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
}
