//! Bearer-token authentication, and that private streams are visible to their owner only.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{Method, StatusCode};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{JWT_SECRET, TestApp, TestResponse, get, post_json, request};

fn token_with(secret: &[u8], claims: serde_json::Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Every API route, with and without a body.
async fn every_route(app: &TestApp, token: Option<&str>) -> Vec<TestResponse> {
    let id = Uuid::new_v4();
    vec![
        app.send(get("/api/v1/streams", token)).await,
        app.send(get(&format!("/api/v1/streams/{id}"), token)).await,
        app.send(post_json(
            "/api/v1/streams",
            token,
            &json!({ "title": "x" }),
        ))
        .await,
    ]
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn requests_without_a_token_are_401_with_a_bearer_challenge(pool: PgPool) {
    let app = TestApp::new(pool);
    // Reading one stream is open to anonymous callers (public streams are);
    // listing your own streams and creating one are not.
    let [list, one, create]: [TestResponse; 3] =
        every_route(&app, None).await.try_into().ok().unwrap();
    for response in [list, create] {
        response.problem(StatusCode::UNAUTHORIZED);
        assert_eq!(response.header("www-authenticate"), "Bearer");
    }
    one.problem(StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn bad_tokens_are_401_invalid_token(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let user = Uuid::new_v4().to_string();
    let claims =
        |exp: u64| json!({ "sub": user, "exp": exp, "iss": "nova-live", "aud": "nova-live-api" });
    let valid_claims = claims(now() + 600);
    let without = |name: &str| {
        let mut claims = valid_claims.clone();
        claims.as_object_mut().unwrap().remove(name);
        claims
    };
    let with = |name: &str, value: &str| {
        let mut claims = valid_claims.clone();
        claims[name] = json!(value);
        claims
    };
    let bad_tokens = [
        (
            "another secret",
            token_with(b"not the server's secret, 32 bytes", valid_claims.clone()),
        ),
        ("expired", token_with(JWT_SECRET, claims(now() - 3600))),
        ("no iss", token_with(JWT_SECRET, without("iss"))),
        ("no aud", token_with(JWT_SECRET, without("aud"))),
        (
            "another issuer",
            token_with(JWT_SECRET, with("iss", "auth.example.com")),
        ),
        (
            "another audience",
            token_with(JWT_SECRET, with("aud", "nova-live-playback")),
        ),
        ("no exp", token_with(JWT_SECRET, json!({ "sub": user }))),
        (
            "no sub",
            token_with(JWT_SECRET, json!({ "exp": now() + 600 })),
        ),
        (
            "sub not a UUID",
            token_with(JWT_SECRET, json!({ "sub": "root", "exp": now() + 600 })),
        ),
        ("garbage", "abc.def.ghi".to_owned()),
    ];
    for (why, token) in bad_tokens {
        for response in every_route(&app, Some(&token)).await {
            let problem = response.problem(StatusCode::UNAUTHORIZED);
            assert_eq!(
                response.header("www-authenticate"),
                r#"Bearer error="invalid_token""#,
                "{why}"
            );
            if why == "expired" {
                assert!(
                    problem["detail"].as_str().unwrap().contains("expired"),
                    "{problem}"
                );
            }
        }
    }
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM live_streams")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 0);

    // The same claims, signed with the right secret, get through.
    let good = token_with(JWT_SECRET, valid_claims);
    assert_eq!(
        app.send(get("/api/v1/streams", Some(&good))).await.status,
        StatusCode::OK
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn other_schemes_are_refused(pool: PgPool) {
    let app = TestApp::new(pool);
    let token = app.token(Uuid::new_v4());
    let mut basic = request(Method::GET, "/api/v1/streams", None);
    basic
        .headers_mut()
        .insert("authorization", format!("Basic {token}").parse().unwrap());
    let response = app.send(basic).await;
    response.problem(StatusCode::UNAUTHORIZED);

    let mut lower = request(Method::GET, "/api/v1/streams", None);
    lower
        .headers_mut()
        .insert("authorization", format!("bearer {token}").parse().unwrap());
    assert_eq!(
        app.send(lower).await.status,
        StatusCode::OK,
        "the scheme is case-insensitive"
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn another_users_stream_is_404_like_a_missing_one(pool: PgPool) {
    let app = TestApp::new(pool);
    let owner = Uuid::new_v4();
    let stream = app
        .create_stream(
            owner,
            json!({ "title": "Private", "visibility": "private" }),
        )
        .await;
    let id = stream["id"].as_str().unwrap();
    let intruder = app.token(Uuid::new_v4());

    let theirs = app
        .send(get(&format!("/api/v1/streams/{id}"), Some(&intruder)))
        .await;
    let missing = app
        .send(get(
            &format!("/api/v1/streams/{}", Uuid::new_v4()),
            Some(&intruder),
        ))
        .await;
    let not_an_id = app
        .send(get("/api/v1/streams/not-a-uuid", Some(&intruder)))
        .await;
    for response in [&theirs, &missing, &not_an_id] {
        response.problem(StatusCode::NOT_FOUND);
    }
    assert!(!String::from_utf8_lossy(&theirs.body).contains("Private"));

    let listed = app
        .send(get("/api/v1/streams", Some(&intruder)))
        .await
        .json();
    assert_eq!(listed["items"], json!([]));
    let owners_view = app
        .send(get(
            &format!("/api/v1/streams/{id}"),
            Some(&app.token(owner)),
        ))
        .await;
    assert_eq!(owners_view.status, StatusCode::OK);
}
