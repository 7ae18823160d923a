//! A tiny FLV file reader (Adobe FLV spec v10.1 §E.2–E.3): the header, then
//! tags, each body handed to nova-media's tag parsers, as RTMP would carry them.

use bytes::Bytes;
use nova_media::flv::{AudioTag, VideoTag, parse_audio_tag, parse_video_tag};
use nova_media::{Frame, StreamEvent, Track};

const AUDIO: u8 = 8;
const VIDEO: u8 = 9;

/// The configs and frames of an FLV file, in file order, timestamps as written.
pub fn stream_events(file: &[u8]) -> Vec<StreamEvent> {
    assert_eq!(&file[..3], b"FLV", "not an FLV file");
    let header_len = u32::from_be_bytes(file[5..9].try_into().unwrap()) as usize;
    // Each tag is followed by its PreviousTagSize; the first one is zero.
    let mut at = header_len + 4;
    let mut events = Vec::new();
    while at + 11 <= file.len() {
        let kind = file[at] & 0x1f;
        let size = u32::from_be_bytes([0, file[at + 1], file[at + 2], file[at + 3]]) as usize;
        let timestamp = i64::from(u32::from_be_bytes([
            file[at + 7],
            file[at + 4],
            file[at + 5],
            file[at + 6],
        ]));
        let body = Bytes::copy_from_slice(&file[at + 11..at + 11 + size]);
        at += 11 + size + 4;
        match kind {
            VIDEO => match parse_video_tag(body).expect("valid video tag") {
                VideoTag::Config(config) => events.push(StreamEvent::VideoConfig(config)),
                VideoTag::Frame {
                    keyframe,
                    composition_time,
                    data,
                } => events.push(StreamEvent::Frame(Frame {
                    track: Track::Video,
                    dts: timestamp,
                    pts: timestamp + i64::from(composition_time),
                    keyframe,
                    data,
                })),
                VideoTag::EndOfSequence | VideoTag::Ignored(_) => {}
            },
            AUDIO => match parse_audio_tag(body).expect("valid audio tag") {
                AudioTag::Config(config) => events.push(StreamEvent::AudioConfig(config)),
                AudioTag::Frame(data) => events.push(StreamEvent::Frame(Frame {
                    track: Track::Audio,
                    dts: timestamp,
                    pts: timestamp,
                    keyframe: true,
                    data,
                })),
            },
            _ => {} // script data (onMetaData)
        }
    }
    events
}
