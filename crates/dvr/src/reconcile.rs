//! After a crash: the index and the store agree again. A recording the
//! crash left `recording` is closed at its last indexed segment by
//! [`crate::index::recover_interrupted`]; its rows whose objects never
//! reached the store are dropped here, so nothing is listed that cannot be
//! served.

use std::sync::Arc;

use nova_media::{ObjectStore, ObjectStoreError};
use sqlx::PgPool;
use uuid::Uuid;

use crate::RecordingObserver;
use crate::index::{self, RecordingRow, RecordingState};

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("the object store: {0}")]
    Store(#[from] ObjectStoreError),
    #[error("the recording index: {0}")]
    Index(#[from] sqlx::Error),
}

/// Drops the rows of `recording` whose objects are not in the store (a lost
/// disk, a bucket emptied by hand). Returns how many rows went.
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

/// Reconciles each recording [`index::recover_interrupted`] closed, then
/// tells `observer` about those that are playable. A store that does not
/// answer leaves a recording's rows as they are (logged), rather than
/// dropping rows whose objects may well be there.
pub async fn reconcile_recovered(
    pool: PgPool,
    store: Arc<dyn ObjectStore>,
    recovered: Vec<RecordingRow>,
    observer: Arc<dyn RecordingObserver>,
) {
    for row in recovered {
        match reconcile_recording(&pool, store.as_ref(), row.id).await {
            Ok(0) => {}
            Ok(removed) => {
                tracing::warn!(recording = %row.id, removed, "segments whose objects never arrived are no longer listed")
            }
            Err(error) => {
                tracing::warn!(recording = %row.id, "cannot check the recording's objects now: {error}")
            }
        }
        if row.state == RecordingState::Complete {
            observer.recording_ready(&row);
        }
    }
}
