//! FLV audio and video tag bodies as RTMP carries them (Adobe FLV spec v10.1
//! §E.4.2–E.4.3), including Enhanced RTMP's extended video header
//! (veovera enhanced-rtmp v1, "ExVideoTagHeader") for HEVC.

use bytes::Bytes;

use crate::codec::{
    AacConfig, AacConfigError, AvcConfig, AvcConfigError, HevcConfig, HevcConfigError,
};
use crate::{AudioConfig, VideoConfig};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VideoTag {
    /// A sequence header: the decoder configuration record.
    Config(VideoConfig),
    /// One access unit. `composition_time` is pts − dts in milliseconds.
    Frame {
        keyframe: bool,
        composition_time: i32,
        data: Bytes,
    },
    EndOfSequence,
    /// A tag that carries no media for us (E-RTMP metadata, command frames).
    Ignored(&'static str),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AudioTag {
    Config(AudioConfig),
    Frame(Bytes),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlvError {
    #[error("empty {0} tag")]
    Empty(&'static str),
    #[error("{what} is {len} bytes, too short for its header")]
    Truncated { what: &'static str, len: usize },
    #[error(
        "video codec {0} is not supported: send H.264 (or H.265 over Enhanced RTMP); in OBS choose the x264 or NVENC H.264 encoder"
    )]
    UnsupportedVideoCodec(String),
    #[error("audio format {0} is not supported: send AAC; in OBS the default audio encoder is AAC")]
    UnsupportedAudioFormat(String),
    #[error("{codec} packet type {packet_type} is not defined")]
    PacketType {
        codec: &'static str,
        packet_type: u8,
    },
    #[error(transparent)]
    Avc(#[from] AvcConfigError),
    #[error(transparent)]
    Hevc(#[from] HevcConfigError),
    #[error(transparent)]
    Aac(#[from] AacConfigError),
}

const AVC_CODEC_ID: u8 = 7;
/// Not in Adobe's spec, but what Chinese-market encoders and FFmpeg forks
/// send for HEVC over legacy FLV; it uses the AVC packet layout.
const LEGACY_HEVC_CODEC_ID: u8 = 12;
const KEYFRAME: u8 = 1;
const COMMAND_FRAME: u8 = 5;

/// Parses the body of an RTMP video message (an FLV VIDEODATA tag).
pub fn parse_video_tag(body: Bytes) -> Result<VideoTag, FlvError> {
    let first = *body.first().ok_or(FlvError::Empty("video"))?;
    if first & 0x80 != 0 {
        return parse_extended_video(first, body);
    }
    let frame_type = first >> 4;
    let codec_id = first & 0x0f;
    if frame_type == COMMAND_FRAME {
        return Ok(VideoTag::Ignored("video info/command frame"));
    }
    let codec = match codec_id {
        AVC_CODEC_ID => "AVC",
        LEGACY_HEVC_CODEC_ID => "HEVC",
        other => {
            return Err(FlvError::UnsupportedVideoCodec(legacy_video_codec_name(
                other,
            )));
        }
    };
    if body.len() < 5 {
        return Err(FlvError::Truncated {
            what: "AVC video tag",
            len: body.len(),
        });
    }
    let composition_time = read_si24(&body[2..5]);
    let payload = body.slice(5..);
    match body[1] {
        0 => Ok(VideoTag::Config(if codec_id == AVC_CODEC_ID {
            VideoConfig::Avc(AvcConfig::parse(payload)?)
        } else {
            VideoConfig::Hevc(HevcConfig::parse(payload)?)
        })),
        1 => Ok(VideoTag::Frame {
            keyframe: frame_type == KEYFRAME,
            composition_time,
            data: payload,
        }),
        2 => Ok(VideoTag::EndOfSequence),
        packet_type => Err(FlvError::PacketType { codec, packet_type }),
    }
}

/// E-RTMP: `IsExHeader | FrameType(3) | PacketType(4)`, then a FourCC.
fn parse_extended_video(first: u8, body: Bytes) -> Result<VideoTag, FlvError> {
    let frame_type = (first >> 4) & 0x07;
    let packet_type = first & 0x0f;
    if body.len() < 5 {
        return Err(FlvError::Truncated {
            what: "extended video tag",
            len: body.len(),
        });
    }
    let fourcc = &body[1..5];
    if fourcc != b"hvc1" {
        return Err(FlvError::UnsupportedVideoCodec(
            String::from_utf8_lossy(fourcc).into_owned(),
        ));
    }
    if frame_type == COMMAND_FRAME {
        return Ok(VideoTag::Ignored("video command frame"));
    }
    let keyframe = frame_type == KEYFRAME;
    match packet_type {
        // SequenceStart
        0 => Ok(VideoTag::Config(VideoConfig::Hevc(HevcConfig::parse(
            body.slice(5..),
        )?))),
        // CodedFrames: a composition time precedes the data.
        1 => {
            if body.len() < 8 {
                return Err(FlvError::Truncated {
                    what: "HEVC coded frames tag",
                    len: body.len(),
                });
            }
            Ok(VideoTag::Frame {
                keyframe,
                composition_time: read_si24(&body[5..8]),
                data: body.slice(8..),
            })
        }
        2 => Ok(VideoTag::EndOfSequence),
        // CodedFramesX: composition time is zero.
        3 => Ok(VideoTag::Frame {
            keyframe,
            composition_time: 0,
            data: body.slice(5..),
        }),
        4 => Ok(VideoTag::Ignored("E-RTMP metadata")),
        packet_type => Err(FlvError::PacketType {
            codec: "E-RTMP",
            packet_type,
        }),
    }
}

/// Parses the body of an RTMP audio message (an FLV AUDIODATA tag).
pub fn parse_audio_tag(body: Bytes) -> Result<AudioTag, FlvError> {
    let first = *body.first().ok_or(FlvError::Empty("audio"))?;
    let sound_format = first >> 4;
    if sound_format != 10 {
        return Err(FlvError::UnsupportedAudioFormat(audio_format_name(
            sound_format,
        )));
    }
    if body.len() < 2 {
        return Err(FlvError::Truncated {
            what: "AAC audio tag",
            len: body.len(),
        });
    }
    match body[1] {
        0 => Ok(AudioTag::Config(AudioConfig::Aac(AacConfig::parse(
            body.slice(2..),
        )?))),
        1 => Ok(AudioTag::Frame(body.slice(2..))),
        packet_type => Err(FlvError::PacketType {
            codec: "AAC",
            packet_type,
        }),
    }
}

fn read_si24(bytes: &[u8]) -> i32 {
    let raw = (i32::from(bytes[0]) << 16) | (i32::from(bytes[1]) << 8) | i32::from(bytes[2]);
    (raw << 8) >> 8
}

fn legacy_video_codec_name(id: u8) -> String {
    match id {
        2 => "Sorenson H.263".into(),
        3 => "Screen video".into(),
        4 => "On2 VP6".into(),
        5 => "On2 VP6 with alpha".into(),
        6 => "Screen video v2".into(),
        other => format!("id {other}"),
    }
}

fn audio_format_name(id: u8) -> String {
    match id {
        0 | 3 => "linear PCM".into(),
        1 => "ADPCM".into(),
        2 => "MP3".into(),
        4..=6 => "Nellymoser".into(),
        7 => "G.711 A-law".into(),
        8 => "G.711 mu-law".into(),
        9 => "Enhanced RTMP audio (Opus/AC-3/FLAC)".into(),
        11 => "Speex".into(),
        14 => "MP3 8 kHz".into(),
        other => format!("id {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_avc_frames_with_negative_composition_time() {
        let body = Bytes::from_static(&[0x27, 0x01, 0xff, 0xff, 0xd8, 0, 0, 0, 1, 0x41]);
        assert_eq!(
            parse_video_tag(body).unwrap(),
            VideoTag::Frame {
                keyframe: false,
                composition_time: -40,
                data: Bytes::from_static(&[0, 0, 0, 1, 0x41]),
            }
        );
    }

    #[test]
    fn parses_keyframes_and_end_of_sequence() {
        let key = Bytes::from_static(&[0x17, 0x01, 0x00, 0x00, 0x50, 0xaa]);
        assert!(matches!(
            parse_video_tag(key).unwrap(),
            VideoTag::Frame {
                keyframe: true,
                composition_time: 80,
                ..
            }
        ));
        let eos = Bytes::from_static(&[0x17, 0x02, 0, 0, 0]);
        assert_eq!(parse_video_tag(eos).unwrap(), VideoTag::EndOfSequence);
    }

    #[test]
    fn refuses_unsupported_codecs_by_name() {
        let err = parse_video_tag(Bytes::from_static(&[0x24, 0, 0])).unwrap_err();
        assert!(err.to_string().contains("On2 VP6"), "{err}");
        let err = parse_audio_tag(Bytes::from_static(&[0x2f, 0])).unwrap_err();
        assert!(err.to_string().contains("MP3"), "{err}");
    }

    #[test]
    fn parses_aac_config_and_frames() {
        let config = parse_audio_tag(Bytes::from_static(&[0xaf, 0x00, 0x12, 0x10])).unwrap();
        assert!(
            matches!(config, AudioTag::Config(AudioConfig::Aac(ref c)) if c.sample_rate == 44_100)
        );
        let frame = parse_audio_tag(Bytes::from_static(&[0xaf, 0x01, 0x21, 0x10])).unwrap();
        assert_eq!(frame, AudioTag::Frame(Bytes::from_static(&[0x21, 0x10])));
    }

    #[test]
    fn parses_enhanced_rtmp_hevc_frames() {
        // IsExHeader | keyframe | CodedFramesX, "hvc1", payload.
        let body = Bytes::from_static(&[0x93, b'h', b'v', b'c', b'1', 0, 0, 0, 2, 0x26, 0x01]);
        assert_eq!(
            parse_video_tag(body).unwrap(),
            VideoTag::Frame {
                keyframe: true,
                composition_time: 0,
                data: Bytes::from_static(&[0, 0, 0, 2, 0x26, 0x01]),
            }
        );
        let av1 = Bytes::from_static(&[0x90, b'a', b'v', b'0', b'1']);
        assert!(matches!(
            parse_video_tag(av1),
            Err(FlvError::UnsupportedVideoCodec(name)) if name == "av01"
        ));
    }

    #[test]
    fn reports_truncated_and_empty_tags() {
        assert_eq!(parse_video_tag(Bytes::new()), Err(FlvError::Empty("video")));
        assert_eq!(
            parse_video_tag(Bytes::from_static(&[0x17, 0x01])),
            Err(FlvError::Truncated {
                what: "AVC video tag",
                len: 2
            })
        );
        assert_eq!(
            parse_video_tag(Bytes::from_static(&[0x17, 0x07, 0, 0, 0])),
            Err(FlvError::PacketType {
                codec: "AVC",
                packet_type: 7
            })
        );
    }
}
