//! The decode thread: one decoder for the whole ladder, and the degrade
//! policy that decides which renditions keep getting pictures.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender};
use std::time::Duration;

use ffmpeg_next::Rational;
use nova_media::Frame;

use super::decode::{Picture, SourceDecoder};
use super::rendition_thread::Work;
use super::stats::{RenditionCounters, SourceCounters};

/// Used when neither the SPS nor the first two timestamps tell the rate.
const FALLBACK_FRAME_RATE: i32 = 30;

/// The decode thread's end of one rendition's queue.
pub(crate) struct Lane {
    pub queue: Option<SyncSender<Work>>,
    pub counters: Arc<RenditionCounters>,
    first_sent_pts: Option<i64>,
}

impl Lane {
    pub(crate) fn new(queue: SyncSender<Work>, counters: Arc<RenditionCounters>) -> Self {
        Self {
            queue: Some(queue),
            counters,
            first_sent_pts: None,
        }
    }

    fn running(&self) -> bool {
        self.queue.is_some() && !self.counters.is_dropped()
    }

    /// Media time between `pts` and the picture this rendition's encoder
    /// took last (or the first one it was sent, before it took any). Taken
    /// before `pts` is queued, so it is at least one frame interval whenever
    /// the encoder has not yet taken the previous picture.
    fn lag_ms(&self, pts: i64) -> i64 {
        let taken = self.counters.taken_pts.load(Ordering::SeqCst);
        let reference = if taken == i64::MIN {
            self.first_sent_pts.unwrap_or(pts)
        } else {
            taken
        };
        pts - reference
    }
}

pub(crate) struct DecodeThread {
    pub decoder: SourceDecoder,
    /// Top rendition first.
    pub lanes: Vec<Lane>,
    pub source: Arc<SourceCounters>,
    pub max_lag: Option<Duration>,
    frame_rate: Option<Rational>,
    /// Pictures decoded before the frame rate is known (at most one).
    held: Vec<Picture>,
    last_drop_pts: Option<i64>,
}

impl DecodeThread {
    pub(crate) fn new(
        decoder: SourceDecoder,
        lanes: Vec<Lane>,
        source: Arc<SourceCounters>,
        max_lag: Option<Duration>,
    ) -> Self {
        Self {
            decoder,
            lanes,
            source,
            max_lag,
            frame_rate: None,
            held: Vec::new(),
            last_drop_pts: None,
        }
    }

    pub(crate) fn run(mut self, input: Receiver<Frame>) {
        let mut pictures = Vec::new();
        for frame in input {
            let errors = self.decoder.decode(&frame, &mut pictures);
            self.accept(errors, &mut pictures);
        }
        let errors = self.decoder.flush(&mut pictures);
        self.accept(errors, &mut pictures);
        if self.frame_rate.is_none() {
            self.frame_rate = Some(Rational::new(FALLBACK_FRAME_RATE, 1));
            for picture in std::mem::take(&mut self.held) {
                self.dispatch(picture);
            }
        }
        // Closing the queues tells each encoder to flush.
        for lane in &mut self.lanes {
            lane.queue = None;
        }
    }

    fn accept(&mut self, errors: u64, pictures: &mut Vec<Picture>) {
        self.source
            .decode_errors
            .fetch_add(errors, Ordering::Relaxed);
        self.source
            .decoded
            .fetch_add(pictures.len() as u64, Ordering::Relaxed);
        for picture in pictures.drain(..) {
            if self.frame_rate.is_none() {
                self.frame_rate = self.decoder.declared_frame_rate().or_else(|| {
                    let first = self.held.first()?;
                    let interval = picture.pts - first.pts;
                    (interval > 0).then(|| Rational::new(1000, interval as i32))
                });
                if self.frame_rate.is_none() {
                    self.held.push(picture);
                    continue;
                }
                for held in std::mem::take(&mut self.held) {
                    self.dispatch(held);
                }
            }
            self.dispatch(picture);
        }
    }

    fn dispatch(&mut self, picture: Picture) {
        let Some(frame_rate) = self.frame_rate else {
            return;
        };
        for lane in &mut self.lanes {
            if lane.queue.is_some() && lane.counters.is_dropped() {
                lane.queue = None; // its encoder failed and stopped
            }
        }
        self.degrade(picture.pts);
        for lane in self.lanes.iter_mut().filter(|lane| lane.running()) {
            lane.first_sent_pts.get_or_insert(picture.pts);
            let work = Work {
                picture: Picture {
                    image: picture.image.clone(),
                    pts: picture.pts,
                    keyframe: picture.keyframe,
                },
                frame_rate,
            };
            lane.counters.sent.fetch_add(1, Ordering::Relaxed);
            // Blocks only when the queue is full: the lag policy (if any)
            // drops top renditions long before that, so what waits here is
            // the last rendition standing, or a ladder with no policy.
            if let Some(queue) = &lane.queue
                && queue.send(work).is_err()
            {
                lane.queue = None;
            }
        }
    }

    /// Drops the top running rendition when any rendition's encoder is more
    /// than `max_lag` behind, never the last one running, and at most once
    /// per `max_lag` of media time so the renditions left get to use the
    /// CPU that the drop freed before the next decision.
    fn degrade(&mut self, pts: i64) {
        let mut worst: Option<(usize, i64)> = None;
        for (index, lane) in self.lanes.iter().enumerate() {
            if !lane.running() {
                continue;
            }
            let lag = lane.lag_ms(pts);
            lane.counters.lag_ms.store(lag, Ordering::Relaxed);
            if worst.is_none_or(|(_, worst_lag)| lag > worst_lag) {
                worst = Some((index, lag));
            }
        }
        let Some(max_lag) = self.max_lag else {
            return;
        };
        let max_lag_ms = i64::try_from(max_lag.as_millis()).unwrap_or(i64::MAX);
        let Some((behind, lag)) = worst.filter(|&(_, lag)| lag > max_lag_ms) else {
            return;
        };
        if self
            .last_drop_pts
            .is_some_and(|last| pts - last < max_lag_ms)
        {
            return;
        }
        let running: Vec<usize> = (0..self.lanes.len())
            .filter(|&index| self.lanes[index].running())
            .collect();
        let [top, _, ..] = running[..] else {
            return;
        };
        let behind_name = self.lanes[behind].counters.rendition.name.clone();
        let lane = &mut self.lanes[top];
        let reason = format!(
            "the ladder cannot keep up in real time: the {behind_name} encoder was {lag} ms behind the source (limit {max_lag_ms} ms) at {pts} ms, so the top rendition stops to free CPU for the others"
        );
        tracing::warn!(rendition = %lane.counters.rendition.name, "ladder: dropping a rendition: {reason}");
        lane.counters.mark_dropped(&reason);
        lane.queue = None;
        self.last_drop_pts = Some(pts);
    }
}
