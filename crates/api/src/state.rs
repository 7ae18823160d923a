use std::sync::Arc;
use std::time::Duration;

use nova_media::{LivePlayback, ObjectStore};
use sqlx::PgPool;
use uuid::Uuid;

use crate::client_address::{AddressSlots, ClientAddress};
use crate::error::ApiError;
use crate::event_bus::EventBus;
use crate::live_control::LiveControl;
use crate::rate_limit::{RateLimit, RateLimiter};
use crate::viewers::ViewerTally;
use crate::{ApiConfig, JwtKeys, Readiness};

/// Everything a request handler may need; cheap to clone (all shared).
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub jwt: Arc<JwtKeys>,
    pub config: Arc<ApiConfig>,
    pub playback: Arc<dyn LivePlayback>,
    pub readiness: Arc<Readiness>,
    pub live: Arc<dyn LiveControl>,
    pub events: Arc<EventBus>,
    /// Where recordings are stored; `None` when recording is off.
    pub recordings: Option<Arc<dyn ObjectStore>>,
    /// Chat messages per (stream, user).
    pub(crate) chat_limiter: Arc<RateLimiter<(Uuid, Uuid)>>,
    /// Viewer sessions started per client address.
    pub(crate) viewer_join_limiter: Arc<RateLimiter<ClientAddress>>,
    /// Live event feeds held per client address.
    pub(crate) feed_slots: Arc<AddressSlots>,
    /// The open viewer sessions this node started (`nova_viewers`).
    pub(crate) viewer_tally: Arc<ViewerTally>,
}

impl AppState {
    pub fn new(
        pool: PgPool,
        jwt: Arc<JwtKeys>,
        config: ApiConfig,
        playback: Arc<dyn LivePlayback>,
        readiness: Arc<Readiness>,
        live: Arc<dyn LiveControl>,
    ) -> Self {
        let chat_limiter = Arc::new(RateLimiter::new(config.chat.rate_limit));
        let limits = &config.limits;
        let viewer_join_limiter = Arc::new(RateLimiter::new(RateLimit {
            burst: limits.viewer_joins_per_minute,
            period: Duration::from_secs(60),
        }));
        let feed_slots = Arc::new(AddressSlots::new(limits.event_feeds_per_address));
        Self {
            pool,
            jwt,
            config: Arc::new(config),
            playback,
            readiness,
            live,
            events: Arc::new(EventBus::default()),
            recordings: None,
            chat_limiter,
            viewer_join_limiter,
            feed_slots,
            viewer_tally: Arc::default(),
        }
    }

    /// Serves and deletes recordings from `store`.
    pub fn with_recordings(mut self, store: Arc<dyn ObjectStore>) -> Self {
        self.recordings = Some(store);
        self
    }

    pub(crate) fn recording_store(&self) -> Result<Arc<dyn ObjectStore>, ApiError> {
        self.recordings.clone().ok_or_else(|| {
            ApiError::StorageUnavailable("recording is not enabled on this server".to_owned())
        })
    }
}
