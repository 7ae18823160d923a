//! Why the server stops, and the order it stops in: nothing that still
//! produces is stopped before what it produces for.

use std::io;
use std::time::Duration;

use anyhow::Result;
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;

use crate::wiring::Server;

/// Waits for SIGINT or SIGTERM, or for the RTMP listener to stop on its
/// own, and says which.
pub async fn reason_to_stop(rtmp_task: &mut JoinHandle<io::Result<()>>) -> String {
    tokio::select! {
        signal = signal_received() => signal.to_owned(),
        result = watch_task("RTMP listener", rtmp_task) => result,
    }
}

/// Resolves on the first SIGINT or SIGTERM.
async fn signal_received() -> &'static str {
    let mut terminate = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("cannot listen for SIGTERM: {e}");
            let _ = tokio::signal::ctrl_c().await;
            return "SIGINT";
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = terminate.recv() => "SIGTERM",
    }
}

async fn watch_task(name: &str, task: &mut JoinHandle<io::Result<()>>) -> String {
    match task.await {
        Ok(Ok(())) => format!("{name} stopped"),
        Ok(Err(error)) => format!("{name} failed: {error}"),
        Err(error) => format!("{name} panicked: {error}"),
    }
}

/// Ends the live streams and lets their last segments out, then drains the
/// API, then the background tasks, then the status writer.
pub async fn in_order(server: Server, reason: &str) -> Result<()> {
    let Server {
        readiness,
        stop_accepting,
        hub,
        supervisor,
        health_monitor,
        recording,
        feeds,
        http_task,
        stop_http,
        mut background_task,
        stop_background,
        status_task,
        ..
    } = server;
    tracing::info!("shutting down ({reason}): ending live streams");
    readiness.set_listeners_bound(false);
    stop_accepting.cancel();
    hub.shutdown();
    health_monitor.abort();
    let supervisor_for_join = supervisor.clone();
    tokio::task::spawn_blocking(move || supervisor_for_join.join_packagers()).await?;
    // The packagers' last segments are recorded and indexed (or spooled for
    // the next start) while players still reach the API.
    if let Some(recording) = recording {
        recording.shutdown().await;
    }
    // Players get a last look at the ended playlists while the API drains;
    // event feeds are closed first, or an open Server-Sent Events response
    // would hold the graceful drain until its timeout.
    feeds.close();
    stop_http.cancel();
    match tokio::time::timeout(Duration::from_secs(10), http_task).await {
        Ok(Ok(Err(error))) => tracing::error!("HTTP server: {error}"),
        Ok(Err(error)) => tracing::error!("HTTP server task: {error}"),
        Err(_) => tracing::warn!("HTTP connections still open after 10 s; closing them"),
        Ok(Ok(Ok(()))) => {}
    }
    // The background tasks hold the API state, and through it the hub: they
    // must be gone before the status writer can see its last sender go.
    // Webhooks queued from here on (stream.ended of this shutdown) stay in
    // the outbox for the next start.
    stop_background.cancel();
    if tokio::time::timeout(Duration::from_secs(10), &mut background_task)
        .await
        .is_err()
    {
        tracing::warn!("background tasks still running after 10 s; aborting them");
        background_task.abort();
    }
    // Dropping the last status sender lets the writer finish its queue.
    drop(hub);
    drop(supervisor);
    if tokio::time::timeout(Duration::from_secs(30), status_task)
        .await
        .is_err()
    {
        tracing::warn!("stream statuses still being written after 30 s; giving up");
    }
    tracing::info!("stopped");
    Ok(())
}
