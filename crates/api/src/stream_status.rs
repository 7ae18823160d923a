//! The live/ended status of streams, written by the server as publishers
//! come and go. Each write is one transaction that changes the status only
//! if it differs, and queues the owner's webhooks only then, so the server
//! may retry it after a database blip.

use chrono::{DateTime, Utc};
use nova_media::StreamId;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::webhooks::{WebhookEvent, enqueue};

/// `GREATEST` keeps `ended_at >= started_at` (a schema rule) even if the
/// database clock stepped back while the stream was live: a status write
/// that violated it would fail on every retry and leave the stream live.
macro_rules! end_live_streams_where {
    ($condition:literal) => {
        concat!(
            "UPDATE live_streams ",
            "SET status = 'ended', ended_at = GREATEST(now(), started_at) ",
            "WHERE status = 'live' AND ",
            $condition
        )
    };
}

/// What a status change reports to the owner's webhooks.
#[derive(sqlx::FromRow)]
struct Changed {
    id: Uuid,
    owner_id: Uuid,
    title: String,
    started_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
}

impl Changed {
    fn data(&self) -> Value {
        json!({
            "stream_id": self.id,
            "title": self.title,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
        })
    }
}

macro_rules! returning_changed {
    () => {
        " RETURNING id, owner_id, title, started_at, ended_at"
    };
}

/// The stream went live: status `live`, `started_at` now, `ended_at` cleared,
/// and `stream.started` queued for the owner's webhooks in the same
/// transaction.
///
/// Marking a stream that is already live changes nothing and queues
/// nothing: a publisher that reconnects or takes over continues the same
/// session, and a retried write does not announce it twice.
pub async fn mark_stream_live(pool: &PgPool, stream: StreamId) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let changed = sqlx::query_as::<_, Changed>(concat!(
        "UPDATE live_streams SET status = 'live', started_at = now(), ended_at = NULL \
         WHERE id = $1 AND status <> 'live'",
        returning_changed!()
    ))
    .bind(stream.0)
    .fetch_optional(&mut *tx)
    .await?;
    match changed {
        Some(changed) => {
            enqueue(
                &mut tx,
                changed.owner_id,
                WebhookEvent::StreamStarted,
                &changed.data(),
            )
            .await?;
        }
        None => {
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM live_streams WHERE id = $1)")
                    .bind(stream.0)
                    .fetch_one(&mut *tx)
                    .await?;
            if !exists {
                // Deleted while it was being published; retrying cannot help.
                tracing::warn!(%stream, "cannot mark a stream live: it no longer exists");
            }
        }
    }
    tx.commit().await
}

/// The stream ended: status `ended`, `ended_at` now, and `stream.ended`
/// queued for the owner's webhooks in the same transaction. Only a live
/// stream can end; for any other the call does nothing.
pub async fn mark_stream_ended(pool: &PgPool, stream: StreamId) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let changed = sqlx::query_as::<_, Changed>(concat!(
        end_live_streams_where!("id = $1"),
        returning_changed!()
    ))
    .bind(stream.0)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(changed) = changed {
        enqueue(
            &mut tx,
            changed.owner_id,
            WebhookEvent::StreamEnded,
            &changed.data(),
        )
        .await?;
    }
    tx.commit().await
}

/// At startup, before any publisher is accepted: streams still `live` were
/// left so by a process that stopped without ending them, so they are over
/// (and their owners' webhooks hear `stream.ended`). Returns how many there
/// were.
///
/// This assumes one ingest node per database; several nodes will need the
/// per-stream lease the architecture describes before they can share one.
pub async fn end_orphaned_live_streams(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let ended = sqlx::query_as::<_, Changed>(concat!(
        end_live_streams_where!("TRUE"),
        returning_changed!()
    ))
    .fetch_all(&mut *tx)
    .await?;
    for changed in &ended {
        enqueue(
            &mut tx,
            changed.owner_id,
            WebhookEvent::StreamEnded,
            &changed.data(),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(ended.len() as u64)
}
