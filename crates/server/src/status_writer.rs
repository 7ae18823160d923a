//! Writes stream status changes (live, ended) to Postgres in the order they
//! happened, off the ingest path: the hub reports synchronously and never
//! waits for the database. Each change is then announced on the live event
//! bus as `status_changed`.

use std::sync::Arc;
use std::time::Duration;

use nova_api::{BroadcastStatus, EventBus, EventPayload, StatusChangedEvent};
use nova_media::StreamId;
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusChange {
    Live,
    Ended,
}

impl StatusChange {
    /// The `status_changed` event that announces it.
    fn event(self) -> EventPayload {
        let status = match self {
            Self::Live => BroadcastStatus::Live,
            Self::Ended => BroadcastStatus::Ended,
        };
        EventPayload::StatusChanged(StatusChangedEvent { status })
    }
}

#[derive(Clone)]
pub struct StatusWriter {
    sender: mpsc::UnboundedSender<(StreamId, StatusChange)>,
}

/// The writer's queue, until [`StatusQueue::spawn`] starts writing it.
pub struct StatusQueue(mpsc::UnboundedReceiver<(StreamId, StatusChange)>);

impl StatusWriter {
    /// The writer and its queue. They are made apart because the hub needs
    /// its observer (the packager supervisor, which records changes) before
    /// the API state and its event bus exist; nothing is recorded before the
    /// ingest listens.
    pub fn new() -> (Self, StatusQueue) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (Self { sender }, StatusQueue(receiver))
    }

    pub fn record(&self, stream: StreamId, change: StatusChange) {
        if self.sender.send((stream, change)).is_err() {
            tracing::error!(%stream, ?change, "status writer is gone; status not recorded");
        }
    }
}

impl StatusQueue {
    /// The task ends once every `StatusWriter` clone is dropped and the queue is written.
    #[cfg(test)]
    fn spawn(self, pool: PgPool, events: Arc<EventBus>) -> JoinHandle<()> {
        self.restartable(pool, events)()
    }

    /// Starts a writer each time it is called; they take turns at the
    /// queue, so a writer that panics leaves the queue to its successor
    /// (the supervisor's restart) with only the change it was writing lost.
    pub fn restartable(
        self,
        pool: PgPool,
        events: Arc<EventBus>,
    ) -> impl FnMut() -> JoinHandle<()> + Send + 'static {
        let StatusQueue(receiver) = self;
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        move || {
            let (receiver, pool, events) = (receiver.clone(), pool.clone(), events.clone());
            tokio::spawn(async move {
                let mut receiver = receiver.lock().await;
                while let Some((stream, change)) = receiver.recv().await {
                    write_with_retries(&pool, stream, change).await;
                    // After the write, so a client that reacts by reading the
                    // stream sees the new status; announced even if the write
                    // was given up, because it did happen on the ingest.
                    events.publish(stream.0, change.event());
                }
            })
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

#[cfg(test)]
mod tests {
    use nova_api::{EventBus, EventType};
    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    async fn status(pool: &PgPool, stream: StreamId) -> String {
        sqlx::query_scalar("SELECT status FROM live_streams WHERE id = $1")
            .bind(stream.0)
            .fetch_one(pool)
            .await
            .unwrap()
    }

    #[sqlx::test(migrator = "nova_schema::MIGRATOR")]
    async fn changes_are_written_in_order_then_announced(pool: PgPool) {
        let stream = StreamId::new_random();
        sqlx::query(
            "INSERT INTO live_streams (id, owner_id, title, stream_key_id, stream_key_hash) \
             VALUES ($1, $2, 'Status', 'keyidkeyid01', decode(repeat('00', 32), 'hex'))",
        )
        .bind(stream.0)
        .bind(Uuid::new_v4())
        .execute(&pool)
        .await
        .unwrap();
        let events = Arc::new(EventBus::default());
        let mut feed = events.subscribe(stream.0, None).receiver;
        let (writer, queue) = StatusWriter::new();
        // Recorded before the queue is written: kept, not lost.
        writer.record(stream, StatusChange::Live);
        let task = queue.spawn(pool.clone(), events.clone());

        let live = feed.recv().await.unwrap();
        assert_eq!(live.kind(), EventType::StatusChanged);
        assert_eq!(live.data(), json!({ "status": "live" }));
        assert_eq!(
            status(&pool, stream).await,
            "live",
            "written before it is announced"
        );

        writer.record(stream, StatusChange::Ended);
        let ended = feed.recv().await.unwrap();
        assert_eq!(ended.kind(), EventType::StatusChanged);
        assert_eq!(ended.data(), json!({ "status": "ended" }));
        assert!(ended.id > live.id);
        assert_eq!(status(&pool, stream).await, "ended");

        drop(writer);
        task.await.unwrap();
    }
}
