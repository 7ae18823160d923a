//! The task behind one RTMP connection. It only moves bytes and time: socket
//! reads into the [`Connection`], its output to the socket, its publish
//! requests to the authorizer, its media to the hub.

use std::future::{Future, pending};
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use nova_media::{PublishAuthorizer, PublishGrant, PublishRejection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::config::IngestConfig;
use crate::connection::{Action, CloseReason, Connection, ConnectionConfig, Refusal};
use crate::hub::{Hub, Publisher};
use crate::metrics::{self, ConnectionGauges, ConnectionState, State};
use crate::pending_by_address::PendingSlot;

/// What every connection task shares.
pub(crate) struct Shared {
    pub hub: Hub,
    pub authorizer: Arc<dyn PublishAuthorizer>,
    pub config: IngestConfig,
    pub shutdown: CancellationToken,
    pub gauges: ConnectionGauges,
}

/// One read's worth. RTMP publishers send in chunks of the negotiated size
/// (4 KiB here); a video keyframe spans many reads either way.
const READ_BUFFER: usize = 64 * 1024;
/// Bound on the last writes before hanging up, so a peer that stopped
/// reading cannot hold a closing connection (or shutdown) open.
const CLOSING_WRITE_TIMEOUT: Duration = Duration::from_secs(2);

type Authorization = Pin<Box<dyn Future<Output = Result<PublishGrant, PublishRejection>> + Send>>;

pub(crate) async fn run(
    socket: TcpStream,
    peer: SocketAddr,
    id: u64,
    shared: Arc<Shared>,
    pending_slot: PendingSlot,
) {
    let connection = Connection::new(
        id,
        peer,
        ConnectionConfig {
            app: shared.config.app.clone(),
            limits: shared.config.limits.clone(),
        },
    );
    let span = connection.span().clone();
    let driver = Driver {
        state: shared.gauges.enter(),
        socket,
        connection,
        shared,
        publisher: None,
        authorization: None,
        out: Vec::new(),
        pending_slot: Some(pending_slot),
        publish_requested: false,
    };
    driver.run().instrument(span).await;
}

struct Driver {
    socket: TcpStream,
    connection: Connection,
    shared: Arc<Shared>,
    publisher: Option<Publisher>,
    authorization: Option<Authorization>,
    out: Vec<u8>,
    /// Held until the connection publishes: it counts against its
    /// address's limit of connections that have not.
    pending_slot: Option<PendingSlot>,
    /// Whether the peer has sent `publish`; until then the publish
    /// deadline applies.
    publish_requested: bool,
    /// Where the connection is counted in `nova_rtmp_connections`; dropped
    /// with the driver, however the connection ends.
    state: ConnectionState,
}

enum Event {
    Read(std::io::Result<usize>),
    Authorized(Result<PublishGrant, PublishRejection>),
    Close(CloseReason),
}

impl Driver {
    async fn run(mut self) {
        tracing::debug!("connection accepted");
        let config = &self.shared.config;
        let (handshake_timeout, idle_timeout) = (config.handshake_timeout, config.idle_timeout);
        let accepted = Instant::now();
        let handshake_deadline = accepted + handshake_timeout;
        // From accept, not from the last byte: bytes trickled one at a
        // time do not buy a connection more time to publish.
        let publish_deadline = accepted + config.publish_timeout;
        // When the peer last sent anything (or was last expected to be quiet).
        let mut last_heard = Instant::now();
        // One timer for the whole connection, re-armed only when it fires:
        // creating a timer per read costs more than the read on a busy ingest.
        let timer = sleep_until(handshake_deadline.min(publish_deadline));
        tokio::pin!(timer);
        let mut buffer = vec![0_u8; READ_BUFFER];
        loop {
            let event = tokio::select! {
                biased;
                () = self.shared.shutdown.cancelled() => Event::Close(CloseReason::Shutdown),
                () = disconnect_requested(&self.publisher) => Event::Close(self.kick_reason()),
                outcome = authorization(&mut self.authorization) => Event::Authorized(outcome),
                () = &mut timer => {
                    let deadlines = [
                        self.connection
                            .is_handshaking()
                            .then_some((handshake_deadline, CloseReason::HandshakeTimeout)),
                        (!self.publish_requested).then(|| (publish_deadline, self.publish_timeout())),
                        (!self.connection.is_handshaking())
                            .then_some((last_heard + idle_timeout, CloseReason::IdleTimeout)),
                    ];
                    let now = Instant::now();
                    let deadlines = deadlines.into_iter().flatten();
                    match deadlines.clone().find(|(at, _)| *at <= now) {
                        Some((_, expired)) => Event::Close(expired),
                        None => {
                            if let Some(next) = deadlines.map(|(at, _)| at).min() {
                                timer.as_mut().reset(next);
                            }
                            continue;
                        }
                    }
                }
                read = self.socket.read(&mut buffer) => Event::Read(read),
            };
            let actions = match event {
                Event::Read(Ok(0)) => {
                    tracing::info!(
                        publishing = self.publisher.is_some(),
                        "peer closed the connection"
                    );
                    break;
                }
                Event::Read(Ok(len)) => {
                    last_heard = Instant::now();
                    self.state.read(len);
                    if let Some(publisher) = &self.publisher {
                        publisher.received(len);
                    }
                    self.connection.handle_input(&buffer[..len])
                }
                Event::Read(Err(error)) => {
                    tracing::info!(
                        publishing = self.publisher.is_some(),
                        "connection lost: {error}"
                    );
                    break;
                }
                Event::Authorized(outcome) => {
                    self.authorization = None;
                    // The client has been waiting, not sending.
                    last_heard = Instant::now();
                    match outcome {
                        Ok(grant) => self.authorized(&grant),
                        Err(rejection) => self.connection.publish_rejected(&rejection),
                    }
                }
                Event::Close(reason) => self.connection.close(reason),
            };
            if self.apply(actions).await.is_break() {
                break;
            }
            self.state.set(if self.publisher.is_some() {
                State::Publishing
            } else if self.connection.is_handshaking() {
                State::Handshaking
            } else {
                State::Connected
            });
        }
        // A publisher still held here disconnected without unpublishing:
        // dropping it opens the stream's reconnect window.
        drop(self.publisher.take());
    }

    fn publish_timeout(&self) -> CloseReason {
        CloseReason::Refused {
            reason: Refusal::PublishTimeout,
            detail: format!(
                "no publish within {:?} of connecting",
                self.shared.config.publish_timeout
            ),
        }
    }

    fn kick_reason(&self) -> CloseReason {
        match &self.publisher {
            Some(publisher) if let Some(exceeded) = publisher.limit_exceeded() => {
                CloseReason::MediaLimit(exceeded)
            }
            Some(publisher) if publisher.taken_over() => CloseReason::TakenOver,
            Some(publisher) if !publisher.hub_shut_down() => CloseReason::Disconnected,
            _ => CloseReason::Shutdown,
        }
    }

    fn authorized(&mut self, grant: &PublishGrant) -> Vec<Action> {
        if self.connection.pending_publish().is_none() {
            // Closed while the authorizer decided; do not take the stream
            // from a publisher that may hold it.
            return Vec::new();
        }
        let publisher = match self.shared.hub.publish(grant) {
            Ok(publisher) => publisher,
            Err(closed) => {
                tracing::info!("refusing the publish: {closed}");
                return self
                    .connection
                    .publish_rejected(&PublishRejection::Unavailable);
            }
        };
        // The hub knows the publisher before the client hears it was
        // accepted, so no media can arrive ahead of it.
        let actions = self.connection.publish_authorized(grant);
        if self.connection.publishing() == Some(grant.stream_id) {
            self.publisher = Some(publisher);
            // Published: no longer one of its address's idle connections.
            self.pending_slot = None;
        } else {
            publisher.finish();
        }
        actions
    }

    async fn apply(&mut self, actions: Vec<Action>) -> ControlFlow<()> {
        let mut close = None;
        for action in actions {
            match action {
                Action::Send(bytes) => self.out.extend_from_slice(&bytes),
                Action::AuthorizePublish(request) => {
                    self.publish_requested = true;
                    let authorizer = self.shared.authorizer.clone();
                    let limit = self.shared.config.authorize_timeout;
                    self.authorization = Some(Box::pin(async move {
                        match timeout(limit, authorizer.authorize(&request)).await {
                            Ok(outcome) => outcome,
                            Err(_) => {
                                tracing::warn!("the authorizer did not answer within {limit:?}");
                                Err(PublishRejection::Unavailable)
                            }
                        }
                    }));
                }
                Action::Media(media) => {
                    if let Some(publisher) = &self.publisher {
                        // `false` means we were taken over; the takeover's
                        // disconnect request is already pending.
                        publisher.send(media);
                    }
                }
                Action::PublishFinished => {
                    if let Some(publisher) = self.publisher.take() {
                        publisher.finish();
                    }
                }
                Action::Close(reason) => close = Some(reason),
            }
        }
        let write_limit = if close.is_some() {
            CLOSING_WRITE_TIMEOUT
        } else {
            self.shared.config.idle_timeout
        };
        if !self.out.is_empty() {
            match timeout(write_limit, self.socket.write_all(&self.out)).await {
                Ok(Ok(())) => self.out.clear(),
                Ok(Err(error)) => {
                    tracing::info!("write failed: {error}");
                    return ControlFlow::Break(());
                }
                Err(_) => {
                    tracing::warn!("peer stopped reading for {write_limit:?}; closing");
                    return ControlFlow::Break(());
                }
            }
        }
        let Some(reason) = close else {
            return ControlFlow::Continue(());
        };
        // Whatever anyone can send before a key is checked is counted and
        // logged a few times a second at most, not once per socket.
        let refusal = match &reason {
            CloseReason::Refused { reason, .. } => Some(*reason),
            CloseReason::Handshake(_) | CloseReason::HandshakeTimeout => Some(Refusal::Handshake),
            CloseReason::Session(_) => Some(Refusal::Protocol),
            _ => None,
        };
        if let Some(refusal) = metrics::refusal_of(&reason) {
            metrics::count_refusal(refusal);
        }
        if let Some(refusal) = refusal {
            self.shared.config.refusals.refuse(refusal, &reason);
        } else if reason.is_peer_error() {
            tracing::warn!("closing the connection: {reason}");
        } else {
            tracing::info!("closing the connection: {reason}");
        }
        // Best effort: the peer may already be gone.
        let _ = timeout(CLOSING_WRITE_TIMEOUT, self.socket.shutdown()).await;
        // Only a publisher is sent a farewell (see `Connection::close`).
        if self.publisher.is_some() && reason.tell_publisher().is_some() {
            self.linger().await;
        }
        ControlFlow::Break(())
    }

    /// Reads and discards what the peer still sends, until it hangs up or
    /// [`CLOSING_WRITE_TIMEOUT`] passes. A publisher is mid-write when told
    /// why it is disconnected; closing on unread data would make the kernel
    /// reset the connection and throw the farewell away before the encoder
    /// reads it (ffmpeg reads the server's messages only between writes).
    async fn linger(&mut self) {
        let mut discard = [0_u8; 16 * 1024];
        let _ = timeout(CLOSING_WRITE_TIMEOUT, async {
            while matches!(self.socket.read(&mut discard).await, Ok(read) if read > 0) {}
        })
        .await;
    }
}

async fn disconnect_requested(publisher: &Option<Publisher>) {
    match publisher {
        Some(publisher) => publisher.disconnect_requested().await,
        None => pending().await,
    }
}

async fn authorization(
    pending_authorization: &mut Option<Authorization>,
) -> Result<PublishGrant, PublishRejection> {
    match pending_authorization {
        Some(authorization) => authorization.await,
        None => pending().await,
    }
}
