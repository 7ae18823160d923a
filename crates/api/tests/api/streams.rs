//! `/api/v1/streams`: create, read, list.

use std::collections::HashSet;

use axum::http::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{PUBLIC_URL, RTMP_URL, TestApp, get, post_json, post_raw};

#[sqlx::test(migrator = "nova_api::MIGRATOR")]
async fn create_returns_the_stream_its_key_and_where_it_lives(pool: PgPool) {
    let app = TestApp::new(pool);
    let user = Uuid::new_v4();
    let response = app
        .send(post_json(
            "/api/v1/streams",
            Some(&app.token(user)),
            &json!({ "title": "  Launch day  ", "description": "We ship." }),
        ))
        .await;

    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(response.header("content-type"), "application/json");
    let stream = response.json();
    let id: Uuid = stream["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(response.header("location"), format!("/api/v1/streams/{id}"));
    assert_eq!(
        stream["title"], "Launch day",
        "surrounding blanks are trimmed"
    );
    assert_eq!(stream["description"], "We ship.");
    assert_eq!(stream["status"], "idle");
    assert_eq!(stream["settings"], json!({}));
    assert_eq!(stream["disabled"], false);
    assert_eq!(stream["started_at"], Value::Null);
    assert_eq!(stream["ended_at"], Value::Null);
    assert_eq!(stream["created_at"], stream["updated_at"]);
    assert_eq!(stream["ingest"]["rtmp_url"], RTMP_URL);
    assert_eq!(
        stream["playback"]["hls_url"],
        format!("{PUBLIC_URL}/live/{id}/index.m3u8")
    );

    let key = stream["stream_key"].as_str().unwrap();
    let hint = stream["ingest"]["stream_key_hint"].as_str().unwrap();
    let shown = hint.strip_suffix('…').unwrap();
    assert!(
        key.starts_with(shown) && key.len() > shown.len() + 30,
        "{key} / {hint}"
    );
    let parts: Vec<&str> = key.split('_').collect();
    assert_eq!(parts.len(), 3, "{key}");
    assert_eq!(parts[0], "nl");
    assert!(parts[1].len() >= 12 && parts[2].len() >= 32, "{key}");
    assert!(
        parts[1..]
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_alphanumeric())),
        "{key}"
    );
}

#[sqlx::test(migrator = "nova_api::MIGRATOR")]
async fn only_a_hash_of_the_key_secret_is_stored(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let stream = app
        .create_stream(Uuid::new_v4(), json!({ "title": "Secret" }))
        .await;
    let key = stream["stream_key"].as_str().unwrap();
    let (_, key_id, secret) = {
        let mut parts = key.splitn(3, '_');
        (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        )
    };

    let (stored_id, stored_hash): (String, Vec<u8>) =
        sqlx::query_as("SELECT stream_key_id, stream_key_hash FROM live_streams WHERE id = $1")
            .bind(stream["id"].as_str().unwrap().parse::<Uuid>().unwrap())
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored_id, key_id);
    assert_eq!(stored_hash, Sha256::digest(secret.as_bytes()).to_vec());
    let (leaks,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM live_streams WHERE strpos(row_to_json(live_streams)::text, $1) > 0",
    )
    .bind(secret)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(leaks, 0, "the secret is stored somewhere in clear");
}

#[sqlx::test(migrator = "nova_api::MIGRATOR")]
async fn get_shows_the_stream_but_never_its_key_again(pool: PgPool) {
    let app = TestApp::new(pool);
    let user = Uuid::new_v4();
    let created = app
        .create_stream(
            user,
            json!({ "title": "Legacy", "settings": { "container": "ts" } }),
        )
        .await;
    let id = created["id"].as_str().unwrap();

    let response = app
        .send(get(
            &format!("/api/v1/streams/{id}"),
            Some(&app.token(user)),
        ))
        .await;
    assert_eq!(response.status, StatusCode::OK);
    let stream = response.json();
    assert!(stream.get("stream_key").is_none(), "{stream}");
    let secret = created["stream_key"]
        .as_str()
        .unwrap()
        .rsplit('_')
        .next()
        .unwrap();
    assert!(!String::from_utf8_lossy(&response.body).contains(secret));
    let mut expected = created.clone();
    expected.as_object_mut().unwrap().remove("stream_key");
    assert_eq!(stream, expected);
    assert_eq!(stream["settings"], json!({ "container": "ts" }));
}

#[sqlx::test(migrator = "nova_api::MIGRATOR")]
async fn list_pages_through_own_streams_newest_first(pool: PgPool) {
    let app = TestApp::new(pool);
    let user = Uuid::new_v4();
    let other = Uuid::new_v4();
    let mut created = Vec::new();
    for n in 0..5 {
        created.push(
            app.create_stream(user, json!({ "title": format!("Mine {n}") }))
                .await,
        );
        app.create_stream(other, json!({ "title": format!("Theirs {n}") }))
            .await;
    }
    let token = app.token(user);

    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut uri = "/api/v1/streams?limit=2".to_owned();
    loop {
        let response = app.send(get(&uri, Some(&token))).await;
        assert_eq!(response.status, StatusCode::OK, "{:?}", response.body);
        let page = response.json();
        let items = page["items"].as_array().unwrap();
        pages.push(items.len());
        seen.extend(items.iter().map(|s| s["id"].as_str().unwrap().to_owned()));
        assert!(items.iter().all(|s| s.get("stream_key").is_none()));
        match page["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/api/v1/streams?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, [2, 2, 1]);
    let newest_first: Vec<String> = created
        .iter()
        .rev()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        seen, newest_first,
        "own streams only, newest first, each once"
    );
}

#[sqlx::test(migrator = "nova_api::MIGRATOR")]
async fn list_pages_hold_twenty_by_default_and_at_most_a_hundred(pool: PgPool) {
    let app = TestApp::new(pool);
    let user = Uuid::new_v4();
    for n in 0..21 {
        app.create_stream(user, json!({ "title": format!("Stream {n}") }))
            .await;
    }
    let token = app.token(user);

    let first = app.send(get("/api/v1/streams", Some(&token))).await.json();
    assert_eq!(first["items"].as_array().unwrap().len(), 20);
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a 21st stream follows");
    let second = app
        .send(get(
            &format!("/api/v1/streams?cursor={cursor}"),
            Some(&token),
        ))
        .await
        .json();
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["next_cursor"], Value::Null);

    let all = app
        .send(get("/api/v1/streams?limit=100", Some(&token)))
        .await
        .json();
    let ids: HashSet<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 21);
    assert_eq!(all["next_cursor"], Value::Null);
}

