//! After a crash: the recordings left `recording` are closed at their last
//! indexed segment, rows whose objects are missing go, and the playable
//! recordings are announced.

use std::sync::{Arc, Mutex};

use nova_dvr::index::{self, RecordingRow, RecordingState};
use nova_dvr::{FsObjectStore, RecordingObserver};
use nova_media::ObjectStore;
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{record, segment_key, stream};

#[derive(Default)]
struct Announced(Mutex<Vec<Uuid>>);

impl RecordingObserver for Announced {
    fn recording_ready(&self, recording: &RecordingRow) {
        self.0.lock().unwrap().push(recording.id);
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn a_crash_leaves_only_rows_whose_objects_are_stored(pool: PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsObjectStore::new(dir.path()));
    let recorded = stream(&pool, "{}").await;
    // Interrupted: never finished. Segment 1's object is lost (a disk
    // replaced, a bucket emptied by hand).
    let interrupted = record(&pool, &store, recorded, 3, true).await;
    store
        .delete_many(&[segment_key(recorded, interrupted, 1)])
        .await
        .unwrap();
    // Interrupted before any segment was indexed: nothing to play.
    let empty = index::open_recording(&pool, stream(&pool, "{}").await)
        .await
        .unwrap();

    let mut recovered = index::recover_interrupted(&pool).await.unwrap();
    recovered.sort_by_key(|row| row.id != interrupted);
    let states: Vec<_> = recovered.iter().map(|row| (row.id, row.state)).collect();
    assert_eq!(
        states,
        [
            (interrupted, RecordingState::Complete),
            (empty, RecordingState::Failed)
        ]
    );

    let announced = Arc::new(Announced::default());
    nova_dvr::reconcile_recovered(pool.clone(), store.clone(), recovered, announced.clone()).await;
    let listed: Vec<i64> = index::segments(&pool, interrupted, "source")
        .await
        .unwrap()
        .iter()
        .map(|row| row.sequence)
        .collect();
    assert_eq!(listed, [0, 2]);
    let row = index::recording(&pool, interrupted).await.unwrap().unwrap();
    assert_eq!((row.segment_count, row.byte_size), (2, 2_000));
    assert_eq!(*announced.0.lock().unwrap(), [interrupted]);
    // Nothing left to drop: a second pass removes nothing.
    assert_eq!(
        nova_dvr::reconcile_recording(&pool, store.as_ref(), interrupted)
            .await
            .unwrap(),
        0
    );
}
