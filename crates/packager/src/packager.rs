//! The packager of one stream: turns the hub's [`StreamEvent`]s into init
//! segments, media segments and run boundaries for a [`SegmentSink`].

use std::sync::Arc;
use std::time::Instant;

use nova_media::{
    MUXED_RENDITION, SegmentContainer, SegmentEvent, SegmentSink, StreamEvent, StreamId,
    StreamSettings, TranscodeProfile,
};

use crate::abr::{AbrConfig, AbrRenditions};
use crate::counters::PackagerCounters;
use crate::ffmpeg_log::init_ffmpeg;
use crate::interleave::Ready;
use crate::ladder::LadderStats;
use crate::naming::RunNames;
use crate::segment_writer::SegmentWriter;
use crate::session::Session;
use crate::timeline::SessionClock;
use crate::track_renditions::TrackRenditions;

/// Packages one stream. Synchronous: the server runs it on its own thread and
/// feeds it the hub's events in order.
///
/// One `Packager` is one packaging run, and so one playlist: it starts at the
/// first `PublishStarted` and ends at `StreamEnded`. Publishers that
/// reconnect or take over continue the same timeline after a discontinuity
/// (RFC 8216 §4.3.2.3); media sequence numbers continue too (§4.3.3.2).
///
/// Every run has the muxed output ([`MUXED_RENDITION`]); fMP4 runs also
/// have one CMAF track per rendition ([`TrackRenditions`]) for the master
/// playlist and DASH. Muxing twice costs about a millisecond per media
/// second of passthrough, which keeps legacy players on one URL. fMP4 runs
/// of `abr` streams add the ladder's renditions ([`AbrRenditions`]).
pub struct Packager {
    stream: StreamId,
    sink: Arc<dyn SegmentSink>,
    writer: Option<SegmentWriter>,
    tracks: Option<TrackRenditions>,
    abr_config: Arc<AbrConfig>,
    abr: Option<AbrRenditions>,
    session: Option<Session>,
    next_generation: u64,
    ended: bool,
    counters: PackagerCounters,
}

impl Packager {
    pub fn new(stream: StreamId, sink: Arc<dyn SegmentSink>) -> Self {
        init_ffmpeg();
        Self {
            stream,
            sink,
            writer: None,
            tracks: None,
            abr_config: Arc::new(AbrConfig::default()),
            abr: None,
            session: None,
            next_generation: 1,
            ended: false,
            counters: PackagerCounters::default(),
        }
    }

    /// The ladder `abr` streams are transcoded with (default:
    /// [`AbrConfig::default`]).
    pub fn with_abr(mut self, config: AbrConfig) -> Self {
        self.abr_config = Arc::new(config);
        self
    }

    /// Handles one event. Never panics on bad input: what cannot be packaged
    /// is logged and counted in [`Packager::counters`].
    pub fn handle(&mut self, event: StreamEvent) {
        self.dispatch(event);
        // Every step, whatever the event: transcoded frames are packaged
        // as soon as they are out, never waited for.
        if let Some(abr) = self.abr.as_mut() {
            abr.drain();
            self.counters.mux_errors += abr.take_mux_errors();
        }
    }

    /// The transcoding ladder's counters, while one runs.
    pub fn ladder_stats(&self) -> Option<LadderStats> {
        self.abr.as_ref()?.stats()
    }

    fn dispatch(&mut self, event: StreamEvent) {
        if self.ended {
            tracing::debug!(stream = %self.stream, "event after the stream ended ignored");
            self.counters.events_ignored += 1;
            return;
        }
        match event {
            StreamEvent::PublishStarted { session, settings } => {
                self.start_session(session, settings)
            }
            StreamEvent::VideoConfig(config) => {
                let id = self.next_generation;
                match self.session.as_mut() {
                    Some(session) => {
                        if session.set_video(config, id) {
                            self.next_generation += 1;
                        }
                    }
                    None => self.ignore("video configuration outside a publish session"),
                }
            }
            StreamEvent::AudioConfig(config) => {
                let id = self.next_generation;
                match self.session.as_mut() {
                    Some(session) => {
                        if session.set_audio(config, id) {
                            self.next_generation += 1;
                        }
                    }
                    None => self.ignore("audio configuration outside a publish session"),
                }
            }
            StreamEvent::Frame(frame) => self.frame(frame),
            StreamEvent::FramesDropped { count } => {
                self.counters.frames_dropped_upstream += count;
                if let Some(session) = self.session.as_mut() {
                    tracing::debug!(stream = %self.stream, count, "frames dropped upstream; next segment is discontinuous");
                    session.break_generation(self.next_generation);
                    self.next_generation += 1;
                }
            }
            StreamEvent::PublishStopped { session } => {
                if self.session.as_ref().is_some_and(|s| s.id != session) {
                    tracing::debug!(stream = %self.stream, session, "stop of a session that is not the current one");
                }
                self.end_session();
            }
            StreamEvent::StreamEnded => self.end_stream(),
        }
    }

    /// What this packager did with its input so far.
    pub fn counters(&self) -> PackagerCounters {
        self.counters
    }

