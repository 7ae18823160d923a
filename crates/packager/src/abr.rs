//! The ABR ladder in a packaging run: one [`Ladder`] per source video
//! configuration, its renditions packaged as video-only CMAF renditions
//! beside `source`, cut where the source cuts.
//!
//! The packager thread never waits on the encoders: outputs are drained
//! with `try_recv` at every step, and a ladder that falls behind drops its
//! top rendition ([`EncodeOptions::max_lag`]) rather than hold up the push.
//! Only [`AbrRenditions::finish`] (session end, new configuration) waits,
//! for the encoders' last frames.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use nova_media::{SegmentContainer, SegmentSink, StreamId, Track, VideoConfig};

use crate::abr_rung::Rung;
use crate::counters::PackagerCounters;
use crate::interleave::Ready;
use crate::ladder::{EncodeOptions, Ladder, LadderError, LadderOutput, LadderProfile, LadderStats};
use crate::naming::RunNames;
use crate::segment_writer::{Boundary, SegmentWriter};
use crate::timeline::SessionClock;

/// The server's ABR ladder: what `abr` streams are transcoded to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbrConfig {
    pub profile: LadderProfile,
    /// x264 preset of every rendition.
    pub preset: String,
    /// [`EncodeOptions::max_lag`]: live streams keep the default, so the
    /// ladder sheds its top rendition before it could hold up the packager;
    /// `None` is for inputs fed faster than real time (files, tests).
    pub max_lag: Option<Duration>,
}

impl Default for AbrConfig {
    fn default() -> Self {
        Self {
            profile: LadderProfile::default_ladder(),
            preset: EncodeOptions::default().preset,
            max_lag: EncodeOptions::default().max_lag,
        }
    }
}

pub(crate) struct AbrRenditions {
    stream: StreamId,
    sink: Arc<dyn SegmentSink>,
    run: String,
    part_target_ms: i64,
    config: Arc<AbrConfig>,
    ladder: Option<Running>,
    /// A source configuration the ladder could not start for: not retried
    /// at every frame.
    refused: Option<VideoConfig>,
    rungs: BTreeMap<Arc<str>, Rung>,
    next_generation: u64,
    /// Frames and segments are counted once, by the muxed output; mux
    /// errors here are added to its count.
    counters: PackagerCounters,
}

/// A ladder and the session clock its frames are on.
struct Running {
    ladder: Ladder,
    source: VideoConfig,
    clock: SessionClock,
}

impl AbrRenditions {
    pub(crate) fn new(
        stream: StreamId,
        sink: Arc<dyn SegmentSink>,
        run: &str,
        part_target_ms: i64,
        config: Arc<AbrConfig>,
    ) -> Self {
        Self {
            stream,
            sink,
            run: run.to_owned(),
            part_target_ms,
            config,
            ladder: None,
            refused: None,
            rungs: BTreeMap::new(),
            next_generation: 1,
            counters: PackagerCounters::default(),
        }
    }

    /// The source began a segment: every running rendition cuts there too.
    pub(crate) fn boundary(&mut self, boundary: Boundary) {
        for rung in self.rungs.values_mut() {
            rung.boundary(boundary);
        }
    }

    /// Feeds one source frame (on the run's timeline) to the ladder of its
    /// configuration, starting that ladder first if it is a new one.
    pub(crate) fn push(&mut self, ready: &Ready, clock: &SessionClock, low_latency: bool) {
        let (Track::Video, Some(config)) = (ready.frame.track, ready.generation.video.as_ref())
        else {
            return;
        };
        // Called before the source's boundary for this frame is handed
        // out, so a new ladder's renditions see its first cut.
        if self.ladder.as_ref().is_none_or(|l| &l.source != config) {
            self.finish();
            self.start(config, clock, low_latency);
        }
        if let Some(running) = &self.ladder {
            running.ladder.push(ready.frame.clone());
        }
    }

    /// Packages whatever the ladder has ready, without waiting.
    pub(crate) fn drain(&mut self) {
        let Some(running) = &self.ladder else {
            return;
        };
        let clock = running.clock;
        let mut outputs = Vec::new();
        while let Some(output) = running.ladder.try_recv() {
            outputs.push(output);
        }
        for output in outputs {
            self.output(output, &clock);
        }
    }

    /// Ends the ladder: its last frames are encoded and packaged.
    pub(crate) fn finish(&mut self) {
        let Some(Running { ladder, clock, .. }) = self.ladder.take() else {
            return;
        };
        let (outputs, stats) = ladder.finish_with_stats();
        for output in outputs {
            self.output(output, &clock);
        }
        for rung in self.rungs.values_mut() {
            rung.flush(&clock, &mut self.counters);
        }
        tracing::debug!(stream = %self.stream, ?stats, "ladder finished");
    }

