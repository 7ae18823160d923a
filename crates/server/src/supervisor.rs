//! What happens when a long-lived part of the server fails, in one place.
//!
//! | component                       | on failure                                   |
//! |---------------------------------|----------------------------------------------|
//! | RTMP listener, HTTP server      | the server shuts down in order and exits non-zero, for the service manager to restart it: their listening sockets are gone with them |
//! | status writer, background tasks, health monitor | restarted with backoff ([`restart_on_panic`]); `/readyz` names them while they wait |
//! | a packager thread (and its ladder) | its stream ends, with the reason in its health; other streams go on (see `packager_supervisor`) |
//!
//! The restarted tasks keep nothing that a panic could leave half-changed:
//! the status writer's queue outlives it, the background tasks read
//! everything from the database, the health monitor only reads the board.

pub use nova_media::panic_message;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nova_api::Readiness;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const STATUS_WRITER: &str = "status_writer";
pub const BACKGROUND_TASKS: &str = "background_tasks";
pub const HEALTH_MONITOR: &str = "health_monitor";

/// The first wait before a restart; it doubles with each failure in a row.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A component that ran this long before failing starts over at
/// [`FIRST_BACKOFF`]: it was failing now and then, not in a loop.
const STABLE_AFTER: Duration = Duration::from_secs(60);

/// Who restarts a component, and when not to any more.
#[derive(Clone)]
pub struct Restarts {
    pub readiness: Arc<Readiness>,
    /// Cancelled when shutdown starts: a component that fails then stays
    /// down rather than start again under a server that is stopping.
    pub stop: CancellationToken,
}

/// Supervises `first`, a task that runs until it is told to stop (and then
/// returns) or is aborted; if it panics, `restart` starts it again after a
/// backoff. The returned task ends when the component ends without a
/// panic; aborting it aborts the component.
pub fn restart_on_panic(
    component: &'static str,
    restarts: Restarts,
    first: JoinHandle<()>,
    mut restart: impl FnMut() -> JoinHandle<()> + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut running = AbortOnDrop(first);
        let mut backoff = FIRST_BACKOFF;
        loop {
            let started = Instant::now();
            let error = match (&mut running.0).await {
                Ok(()) => return,
                Err(error) if error.is_cancelled() => return,
                Err(error) => error,
            };
            let why = panic_message(&*error.into_panic());
            if restarts.stop.is_cancelled() {
                tracing::error!(component, "panicked during shutdown: {why}");
                return;
            }
            if started.elapsed() >= STABLE_AFTER {
                backoff = FIRST_BACKOFF;
            }
            tracing::error!(component, "panicked: {why}; restarting in {backoff:?}");
            restarts.readiness.set_component_down(
                component,
                format!("panicked ({why}); restarting in {} s", backoff.as_secs()),
            );
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = restarts.stop.cancelled() => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
            running = AbortOnDrop(restart());
            restarts.readiness.set_component_up(component);
            tracing::info!(component, "restarted");
        }
    })
}

/// Aborts the task when dropped: a supervised task goes with its
/// supervisor.
pub struct AbortOnDrop(pub JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_panicking_task_is_down_while_it_waits_then_restarted() {
        let readiness = Arc::new(Readiness::default());
        let restarts = Restarts {
            readiness: readiness.clone(),
            stop: CancellationToken::new(),
        };
        let (ran, mut runs) = tokio::sync::mpsc::unbounded_channel();
        let first = tokio::spawn(async { panic!("first run fails") });
        let task = restart_on_panic("test", restarts.clone(), first, move || {
            let ran = ran.clone();
            tokio::spawn(async move {
                ran.send(()).unwrap();
                std::future::pending::<()>().await;
            })
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        let down = readiness.components_down();
        assert_eq!(down.len(), 1, "{down:?}");
        assert_eq!(down[0].0, "test");
        assert!(down[0].1.contains("first run fails"), "{down:?}");
        runs.recv().await.unwrap();
        assert!(readiness.components_down().is_empty());
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        // The restarted task was aborted with its supervisor.
        assert!(runs.recv().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_ends_is_not_restarted() {
        let restarts = Restarts {
            readiness: Arc::new(Readiness::default()),
            stop: CancellationToken::new(),
        };
        let task = restart_on_panic("test", restarts, tokio::spawn(async {}), || {
            unreachable!("not restarted")
        });
        task.await.unwrap();
    }
}
