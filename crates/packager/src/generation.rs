//! A generation: a stretch of one session during which the codec
//! configuration stays the same, so one muxer (one init segment) can carry it.

use nova_media::{AudioConfig, TIMEBASE_HZ, Track, VideoConfig};

use crate::muxer::AAC_FRAME_SAMPLES;

/// Frame duration assumed for video when nothing better is known yet: RTMP
/// does not carry the frame rate in the stream, and 30 fps is what most
/// encoders publish.
const NOMINAL_VIDEO_FRAME_MS: i64 = 33;

#[derive(Debug, Clone)]
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

/// The generations of a one-track rendition: the same ids as the session's,
/// with the other track left out, so the rendition's muxer restarts exactly
/// where the muxed one does (aligned discontinuities, RFC 8216 §6.2.4).
#[derive(Default)]
pub(crate) struct TrackGenerations {
    last: Option<std::sync::Arc<Generation>>,
}

impl TrackGenerations {
    pub(crate) fn only(
        &mut self,
        track: Track,
        of: &std::sync::Arc<Generation>,
    ) -> std::sync::Arc<Generation> {
        if let Some(last) = self.last.as_ref().filter(|last| last.id == of.id) {
            return last.clone();
        }
        let only = std::sync::Arc::new(Generation {
            id: of.id,
            video: of.video.clone().filter(|_| track == Track::Video),
            audio: of.audio.clone().filter(|_| track == Track::Audio),
        });
        self.last = Some(only.clone());
        only
    }
}
