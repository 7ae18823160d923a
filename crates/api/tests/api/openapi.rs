//! The OpenAPI document and the docs page: served, OpenAPI 3.1, and in
//! agreement with the routes the permission matrix says exist.

use axum::http::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

use crate::support::{TestApp, get};

async fn document(app: &TestApp) -> Value {
    let response = app.send(get("/api/v1/openapi.json", None)).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("content-type"), "application/json");
    response.json()
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn the_document_is_openapi_3_1_with_bearer_auth(pool: PgPool) {
    let app = TestApp::new(pool);
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let description = doc["info"]["description"].as_str().unwrap();
    assert!(
        description.contains("## Permission matrix"),
        "{description}"
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn every_stream_route_of_the_matrix_is_documented_and_every_operation_is_described(
    pool: PgPool,
) {
    let app = TestApp::new(pool);
    let doc = document(&app).await;
    let paths = doc["paths"].as_object().unwrap();
    let description = doc["info"]["description"].as_str().unwrap();
    // The matrix in the description is rendered from the table the handlers
    // enforce; each of its rows must be a documented operation.
    let rows: Vec<(&str, &str)> = description
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|line| line.split_once('`').map(|(route, _)| route))
        .filter_map(|route| route.split_once(' '))
        .collect();
    assert!(rows.len() >= 30, "{rows:?}");
    for (method, path) in rows {
        let operation = &paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} is in the matrix but not documented"))
            [method.to_ascii_lowercase()];
        assert!(
            operation.is_object(),
            "{method} {path} is in the matrix but not documented"
        );
    }
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let summary = operation["summary"].as_str().unwrap_or_default();
            assert!(!summary.is_empty(), "{method} {path} has no summary");
            assert!(
                operation["responses"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .any(|s| s.starts_with('2')),
                "{method} {path} documents no success response"
            );
        }
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn the_docs_page_is_browsable(pool: PgPool) {
    let app = TestApp::new(pool);
    let response = app.send(get("/api/v1/docs/", None)).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.header("content-type").starts_with("text/html"));
    let page = String::from_utf8_lossy(&response.body);
    assert!(page.contains("swagger"), "{page}");
}
