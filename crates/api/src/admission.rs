//! How many streams may be live at once, on the server and per owner:
//! asked by the publish authorizer once a key is good. Streams already
//! live (a publisher coming back within its reconnect window, or taking a
//! stream over) add nothing and are always let in.
//!
//! Decisions are taken one at a time, and a grant is counted at once (for
//! `GRANT_HOLD`, until the hub lists the stream), so two publishers racing
//! for the last place cannot both get it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nova_media::{PublishRejection, StreamId};
use sqlx::PgPool;
use tokio::sync::Mutex;
use uuid::Uuid;

/// The streams live on this server now: the ingest hub's, waiting in their
/// reconnect window included.
pub trait LiveStreams: Send + Sync {
    fn live_streams(&self) -> Vec<StreamId>;
}

/// 0: no limit.
#[derive(Clone, Copy, Debug, Default)]
pub struct AdmissionLimits {
    pub max_live_streams: usize,
    pub max_live_streams_per_owner: usize,
}

/// A granted publish reaches the hub within milliseconds; if it never
/// does (its connection dropped), its place is free again after this.
const GRANT_HOLD: Duration = Duration::from_secs(10);

pub(crate) struct Admission {
    limits: AdmissionLimits,
    live: Arc<dyn LiveStreams>,
    /// Granted lately, perhaps not yet in the hub; also the decision lock.
    granted: Mutex<Vec<(StreamId, Instant)>>,
}

impl Admission {
    pub fn new(limits: AdmissionLimits, live: Arc<dyn LiveStreams>) -> Self {
        Self {
            limits,
            live,
            granted: Mutex::new(Vec::new()),
        }
    }

    /// Lets `stream` of `owner` go live, or says which limit it is over.
    pub async fn admit(
        &self,
        pool: &PgPool,
        stream: StreamId,
        owner: Uuid,
    ) -> Result<(), PublishRejection> {
        let mut granted = self.granted.lock().await;
        let now = Instant::now();
        granted.retain(|(_, at)| now.duration_since(*at) < GRANT_HOLD);
        let mut live: HashSet<StreamId> = self.live.live_streams().into_iter().collect();
        live.extend(granted.iter().map(|(id, _)| *id));
        if live.contains(&stream) {
            return Ok(());
        }
        let AdmissionLimits {
            max_live_streams,
            max_live_streams_per_owner,
        } = self.limits;
        if max_live_streams > 0 && live.len() >= max_live_streams {
            tracing::warn!(%stream, live = live.len(), "publish refused: --max-live-streams reached");
            return Err(PublishRejection::ServerFull(max_live_streams));
        }
        if max_live_streams_per_owner > 0 && !live.is_empty() {
            let ids: Vec<Uuid> = live.iter().map(|id| id.0).collect();
            let owned: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM live_streams WHERE owner_id = $1 AND id = ANY($2)",
            )
            .bind(owner)
            .bind(&ids)
            .fetch_one(pool)
            .await
            .map_err(|error| {
                tracing::error!(%stream, "publish refused: cannot count the owner's live streams: {error}");
                PublishRejection::Unavailable
            })?;
            if usize::try_from(owned).unwrap_or(usize::MAX) >= max_live_streams_per_owner {
                tracing::info!(%stream, %owner, owned, "publish refused: the owner's live-stream quota is reached");
                return Err(PublishRejection::OwnerQuota(max_live_streams_per_owner));
            }
        }
        granted.push((stream, now));
        Ok(())
    }
}
