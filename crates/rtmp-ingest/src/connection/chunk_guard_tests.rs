//! The guard against chunks made by hand (every header format, extended
//! timestamps, chunk size changes), by rml_rtmp's serializer, and captured
//! from a real ffmpeg publish.

use bytes::Bytes;
use rml_rtmp::chunk_io::{ChunkDeserializer, ChunkSerializer};
use rml_rtmp::messages::{MessagePayload, RtmpMessage};
use rml_rtmp::time::RtmpTimestamp;

use super::*;

/// What ffmpeg 5.1 sent after the handshake when publishing 1.5 s of the
/// sample with `-c copy` (connect … publish, metadata, audio and video;
/// the key is from a throwaway database).
const FFMPEG_PUBLISH: &[u8] = include_bytes!("testdata/ffmpeg-publish.rtmp");

fn guard() -> ChunkGuard {
    ChunkGuard::new(RtmpLimits::default())
}

/// A full (format 0) header on `csid` 2..=63, then the payload cut into
/// `chunk_size` chunks with format 3 headers between.
fn message(csid: u8, type_id: u8, timestamp: u32, payload: &[u8], chunk_size: usize) -> Vec<u8> {
    let extended = timestamp >= EXTENDED_TIMESTAMP;
    let field = if extended {
        EXTENDED_TIMESTAMP
    } else {
        timestamp
    };
    let mut out = vec![csid];
    out.extend_from_slice(&field.to_be_bytes()[1..]);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.push(type_id);
    out.extend_from_slice(&1_u32.to_le_bytes());
    if extended {
        out.extend_from_slice(&timestamp.to_be_bytes());
    }
    for (index, chunk) in payload.chunks(chunk_size).enumerate() {
        if index > 0 {
            out.push(0xc0 | csid);
            if extended {
                out.extend_from_slice(&timestamp.to_be_bytes());
            }
        }
        out.extend_from_slice(chunk);
    }
    out
}

fn set_chunk_size(size: u32) -> Vec<u8> {
    message(2, SET_CHUNK_SIZE, 0, &size.to_be_bytes(), 128)
}

fn command(name: &str) -> Vec<u8> {
    let values = vec![
        rml_rtmp::rml_amf0::Amf0Value::Utf8String(name.to_owned()),
        rml_rtmp::rml_amf0::Amf0Value::Number(2.0),
        rml_rtmp::rml_amf0::Amf0Value::Null,
    ];
    rml_rtmp::rml_amf0::serialize(&values).unwrap()
}

/// Feeds `bytes` one byte at a time, then all at once into a fresh
/// guard: headers and payloads split anywhere must read the same.
fn inspect_both_ways(limits: &RtmpLimits, bytes: &[u8]) -> Result<Seen, GuardRefusal> {
    let mut whole = ChunkGuard::new(limits.clone());
    let at_once = whole.inspect(bytes);
    let mut split = ChunkGuard::new(limits.clone());
    let mut byte_by_byte = Seen::default();
    let mut refused = None;
    for byte in bytes {
        match split.inspect(std::slice::from_ref(byte)) {
            Ok(seen) => byte_by_byte.create_streams += seen.create_streams,
            Err(refusal) => {
                refused = Some(refusal);
                break;
            }
        }
    }
    let one_by_one = refused.map_or(Ok(byte_by_byte), Err);
    assert_eq!(at_once, one_by_one, "split input reads differently");
    at_once
}

#[test]
fn a_real_ffmpeg_publish_passes_and_rml_rtmp_reads_it_all() {
    let limits = RtmpLimits::default();
    let seen = inspect_both_ways(&limits, FFMPEG_PUBLISH).unwrap();
    assert_eq!(seen.create_streams, 1);
    // The guard only looks: rml_rtmp, fed the same bytes, finds every
    // message the guard followed, ending on a message boundary.
    let mut deserializer = ChunkDeserializer::new();
    let mut input = FFMPEG_PUBLISH;
    let mut media = 0;
    while let Some(payload) = deserializer.get_next_message(input).unwrap() {
        input = &[];
        if let RtmpMessage::SetChunkSize { size } = payload.to_rtmp_message().unwrap() {
            deserializer.set_max_chunk_size(size as usize).unwrap();
        }
        media += usize::from(matches!(payload.type_id, AUDIO | VIDEO));
    }
    assert!(media > 50, "{media} media messages");
    let mut guard = guard();
    guard.inspect(FFMPEG_PUBLISH).unwrap();
    assert!(guard.message.is_none() && guard.header.is_empty());
    assert_eq!(guard.chunk_size, 4096);
}

