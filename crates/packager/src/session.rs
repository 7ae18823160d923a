//! One publish session: its codec configurations, its clock, and its frames
//! on their way to the segment writer.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use nova_media::{AudioConfig, Frame, StreamSettings, Track, VideoConfig};

use crate::counters::PackagerCounters;
use crate::generation::Generation;
use crate::interleave::{Interleaver, Ready};
use crate::timeline::SessionClock;

/// With audio but no video configuration for this much audio, the session is
/// audio-only (encoders send both sequence headers before any frame, so a
/// video stream would have announced itself by then).
const AUDIO_ONLY_AFTER_MS: i64 = 1000;

pub(crate) struct Session {
    pub id: u32,
    settings: Arc<StreamSettings>,
    generation: Arc<Generation>,
    clock: Option<SessionClock>,
    first_audio_dts: Option<i64>,
    interleaver: Interleaver,
}

impl Session {
    pub(crate) fn new(id: u32, settings: Arc<StreamSettings>, generation_id: u64) -> Self {
        Self {
            id,
            settings,
            generation: Arc::new(Generation {
                id: generation_id,
                video: None,
                audio: None,
            }),
            clock: None,
            first_audio_dts: None,
            interleaver: Interleaver::default(),
        }
    }

    pub(crate) fn clock(&self) -> Option<SessionClock> {
        self.clock
    }

    pub(crate) fn low_latency(&self) -> bool {
        self.settings.low_latency
    }

    pub(crate) fn target_ms(&self) -> i64 {
        i64::try_from(self.settings.target_segment_duration.as_millis()).unwrap_or(i64::MAX)
    }

    /// Returns whether the configuration changed (a repeated sequence header
    /// is not a change).
    pub(crate) fn set_video(&mut self, config: VideoConfig, generation_id: u64) -> bool {
        if self.generation.video.as_ref() == Some(&config) {
            return false;
        }
        self.next_generation(generation_id, Some(Some(config)), None);
        true
    }

    pub(crate) fn set_audio(&mut self, config: AudioConfig, generation_id: u64) -> bool {
        if self.generation.audio.as_ref() == Some(&config) {
            return false;
        }
        self.next_generation(generation_id, None, Some(Some(config)));
        true
    }

    /// Frames were lost upstream: what follows needs a muxer of its own.
    pub(crate) fn break_generation(&mut self, generation_id: u64) {
        self.next_generation(generation_id, None, None);
    }

    fn next_generation(
        &mut self,
        id: u64,
        video: Option<Option<VideoConfig>>,
        audio: Option<Option<AudioConfig>>,
    ) {
        self.generation = Arc::new(Generation {
            id,
            video: video.unwrap_or_else(|| self.generation.video.clone()),
            audio: audio.unwrap_or_else(|| self.generation.audio.clone()),
        });
    }

    /// Takes a frame on the publisher's clock, its DTS greater than the
    /// track's previous one (the hub repairs those that are not); returns
    /// false if it was skipped.
    pub(crate) fn push(
        &mut self,
        frame: Frame,
        arrived: Instant,
        run_end_ms: i64,
        counters: &mut PackagerCounters,
    ) -> bool {
        if frame.data.is_empty() || !self.generation.has_track(frame.track) {
            counters.frames_skipped += 1;
            return false;
        }
        if self.clock.is_none() && self.starts_timeline(&frame) {
            self.clock = Some(SessionClock::new(frame.dts, run_end_ms, SystemTime::now()));
        }
        let Some(clock) = self.clock else {
            counters.frames_skipped += 1;
            return false;
        };
        let (dts, pts) = (clock.run_time(frame.dts), clock.run_time(frame.pts));
        if dts < clock.run_origin() {
            // Audio that decodes before the first keyframe has no segment.
            counters.frames_skipped += 1;
            return false;
        }
        self.interleaver.push(
            Frame { dts, pts, ..frame },
            self.generation.clone(),
            Some(arrived),
        );
        true
    }

    /// The next frame ready for the writer, on the run's timeline.
    pub(crate) fn pop(&mut self) -> Option<Ready> {
        self.interleaver.pop()
    }

    /// Everything still held back: the session is ending.
    pub(crate) fn drain(&mut self) -> Option<Ready> {
        self.interleaver.drain()
    }

    /// The session's timeline starts on its first video keyframe, or for an
    /// audio-only session once it has shown itself to be one.
    fn starts_timeline(&mut self, frame: &Frame) -> bool {
        match frame.track {
            Track::Video => frame.keyframe,
            Track::Audio if self.generation.video.is_none() => {
                let first = *self.first_audio_dts.get_or_insert(frame.dts);
                frame.dts - first >= AUDIO_ONLY_AFTER_MS
            }
            Track::Audio => false,
        }
    }
}
