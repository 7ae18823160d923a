//! `/api/v1/streams`: create, read, list, and (in the modules below) the
//! permission matrix, filters, updates and the owner's controls.

mod list;
mod manage;
mod matrix;
mod update;

use std::collections::HashSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::Utc;
use nova_api::IngestHealth;
use nova_media::StreamId;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{PUBLIC_URL, RTMP_URL, TestApp, get, post_json, post_raw, stream_id};

/// A request with a JSON body and any method (PATCH, POST).
pub fn json_request(method: Method, uri: &str, token: Option<&str>, body: &Value) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder.body(Body::from(body.to_string())).unwrap()
}

pub fn uuid_of(stream: &Value) -> Uuid {
    stream["id"].as_str().unwrap().parse().unwrap()
}

/// Makes `user` a host of the stream, as the hosts routes would: accepted
/// with `role`, or invited and not answered yet when `role` is `None`.
pub async fn add_host(pool: &PgPool, stream: Uuid, owner: Uuid, user: Uuid, role: Option<&str>) {
    sqlx::query(
        "INSERT INTO stream_hosts (stream_id, user_id, role, invited_by, accepted_at) \
         VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN now() END)",
    )
    .bind(stream)
    .bind(user)
    .bind(role.unwrap_or("co_host"))
    .bind(owner)
    .bind(role.is_some())
    .execute(pool)
    .await
    .unwrap();
}

/// Health as the ingest would report it.
pub fn sample_health() -> IngestHealth {
    IngestHealth {
        video_bitrate_kbps: 2500,
        audio_bitrate_kbps: 128,
        frame_rate: 30.0,
        keyframe_interval_ms: Some(2000),
        av_drift_ms: Some(-8),
        frames_dropped: 0,
        timestamp_repairs: 1,
        warnings: vec!["a warning".to_owned()],
        renditions: Vec::new(),
        measured_at: Utc::now(),
    }
}

/// The stream is live: a publisher on the (fake) ingest, and the status the
/// server's status writer would have recorded.
pub async fn go_live(app: &TestApp, stream: &Value) -> StreamId {
    let id = stream_id(stream);
    app.ingest
        .publishing
        .lock()
        .unwrap()
        .insert(id, sample_health());
    nova_api::mark_stream_live(&app.state.pool, id)
        .await
        .unwrap();
    id
}