#[test]
fn follows_compressed_headers_of_every_format() {
    // Format 0, then 1 (new length and type), 2 (timestamp delta only)
    // and 3 (nothing) starting messages on the same chunk stream.
    let create = command("createStream");
    let mut bytes = message(3, AMF0_COMMAND, 0, &command("connect"), 128);
    bytes.push(0x43); // format 1
    bytes.extend_from_slice(&[0, 0, 10]);
    bytes.extend_from_slice(&(create.len() as u32).to_be_bytes()[1..]);
    bytes.push(AMF0_COMMAND);
    bytes.extend_from_slice(&create);
    bytes.push(0x83); // format 2: same length and type
    bytes.extend_from_slice(&[0, 0, 10]);
    bytes.extend_from_slice(&create);
    bytes.push(0xc3); // format 3: the same again
    bytes.extend_from_slice(&create);
    let seen = inspect_both_ways(&RtmpLimits::default(), &bytes).unwrap();
    assert_eq!(seen.create_streams, 3);
}

#[test]
fn reads_chunk_stream_ids_of_two_and_three_bytes() {
    let mut bytes = Vec::new();
    // csid 64 + 200 in the two-byte form, 64 + 1000 in the three-byte form.
    for basic in [vec![0x00, 200], vec![0x01, 0xe8, 0x03]] {
        let create = command("createStream");
        bytes.extend_from_slice(&basic);
        bytes.extend_from_slice(&[0, 0, 0]);
        bytes.extend_from_slice(&(create.len() as u32).to_be_bytes()[1..]);
        bytes.push(AMF0_COMMAND);
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend_from_slice(&create);
        // A format 3 continuation of the same stream starts another.
        let mut continued = basic.clone();
        continued[0] |= 0xc0;
        bytes.extend_from_slice(&continued);
        bytes.extend_from_slice(&create);
    }
    let seen = inspect_both_ways(&RtmpLimits::default(), &bytes).unwrap();
    assert_eq!(seen.create_streams, 4);
}

#[test]
fn reads_extended_timestamps_on_every_chunk() {
    // A 300-byte data message in three chunks, each with the extended
    // timestamp rml_rtmp expects, then a command that must still parse.
    let mut metadata = command("@setDataFrame");
    metadata.extend(std::iter::repeat_n(0x05, 300 - metadata.len()));
    let mut bytes = message(4, AMF0_DATA, 0x0100_0000, &metadata, 128);
    bytes.extend(message(
        3,
        AMF0_COMMAND,
        0x0200_0000,
        &command("createStream"),
        128,
    ));
    // Format 3 on the extended stream: the extended timestamp again.
    bytes.push(0xc3);
    bytes.extend_from_slice(&0x0200_0000_u32.to_be_bytes());
    bytes.extend(command("createStream"));
    let seen = inspect_both_ways(&RtmpLimits::default(), &bytes).unwrap();
    assert_eq!(seen.create_streams, 2);
    // rml_rtmp reads the same three messages out of them.
    let mut deserializer = ChunkDeserializer::new();
    let mut input = &bytes[..];
    let mut count = 0;
    while let Some(payload) = deserializer.get_next_message(input).unwrap() {
        input = &[];
        count += 1;
        assert!(payload.timestamp.value >= 0x0100_0000);
    }
    assert_eq!(count, 3);
}

#[test]
fn follows_the_peers_chunk_size_and_rml_rtmps_serializer() {
    // rml_rtmp's own serializer at a 4,000-byte chunk size: compressed
    // headers as it chooses them, big media once publishing.
    let mut serializer = ChunkSerializer::new();
    let mut bytes = serializer
        .set_max_chunk_size(4000, RtmpTimestamp::new(0))
        .unwrap()
        .bytes;
    for (index, size) in [100_usize, 5_000, 70_000, 9_000].into_iter().enumerate() {
        let payload = MessagePayload {
            timestamp: RtmpTimestamp::new(index as u32 * 33),
            message_stream_id: 1,
            type_id: VIDEO,
            data: Bytes::from(vec![0x27; size]),
        };
        bytes.extend(serializer.serialize(&payload, false, false).unwrap().bytes);
    }
    let mut publishing = guard();
    publishing.set_publishing(true);
    publishing.inspect(&bytes).unwrap();
    assert_eq!(publishing.chunk_size, 4000);
    assert!(publishing.message.is_none() && publishing.header.is_empty());
    // Before the publish is accepted the same video is over the limit.
    let refusal = guard().inspect(&bytes).unwrap_err();
    assert_eq!(refusal.reason, Refusal::MessageTooLarge);
}

#[test]
fn refuses_a_chunk_size_over_the_limit_or_zero() {
    let limits = RtmpLimits::default();
    assert!(inspect_both_ways(&limits, &set_chunk_size(limits.max_chunk_size)).is_ok());
    for size in [limits.max_chunk_size + 1, 0x7fff_ffff, 0] {
        let refusal = inspect_both_ways(&limits, &set_chunk_size(size)).unwrap_err();
        assert_eq!(refusal.reason, Refusal::ChunkSize, "{size}");
    }
}

