//! A generation: a stretch of one session during which the codec
//! configuration stays the same, so one muxer (one init segment) can carry it.

use nova_media::{AudioConfig, TIMEBASE_HZ, Track, VideoConfig};

use crate::muxer::AAC_FRAME_SAMPLES;

/// Frame duration assumed for video when nothing better is known yet: RTMP
/// does not carry the frame rate in the stream, and 30 fps is what most
/// encoders publish.
const NOMINAL_VIDEO_FRAME_MS: i64 = 33;

#[derive(Debug)]
pub(crate) struct Generation {
    /// Increases with every change within a packaging run.
    pub id: u64,
    pub video: Option<VideoConfig>,
    pub audio: Option<AudioConfig>,
}

impl Generation {
    pub(crate) fn has_track(&self, track: Track) -> bool {
        match track {
            Track::Video => self.video.is_some(),
            Track::Audio => self.audio.is_some(),
        }
    }

    /// A frame's duration when no following frame tells it.
    pub(crate) fn nominal_duration(&self, track: Track) -> i64 {
        match (track, &self.audio) {
            (Track::Audio, Some(audio)) if audio.sample_rate() > 0 => {
                i64::from(AAC_FRAME_SAMPLES) * i64::from(TIMEBASE_HZ)
                    / i64::from(audio.sample_rate())
            }
            _ => NOMINAL_VIDEO_FRAME_MS,
        }
    }

    /// Whether a segment may start on this frame: a video keyframe, or any
    /// audio frame when there is no video.
    pub(crate) fn is_cut_point(&self, track: Track, keyframe: bool) -> bool {
        match track {
            Track::Video => keyframe && self.video.is_some(),
            Track::Audio => self.video.is_none() && self.audio.is_some(),
        }
    }
}
