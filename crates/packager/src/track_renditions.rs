//! One CMAF track per rendition (ISO/IEC 23000-19 §7.3): the source video on
//! its own and the audio on its own, each its own init and segments, for
//! the master playlist (RFC 8216bis §4.4.6) and the DASH MPD to combine.
//!
//! The video rendition leads: it cuts on keyframes as the muxed output
//! does. Audio follows, cutting at its first frame at or after each video
//! cut, so segment N of every rendition covers the same media time and
//! carries the same sequence number. A transcoded rendition (the ladder)
//! is one more leading or following [`SegmentWriter`] fed the same way.

use std::sync::Arc;

use nova_media::{
    AUDIO_RENDITION, SOURCE_RENDITION, SegmentContainer, SegmentSink, StreamId, Track,
};

use crate::counters::PackagerCounters;
use crate::generation::TrackGenerations;
use crate::interleave::Ready;
use crate::naming::RunNames;
use crate::segment_writer::{Boundary, SegmentWriter};
use crate::timeline::SessionClock;

pub(crate) struct TrackRenditions {
    video: SegmentWriter,
    audio: SegmentWriter,
    video_only: TrackGenerations,
    audio_only: TrackGenerations,
    /// Kept apart from the packager's own: frames and segments are counted
    /// once, by the muxed output; mux errors here are added to its count.
    counters: PackagerCounters,
}

impl TrackRenditions {
    /// `run` is the muxed output's run token: one name per media time across
    /// renditions, each in its own directory.
    /// Both renditions are cut into LL-HLS parts of at most `part_target_ms`.
    pub(crate) fn new(
        stream: StreamId,
        sink: Arc<dyn SegmentSink>,
        run: &str,
        part_target_ms: i64,
    ) -> Self {
        let writer = |rendition: &str| {
            SegmentWriter::new(
                stream,
                rendition.into(),
                sink.clone(),
                SegmentContainer::Fmp4,
                RunNames::with_token(run.to_owned()),
            )
            .with_parts(part_target_ms)
        };
        Self {
            video: writer(SOURCE_RENDITION),
            audio: writer(AUDIO_RENDITION),
            video_only: TrackGenerations::default(),
            audio_only: TrackGenerations::default(),
            counters: PackagerCounters::default(),
        }
    }

    /// Returns where the source video began a segment, if it did: the
    /// transcoded renditions cut there too.
    pub(crate) fn write(
        &mut self,
        ready: &Ready,
        clock: &SessionClock,
        target_ms: i64,
    ) -> Option<Boundary> {
        let track = ready.frame.track;
        let own = Ready {
            frame: ready.frame.clone(),
            duration_ms: ready.duration_ms,
            generation: match track {
                Track::Video => self.video_only.only(track, &ready.generation),
                Track::Audio => self.audio_only.only(track, &ready.generation),
            },
            arrived: ready.arrived,
        };
        match track {
            Track::Video => {
                let boundary = self.video.write(own, clock, target_ms, &mut self.counters);
                if let Some(boundary) = boundary {
                    self.audio.follow(boundary);
                }
                boundary
            }
            Track::Audio if ready.generation.video.is_some() => {
                self.audio.write_following(own, clock, &mut self.counters);
                None
            }
            // No video in this generation: the audio track leads.
            Track::Audio => {
                self.audio.write(own, clock, target_ms, &mut self.counters);
                None
            }
        }
    }

    /// Ends both muxers with their last segments; returns the mux errors
    /// since the last call.
    pub(crate) fn close(&mut self) -> u64 {
        self.video.close(&mut self.counters);
        self.audio.close(&mut self.counters);
        self.take_mux_errors()
    }

    pub(crate) fn take_mux_errors(&mut self) -> u64 {
        std::mem::take(&mut self.counters.mux_errors)
    }
}