#[sqlx::test(migrator = "nova_api::MIGRATOR")]
async fn an_empty_list_is_a_page_without_a_cursor(pool: PgPool) {
    let app = TestApp::new(pool);
    let response = app
        .send(get("/api/v1/streams", Some(&app.token(Uuid::new_v4()))))
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json(), json!({ "items": [], "next_cursor": null }));
}

#[sqlx::test(migrator = "nova_api::MIGRATOR")]
async fn bad_list_parameters_are_400_problems(pool: PgPool) {
    let app = TestApp::new(pool);
    let token = app.token(Uuid::new_v4());
    for query in [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=many",
        "cursor=not-a-cursor",
        "cursor=AQID",
    ] {
        let response = app
            .send(get(&format!("/api/v1/streams?{query}"), Some(&token)))
            .await;
        let problem = response.problem(StatusCode::BAD_REQUEST);
        assert!(problem.get("errors").is_none(), "{query}: {problem}");
    }
}

/// The `errors` of a 422 problem, as (pointer, detail) pairs.
fn field_errors(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {problem}"))
        .iter()
        .map(|e| {
            (
                e["pointer"].as_str().unwrap().to_owned(),
                e["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[sqlx::test(migrator = "nova_api::MIGRATOR")]
async fn invalid_fields_are_422_problems_that_point_at_them(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let token = app.token(Uuid::new_v4());
    let cases = [
        (json!({ "title": "" }), vec!["#/title"]),
        (json!({ "title": " \t " }), vec!["#/title"]),
        (json!({ "title": "x".repeat(201) }), vec!["#/title"]),
        (
            json!({ "title": "ok", "description": "d".repeat(5001) }),
            vec!["#/description"],
        ),
        (
            json!({ "title": "", "description": "d".repeat(5001) }),
            vec!["#/title", "#/description"],
        ),
        (json!({ "title": "nul\u{0}byte" }), vec!["#/title"]),
        (json!({ "title": 42 }), vec!["#/title"]),
        (
            json!({ "title": "ok", "settings": { "container": "webm" } }),
            vec!["#/settings/container"],
        ),
        (
            json!({ "title": "ok", "settings": { "contaner": "ts" } }),
            vec!["#/settings/contaner"],
        ),
        (
            json!({ "title": "ok", "settings": "ts" }),
            vec!["#/settings"],
        ),
        (json!({ "title": "ok", "tittle": "typo" }), vec!["#/tittle"]),
        (json!({ "description": "no title" }), vec!["#"]),
        (json!("a bare string"), vec!["#"]),
    ];
    for (body, pointers) in cases {
        let response = app
            .send(post_json("/api/v1/streams", Some(&token), &body))
            .await;
        let problem = response.problem(StatusCode::UNPROCESSABLE_ENTITY);
        let errors = field_errors(&problem);
        let got: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(got, pointers, "{body}: {problem}");
        assert!(errors.iter().all(|(_, d)| !d.is_empty()), "{problem}");
    }
    let missing = app
        .send(post_json("/api/v1/streams", Some(&token), &json!({})))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_errors(&missing)[0].1.contains("title"), "{missing}");

    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM live_streams")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "an invalid request created a stream");
}

#[sqlx::test(migrator = "nova_api::MIGRATOR")]
async fn bodies_that_are_not_json_are_400_or_415_problems(pool: PgPool) {
    let app = TestApp::new(pool);
    let token = app.token(Uuid::new_v4());
    let uri = "/api/v1/streams";

    for body in [
        "{\"title\": ",
        "not json",
        "{\"title\": \"a\"} trailing",
        "",
    ] {
        let response = app
            .send(post_raw(uri, Some(&token), Some("application/json"), body))
            .await;
        response.problem(StatusCode::BAD_REQUEST);
    }
    let wrong_type = app
        .send(post_raw(
            uri,
            Some(&token),
            Some("text/plain"),
            r#"{"title": "a"}"#,
        ))
        .await;
    wrong_type.problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let no_type = app
        .send(post_raw(uri, Some(&token), None, r#"{"title": "a"}"#))
        .await;
    no_type.problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let huge = json!({ "title": "big", "description": "x".repeat(100_000) }).to_string();
    let response = app
        .send(post_raw(uri, Some(&token), Some("application/json"), huge))
        .await;
    response.problem(StatusCode::PAYLOAD_TOO_LARGE);

    // Media type parameters do not make JSON something else.
    let response = app
        .send(post_raw(
            uri,
            Some(&token),
            Some("application/json; charset=utf-8"),
            r#"{"title": "a"}"#,
        ))
        .await;
    assert_eq!(response.status, StatusCode::CREATED);
}
