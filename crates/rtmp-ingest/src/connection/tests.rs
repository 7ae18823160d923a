//! The connection state machine against an in-process rml_rtmp client: both
//! handshakes and sessions run in memory, bytes handed back and forth.

use std::net::SocketAddr;

use bytes::Bytes;
use nova_media::{
    AudioConfig, Frame, PublishGrant, PublishRejection, StreamId, StreamSettings, Track,
    VideoConfig,
};
use rml_rtmp::chunk_io::ChunkSerializer;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::messages::RtmpMessage;
use rml_rtmp::rml_amf0::Amf0Value;
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionError, ClientSessionEvent,
    ClientSessionResult, PublishRequestType,
};
use rml_rtmp::time::RtmpTimestamp;

use super::*;

/// H.264 High profile 1280x720 AVCDecoderConfigurationRecord (x264 output).
const AVC_RECORD_720P: &str = "0164001fffe1001a6764001facd9405005bb0110000003001000000303c0f183196001000668ebe3cb22c0fdf8f800";
/// AAC-LC, 44.1 kHz, stereo AudioSpecificConfig.
const AAC_CONFIG: [u8; 2] = [0x12, 0x10];

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn avc_sequence_header() -> Bytes {
    let mut body = vec![0x17, 0x00, 0, 0, 0];
    body.extend(hex(AVC_RECORD_720P));
    body.into()
}

/// An AVC NALU tag: frame type, packet type 1, composition time, one NAL.
fn avc_frame(keyframe: bool, composition_time: i32) -> Bytes {
    let ct = composition_time.to_be_bytes();
    let first = if keyframe { 0x17 } else { 0x27 };
    let nal_type = if keyframe { 0x65 } else { 0x41 };
    Bytes::from(vec![
        first, 0x01, ct[1], ct[2], ct[3], 0, 0, 0, 2, nal_type, 0x88,
    ])
}

fn aac_sequence_header() -> Bytes {
    Bytes::from(vec![0xaf, 0x00, AAC_CONFIG[0], AAC_CONFIG[1]])
}

fn aac_frame() -> Bytes {
    Bytes::from_static(&[0xaf, 0x01, 0x21, 0x10, 0x04])
}

fn peer_addr() -> SocketAddr {
    "192.0.2.7:50123".parse().unwrap()
}

fn grant() -> PublishGrant {
    PublishGrant {
        stream_id: StreamId::new_random(),
        settings: StreamSettings::default(),
    }
}

/// The server connection and an rml_rtmp client wired back to back.
struct Pair {
    server: Connection,
    client: ClientSession,
    /// Everything the server asked for other than sending bytes.
    actions: Vec<Action>,
    events: Vec<ClientSessionEvent>,
}

impl Pair {
    fn new() -> Self {
        Self::with_config(ConnectionConfig::default())
    }

    /// Both sides through the handshake, the client session started.
    fn with_config(config: ConnectionConfig) -> Self {
        let mut server = Connection::new(1, peer_addr(), config);
        let mut handshake = Handshake::new(PeerType::Client);
        let c0_c1 = handshake.generate_outbound_p0_and_p1().unwrap();
        let s0_s1_s2 = sent_bytes(server.handle_input(&c0_c1));
        assert!(server.is_handshaking());
        let HandshakeProcessResult::Completed {
            response_bytes: c2,
            remaining_bytes,
        } = handshake.process_bytes(&s0_s1_s2).unwrap()
        else {
            panic!("client handshake did not complete on S0+S1+S2");
        };
        assert!(remaining_bytes.is_empty());
        let session_start = server.handle_input(&c2);
        assert!(!server.is_handshaking());
        let (client, results) = ClientSession::new(ClientSessionConfig::new()).unwrap();
        assert!(results.is_empty());
        let mut pair = Self {
            server,
            client,
            actions: Vec::new(),
            events: Vec::new(),
        };
        pair.take(session_start);
        pair
    }

    fn connect(&mut self, app: &str) {
        let request = self.client.request_connection(app.to_owned());
        self.client_sends(request);
    }

