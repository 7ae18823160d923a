//! A stream to record, and recordings stored and indexed.

use bytes::Bytes;
use chrono::Utc;
use nova_dvr::FsObjectStore;
use nova_dvr::index::{self, NewSegment};
use nova_media::{ObjectMeta, ObjectStore, StreamId};
use sqlx::PgPool;
use uuid::Uuid;

/// A stream row with `settings` (a JSON object), as the API creates one.
pub async fn stream(pool: &PgPool, settings: &str) -> Uuid {
    sqlx::query_scalar(
        "INSERT INTO live_streams (owner_id, title, stream_key_id, stream_key_hash, settings) \
         SELECT gen_random_uuid(), 'Recorded', key, sha256(convert_to(key, 'UTF8')), $1::jsonb \
         FROM (SELECT replace(gen_random_uuid()::text, '-', '') AS key) k \
         RETURNING id",
    )
    .bind(settings)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The key of segment `sequence` of a recording [`record`] wrote.
pub fn segment_key(stream: Uuid, recording: Uuid, sequence: i64) -> String {
    nova_dvr::keys::object_key(
        StreamId(stream),
        recording,
        "source",
        &format!("r-{sequence}.m4s"),
    )
}

/// A recording of `segments` 2 s segments, stored and indexed; finished
/// unless `live`.
pub async fn record(
    pool: &PgPool,
    store: &FsObjectStore,
    stream: Uuid,
    segments: i64,
    live: bool,
) -> Uuid {
    let recording = index::open_recording(pool, stream).await.unwrap();
    let init_key = nova_dvr::keys::object_key(StreamId(stream), recording, "source", "r-init1.mp4");
    let meta = ObjectMeta::new("video/mp4", "public, max-age=31536000, immutable");
    store
        .put(&init_key, Bytes::from_static(b"init"), &meta)
        .await
        .unwrap();
    for sequence in 0..segments {
        let key = segment_key(stream, recording, sequence);
        store
            .put(&key, Bytes::from(vec![7u8; 1000]), &meta)
            .await
            .unwrap();
        let inserted = index::add_segment(
            pool,
            &NewSegment {
                stream_id: stream,
                recording_id: recording,
                rendition: "source".into(),
                sequence,
                media_start_ms: 500 + sequence * 2_000,
                program_date_time: Utc::now(),
                duration_ms: 2_000,
                byte_size: 1000,
                object_key: key,
                init_object_key: Some(init_key.clone()),
                container: "fmp4".into(),
                discontinuity: false,
                base_decode_time: Some(1_000 + sequence * 2_000),
            },
        )
        .await
        .unwrap();
        assert!(inserted);
    }
    if !live {
        index::finish_recording(pool, recording, None)
            .await
            .unwrap()
            .unwrap();
    }
    recording
}