#[test]
fn refuses_messages_declared_over_their_limit_at_the_header() {
    let limits = RtmpLimits {
        max_command_message: 1000,
        max_media_message: 5000,
        ..RtmpLimits::default()
    };
    let header_only = |type_id: u8, length: u32| {
        let mut bytes = vec![4, 0, 0, 0];
        bytes.extend_from_slice(&length.to_be_bytes()[1..]);
        bytes.push(type_id);
        bytes.extend_from_slice(&[1, 0, 0, 0]);
        bytes
    };
    let mut publishing = ChunkGuard::new(limits.clone());
    publishing.set_publishing(true);
    assert!(publishing.inspect(&header_only(VIDEO, 5000)).is_ok());
    let mut publishing = ChunkGuard::new(limits.clone());
    publishing.set_publishing(true);
    let refusal = publishing.inspect(&header_only(VIDEO, 5001)).unwrap_err();
    assert_eq!(refusal.reason, Refusal::MessageTooLarge);
    // Commands (and media before publishing) get the small limit.
    for type_id in [AMF0_COMMAND, AMF0_DATA, AUDIO, 22] {
        assert!(
            ChunkGuard::new(limits.clone())
                .inspect(&header_only(type_id, 1000))
                .is_ok()
        );
        let refusal = ChunkGuard::new(limits.clone())
            .inspect(&header_only(type_id, 0xff_ffff))
            .unwrap_err();
        assert_eq!(refusal.reason, Refusal::MessageTooLarge, "type {type_id}");
    }
    // A format 1 header that enlarges a known chunk stream is refused too.
    let mut bytes = message(3, AMF0_COMMAND, 0, &command("connect"), 128);
    bytes.extend_from_slice(&[0x43, 0, 0, 0, 0x10, 0, 0, AMF0_COMMAND]);
    let refusal = inspect_both_ways(&limits, &bytes).unwrap_err();
    assert_eq!(refusal.reason, Refusal::MessageTooLarge);
}

#[test]
fn bounds_the_chunk_streams_in_use() {
    let limits = RtmpLimits {
        max_chunk_streams: 4,
        ..RtmpLimits::default()
    };
    let mut bytes = Vec::new();
    for csid in 3..7 {
        bytes.extend(message(csid, AMF0_COMMAND, 0, &command("ping"), 128));
    }
    // Reusing the four is fine; a fifth is not.
    bytes.extend(message(3, AMF0_COMMAND, 0, &command("ping"), 128));
    assert!(inspect_both_ways(&limits, &bytes).is_ok());
    bytes.extend(message(7, AMF0_COMMAND, 0, &command("ping"), 128));
    let refusal = inspect_both_ways(&limits, &bytes).unwrap_err();
    assert_eq!(refusal.reason, Refusal::ChunkStreams);
}

#[test]
fn refuses_chunks_it_cannot_follow_as_rml_rtmp_would() {
    let limits = RtmpLimits::default();
    // A compressed header on a chunk stream that never had a full one.
    let refusal = inspect_both_ways(&limits, &[0x83, 0, 0, 0]).unwrap_err();
    assert_eq!(refusal.reason, Refusal::MalformedChunks);
    let refusal = inspect_both_ways(&limits, &[0xc5]).unwrap_err();
    assert_eq!(refusal.reason, Refusal::MalformedChunks);
    // A message on stream 4 started inside an unfinished one on stream 3.
    let long = vec![0x05; 300];
    let mut bytes = message(3, AMF0_DATA, 0, &long, 128);
    bytes.truncate(12 + 128);
    bytes.extend(message(4, AMF0_COMMAND, 0, &command("connect"), 128));
    let refusal = inspect_both_ways(&limits, &bytes).unwrap_err();
    assert_eq!(refusal.reason, Refusal::MalformedChunks);
}

#[test]
fn refuses_deep_or_unreadable_amf_in_every_amf_message_type() {
    let limits = RtmpLimits {
        max_amf_depth: 4,
        ..RtmpLimits::default()
    };
    let deep: Vec<u8> = std::iter::repeat_n([0x0a, 0, 0, 0, 1], 5)
        .flatten()
        .collect();
    for type_id in [AMF3_DATA, AMF3_COMMAND, AMF0_DATA, AMF0_COMMAND] {
        let refusal = inspect_both_ways(&limits, &message(3, type_id, 0, &deep, 128)).unwrap_err();
        assert_eq!(refusal.reason, Refusal::AmfTooDeep, "type {type_id}");
        let unknown = message(3, type_id, 0, &[0x02, 0, 1, b'a', 0x11], 128);
        let refusal = inspect_both_ways(&limits, &unknown).unwrap_err();
        assert_eq!(refusal.reason, Refusal::MalformedAmf, "type {type_id}");
    }
    // An "AMF3" command is AMF0 after its leading zero byte.
    let mut amf3 = vec![0];
    amf3.extend(command("createStream"));
    let seen = inspect_both_ways(&limits, &message(3, AMF3_COMMAND, 0, &amf3, 128)).unwrap();
    assert_eq!(seen.create_streams, 1);
    // Audio and video are not AMF: never read.
    let seen = inspect_both_ways(&limits, &message(3, VIDEO, 0, &deep, 128)).unwrap();
    assert_eq!(seen, Seen::default());
}
