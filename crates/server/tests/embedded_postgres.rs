//! The README's run command path: no DATABASE_URL, so nova-live runs its own
//! PostgreSQL under the data directory and stops it on the way out.

mod support;

use std::time::Duration;

use serde_json::json;
use support::server::{Server, ServerOptions};
use support::wait_for;

#[tokio::test]
async fn runs_its_own_postgres_and_stops_it() {
    let server = Server::start(ServerOptions {
        database_url: None,
        extra_args: &[],
        log_filter: None,
        tls: None,
    })
    .await;
    let token = server.token_for(uuid::Uuid::new_v4());
    let stream = server
        .create_stream(&token, json!({ "title": "Embedded" }))
        .await;
    assert_eq!(stream["status"], "idle");
    let cluster = server.data_path().join("postgres");
    assert!(
        cluster.join("PG_VERSION").exists(),
        "the cluster lives in the data directory"
    );
    assert!(cluster.join("postmaster.pid").exists());

    let (status, data_dir) = server.terminate().await;
    assert!(status.success(), "server exited with {status}");
    assert!(
        !cluster.join("postmaster.pid").exists(),
        "the embedded PostgreSQL is still running after shutdown"
    );

    // A second start reuses the cluster and finds the stream again.
    let server = Server::start_in(
        ServerOptions {
            database_url: None,
            extra_args: &[],
            log_filter: None,
            tls: None,
        },
        data_dir,
    )
    .await;
    let id = stream["id"].as_str().unwrap();
    let again = wait_for(
        "the stream to be readable",
        Duration::from_secs(30),
        || async { Some(server.get_stream(&token, id).await) },
    )
    .await;
    assert_eq!(again["title"], "Embedded");
    let (status, _dir) = server.terminate().await;
    assert!(status.success());
}
