//! The database goes away mid-broadcast: live streams keep going, new
//! publishers are told to retry, and everything recovers when it returns.

mod support;

use serde_json::json;
use sqlx::{Connection, Executor, PgConnection};
use support::fixture::{Fixture, LIMIT};
use support::server::stream_key_url;
use support::{publish, wait_for};

async fn admin() -> PgConnection {
    PgConnection::connect(&std::env::var("DATABASE_URL").unwrap())
        .await
        .unwrap()
}

/// Refuses new connections to the database and cuts the open ones: to the
/// server it looks like PostgreSQL went down.
async fn take_database_down(name: &str) {
    let mut admin = admin().await;
    admin
        .execute(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false").as_str())
        .await
        .unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(name)
        .execute(&mut admin)
        .await
        .unwrap();
}

async fn bring_database_back(name: &str) {
    admin()
        .await
        .execute(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true").as_str())
        .await
        .unwrap();
}

#[tokio::test]
async fn live_streams_survive_a_database_outage_and_new_publishers_wait_for_it() {
    let fixture = Fixture::start(&[]).await;
    let (server, token) = (&fixture.server, fixture.token.as_str());
    let live = server
        .create_stream(token, json!({ "title": "On air" }))
        .await;
    let waiting = server
        .create_stream(token, json!({ "title": "Next" }))
        .await;
    let mut on_air = publish(
        &stream_key_url(server, &live),
        &["-stream_loop", "-1"],
        120.0,
    );
    let live_id = live["id"].as_str().unwrap();
    server.wait_for_status(token, live_id, "live", LIMIT).await;
    let playlist_url = fixture.playlist_url(&live);
    let segments_now = || async {
        let (_, playlist) = fixture.playlist(&playlist_url).await?;
        Some(playlist.media_sequence + playlist.segments.len() as u64)
    };
    let before = wait_for("a first segment", LIMIT, segments_now).await;

    let name = fixture.database.url.rsplit_once('/').unwrap().1.to_owned();
    take_database_down(&name).await;

    // The API says what is wrong instead of hanging or crashing.
    let response = server
        .client
        .get(format!("{}/api/v1/streams/{live_id}", server.http))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503, "{:?}", response.text().await);
    let readyz = server
        .client
        .get(format!("{}/readyz", server.http))
        .send()
        .await
        .unwrap();
    assert_eq!(readyz.status(), 503);

    // A new publisher is refused (its key cannot be checked) ...
    let mut refused = publish(&stream_key_url(server, &waiting), &[], 5.0);
    let status = tokio::time::timeout(LIMIT, refused.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(
        !status.success(),
        "a publish was accepted without checking its key"
    );
    // ... while the stream already on air keeps producing segments.
    wait_for("the live stream to keep going", LIMIT, || async {
        let now = segments_now().await?;
        (now >= before + 2).then_some(())
    })
    .await;
    assert!(
        on_air.try_wait().unwrap().is_none(),
        "the live publisher was dropped"
    );

    bring_database_back(&name).await;
    wait_for("the server to be ready again", LIMIT, || async {
        let response = server
            .client
            .get(format!("{}/readyz", server.http))
            .send()
            .await
            .ok()?;
        response.status().is_success().then_some(())
    })
    .await;
    let mut accepted = publish(&stream_key_url(server, &waiting), &[], 4.0);
    assert!(
        accepted.wait().await.unwrap().success(),
        "publishing after the outage failed"
    );
    server
        .wait_for_status(token, waiting["id"].as_str().unwrap(), "ended", LIMIT)
        .await;
    assert_eq!(server.get_stream(token, live_id).await["status"], "live");

    on_air.kill().await.unwrap();
    fixture.finish().await;
}
