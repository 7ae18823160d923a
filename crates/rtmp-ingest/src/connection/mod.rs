//! One RTMP connection as a sans-IO state machine: bytes in, [`Action`]s out.
//!
//! The protocol work is rml_rtmp's (`Handshake`, `ServerSession`); this type
//! makes the decisions rml_rtmp leaves to the application (which app, which
//! key, what to do with media) and turns FLV tags into [`Media`]. It never
//! touches a socket or a clock, so tests drive it synchronously with an
//! in-process rml_rtmp client as the peer.

mod amf_walk;
mod chunk_guard;
mod close;
mod limits;
mod refusals;
mod status;
mod tags;
#[cfg(test)]
mod tests;

use nova_media::panic_message;
use std::collections::VecDeque;
use std::mem;
use std::net::SocketAddr;
use std::panic::{self, AssertUnwindSafe};

use bytes::Bytes;
use nova_media::{PublishGrant, PublishRejection, PublishRequest, StreamId, Track};
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ServerSession, ServerSessionConfig, ServerSessionError, ServerSessionEvent, ServerSessionResult,
};
use tracing::{debug, error, info, trace, warn};

use self::chunk_guard::ChunkGuard;
pub use self::close::CloseReason;
pub use self::limits::RtmpLimits;
pub use self::refusals::{Refusal, RefusalCounters};
use self::tags::{TagOutcome, TagReader, is_unsupported};
use crate::media::Media;

/// Status code for a refused publish (RTMP spec 1.0 §7.2.2.6): the stream
/// name is not accepted. Clients show the description that goes with it.
const PUBLISH_REFUSED: &str = "NetStream.Publish.BadName";
/// Status code for a refused connect (RTMP spec 1.0 §7.2.1.1).
const CONNECT_REFUSED: &str = "NetConnection.Connect.Rejected";
const PLAY_REFUSED: &str = "NetStream.Play.Failed";
const PLAY_NOT_OFFERED: &str =
    "RTMP playback is not offered by this server: play the stream over HLS";
const ALREADY_PUBLISHING: &str =
    "this connection is already publishing: open one connection per stream";

/// A publisher that sends this many undecodable media messages in a row is
/// not going to recover; before that, damaged tags are skipped.
const MAX_MALFORMED_IN_A_ROW: u32 = 64;

#[derive(Clone, Debug)]
pub struct ConnectionConfig {
    /// The only RTMP application publishers may connect to.
    pub app: String,
    pub limits: RtmpLimits,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        Self {
            app: "live".to_owned(),
            limits: RtmpLimits::default(),
        }
    }
}

/// What the driver must do, in order.
#[derive(Debug)]
pub enum Action {
    /// Write these bytes to the peer. Must be written in the order given:
    /// RTMP chunk headers are compressed against the previous ones.
    Send(Bytes),
    /// Ask the authorizer, then call [`Connection::publish_authorized`] or
    /// [`Connection::publish_rejected`]. The client waits meanwhile.
    AuthorizePublish(PublishRequest),
    /// Media for the stream this connection publishes.
    Media(Media),
    /// The publisher ended its publish cleanly (`deleteStream`/`closeStream`,
    /// which ffmpeg and OBS send on stop), or the server ended it for good.
    PublishFinished,
    /// Close the connection after writing everything before this.
    Close(CloseReason),
}

/// The server side of one RTMP connection.
pub struct Connection {
    peer: SocketAddr,
    config: ConnectionConfig,
    session_config: ServerSessionConfig,
    span: tracing::Span,
    state: State,
    /// Sees every message's length and type before rml_rtmp does.
    guard: ChunkGuard,
    create_streams: u32,
}

enum State {
    /// RTMP spec 1.0 §5.2: C0/C1/C2 against S0/S1/S2.
    Handshaking(Box<Handshake>),
    /// Handshake done; connect/createStream happen here.
    Active(Box<ServerSession>),
    /// A publish waits for the authorizer. rml_rtmp holds the request open
    /// under `request_id` until we accept or reject it.
    RequestedPublishing {
        session: Box<ServerSession>,
        request: PublishRequest,
        request_id: u32,
    },
    Publishing {
        session: Box<ServerSession>,
        stream: StreamId,
        tags: TagReader,
        malformed_in_a_row: u32,
    },
    Closed,
}