    /// Connects to `live` and asks to publish `key`, up to the point where
    /// the server wants the authorizer.
    fn request_publish(&mut self, key: &str) -> PublishRequest {
        self.connect("live");
        assert!(
            self.events
                .contains(&ClientSessionEvent::ConnectionRequestAccepted)
        );
        let request = self
            .client
            .request_publishing(key.to_owned(), PublishRequestType::Live);
        self.client_sends(request);
        let pending = self.server.pending_publish().cloned();
        match self.actions.pop() {
            Some(Action::AuthorizePublish(request)) => {
                assert_eq!(
                    pending.map(|p| p.stream_key),
                    Some(request.stream_key.clone())
                );
                request
            }
            other => panic!("expected AuthorizePublish, got {other:?}"),
        }
    }

    fn publish(&mut self, key: &str) -> PublishGrant {
        self.request_publish(key);
        let grant = grant();
        let actions = self.server.publish_authorized(&grant);
        self.take(actions);
        assert!(
            self.events
                .contains(&ClientSessionEvent::PublishRequestAccepted)
        );
        assert_eq!(self.server.publishing(), Some(grant.stream_id));
        grant
    }

    fn video(&mut self, body: Bytes, timestamp: u32) {
        let packet = self
            .client
            .publish_video_data(body, RtmpTimestamp::new(timestamp), false);
        self.client_sends(packet);
    }

    fn audio(&mut self, body: Bytes, timestamp: u32) {
        let packet = self
            .client
            .publish_audio_data(body, RtmpTimestamp::new(timestamp), false);
        self.client_sends(packet);
    }

    fn client_sends(&mut self, result: Result<ClientSessionResult, ClientSessionError>) {
        match result.unwrap() {
            ClientSessionResult::OutboundResponse(packet) => self.deliver_to_server(&packet.bytes),
            other => panic!("client produced {other:?} instead of a packet"),
        }
    }

    fn deliver_to_server(&mut self, bytes: &[u8]) {
        let actions = self.server.handle_input(bytes);
        self.take(actions);
    }

    fn take(&mut self, actions: Vec<Action>) {
        let mut to_client = Vec::new();
        for action in actions {
            match action {
                Action::Send(bytes) => to_client.extend_from_slice(&bytes),
                other => self.actions.push(other),
            }
        }
        if !to_client.is_empty() {
            self.deliver_to_client(&to_client);
        }
    }

