//! Stored objects → index rows, and finished recordings.

use std::sync::Arc;
use std::time::Duration;

use nova_media::{ObjectStore, ObjectStoreError};
use sqlx::PgPool;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::tag::UploadTag;
use super::{RecorderConfig, RecordingObserver};
use crate::index;
use crate::uploader::Completion;

pub(super) async fn run(
    pool: PgPool,
    mut completions: mpsc::UnboundedReceiver<Completion>,
    config: RecorderConfig,
    observer: Arc<dyn RecordingObserver>,
) {
    while let Some(completion) = completions.recv().await {
        if let Err(error) = &completion.result {
            tracing::error!(key = %completion.key, "the store refused a recording object for good; it is not indexed: {error}");
            continue;
        }
        match UploadTag::from_value(completion.tag) {
            Some(UploadTag::Segment(segment)) => {
                retry("indexing a segment", || index::add_segment(&pool, &segment)).await;
            }
            Some(UploadTag::Finish { recording }) => {
                let finished = retry("finishing a recording", || {
                    index::finish_recording(&pool, recording, config.default_retention_days)
                })
                .await;
                if let Some(row) = finished {
                    tracing::info!(%recording, state = ?row.state, duration_ms = row.duration_ms, segments = row.segment_count, "recording finished");
                    observer.recording_ready(&row);
                }
            }
            Some(UploadTag::Init {
                description: Some(init),
            }) => {
                retry("indexing an init segment", || index::add_init(&pool, &init)).await;
            }
            Some(UploadTag::Init { description: None } | UploadTag::Playlist) => {}
            None => {
                tracing::warn!(key = %completion.key, "an upload with a tag this version does not know")
            }
        }
    }
}

/// Retries a database write until it succeeds: the object is stored, so its
/// row must follow, even after a database outage.
async fn retry<T, F, Fut>(what: &str, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let mut delay = Duration::from_millis(200);
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(error) => {
                tracing::warn!("{what} failed, retrying: {error}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// After a crash: drops the rows of `recording` whose objects are not in
/// the store (a lost disk, a bucket emptied by hand), so nothing is listed
/// that cannot be served. Returns how many rows went.
pub async fn reconcile_recording(
    pool: &PgPool,
    store: &dyn ObjectStore,
    recording: Uuid,
) -> Result<u64, ReconcileError> {
    let mut removed = 0;
    for rendition in index::renditions(pool, recording).await? {
        for row in index::segments(pool, recording, &rendition.rendition).await? {
            let mut present = store.head(&row.object_key).await?.is_some();
            if let Some(init) = &row.init_object_key {
                present = present && store.head(init).await?.is_some();
            }
            if !present {
                index::remove_segment(pool, recording, &row).await?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("the object store: {0}")]
    Store(#[from] ObjectStoreError),
    #[error("the recording index: {0}")]
    Index(#[from] sqlx::Error),
}
