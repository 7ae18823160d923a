//! Which segments of a stream become thumbnails, and when: the decisions,
//! free of threads and FFmpeg so they can be tested on their own.

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use nova_media::{InitSegment, MUXED_RENDITION, MediaSegment, SOURCE_RENDITION, SegmentContainer};

/// The latest thumbnail of a stream.
#[derive(Clone, Debug)]
pub(crate) struct Thumbnail {
    pub jpeg: Bytes,
    /// Wall-clock time of the pictured keyframe (the segment's
    /// `EXT-X-PROGRAM-DATE-TIME`): what `Last-Modified` says.
    pub captured_at: SystemTime,
}

/// What the worker needs to render one segment.
#[derive(Debug)]
pub(crate) struct Input {
    pub init: Option<Bytes>,
    pub segment: Bytes,
    pub captured_at: SystemTime,
    pub name: String,
}

impl Input {
    /// The bytes a demuxer reads: for fMP4 the init segment (`moov`) and
    /// then the segment, as a player would fetch them.
    pub(crate) fn into_media(self) -> Vec<u8> {
        let init = self.init.as_deref().unwrap_or_default();
        let mut media = Vec::with_capacity(init.len() + self.segment.len());
        media.extend_from_slice(init);
        media.extend_from_slice(&self.segment);
        media
    }
}

/// One stream's thumbnail bookkeeping.
#[derive(Debug, Default)]
pub(crate) struct StreamThumbnails {
    /// The video rendition's current init segment (fMP4), by name.
    init: Option<(String, Bytes)>,
    /// Packaging-timeline start of the last segment handed to the worker.
    last_taken_ms: Option<i64>,
    latest: Option<Thumbnail>,
    ended_at: Option<Instant>,
}

/// The rendition whose keyframes are pictured: the publisher's own video,
/// which in fMP4 runs is the video-only `source` track (smallest to demux)
/// and in MPEG-TS runs exists only inside the muxed `main` output.
fn is_video_source(rendition: &str, container: SegmentContainer) -> bool {
    match container {
        SegmentContainer::Fmp4 => rendition == SOURCE_RENDITION,
        SegmentContainer::Ts => rendition == MUXED_RENDITION,
    }
}

impl StreamThumbnails {
    /// A new packaging run: its timeline and init segments are new. The last
    /// thumbnail stays served until the run's first one replaces it.
    pub(crate) fn restart(&mut self) {
        self.init = None;
        self.last_taken_ms = None;
        self.ended_at = None;
    }

    pub(crate) fn add_init(&mut self, init: &InitSegment) {
        if init.rendition.as_ref() == SOURCE_RENDITION {
            self.init = Some((init.name.clone(), init.data.clone()));
        }
    }

    /// The segment as a render input if it is the video rendition's, at
    /// least `interval` of media time after the last one taken (or the
    /// run's first), and decodable on its own with the init segment known.
    /// Measured on the media timeline, not the wall clock: a burst of
    /// segments after a stall still gives one thumbnail per interval.
    pub(crate) fn due(&self, segment: &MediaSegment, interval: Duration) -> Option<Input> {
        if !is_video_source(&segment.rendition, segment.container) {
            return None;
        }
        let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
        let due = self.last_taken_ms.is_none_or(|last| {
            // A timeline that went back (a restart we did not see) starts over.
            segment.start_ms < last || segment.start_ms - last >= interval_ms
        });
        if !due {
            return None;
        }
        let init = match (&segment.container, &segment.init_name, &self.init) {
            (SegmentContainer::Ts, _, _) => None,
            (SegmentContainer::Fmp4, Some(wanted), Some((name, data))) if wanted == name => {
                Some(data.clone())
            }
            // An fMP4 segment whose init segment we never saw cannot be
            // demuxed: wait for the next one.
            (SegmentContainer::Fmp4, _, _) => return None,
        };
        Some(Input {
            init,
            segment: segment.data.clone(),
            captured_at: segment.program_date_time,
            name: segment.name.clone(),
        })
    }

    /// The segment starting at `start_ms` went to the worker.
    pub(crate) fn taken(&mut self, start_ms: i64) {
        self.last_taken_ms = Some(start_ms);
    }

    /// A rendered thumbnail; an older capture than the one held (a render
    /// that finished late) does not replace it.
    pub(crate) fn store(&mut self, thumbnail: Thumbnail) {
        if self
            .latest
            .as_ref()
            .is_none_or(|held| held.captured_at <= thumbnail.captured_at)
        {
            self.latest = Some(thumbnail);
        }
    }

    pub(crate) fn end(&mut self, now: Instant) {
        self.ended_at = Some(now);
    }

    pub(crate) fn latest(&self) -> Option<&Thumbnail> {
        self.latest.as_ref()
    }

    /// Ended at least `retention` ago: nothing left to serve.
    pub(crate) fn expired(&self, now: Instant, retention: Duration) -> bool {
        self.ended_at
            .is_some_and(|ended| now.saturating_duration_since(ended) >= retention)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant, SystemTime};

    use bytes::Bytes;
    use nova_media::{
        AUDIO_RENDITION, InitSegment, MUXED_RENDITION, MediaSegment, SOURCE_RENDITION,
        SegmentContainer, StreamId,
    };

