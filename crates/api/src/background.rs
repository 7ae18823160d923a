//! The server's periodic work for the API: the viewer sweep, the webhook
//! delivery worker and the event bus's pruning, in one task the server
//! starts next to the HTTP listener and stops at shutdown.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::state::AppState;
use crate::viewers::sweep_viewers;
use crate::webhooks::{WebhookDeliveryConfig, WebhookSender};

#[derive(Clone, Debug)]
pub struct BackgroundConfig {
    /// Pause between viewer sweeps: how stale viewer counts may get.
    pub viewer_sweep_interval: Duration,
    /// Sessions expired and settled per stream per sweep.
    pub viewer_sweep_batch: u32,
    pub webhooks: WebhookDeliveryConfig,
    /// How often the event bus forgets streams nobody follows.
    pub event_prune_interval: Duration,
}

impl Default for BackgroundConfig {
    fn default() -> Self {
        Self {
            viewer_sweep_interval: Duration::from_secs(5),
            viewer_sweep_batch: 1000,
            webhooks: WebhookDeliveryConfig::default(),
            event_prune_interval: Duration::from_secs(60),
        }
    }
}

/// Starts the background work. The task ends soon after `shutdown` is
/// cancelled: an attempt cut short by it is retried after its lease, by
/// this or another server.
///
/// Fails only if the webhook client's TLS stack cannot be set up.
pub fn spawn_background_tasks(
    state: &AppState,
    config: BackgroundConfig,
    shutdown: CancellationToken,
) -> Result<JoinHandle<()>, reqwest::Error> {
    let sender = WebhookSender::new(config.webhooks.clone())?;
    let state = state.clone();
    Ok(tokio::spawn(async move {
        let viewers = every(
            &shutdown,
            config.viewer_sweep_interval,
            "viewer sweep",
            || async {
                let pass = sweep_viewers(&state, config.viewer_sweep_batch).await?;
                if pass.expired > 0 {
                    tracing::debug!(?pass, "viewer sweep");
                }
                Ok(pass.more)
            },
        );
        let webhooks = every(
            &shutdown,
            sender.config().poll_interval,
            "webhook delivery",
            || async {
                let attempted = sender.deliver_due(&state.pool).await?;
                Ok(attempted >= sender.config().batch as usize)
            },
        );
        let prune = every(
            &shutdown,
            config.event_prune_interval,
            "event pruning",
            || {
                state.events.prune();
                std::future::ready(Ok(false))
            },
        );
        tokio::join!(viewers, webhooks, prune);
        tracing::info!("background tasks stopped");
    }))
}

/// Runs `work` until shutdown: again at once while it reports more to do,
/// otherwise after `pause`. A failure (the database down, typically) is
/// logged and retried after the pause.
async fn every<F, Fut>(shutdown: &CancellationToken, pause: Duration, name: &str, mut work: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, sqlx::Error>>,
{
    loop {
        let more = tokio::select! {
            () = shutdown.cancelled() => return,
            result = work() => match result {
                Ok(more) => more,
                Err(error) => {
                    tracing::warn!("{name} failed: {error}");
                    false
                }
            },
        };
        if more {
            // Yield so a backlog cannot starve the other tasks on this one.
            tokio::task::yield_now().await;
            continue;
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}
