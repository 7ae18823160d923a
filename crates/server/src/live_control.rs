//! The API's handle on the running ingest: the hub for disconnects, the
//! health board for measurements.

use std::sync::Arc;

use nova_api::{IngestHealth, LiveControl, LiveStreams};
use nova_media::StreamId;
use nova_rtmp_ingest::Hub;

use crate::health::HealthBoard;

pub struct HubControl {
    hub: Hub,
    health: Arc<HealthBoard>,
}

impl HubControl {
    pub fn new(hub: Hub, health: Arc<HealthBoard>) -> Self {
        Self { hub, health }
    }
}

impl LiveControl for HubControl {
    fn disconnect_publisher(&self, stream: StreamId, end_now: bool) -> bool {
        self.hub.disconnect(stream, end_now)
    }

    fn health(&self, stream: StreamId) -> Option<IngestHealth> {
        self.health.health(stream)
    }
}

impl LiveStreams for HubControl {
    fn live_streams(&self) -> Vec<StreamId> {
        self.hub.live_streams()
    }
}
