//! Property: whatever rml_rtmp's client writes (any chunk size, any frame
//! sizes and timestamps), and however TCP cuts it into reads, the server
//! connection hands on exactly the frames that were published.

use bytes::Bytes;
use nova_media::{Frame, PublishGrant, StreamId, StreamSettings, Track};
use nova_rtmp_ingest::{Action, Connection, ConnectionConfig, Media, RtmpLimits};
use proptest::prelude::*;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult, PublishRequestType,
};
use rml_rtmp::time::RtmpTimestamp;

/// AVCDecoderConfigurationRecord of x264, 1280x720 High.
const AVC_RECORD: &str = "0164001fffe1001a6764001facd9405005bb0110000003001000000303c0f183196001000668ebe3cb22c0fdf8f800";

#[derive(Clone, Debug)]
struct Published {
    video: bool,
    keyframe: bool,
    composition_time: i32,
    timestamp_step: u32,
    data: Vec<u8>,
}

fn published() -> impl Strategy<Value = Published> {
    (
        any::<bool>(),
        any::<bool>(),
        0..500i32,
        0..100u32,
        proptest::collection::vec(any::<u8>(), 1..20_000),
    )
        .prop_map(
            |(video, keyframe, composition_time, timestamp_step, data)| Published {
                video,
                keyframe,
                composition_time,
                timestamp_step,
                data,
            },
        )
}

/// The FLV tag body an encoder puts around a frame (FLV spec §E.4.3.1, §E.4.2.2).
fn tag(frame: &Published) -> Bytes {
    let mut body = if frame.video {
        let ct = frame.composition_time.to_be_bytes();
        vec![
            if frame.keyframe { 0x17 } else { 0x27 },
            1,
            ct[1],
            ct[2],
            ct[3],
        ]
    } else {
        vec![0xaf, 0x01]
    };
    body.extend_from_slice(&frame.data);
    body.into()
}

/// A client and a server connection, back to back, up to an accepted
/// publish; returns the client and the server.
fn publishing(chunk_size: u32) -> (ClientSession, Connection) {
    let mut server = Connection::new(
        1,
        "192.0.2.1:4000".parse().unwrap(),
        ConnectionConfig::default(),
    );
    let mut handshake = Handshake::new(PeerType::Client);
    let s0_s1_s2 = sent(server.handle_input(&handshake.generate_outbound_p0_and_p1().unwrap()));
    let Ok(HandshakeProcessResult::Completed { response_bytes, .. }) =
        handshake.process_bytes(&s0_s1_s2)
    else {
        panic!("the handshake completes");
    };
    let mut config = ClientSessionConfig::new();
    config.chunk_size = chunk_size;
    let (mut client, results) = ClientSession::new(config).unwrap();
    let mut to_server = response_bytes;
    to_server.extend(outbound(results));
    let mut events = Vec::new();
    exchange(&mut client, &mut server, to_server, &mut events);
    let connect = client.request_connection("live".to_owned()).unwrap();
    exchange(
        &mut client,
        &mut server,
        outbound(vec![connect]),
        &mut events,
    );
    assert!(events.contains(&ClientSessionEvent::ConnectionRequestAccepted));
    let publish = client
        .request_publishing("key".to_owned(), PublishRequestType::Live)
        .unwrap();
    exchange(
        &mut client,
        &mut server,
        outbound(vec![publish]),
        &mut events,
    );
    assert!(events.contains(&ClientSessionEvent::PublishRequestAccepted));
    (client, server)
}

/// Delivers bytes both ways until neither side has anything to say,
/// granting a publish when asked.
fn exchange(
    client: &mut ClientSession,
    server: &mut Connection,
    mut to_server: Vec<u8>,
    events: &mut Vec<ClientSessionEvent>,
) {
    while !to_server.is_empty() {
        let mut actions = server.handle_input(&to_server);
        let mut to_client = Vec::new();
        while let Some(action) = actions.pop() {
            match action {
                Action::Send(bytes) => to_client.splice(0..0, bytes),
                Action::AuthorizePublish(_) => {
                    let grant = PublishGrant {
                        stream_id: StreamId::new_random(),
                        settings: StreamSettings::default(),
                    };
                    actions.extend(server.publish_authorized(&grant).into_iter().rev());
                    continue;
                }
                other => panic!("unexpected {other:?} before media"),
            };
        }
        to_server = Vec::new();
        for result in client.handle_input(&to_client).unwrap() {
            match result {
                ClientSessionResult::OutboundResponse(packet) => to_server.extend(packet.bytes),
                ClientSessionResult::RaisedEvent(event) => events.push(event),
                ClientSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
    }
}

fn outbound(results: Vec<ClientSessionResult>) -> Vec<u8> {
    results
        .into_iter()
        .flat_map(|result| match result {
            ClientSessionResult::OutboundResponse(packet) => packet.bytes,
            other => panic!("client produced {other:?}"),
        })
        .collect()
}

fn sent(actions: Vec<Action>) -> Vec<u8> {
    actions
        .into_iter()
        .flat_map(|action| match action {
            Action::Send(bytes) => bytes.to_vec(),
            _ => Vec::new(),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn every_published_frame_comes_out_as_it_went_in(
        // Chunk sizes the server accepts: up to its limit (a larger one is
        // refused, as `chunk_guard` tests).
        chunk_size in prop_oneof![
            Just(128u32),
            Just(4096),
            Just(RtmpLimits::default().max_chunk_size),
            128..=RtmpLimits::default().max_chunk_size,
        ],
        frames in proptest::collection::vec(published(), 1..40),
        reads in proptest::collection::vec(1..70_000usize, 1..50),
    ) {
        let (mut client, mut server) = publishing(chunk_size);
        let mut wire = Vec::new();
        let sequence_header: Vec<u8> = [0x17, 0, 0, 0, 0]
            .into_iter()
            .chain((0..AVC_RECORD.len()).step_by(2).map(|i| u8::from_str_radix(&AVC_RECORD[i..i + 2], 16).unwrap()))
            .collect();
        let header = client.publish_video_data(sequence_header.into(), RtmpTimestamp::new(0), false).unwrap();
        wire.extend(outbound(vec![header]));
        let mut timestamp = 0u32;
        let mut expected = Vec::new();
        for frame in &frames {
            timestamp += frame.timestamp_step;
            let packet = if frame.video {
                client.publish_video_data(tag(frame), RtmpTimestamp::new(timestamp), false)
            } else {
                client.publish_audio_data(tag(frame), RtmpTimestamp::new(timestamp), false)
            };
            wire.extend(outbound(vec![packet.unwrap()]));
            let dts = i64::from(timestamp);
            expected.push(Frame {
                track: if frame.video { Track::Video } else { Track::Audio },
                dts,
                pts: dts + if frame.video { i64::from(frame.composition_time) } else { 0 },
                keyframe: !frame.video || frame.keyframe,
                data: Bytes::from(frame.data.clone()),
            });
        }

        let mut received = Vec::new();
        let mut rest = &wire[..];
        for size in reads.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (read, after) = rest.split_at(rest.len().min(*size));
            rest = after;
            for action in server.handle_input(read) {
                match action {
                    Action::Media(Media::Frame(frame)) => received.push(frame),
                    Action::Media(Media::VideoConfig(_)) | Action::Send(_) => {}
                    other => prop_assert!(false, "unexpected {other:?}"),
                }
            }
        }
        prop_assert_eq!(received, expected);
    }
}