impl Connection {
    pub fn new(id: u64, peer: SocketAddr, config: ConnectionConfig) -> Self {
        let mut session_config = ServerSessionConfig::new();
        // onBWDone at start invites clients to run `_checkbw`, which we
        // would only ignore (STACK.md).
        session_config.send_on_bw_done_message_on_start = false;
        Self {
            peer,
            guard: ChunkGuard::new(config.limits.clone()),
            create_streams: 0,
            config,
            session_config,
            // `stream` is the stream's id once a publish is accepted (the
            // key never is: `key` is its redacted hint).
            span: tracing::info_span!(
                "rtmp",
                conn = id,
                %peer,
                key = tracing::field::Empty,
                stream = tracing::field::Empty,
            ),
            state: State::Handshaking(Box::new(Handshake::new(PeerType::Server))),
        }
    }

    /// The span the connection logs in: connection id, peer and, once a
    /// publish is requested, the key hint. The driver runs inside it too.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    pub fn is_handshaking(&self) -> bool {
        matches!(self.state, State::Handshaking(_))
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// The publish waiting for [`Connection::publish_authorized`] or
    /// [`Connection::publish_rejected`].
    pub fn pending_publish(&self) -> Option<&PublishRequest> {
        match &self.state {
            State::RequestedPublishing { request, .. } => Some(request),
            _ => None,
        }
    }

    /// The stream this connection publishes, once its publish was accepted.
    pub fn publishing(&self) -> Option<StreamId> {
        match &self.state {
            State::Publishing { stream, .. } => Some(*stream),
            _ => None,
        }
    }

    /// Bytes from the peer.
    pub fn handle_input(&mut self, bytes: &[u8]) -> Vec<Action> {
        let span = self.span.clone();
        let _entered = span.enter();
        let mut out = Vec::new();
        match &mut self.state {
            State::Closed => {}
            State::Handshaking(handshake) => match handshake.process_bytes(bytes) {
                Ok(HandshakeProcessResult::InProgress { response_bytes }) => {
                    push_send(&mut out, response_bytes);
                }
                Ok(HandshakeProcessResult::Completed {
                    response_bytes,
                    remaining_bytes,
                }) => {
                    push_send(&mut out, response_bytes);
                    self.start_session(&remaining_bytes, &mut out);
                }
                Err(error) => {
                    debug!(len = bytes.len(), "handshake failed: {error}");
                    self.close_into(CloseReason::Handshake(error.to_string()), &mut out);
                }
            },
            _ => self.feed_session(bytes, &mut out),
        }
        out
    }

    /// The authorizer granted the pending publish: accept it.
    pub fn publish_authorized(&mut self, grant: &PublishGrant) -> Vec<Action> {
        let span = self.span.clone();
        let _entered = span.enter();
        let mut out = Vec::new();
        match mem::replace(&mut self.state, State::Closed) {
            State::RequestedPublishing {
                mut session,
                request_id,
                ..
            } => {
                let accepted = session.accept_request(request_id);
                self.span
                    .record("stream", tracing::field::display(grant.stream_id));
                info!("publish accepted");
                self.guard.set_publishing(true);
                self.state = State::Publishing {
                    session,
                    stream: grant.stream_id,
                    tags: TagReader::default(),
                    malformed_in_a_row: 0,
                };
                match accepted {
                    Ok(results) => self.drive(results, &mut out),
                    Err(error) => self.close_into(session_error(error), &mut out),
                }
            }
            other => {
                // The connection closed (or the client gave up) while the
                // authorizer was deciding.
                self.state = other;
                debug!("a publish grant arrived with no publish pending; ignored");
            }
        }
        out
    }

    /// The authorizer refused the pending publish: tell the client why, then
    /// close.
    pub fn publish_rejected(&mut self, rejection: &PublishRejection) -> Vec<Action> {
        let span = self.span.clone();
        let _entered = span.enter();
        let mut out = Vec::new();
        match mem::replace(&mut self.state, State::Closed) {
            State::RequestedPublishing {
                session,
                request_id,
                ..
            } => {
                info!("publish rejected: {rejection}");
                self.state = State::Active(session);
                let reason = CloseReason::PublishRejected(rejection.clone());
                self.reject_then_close(request_id, PUBLISH_REFUSED, rejection, reason, &mut out);
            }
            other => {
                self.state = other;
                debug!("a publish rejection arrived with no publish pending; ignored");
            }
        }
        out
    }

