//! A last `onStatus` error to a publisher before the server hangs up.
//!
//! rml_rtmp 0.8 can only send an error in answer to an outstanding request
//! (`reject_request`); once a publish is accepted it offers no way to tell
//! the client why it is being disconnected. This module serializes that one
//! message itself.

use std::collections::HashMap;

use bytes::Bytes;
use rml_rtmp::chunk_io::ChunkSerializer;
use rml_rtmp::messages::RtmpMessage;
use rml_rtmp::rml_amf0::Amf0Value;
use rml_rtmp::time::RtmpTimestamp;

/// The publish stream's message stream id. rml_rtmp numbers streams from 1
/// in `createStream` order and does not expose which one a publish used;
/// every publisher we know of (OBS, ffmpeg, Larix, GStreamer) creates exactly
/// one stream, so it is 1. Clients (librtmp, ffmpeg) act on an `onStatus` by
/// its code and level, whatever stream it arrives on.
const PUBLISH_STREAM_ID: u32 = 1;

/// An `onStatus` error (`NetStream.Failed`, RTMP spec 1.0 §7.2.2 "NetStream
/// Commands" / Adobe ActionScript `NetStatusEvent` codes), ready to write.
///
/// Uses a private serializer and full (type 0) chunk headers, so it does not
/// depend on the header compression state of the session's own serializer.
/// That is only sound as the last message on the connection: the session's
/// later packets could be compressed against headers the peer never saw.
/// `chunk_size` must be the size the session announced, because the peer
/// splits incoming chunks by it.
pub fn farewell_error(description: &str, chunk_size: u32) -> Option<Bytes> {
    let mut serializer = ChunkSerializer::new();
    // The returned SetChunkSize packet is not sent: the session already
    // announced this size, the serializer only needs to split by it.
    serializer
        .set_max_chunk_size(chunk_size, RtmpTimestamp::new(0))
        .ok()?;
    let status = HashMap::from([
        (
            "level".to_owned(),
            Amf0Value::Utf8String("error".to_owned()),
        ),
        (
            "code".to_owned(),
            Amf0Value::Utf8String("NetStream.Failed".to_owned()),
        ),
        (
            "description".to_owned(),
            Amf0Value::Utf8String(description.to_owned()),
        ),
    ]);
    let message = RtmpMessage::Amf0Command {
        command_name: "onStatus".to_owned(),
        transaction_id: 0.0,
        command_object: Amf0Value::Null,
        additional_arguments: vec![Amf0Value::Object(status)],
    };
    let payload = message
        .into_message_payload(RtmpTimestamp::new(0), PUBLISH_STREAM_ID)
        .ok()?;
    let packet = serializer.serialize(&payload, true, false).ok()?;
    Some(Bytes::from(packet.bytes))
}
