//! The segmenter and the muxers of one rendition of a packaging run: decides
//! where segments start, feeds the muxer, and emits init and media segments
//! to the sink.
//!
//! A writer either leads (cuts on its own keyframes) or follows a leader's
//! [`Boundary`]s, so that segment N of every rendition covers the same media
//! time (CMAF switching sets, ISO/IEC 23000-19 §7.3.4; RFC 8216bis §6.2.4
//! for aligned media sequence numbers).

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use metrics::{Counter, Histogram};
use nova_media::fmp4::{FragmentInfo, TrackInfo};
use nova_media::{
    InitSegment, MediaSegment, PartialSegment, SegmentContainer, SegmentEvent, SegmentSink,
    StreamId, Track, part_limit,
};

use crate::counters::PackagerCounters;
use crate::generation::Generation;
use crate::interleave::Ready;
use crate::muxer::{Muxer, Opened};
use crate::naming::RunNames;
use crate::timeline::SessionClock;

/// Keyframes this close to the target still end a segment: with millisecond
/// timestamps a 2 s GOP at 30 fps can land a millisecond or two early.
const CUT_TOLERANCE_MS: i64 = 5;

/// Where a leading writer began a segment: followers begin theirs at their
/// first frame at or after `at_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Boundary {
    /// DTS of the segment's first frame.
    pub at_ms: i64,
    /// Its PTS: a transcoded rendition's keyframe has the same one.
    pub pts_ms: i64,
    /// The media sequence number of the segment that began.
    pub sequence: u64,
}

pub(crate) struct SegmentWriter {
    stream: StreamId,
    rendition: Arc<str>,
    sink: Arc<dyn SegmentSink>,
    names: RunNames,
    container: SegmentContainer,
    /// Media sequence number of the next segment (RFC 8216 §4.3.3.2).
    next_sequence: u64,
    /// End of the latest frame written in the run: where the next session's
    /// timeline starts, so timestamps never go backwards.
    run_end_ms: i64,
    active: Option<ActiveMuxer>,
    /// A generation no muxer could be started for (e.g. HEVC without a
    /// picture size in fMP4): not retried at every keyframe.
    refused: Option<u64>,
    /// A follower's next cut, from its leader.
    pending: Option<Boundary>,
    /// How LL-HLS partial segments are cut; `None`: whole segments only.
    parts: Option<PartDurations>,
    /// `nova_segments_total` and `nova_segment_duration_seconds` of this
    /// writer's container, looked up once.
    segments_metric: Counter,
    durations_metric: Histogram,
}

/// A part holds the frames that start within `nominal_ms` of its start,
/// and is never longer than `limit_ms` (`PART-TARGET`, RFC 8216bis
/// §4.4.3.7); see [`nova_media::part_limit`].
#[derive(Clone, Copy, Debug)]
struct PartDurations {
    nominal_ms: i64,
    limit_ms: i64,
}

impl PartDurations {
    fn new(nominal_ms: i64) -> Self {
        let nominal = std::time::Duration::from_millis(nominal_ms.max(1).unsigned_abs());
        let limit_ms = i64::try_from(part_limit(nominal).as_millis()).unwrap_or(i64::MAX);
        Self {
            nominal_ms: nominal_ms.max(1),
            limit_ms,
        }
    }

    /// Whether a frame at `dts` lasting `duration_ms` starts a new part
    /// after one that started at `part_start`.
    fn ends_part_before(&self, part_start: i64, dts: i64, duration_ms: i64) -> bool {
        dts > part_start
            && (dts - part_start >= self.nominal_ms
                || dts + duration_ms - part_start > self.limit_ms)
    }
}

/// The muxer of one generation, with the segment it is filling.
struct ActiveMuxer {
    muxer: Muxer,
    generation: u64,
    init_name: Option<String>,
    clock: SessionClock,
    /// Which track's frames start segments and measure them.
    cut_track: Track,
    /// The first segment of this muxer follows a break in the run (RFC 8216
    /// §4.3.2.3: new publisher, new codec configuration, dropped frames).
    discontinuous: bool,
    segment: Option<OpenSegment>,
}

struct OpenSegment {
    start_ms: i64,
    /// End of the latest frame of the cut track.
    end_ms: i64,
    program_date_time: SystemTime,
    discontinuity: bool,
    /// The LL-HLS parts emitted so far; the segment is them end to end.
    parts: Vec<Bytes>,
    part_start_ms: i64,
    part_independent: bool,
    /// When the packager received the open part's latest frame.
    part_last_arrived: Option<Instant>,
}