    fn deliver_to_client(&mut self, bytes: &[u8]) {
        let results = self
            .client
            .handle_input(bytes)
            .expect("the client parses everything the server sends");
        let mut to_server = Vec::new();
        for result in results {
            match result {
                ClientSessionResult::OutboundResponse(packet) => to_server.extend(packet.bytes),
                ClientSessionResult::RaisedEvent(event) => self.events.push(event),
                ClientSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
        if !to_server.is_empty() {
            self.deliver_to_server(&to_server);
        }
    }

    fn media(&mut self) -> Vec<Media> {
        let mut media = Vec::new();
        self.actions.retain(|action| match action {
            Action::Media(m) => {
                media.push(m.clone());
                false
            }
            _ => true,
        });
        media
    }

    fn frames(&mut self) -> Vec<Frame> {
        self.media()
            .into_iter()
            .filter_map(|m| match m {
                Media::Frame(frame) => Some(frame),
                _ => None,
            })
            .collect()
    }

    fn close_reason(&self) -> Option<&CloseReason> {
        self.actions.iter().find_map(|action| match action {
            Action::Close(reason) => Some(reason),
            _ => None,
        })
    }

    /// The `description` of the last `_error` the client got for no
    /// transaction it knows (rml_rtmp rejects publish and play that way).
    fn last_error_description(&self) -> Option<String> {
        self.events.iter().rev().find_map(|event| match event {
            ClientSessionEvent::UnknownTransactionResultReceived {
                additional_values, ..
            } => additional_values.iter().find_map(|value| match value {
                Amf0Value::Object(properties) => match properties.get("description") {
                    Some(Amf0Value::Utf8String(text)) => Some(text.clone()),
                    _ => None,
                },
                _ => None,
            }),
            _ => None,
        })
    }
}

fn sent_bytes(actions: Vec<Action>) -> Vec<u8> {
    let mut bytes = Vec::new();
    for action in actions {
        match action {
            Action::Send(chunk) => bytes.extend_from_slice(&chunk),
            other => panic!("expected only sends during the handshake, got {other:?}"),
        }
    }
    bytes
}

#[test]
fn publish_is_authorized_then_media_flows_as_frames() {
    let mut pair = Pair::new();
    let request = pair.request_publish("s3cr3t-key?token=abc");
    assert_eq!(request.app, "live");
    assert_eq!(
        request.stream_key, "s3cr3t-key",
        "the ?query is not part of the key"
    );
    assert_eq!(request.peer, peer_addr());

    let grant = grant();
    let actions = pair.server.publish_authorized(&grant);
    pair.take(actions);
    assert!(
        pair.events
            .contains(&ClientSessionEvent::PublishRequestAccepted)
    );

    pair.video(avc_sequence_header(), 0);
    pair.audio(aac_sequence_header(), 0);
    pair.video(avc_frame(true, 66), 1_000);
    pair.audio(aac_frame(), 1_010);
    pair.video(avc_frame(false, 33), 1_033);

    let media = pair.media();
    assert_eq!(media.len(), 5, "{media:?}");
    match &media[0] {
        Media::VideoConfig(VideoConfig::Avc(avc)) => {
            assert_eq!((avc.width, avc.height), (1280, 720));
            assert_eq!(avc.record.as_ref(), hex(AVC_RECORD_720P).as_slice());
        }
        other => panic!("expected the AVC config, got {other:?}"),
    }
    match &media[1] {
        Media::AudioConfig(config @ AudioConfig::Aac(_)) => {
            assert_eq!(config.sample_rate(), 44_100);
            assert_eq!(config.channels(), 2);
        }
        other => panic!("expected the AAC config, got {other:?}"),
    }
    assert_eq!(
        media[2],
        Media::Frame(Frame {
            track: Track::Video,
            dts: 1_000,
            pts: 1_066,
            keyframe: true,
            data: Bytes::from_static(&[0, 0, 0, 2, 0x65, 0x88]),
        })
    );
    assert_eq!(
        media[3],
        Media::Frame(Frame {
            track: Track::Audio,
            dts: 1_010,
            pts: 1_010,
            keyframe: true,
            data: Bytes::from_static(&[0x21, 0x10, 0x04]),
        })
    );
    assert!(matches!(
        &media[4],
        Media::Frame(Frame {
            track: Track::Video,
            dts: 1_033,
            pts: 1_066,
            keyframe: false,
            ..
        })
    ));

    // ffmpeg and OBS send deleteStream when they stop.
    let stop = pair.client.stop_publishing().unwrap();
    for result in stop {
        if let ClientSessionResult::OutboundResponse(packet) = result {
            pair.deliver_to_server(&packet.bytes);
        }
    }
    assert!(matches!(pair.actions.last(), Some(Action::PublishFinished)));
    assert_eq!(pair.server.publishing(), None);
    assert!(
        !pair.server.is_closed(),
        "the client hangs up, not the server"
    );
}

#[test]
fn rejected_publish_tells_the_client_why_and_closes() {
    let mut pair = Pair::new();
    pair.request_publish("wrong-key");
    let actions = pair.server.publish_rejected(&PublishRejection::InvalidKey);
    pair.take(actions);
    assert_eq!(
        pair.last_error_description().as_deref(),
        Some(PublishRejection::InvalidKey.to_string().as_str())
    );
    assert_eq!(
        pair.close_reason(),
        Some(&CloseReason::PublishRejected(PublishRejection::InvalidKey))
    );
    assert!(pair.server.is_closed());
    assert!(
        !pair
            .events
            .contains(&ClientSessionEvent::PublishRequestAccepted)
    );
    // Nothing the client still sends reaches anyone.
    assert!(pair.server.handle_input(&[1, 2, 3]).is_empty());
}

#[test]
fn an_empty_key_is_refused_without_asking_the_authorizer() {
    let mut pair = Pair::new();
    pair.connect("live");
    let request = pair
        .client
        .request_publishing("?only=query".to_owned(), PublishRequestType::Live);
    pair.client_sends(request);
    assert!(
        !pair
            .actions
            .iter()
            .any(|a| matches!(a, Action::AuthorizePublish(_)))
    );
    assert_eq!(
        pair.close_reason(),
        Some(&CloseReason::PublishRejected(PublishRejection::InvalidKey))
    );
    assert!(pair.last_error_description().is_some());
}

#[test]
fn an_unknown_app_name_is_neither_echoed_nor_in_the_close_reason() {
    // What OBS sends when the whole URL with the key goes in "Server".
    let pasted = "live/nl_AbCdEfGhIjKl_0123456789secret";
    let mut pair = Pair::new();
    pair.connect(pasted);
    let description = pair
        .events
        .iter()
        .find_map(|event| match event {
            ClientSessionEvent::ConnectionRequestRejected { description } => {
                Some(description.clone())
            }
            _ => None,
        })
        .expect("the client is told its connect was rejected");
    assert!(!description.contains("secret"), "{description}");
    let reason = pair.close_reason().expect("closed").to_string();
    assert!(!reason.contains("secret"), "{reason}");
    let request = nova_media::PublishRequest {
        app: pasted.to_owned(),
        stream_key: String::new(),
        peer: "127.0.0.1:1".parse().unwrap(),
    };
    assert!(!format!("{request:?}").contains("secret"));
}

#[test]
fn connect_to_another_app_is_refused() {
    let mut pair = Pair::new();
    pair.connect("vod");
    let description = pair.events.iter().find_map(|event| match event {
        ClientSessionEvent::ConnectionRequestRejected { description } => Some(description.clone()),
        _ => None,
    });
    let description = description.expect("the client is told its connect was rejected");
    assert!(
        description.contains("rtmp://<host>/live/<stream key>"),
        "{description}"
    );
    assert_eq!(
        pair.close_reason(),
        Some(&CloseReason::UnknownApp("vod".to_owned()))
    );
}

#[test]
fn the_app_name_is_configurable() {
    let mut pair = Pair::with_config(ConnectionConfig {
        app: "ingest".to_owned(),
        ..ConnectionConfig::default()
    });
    pair.connect("ingest");
    assert!(
        pair.events
            .contains(&ClientSessionEvent::ConnectionRequestAccepted)
    );
    assert_eq!(pair.close_reason(), None);
    let mut pair = Pair::with_config(ConnectionConfig {
        app: "ingest".to_owned(),
        ..ConnectionConfig::default()
    });
    pair.connect("live");
    assert_eq!(
        pair.close_reason(),
        Some(&CloseReason::UnknownApp("live".to_owned()))
    );
}

#[test]
fn timestamps_unwrap_across_the_32_bit_wrap() {
    let mut pair = Pair::new();
    pair.publish("key");
    pair.video(avc_sequence_header(), 0);
    let start = u32::MAX - 40;
    pair.video(avc_frame(true, 0), start);
    pair.audio(aac_frame(), start + 10);
    pair.video(avc_frame(false, 0), start.wrapping_add(33));
    pair.audio(aac_frame(), start.wrapping_add(33));
    pair.video(avc_frame(false, 33), start.wrapping_add(66));
    pair.audio(aac_frame(), start.wrapping_add(56));

    let frames = pair.frames();
    let dts = |track| {
        frames
            .iter()
            .filter(|f| f.track == track)
            .map(|f| f.dts)
            .collect::<Vec<_>>()
    };
    let base = i64::from(start);
    assert_eq!(dts(Track::Video), vec![base, base + 33, base + 66]);
    assert_eq!(dts(Track::Audio), vec![base + 10, base + 33, base + 56]);
    assert_eq!(frames.last().unwrap().pts, base + 56);
    let last_video = frames
        .iter()
        .rev()
        .find(|f| f.track == Track::Video)
        .unwrap();
    assert_eq!(last_video.pts, base + 99);
}

#[test]
fn unsupported_codec_ends_the_publish_with_a_status_error() {
    let mut pair = Pair::new();
    pair.publish("key");
    // FLV codec id 4: On2 VP6.
    pair.video(Bytes::from_static(&[0x14, 0x00, 0x11, 0x22]), 0);
    assert!(pair.media().is_empty());
    assert!(
        pair.actions
            .iter()
            .any(|a| matches!(a, Action::PublishFinished))
    );
    match pair.close_reason() {
        Some(CloseReason::UnsupportedMedia(error)) => {
            assert!(error.to_string().contains("On2 VP6"), "{error}")
        }
        other => panic!("expected an unsupported-media close, got {other:?}"),
    }
    assert!(
        pair.events
            .contains(&ClientSessionEvent::UnhandleableOnStatusCode {
                code: "NetStream.Failed".to_owned()
            }),
        "the client gets an onStatus error: {:?}",
        pair.events
    );
    assert!(pair.server.is_closed());
}

#[test]
fn a_malformed_tag_is_skipped_and_the_publish_goes_on() {
    let mut pair = Pair::new();
    pair.publish("key");
    pair.video(avc_sequence_header(), 0);
    // A NALU tag cut off before its composition time.
    pair.video(Bytes::from_static(&[0x17, 0x01]), 0);
    pair.audio(Bytes::from_static(&[0xaf]), 0);
    pair.video(avc_frame(true, 0), 40);
    let media = pair.media();
    assert_eq!(media.len(), 2, "{media:?}");
    assert!(matches!(
        media[1],
        Media::Frame(Frame {
            keyframe: true,
            dts: 40,
            ..
        })
    ));
    assert_eq!(pair.close_reason(), None);
}

#[test]
fn a_publisher_sending_only_garbage_is_closed() {
    let mut pair = Pair::new();
    pair.publish("key");
    for timestamp in 0..MAX_MALFORMED_IN_A_ROW {
        pair.video(Bytes::from_static(&[0x17, 0x01]), timestamp);
    }
    assert_eq!(
        pair.close_reason(),
        Some(&CloseReason::MalformedMedia(MAX_MALFORMED_IN_A_ROW))
    );
    assert!(
        pair.actions
            .iter()
            .any(|a| matches!(a, Action::PublishFinished))
    );
}

#[test]
fn play_is_refused_with_a_clear_message() {
    let mut pair = Pair::new();
    pair.connect("live");
    let request = pair.client.request_playback("key".to_owned());
    pair.client_sends(request);
    assert_eq!(pair.close_reason(), Some(&CloseReason::PlayNotOffered));
    let description = pair
        .last_error_description()
        .expect("an error for the play");
    assert!(description.contains("HLS"), "{description}");
}

#[test]
fn a_second_publish_on_the_same_connection_is_refused() {
    let mut pair = Pair::new();
    let grant = pair.publish("key");
    // rml_rtmp's client only publishes once, so write the command by hand
    // on a fresh chunk stream (full header, independent of the client's).
    let publish = RtmpMessage::Amf0Command {
        command_name: "publish".to_owned(),
        transaction_id: 9.0,
        command_object: Amf0Value::Null,
        additional_arguments: vec![
            Amf0Value::Utf8String("other-key".to_owned()),
            Amf0Value::Utf8String("live".to_owned()),
        ],
    };
    pair.deliver_to_server(&raw_message(publish));
    assert!(
        !pair
            .actions
            .iter()
            .any(|a| matches!(a, Action::AuthorizePublish(_)))
    );
    assert_eq!(pair.close_reason(), None);
    assert_eq!(pair.server.publishing(), Some(grant.stream_id));
    assert_eq!(
        pair.last_error_description().as_deref(),
        Some(ALREADY_PUBLISHING)
    );
}

#[test]
fn input_that_panics_rml_rtmp_closes_only_this_connection() {
    let mut pair = Pair::new();
    pair.publish("key");
    // `@setDataFrame` without its values: rml_rtmp 0.8 indexes past the end.
    let data = RtmpMessage::Amf0Data {
        values: vec![Amf0Value::Utf8String("@setDataFrame".to_owned())],
    };
    pair.deliver_to_server(&raw_message(data));
    match pair.close_reason() {
        Some(CloseReason::Session(text)) => assert!(text.contains("panicked"), "{text}"),
        other => panic!("expected a session close, got {other:?}"),
    }
    assert!(pair.server.is_closed());
}

#[test]
fn a_bad_handshake_closes_the_connection() {
    let mut server = Connection::new(4, peer_addr(), ConnectionConfig::default());
    // C0 must announce version 3 (RTMP spec 1.0 §5.2.2).
    let actions = server.handle_input(&[0x06; 1537]);
    assert!(
        matches!(
            actions.last(),
            Some(Action::Close(CloseReason::Handshake(_)))
        ),
        "{actions:?}"
    );
    assert!(server.is_closed());
}

#[test]
fn closing_a_publisher_says_why() {
    let mut pair = Pair::new();
    pair.publish("key");
    let actions = pair.server.close(CloseReason::TakenOver);
    pair.take(actions);
    assert_eq!(pair.close_reason(), Some(&CloseReason::TakenOver));
    assert!(
        pair.events
            .contains(&ClientSessionEvent::UnhandleableOnStatusCode {
                code: "NetStream.Failed".to_owned()
            })
    );
    assert!(
        pair.server.close(CloseReason::Shutdown).is_empty(),
        "closing twice does nothing"
    );
}

#[test]
fn the_key_query_is_stripped() {
    assert_eq!(strip_query("abc?x=1&y=2"), "abc");
    assert_eq!(strip_query("abc"), "abc");
    assert_eq!(strip_query("?x"), "");
}

/// One message on message stream 1 with a full chunk header, as a second
/// serializer would send it; the server's deserializer needs no prior state.
fn raw_message(message: RtmpMessage) -> Vec<u8> {
    let payload = message
        .into_message_payload(RtmpTimestamp::new(0), 1)
        .unwrap();
    ChunkSerializer::new()
        .serialize(&payload, true, false)
        .unwrap()
        .bytes
}

fn refusal(pair: &Pair) -> Option<Refusal> {
    match pair.close_reason()? {
        CloseReason::Refused { reason, .. } => Some(*reason),
        _ => None,
    }
}

/// A type 20 message of `payload` on chunk stream 5, 128-byte chunks.
fn raw_command(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![5, 0, 0, 0];
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(&[20, 0, 0, 0, 0]);
    for (index, chunk) in payload.chunks(128).enumerate() {
        if index > 0 {
            out.push(0xc5);
        }
        out.extend_from_slice(chunk);
    }
    out
}

#[test]
fn amf_nested_past_the_limit_never_reaches_rml_rtmp() {
    // A megabyte of nested strict arrays, allowed by size: rml_amf0 would
    // recurse 200,000 deep and abort this test process.
    let mut pair = Pair::with_config(ConnectionConfig {
        limits: RtmpLimits {
            max_command_message: 0xff_ffff,
            ..RtmpLimits::default()
        },
        ..ConnectionConfig::default()
    });
    let deep: Vec<u8> = std::iter::repeat_n([0x0a, 0, 0, 0, 1], 200_000)
        .flatten()
        .collect();
    pair.deliver_to_server(&raw_command(&deep));
    assert_eq!(refusal(&pair), Some(Refusal::AmfTooDeep));
    assert!(pair.server.is_closed());
}

#[test]
fn create_stream_is_bounded_per_connection() {
    let mut pair = Pair::new();
    pair.connect("live");
    let create = rml_rtmp::rml_amf0::serialize(&vec![
        Amf0Value::Utf8String("createStream".to_owned()),
        Amf0Value::Number(2.0),
        Amf0Value::Null,
    ])
    .unwrap();
    for _ in 0..RtmpLimits::default().max_create_streams {
        pair.deliver_to_server(&raw_command(&create));
        assert_eq!(pair.close_reason(), None);
    }
    pair.deliver_to_server(&raw_command(&create));
    assert_eq!(refusal(&pair), Some(Refusal::CreateStreams));
}

#[test]
fn media_gets_the_large_limit_only_once_publishing() {
    let limits = RtmpLimits {
        max_media_message: 100_000,
        ..RtmpLimits::default()
    };
    let mut pair = Pair::with_config(ConnectionConfig {
        limits: limits.clone(),
        ..ConnectionConfig::default()
    });
    pair.publish("key");
    pair.video(avc_sequence_header(), 0);
    let mut keyframe = avc_frame(true, 0).to_vec();
    keyframe.resize(90_000, 0x88);
    pair.video(Bytes::from(keyframe.clone()), 33);
    assert_eq!(pair.close_reason(), None);
    keyframe.resize(100_001, 0x88);
    pair.video(Bytes::from(keyframe), 66);
    assert_eq!(refusal(&pair), Some(Refusal::MessageTooLarge));
    // The publisher is told which limit it crossed.
    assert!(
        pair.events
            .contains(&ClientSessionEvent::UnhandleableOnStatusCode {
                code: "NetStream.Failed".to_owned()
            }),
        "{:?}",
        pair.events
    );
}
