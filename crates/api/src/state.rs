use std::sync::Arc;

use nova_media::LivePlayback;
use sqlx::PgPool;

use crate::{ApiConfig, JwtKeys, Readiness};

/// Everything a request handler may need; cheap to clone (all shared).
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub jwt: Arc<JwtKeys>,
    pub config: Arc<ApiConfig>,
    pub playback: Arc<dyn LivePlayback>,
    pub readiness: Arc<Readiness>,
}
