//! `GET /api/v1/streams` filters, and pages that stay correct while
//! streams are created and change status between them.

use axum::http::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::{go_live, uuid_of};
use crate::support::{TestApp, get};

/// Ids of one page, and its cursor.
async fn page(app: &TestApp, uri: &str, token: Option<&str>) -> (Vec<String>, Option<String>) {
    let response = app.send(get(uri, token)).await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "{uri}: {}",
        String::from_utf8_lossy(&response.body)
    );
    let page = response.json();
    let ids = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    (ids, page["next_cursor"].as_str().map(str::to_owned))
}

/// Every page of a list, following cursors.
async fn all_pages(app: &TestApp, query: &str, token: Option<&str>) -> Vec<String> {
    let mut ids = Vec::new();
    let mut uri = format!("/api/v1/streams?{query}");
    loop {
        let (mut items, cursor) = page(app, &uri, token).await;
        ids.append(&mut items);
        match cursor {
            Some(cursor) => uri = format!("/api/v1/streams?{query}&cursor={cursor}"),
            None => return ids,
        }
    }
}

fn id(stream: &Value) -> String {
    stream["id"].as_str().unwrap().to_owned()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// One stream of each visibility, newest last.
async fn three_streams(app: &TestApp, owner: Uuid, name: &str) -> [Value; 3] {
    let mut streams = Vec::new();
    for visibility in ["public", "unlisted", "private"] {
        streams.push(
            app.create_stream(
                owner,
                json!({ "title": format!("{name} {visibility}"), "visibility": visibility }),
            )
            .await,
        );
    }
    streams.try_into().unwrap()
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn owner_filters_show_all_your_streams_and_only_the_public_ones_of_others(pool: PgPool) {
    let app = TestApp::new(pool);
    let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
    let [a_public, a_unlisted, a_private] = three_streams(&app, alice, "Alice").await;
    let [b_public, _, _] = three_streams(&app, bob, "Bob").await;
    let token = app.token(alice);
    let alices = sorted(vec![id(&a_public), id(&a_unlisted), id(&a_private)]);

    for query in ["", "owner=me", &format!("owner={alice}")] {
        let ids = all_pages(&app, query, Some(&token)).await;
        assert_eq!(sorted(ids), alices, "{query:?}");
    }
    for caller in [Some(token.as_str()), None] {
        let ids = all_pages(&app, &format!("owner={bob}"), caller).await;
        assert_eq!(ids, [id(&b_public)], "as {caller:?}");
        let directory = all_pages(&app, "owner=any", caller).await;
        assert_eq!(
            directory,
            [id(&b_public), id(&a_public)],
            "public streams only, newest first"
        );
    }

    // Alice sees her own stream's ingest in the directory; nobody else's.
    let listed = app
        .send(get("/api/v1/streams?owner=any", Some(&token)))
        .await
        .json();
    for item in listed["items"].as_array().unwrap() {
        assert_eq!(
            item.get("ingest").is_some(),
            item["id"] == a_public["id"],
            "{item}"
        );
        assert!(item.get("stream_key").is_none());
    }
    let anonymous = app
        .send(get("/api/v1/streams?owner=any", None))
        .await
        .json();
    assert!(
        anonymous["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|item| item.get("ingest").is_none() && item.get("settings").is_none())
    );

    // "Your streams" needs to know who you are.
    for query in ["", "?owner=me"] {
        let response = app
            .send(get(&format!("/api/v1/streams{query}"), None))
            .await;
        response.problem(StatusCode::UNAUTHORIZED);
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn status_filters_make_a_live_now_directory(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
    let [a_public, _, a_private] = three_streams(&app, alice, "Alice").await;
    let [b_public, b_unlisted, _] = three_streams(&app, bob, "Bob").await;
    for stream in [&a_private, &b_public, &b_unlisted] {
        go_live(&app, stream).await;
    }
    nova_api::mark_stream_live(&pool, nova_media::StreamId(uuid_of(&a_public)))
        .await
        .unwrap();
    nova_api::mark_stream_ended(&pool, nova_media::StreamId(uuid_of(&a_public)))
        .await
        .unwrap();

    let live_now = all_pages(&app, "owner=any&status=live", None).await;
    assert_eq!(live_now, [id(&b_public)], "unlisted and private stay out");
    let token = app.token(alice);
    assert_eq!(
        all_pages(&app, "status=live", Some(&token)).await,
        [id(&a_private)]
    );
    assert_eq!(
        all_pages(&app, "status=ended", Some(&token)).await,
        [id(&a_public)]
    );
    assert_eq!(all_pages(&app, "status=idle", Some(&token)).await.len(), 1);
    assert!(
        all_pages(&app, "owner=any&status=idle", None)
            .await
            .is_empty()
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn pages_stay_correct_while_streams_are_created_and_go_live(pool: PgPool) {
    let app = TestApp::new(pool);
    let owner = Uuid::new_v4();
    let token = app.token(owner);
    let mut streams = Vec::new();
    for n in 0..7 {
        streams.push(
            app.create_stream(owner, json!({ "title": format!("Old {n}") }))
                .await,
        );
    }

    for query in [
        "limit=2",
        "limit=2&status=idle",
        "limit=2&owner=any&status=idle",
    ] {
        let before = all_pages(&app, query, Some(&token)).await;
        let mut seen = Vec::new();
        let (first, mut cursor) =
            page(&app, &format!("/api/v1/streams?{query}"), Some(&token)).await;
        seen.extend(first);
        let mut round = 0;
        while let Some(next) = cursor {
            // Between pages new streams appear: ahead of the cursor, so
            // they belong to the next listing, not to this one.
            streams.push(
                app.create_stream(owner, json!({ "title": format!("New {query} {round}") }))
                    .await,
            );
            round += 1;
            let (items, after) = page(
                &app,
                &format!("/api/v1/streams?{query}&cursor={next}"),
                Some(&token),
            )
            .await;
            seen.extend(items);
            cursor = after;
        }
        assert_eq!(seen, before, "{query}: each stream once, in order");
        assert!(round >= 3, "{query}: paged {round} times");
    }

    // Streams that go live between pages of an `idle` listing: one already
    // listed is not listed again, one not reached yet drops out of it.
    let idle = all_pages(&app, "status=idle", Some(&token)).await;
    let (first, cursor) = page(&app, "/api/v1/streams?limit=3&status=idle", Some(&token)).await;
    let (listed, not_reached) = (first[0].clone(), idle.last().unwrap().clone());
    for stream in streams
        .iter()
        .filter(|s| id(s) == listed || id(s) == not_reached)
    {
        go_live(&app, stream).await;
    }
    let mut rest = Vec::new();
    let mut cursor = cursor;
    while let Some(next) = cursor {
        let (items, after) = page(
            &app,
            &format!("/api/v1/streams?limit=3&status=idle&cursor={next}"),
            Some(&token),
        )
        .await;
        rest.extend(items);
        cursor = after;
    }
    let still_idle: Vec<&String> = idle.iter().filter(|s| **s != not_reached).collect();
    let listed_all: Vec<&String> = first.iter().chain(&rest).collect();
    assert_eq!(listed_all, still_idle, "no stream twice, none skipped");
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn a_cursor_only_continues_the_query_it_came_from(pool: PgPool) {
    let app = TestApp::new(pool);
    let owner = Uuid::new_v4();
    let token = app.token(owner);
    for n in 0..3 {
        app.create_stream(owner, json!({ "title": format!("S {n}") }))
            .await;
    }
    let (_, cursor) = page(&app, "/api/v1/streams?limit=1", Some(&token)).await;
    let cursor = cursor.unwrap();

    for other in [
        "owner=any",
        "status=idle",
        &format!("owner={}", Uuid::new_v4()),
    ] {
        let response = app
            .send(get(
                &format!("/api/v1/streams?{other}&cursor={cursor}"),
                Some(&token),
            ))
            .await;
        let problem = response.problem(StatusCode::BAD_REQUEST);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("other filters"),
            "{other}: {problem}"
        );
    }
    // The same query spelt otherwise, or with another page size, continues.
    for same in ["owner=me&limit=5", &format!("owner={owner}&limit=1")] {
        let (items, _) = page(
            &app,
            &format!("/api/v1/streams?{same}&cursor={cursor}"),
            Some(&token),
        )
        .await;
        assert!(!items.is_empty(), "{same}");
    }
}
