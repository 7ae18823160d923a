//! The API's handle on the running ingest.

use nova_api::{IngestHealth, LiveControl};
use nova_media::StreamId;
use nova_rtmp_ingest::Hub;

pub struct HubControl {
    // Read by the disconnect implementation that the streams work adds.
    #[allow(dead_code)]
    hub: Hub,
}

impl HubControl {
    pub fn new(hub: Hub) -> Self {
        Self { hub }
    }
}

impl LiveControl for HubControl {
    fn disconnect_publisher(&self, _stream: StreamId, _end_now: bool) -> bool {
        false
    }

    fn health(&self, _stream: StreamId) -> Option<IngestHealth> {
        None
    }
}