impl SegmentWriter {
    /// `names` may share its run token with the run's other renditions:
    /// each rendition has a directory of its own.
    pub(crate) fn new(
        stream: StreamId,
        rendition: Arc<str>,
        sink: Arc<dyn SegmentSink>,
        container: SegmentContainer,
        names: RunNames,
    ) -> Self {
        Self {
            stream,
            rendition,
            sink,
            names,
            container,
            next_sequence: 0,
            run_end_ms: 0,
            active: None,
            refused: None,
            pending: None,
            parts: None,
            segments_metric: metrics::counter!(
                crate::metrics::SEGMENTS,
                "container" => crate::metrics::container_label(container)
            ),
            durations_metric: metrics::histogram!(crate::metrics::SEGMENT_DURATION),
        }
    }

    /// Emits LL-HLS parts cut `target_ms` long (one CMAF chunk each),
    /// ahead of the segments they make up.
    pub(crate) fn with_parts(mut self, target_ms: i64) -> Self {
        self.parts = Some(PartDurations::new(target_ms));
        self
    }

    pub(crate) fn container(&self) -> SegmentContainer {
        self.container
    }

    pub(crate) fn run_end_ms(&self) -> i64 {
        self.run_end_ms
    }

    pub(crate) fn emit(&self, event: SegmentEvent) {
        self.sink.handle(&event);
    }

    /// Leads: writes one frame, starting a muxer or a segment first when the
    /// frame is where one begins. Returns where a segment began, if one did.
    pub(crate) fn write(
        &mut self,
        ready: Ready,
        clock: &SessionClock,
        target_ms: i64,
        counters: &mut PackagerCounters,
    ) -> Option<Boundary> {
        let cut_point = ready
            .generation
            .is_cut_point(ready.frame.track, ready.frame.keyframe);
        let current = self
            .active
            .as_ref()
            .is_some_and(|a| a.generation == ready.generation.id);
        if cut_point && !current {
            if self.refused != Some(ready.generation.id) {
                self.close(counters);
                self.open(&ready.generation, *clock, counters);
            }
        } else if cut_point && self.segment_is_due(ready.frame.dts, target_ms) {
            self.cut(ready.frame.dts, counters);
        }
        self.put(ready, counters)
    }

    /// Takes the leader's latest boundary; the next frame at or after it
    /// starts a segment.
    pub(crate) fn follow(&mut self, boundary: Boundary) {
        self.pending = Some(boundary);
    }

    /// Follows: writes one frame, cutting first if it is this writer's first
    /// frame at or after the leader's pending boundary. Audio frames are all
    /// sync samples, so a follower of audio can cut at any of them.
    pub(crate) fn write_following(
        &mut self,
        ready: Ready,
        clock: &SessionClock,
        counters: &mut PackagerCounters,
    ) {
        if let Some(boundary) = self.pending.filter(|b| ready.frame.dts >= b.at_ms) {
            self.pending = None;
            self.begin_segment(&ready, clock, counters);
            tracing::trace!(stream = %self.stream, rendition = %self.rendition, at = boundary.at_ms, dts = ready.frame.dts, "followed a boundary");
        }
        self.put(ready, counters);
    }

    /// Follows a leader whose boundaries the caller matches (a transcoded
    /// rendition arrives later than its leader's cuts): with
    /// `begins = Some(sequence)` the frame, a keyframe, starts the segment
    /// numbered `sequence`, so segment N is the same media time in every
    /// rendition even if this one joined the run late.
    pub(crate) fn write_at(
        &mut self,
        ready: Ready,
        clock: &SessionClock,
        begins: Option<u64>,
        counters: &mut PackagerCounters,
    ) {
        if let Some(sequence) = begins {
            self.begin_segment(&ready, clock, counters);
            if sequence < self.next_sequence {
                tracing::warn!(stream = %self.stream, rendition = %self.rendition, sequence, next = self.next_sequence, "segment numbers out of step with the leader");
            }
            self.next_sequence = self.next_sequence.max(sequence);
        }
        self.put(ready, counters);
    }

    /// Ends the open segment before `ready`, or starts a muxer for it if
    /// it is of a new generation.
    fn begin_segment(
        &mut self,
        ready: &Ready,
        clock: &SessionClock,
        counters: &mut PackagerCounters,
    ) {
        let current = self
            .active
            .as_ref()
            .is_some_and(|a| a.generation == ready.generation.id);
        if current {
            self.cut(ready.frame.dts, counters);
        } else if self.refused != Some(ready.generation.id) {
            self.close(counters);
            self.open(&ready.generation, *clock, counters);
        }
    }