    use super::{StreamThumbnails, Thumbnail};

    const FIVE_S: Duration = Duration::from_secs(5);

    fn segment(rendition: &str, container: SegmentContainer, start_ms: i64) -> MediaSegment {
        MediaSegment {
            stream: StreamId::new_random(),
            rendition: Arc::from(rendition),
            sequence: 1,
            name: format!("seg-{start_ms}"),
            container,
            init_name: (container == SegmentContainer::Fmp4).then(|| "init-1.mp4".to_owned()),
            start_ms,
            duration_ms: 2000,
            discontinuity: false,
            program_date_time: SystemTime::UNIX_EPOCH + Duration::from_millis(start_ms as u64),
            data: Bytes::from_static(b"moof+mdat"),
            fragment: None,
        }
    }

    fn init(rendition: &str, name: &str) -> InitSegment {
        InitSegment {
            stream: StreamId::new_random(),
            rendition: Arc::from(rendition),
            name: name.to_owned(),
            data: Bytes::from_static(b"ftyp+moov"),
            track: None,
        }
    }

    fn fmp4_with_init() -> StreamThumbnails {
        let mut state = StreamThumbnails::default();
        state.add_init(&init(SOURCE_RENDITION, "init-1.mp4"));
        state
    }

    #[test]
    fn takes_the_source_track_in_fmp4_and_the_muxed_output_in_ts() {
        let state = fmp4_with_init();
        let fmp4 = SegmentContainer::Fmp4;
        let input = state.due(&segment(SOURCE_RENDITION, fmp4, 0), FIVE_S);
        let media = input.expect("the source segment is due").into_media();
        assert_eq!(media, b"ftyp+moovmoof+mdat");
        for other in [MUXED_RENDITION, AUDIO_RENDITION, "720p"] {
            assert!(state.due(&segment(other, fmp4, 0), FIVE_S).is_none());
        }
        let ts = SegmentContainer::Ts;
        let input = state.due(&segment(MUXED_RENDITION, ts, 0), FIVE_S).unwrap();
        assert_eq!(input.into_media(), b"moof+mdat", "no init segment in TS");
        assert!(
            state
                .due(&segment(SOURCE_RENDITION, ts, 0), FIVE_S)
                .is_none()
        );
    }

    #[test]
    fn an_fmp4_segment_waits_for_its_own_init_segment() {
        let mut state = StreamThumbnails::default();
        let source = segment(SOURCE_RENDITION, SegmentContainer::Fmp4, 0);
        assert!(state.due(&source, FIVE_S).is_none(), "no init yet");
        state.add_init(&init(SOURCE_RENDITION, "init-0.mp4"));
        assert!(state.due(&source, FIVE_S).is_none(), "another run's init");
        state.add_init(&init(AUDIO_RENDITION, "init-1.mp4"));
        assert!(
            state.due(&source, FIVE_S).is_none(),
            "the audio track's init"
        );
        state.add_init(&init(SOURCE_RENDITION, "init-1.mp4"));
        assert!(state.due(&source, FIVE_S).is_some());
    }

    #[test]
    fn one_segment_per_interval_of_media_time() {
        let mut state = fmp4_with_init();
        let at = |ms| segment(SOURCE_RENDITION, SegmentContainer::Fmp4, ms);
        assert!(state.due(&at(1_000), FIVE_S).is_some(), "the first is due");
        state.taken(1_000);
        assert!(state.due(&at(3_000), FIVE_S).is_none());
        assert!(state.due(&at(5_999), FIVE_S).is_none());
        assert!(state.due(&at(6_000), FIVE_S).is_some());
        // Not taken (the worker was busy): still due at the next segment.
        assert!(state.due(&at(8_000), FIVE_S).is_some());
        state.taken(8_000);
        assert!(state.due(&at(10_000), FIVE_S).is_none());
        // A timeline that starts over is due at once.
        assert!(state.due(&at(0), FIVE_S).is_some());
        // So is a new run, whose init segment must come first.
        state.restart();
        assert!(state.due(&at(10_000), FIVE_S).is_none());
        state.add_init(&init(SOURCE_RENDITION, "init-1.mp4"));
        assert!(state.due(&at(10_000), FIVE_S).is_some());
    }

    #[test]
    fn a_late_render_does_not_replace_a_newer_thumbnail() {
        let mut state = StreamThumbnails::default();
        let at = |secs, jpeg: &'static [u8]| Thumbnail {
            jpeg: Bytes::from_static(jpeg),
            captured_at: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
        };
        state.store(at(10, b"ten"));
        state.store(at(5, b"five"));
        assert_eq!(state.latest().unwrap().jpeg, b"ten".as_slice());
        state.store(at(15, b"fifteen"));
        assert_eq!(state.latest().unwrap().jpeg, b"fifteen".as_slice());
    }

    #[test]
    fn expires_only_a_while_after_the_end() {
        let mut state = StreamThumbnails::default();
        let start = Instant::now();
        let minute = Duration::from_secs(60);
        assert!(!state.expired(start + minute * 10, minute), "live");
        state.end(start);
        assert!(!state.expired(start + Duration::from_secs(59), minute));
        assert!(state.expired(start + minute, minute));
        state.restart();
        assert!(!state.expired(start + minute * 10, minute), "live again");
    }
}
