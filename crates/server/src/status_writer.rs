//! Writes stream status changes (live, ended) to Postgres in the order they
//! happened, off the ingest path: the hub reports synchronously and never
//! waits for the database.

use std::time::Duration;

use nova_media::StreamId;
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

#[derive(Clone, Copy, Debug)]
pub enum StatusChange {
    Live,
    Ended,
}

#[derive(Clone)]
pub struct StatusWriter {
    sender: mpsc::UnboundedSender<(StreamId, StatusChange)>,
}

impl StatusWriter {
    /// The task ends once every `StatusWriter` clone is dropped and the queue is written.
    pub fn spawn(pool: PgPool) -> (Self, JoinHandle<()>) {
        let (sender, mut receiver) = mpsc::unbounded_channel::<(StreamId, StatusChange)>();
        let task = tokio::spawn(async move {
            while let Some((stream, change)) = receiver.recv().await {
                write_with_retries(&pool, stream, change).await;
            }
        });
        (Self { sender }, task)
    }

    pub fn record(&self, stream: StreamId, change: StatusChange) {
        if self.sender.send((stream, change)).is_err() {
            tracing::error!(%stream, ?change, "status writer is gone; status not recorded");
        }
    }
}

/// A database blip must not leave a stream shown as live forever, so each
/// change is retried for about a minute before it is given up (and logged).
async fn write_with_retries(pool: &PgPool, stream: StreamId, change: StatusChange) {
    let mut delay = Duration::from_millis(200);
    for attempt in 1..=8 {
        let result = match change {
            StatusChange::Live => nova_api::mark_stream_live(pool, stream).await,
            StatusChange::Ended => nova_api::mark_stream_ended(pool, stream).await,
        };
        match result {
            Ok(()) => {
                tracing::info!(%stream, ?change, "stream status recorded");
                return;
            }
            Err(error) => {
                tracing::warn!(%stream, ?change, attempt, "recording stream status failed: {error}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(15));
            }
        }
    }
    tracing::error!(%stream, ?change, "gave up recording stream status");
}
