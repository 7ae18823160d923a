//! `PATCH /api/v1/streams/{id}`: what changes, what is refused, and how
//! settings are merged.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::{add_host, field_errors, json_request, uuid_of};
use crate::support::{TestApp, get};

struct Patched {
    app: TestApp,
    owner: Uuid,
    uri: String,
}

impl Patched {
    async fn new(pool: PgPool, body: Value) -> Self {
        let app = TestApp::new(pool);
        let owner = Uuid::new_v4();
        let stream = app.create_stream(owner, body).await;
        let uri = format!("/api/v1/streams/{}", uuid_of(&stream));
        Self { app, owner, uri }
    }

    async fn patch_as(&self, user: Uuid, body: Value) -> crate::support::TestResponse {
        let token = self.app.token(user);
        self.app
            .send(json_request(Method::PATCH, &self.uri, Some(&token), &body))
            .await
    }

    /// A PATCH by the owner that must succeed; returns the stream.
    async fn patch(&self, body: Value) -> Value {
        let response = self.patch_as(self.owner, body.clone()).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{body}: {}",
            String::from_utf8_lossy(&response.body)
        );
        response.json()
    }

    async fn current(&self) -> Value {
        let token = self.app.token(self.owner);
        self.app.send(get(&self.uri, Some(&token))).await.json()
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn fields_left_out_keep_their_values(pool: PgPool) {
    let s = Patched::new(
        pool,
        json!({ "title": "Before", "description": "Kept", "settings": { "container": "ts" } }),
    )
    .await;
    let before = s.current().await;

    let renamed = s.patch(json!({ "title": "  After  " })).await;
    assert_eq!(renamed["title"], "After", "trimmed like on create");
    assert_eq!(renamed["description"], "Kept");
    assert_eq!(renamed["settings"], json!({ "container": "ts" }));
    assert_eq!(renamed["visibility"], "public");
    assert_ne!(renamed["updated_at"], before["updated_at"]);
    assert_eq!(
        renamed,
        s.current().await,
        "the response is the stored stream"
    );

    // An empty PATCH changes nothing, not even `updated_at`.
    let unchanged = s.patch(json!({})).await;
    assert_eq!(unchanged, renamed);

    let cleared = s.patch(json!({ "description": null })).await;
    assert_eq!(cleared["description"], "");
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn settings_are_set_cleared_and_reset_key_by_key(pool: PgPool) {
    let s = Patched::new(pool, json!({ "title": "Tuned" })).await;

    let set = s
        .patch(json!({ "settings": { "container": "ts", "profile": "abr" } }))
        .await;
    assert_eq!(
        set["settings"],
        json!({ "container": "ts", "profile": "abr" })
    );
    let merged = s
        .patch(json!({ "settings": { "dvr_window_seconds": 0, "latency_mode": "low" } }))
        .await;
    assert_eq!(
        merged["settings"],
        json!({ "container": "ts", "profile": "abr", "dvr_window_seconds": 0, "latency_mode": "low" }),
        "keys left out are kept; 0 turns DVR off and is kept as a choice"
    );
    let cleared = s
        .patch(json!({ "settings": { "profile": null, "container": "fmp4" } }))
        .await;
    assert_eq!(
        cleared["settings"],
        json!({ "container": "fmp4", "dvr_window_seconds": 0, "latency_mode": "low" })
    );
    let named = s
        .patch(json!({ "settings": { "profile": "ladder_1080p-60" } }))
        .await;
    assert_eq!(named["settings"]["profile"], "ladder_1080p-60");
    let reset = s.patch(json!({ "settings": null })).await;
    assert_eq!(reset["settings"], json!({}), "back to every server default");
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn concurrent_patches_of_different_settings_both_land(pool: PgPool) {
    let s = Patched::new(pool, json!({ "title": "Raced" })).await;
    for round in 0..5 {
        let window = 60 * (round + 1);
        let (a, b) = tokio::join!(
            s.patch(json!({ "settings": { "dvr_window_seconds": window } })),
            s.patch(json!({ "settings": { "latency_mode": "low" } })),
        );
        assert!(a["settings"].get("dvr_window_seconds").is_some());
        assert!(b["settings"].get("latency_mode").is_some());
        let settings = &s.current().await["settings"];
        assert_eq!(settings["dvr_window_seconds"], window, "{settings}");
        assert_eq!(settings["latency_mode"], "low", "{settings}");
        s.patch(json!({ "settings": null })).await;
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn invalid_patches_are_422_with_every_bad_field_and_change_nothing(pool: PgPool) {
    let s = Patched::new(pool, json!({ "title": "Stable" })).await;
    let before = s.current().await;
    let cases = [
        (json!({ "title": "" }), vec!["#/title"]),
        (json!({ "title": null }), vec!["#/title"]),
        (json!({ "title": "x".repeat(201) }), vec!["#/title"]),
        (json!({ "visibility": null }), vec!["#/visibility"]),
        (json!({ "visibility": "hidden" }), vec!["#/visibility"]),
        (
            json!({ "title": " ", "description": "d".repeat(5001), "settings": { "profile": "" } }),
            vec!["#/title", "#/description", "#/settings/profile"],
        ),
        (
            json!({ "settings": {
                "container": "mkv", "profile": "x".repeat(33),
                "dvr_window_seconds": -1, "latency_mode": "instant"
            } }),
            vec![
                "#/settings/container",
                "#/settings/profile",
                "#/settings/dvr_window_seconds",
                "#/settings/latency_mode",
            ],
        ),
        (
            json!({ "settings": { "dvr_window_seconds": 86401 } }),
            vec!["#/settings/dvr_window_seconds"],
        ),
        (
            json!({ "settings": { "dvr_window_seconds": 2.5 } }),
            vec!["#/settings/dvr_window_seconds"],
        ),
        (
            json!({ "settings": { "latency": "low" } }),
            vec!["#/settings/latency"],
        ),
        (json!({ "settings": [] }), vec!["#/settings"]),
        (json!({ "status": "live" }), vec!["#/status"]),
        (json!({ "stream_key": "nl_x_y" }), vec!["#/stream_key"]),
        (json!([]), vec!["#"]),
    ];
    for (body, pointers) in cases {
        let response = s.patch_as(s.owner, body.clone()).await;
        let problem = response.problem(StatusCode::UNPROCESSABLE_ENTITY);
        let errors = field_errors(&problem);
        let got: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(got, pointers, "{body}: {problem}");
        assert!(errors.iter().all(|(_, d)| !d.is_empty()), "{problem}");
    }
    assert_eq!(s.current().await, before);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn co_hosts_edit_details_but_not_settings_or_visibility(pool: PgPool) {
    let s = Patched::new(pool.clone(), json!({ "title": "Shared" })).await;
    let stream_id: Uuid = s.uri.rsplit('/').next().unwrap().parse().unwrap();
    let co_host = Uuid::new_v4();
    add_host(&pool, stream_id, s.owner, co_host, Some("co_host")).await;

    let response = s
        .patch_as(
            co_host,
            json!({ "title": "Co-hosted", "description": "By two" }),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    let edited = response.json();
    assert_eq!(edited["title"], "Co-hosted");
    assert!(
        edited.get("settings").is_none(),
        "co-hosts get the public view"
    );

    for body in [
        json!({ "title": "Sneaky", "visibility": "private" }),
        json!({ "settings": { "latency_mode": "low" } }),
        json!({ "settings": null }),
    ] {
        let problem = s
            .patch_as(co_host, body.clone())
            .await
            .problem(StatusCode::FORBIDDEN);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("changing the stream's settings"),
            "{body}: {problem}"
        );
    }
    assert_eq!(s.current().await["title"], "Co-hosted", "all or nothing");
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn visibility_changes_who_can_see_the_stream(pool: PgPool) {
    let s = Patched::new(pool, json!({ "title": "Soon private" })).await;
    let viewer = s.app.token(Uuid::new_v4());
    assert_eq!(
        s.app.send(get(&s.uri, Some(&viewer))).await.status,
        StatusCode::OK
    );

    s.patch(json!({ "visibility": "private" })).await;
    s.app
        .send(get(&s.uri, Some(&viewer)))
        .await
        .problem(StatusCode::NOT_FOUND);
    s.app
        .send(get(&s.uri, None))
        .await
        .problem(StatusCode::NOT_FOUND);

    let unlisted = s.patch(json!({ "visibility": "unlisted" })).await;
    assert_eq!(unlisted["visibility"], "unlisted");
    assert_eq!(s.app.send(get(&s.uri, None)).await.status, StatusCode::OK);
    let directory = s
        .app
        .send(get("/api/v1/streams?owner=any", None))
        .await
        .json();
    assert_eq!(
        directory["items"],
        json!([]),
        "unlisted streams are never listed"
    );
}