    fn put(&mut self, ready: Ready, counters: &mut PackagerCounters) -> Option<Boundary> {
        let Ready {
            frame,
            duration_ms,
            generation,
            arrived,
        } = ready;
        let Some(active) = self
            .active
            .as_mut()
            .filter(|a| a.generation == generation.id)
        else {
            // A frame of a new generation before its first keyframe, or one
            // after a muxer failure: nothing can decode it.
            counters.frames_skipped += 1;
            return None;
        };
        let mut began = None;
        if active.segment.is_none() {
            began = Some(Boundary {
                at_ms: frame.dts,
                pts_ms: frame.pts,
                sequence: self.next_sequence,
            });
            let discontinuity = std::mem::take(&mut active.discontinuous);
            active.segment = Some(OpenSegment {
                start_ms: frame.dts,
                end_ms: frame.dts,
                program_date_time: active.clock.wall_clock(frame.dts),
                discontinuity,
                parts: Vec::new(),
                part_start_ms: frame.dts,
                // Segments start where they can be decoded from.
                part_independent: true,
                part_last_arrived: None,
            });
        } else if let Some(parts) = self.parts
            && active
                .segment
                .as_ref()
                .is_some_and(|s| parts.ends_part_before(s.part_start_ms, frame.dts, duration_ms))
        {
            // The part is full, or this frame would make it longer than
            // PART-TARGET (§4.4.4.9): the part ends before it.
            let independent = frame.track == Track::Audio || frame.keyframe;
            if !self.end_part(frame.dts, independent, counters) {
                return None;
            }
        }
        // Ending the part may have failed and dropped the muxer.
        let active = self.active.as_mut()?;
        if let Err(error) = active.muxer.write(&frame, duration_ms) {
            tracing::error!(stream = %self.stream, dts = frame.dts, "{error}; restarting at the next keyframe");
            counters.mux_errors += 1;
            self.active = None;
            return None;
        }
        counters.frames_written += 1;
        let end = frame.dts + duration_ms;
        if let Some(segment) = active.segment.as_mut() {
            segment.part_last_arrived = arrived;
            if frame.track == active.cut_track {
                segment.end_ms = segment.end_ms.max(end);
            }
        }
        self.run_end_ms = self.run_end_ms.max(end);
        began
    }

    /// Ends the muxer and emits its last segment: the session ended, or a new
    /// generation starts.
    pub(crate) fn close(&mut self, counters: &mut PackagerCounters) {
        let Some(active) = self.active.take() else {
            return;
        };
        let ActiveMuxer {
            muxer,
            init_name,
            segment,
            ..
        } = active;
        match (muxer.finish(), segment) {
            (Ok(data), Some(mut segment)) => {
                let duration = segment.end_ms - segment.start_ms;
                let end_ms = segment.end_ms;
                let data = self.last_part(&mut segment, data, end_ms);
                self.emit_segment(data, segment, duration, init_name, counters);
            }
            (Ok(_), None) => {}
            (Err(error), _) => {
                tracing::error!(stream = %self.stream, "{error}; the last segment is lost");
                counters.mux_errors += 1;
            }
        }
    }

    /// Flushes the muxer's chunk as the open segment's next part, which
    /// lasts until `next_start_ms`. Returns false if the muxer failed.
    fn end_part(
        &mut self,
        next_start_ms: i64,
        next_independent: bool,
        counters: &mut PackagerCounters,
    ) -> bool {
        let Some(active) = self.active.as_mut() else {
            return false;
        };
        let data = match active.muxer.flush_part() {
            Ok(data) => data,
            Err(error) => {
                tracing::error!(stream = %self.stream, "{error}; restarting at the next keyframe");
                counters.mux_errors += 1;
                self.active = None;
                return false;
            }
        };
        let Some(segment) = active.segment.as_mut() else {
            return true;
        };
        let part = PartialSegment {
            stream: self.stream,
            rendition: self.rendition.clone(),
            sequence: self.next_sequence,
            index: u32::try_from(segment.parts.len()).unwrap_or(u32::MAX),
            name: self.names.part(self.next_sequence, segment.parts.len()),
            duration_ms: u64::try_from(next_start_ms - segment.part_start_ms).unwrap_or(0),
            independent: segment.part_independent,
            data: data.clone(),
            last_frame_arrived: segment.part_last_arrived.take(),
        };
        segment.parts.push(data);
        segment.part_start_ms = next_start_ms;
        segment.part_independent = next_independent;
        self.sink.part(&part);
        true
    }

