//! Retention: expired recordings go, objects first, a batch at a time.

use nova_dvr::FsObjectStore;
use nova_dvr::index::{self, RecordingState};
use nova_media::ObjectStore;
use sqlx::PgPool;

use crate::support::{record, stream};

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn retention_deletes_expired_recordings_in_batches_and_never_a_live_one(pool: PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let store = FsObjectStore::new(dir.path());
    // Set by the owner (through the API: see its recordings tests): kept 3
    // days from the end.
    let stream = stream(&pool, r#"{ "recording_retention_days": 3 }"#).await;
    let first = record(&pool, &store, stream, 2, false).await;
    let row = index::recording(&pool, first).await.unwrap().unwrap();
    let kept = row.expires_at.unwrap() - row.ended_at.unwrap();
    assert_eq!(kept.num_days(), 3);
    let second = record(&pool, &store, stream, 2, false).await;
    let live = record(&pool, &store, stream, 2, true).await;
    sqlx::query("UPDATE stream_recordings SET expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(nova_dvr::sweep_expired(&pool, &store, 1).await.unwrap(), 1);
    assert_eq!(nova_dvr::sweep_expired(&pool, &store, 10).await.unwrap(), 1);
    assert_eq!(nova_dvr::sweep_expired(&pool, &store, 10).await.unwrap(), 0);
    for gone in [first, second] {
        assert!(index::recording(&pool, gone).await.unwrap().is_none());
    }
    let still = index::recording(&pool, live).await.unwrap().unwrap();
    assert_eq!(still.state, RecordingState::Recording);
    let left = store.list("recordings/").await.unwrap();
    assert_eq!(
        left.len(),
        3,
        "the live recording's init and 2 segments: {left:?}"
    );
    assert!(left.iter().all(|key| key.contains(&live.to_string())));
}