pub async fn status_of(pool: &PgPool, stream: &Value) -> String {
    sqlx::query_scalar("SELECT status FROM live_streams WHERE id = $1")
        .bind(uuid_of(stream))
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The `errors` of a 422 problem, as (pointer, detail) pairs.
pub fn field_errors(problem: &Value) -> Vec<(String, String)> {
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

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
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
    assert_eq!(stream["visibility"], "public", "the default");
    assert_eq!(stream["viewer_count"], 0);
    assert_eq!(stream["health"], Value::Null, "not live");
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
    // fMP4 (the default) also plays as CMAF renditions over HLS and DASH.
    assert_eq!(
        stream["playback"]["master_url"],
        format!("{PUBLIC_URL}/live/{id}/master.m3u8")
    );
    assert_eq!(
        stream["playback"]["dash_url"],
        format!("{PUBLIC_URL}/live/{id}/manifest.mpd")
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

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
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

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
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

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
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

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
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

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn an_empty_list_is_a_page_without_a_cursor(pool: PgPool) {
    let app = TestApp::new(pool);
    let response = app
        .send(get("/api/v1/streams", Some(&app.token(Uuid::new_v4()))))
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json(), json!({ "items": [], "next_cursor": null }));
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
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
        "status=on_air",
        "status=",
        "owner=someone",
        "owner=",
        "owner=00000000-0000-0000-0000",
    ] {
        let response = app
            .send(get(&format!("/api/v1/streams?{query}"), Some(&token)))
            .await;
        let problem = response.problem(StatusCode::BAD_REQUEST);
        assert!(problem.get("errors").is_none(), "{query}: {problem}");
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
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
        (
            json!({ "title": "ok", "visibility": "secret" }),
            vec!["#/visibility"],
        ),
        (
            json!({ "title": "", "settings": { "profile": "Main Ladder", "latency_mode": "fast" } }),
            vec!["#/title", "#/settings/profile", "#/settings/latency_mode"],
        ),
        (
            json!({ "title": "ok", "settings": { "dvr_window_seconds": 86401 } }),
            vec!["#/settings/dvr_window_seconds"],
        ),
        (json!({ "description": "no title" }), vec!["#"]),
        (json!("a bare string"), vec!["#"]),
        (json!(["ok"]), vec!["#"]),
        (
            json!({ "title": "ok", "settings": ["ts"] }),
            vec!["#/settings"],
        ),
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

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
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

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn create_takes_visibility_and_every_setting(pool: PgPool) {
    let app = TestApp::new(pool);
    let settings = json!({
        "container": "ts", "profile": "abr", "dvr_window_seconds": 3600, "latency_mode": "low"
    });
    let stream = app
        .create_stream(
            Uuid::new_v4(),
            json!({ "title": "Configured", "visibility": "unlisted", "settings": settings }),
        )
        .await;
    assert_eq!(stream["visibility"], "unlisted");
    assert_eq!(stream["settings"], settings);
    // `null` settings keys in a create are the same as leaving them out.
    let plain = app
        .create_stream(
            Uuid::new_v4(),
            json!({ "title": "Plain", "settings": { "profile": null } }),
        )
        .await;
    assert_eq!(plain["settings"], json!({}));
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn only_the_owner_sees_ingest_and_settings(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let owner = Uuid::new_v4();
    let co_host = Uuid::new_v4();
    let created = app
        .create_stream(
            owner,
            json!({ "title": "Show", "settings": { "latency_mode": "low" } }),
        )
        .await;
    let id = uuid_of(&created);
    add_host(&pool, id, owner, co_host, Some("co_host")).await;
    let uri = format!("/api/v1/streams/{id}");
    let key = created["stream_key"].as_str().unwrap();

    let owners = app.send(get(&uri, Some(&app.token(owner)))).await.json();
    assert_eq!(owners["ingest"]["rtmp_url"], RTMP_URL);
    assert_eq!(owners["settings"], json!({ "latency_mode": "low" }));
    for token in [
        Some(app.token(co_host)),
        Some(app.token(Uuid::new_v4())),
        None,
    ] {
        let response = app.send(get(&uri, token.as_deref())).await;
        assert_eq!(response.status, StatusCode::OK);
        let public = response.json();
        assert!(public.get("ingest").is_none(), "{public}");
        assert!(public.get("settings").is_none(), "{public}");
        assert!(!String::from_utf8_lossy(&response.body).contains(&key[3..15]));
        let mut expected = owners.clone();
        let object = expected.as_object_mut().unwrap();
        object.remove("ingest");
        object.remove("settings");
        assert_eq!(public, expected, "the rest is the same for everyone");
        assert!(
            !public["playback"]["hls_url"]
                .as_str()
                .unwrap()
                .contains(&key[3..15]),
            "playback URLs never carry the key"
        );
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn get_shows_the_viewer_count_and_the_ingest_health(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let owner = Uuid::new_v4();
    let created = app.create_stream(owner, json!({ "title": "Busy" })).await;
    let uri = format!("/api/v1/streams/{}", uuid_of(&created));

    sqlx::query(
        "INSERT INTO stream_viewer_stats (stream_id, current_viewers, peak_viewers) \
         VALUES ($1, 7, 9)",
    )
    .bind(uuid_of(&created))
    .execute(&pool)
    .await
    .unwrap();
    let stream = go_live(&app, &created).await;
    let live = app.send(get(&uri, None)).await.json();
    assert_eq!(live["status"], "live");
    assert_eq!(live["viewer_count"], 7);
    let health = &live["health"];
    assert_eq!(health["video_bitrate_kbps"], 2500);
    assert_eq!(health["audio_bitrate_kbps"], 128);
    assert_eq!(health["frame_rate"], 30.0);
    assert_eq!(health["keyframe_interval_ms"], 2000);
    assert_eq!(health["warnings"], json!(["a warning"]));
    assert!(health["measured_at"].is_string());

    // The encoder went away: no health, whatever the status says.
    app.ingest.publishing.lock().unwrap().remove(&stream);
    let quiet = app.send(get(&uri, None)).await.json();
    assert_eq!(quiet["health"], Value::Null);

    let listed = app
        .send(get("/api/v1/streams?owner=any", None))
        .await
        .json();
    assert_eq!(listed["items"][0]["viewer_count"], 7);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn the_stream_routes_are_documented_as_they_behave(pool: PgPool) {
    let app = TestApp::new(pool);
    let doc = app.send(get("/api/v1/openapi.json", None)).await.json();
    let operation = |path: &str, method: &str| -> Value {
        let found = doc["paths"][path][method].clone();
        assert!(found.is_object(), "{method} {path} is not documented");
        assert_eq!(found["tags"], json!(["streams"]), "{method} {path}");
        found
    };
    let anonymous_ok = json!([{}, { "bearer": [] }]);
    let token_needed = json!([{ "bearer": [] }]);
    for (path, method, success, security) in [
        ("/api/v1/streams", "get", "200", &anonymous_ok),
        ("/api/v1/streams", "post", "201", &token_needed),
        ("/api/v1/streams/{id}", "get", "200", &anonymous_ok),
        ("/api/v1/streams/{id}", "patch", "200", &token_needed),
        ("/api/v1/streams/{id}", "delete", "204", &token_needed),
        (
            "/api/v1/streams/{id}/reset-stream-key",
            "post",
            "200",
            &token_needed,
        ),
        ("/api/v1/streams/{id}/disable", "post", "200", &token_needed),
        ("/api/v1/streams/{id}/enable", "post", "200", &token_needed),
        ("/api/v1/streams/{id}/end", "post", "200", &token_needed),
    ] {
        let op = operation(path, method);
        assert!(op["responses"][success].is_object(), "{method} {path}");
        assert_eq!(&op["security"], security, "{method} {path}");
    }
    let deleted = &operation("/api/v1/streams/{id}", "delete")["responses"];
    assert!(deleted["204"].get("content").is_none(), "a 204 has no body");
    for conflict in [
        ("/api/v1/streams/{id}", "delete"),
        ("/api/v1/streams/{id}/end", "post"),
    ] {
        assert!(operation(conflict.0, conflict.1)["responses"]["409"].is_object());
    }
    let reset = operation("/api/v1/streams/{id}/reset-stream-key", "post");
    assert_ne!(
        reset["requestBody"]["required"], true,
        "the reset body may be left out"
    );
    let view = &doc["components"]["schemas"]["StreamView"];
    let required = view["required"].as_array().unwrap();
    for owner_only in ["ingest", "settings"] {
        assert!(view["properties"][owner_only].is_object());
        assert!(!required.contains(&json!(owner_only)), "{owner_only}");
    }
    for always in ["visibility", "viewer_count", "status", "playback"] {
        assert!(required.contains(&json!(always)), "{always}");
    }
}
