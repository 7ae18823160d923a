//! One transcoded rendition of a packaging run (`480p`, `360p` …): its
//! writer, and the source's segment boundaries it still has to meet.
//!
//! Its frames come back from the ladder later than the source's, so the
//! source's cuts wait here in order. The ladder forces an IDR at each
//! source keyframe's PTS, so the rendition cuts at its first keyframe at or
//! after each boundary's PTS and numbers the segment as the source did:
//! segment N covers the same media time in every rendition (RFC 8216bis
//! §6.2.4, CMAF switching sets ISO/IEC 23000-19 §7.3.4).

use std::collections::VecDeque;
use std::sync::Arc;

use nova_media::{Frame, VideoConfig};

use crate::counters::PackagerCounters;
use crate::generation::Generation;
use crate::interleave::Ready;
use crate::segment_writer::{Boundary, SegmentWriter};
use crate::timeline::SessionClock;

/// Duration of a rendition's last frame when no next frame tells it.
const LAST_FRAME_MS: i64 = 33;

pub(crate) struct Rung {
    writer: SegmentWriter,
    /// The configuration of the current ladder's encoder for this rendition;
    /// `None` until it announces one, and after the rendition dropped.
    generation: Option<Arc<Generation>>,
    /// One frame held back: the next one's DTS tells its duration.
    held: Option<Frame>,
    last_duration_ms: i64,
    /// The source's cuts not reached yet, oldest first.
    boundaries: VecDeque<Boundary>,
    /// The current ladder encodes this rendition: the source's cuts are
    /// kept for it, even before its encoder announces its configuration.
    expected: bool,
    /// Manifests list it: it has had a configuration since it was last
    /// retired.
    listed: bool,
}

impl Rung {
    pub(crate) fn new(writer: SegmentWriter) -> Self {
        Self {
            writer,
            generation: None,
            held: None,
            last_duration_ms: LAST_FRAME_MS,
            boundaries: VecDeque::new(),
            expected: false,
            listed: false,
        }
    }

    /// A new ladder encodes this rendition: cuts from now on are its.
    pub(crate) fn expect(&mut self) {
        self.expected = true;
        self.boundaries.clear();
    }

    /// The new ladder does not encode it (e.g. the source got smaller):
    /// its last segment goes out, and it should leave the manifests.
    /// Returns whether it was listed until now.
    pub(crate) fn retire(&mut self, counters: &mut PackagerCounters) -> bool {
        self.close(counters);
        std::mem::take(&mut self.listed)
    }

    /// A new encoder (a new ladder): what follows needs a muxer of its own.
    /// `id` must be new within the rendition's run.
    pub(crate) fn configure(&mut self, config: VideoConfig, id: u64) {
        self.generation = Some(Arc::new(Generation {
            id,
            video: Some(config),
            audio: None,
        }));
        self.listed = true;
    }

    pub(crate) fn boundary(&mut self, boundary: Boundary) {
        if self.expected {
            self.boundaries.push_back(boundary);
        }
    }

    pub(crate) fn frame(
        &mut self,
        frame: Frame,
        clock: &SessionClock,
        counters: &mut PackagerCounters,
    ) {
        if let Some(held) = self.held.take() {
            self.last_duration_ms = (frame.dts - held.dts).max(1);
            self.write(held, self.last_duration_ms, clock, counters);
        }
        self.held = Some(frame);
    }

    /// Writes the frame held back: the encoder has nothing more to give.
    pub(crate) fn flush(&mut self, clock: &SessionClock, counters: &mut PackagerCounters) {
        if let Some(held) = self.held.take() {
            self.write(held, self.last_duration_ms, clock, counters);
        }
    }

    /// The encoder stopped for good: the frames it gave are written, the
    /// segment open is closed, and nothing more is expected.
    pub(crate) fn stop(&mut self, clock: &SessionClock, counters: &mut PackagerCounters) {
        self.flush(clock, counters);
        self.close(counters);
        self.listed = false;
    }

    /// The publish session ended: its last segment goes out now, like the
    /// source's.
    pub(crate) fn close(&mut self, counters: &mut PackagerCounters) {
        self.writer.close(counters);
        self.generation = None;
        self.expected = false;
        self.boundaries.clear();
    }

    fn write(
        &mut self,
        frame: Frame,
        duration_ms: i64,
        clock: &SessionClock,
        counters: &mut PackagerCounters,
    ) {
        let Some(generation) = self.generation.clone() else {
            return;
        };
        let begins = if frame.keyframe {
            self.reached(frame.pts)
        } else {
            None
        };
        let ready = Ready {
            frame,
            duration_ms,
            generation,
            arrived: None,
        };
        self.writer.write_at(ready, clock, begins, counters);
    }

    /// The sequence of the segment a keyframe at `pts` begins, if the
    /// source cut there. Boundaries passed over (their keyframe never came)
    /// are skipped, so later segments still line up.
    fn reached(&mut self, pts: i64) -> Option<u64> {
        let mut begins = None;
        while let Some(boundary) = self.boundaries.front().filter(|b| b.pts_ms <= pts) {
            if let Some(skipped) = begins {
                tracing::debug!(
                    skipped,
                    pts,
                    "a transcoded rendition had no keyframe at a source cut"
                );
            }
            begins = Some(boundary.sequence);
            self.boundaries.pop_front();
        }
        begins
    }
}