    /// The publish session ended: the ladder is finished and every
    /// rendition's last segment goes out. Returns the mux errors since the
    /// last call.
    pub(crate) fn close(&mut self) -> u64 {
        self.finish();
        for rung in self.rungs.values_mut() {
            rung.close(&mut self.counters);
        }
        self.take_mux_errors()
    }

    pub(crate) fn take_mux_errors(&mut self) -> u64 {
        std::mem::take(&mut self.counters.mux_errors)
    }

    pub(crate) fn stats(&self) -> Option<LadderStats> {
        self.ladder.as_ref().map(|r| r.ladder.stats())
    }

    fn start(&mut self, source: &VideoConfig, clock: &SessionClock, low_latency: bool) {
        if self.refused.as_ref() == Some(source) {
            return;
        }
        let options = EncodeOptions {
            preset: self.config.preset.clone(),
            low_latency,
            max_lag: self.config.max_lag,
            ..EncodeOptions::default()
        };
        match Ladder::start(source, &self.config.profile, options) {
            Ok(ladder) => {
                tracing::info!(stream = %self.stream, low_latency, "transcoding ladder started");
                self.retire_all_but(&self.selected_for(source));
                for name in self.selected_for(source) {
                    self.rung(&name).expect();
                }
                self.ladder = Some(Running {
                    ladder,
                    source: source.clone(),
                    clock: *clock,
                });
            }
            Err(error @ LadderError::NoRenditions { .. }) => {
                tracing::info!(stream = %self.stream, "{error}");
                self.refused = Some(source.clone());
                self.retire_all_but(&[]);
            }
            Err(error) => {
                tracing::warn!(stream = %self.stream, "no transcoded renditions: {error}");
                self.refused = Some(source.clone());
                self.retire_all_but(&[]);
            }
        }
    }

    /// The renditions the ladder encodes for `source`, by name.
    fn selected_for(&self, source: &VideoConfig) -> Vec<Arc<str>> {
        let VideoConfig::Avc(avc) = source else {
            return Vec::new();
        };
        self.config
            .profile
            .select_for(avc.width, avc.height)
            .into_iter()
            .map(|r| r.name)
            .collect()
    }

    /// Renditions of earlier ladders the new one does not encode leave the
    /// manifests: the players' next reload no longer offers them.
    fn retire_all_but(&mut self, kept: &[Arc<str>]) {
        for (name, rung) in &mut self.rungs {
            if !kept.contains(name) && rung.retire(&mut self.counters) {
                tracing::info!(stream = %self.stream, rendition = %name, "rendition not transcoded for the new source");
                self.sink.rendition_dropped(self.stream, name);
            }
        }
    }

    fn output(&mut self, output: LadderOutput, clock: &SessionClock) {
        match output {
            LadderOutput::Config { rendition, config } => {
                let id = self.next_generation;
                self.next_generation += 1;
                self.rung(&rendition).configure(config, id);
            }
            LadderOutput::Frame { rendition, frame } => {
                if let Some(rung) = self.rungs.get_mut(&rendition) {
                    rung.frame(frame, clock, &mut self.counters);
                }
            }
            LadderOutput::RenditionDropped { rendition, reason } => {
                tracing::warn!(stream = %self.stream, %rendition, "transcoded rendition dropped: {reason}");
                metrics::counter!(
                    crate::metrics::LADDER_DROPPED_RENDITIONS,
                    "rendition" => rendition.to_string()
                )
                .increment(1);
                if let Some(rung) = self.rungs.get_mut(&rendition) {
                    rung.stop(clock, &mut self.counters);
                }
                self.sink.rendition_dropped(self.stream, &rendition);
            }
        }
    }

    /// The rendition's state; its writer lives as long as the run, so its
    /// segment numbers and run name continue across sessions.
    fn rung(&mut self, rendition: &Arc<str>) -> &mut Rung {
        let (stream, sink, run, part_target_ms) =
            (self.stream, &self.sink, &self.run, self.part_target_ms);
        self.rungs.entry(rendition.clone()).or_insert_with(|| {
            Rung::new(
                SegmentWriter::new(
                    stream,
                    rendition.clone(),
                    sink.clone(),
                    SegmentContainer::Fmp4,
                    RunNames::with_token(run.clone()),
                )
                .with_parts(part_target_ms),
            )
        })
    }
}
