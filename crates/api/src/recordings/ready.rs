//! `recording.ready`: told to the stream owner's webhooks when a recording
//! becomes playable as VOD.

use serde_json::json;
use sqlx::PgPool;

use crate::config::ApiConfig;
use crate::webhooks::{WebhookEvent, enqueue};

/// Queues `recording.ready` for the owner of the recording's stream. Returns
/// how many deliveries were queued.
pub async fn notify_recording_ready(
    pool: &PgPool,
    config: &ApiConfig,
    recording: &nova_dvr::index::RecordingRow,
) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let owner: Option<uuid::Uuid> =
        sqlx::query_scalar("SELECT owner_id FROM live_streams WHERE id = $1")
            .bind(recording.stream_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(owner) = owner else {
        return Ok(0);
    };
    let data = json!({
        "recording_id": recording.id,
        "stream_id": recording.stream_id,
        "state": recording.state,
        "started_at": recording.started_at,
        "ended_at": recording.ended_at,
        "duration_ms": recording.duration_ms,
        "byte_size": recording.byte_size,
        "hls_url": format!("{}/vod/{}/master.m3u8", config.base_url(), recording.id),
    });
    let queued = enqueue(&mut tx, owner, WebhookEvent::RecordingReady, &data).await?;
    tx.commit().await?;
    Ok(queued)
}