    /// The bytes of a closing segment: with parts, `rest` is its last part
    /// (emitted here) and the segment is all of them end to end.
    fn last_part(&self, segment: &mut OpenSegment, rest: Bytes, end_ms: i64) -> Bytes {
        if self.parts.is_none() {
            return rest;
        }
        let part = PartialSegment {
            stream: self.stream,
            rendition: self.rendition.clone(),
            sequence: self.next_sequence,
            index: u32::try_from(segment.parts.len()).unwrap_or(u32::MAX),
            name: self.names.part(self.next_sequence, segment.parts.len()),
            duration_ms: u64::try_from(end_ms - segment.part_start_ms).unwrap_or(0),
            independent: segment.part_independent,
            data: rest.clone(),
            last_frame_arrived: segment.part_last_arrived.take(),
        };
        self.sink.part(&part);
        let mut whole =
            Vec::with_capacity(segment.parts.iter().map(Bytes::len).sum::<usize>() + rest.len());
        for chunk in segment.parts.drain(..) {
            whole.extend_from_slice(&chunk);
        }
        whole.extend_from_slice(&rest);
        Bytes::from(whole)
    }

    fn segment_is_due(&self, dts: i64, target_ms: i64) -> bool {
        self.active
            .as_ref()
            .and_then(|a| a.segment.as_ref())
            .is_some_and(|s| dts - s.start_ms >= target_ms - CUT_TOLERANCE_MS)
    }

    /// Closes the open segment at the keyframe `next_start_ms`, which begins
    /// the next one: the segment lasts until it.
    fn cut(&mut self, next_start_ms: i64, counters: &mut PackagerCounters) {
        let Some(active) = self.active.as_mut() else {
            return;
        };
        let Some(mut segment) = active.segment.take() else {
            return;
        };
        match active.muxer.cut() {
            Ok(data) => {
                let init_name = active.init_name.clone();
                let duration = next_start_ms - segment.start_ms;
                let data = self.last_part(&mut segment, data, next_start_ms);
                self.emit_segment(data, segment, duration, init_name, counters);
            }
            Err(error) => {
                tracing::error!(stream = %self.stream, "{error}; restarting at the next keyframe");
                counters.mux_errors += 1;
                self.active = None;
            }
        }
    }

    fn open(
        &mut self,
        generation: &Generation,
        clock: SessionClock,
        counters: &mut PackagerCounters,
    ) {
        let opened = Muxer::open(
            self.container,
            generation.video.as_ref(),
            generation.audio.as_ref(),
        );
        let Opened { muxer, init } = match opened {
            Ok(opened) => opened,
            Err(error) => {
                tracing::error!(
                    stream = %self.stream,
                    generation = generation.id,
                    "cannot start a muxer: {error}; nothing is packaged until the codec configuration changes"
                );
                counters.mux_errors += 1;
                self.refused = Some(generation.id);
                return;
            }
        };
        // A muxed init's first track alone would misdescribe it.
        let one_track = generation.video.is_some() != generation.audio.is_some();
        let init_name = init.map(|data| {
            let name = self.names.next_init();
            // Read once, here, from the bytes just written: every sink
            // (the origin's manifests, the recording index) takes it from
            // the segment.
            let track = one_track.then(|| TrackInfo::parse(&data)).flatten();
            self.emit(SegmentEvent::Init(InitSegment {
                stream: self.stream,
                rendition: self.rendition.clone(),
                name: name.clone(),
                data,
                track,
            }));
            name
        });
        tracing::debug!(stream = %self.stream, generation = generation.id, init = ?init_name, "muxer started");
        self.active = Some(ActiveMuxer {
            muxer,
            generation: generation.id,
            init_name,
            clock,
            cut_track: if generation.video.is_some() {
                Track::Video
            } else {
                Track::Audio
            },
            discontinuous: self.next_sequence > 0,
            segment: None,
        });
    }

    fn emit_segment(
        &mut self,
        data: Bytes,
        segment: OpenSegment,
        duration_ms: i64,
        init_name: Option<String>,
        counters: &mut PackagerCounters,
    ) {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        counters.segments += 1;
        self.segments_metric.increment(1);
        self.durations_metric
            .record(u64::try_from(duration_ms).unwrap_or(0) as f64 / 1000.0);
        let fragment = match self.container {
            SegmentContainer::Fmp4 => FragmentInfo::parse(&data),
            SegmentContainer::Ts => None,
        };
        let media = MediaSegment {
            stream: self.stream,
            rendition: self.rendition.clone(),
            sequence,
            name: self.names.segment(sequence, self.container),
            container: self.container,
            init_name,
            start_ms: segment.start_ms,
            duration_ms: u64::try_from(duration_ms).unwrap_or(0),
            discontinuity: segment.discontinuity,
            program_date_time: segment.program_date_time,
            data,
            fragment,
        };
        tracing::debug!(
            stream = %self.stream,
            rendition = %self.rendition,
            run = self.names.run(),
            sequence,
            start_ms = media.start_ms,
            duration_ms = media.duration_ms,
            bytes = media.data.len(),
            discontinuity = media.discontinuity,
            "segment"
        );
        self.emit(SegmentEvent::Segment(media));
    }
}
