//! `recording.paused` and `recording.resumed`: told to the stream owner's
//! webhooks when the server stops storing a live recording's segments (a
//! full disk or upload spool; live playback goes on) and when it starts
//! again. The recording keeps what was stored and gets a gap.

use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::webhooks::{WebhookEvent, enqueue};

/// Queues `recording.paused`, with the operator-facing `reason`.
pub async fn notify_recording_paused(
    pool: &PgPool,
    stream: Uuid,
    recording: Uuid,
    reason: &str,
) -> Result<u64, sqlx::Error> {
    let data = json!({
        "recording_id": recording,
        "stream_id": stream,
        "reason": reason,
    });
    notify(pool, stream, WebhookEvent::RecordingPaused, &data).await
}

/// Queues `recording.resumed`, with how many segments the gap left out.
pub async fn notify_recording_resumed(
    pool: &PgPool,
    stream: Uuid,
    recording: Uuid,
    skipped_segments: u64,
) -> Result<u64, sqlx::Error> {
    let data = json!({
        "recording_id": recording,
        "stream_id": stream,
        "skipped_segments": skipped_segments,
    });
    notify(pool, stream, WebhookEvent::RecordingResumed, &data).await
}

async fn notify(
    pool: &PgPool,
    stream: Uuid,
    event: WebhookEvent,
    data: &Value,
) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let owner: Option<Uuid> = sqlx::query_scalar("SELECT owner_id FROM live_streams WHERE id = $1")
        .bind(stream)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(owner) = owner else {
        return Ok(0);
    };
    let queued = enqueue(&mut tx, owner, event, data).await?;
    tx.commit().await?;
    Ok(queued)
}