    /// The server ends the connection (shutdown, takeover, timeout). A
    /// publisher is told why in a last `onStatus` error when the reason is
    /// worth telling.
    pub fn close(&mut self, reason: CloseReason) -> Vec<Action> {
        let span = self.span.clone();
        let _entered = span.enter();
        let mut out = Vec::new();
        if !self.is_closed() {
            self.close_into(reason, &mut out);
        }
        out
    }

    fn start_session(&mut self, remaining: &[u8], out: &mut Vec<Action>) {
        match ServerSession::new(self.session_config.clone()) {
            Ok((session, results)) => {
                self.state = State::Active(Box::new(session));
                self.drive(results, out);
                if !remaining.is_empty() && !self.is_closed() {
                    self.feed_session(remaining, out);
                }
            }
            Err(error) => self.close_into(session_error(error), out),
        }
    }

    fn feed_session(&mut self, bytes: &[u8], out: &mut Vec<Action>) {
        // The guard sees the bytes first: rml_rtmp allocates what a message
        // declares and decodes AMF0 recursively.
        let seen = match self.guard.inspect(bytes) {
            Ok(seen) => seen,
            Err(refusal) => {
                self.close_into(
                    CloseReason::Refused {
                        reason: refusal.reason,
                        detail: refusal.detail,
                    },
                    out,
                );
                return;
            }
        };
        self.create_streams = self.create_streams.saturating_add(seen.create_streams);
        let limit = self.config.limits.max_create_streams;
        if self.create_streams > limit {
            self.close_into(
                CloseReason::Refused {
                    reason: Refusal::CreateStreams,
                    detail: format!("more than {limit} createStream commands"),
                },
                out,
            );
            return;
        }
        let Some(session) = self.session_mut() else {
            return;
        };
        // rml_rtmp 0.8 indexes into client-controlled AMF0 arrays without
        // checking their length (`@setDataFrame` with too few values), so a
        // malformed message can panic inside it. The session is unusable
        // after that, but the process and other connections must go on.
        let handled = panic::catch_unwind(AssertUnwindSafe(|| session.handle_input(bytes)));
        match handled {
            Ok(Ok(results)) => self.drive(results, out),
            Ok(Err(error)) => {
                // The driver logs the close, a few times a second at most.
                debug!(
                    len = bytes.len(),
                    "cannot parse the client's RTMP messages: {error}"
                );
                self.close_into(session_error(error), out);
            }
            Err(panic) => {
                let message = panic_message(panic.as_ref());
                error!(
                    len = bytes.len(),
                    "rml_rtmp panicked on client input: {message}"
                );
                self.close_into(
                    CloseReason::Session(format!("rml_rtmp panicked: {message}")),
                    out,
                );
            }
        }
    }

    /// Processes session results in order. Results produced while handling
    /// an event (accept/reject) were serialized after every packet already
    /// queued, so they go to the back: the peer must receive packets in
    /// serialization order.
    fn drive(&mut self, results: Vec<ServerSessionResult>, out: &mut Vec<Action>) {
        let mut queue = VecDeque::from(results);
        let mut closing = None;
        while let Some(result) = queue.pop_front() {
            match result {
                ServerSessionResult::OutboundResponse(packet) => push_send(out, packet.bytes),
                ServerSessionResult::RaisedEvent(event) => {
                    // Once closing, the rest of the input no longer matters,
                    // but packets already serialized still go out in order.
                    if closing.is_none()
                        && let Err(reason) = self.on_event(event, &mut queue, out)
                    {
                        closing = Some(reason);
                    }
                }
                ServerSessionResult::UnhandleableMessageReceived(payload) => trace!(
                    type_id = payload.type_id,
                    len = payload.data.len(),
                    "ignoring an RTMP message type the session does not handle"
                ),
            }
        }
        if let Some(reason) = closing {
            self.close_into(reason, out);
        }
    }

