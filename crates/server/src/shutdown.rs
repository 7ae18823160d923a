//! Why the server stops, and the order it stops in: nothing that still
//! produces is stopped before what it produces for. The whole stop has a
//! deadline (`--shutdown-timeout`); what is still running past it is named
//! in the log and the process exits non-zero.

use std::io;
use std::time::Duration;

use anyhow::Result;
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::wiring::Server;

/// Players get this long at most to finish their requests.
const HTTP_DRAIN: Duration = Duration::from_secs(10);

/// Why the server stops.
pub enum Reason {
    /// SIGINT or SIGTERM: the operator asked.
    Signal(&'static str),
    /// A component the server cannot run without stopped (see `supervisor`):
    /// the process exits non-zero after stopping in order.
    Failed(String),
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Signal(signal) => f.write_str(signal),
            Self::Failed(what) => f.write_str(what),
        }
    }
}

/// Waits for SIGINT or SIGTERM, or for the RTMP listener or the HTTP
/// server to stop on their own, and says which.
pub async fn reason_to_stop(server: &mut Server) -> Reason {
    tokio::select! {
        signal = signal_received() => Reason::Signal(signal),
        failure = watch_task("RTMP listener", &mut server.rtmp_task) => Reason::Failed(failure),
        failure = watch_task("HTTP server", &mut server.http_task) => Reason::Failed(failure),
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
/// API, then the background tasks, then the status writer, all within
/// `timeout`. Fails when something did not stop in time or the server
/// stopped because a component failed.
pub async fn in_order(server: Server, reason: &Reason, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    // The last quarter is kept for the steps after the streams', so a
    // stuck packager does not also cost the statuses their last write.
    let streams_deadline = Instant::now() + timeout * 3 / 4;
    let Server {
        readiness,
        stop_accepting,
        hub,
        supervisor,
        health_monitor,
        recording,
        feeds,
        mut http_task,
        stop_http,
        mut background_task,
        stop_background,
        mut status_task,
        stop_restarts,
        ..
    } = server;
    let mut not_stopped = Vec::new();
    tracing::info!("shutting down ({reason}): ending live streams");
    readiness.set_listeners_bound(false);
    stop_restarts.cancel();
    stop_accepting.cancel();
    hub.shutdown();
    supervisor.detach_hub();
    health_monitor.abort();
    let packagers = supervisor.wait_for_packagers(streams_deadline).await;
    if !packagers.is_empty() {
        not_stopped.push(format!("packager threads {}", packagers.join(", ")));
    }
    // The packagers' last segments are recorded and indexed (or spooled for
    // the next start) while players still reach the API.
    if let Some(recording) = recording
        && tokio::time::timeout_at(streams_deadline, recording.shutdown())
            .await
            .is_err()
    {
        not_stopped.push("recording".to_owned());
    }
    // Players get a last look at the ended playlists while the API drains;
    // event feeds are closed first, or an open Server-Sent Events response
    // would hold the graceful drain until its timeout. Connections players
    // keep open past the drain are closed, not counted as a failure.
    feeds.close();
    stop_http.cancel();
    if !http_task.is_finished() {
        let drained = deadline.min(Instant::now() + HTTP_DRAIN);
        match tokio::time::timeout_at(drained, &mut http_task).await {
            Ok(Ok(Err(error))) => tracing::error!("HTTP server: {error}"),
            Ok(Err(error)) => tracing::error!("HTTP server task: {error}"),
            Err(_) => {
                tracing::warn!("HTTP connections still open after the drain; closing them");
                http_task.abort();
            }
            Ok(Ok(Ok(()))) => {}
        }
    }
    // The background tasks hold the API state, and through it the hub: they
    // must be gone before the status writer can see its last sender go.
    // Webhooks queued from here on (stream.ended of this shutdown) stay in
    // the outbox for the next start.
    stop_background.cancel();
    if tokio::time::timeout_at(deadline, &mut background_task)
        .await
        .is_err()
    {
        background_task.abort();
        not_stopped.push("background tasks".to_owned());
    }
    // Dropping the last status sender lets the writer finish its queue.
    drop(hub);
    drop(supervisor);
    if tokio::time::timeout_at(deadline, &mut status_task)
        .await
        .is_err()
    {
        status_task.abort();
        not_stopped.push("status writer (stream statuses not all written)".to_owned());
    }
    if !not_stopped.is_empty() {
        let what = not_stopped.join("; ");
        tracing::error!("still running after the {timeout:?} shutdown deadline: {what}");
        anyhow::bail!("shutdown deadline of {timeout:?} passed; still running: {what}");
    }
    if let Reason::Failed(failure) = reason {
        anyhow::bail!("stopped because {failure}");
    }
    tracing::info!("stopped");
    Ok(())
}
