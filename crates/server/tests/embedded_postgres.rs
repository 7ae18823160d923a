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

fn embedded<'a>(extra_args: &'a [&'a str]) -> ServerOptions<'a> {
    ServerOptions {
        database_url: None,
        extra_args,
        log_filter: None,
        tls: None,
    }
}

fn mode_of(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn postmaster_pid(cluster: &std::path::Path) -> i32 {
    let text = std::fs::read_to_string(cluster.join("postmaster.pid")).unwrap();
    text.lines().next().unwrap().trim().parse().unwrap()
}

/// Running, not a zombie waiting for PID 1 to reap it.
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat.rsplit_once(") ")?.1.chars().next()?;
            Some(state != 'Z' && state != 'X')
        })
        .unwrap_or(false)
}

async fn wait_until_gone(pid: i32, what: &str) {
    wait_for(what, Duration::from_secs(20), || async {
        (!alive(pid)).then_some(())
    })
    .await;
}

/// `mktemp -d` makes 0700 directories: as root the cluster's `postgres`
/// user cannot enter them. The cluster must stay inside the data directory
/// anyway (it used to move to /var/lib/nova-live, left behind when the data
/// directory was deleted), the closed directories only opened for passage.
#[tokio::test]
async fn a_data_dir_under_a_closed_parent_keeps_the_cluster_inside() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::Builder::new()
        .prefix("nova-closed")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
        .unwrap();
    assert_eq!(mode_of(parent.path()), 0o700);
    let data_dir = tempfile::Builder::new()
        .prefix("data")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(parent.path())
        .unwrap();
    let server = Server::start_in(embedded(&[]), data_dir).await;
    let cluster = server.data_path().join("postgres");
    assert!(
        cluster.join("PG_VERSION").exists(),
        "the cluster is not in {}",
        cluster.display()
    );
    assert_eq!(
        mode_of(parent.path()),
        0o701,
        "only passage (o+x) is granted, not listing"
    );
    let (status, data_dir) = server.terminate().await;
    assert!(status.success());
    drop(data_dir);
    assert!(
        !cluster.exists(),
        "deleting the data dir deletes the cluster"
    );
}

/// A server killed with SIGKILL leaves its postmaster running; the next
/// start finds it by the cluster's postmaster.pid, stops it and starts its
/// own, so no PostgreSQL is left that nobody stops.
#[tokio::test]
async fn a_postmaster_left_by_a_killed_server_is_replaced() {
    let mut server = Server::start(embedded(&[])).await;
    let token = server.token_for(uuid::Uuid::new_v4());
    let stream = server
        .create_stream(&token, json!({ "title": "Survives a kill" }))
        .await;
    let cluster = server.data_path().join("postgres");
    let orphan = postmaster_pid(&cluster);
    server.child.kill().await.unwrap();
    let data_dir = server.data_dir;
    assert!(alive(orphan), "the postmaster outlived its server");

    let server = Server::start_in(embedded(&[]), data_dir).await;
    wait_until_gone(orphan, "the orphaned postmaster to be stopped").await;
    let replacement = postmaster_pid(&cluster);
    assert_ne!(replacement, orphan);
    assert!(alive(replacement));
    let again = server
        .get_stream(&token, stream["id"].as_str().unwrap())
        .await;
    assert_eq!(again["title"], "Survives a kill");
    let (status, _dir) = server.terminate().await;
    assert!(status.success());
    wait_until_gone(replacement, "shutdown to stop the replacement").await;
}

/// `--database-dir` puts the cluster on a path of its own (its own disk).
#[tokio::test]
async fn database_dir_holds_the_cluster() {
    let elsewhere = tempfile::Builder::new()
        .prefix("nova-db")
        .tempdir()
        .unwrap();
    let database_dir = elsewhere.path().join("cluster");
    let database_dir_arg = database_dir.to_str().unwrap().to_owned();
    let server = Server::start(embedded(&["--database-dir", &database_dir_arg])).await;
    let token = server.token_for(uuid::Uuid::new_v4());
    server
        .create_stream(&token, json!({ "title": "On its own disk" }))
        .await;
    assert!(database_dir.join("PG_VERSION").exists());
    assert!(database_dir.join("postmaster.pid").exists());
    assert!(
        !server.data_path().join("postgres").exists(),
        "nothing of the cluster in the data directory"
    );
    let (status, _dir) = server.terminate().await;
    assert!(status.success());
    assert!(!database_dir.join("postmaster.pid").exists());
}