    fn on_event(
        &mut self,
        event: ServerSessionEvent,
        queue: &mut VecDeque<ServerSessionResult>,
        out: &mut Vec<Action>,
    ) -> Result<(), CloseReason> {
        match event {
            ServerSessionEvent::ConnectionRequested {
                request_id,
                app_name,
            } => self.on_connect(request_id, app_name, queue),
            ServerSessionEvent::PublishStreamRequested {
                request_id,
                app_name,
                stream_key,
                ..
            } => self.on_publish(request_id, app_name, stream_key, queue, out),
            ServerSessionEvent::PublishStreamFinished { .. } => {
                self.on_unpublish(out);
                Ok(())
            }
            ServerSessionEvent::VideoDataReceived {
                data, timestamp, ..
            } => self.on_media(Track::Video, data, timestamp.value, out),
            ServerSessionEvent::AudioDataReceived {
                data, timestamp, ..
            } => self.on_media(Track::Audio, data, timestamp.value, out),
            ServerSessionEvent::PlayStreamRequested { request_id, .. } => {
                info!("play requested; RTMP playback is not offered");
                let results = self
                    .session_mut()
                    .map(|s| s.reject_request(request_id, PLAY_REFUSED, PLAY_NOT_OFFERED))
                    .transpose()
                    .map_err(session_error)?;
                queue.extend(results.into_iter().flatten());
                Err(CloseReason::PlayNotOffered)
            }
            ServerSessionEvent::StreamMetadataChanged { metadata, .. } => {
                debug!(?metadata, "publisher metadata");
                Ok(())
            }
            ServerSessionEvent::UnhandleableAmf0Command { command_name, .. } => {
                // releaseStream, FCPublish, FCUnpublish, _checkbw: Adobe
                // FMS artifacts that publishers send and do not wait for.
                debug!(command = %command_name, "ignoring command");
                Ok(())
            }
            other => {
                trace!(event = ?other, "ignoring session event");
                Ok(())
            }
        }
    }

    fn on_connect(
        &mut self,
        request_id: u32,
        app_name: String,
        queue: &mut VecDeque<ServerSessionResult>,
    ) -> Result<(), CloseReason> {
        let known_app = app_name == self.config.app;
        let Some(session) = self.session_mut() else {
            return Ok(());
        };
        if known_app {
            debug!("connect accepted");
            queue.extend(session.accept_request(request_id).map_err(session_error)?);
            return Ok(());
        }
        // Not the name itself: streamers paste their key into it.
        info!(
            app_chars = app_name.chars().count(),
            "connect to an unknown application refused"
        );
        let rejection = PublishRejection::UnknownApp(app_name.clone());
        let results = session
            .reject_request(request_id, CONNECT_REFUSED, &rejection.to_string())
            .map_err(session_error)?;
        queue.extend(results);
        Err(CloseReason::UnknownApp(app_name))
    }

    fn on_publish(
        &mut self,
        request_id: u32,
        app_name: String,
        raw_key: String,
        queue: &mut VecDeque<ServerSessionResult>,
        out: &mut Vec<Action>,
    ) -> Result<(), CloseReason> {
        let State::Active(session) = &mut self.state else {
            // rml_rtmp lets a client publish on several streams of one
            // connection; we map one connection to one publish.
            if let Some(session) = self.session_mut() {
                let results = session
                    .reject_request(request_id, PUBLISH_REFUSED, ALREADY_PUBLISHING)
                    .map_err(session_error)?;
                queue.extend(results);
            }
            return Ok(());
        };
        let request = PublishRequest {
            app: app_name,
            stream_key: strip_query(&raw_key).to_owned(),
            peer: self.peer,
        };
        self.span.record("key", request.key_hint());
        let refused = if request.app != self.config.app {
            Some(PublishRejection::UnknownApp(request.app.clone()))
        } else if request.stream_key.is_empty() {
            Some(PublishRejection::InvalidKey)
        } else {
            None
        };
        if let Some(rejection) = refused {
            info!("publish refused before authorization: {rejection}");
            let results = session
                .reject_request(request_id, PUBLISH_REFUSED, &rejection.to_string())
                .map_err(session_error)?;
            queue.extend(results);
            return Err(CloseReason::PublishRejected(rejection));
        }
        debug!("publish requested");
        let State::Active(session) = mem::replace(&mut self.state, State::Closed) else {
            return Ok(());
        };
        out.push(Action::AuthorizePublish(request.clone()));
        self.state = State::RequestedPublishing {
            session,
            request,
            request_id,
        };
        Ok(())
    }

