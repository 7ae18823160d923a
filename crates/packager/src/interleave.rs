//! Orders the two tracks of a session by DTS before they reach the muxer,
//! and learns each frame's duration from the frame after it.
//!
//! The muxer is fed with `av_write_frame` (not the interleaving variant, which
//! would hold packets across our segment cuts), so the order is ours to keep:
//! every audio frame decoded before a keyframe must be written before it, or
//! it would land in the wrong segment.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use nova_media::{Frame, Track};

use crate::generation::Generation;

/// How much of one track is held back waiting for the other before it is
/// released anyway (the other track stalled, or its config came without frames).
const MAX_HOLD_MS: i64 = 1000;

const TRACKS: [Track; 2] = [Track::Video, Track::Audio];

struct Queued {
    frame: Frame,
    generation: Arc<Generation>,
    arrived: Option<Instant>,
}

/// A frame whose place in the output order and whose duration are settled.
pub(crate) struct Ready {
    pub frame: Frame,
    pub duration_ms: i64,
    pub generation: Arc<Generation>,
    /// When the packager received the frame from the hub; `None` for
    /// frames it made itself (the ladder's), whose wait is the encoder's.
    pub arrived: Option<Instant>,
}

#[derive(Default)]
pub(crate) struct Interleaver {
    queues: [VecDeque<Queued>; 2],
    last_pushed: [Option<i64>; 2],
    last_duration: [Option<i64>; 2],
}

impl Interleaver {
    /// `frame`'s DTS must be greater than the previous one on its track.
    pub(crate) fn push(
        &mut self,
        frame: Frame,
        generation: Arc<Generation>,
        arrived: Option<Instant>,
    ) {
        let index = frame.track.index();
        self.last_pushed[index] = Some(frame.dts);
        self.queues[index].push_back(Queued {
            frame,
            generation,
            arrived,
        });
    }

    /// The next frame in DTS order, once nothing that arrives later can
    /// precede it and its duration is known.
    pub(crate) fn pop(&mut self) -> Option<Ready> {
        let index = self.next_track()?;
        let queue = &self.queues[index];
        let head = queue.front()?;
        let newest = queue.back()?;
        if queue.len() < 2 {
            return None;
        }
        let stalled = newest.frame.dts - head.frame.dts > MAX_HOLD_MS;
        let other = 1 - index;
        let other_settled = !head.generation.has_track(TRACKS[other])
            || !self.queues[other].is_empty()
            || self.last_pushed[other].is_some_and(|dts| dts >= head.frame.dts);
        if !(other_settled || stalled) {
            return None;
        }
        Some(self.take(index))
    }

    /// Everything still held, in DTS order, with estimated durations where no
    /// following frame tells: the session or generation is ending.
    pub(crate) fn drain(&mut self) -> Option<Ready> {
        let index = self.next_track()?;
        Some(self.take(index))
    }

    /// The track whose head decodes first; video first on ties, so a
    /// keyframe leads the audio that starts with it.
    fn next_track(&self) -> Option<usize> {
        match (self.queues[0].front(), self.queues[1].front()) {
            (Some(video), Some(audio)) => Some(if video.frame.dts <= audio.frame.dts {
                0
            } else {
                1
            }),
            (Some(_), None) => Some(0),
            (None, Some(_)) => Some(1),
            (None, None) => None,
        }
    }

    fn take(&mut self, index: usize) -> Ready {
        let item = self.queues[index]
            .pop_front()
            .expect("next_track saw a head");
        let next = self.queues[index]
            .front()
            .filter(|next| next.generation.id == item.generation.id);
        let duration_ms = match next {
            Some(next) => {
                let duration = (next.frame.dts - item.frame.dts).max(1);
                self.last_duration[index] = Some(duration);
                duration
            }
            None => self.last_duration[index]
                .unwrap_or_else(|| item.generation.nominal_duration(item.frame.track)),
        };
        Ready {
            frame: item.frame,
            duration_ms,
            generation: item.generation,
            arrived: item.arrived,
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use nova_media::AudioConfig;
    use nova_media::codec::AacConfig;

    use super::*;

    fn generation(id: u64, audio: bool) -> Arc<Generation> {
        let aac = AacConfig::parse(Bytes::from_static(&[0x11, 0x90])).unwrap(); // LC, 48 kHz, stereo
        Arc::new(Generation {
            id,
            video: None,
            audio: audio.then_some(AudioConfig::Aac(aac)),
        })
    }

    fn frame(track: Track, dts: i64) -> Frame {
        Frame {
            track,
            dts,
            pts: dts,
            keyframe: track == Track::Audio,
            data: Bytes::from_static(&[1]),
        }
    }

    fn order(interleaver: &mut Interleaver) -> Vec<(Track, i64, i64)> {
        std::iter::from_fn(|| interleaver.pop())
            .map(|r| (r.frame.track, r.frame.dts, r.duration_ms))
            .collect()
    }

    #[test]
    fn releases_frames_in_dts_order_with_durations_from_successors() {
        let g = generation(1, true);
        let mut il = Interleaver::default();
        for (track, dts) in [
            (Track::Video, 0),
            (Track::Audio, 0),
            (Track::Audio, 21),
            (Track::Video, 33),
            (Track::Audio, 43),
            (Track::Video, 67),
        ] {
            il.push(frame(track, dts), g.clone(), None);
        }
        assert_eq!(
            order(&mut il),
            vec![
                (Track::Video, 0, 33),
                (Track::Audio, 0, 21),
                (Track::Audio, 21, 22),
                (Track::Video, 33, 34),
            ]
        );
        // Audio at 43 waits for its successor, video at 67 for its own.
        assert!(il.pop().is_none());
        let drained: Vec<_> = std::iter::from_fn(|| il.drain())
            .map(|r| (r.frame.track, r.frame.dts, r.duration_ms))
            .collect();
        assert_eq!(
            drained,
            vec![(Track::Audio, 43, 22), (Track::Video, 67, 34)]
        );
    }

    #[test]
    fn waits_for_the_other_track_then_gives_up_after_a_second() {
        let g = generation(1, true);
        let mut il = Interleaver::default();
        il.push(frame(Track::Video, 0), g.clone(), None);
        il.push(frame(Track::Video, 33), g.clone(), None);
        assert!(il.pop().is_none(), "audio might still come with DTS 0");
        for dts in (66..=1_056).step_by(33) {
            il.push(frame(Track::Video, dts), g.clone(), None);
        }
        assert_eq!(il.pop().map(|r| r.frame.dts), Some(0));
    }

    #[test]
    fn does_not_wait_for_a_track_the_generation_lacks() {
        let g = generation(1, false);
        let mut il = Interleaver::default();
        il.push(frame(Track::Video, 0), g.clone(), None);
        il.push(frame(Track::Video, 33), g, None);
        assert_eq!(
            il.pop().map(|r| (r.frame.dts, r.duration_ms)),
            Some((0, 33))
        );
    }

    #[test]
    fn estimates_the_duration_across_a_generation_change() {
        let mut il = Interleaver::default();
        let first = generation(1, false);
        il.push(frame(Track::Video, 0), first.clone(), None);
        il.push(frame(Track::Video, 40), first.clone(), None);
        il.push(frame(Track::Video, 5_000), generation(2, false), None);
        il.push(frame(Track::Video, 5_040), generation(2, false), None);
        let durations: Vec<_> = std::iter::from_fn(|| il.pop())
            .map(|r| r.duration_ms)
            .collect();
        // 40 → 5000 is a gap, not a frame: the last frame before it keeps
        // the previous frame's duration.
        assert_eq!(durations, vec![40, 40, 40]);
    }
}
