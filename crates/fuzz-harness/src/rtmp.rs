//! The RTMP target: a server connection past a valid handshake, fed the
//! fuzz input as the client's bytes, with an authorizer that answers.

use std::net::SocketAddr;
use std::sync::Mutex;

use nova_media::{PublishGrant, PublishRejection, StreamId, StreamSettings};
use nova_rtmp_ingest::{Action, CloseReason, Connection, ConnectionConfig, Media};
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};

/// How the input is cut into reads: TCP hands the server a segment, a
/// single byte, a full read buffer, anything; chunk parsing must not care.
const READ_SIZES: [usize; 5] = [1460, 1, 4096, 37, 16_384];
/// Up to here the input goes in 16-byte reads. A real client waits for the
/// answer to `connect`, `createStream` and `publish` before it sends what
/// follows, and rml_rtmp handles every message of one read before the
/// connection can accept the `connect`: a read of 16 bytes never completes
/// two of those commands, so captured sessions replay as they happened.
const COMMAND_PHASE: usize = 2048;
const COMMAND_READ: usize = 16;

/// The bytes a client sends after C0+C1+C2, i.e. the session: `connect`,
/// `createStream`, `publish`, then media. Seeds are captures of real
/// publishers with their 3073 handshake bytes cut off.
pub fn rtmp_connection(data: &[u8]) {
    crate::stack::on_a_server_stack(|| {
        replay_session(data);
    });
}

/// What the server made of a session: the corpus test checks that real
/// captures get as far as media, i.e. that the seeds reach deep.
#[derive(Debug, Default)]
pub struct SessionOutcome {
    pub published: bool,
    pub video_configs: usize,
    pub audio_configs: usize,
    pub frames: usize,
    /// Why the server closed the connection, if it did before the end.
    pub closed: Option<String>,
}

/// [`rtmp_connection`], telling what came out.
pub fn replay_session(data: &[u8]) -> SessionOutcome {
    let mut outcome = SessionOutcome::default();
    let peer: SocketAddr = "198.51.100.7:50123".parse().expect("a literal address");
    let mut server = Connection::new(1, peer, ConnectionConfig::default());
    if !handshake(&mut server) {
        return outcome;
    }
    let mut rest = data;
    let small_reads = std::iter::repeat_n(&COMMAND_READ, COMMAND_PHASE / COMMAND_READ);
    for size in small_reads.chain(READ_SIZES.iter().cycle()) {
        if rest.is_empty() || server.is_closed() {
            break;
        }
        let (read, after) = rest.split_at(rest.len().min(*size));
        rest = after;
        let actions = server.handle_input(read);
        answer(&mut server, actions, &mut outcome);
        outcome.published |= server.publishing().is_some();
    }
    server.close(CloseReason::Shutdown);
    outcome
}

static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

/// Under libFuzzer every panic aborts, even one the code under test
/// catches. `Connection` runs rml_rtmp inside `catch_unwind` on purpose (a
/// panic there closes that one connection, see `feed_session`; rml_rtmp 0.8
/// indexes client-controlled AMF0 arrays and subtracts client-controlled
/// lengths unchecked), so for the RTMP target only a panic that escapes the
/// connection is a crash. This hook replaces libFuzzer's: it remembers the
/// panic instead of aborting, and the fuzz target aborts, telling
/// [`last_panic`], when one reaches its own `catch_unwind`.
pub fn remember_panics_instead_of_aborting() {
    std::panic::set_hook(Box::new(|info| {
        let mut last = LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner());
        *last = info.to_string();
    }));
}

/// The last panic, as the default hook would print it.
pub fn last_panic() -> String {
    LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// C0+C1, S0+S1+S2, C2 with rml_rtmp's client handshake.
fn handshake(server: &mut Connection) -> bool {
    let mut client = Handshake::new(PeerType::Client);
    let Ok(c0_c1) = client.generate_outbound_p0_and_p1() else {
        return false;
    };
    let s0_s1_s2 = sent(server.handle_input(&c0_c1));
    let Ok(HandshakeProcessResult::Completed { response_bytes, .. }) =
        client.process_bytes(&s0_s1_s2)
    else {
        return false;
    };
    server.handle_input(&response_bytes);
    !server.is_handshaking() && !server.is_closed()
}

fn sent(actions: Vec<Action>) -> Vec<u8> {
    actions
        .into_iter()
        .filter_map(|action| match action {
            Action::Send(bytes) => Some(bytes),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Does what the driver does with the connection's requests: an empty
/// stream key is refused, any other is granted, so both paths run.
fn answer(server: &mut Connection, actions: Vec<Action>, outcome: &mut SessionOutcome) {
    let mut pending = actions;
    while !pending.is_empty() {
        let mut next = Vec::new();
        for action in pending {
            match action {
                Action::AuthorizePublish(request) => {
                    next.extend(if request.stream_key.is_empty() {
                        server.publish_rejected(&PublishRejection::InvalidKey)
                    } else {
                        server.publish_authorized(&PublishGrant {
                            stream_id: StreamId::new_random(),
                            settings: StreamSettings::default(),
                        })
                    });
                }
                Action::Media(Media::VideoConfig(_)) => outcome.video_configs += 1,
                Action::Media(Media::AudioConfig(_)) => outcome.audio_configs += 1,
                Action::Media(Media::Frame(_)) => outcome.frames += 1,
                Action::Close(reason) => outcome.closed = Some(reason.to_string()),
                Action::Send(_) | Action::PublishFinished => {}
            }
        }
        pending = next;
    }
}