    fn on_unpublish(&mut self, out: &mut Vec<Action>) {
        let State::Publishing { session, .. } = mem::replace(&mut self.state, State::Closed) else {
            // Not our publish (rml_rtmp only reports publishing streams, so
            // this means the state was already left).
            return;
        };
        info!("publisher unpublished");
        self.guard.set_publishing(false);
        // The connection may publish again; OBS and ffmpeg hang up instead.
        self.state = State::Active(session);
        out.push(Action::PublishFinished);
    }

    fn on_media(
        &mut self,
        track: Track,
        body: Bytes,
        timestamp: u32,
        out: &mut Vec<Action>,
    ) -> Result<(), CloseReason> {
        let State::Publishing {
            tags,
            malformed_in_a_row,
            ..
        } = &mut self.state
        else {
            return Ok(());
        };
        let len = body.len();
        let head = hex_prefix(&body);
        let parsed = match track {
            Track::Video => tags.video(body, timestamp),
            Track::Audio => tags.audio(body, timestamp),
        };
        match parsed {
            Ok(TagOutcome::Media(media)) => {
                *malformed_in_a_row = 0;
                out.push(Action::Media(media));
                Ok(())
            }
            Ok(TagOutcome::Nothing(what)) => {
                trace!(?track, timestamp, "skipping {what}");
                Ok(())
            }
            Err(error) if is_unsupported(&error) => {
                error!(?track, len, "ending the publish: {error}");
                out.push(Action::PublishFinished);
                Err(CloseReason::UnsupportedMedia(error))
            }
            Err(error) => {
                *malformed_in_a_row += 1;
                metrics::counter!(
                    crate::metrics::INGEST_DROPPED_FRAMES,
                    "reason" => crate::metrics::DROPPED_MALFORMED
                )
                .increment(1);
                warn!(
                    ?track,
                    timestamp,
                    len,
                    head = %head,
                    in_a_row = *malformed_in_a_row,
                    "skipping a malformed FLV tag: {error}"
                );
                if *malformed_in_a_row >= MAX_MALFORMED_IN_A_ROW {
                    out.push(Action::PublishFinished);
                    return Err(CloseReason::MalformedMedia(*malformed_in_a_row));
                }
                Ok(())
            }
        }
    }

    fn reject_then_close(
        &mut self,
        request_id: u32,
        code: &str,
        description: &impl ToString,
        reason: CloseReason,
        out: &mut Vec<Action>,
    ) {
        let rejected = self
            .session_mut()
            .map(|s| s.reject_request(request_id, code, &description.to_string()));
        match rejected {
            Some(Ok(results)) => {
                self.drive(results, out);
                self.close_into(reason, out);
            }
            Some(Err(error)) => self.close_into(session_error(error), out),
            None => self.close_into(reason, out),
        }
    }

    fn close_into(&mut self, reason: CloseReason, out: &mut Vec<Action>) {
        if self.publishing().is_some()
            && let Some(text) = reason.tell_publisher()
            && let Some(packet) = status::farewell_error(&text, self.session_config.chunk_size)
        {
            out.push(Action::Send(packet));
        }
        self.state = State::Closed;
        out.push(Action::Close(reason));
    }

    fn session_mut(&mut self) -> Option<&mut ServerSession> {
        match &mut self.state {
            State::Active(session)
            | State::RequestedPublishing { session, .. }
            | State::Publishing { session, .. } => Some(session),
            State::Handshaking(_) | State::Closed => None,
        }
    }
}

/// The stream key is the publish name without any `?query` (OBS and
/// ffmpeg pass through whatever the user appended to the URL).
fn strip_query(key: &str) -> &str {
    key.split_once('?').map_or(key, |(key, _)| key)
}

fn push_send(out: &mut Vec<Action>, bytes: Vec<u8>) {
    if !bytes.is_empty() {
        out.push(Action::Send(Bytes::from(bytes)));
    }
}

fn session_error(error: ServerSessionError) -> CloseReason {
    CloseReason::Session(error.to_string())
}

/// The first bytes of a tag, for logs: enough to see the FLV header.
fn hex_prefix(body: &[u8]) -> String {
    body.iter().take(8).map(|b| format!("{b:02x}")).collect()
}
