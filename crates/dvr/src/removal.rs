//! Deleting recordings: their objects first, then their rows, so a row
//! never outlives the object it names by more than a retried delete, and a
//! failure leaves the recording hidden (`deleting`) for the next sweep.

use std::time::Duration;

use nova_media::{ObjectStore, ObjectStoreError};
use sqlx::PgPool;
use uuid::Uuid;

use crate::index;

#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    #[error("the object store: {0}")]
    Store(#[from] ObjectStoreError),
    #[error("the recording index: {0}")]
    Index(#[from] sqlx::Error),
}

/// Deletes a recording already marked `deleting`: its objects in batches
/// (S3 `DeleteObjects` takes 1,000 keys), then its rows and clips.
pub async fn delete_recording(
    pool: &PgPool,
    store: &dyn ObjectStore,
    recording: Uuid,
) -> Result<(), DeleteError> {
    let keys = index::object_keys(pool, recording).await?;
    for batch in keys.chunks(1000) {
        store.delete_many(batch).await?;
    }
    index::delete_rows(pool, recording).await?;
    Ok(())
}

/// How the retention task runs.
#[derive(Clone, Copy, Debug)]
pub struct RetentionConfig {
    pub interval: Duration,
    /// Recordings deleted per pass, so one pass never holds the store or
    /// the database for long.
    pub batch: i64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            batch: 20,
        }
    }
}

/// One pass: deletes up to `batch` expired (or half-deleted) recordings.
/// Never touches a recording that is still being made. Returns how many
/// were deleted.
pub async fn sweep_expired(
    pool: &PgPool,
    store: &dyn ObjectStore,
    batch: i64,
) -> Result<usize, DeleteError> {
    let mut deleted = 0;
    for recording in index::expired(pool, batch).await? {
        if !index::mark_deleting(pool, recording).await? {
            continue;
        }
        delete_recording(pool, store, recording).await?;
        tracing::info!(%recording, "recording deleted by retention");
        deleted += 1;
    }
    Ok(deleted)
}

/// Runs [`sweep_expired`] every `interval` until `shutdown` resolves.
pub async fn run_retention(
    pool: PgPool,
    store: std::sync::Arc<dyn ObjectStore>,
    config: RetentionConfig,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    let mut ticker = tokio::time::interval(config.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            _ = ticker.tick() => {}
        }
        if let Err(error) = sweep_expired(&pool, store.as_ref(), config.batch).await {
            tracing::warn!("retention pass stopped early; the next one retries: {error}");
        }
    }
}