    fn start_session(&mut self, id: u32, settings: Arc<StreamSettings>) {
        // A takeover may arrive without the previous publisher's stop.
        self.end_session();
        match &self.writer {
            None => {
                let names = RunNames::new();
                if settings.container == SegmentContainer::Fmp4 {
                    let part_target_ms =
                        i64::try_from(settings.part_target_duration.as_millis()).unwrap_or(500);
                    self.tracks = Some(TrackRenditions::new(
                        self.stream,
                        self.sink.clone(),
                        names.run(),
                        part_target_ms,
                    ));
                    if settings.transcode == TranscodeProfile::Abr {
                        self.abr = Some(AbrRenditions::new(
                            self.stream,
                            self.sink.clone(),
                            names.run(),
                            part_target_ms,
                            self.abr_config.clone(),
                        ));
                    }
                }
                let writer = SegmentWriter::new(
                    self.stream,
                    MUXED_RENDITION.into(),
                    self.sink.clone(),
                    settings.container,
                    names,
                );
                writer.emit(SegmentEvent::Started {
                    stream: self.stream,
                    settings: settings.clone(),
                });
                self.writer = Some(writer);
            }
            Some(writer) if writer.container() != settings.container => {
                tracing::warn!(
                    stream = %self.stream,
                    session = id,
                    "the stream's container changed to {} while live; keeping {} until the stream ends",
                    settings.container.as_str(),
                    writer.container().as_str()
                );
            }
            Some(_) => {}
        }
        tracing::debug!(stream = %self.stream, session = id, "publish session started");
        self.session = Some(Session::new(id, settings, self.next_generation));
        self.next_generation += 1;
    }

    fn frame(&mut self, frame: nova_media::Frame) {
        // When the frame reached the packager: LL-HLS part availability is
        // measured from the arrival of a part's last frame.
        let arrived = Instant::now();
        let (Some(session), Some(writer)) = (self.session.as_mut(), self.writer.as_mut()) else {
            self.counters.frames_skipped += 1;
            return;
        };
        if !session.push(frame, arrived, writer.run_end_ms(), &mut self.counters) {
            return;
        }
        let (Some(clock), target) = (session.clock(), session.target_ms()) else {
            return;
        };
        let low_latency = session.low_latency();
        while let Some(ready) = session.pop() {
            write_tracks(
                &mut self.tracks,
                &mut self.abr,
                &ready,
                &clock,
                target,
                low_latency,
            );
            if let Some(tracks) = self.tracks.as_mut() {
                self.counters.mux_errors += tracks.take_mux_errors();
            }
            writer.write(ready, &clock, target, &mut self.counters);
        }
    }

    fn end_session(&mut self) {
        let (Some(mut session), Some(writer)) = (self.session.take(), self.writer.as_mut()) else {
            return;
        };
        if let Some(clock) = session.clock() {
            let (target, low_latency) = (session.target_ms(), session.low_latency());
            while let Some(ready) = session.drain() {
                write_tracks(
                    &mut self.tracks,
                    &mut self.abr,
                    &ready,
                    &clock,
                    target,
                    low_latency,
                );
                writer.write(ready, &clock, target, &mut self.counters);
            }
        }
        if let Some(tracks) = self.tracks.as_mut() {
            self.counters.mux_errors += tracks.close();
        }
        // A reconnect continues every rendition after a discontinuity, as
        // the source's: the next session starts a ladder of its own.
        if let Some(abr) = self.abr.as_mut() {
            self.counters.mux_errors += abr.close();
        }
        writer.close(&mut self.counters);
        tracing::debug!(stream = %self.stream, session = session.id, counters = ?self.counters, "publish session ended");
    }

    fn end_stream(&mut self) {
        self.end_session();
        self.ended = true;
        if let Some(writer) = &self.writer {
            writer.emit(SegmentEvent::Ended {
                stream: self.stream,
            });
        }
        tracing::info!(stream = %self.stream, counters = ?self.counters, "packaging finished");
    }

    fn ignore(&mut self, what: &str) {
        tracing::debug!(stream = %self.stream, "{what} ignored");
        self.counters.events_ignored += 1;
    }
}

/// One frame into the one-track renditions: the ladder gets it before the
/// source's cut for it is handed out (see [`AbrRenditions::push`]).
fn write_tracks(
    tracks: &mut Option<TrackRenditions>,
    abr: &mut Option<AbrRenditions>,
    ready: &Ready,
    clock: &SessionClock,
    target_ms: i64,
    low_latency: bool,
) {
    if let Some(abr) = abr.as_mut() {
        abr.push(ready, clock, low_latency);
    }
    let Some(tracks) = tracks.as_mut() else {
        return;
    };
    let boundary = tracks.write(ready, clock, target_ms);
    if let (Some(abr), Some(boundary)) = (abr.as_mut(), boundary) {
        abr.boundary(boundary);
    }
}

impl Drop for Packager {
    /// A feed that closes without `StreamEnded` still ends the playlist, so
    /// players are not left polling a stream nobody will extend.
    fn drop(&mut self) {
        if !self.ended && self.writer.is_some() {
            tracing::debug!(stream = %self.stream, "feed closed without StreamEnded; ending the stream");
            self.end_stream();
        }
    }
}
