//! How the RTMP ingest accepts and treats connections: read by the accept
//! loop (the connection limit) and by every connection's driver (the
//! timeouts and the application name).

use std::sync::Arc;
use std::time::Duration;

use crate::connection::{RefusalCounters, RtmpLimits};

#[derive(Clone, Debug)]
pub struct IngestConfig {
    /// The RTMP application publishers connect to: `rtmp://host/{app}/{key}`.
    pub app: String,
    /// A connection must finish the RTMP handshake within this time.
    pub handshake_timeout: Duration,
    /// A connection that sends nothing for this long is closed (a silent
    /// publisher counts as disconnected uncleanly).
    pub idle_timeout: Duration,
    /// Connections over this many are closed as soon as they are accepted.
    pub max_connections: usize,
    /// A connection must send `publish` within this time of being
    /// accepted, however many bytes it trickles meanwhile.
    pub publish_timeout: Duration,
    /// Connections from one address (an IPv6 /64) that have not published
    /// yet; more are closed as soon as they are accepted. 0: no limit.
    pub max_pending_per_address: usize,
    /// Protocol limits of each connection.
    pub limits: RtmpLimits,
    /// Refusals by reason, for the operator.
    pub refusals: Arc<RefusalCounters>,
    /// How long a publish may wait for the authorizer before it is refused
    /// as "retry later".
    pub authorize_timeout: Duration,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            app: "live".to_owned(),
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            max_connections: 1024,
            publish_timeout: Duration::from_secs(10),
            max_pending_per_address: 16,
            limits: RtmpLimits::default(),
            refusals: Arc::new(RefusalCounters::new()),
            authorize_timeout: Duration::from_secs(10),
        }
    }
}
