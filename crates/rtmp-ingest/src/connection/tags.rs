//! Turns a publisher's RTMP audio/video messages (FLV tag bodies) into
//! [`Media`] with unwrapped timestamps (the hub repairs any that do not
//! increase).

use bytes::Bytes;
use nova_media::flv::{self, AudioTag, FlvError, VideoTag};
use nova_media::{Frame, Track};

use crate::media::Media;
use crate::timeline::Timeline;

/// Per-publish parsing state: one clock per track.
#[derive(Debug, Default)]
pub struct TagReader {
    video: Timeline,
    audio: Timeline,
}

/// What one tag amounted to.
#[derive(Debug)]
pub enum TagOutcome {
    Media(Media),
    /// A valid tag that carries nothing for consumers (end of sequence,
    /// E-RTMP metadata or command frames).
    Nothing(&'static str),
}

impl TagReader {
    /// Parses a video message body (Adobe FLV spec v10.1 §E.4.3.1
    /// VIDEODATA). `pts = dts + CompositionTime`.
    pub fn video(&mut self, body: Bytes, timestamp: u32) -> Result<TagOutcome, FlvError> {
        Ok(match flv::parse_video_tag(body)? {
            VideoTag::Config(config) => TagOutcome::Media(Media::VideoConfig(config)),
            VideoTag::Frame {
                keyframe,
                composition_time,
                data,
            } => {
                // Only frames move the clock: encoders send sequence
                // headers with timestamp 0 even mid-stream.
                let dts = self.video.unwrap(timestamp);
                TagOutcome::Media(Media::Frame(Frame {
                    track: Track::Video,
                    dts,
                    pts: dts + i64::from(composition_time),
                    keyframe,
                    data,
                }))
            }
            VideoTag::EndOfSequence => TagOutcome::Nothing("video end of sequence"),
            VideoTag::Ignored(what) => TagOutcome::Nothing(what),
        })
    }

    /// Parses an audio message body (Adobe FLV spec v10.1 §E.4.2.1
    /// AUDIODATA). Every AAC access unit is a sync sample.
    pub fn audio(&mut self, body: Bytes, timestamp: u32) -> Result<TagOutcome, FlvError> {
        Ok(match flv::parse_audio_tag(body)? {
            AudioTag::Config(config) => TagOutcome::Media(Media::AudioConfig(config)),
            AudioTag::Frame(data) => {
                let dts = self.audio.unwrap(timestamp);
                TagOutcome::Media(Media::Frame(Frame {
                    track: Track::Audio,
                    dts,
                    pts: dts,
                    keyframe: true,
                    data,
                }))
            }
        })
    }
}

/// Whether a parse error means the publisher sends media we cannot take at
/// all (rather than one damaged tag).
pub fn is_unsupported(error: &FlvError) -> bool {
    matches!(
        error,
        FlvError::UnsupportedVideoCodec(_) | FlvError::UnsupportedAudioFormat(_)
    )
}
