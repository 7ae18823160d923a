//! The RTMP ingest's question "may this key publish?", answered from
//! `live_streams`.

use std::sync::Arc;

use async_trait::async_trait;
use nova_media::{
    PublishAuthorizer, PublishGrant, PublishRejection, PublishRequest, StreamId, StreamSettings,
};
use serde_json::Value;
use sqlx::PgPool;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::admission::{Admission, AdmissionLimits, LiveStreams};
use crate::stream_key::PresentedKey;
use crate::stream_settings::StreamOverrides;

/// The one RTMP application streams publish to: `rtmp://host/live/<key>`.
const INGEST_APP: &str = "live";

/// Compared against when the key id matches no stream, so an unknown id
/// costs the same work as a wrong secret.
const NO_STREAM_HASH: [u8; 32] = [0; 32];

pub struct PgPublishAuthorizer {
    pool: PgPool,
    defaults: StreamSettings,
    admission: Option<Admission>,
}

impl PgPublishAuthorizer {
    /// `defaults` are the server's packaging settings; each stream's stored
    /// settings override them. `pool` should be one anonymous traffic
    /// cannot exhaust (the server gives it a reserved one).
    pub fn new(pool: PgPool, defaults: StreamSettings) -> Self {
        Self {
            pool,
            defaults,
            admission: None,
        }
    }

    /// Refuses publishes over `limits`, counting the streams `live` lists.
    #[must_use]
    pub fn with_admission(mut self, limits: AdmissionLimits, live: Arc<dyn LiveStreams>) -> Self {
        self.admission = Some(Admission::new(limits, live));
        self
    }
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: Uuid,
    owner_id: Uuid,
    stream_key_hash: Vec<u8>,
    settings: Value,
    disabled: bool,
}

#[async_trait]
impl PublishAuthorizer for PgPublishAuthorizer {
    async fn authorize(&self, request: &PublishRequest) -> Result<PublishGrant, PublishRejection> {
        if request.app != INGEST_APP {
            tracing::info!(?request, "publish refused: unknown application");
            return Err(PublishRejection::UnknownApp(request.app.clone()));
        }
        let Some(key) = PresentedKey::parse(&request.stream_key) else {
            tracing::info!(?request, "publish refused: malformed stream key");
            return Err(PublishRejection::InvalidKey);
        };
        let row = sqlx::query_as::<_, KeyRow>(
            "SELECT id, owner_id, stream_key_hash, settings, disabled_at IS NOT NULL AS disabled \
             FROM live_streams WHERE stream_key_id = $1",
        )
        .bind(key.key_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|error| {
            tracing::error!(
                ?request,
                key_id = key.key_id,
                "publish refused: cannot look up stream key: {error}"
            );
            PublishRejection::Unavailable
        })?;

        let stored = row
            .as_ref()
            .map_or(&NO_STREAM_HASH[..], |row| &row.stream_key_hash[..]);
        let secret_matches = bool::from(stored.ct_eq(&key.secret_hash()[..]));
        let row = match row {
            Some(row) if secret_matches => row,
            found => {
                let reason = if found.is_some() {
                    "wrong secret"
                } else {
                    "unknown key id"
                };
                tracing::info!(
                    ?request,
                    key_id = key.key_id,
                    reason,
                    "publish refused: invalid stream key"
                );
                return Err(PublishRejection::InvalidKey);
            }
        };
        let stream = StreamId(row.id);
        // Checked only after the secret, so a disabled stream is revealed
        // only to someone who holds its key.
        if row.disabled {
            tracing::info!(?request, %stream, "publish refused: stream disabled");
            return Err(PublishRejection::Disabled);
        }

        if let Some(admission) = &self.admission {
            admission.admit(&self.pool, stream, row.owner_id).await?;
        }

        let (overrides, warnings) = StreamOverrides::from_stored(&row.settings);
        for warning in warnings {
            tracing::warn!(%stream, "stored stream settings: {warning}");
        }
        tracing::info!(?request, %stream, "publish authorized");
        Ok(PublishGrant {
            stream_id: stream,
            settings: overrides.apply(&self.defaults),
        })
    }
}
