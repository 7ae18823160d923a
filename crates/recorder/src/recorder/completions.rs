//! Stored objects → index rows, and finished recordings.

use std::sync::Arc;
use std::time::Duration;

use nova_dvr::{RecordingObserver, index};
use sqlx::PgPool;
use tokio::sync::mpsc;

use super::RecorderConfig;
use super::tag::UploadTag;
use crate::uploader::Completion;

pub(super) async fn run(
    pool: PgPool,
    mut completions: mpsc::UnboundedReceiver<Completion<UploadTag>>,
    config: RecorderConfig,
    observer: Arc<dyn RecordingObserver>,
) {
    while let Some(completion) = completions.recv().await {
        if let Err(error) = &completion.result {
            tracing::error!(key = %completion.key, "the store refused a recording object for good; it is not indexed: {error}");
            continue;
        }
        match completion.tag {
            UploadTag::Segment(segment) => {
                retry("indexing a segment", || index::add_segment(&pool, &segment)).await;
            }
            UploadTag::Finish { recording } => {
                let finished = retry("finishing a recording", || {
                    index::finish_recording(&pool, recording, config.default_retention_days)
                })
                .await;
                if let Some(row) = finished {
                    tracing::info!(%recording, state = ?row.state, duration_ms = row.duration_ms, segments = row.segment_count, "recording finished");
                    observer.recording_ready(&row);
                }
            }
            UploadTag::Init {
                description: Some(init),
            } => {
                retry("indexing an init segment", || index::add_init(&pool, &init)).await;
            }
            UploadTag::Init { description: None } | UploadTag::Playlist => {}
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
